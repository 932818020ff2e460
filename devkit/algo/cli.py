"""`devkit algo …`: the algorithm utilities on the command line.

The modules behind each command are imported by that command, so that other devkit commands
start without them.
"""

from __future__ import annotations

import os
import sys

import click

from devkit.errors import DevkitError


class AlgoInputError(DevkitError):
    """Input the algorithm rejects (the reference library's error, reworded as one line)."""


def _fail_from(error: Exception) -> AlgoInputError:
    return AlgoInputError(str(error) or type(error).__name__)


@click.group()
def algo() -> None:
    """Small, exact algorithms: permutations, BPE tokenizers, TF-IDF.

    \b
      devkit algo perm next 1 2 3
      devkit algo perm rank --chars banana
      devkit algo bpe train --vocab-size 1000 corpus.txt -o model.bpe
      devkit algo tfidf docs/*.txt --top 5
      devkit algo similar "red black tree" docs/*.txt
    """


# --- permutations ---------------------------------------------------------------------------

_chars_option = click.option(
    "--chars", is_flag=True, help="Permute the characters of one word instead of the arguments."
)


def _items(items: tuple[str, ...], chars: bool) -> list:
    """The items to permute: the characters of the one argument with --chars, else the
    arguments, as integers when all of them are (so 10 sorts after 9)."""
    if chars:
        if len(items) != 1:
            raise click.UsageError("--chars takes exactly one word")
        return list(items[0])
    try:
        return [int(item) for item in items]
    except ValueError:
        return list(items)


def _show(items, chars: bool) -> str:
    return "".join(items) if chars else " ".join(map(str, items))


@algo.group()
def perm() -> None:
    """Lexicographic permutations, repeated items included (C++'s std::next_permutation).

    Items are the arguments (compared as integers when all are integers), or the characters
    of one word with --chars.

    \b
      devkit algo perm next 1 2 3         # 1 3 2
      devkit algo perm prev --chars bca   # bac
      devkit algo perm rank --chars banana
      devkit algo perm nth 5 --chars aabb # the 6th distinct arrangement (0-based 5)
    """


def _step(direction: str, items: tuple[str, ...], chars: bool, count: int) -> None:
    from devkit.algo.permutation import next_permutation, prev_permutation

    step = next_permutation if direction == "next" else prev_permutation
    seq = _items(items, chars)
    for _ in range(count):
        if not step(seq):
            last = "last" if direction == "next" else "first"
            click.echo(f"(wrapped around: that was the {last} permutation)", err=True)
        click.echo(_show(seq, chars))


_count_option = click.option("-n", "--count", type=click.IntRange(min=1), default=1,
                             show_default=True, help="How many steps to print.")


@perm.command(name="next")
@click.argument("items", nargs=-1, required=True)
@_chars_option
@_count_option
def perm_next(items: tuple[str, ...], chars: bool, count: int) -> None:
    """The next permutation of ITEMS (after the last one: the first, with a note on stderr)."""
    _step("next", items, chars, count)


@perm.command(name="prev")
@click.argument("items", nargs=-1, required=True)
@_chars_option
@_count_option
def perm_prev(items: tuple[str, ...], chars: bool, count: int) -> None:
    """The previous permutation of ITEMS (before the first one: the last, with a note)."""
    _step("prev", items, chars, count)


@perm.command(name="rank")
@click.argument("items", nargs=-1, required=True)
@_chars_option
def perm_rank(items: tuple[str, ...], chars: bool) -> None:
    """The 0-based rank of ITEMS among the distinct arrangements of the same items."""
    from devkit.algo.permutation import permutation_rank

    click.echo(permutation_rank(_items(items, chars)))


@perm.command(name="nth", context_settings={"ignore_unknown_options": True})  # N may be -1
@click.argument("n", type=int)
@click.argument("items", nargs=-1, required=True)
@_chars_option
def perm_nth(n: int, items: tuple[str, ...], chars: bool) -> None:
    """The N-th (0-based; negative from the end) distinct arrangement of ITEMS."""
    from devkit.algo.permutation import nth_permutation

    try:
        found = nth_permutation(_items(items, chars), n)
    except IndexError as error:
        raise _fail_from(error) from error
    click.echo(_show(found, chars))



# --- TF-IDF ---------------------------------------------------------------------------------

_files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False)
)
_stop_words_option = click.option(
    "--stop-words", type=click.Choice(["english", "none"]), default="english", show_default=True,
    help="Leave out scikit-learn's English stop words, or nothing.",
)


def _read(files: tuple[str, ...]) -> list[str]:
    texts = []
    for name in files:
        with open(name, encoding="utf-8", errors="replace") as handle:
            texts.append(handle.read())
    return texts


def _vectorizer(stop_words: str):
    from devkit.algo.text import TfidfVectorizer

    return TfidfVectorizer(stop_words=None if stop_words == "none" else stop_words)


@algo.command()
@_files_argument
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True,
              help="How many terms to show per file.")
