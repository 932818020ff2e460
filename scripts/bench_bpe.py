#!/usr/bin/env python3
"""Benchmark `devkit.algo.bpe.ByteBPE`: training time and encoding throughput.

    python3 scripts/bench_bpe.py [--megabytes 1] [--vocab 2000] [--naive-merges 60]
                                 [--repeat 3] [--text FILE]

This is a benchmark, not a test: it asserts nothing about speed. The input is deterministic
text: the license files under /usr/share/common-licenses and CPython's LICENSE.txt (sorted by
name, concatenated, repeated until it is `--megabytes` of UTF-8), or `--text FILE`; if none of
those exists, the standard library's own source files. Everything uses the GPT-4 split pattern.

Three tables, each timed in this run:

1. Training, same setting: our incremental trainer against a recount-every-merge trainer
   written here the way minbpe's `RegexTokenizer.train` works (every chunk of the text, all
   pair counts recounted and every chunk rewritten after each merge; same tie rule as ours, so
   both learn the same merges, which is checked). The recounting trainer takes about a second
   per merge on 1 MB, so this runs `--naive-merges` merges, not the full vocabulary.
2. Training, full setting (`--vocab`): ours next to Hugging Face `tokenizers` (BpeTrainer with
   the same split pattern and a ByteLevel pre-tokenizer, all 256 bytes as initial alphabet),
   a compiled reference for scale, not a target. Whether both learned the same merges is shown.
3. Encoding throughput of the full model, in MB/s, next to tiktoken's engine given the same
   ranks and pattern (`tiktoken.Encoding(...)`, never a download); ids compared.

Timings are the best of `--repeat` runs, except the recounting trainer (one run). Progress
goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.algo.bpe import GPT4_PATTERN, ByteBPE, bytes_to_unicode  # noqa: E402
from devkit.algo.bpe.export import byte_level_order, oniguruma_pattern  # noqa: E402

LICENSES = Path("/usr/share/common-licenses")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def source_files() -> list[Path]:
    """The deterministic input files: license texts, else the standard library's sources."""
    files: list[Path] = []
    seen: set[Path] = set()
    if LICENSES.is_dir():
        for path in sorted(LICENSES.iterdir()):
            real = path.resolve()
            if real.is_file() and real not in seen:
                seen.add(real)
                files.append(real)
    cpython = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if cpython.is_file():
        files.append(cpython)
    if not files:
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        files = sorted(stdlib.glob("*.py"))
    return files


