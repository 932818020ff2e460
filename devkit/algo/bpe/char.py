"""Character-level BPE with an end-of-word marker, as in Sennrich, Haddow & Birch (2016).

Text is split into words at whitespace; each word is its characters followed by the marker
`</w>`, so that "est</w>" (a word ending) and "est" (inside a word) are different symbols. Pairs
are counted over distinct words weighted by their frequency and never across words.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any, Self

from devkit.algo.bpe.core import BPEError, BPETokenizer, apply_merges, learn_merges

END_OF_WORD = "</w>"


def count_words(corpus: str | Mapping[str, int]) -> dict[str, int]:
    """The words of `corpus` with their frequencies, in order of first appearance; O(len).

    A string is split at runs of whitespace (`str.split()`); a mapping is taken as word →
    frequency, in its own order.

    >>> count_words("low lower low\\nnewest")
    {'low': 2, 'lower': 1, 'newest': 1}
    """
    if isinstance(corpus, str):
        words: dict[str, int] = {}
        for word in corpus.split():
            words[word] = words.get(word, 0) + 1
        return words
    if not isinstance(corpus, Mapping):
        raise TypeError(f"corpus must be a str or a mapping word → count, not {type(corpus)}")
    for word, count in corpus.items():
        if not isinstance(word, str) or not word or word != "".join(word.split()):
            raise BPEError(f"corpus word {word!r} must be a non-empty string without whitespace")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise BPEError(f"corpus word {word!r} has count {count!r}; counts must be ints ≥ 1")
    return dict(corpus)


def _joined(pair: tuple[str, str], rank: int) -> str:
    """The symbol a merge creates: its two symbols joined."""
    return pair[0] + pair[1]


def word_symbols(word: str) -> list[str]:
    """The initial symbols of `word`: its characters, then the end-of-word marker.

    >>> word_symbols("low")
    ['l', 'o', 'w', '</w>']
    """
    return [*word, END_OF_WORD]


class CharBPE(BPETokenizer):
    """Character-level BPE with the `</w>` end-of-word marker (Sennrich et al. 2016).

    Ties between pairs with the same count go to the pair *seen first*: reading the distinct
    words in order of first appearance in the corpus, each left to right in its current
    segmentation, the pair whose first occurrence comes earliest. This is what the paper's
    reference code does (`max(pairs, key=pairs.get)` over pairs counted in that order), and it
    reproduces the textbook merge sequences.

    The vocabulary holds the initial symbols (every character of the corpus and `</w>`, in order
    of first appearance), then one symbol per merge.

    >>> bpe = CharBPE()
    >>> bpe.train({"low": 5, "lower": 2, "newest": 6, "widest": 3}, vocab_size=14)
    >>> bpe.merges
    [('e', 's'), ('es', 't'), ('est', '</w>')]
    >>> bpe.tokenize("lowest newer")
    ['l', 'o', 'w', 'est</w>', 'n', 'e', 'w', 'e', 'r', '</w>']
    >>> bpe.detokenize(bpe.tokenize("lowest newer"))
    'lowest newer'
    """

    kind = "char"

    def __init__(self) -> None:
        super().__init__()
        self._alphabet: list[str] = []
        self._symbols: list[str] = []
        self._ranks: dict[tuple[str, str], int] = {}
        self._cache: dict[str, list[str]] = {}

    # -- training --------------------------------------------------------------------------

    def train(self, corpus: str | Mapping[str, int], vocab_size: int) -> None:
        """Learn merges from `corpus` until the vocabulary holds `vocab_size` symbols.

        `corpus` is text (split at whitespace) or a mapping word → frequency. Training stops
        early when no adjacent pair is left. Raises `BPEError` (a `ValueError`) when
        `vocab_size` is below the number of initial symbols, naming that minimum.

        Time: O(N + M·(L + c log P)) for N characters of text and M merges (see
        `learn_merges`).

        >>> bpe = CharBPE()
        >>> bpe.train("aa aa ab", vocab_size=5)
        >>> bpe.merges, bpe.vocab
        ([('a', 'a'), ('aa', '</w>')], {0: 'a', 1: '</w>', 2: 'b', 3: 'aa', 4: 'aa</w>'})
        """
        vocab_size = operator.index(vocab_size)
        words = count_words(corpus)
        alphabet: dict[str, int] = {}
        for word in words:
            for symbol in word_symbols(word):
                alphabet.setdefault(symbol, len(alphabet))
        if vocab_size < len(alphabet):
            raise BPEError(
                f"vocab_size {vocab_size} is below the minimum {len(alphabet)} for this corpus "
                f"(its {len(alphabet)} initial symbols: characters and {END_OF_WORD!r})"
            )
        self._alphabet = list(alphabet)
        merges = learn_merges(
            [[alphabet[s] for s in word_symbols(word)] for word in words],
            list(words.values()),
            vocab_size - len(alphabet),
            len(alphabet),
        )
        self._set_merges(merges)

    # -- the learned model -----------------------------------------------------------------

    @property
    def merges(self) -> list[tuple[str, str]]:
        """The merges in the order they were learned, as pairs of symbols; O(merges)."""
        return [(self._symbols[a], self._symbols[b]) for a, b in self._merges]

    @property
    def vocab(self) -> dict[int, str]:
        """Symbol id → symbol: the initial symbols, then one per merge; O(vocabulary)."""
        return dict(enumerate(self._symbols))

    @property
    def _base(self) -> int:
        return len(self._alphabet)

    def _symbol_table(self) -> list[str]:
        return self._symbols

    def _check(self) -> None:
        super()._check()
        assert self._symbols[: self._base] == self._alphabet
        assert len(self._symbols) == self._base + len(self._merges)
        for rank, (a, b) in enumerate(self._merges):
            assert self._ranks[self._symbols[a], self._symbols[b]] <= rank

    def _merges_changed(self) -> None:
        self._symbols = list(self._alphabet)
        self._ranks = {}
        for rank, (a, b) in enumerate(self._merges):
            pair = (self._symbols[a], self._symbols[b])
            self._ranks.setdefault(pair, rank)
            self._symbols.append(pair[0] + pair[1])
        self._cache = {}

    # -- using it --------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """Split `text` at whitespace and each word into learned symbols; the last symbol of a
        word ends with `</w>`. Characters never seen in training stay single-character symbols
        that are not in `vocab`.

        Time: O(n·k) per distinct word of n characters needing k merges; words are cached.

        >>> bpe = CharBPE()
        >>> bpe.train("low low low lowest", vocab_size=9)
        >>> bpe.tokenize("lowly")
        ['low', 'l', 'y', '</w>']
        """
        tokens: list[str] = []
        for word in text.split():
            symbols = self._cache.get(word)
            if symbols is None:
                symbols = self._segment(word_symbols(word))
                if len(self._cache) >= 100_000:
                    self._cache.clear()
                self._cache[word] = symbols
            tokens.extend(symbols)
        return tokens

    def _segment(self, symbols: list[str]) -> list[str]:
        return apply_merges(symbols, self._ranks, _joined)

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Join `tokens` back into text, one space between words; O(total length).

        Whitespace is normalised (any run becomes one space, leading and trailing whitespace is
        gone), and text that itself contains `</w>` does not round-trip.

        >>> CharBPE().detokenize(["lo", "w</w>", "ne", "w", "est</w>"])
        'low newest'
        """
        return "".join(tokens).replace(END_OF_WORD, " ").removesuffix(" ")

    # -- the model file --------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        return {"kind": self.kind, "end_of_word": END_OF_WORD, "alphabet": self._alphabet}

    @classmethod
    def _from_header(cls, header: dict[str, Any]) -> Self:
        alphabet = header.get("alphabet")
        if header.get("end_of_word") != END_OF_WORD:
            raise BPEError(f"the end-of-word marker must be {END_OF_WORD!r}")
        if (
            not isinstance(alphabet, list)
            or not all(isinstance(s, str) and s for s in alphabet)
            or len(set(alphabet)) != len(alphabet)
        ):
            raise BPEError("'alphabet' must be a list of distinct non-empty strings")
        model = cls()
        model._alphabet = alphabet
        return model