@_stop_words_option
def tfidf(files: tuple[str, ...], top: int, stop_words: str) -> None:
    """The terms that characterise each of FILES: highest TF-IDF weight first (l2-normalised
    rows, smooth idf, as scikit-learn's TfidfVectorizer)."""
    vectorizer = _vectorizer(stop_words)
    matrix = vectorizer.fit_transform(_read(files))
    names = vectorizer.get_feature_names_out()
    for name, row in zip(files, matrix, strict=True):
        weights = sorted(zip(row.data, row.indices, strict=True), key=lambda p: (-p[0], p[1]))
        terms = ", ".join(f"{names[column]} {weight:.3f}" for weight, column in weights[:top])
        click.echo(f"{name}: {terms or '(no terms)'}")


@algo.command()
@click.argument("query")
@_files_argument
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Show only the best N files.")
@_stop_words_option
def similar(query: str, files: tuple[str, ...], top: int | None, stop_words: str) -> None:
    """FILES ranked by cosine similarity to QUERY (TF-IDF vectors fitted on FILES), most
    similar first."""
    from devkit.algo.sparse import cosine_similarity

    vectorizer = _vectorizer(stop_words)
    matrix = vectorizer.fit_transform(_read(files))
    [scores] = cosine_similarity(vectorizer.transform([query]), matrix)
    ranked = sorted(zip(scores, files, strict=True), key=lambda p: -p[0])
    for score, name in ranked[:top]:
        click.echo(f"{score:.3f}  {name}")


# --- BPE ------------------------------------------------------------------------------------


@algo.group()
def bpe() -> None:
    """Byte-pair encoding: train a tokenizer, encode text to ids, decode ids to text.

    \b
      devkit algo bpe train --vocab-size 1000 corpus.txt -o model.bpe
      devkit algo bpe encode -m model.bpe "some text"      # ids, one line
      echo "some text" | devkit algo bpe encode -m model.bpe
      devkit algo bpe decode -m model.bpe 256 32 115
    """


_model_option = click.option(
    "-m", "--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False),
    help="A model written by `devkit algo bpe train`.",
)


def _load(model_path: str):
    from devkit.algo.bpe import ByteBPE

    return ByteBPE.load(model_path)


@bpe.command(name="train")
@_files_argument
@click.option("--vocab-size", type=click.IntRange(min=1), required=True,
              help="Tokens in the vocabulary: 256 bytes, the merges, the special tokens.")
@click.option("--pattern", type=click.Choice(["gpt4", "gpt2"]), default="gpt4",
              show_default=True, help="How text is split before merging (tiktoken's patterns).")
@click.option("--special", "specials", multiple=True, metavar="TOKEN",
              help="A special token, e.g. '<|endoftext|>' (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where to write the model.")
@click.option("--huggingface", type=click.Path(dir_okay=False), default=None,
              help="Also write a Hugging Face tokenizer.json here.")
def bpe_train(files: tuple[str, ...], vocab_size: int, pattern: str, specials: tuple[str, ...],
              output: str, huggingface: str | None) -> None:
    """Train a byte-level BPE (GPT-2/GPT-4 style) on the text of FILES."""
    from devkit.algo.bpe import GPT2_PATTERN, GPT4_PATTERN, ByteBPE

    for path in filter(None, (output, huggingface)):
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise AlgoInputError(f"{folder} does not exist: create it first")
    model = ByteBPE(GPT4_PATTERN if pattern == "gpt4" else GPT2_PATTERN, specials)
    text = "".join(_read(files))
    click.echo(f"training on {len(text.encode('utf-8'))} bytes of text…", err=True)
    model.train(text, vocab_size)
    model.save(output)
    if huggingface:
        model.save_huggingface(huggingface)
    click.echo(f"{output}: {len(model.merges)} merges, {len(model.vocab)} tokens"
               f"{' (and ' + huggingface + ')' if huggingface else ''}")


@bpe.command(name="encode")
@_model_option
@click.argument("text", required=False)
@click.option("--allow-special", is_flag=True,
              help="Encode special tokens in the text as their ids (else they are an error).")
def bpe_encode(model_path: str, text: str | None, allow_special: bool) -> None:
    """The token ids of TEXT (or of stdin), space-separated on one line."""
    from devkit.algo.bpe import DisallowedSpecialToken

    model = _load(model_path)
    if text is None:
        text = sys.stdin.read()
    try:
        ids = model.encode(text, allowed_special="all" if allow_special else frozenset())
    except DisallowedSpecialToken as error:
        raise AlgoInputError(f"the text holds the special token {error.token!r}: pass "
                             "--allow-special to encode it as its id") from error
    click.echo(" ".join(map(str, ids)))


@bpe.command(name="decode")
@_model_option
@click.argument("ids", nargs=-1, required=True, type=int)
def bpe_decode(model_path: str, ids: tuple[int, ...]) -> None:
    """The text of token IDS (bytes that are not UTF-8 come out as U+FFFD)."""
    click.echo(_load(model_path).decode(ids), nl=False)
    click.echo()
