#!/usr/bin/env python3
"""Benchmark `devkit.algo.text` against scikit-learn on the same generated corpus.

    python3 scripts/bench_text.py [--docs 20000] [--vocab 5000] [--seed 1] [--repeat 3]
                                  [--cosine-rows 1000]

Generates DOCS short documents (10-30 words each, drawn from a Zipf-distributed vocabulary of
VOCAB made-up words, some capitalised, each document ending with a full stop), then times, as
the median of REPEAT runs, each next to scikit-learn measured in the same run:

- `TfidfVectorizer().fit_transform(docs)` (target: within 2x of scikit-learn);
- `CountVectorizer().fit_transform(docs)`;
- `cosine_similarity` of the first COSINE_ROWS TF-IDF rows with themselves (no target: a
  pure-Python sparse product against scipy's compiled one, shown for scale).

It also checks that both libraries produce the same vocabulary and the same values (largest
absolute difference shown). This is a benchmark, not a test: it never fails on slowness; it
prints a Markdown table on stdout (progress on stderr). Needs numpy and scikit-learn (the test
extra: pip install -e '.[test]').
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.algo import text  # noqa: E402

TARGET_RATIO = 2.0
SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "xa", "zu", "qe", "bo", "fi"]


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generate_corpus(n_docs: int, n_words: int, seed: int) -> list[str]:
    """`n_docs` documents of 10-30 words from a Zipf (s = 1) vocabulary of `n_words` words."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n_words:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    vocabulary = sorted(words)
    rng.shuffle(vocabulary)
    cumulative = list(itertools.accumulate(1.0 / rank for rank in range(1, n_words + 1)))
    documents = []
    for _ in range(n_docs):
        chosen = rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(10, 30))
        documents.append(
            " ".join(w.capitalize() if rng.random() < 0.1 else w for w in chosen) + "."
        )
    return documents


def median_seconds(function, repeat: int):
    """The median wall time of `repeat` calls of `function`, and its last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def max_difference(ours, theirs) -> float:
    """The largest absolute difference between our result and scikit-learn's."""
    import numpy as np
    import scipy.sparse as sp

    if isinstance(ours, text.CSRMatrix):
        data_type = np.float64 if ours.data.typecode == "d" else np.int64
        ours = sp.csr_array(
            (
                np.frombuffer(ours.data, dtype=data_type),
                np.frombuffer(ours.indices, dtype=np.int64),
                np.frombuffer(ours.indptr, dtype=np.int64),
            ),
            shape=ours.shape,
        )
        return float(abs(ours - theirs).max()) if ours.nnz or theirs.nnz else 0.0
    return float(np.max(np.abs(np.asarray(ours, dtype=float) - np.asarray(theirs))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--vocab", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cosine-rows", type=int, default=1_000)
    args = parser.parse_args()

    from sklearn.feature_extraction import text as sk_text
    from sklearn.metrics.pairwise import cosine_similarity as sk_cosine

    progress(f"generating {args.docs} documents over {args.vocab} words (seed {args.seed})")
    documents = generate_corpus(args.docs, args.vocab, args.seed)
    rows = []

    for name in ("TfidfVectorizer", "CountVectorizer"):
        progress(f"{name}.fit_transform x {args.repeat} (devkit, then scikit-learn)")
        ours_vectorizer = getattr(text, name)()
        theirs_vectorizer = getattr(sk_text, name)()
        ours_s, ours = median_seconds(lambda v=ours_vectorizer: v.fit_transform(documents),
                                      args.repeat)
        theirs_s, theirs = median_seconds(lambda v=theirs_vectorizer: v.fit_transform(documents),
                                          args.repeat)
        same = ours_vectorizer.vocabulary_ == theirs_vectorizer.vocabulary_
        difference = max_difference(ours, theirs) if same else float("nan")
        target = f"≤ {TARGET_RATIO:g}x" if name == "TfidfVectorizer" else "-"
        rows.append((f"{name}().fit_transform, {args.docs} docs", ours_s, theirs_s, target,
                     f"vocabulary {'identical' if same else 'DIFFERENT'}, "
                     f"max |diff| {difference:.1e}, nnz {ours.nnz}"))
        if name == "TfidfVectorizer":
            tfidf = ours
            sk_tfidf = theirs

    n = min(args.cosine_rows, args.docs)
    progress(f"cosine_similarity of {n} x {n} TF-IDF rows x {args.repeat}")
    end = tfidf.indptr[n]
    head = text.CSRMatrix(tfidf.data[:end], tfidf.indices[:end], tfidf.indptr[: n + 1],
                          (n, tfidf.shape[1]))
    ours_s, ours = median_seconds(lambda: text.cosine_similarity(head), args.repeat)
    theirs_s, theirs = median_seconds(lambda: sk_cosine(sk_tfidf[:n]), args.repeat)
    rows.append((f"cosine_similarity, {n} x {n} sparse rows", ours_s, theirs_s, "-",
                 f"max |diff| {max_difference(ours, theirs):.1e}"))

    print("| operation | devkit (s) | scikit-learn (s) | ratio | target | check |")
    print("|---|---:|---:|---:|---|---|")
    for label, ours_s, theirs_s, target, check in rows:
        ratio = ours_s / theirs_s
        verdict = ""
        if target != "-":
            verdict = " ✓" if ratio <= TARGET_RATIO else " ✗ (slower than target)"
        print(f"| {label} | {ours_s:.3f} | {theirs_s:.3f} | {ratio:.2f}x | {target}{verdict} "
              f"| {check} |")
    import sklearn

    print(f"\nMedian of {args.repeat} runs; Python {sys.version.split()[0]}, "
          f"scikit-learn {sklearn.__version__}.")

if __name__ == "__main__":
    main()
