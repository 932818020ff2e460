"""`devkit algo …` through click's runner: exit status and the lines a user reads.

Expected outputs are worked out by hand (or by itertools) here, not copied from a run."""

from __future__ import annotations

import itertools

from click.testing import CliRunner

from devkit.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["algo", *args])


def run_input(text: str, *args: str):
    return CliRunner().invoke(cli, ["algo", *args], input=text)


def test_perm_next_and_prev_step_like_cpp():
    assert run("perm", "next", "1", "2", "3").output == "1 3 2\n"
    assert run("perm", "prev", "--chars", "bca").output == "bac\n"
    # Integers compare as integers: 9 < 10.
    assert run("perm", "next", "-n", "3", "9", "10", "1").stdout == "10 1 9\n10 9 1\n1 9 10\n"


def test_perm_next_wraps_around_and_says_so():
    result = run("perm", "next", "--chars", "cba")
    assert result.exit_code == 0
    assert result.stdout == "abc\n"
    assert "wrapped around: that was the last permutation" in result.stderr


def test_perm_rank_and_nth_agree_with_a_list_of_all_arrangements():
    arrangements = sorted({"".join(p) for p in itertools.permutations("banana")})
    assert run("perm", "rank", "--chars", "banana").output == f"{arrangements.index('banana')}\n"
    assert run("perm", "nth", "5", "--chars", "banana").output == f"{arrangements[5]}\n"
    assert run("perm", "nth", "-1", "--chars", "banana").output == f"{arrangements[-1]}\n"


def test_perm_bad_input_is_one_line_and_exit_1():
    result = run("perm", "nth", "9", "--chars", "aabb")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: permutation index 9 is out of range for 6 distinct permutations (use -6 to 5)\n")
    assert run("perm", "next", "--chars", "ab", "cd").exit_code == 2  # a usage error


DOCS = {
    "a.txt": "the red black tree is a balanced binary search tree",
    "b.txt": "byte pair encoding merges the most frequent pair of tokens",
    "c.txt": "a binary heap is a tree; the red fox",
}


def write_docs(folder) -> list[str]:
    paths = []
    for name, text in DOCS.items():
        (folder / name).write_text(text)
        paths.append(str(folder / name))
    return paths


def test_tfidf_shows_scikit_learns_heaviest_terms_per_file(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer

    paths = write_docs(tmp_path)
    result = run("tfidf", *paths, "--top", "2")
    assert result.exit_code == 0, result.output
    reference = TfidfVectorizer(stop_words="english")
    matrix = reference.fit_transform(DOCS.values()).toarray()
    names = reference.get_feature_names_out()
    expected = []
    for path, row in zip(paths, matrix, strict=True):
        best = sorted(range(len(names)), key=lambda j: (-row[j], names[j]))[:2]
        expected.append(f"{path}: " + ", ".join(f"{names[j]} {row[j]:.3f}" for j in best))
    assert result.stdout.splitlines() == expected


def test_similar_ranks_files_by_cosine_similarity_like_scikit_learn(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    paths = write_docs(tmp_path)
    result = run("similar", "red black tree", *paths)
    assert result.exit_code == 0, result.output
    reference = TfidfVectorizer(stop_words="english")
    matrix = reference.fit_transform(DOCS.values())
    scores = cosine_similarity(reference.transform(["red black tree"]), matrix)[0]
    ranked = sorted(zip(scores, paths, strict=True), key=lambda p: -p[0])
    assert result.stdout.splitlines() == [f"{score:.3f}  {path}" for score, path in ranked]
    assert len(run("similar", "red black tree", *paths, "--top", "1").stdout.splitlines()) == 1


def test_tfidf_of_stop_words_only_is_one_line_and_exit_1(tmp_path):
    (tmp_path / "d.txt").write_text("the and of")
    result = run("tfidf", str(tmp_path / "d.txt"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: empty vocabulary; perhaps the documents only contain")
    assert run("tfidf", str(tmp_path / "missing.txt")).exit_code == 2


def test_bpe_train_encode_decode_round_trip_and_match_tiktoken(tmp_path):
    import tiktoken

    from devkit.algo.bpe import GPT4_PATTERN, ByteBPE

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog; " * 50 + "naïve café ☕\n")
    model = tmp_path / "model.bpe"
    result = run("bpe", "train", str(corpus), "--vocab-size", "300", "--special",
                 "<|endoftext|>", "-o", str(model), "--huggingface", str(tmp_path / "tok.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{model}: 43 merges, 300 tokens")  # 256 + 43 + 1 special
    assert (tmp_path / "tok.json").is_file()

    text = "the lazy fox drinks café ☕"
    ids = [int(i) for i in run("bpe", "encode", "-m", str(model), text).stdout.split()]
    loaded = ByteBPE.load(model)
    reference = tiktoken.Encoding("test", pat_str=GPT4_PATTERN,
                                  mergeable_ranks=loaded.to_tiktoken(), special_tokens={})
    assert ids == reference.encode(text)
    assert run("bpe", "decode", "-m", str(model), *map(str, ids)).stdout == text + "\n"
    # stdin, and the special token only when allowed.
    assert run_input(text, "bpe", "encode", "-m", str(model)).stdout.split() == list(map(str, ids))
    refused = run("bpe", "encode", "-m", str(model), "a <|endoftext|>")
    assert refused.exit_code == 1
    assert refused.stderr == ("Error: the text holds the special token '<|endoftext|>': pass "
                              "--allow-special to encode it as its id\n")
    allowed = run("bpe", "encode", "-m", str(model), "--allow-special", "<|endoftext|>")
    assert allowed.stdout.split() == ["299"]


def test_bpe_bad_input_is_one_line_and_exit_1(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abc abc")
    small = run("bpe", "train", str(corpus), "--vocab-size", "100", "-o", str(tmp_path / "m"))
    assert small.exit_code == 1 and "below the minimum 256" in small.stderr
    assert not (tmp_path / "m").exists()
    not_a_model = run("bpe", "encode", "-m", str(corpus), "x")
    assert not_a_model.exit_code == 1 and "not a devkit BPE model" in not_a_model.stderr
    run("bpe", "train", str(corpus), "--vocab-size", "257", "-o", str(tmp_path / "m"))
    bad_id = run("bpe", "decode", "-m", str(tmp_path / "m"), "999")
    assert bad_id.exit_code == 1 and "token id 999 is not in the vocabulary" in bad_id.stderr


def test_bpe_train_checks_the_output_folders_before_training(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc abc abc")
    missing = tmp_path / "no" / "such"
    result = run("bpe", "train", str(corpus), "--vocab-size", "257", "-o", str(missing / "m.bpe"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing} does not exist: create it first\n"  # not training
    result = run("bpe", "train", str(corpus), "--vocab-size", "257", "-o", str(tmp_path / "m"),
                 "--huggingface", str(missing / "tok.json"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing} does not exist: create it first\n"
    assert not (tmp_path / "m").exists()
