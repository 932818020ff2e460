"""Byte-pair encoding: train, encode and decode, and export to tiktoken and Hugging Face.

Two variants share one trainer (`core.learn_merges`, which updates pair counts incrementally):

- `CharBPE`: characters with the `</w>` end-of-word marker, words split at whitespace, as in
  Sennrich, Haddow & Birch (2016); ties go to the pair seen first in the corpus.
- `ByteBPE`: bytes, with text first split by a GPT-style pattern (`GPT2_PATTERN`,
  `GPT4_PATTERN`) and special tokens; ties are broken as Hugging Face's `BpeTrainer` breaks them,
  so training learns its merges, and `encode` gives the ids tiktoken's engine gives for the
  same ranks (`to_tiktoken()`) and Hugging Face gives for `to_huggingface_json()`.

Models are saved as text files whose first line is the format version (`devkit-bpe v1`).

>>> from devkit.algo.bpe import ByteBPE
>>> bpe = ByteBPE()
>>> bpe.train("the cat sat on the mat", vocab_size=260)
>>> ids = bpe.encode("the mat")
>>> ids, bpe.decode(ids)
([258, 32, 109, 256], 'the mat')
"""

from devkit.algo.bpe.byte import GPT2_PATTERN, GPT4_PATTERN, ByteBPE
from devkit.algo.bpe.char import END_OF_WORD, CharBPE, count_words, word_symbols
from devkit.algo.bpe.core import (
    BPEError,
    BPEFormatError,
    BPETokenizer,
    DisallowedSpecialToken,
    InvalidTokenId,
    learn_merges,
    merge_pair,
    pair_counts,
)
from devkit.algo.bpe.export import bytes_to_unicode

__all__ = [
    "END_OF_WORD",
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "BPEError",
    "BPEFormatError",
    "BPETokenizer",
    "ByteBPE",
    "CharBPE",
    "DisallowedSpecialToken",
    "InvalidTokenId",
    "bytes_to_unicode",
    "count_words",
    "learn_merges",
    "merge_pair",
    "pair_counts",
    "word_symbols",
]
