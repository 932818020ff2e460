"""Lexicographic permutations of sequences that may hold equal items.

`next_permutation` and `prev_permutation` step a list in place exactly like C++'s
`std::next_permutation` and `std::prev_permutation`: they compare items with `<` only (on
`key(item)` when a key is given, like the C++ overloads taking a comparator) and wrap around
from the last permutation to the first. `distinct_permutations` yields every distinct
arrangement once, in lexicographic order. `permutation_rank` and `nth_permutation` convert
between an arrangement and its 0-based index among the distinct arrangements of its items.

Items are equal when neither is `<` the other, as in C++ and `sorted`; they need not be
hashable. Comparing items that do not support `<` raises Python's own TypeError, and every
function compares before it moves anything, so a failed call leaves the sequence unchanged.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from math import factorial
from operator import index as as_integer
from typing import Any

__all__ = [
    "distinct_permutations",
    "next_permutation",
    "nth_permutation",
    "permutation_rank",
    "prev_permutation",
]


def next_permutation(seq: MutableSequence, key: Callable[[Any], Any] | None = None) -> bool:
    """Rearrange `seq` in place into its next lexicographic permutation.

    Returns True if there was one; at the last permutation (items in non-increasing order),
    reverses `seq` into the first one (ascending order) and returns False. Equal items are
    not told apart, so looping until False visits each distinct arrangement once. Sequences
    of fewer than two items are left alone and give False. `seq` must support item and slice
    assignment (list, bytearray, array.array, UserList).

    Complexity: O(n) comparisons and moves per call. Over a full cycle of distinct items that
    is O(1) amortized (about 3 comparisons a step); many equal items can keep it O(n), e.g.
    n - 1 equal items and one other. `key` is called once per item of the scanned suffix.

    >>> items = [1, 2, 2]
    >>> next_permutation(items), items
    (True, [2, 1, 2])
    >>> next_permutation(items), items
    (True, [2, 2, 1])
    >>> next_permutation(items), items
    (False, [1, 2, 2])
    >>> words = ["b", "A", "a"]
    >>> next_permutation(words, key=str.lower), words
    (False, ['a', 'A', 'b'])
    """
    if key is not None:
        return _step_by_key(seq, key, ascending=True)
    # The hot loop of a full enumeration: plain comparisons, one helper call per step.
    last = len(seq) - 1
    i = last - 1
    while i >= 0 and not seq[i] < seq[i + 1]:
        i -= 1
    if i < 0:
        if last > 0:
            seq[:] = seq[::-1]
        return False
    pivot = seq[i]
    j = last
    while not pivot < seq[j]:
        j -= 1
    _swap_and_reverse(seq, i, j, last)
    return True


def prev_permutation(seq: MutableSequence, key: Callable[[Any], Any] | None = None) -> bool:
    """Rearrange `seq` in place into its previous lexicographic permutation.

    The mirror image of `next_permutation`: at the first permutation (items in non-decreasing
    order), reverses `seq` into the last one (descending order) and returns False.

    Complexity: as `next_permutation`, O(n) per call, O(1) amortized over a full cycle of
    distinct items; `key` is called once per item of the scanned suffix.

    >>> items = [2, 1, 1]
    >>> prev_permutation(items), items
    (True, [1, 2, 1])
    >>> prev_permutation(items), items
    (True, [1, 1, 2])
    >>> prev_permutation(items), items
    (False, [2, 1, 1])
    """
    if key is not None:
        return _step_by_key(seq, key, ascending=False)
    last = len(seq) - 1
    i = last - 1
    while i >= 0 and not seq[i + 1] < seq[i]:
        i -= 1
    if i < 0:
        if last > 0:
            seq[:] = seq[::-1]
        return False
    pivot = seq[i]
    j = last
    while not seq[j] < pivot:
        j -= 1
    _swap_and_reverse(seq, i, j, last)
    return True


def _swap_and_reverse(seq: MutableSequence, i: int, j: int, last: int) -> None:
    """Swap items i and j, then reverse the items after i: the step of both directions.

    The new suffix is built first and written with one slice assignment, before item i is
    set, so a sequence without slice assignment (a deque) raises TypeError unchanged.
    """
    suffix = seq[:i:-1]  # the items after i, reversed: item j lands at index last - j
    suffix[last - j] = seq[i]
    successor = seq[j]
    seq[i + 1:] = suffix
    seq[i] = successor


def _step_by_key(seq: MutableSequence, key: Callable[[Any], Any], ascending: bool) -> bool:
    """`next_permutation` (ascending) or `prev_permutation` comparing `key(item)`s.

    Keys of the suffix are computed once each, from the end, and reused for the pivot search.
    """
    last = len(seq) - 1
    if last < 1:
        return False

    def precedes(a: Any, b: Any) -> bool:  # the step's order: `<`, or `>` for prev
        return a < b if ascending else b < a

    suffix_keys = [key(seq[last])]  # suffix_keys[m] is key(seq[last - m])
    i = last - 1
    while i >= 0:
        pivot_key = key(seq[i])
        if precedes(pivot_key, suffix_keys[-1]):
            break
        suffix_keys.append(pivot_key)
        i -= 1
    else:
        seq[:] = seq[::-1]
        return False
    j = last
    while not precedes(pivot_key, suffix_keys[last - j]):
        j -= 1
    _swap_and_reverse(seq, i, j, last)
    return True


def distinct_permutations(iterable: Iterable) -> Iterator[tuple]:
    """Every distinct arrangement of the items of `iterable`, once each, in lexicographic order.

    The items are sorted when this is called (so incomparable items raise TypeError here, not
    on the first `next`), then stepped with `next_permutation`. An empty iterable has one
    arrangement, `()`. Unlike `more_itertools.distinct_permutations` there is no `r`, and the
    order is lexicographic by definition rather than by implementation.

    Complexity: O(n log n) to sort, then O(n) per tuple yielded (building it and one
    `next_permutation` step); there are n! / (c1! c2! ... ck!) tuples for k distinct items
    occurring c1 ... ck times.

    >>> list(distinct_permutations("bab"))
    [('a', 'b', 'b'), ('b', 'a', 'b'), ('b', 'b', 'a')]
    >>> list(distinct_permutations([]))
    [()]
    """
    items = sorted(iterable)
    return _arrangements_from_first(items)


def _arrangements_from_first(items: list) -> Iterator[tuple]:
    yield tuple(items)
    while next_permutation(items):
        yield tuple(items)


def permutation_rank(seq: Iterable) -> int:
    """The 0-based index of `seq` among the distinct permutations of its items, in order.

    The inverse of `nth_permutation`: `permutation_rank(nth_permutation(x, n)) == n`. Equal
    items count once, so "aab" has rank 0 and "baa" rank 2 (of 3), not 5 (of 6).

    Complexity: O(n log n) comparisons, O(n^2) item moves in the worst case (each a memmove of
    the remaining sorted items), and O(n) multiplications and divisions of integers as large
    as the number of permutations, O(n log n) bits; these big-integer steps dominate for long
    sequences, as they do for any exact rank.

    >>> permutation_rank("aab"), permutation_rank("aba"), permutation_rank("baa")
    (0, 1, 2)
    >>> permutation_rank([3, 1, 2])
    4
    """
    items = list(seq)
    remaining = sorted(items)
    arrangements = _count_arrangements(remaining)  # of the remaining items
    rank = 0
    for size in range(len(items), 0, -1):
        item = items[len(items) - size]
        smaller = bisect_left(remaining, item)
        copies = bisect_right(remaining, item, smaller) - smaller
        # Arrangements starting with an item smaller than this one come first: `smaller` of
        # the `size` remaining items start as many arrangements each as this one does.
        rank += arrangements * smaller // size
        arrangements = arrangements * copies // size
        del remaining[smaller]
    return rank


def nth_permutation(iterable: Iterable, n: int) -> tuple:
    """The distinct permutation of the items of `iterable` at 0-based lexicographic index `n`.

    Equivalent to `list(distinct_permutations(iterable))[n]`, without building the list;
    negative `n` counts from the end, as in list indexing and `more_itertools.nth_permutation`
    (so -1 is the last, descending arrangement). Raises IndexError when `n` is out of range
    and TypeError when it is not an integer.

    This indexes *distinct* arrangements: `more_itertools.nth_permutation(x, len(x), n)`
    indexes `itertools.permutations(x)`, where equal items at different positions make
    repeated tuples. The two agree when all items are different and `x` is sorted.

    Complexity: as `permutation_rank`, O(n log n) comparisons, O(n^2) item moves in the worst
    case and O(n) big-integer multiplications and divisions (here n is the number of items).

    >>> nth_permutation("aab", 1)
    ('a', 'b', 'a')
    >>> nth_permutation([1, 2, 3], -1)
    (3, 2, 1)
    >>> nth_permutation("aab", 3)
    Traceback (most recent call last):
    ...
    IndexError: permutation index 3 is out of range for 3 distinct permutations (use -3 to 2)
    """
    requested = as_integer(n)
    remaining = sorted(iterable)
    arrangements = _count_arrangements(remaining)
    index = requested + arrangements if requested < 0 else requested
    if not 0 <= index < arrangements:
        raise IndexError(f"permutation index {requested} is out of range for {arrangements} "
                         f"distinct permutations (use -{arrangements} to {arrangements - 1})")
    result = []
    for size in range(len(remaining), 0, -1):
        # Each remaining item accounts for arrangements / size of the arrangements and equal
        # items' shares form one block, so the item at position index * size // arrangements
        # starts the block holding `index`.
        item = remaining[index * size // arrangements]
        smaller = bisect_left(remaining, item)
        copies = bisect_right(remaining, item, smaller) - smaller
        index -= arrangements * smaller // size
        arrangements = arrangements * copies // size
        del remaining[smaller]
        result.append(item)
    return tuple(result)


def _count_arrangements(ordered: list) -> int:
    """The number of distinct arrangements of the sorted list `ordered`: n! / (c1! ... ck!)."""
    count = factorial(len(ordered))
    start = 0
    for position in range(1, len(ordered) + 1):
        if position == len(ordered) or ordered[position - 1] < ordered[position]:
            count //= factorial(position - start)
            start = position
    return count