def benchmark_text(megabytes: float, text_file: Path | None) -> tuple[str, str]:
    """`megabytes` of UTF-8 text, repeating the sources as needed, and where it came from."""
    files = [text_file] if text_file else source_files()
    base = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in files)
    size = int(megabytes * 1_000_000)
    data = base.encode("utf-8")
    repeats = -(-size // len(data))
    text = (data * repeats)[:size].decode("utf-8", errors="ignore")
    origin = f"{len(files)} files ({len(data):,} bytes) repeated {repeats}x and cut"
    return text, origin


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


# -- the reference trainer: recount every pair after every merge (minbpe's loop) ----------------


def recounting_train(text: str, pattern: str, num_merges: int) -> list[tuple[int, int]]:
    """minbpe's RegexTokenizer.train: all chunks, recount and rewrite after every merge.

    The tie rule is ours (highest count, then the byte-level order), so the merges can be
    compared; minbpe itself takes the first pair counted among the most frequent.
    """
    order = byte_level_order()
    chunks = [list(chunk.encode("utf-8")) for chunk in regex.findall(pattern, text)]
    merges = []
    for i in range(num_merges):
        stats: dict[tuple[int, int], int] = {}
        for ids in chunks:
            for pair in itertools.pairwise(ids):
                stats[pair] = stats.get(pair, 0) + 1
        if not stats:
            break

        def rank(symbol: int) -> int:
            return order[symbol] if symbol < 256 else symbol

        pair = min(stats, key=lambda p: (-stats[p], rank(p[0]), rank(p[1])))
        new = 256 + i
        merges.append(pair)
        a, b = pair
        rewritten = []
        for ids in chunks:
            if len(ids) < 2:
                rewritten.append(ids)
                continue
            out, j, n = [], 0, len(ids)
            while j < n:
                if j + 1 < n and ids[j] == a and ids[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(ids[j])
                    j += 1
            rewritten.append(out)
        chunks = rewritten
    return merges


def ours_train(text: str, vocab_size: int) -> ByteBPE:
    model = ByteBPE(GPT4_PATTERN)
    model.train(text, vocab_size)
    return model


def huggingface_train(text: str, vocab_size: int) -> list[tuple[bytes, bytes]]:
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(oniguruma_pattern(GPT4_PATTERN)), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([text], trainer=trainer)
    byte_of = {char: byte for byte, char in bytes_to_unicode().items()}
    merges = []
    for merge in json.loads(tokenizer.to_str())["model"]["merges"]:
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        merges.append((bytes(byte_of[c] for c in left), bytes(byte_of[c] for c in right)))
    return merges


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument("--naive-merges", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--text", type=Path, default=None)
    args = parser.parse_args()

    text, origin = benchmark_text(args.megabytes, args.text)
    size = len(text.encode("utf-8"))
    megabytes = size / 1_000_000
    chunks = regex.findall(GPT4_PATTERN, text)
    print(
        f"Input: {size:,} bytes of UTF-8 ({origin}); GPT-4 split pattern: {len(chunks):,} "
        f"chunks, {len(Counter(chunks)):,} distinct.\n"
    )

    # 1. Same setting: incremental against recounting.
    small_vocab = 256 + args.naive_merges
    progress(f"training: recount-every-merge, {args.naive_merges} merges ...")
    start = time.perf_counter()
    naive_merges = recounting_train(text, GPT4_PATTERN, args.naive_merges)
    naive_time = time.perf_counter() - start
    progress(f"training: ours, {args.naive_merges} merges ...")
    ours_small_time, small_model = best_of(args.repeat, lambda: ours_train(text, small_vocab))
    same = "yes" if small_model.merges == naive_merges else "NO"
    print(
        f"Training, same setting: {megabytes:.2f} MB, vocabulary {small_vocab} "
        f"({args.naive_merges} merges)\n"
    )
    print("| trainer | time (s) | per merge (ms) | ours faster by | same merges |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| recount every merge (minbpe's loop) | {naive_time:.2f} | "
        f"{1000 * naive_time / max(len(naive_merges), 1):.1f} | | |"
    )
    print(
        f"| devkit ByteBPE (incremental) | {ours_small_time:.2f} | "
        f"{1000 * ours_small_time / max(len(small_model.merges), 1):.1f} | "
        f"{naive_time / ours_small_time:.1f}x | {same} |"
    )
    print()

    # 2. Full setting: ours next to Hugging Face.
    progress(f"training: ours, vocabulary {args.vocab} ...")
    ours_time, model = best_of(args.repeat, lambda: ours_train(text, args.vocab))
    print(
        f"Training, full setting: {megabytes:.2f} MB, vocabulary {args.vocab} "
        f"({len(model.merges)} merges)\n"
    )
    print("| trainer | time (s) | time relative to ours | same merges as ours |")
    print("|---|---:|---:|---|")
    print(f"| devkit ByteBPE (pure Python) | {ours_time:.2f} | 1.0x | |")
    if installed("tokenizers"):
        progress(f"training: Hugging Face tokenizers, vocabulary {args.vocab} ...")
        hf_time, hf_merges = best_of(args.repeat, lambda: huggingface_train(text, args.vocab))
        vocab = model.vocab
        ours_bytes = [(vocab[a], vocab[b]) for a, b in model.merges]
        agree = "yes" if ours_bytes == hf_merges else "NO"
        print(
            f"| Hugging Face tokenizers (Rust, reference) | {hf_time:.2f} | "
            f"{hf_time / ours_time:.2f}x | {agree} |"
        )
    else:
        print("| Hugging Face tokenizers | not installed (pip install tokenizers) | | |")
    per_merge = naive_time / max(len(naive_merges), 1)
    print(
        f"\nNot measured, an estimate: the recounting trainer at {per_merge:.2f} s per merge "
        f"would need about {per_merge * len(model.merges) / 60:.0f} min for all "
        f"{len(model.merges)} merges (an upper bound: its merges get cheaper as chunks shrink)."
    )
    print()

    # 3. Encoding throughput.
    progress("encoding: ours (first run fills the chunk cache) ...")
    with tempfile.TemporaryDirectory() as folder:  # a fresh model, as a user would load it
        model.save(Path(folder) / "model.bpe")
        loaded = ByteBPE.load(Path(folder) / "model.bpe")
    start = time.perf_counter()
    ours_ids = loaded.encode(text)
    cold = time.perf_counter() - start
    warm, _ = best_of(args.repeat, lambda: loaded.encode(text))
    print(f"Encoding {megabytes:.2f} MB with the vocabulary-{args.vocab} model\n")
    print("| encoder | MB/s | speed relative to tiktoken | same ids |")
    print("|---|---:|---:|---|")
    rows = [
        ("devkit ByteBPE, first run (empty chunk cache)", cold),
        ("devkit ByteBPE, chunk cache warm", warm),
    ]
    if installed("tiktoken"):
        import tiktoken

        progress("encoding: tiktoken with the same ranks ...")
        encoding = tiktoken.Encoding(
            "bench", pat_str=model.pattern, mergeable_ranks=model.to_tiktoken(), special_tokens={}
        )
        tiktoken_time, tiktoken_ids = best_of(
            args.repeat, lambda: encoding.encode(text, disallowed_special=())
        )
        agree = "yes" if tiktoken_ids == ours_ids else "NO"
        for name, seconds in rows:
            print(
                f"| {name} | {megabytes / seconds:.2f} | {tiktoken_time / seconds:.3f}x | {agree} |"
            )
        print(
            f"| tiktoken (Rust), same ranks and pattern | {megabytes / tiktoken_time:.2f} "
            f"| 1.0x | |"
        )
    else:
        for name, seconds in rows:
            print(f"| {name} | {megabytes / seconds:.2f} | | |")
        print("| tiktoken | not installed (pip install tiktoken) | | |")
    distinct = len(Counter(chunks))
    print(
        f"\nThe input has {distinct:,} distinct chunks among {len(chunks):,}, so our chunk cache "
        "answers most of them; on text with more distinct chunks expect the first-run figure "
        "or less."
    )


if __name__ == "__main__":
    main()
