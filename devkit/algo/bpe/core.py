"""What every BPE variant shares: pair counting, merging, the incremental trainer, the model file.

`learn_merges` is the trainer both variants use. It works on word *types* (each distinct word or
pre-tokenized chunk once, with its frequency) and keeps, across merges:

- `pair → count`, the adjacent occurrences weighted by word frequency (overlapping occurrences
  count, as in every reference implementation: "aaa" holds ("a", "a") twice);
- `pair → words`, the word types that may hold the pair (a superset: a word stays listed after
  the pair leaves it, and merging just finds nothing there);
- a heap of `(-count, tie key, pair)` entries with lazy invalidation: an entry is checked against
  the live count when it reaches the top and pushed back with the live values if they changed.

Merging a pair rewrites only the words that hold it and adjusts the counts of the pairs next to
each merge site (`(prev, a) → (prev, new)`, `(b, next) → (new, next)`), so a merge costs time in
proportion to the words it touches, not to the corpus. The counts stay exactly those a full
recount would give; `tests/algo/test_bpe.py` checks the merges against a recount-every-merge
trainer.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from devkit.errors import DevkitError
from devkit.filesafety import write_atomically

T = TypeVar("T")
Pair = tuple[int, int]

FORMAT_VERSION = 1
VERSION_LINE = f"devkit-bpe v{FORMAT_VERSION}"
_VERSION_LINE = re.compile(rb"devkit-bpe v(\d+)\r?")


class BPEError(DevkitError, ValueError):
    """A BPE model was given something it cannot use; the message says what and what to do."""


class BPEFormatError(BPEError):
    """A saved model file is not one this version of devkit can read."""


class InvalidTokenId(BPEError, KeyError):
    """A token id to decode is not in the vocabulary.

    Also a `KeyError`, as tiktoken's decoder raises, and still a `ValueError` like every
    `BPEError`; `str()` is the plain message (a `KeyError` would quote it).

    >>> str(InvalidTokenId("token id 999 is not in the vocabulary"))
    'token id 999 is not in the vocabulary'
    """

    def __str__(self) -> str:
        return Exception.__str__(self)


class DisallowedSpecialToken(BPEError):
    """Text to encode holds a special token that the caller did not allow; `.token` is it."""

    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


def pair_counts(ids: Iterable[int], counts: dict[Pair, int] | None = None) -> dict[Pair, int]:
    """Count adjacent pairs in `ids`, adding to `counts` when given; O(len(ids)).

    Overlapping occurrences count, and pairs appear in the order they are first seen.

    >>> pair_counts([1, 2, 3, 1, 2])
    {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    >>> pair_counts([7, 7, 7])
    {(7, 7): 2}
    """
    counts = {} if counts is None else counts
    ids = list(ids)
    for pair in itertools.pairwise(ids):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge_pair(ids: Sequence[T], pair: tuple[T, T], new: T) -> list[T]:
    """Replace each occurrence of `pair` in `ids`, left to right without overlap, by `new`; O(n).

    >>> merge_pair([1, 2, 3, 1, 2], (1, 2), 4)
    [4, 3, 4]
    >>> merge_pair("aaa", ("a", "a"), "Z")
    ['Z', 'a']
    """
    a, b = pair
    out: list[T] = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def apply_merges(
    symbols: Sequence[T],
    ranks: Mapping[tuple[T, T], int],
    merged: Callable[[tuple[T, T], int], T],
) -> list[T]:
    """Segment `symbols` with learned merges: while some adjacent pair has a rank, merge the
    lowest-ranked one everywhere (left to right, without overlap) into `merged(pair, rank)`.

    This is how every BPE encoder applies its merges (GPT-2's `bpe`, tiktoken, minbpe). Time:
    O(n·k) for n symbols needing k merges.

    >>> apply_merges([1, 2, 3, 1, 2], {(1, 2): 4, (4, 3): 5}, lambda pair, rank: rank)
    [5, 4]
    >>> apply_merges("lower", {("l", "o"): 0, ("lo", "w"): 1}, lambda pair, rank: "".join(pair))
    ['low', 'e', 'r']
    """
    symbols = list(symbols)
    while len(symbols) > 1:
        best = None
        best_rank = 0
        for pair in itertools.pairwise(symbols):
            rank = ranks.get(pair)
            if rank is not None and (best is None or rank < best_rank):
                best, best_rank = pair, rank
        if best is None:
            break
        symbols = merge_pair(symbols, best, merged(best, best_rank))
    return symbols


def learn_merges(
    words: Sequence[Sequence[int]],
    counts: Sequence[int],
    num_merges: int,
    next_id: int,
    order: Sequence[int] | None = None,
) -> list[Pair]:
    """Learn up to `num_merges` merges over word types `words` with frequencies `counts`.

    Symbols are ints below `next_id`; the i-th merge creates symbol `next_id + i`. Each step
    merges the pair with the highest count, in every word, left to right; training stops early
    when no adjacent pair is left. Ties between pairs with the same count:

    - `order` given (a permutation of `range(next_id)`, else `BPEError`): the pair `(a, b)`
      with the smallest `(rank(a), rank(b))` wins, where `rank(s) = order[s]` for initial
      symbols and merged symbols rank after all of them, in creation order;
    - `order` None: the pair *seen first* wins, reading the word types in the order given and
      each one left to right in its current segmentation (the rule of the reference code in
      Sennrich et al. 2016, whose `max(pairs, key=pairs.get)` returns the first pair counted).

    Time: O(P log P) to set up for P distinct pairs, then per merge O(L + c log P), where L is
    the total length of the words holding the pair and c the number of pair counts it changes
    (first-seen ties add a scan of the words holding a tied pair).

    >>> learn_merges([[0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 2]], [1], 3, 4, order=[0, 1, 2, 3])
    [(0, 0), (0, 1), (4, 5)]
    >>> learn_merges([[0, 1, 2], [1, 2, 0, 1]], [1, 1], 2, 3)
    [(0, 1), (3, 2)]
    """
    if len(words) != len(counts):
        raise ValueError(f"got {len(words)} words but {len(counts)} counts; give one per word")
    if order is not None and (len(order) != next_id or set(order) != set(range(next_id))):
        raise BPEError(
            f"order must be a permutation of range({next_id}) (a rank for each initial "
            f"symbol), not {list(order)[:10]!r}{'…' if len(order) > 10 else ''}"
        )
    trainer = _Trainer(words, counts, next_id, order)
    return trainer.run(num_merges)


class _Trainer:
    """The state of one `learn_merges` run."""

    def __init__(
        self,
        words: Sequence[Sequence[int]],
        counts: Sequence[int],
        next_id: int,
        order: Sequence[int] | None,
    ) -> None:
        self.words = [list(w) for w in words]
        self.counts = counts
        self.next_id = next_id
        self.order = order
        # Symbol lengths in initial symbols (default 1): the first occurrence of a pair is an
        # offset in them, which merges earlier in the word do not move, so a key stored in the
        # heap can only be earlier than (or equal to) the live one, as lazy invalidation needs.
        self.length: dict[int, int] = {}
        self.pair_count: dict[Pair, int] = {}
        self.where: dict[Pair, set[int]] = {}
        for wi, word in enumerate(self.words):
            c = counts[wi]
            for pair in itertools.pairwise(word):
                self.pair_count[pair] = self.pair_count.get(pair, 0) + c
                self.where.setdefault(pair, set()).add(wi)

    def tie_key(self, pair: Pair, span: int) -> Any:
        a, b = pair
        if self.order is None:
            return self.first_occurrence(pair)
        ra = self.order[a] if a < self.next_id else a
        rb = self.order[b] if b < self.next_id else b
        return ra * span + rb

    def first_occurrence(self, pair: Pair) -> tuple[int, int]:
        """(word index, offset) of `pair`'s first occurrence in the current segmentation."""
        a, b = pair
        for wi in sorted(self.where[pair]):
            word = self.words[wi]
            offset = 0
            for i in range(len(word) - 1):
                if word[i] == a and word[i + 1] == b:
                    return (wi, offset)
                offset += self.length.get(word[i], 1)
        raise RuntimeError(f"pair {pair} has a count but no occurrence")  # a trainer bug

    def run(self, num_merges: int) -> list[Pair]:
        span = self.next_id + max(num_merges, 0)
        first_seen = self.order is None
        pair_count = self.pair_count
        heap = [(-n, self.tie_key(p, span), p) for p, n in pair_count.items() if n > 0]
        heapq.heapify(heap)
        merges: list[Pair] = []
        while heap and len(merges) < num_merges:
            negative, key, pair = heapq.heappop(heap)
            n = pair_count.get(pair, 0)
            if n <= 0:
                continue
            if n != -negative:
                heapq.heappush(heap, (-n, self.tie_key(pair, span), pair))
                continue
            if first_seen and (live := self.tie_key(pair, span)) != key:
                heapq.heappush(heap, (-n, live, pair))
                continue
            new = self.next_id + len(merges)
            merges.append(pair)
            self.length[new] = self.length.get(pair[0], 1) + self.length.get(pair[1], 1)
            changed = self.merge_everywhere(pair, new)
            del pair_count[pair]
            for other, delta in changed.items():
                if other == pair or delta == 0:
                    continue
                total = pair_count.get(other, 0) + delta
                if total > 0:
                    pair_count[other] = total
                else:
                    pair_count.pop(other, None)
            # Only pairs holding the new symbol can have grown: they enter the heap now.
            for other in changed:
                if new in other and other in pair_count:
                    heapq.heappush(heap, (-pair_count[other], self.tie_key(other, span), other))
        return merges

    def merge_everywhere(self, pair: Pair, new: int) -> dict[Pair, int]:
        """Merge `pair` in the words holding it; return each neighbour pair's weighted change."""
        a, b = pair
        words, counts, where = self.words, self.counts, self.where
        changed: dict[Pair, int] = {}
        for wi in where.pop(pair):
            word = words[wi]
            c = counts[wi]
            out: list[int] = []
            i, n = 0, len(word)
            hit = False
            while i < n:
                if word[i] == a and i + 1 < n and word[i + 1] == b:
                    hit = True
                    if out:
                        prev = out[-1]
                        changed[prev, a] = changed.get((prev, a), 0) - c
                        changed[prev, new] = changed.get((prev, new), 0) + c
                        where.setdefault((prev, new), set()).add(wi)
                    if i + 2 < n:
                        nxt = word[i + 2]
                        changed[b, nxt] = changed.get((b, nxt), 0) - c
                        changed[new, nxt] = changed.get((new, nxt), 0) + c
                        where.setdefault((new, nxt), set()).add(wi)
                    out.append(new)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            if hit:
                words[wi] = out
        return changed


class BPETokenizer:
    """What `CharBPE` and `ByteBPE` share: an ordered list of merges over integer symbols and a
    model file.

    Subclasses say how text becomes initial symbols and back. Symbols `0 .. base-1` are the
    initial ones; merge `i` creates symbol `base + i`.
    """

    kind: ClassVar[str]

    def __init__(self) -> None:
        self._merges: list[Pair] = []

    # -- the model file ------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to `path` (replacing it atomically); O(vocabulary).

        The file is UTF-8 text: the version line `devkit-bpe v1`, a JSON object describing the
        model, then one merge per line as two symbol ids.
        """
        lines = [VERSION_LINE, json.dumps(self._header(), ensure_ascii=False, sort_keys=True)]
        lines += [f"{a} {b}" for a, b in self._merges]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        write_atomically(Path(path), lambda stream: stream.write(data))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a model written by `save`; O(file size).

        Raises `BPEFormatError` for a file of another format version, another variant, or a
        damaged file, naming the file and the problem.
        """
        where = str(path)
        data = Path(path).read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        first = lines[0] if lines else b""
        version = _VERSION_LINE.fullmatch(first)
        if version is None:
            raise BPEFormatError(
                f"{where}: not a devkit BPE model (its first line is not '{VERSION_LINE}')"
            )
        if int(version.group(1)) != FORMAT_VERSION:
            raise BPEFormatError(
                f"{where}: model format version {int(version.group(1))} is not supported; this "
                f"devkit reads version {FORMAT_VERSION}: retrain the model or use the devkit "
                "that wrote it"
            )
        try:
            header = json.loads(lines[1].decode("utf-8")) if len(lines) > 1 else None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BPEFormatError(f"{where}: line 2 is not a JSON model header: {error}") from None
        if not isinstance(header, dict):
            raise BPEFormatError(f"{where}: line 2 must be a JSON object describing the model")
        if header.get("kind") != cls.kind:
            raise BPEFormatError(
                f"{where}: holds a {header.get('kind')!r} model, not {cls.kind!r}: load it with "
                f"the matching class"
            )
        merges: list[Pair] = []
        for number, line in enumerate(lines[2:], start=3):
            parts = line.split(b" ")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise BPEFormatError(f"{where}: line {number} is not a merge '<id> <id>'")
            merges.append((int(parts[0]), int(parts[1])))
        try:
            model = cls._from_header(header)
            model._set_merges(merges)
        except BPEError as error:
            raise BPEFormatError(f"{where}: {error}") from None
        return model

    # -- what subclasses provide ---------------------------------------------------------

    @property
    def _base(self) -> int:
        """The number of initial symbols."""
        raise NotImplementedError

    def _header(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_header(cls, header: dict[str, Any]) -> Self:
        raise NotImplementedError

    def _set_merges(self, merges: list[Pair]) -> None:
        """Install `merges`, checking that each refers only to symbols that exist before it."""
        for i, (a, b) in enumerate(merges):
            if not (a < self._base + i and b < self._base + i):
                raise BPEError(
                    f"merge {i} ({a}, {b}) uses a symbol not yet defined (symbols so far: "
                    f"0..{self._base + i - 1})"
                )
        self._merges = list(merges)
        self._merges_changed()

    def _merges_changed(self) -> None:
        """Rebuild the lookup tables that depend on the merges."""

    def _symbol_table(self) -> Sequence[Any]:
        """Symbol id → symbol (str or bytes), initial symbols first."""
        raise NotImplementedError

    def _check(self) -> None:
        """Assert the model's invariants (tests call it after every change); O(vocabulary)."""
        symbols = self._symbol_table()
        assert len(symbols) >= self._base + len(self._merges)
        for i, (a, b) in enumerate(self._merges):
            assert 0 <= a < self._base + i and 0 <= b < self._base + i, (i, a, b)
            assert symbols[self._base + i] == symbols[a] + symbols[b], i
