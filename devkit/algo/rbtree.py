"""A sorted mapping backed by a red-black tree, with order statistics.

`RBTree` is a `collections.abc.MutableMapping` that keeps its keys in ascending order: a CLRS
red-black tree with a per-tree NIL sentinel, parent pointers and subtree sizes. Lookups, inserts
and deletes are O(log n) in the worst case; the sizes give `rank` and `select` in O(log n) too.

Conventions (chosen once, used everywhere):

- Keys need only be totally ordered by `<` (they need not be hashable). Two keys are the same
  entry when neither is less than the other, so `1` and `1.0` are one key, as in a dict. With
  `key=f`, keys are ordered by `f(k)` and `k1`, `k2` are the same entry when `f(k1)`, `f(k2)`
  compare equal; setting an existing entry keeps the key first stored and replaces the value.
- Missing keys raise `KeyError` (`t[k]`, `del t[k]`, `pop`); so does an empty tree in `min_key`,
  `max_key`, `pop_min`, `pop_max` and `popitem` (like `dict.popitem`; note `SortedDict.peekitem`
  raises `IndexError` there: catch `LookupError` to cover both). `select` raises `IndexError`.
- `floor`, `ceiling`, `lower`, `higher` return `default` (`None`) when there is no such key.
- A key that cannot be compared with the keys present raises `TypeError` and leaves the tree
  unchanged. Changing the tree while iterating over it raises `RuntimeError`, as a dict does.

>>> t = RBTree({3: "c", 1: "a", 2: "b"})
>>> t
RBTree({1: 'a', 2: 'b', 3: 'c'})
>>> t.floor(2.5), t.rank(2.5), t.select(-1), list(t.irange(2, None))
(2, 2, 3, [2, 3])
"""

from __future__ import annotations

import functools
import operator
import reprlib
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, TypeVar

__all__ = ["RBTree", "RBTreeCorrupted"]

K = TypeVar("K")
V = TypeVar("V")

_MISSING: Any = object()
_node_key = operator.attrgetter("key")
_node_value = operator.attrgetter("value")
_node_item = operator.attrgetter("key", "value")


class RBTreeCorrupted(Exception):
    """`RBTree.check()` found a broken invariant; the message names it.

    This is a bug in `RBTree` (or in code reaching into its nodes), never a consequence of the
    caller's input: bad input raises `TypeError`/`KeyError` and leaves the tree valid.
    """


class _Node:
    """One entry: `sk` is the sort key (`key` itself, or `key_func(key)`)."""

    __slots__ = ("key", "left", "parent", "red", "right", "size", "sk", "value")

    def __init__(self, sk: Any, key: Any, value: Any, parent: _Node, nil: _Node) -> None:
        self.sk = sk
        self.key = key
        self.value = value
        self.left = nil
        self.right = nil
        self.parent = parent
        self.red = True
        self.size = 1


def _sentinel() -> _Node:
    """A tree's NIL leaf: black, size 0, its links pointing at itself."""
    nil = _Node(None, None, None, None, None)  # type: ignore[arg-type]
    nil.left = nil.right = nil.parent = nil
    nil.red = False
    nil.size = 0
    return nil


def _pairs(other: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of a mapping, of an object with `keys()`, or of an iterable of pairs,
    with `dict`'s rules and error messages."""
    if isinstance(other, Mapping):
        return list(other.items())
    if hasattr(other, "keys"):
        return [(k, other[k]) for k in other.keys()]  # noqa: SIM118 (dict calls keys() too)
    pairs = []
    for i, item in enumerate(other):
        try:
            k, v = item
        except (TypeError, ValueError):
            try:
                length = len(item)
            except TypeError:
                raise TypeError(
                    f"cannot convert RBTree update sequence element #{i} to a sequence"
                ) from None
            raise ValueError(
                f"RBTree update sequence element #{i} has length {length}; 2 is required"
            ) from None
        pairs.append((k, v))
    return pairs


class RBTree(MutableMapping[K, V]):
    """A mapping whose keys are kept sorted, backed by a red-black tree.

    `RBTree(iterable=(), /, *, key=None, **kwargs)` takes what `dict()` takes: a mapping, an object
    with `keys()`, or an iterable of (key, value) pairs, then keyword entries (a keyword entry
    cannot be named `key`: pass it in the mapping). Building an empty tree from n items costs
    O(n log n) comparisons (one sort) and O(n) node work. `key` orders keys by `key(k)`, like
    `SortedDict`'s key function. See the module docstring for the conventions on errors.

    >>> t = RBTree([("b", 2), ("a", 1)], c=3)
    >>> list(t), t["a"], len(t), "z" in t
    (['a', 'b', 'c'], 1, 3, False)
    >>> RBTree({"B": 1, "a": 2}, key=str.lower)
    RBTree({'a': 2, 'B': 1}, key=<method 'lower' of 'str' objects>)
    """

    __slots__ = ("__weakref__", "_key", "_nil", "_root", "_version")

    def __init__(
        self,
        iterable: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        /,
        *,
        key: Callable[[K], Any] | None = None,
        **kwargs: V,
    ) -> None:
        if key is not None and not callable(key):
            raise TypeError(f"RBTree key must be a callable or None, not {type(key).__name__}")
        self._key = key
        self._nil = self._root = _sentinel()
        self._version = 0  # bumped by every insert and delete; iterators compare it
        self.update(iterable, **kwargs)

    @classmethod
    def fromkeys(
        cls, iterable: Iterable[K], value: Any = None, *, key: Callable[[K], Any] | None = None
    ) -> RBTree[K, Any]:
        """A tree mapping every key of `iterable` to `value`, like `dict.fromkeys`. O(n log n).

        >>> RBTree.fromkeys("ba", 0)
        RBTree({'a': 0, 'b': 0})
        """
        return cls(((k, value) for k in iterable), key=key)

    @property
    def key(self) -> Callable[[K], Any] | None:
        """The key function given to the constructor (None: keys are compared directly). O(1).

        >>> RBTree(key=abs).key
        <built-in function abs>
        """
        return self._key

    # ---- lookups ------------------------------------------------------------------------------

    def _find(self, key: Any) -> _Node | None:
        """The node holding `key`, or None. One `<` per level: descend, then test equality once."""
        keyf = self._key
        sk = key if keyf is None else keyf(key)
        nil = self._nil
        x = self._root
        cand = None  # the last node we went right from: the greatest node with node.sk <= sk
        while x is not nil:
            if sk < x.sk:
                x = x.left
            else:
                cand = x
                x = x.right
        if cand is not None and not cand.sk < sk:
            return cand
        return None

    def __getitem__(self, key: K) -> V:
        """`t[key]`: the value for `key`; KeyError when absent. O(log n).

        >>> RBTree({1: "a"})[1]
        'a'
        """
        # _find inlined: this is the hottest path.
        keyf = self._key
        sk = key if keyf is None else keyf(key)
        nil = self._nil
        x = self._root
        cand = None
        while x is not nil:
            if sk < x.sk:
                x = x.left
            else:
                cand = x
                x = x.right
        if cand is not None and not cand.sk < sk:
            return cand.value
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        """`key in t`. O(log n).

        >>> 2 in RBTree({1: "a"}), 1 in RBTree({1: "a"})
        (False, True)
        """
        return self._find(key) is not None

    def get(self, key: K, default: Any = None) -> Any:
        """The value for `key`, or `default` when absent. O(log n).

        >>> RBTree({1: "a"}).get(2, "-")
        '-'
        """
        node = self._find(key)
        return default if node is None else node.value

    def __len__(self) -> int:
        """`len(t)`: the number of keys. O(1).

        >>> len(RBTree({1: "a", 2: "b"}))
        2
        """
        return self._root.size

    # ---- insertion ----------------------------------------------------------------------------

    def __setitem__(self, key: K, value: V) -> None:
        """`t[key] = value`: insert, or replace the value of an existing key. O(log n).

        >>> t = RBTree(); t[2] = "b"; t[1] = "a"; t[2] = "B"; t
        RBTree({1: 'a', 2: 'B'})
        """
        keyf = self._key
        sk = key if keyf is None else keyf(key)
        nil = self._nil
        parent = nil
        x = self._root
        cand = None
        while x is not nil:  # a TypeError here leaves the tree untouched
            parent = x
            if sk < x.sk:
                x = x.left
            else:
                cand = x
                x = x.right
        if cand is not None and not cand.sk < sk:
            cand.value = value
            return
        z = _Node(sk, key, value, parent, nil)
        if parent is nil:
            self._root = z
        elif cand is parent:  # the last step went right
            parent.right = z
        else:
            parent.left = z
        while parent is not nil:
            parent.size += 1
            parent = parent.parent
        self._version += 1
        self._insert_fixup(z)

    def setdefault(self, key: K, default: Any = None) -> Any:
        """`t[key]` if present, else set it to `default` and return that. O(log n).

        >>> t = RBTree({1: "a"}); t.setdefault(1, "x"), t.setdefault(2, "b"), t
        ('a', 'b', RBTree({1: 'a', 2: 'b'}))
        """
        node = self._find(key)
        if node is not None:
            return node.value
        self[key] = default
        return default

    def update(self, other: Any = (), /, **kwargs: V) -> None:
        """Set every (key, value) of `other` (like `dict.update`), then the keyword entries.

        O(m log(n + m)) for m new entries; into an empty tree it is one sort plus an O(m) build,
        and then a TypeError (incomparable keys) leaves the tree empty. Into a non-empty tree the
        entries go in one by one: a TypeError stops there, earlier entries stay, tree valid.

        >>> t = RBTree({1: "a"}); t.update([(3, "c"), (2, "b")]); t.update({4: "d"}); t
        RBTree({1: 'a', 2: 'b', 3: 'c', 4: 'd'})
        >>> t.update({5: "e", "six": "f"})
        Traceback (most recent call last):
        ...
        TypeError: '<' not supported between instances of 'str' and 'int'
        >>> t.check(); list(t)
        [1, 2, 3, 4, 5]
        """
        pairs = _pairs(other)
        if kwargs:
            pairs.extend(kwargs.items())
        if not pairs:
            return
        if self._root is self._nil:
            self._link_balanced(self._sorted_nodes(pairs))
            self._version += 1
        else:
            for k, v in pairs:
                self[k] = v

    def _sorted_nodes(self, pairs: list[tuple[Any, Any]]) -> list[_Node]:
        """New nodes for `pairs` in key order; duplicates keep the first key and the last value,
        as `dict` does. Raises TypeError (from the sort) for incomparable keys."""
        keyf = self._key
        sks = [k for k, _ in pairs] if keyf is None else [keyf(k) for k, _ in pairs]
        order = sorted(range(len(pairs)), key=sks.__getitem__)  # stable: equal keys keep order
        nil = self._nil
        nodes: list[_Node] = []
        last = None
        for i in order:
            sk = sks[i]
            if last is not None and not last.sk < sk:
                last.value = pairs[i][1]
                continue
            last = _Node(sk, pairs[i][0], pairs[i][1], nil, nil)
            nodes.append(last)
        return nodes

    def _link_balanced(self, nodes: list[_Node]) -> None:
        """Make the nodes (in key order) this tree's nodes, as a perfectly balanced tree.

        Splitting at the middle puts every leaf slot at depth D or D + 1, D = floor(log2 n): with
        the nodes at depth D red and all others black, every path has D black nodes."""
        nil = self._nil
        red_depth = max(len(nodes).bit_length() - 1, 1)  # the root stays black

        def link(lo: int, hi: int, depth: int, parent: _Node) -> _Node:
            if lo >= hi:
                return nil
            mid = (lo + hi) // 2
            node = nodes[mid]
            node.parent = parent
            node.left = link(lo, mid, depth + 1, node)
            node.right = link(mid + 1, hi, depth + 1, node)
            node.size = hi - lo
            node.red = depth == red_depth
            return node

        self._root = link(0, len(nodes), 0, nil)

    # ---- deletion -----------------------------------------------------------------------------

    def __delitem__(self, key: K) -> None:
        """`del t[key]`; KeyError when absent. O(log n).

        >>> t = RBTree({1: "a", 2: "b"}); del t[1]; t
        RBTree({2: 'b'})
        """
        node = self._find(key)
        if node is None:
            raise KeyError(key)
        self._remove(node)

    def pop(self, key: K, default: Any = _MISSING) -> Any:
        """Remove `key` and return its value; `default` (or KeyError) when absent. O(log n).

        >>> t = RBTree({1: "a"}); t.pop(1), t.pop(1, None), t
        ('a', None, RBTree({}))
        """
        node = self._find(key)
        if node is None:
            if default is _MISSING:
                raise KeyError(key)
            return default
        value = node.value
        self._remove(node)
        return value

    def pop_min(self) -> tuple[K, V]:
        """Remove and return the (key, value) with the smallest key; KeyError when empty.
        O(log n).

        >>> t = RBTree({2: "b", 1: "a"}); t.pop_min(), t
        ((1, 'a'), RBTree({2: 'b'}))
        """
        nil = self._nil
        z = self._root
        if z is nil:
            raise KeyError("pop_min(): RBTree is empty")
        while z.left is not nil:
            z = z.left
        item = (z.key, z.value)
        self._remove(z)
        return item

    def pop_max(self) -> tuple[K, V]:
        """Remove and return the (key, value) with the largest key; KeyError when empty.
        O(log n).

        >>> t = RBTree({2: "b", 1: "a"}); t.pop_max(), t
        ((2, 'b'), RBTree({1: 'a'}))
        """
        nil = self._nil
        z = self._root
        if z is nil:
            raise KeyError("pop_max(): RBTree is empty")
        while z.right is not nil:
            z = z.right
        item = (z.key, z.value)
        self._remove(z)
        return item

    def popitem(self) -> tuple[K, V]:
        """`pop_max()`: the last item, as `dict.popitem` and `SortedDict.popitem` take the last.
        O(log n).

        >>> RBTree({1: "a", 2: "b"}).popitem()
        (2, 'b')
        """
        return self.pop_max()

    def clear(self) -> None:
        """Remove every key. O(1) (the nodes are freed by the garbage collector).

        >>> t = RBTree({1: "a"}); t.clear(); len(t)
        0
        """
        self._root = self._nil
        self._version += 1

    def _remove(self, z: _Node) -> None:
        """Unlink node `z` (CLRS RB-DELETE). A node with two children takes its successor's entry
        and the successor, which has no left child, is unlinked instead."""
        nil = self._nil
        if z.left is not nil and z.right is not nil:
            y = z.right
            while y.left is not nil:
                y = y.left
            z.sk, z.key, z.value = y.sk, y.key, y.value
            z = y
        parent = z.parent
        p = parent
        while p is not nil:
            p.size -= 1
            p = p.parent
        x = z.left if z.left is not nil else z.right
        x.parent = parent  # also on the sentinel: the fixup climbs from x
        if parent is nil:
            self._root = x
        elif z is parent.left:
            parent.left = x
        else:
            parent.right = x
        self._version += 1
        if not z.red:
            self._delete_fixup(x)

    # ---- rebalancing (CLRS chapter 13) --------------------------------------------------------

    def _rotate_left(self, x: _Node) -> None:
        """x's right child y takes x's place; x becomes y's left child. Sizes follow."""
        nil = self._nil
        y = x.right
        b = y.left
        x.right = b
        if b is not nil:
            b.parent = x
        p = x.parent
        y.parent = p
        if p is nil:
            self._root = y
        elif x is p.left:
            p.left = y
        else:
            p.right = y
        y.left = x
        x.parent = y
        y.size = x.size
        x.size = x.left.size + b.size + 1

    def _rotate_right(self, x: _Node) -> None:
        """x's left child y takes x's place; x becomes y's right child. Sizes follow."""
        nil = self._nil
        y = x.left
        b = y.right
        x.left = b
        if b is not nil:
            b.parent = x
        p = x.parent
        y.parent = p
        if p is nil:
            self._root = y
        elif x is p.right:
            p.right = y
        else:
            p.left = y
        y.right = x
        x.parent = y
        y.size = x.size
        x.size = b.size + x.right.size + 1

    def _insert_fixup(self, z: _Node) -> None:
        """Restore "no red node has a red child" after inserting the red node z."""
        while z.parent.red:
            p = z.parent
            g = p.parent  # exists and is black: p is red, so p is not the root
            if p is g.left:
                uncle = g.right
                if uncle.red:  # recolour and continue from the grandparent
                    p.red = uncle.red = False
                    g.red = True
                    z = g
                    continue
                if z is p.right:  # bend the zig-zag into a straight line
                    self._rotate_left(p)
                    z, p = p, z
                p.red = False
                g.red = True
                self._rotate_right(g)
            else:
                uncle = g.left
                if uncle.red:
                    p.red = uncle.red = False
                    g.red = True
                    z = g
                    continue
                if z is p.left:
                    self._rotate_right(p)
                    z, p = p, z
                p.red = False
                g.red = True
                self._rotate_left(g)
        self._root.red = False

    def _delete_fixup(self, x: _Node) -> None:
        """Restore equal black heights after unlinking a black node; x carries an extra black."""
        while x is not self._root and not x.red:
            p = x.parent
            if x is p.left:
                w = p.right  # never the sentinel: x's side is one black short
                if w.red:
                    w.red = False
                    p.red = True
                    self._rotate_left(p)
                    w = p.right
                if not w.left.red and not w.right.red:
                    w.red = True
                    x = p
                    continue
                if not w.right.red:
                    w.left.red = False
                    w.red = True
                    self._rotate_right(w)
                    w = p.right
                w.red = p.red
                p.red = False
                w.right.red = False
                self._rotate_left(p)
            else:
                w = p.left
                if w.red:
                    w.red = False
                    p.red = True
                    self._rotate_right(p)
                    w = p.left
                if not w.left.red and not w.right.red:
                    w.red = True
                    x = p
                    continue
                if not w.left.red:
                    w.right.red = False
                    w.red = True
                    self._rotate_left(w)
                    w = p.left
                w.red = p.red
                p.red = False
                w.left.red = False
                self._rotate_right(p)
            break
        x.red = False

    # ---- order queries ------------------------------------------------------------------------

    def _sort_key(self, key: Any) -> Any:
        keyf = self._key
        return key if keyf is None else keyf(key)

    def _min_node(self) -> _Node | None:
        nil = self._nil
        x = self._root
        if x is nil:
            return None
        while x.left is not nil:
            x = x.left
        return x

    def _max_node(self) -> _Node | None:
        nil = self._nil
        x = self._root
        if x is nil:
            return None
        while x.right is not nil:
            x = x.right
        return x

    def min_key(self) -> K:
        """The smallest key; KeyError when empty. O(log n).

        >>> RBTree({2: "b", 1: "a"}).min_key()
        1
        """
        node = self._min_node()
        if node is None:
            raise KeyError("min_key(): RBTree is empty")
        return node.key

    def max_key(self) -> K:
        """The largest key; KeyError when empty. O(log n).

        >>> RBTree({2: "b", 1: "a"}).max_key()
        2
        """
        node = self._max_node()
        if node is None:
            raise KeyError("max_key(): RBTree is empty")
        return node.key

    def _floor_node(self, key: Any, strict: bool) -> _Node | None:
        """The greatest node with sk <= key (sk < key when strict), or None."""
        sk = self._sort_key(key)
        nil = self._nil
        x = self._root
        best = None
        if strict:
            while x is not nil:
                if x.sk < sk:
                    best = x
                    x = x.right
                else:
                    x = x.left
        else:
            while x is not nil:
                if sk < x.sk:
                    x = x.left
                else:
                    best = x
                    x = x.right
        return best

    def _ceiling_node(self, key: Any, strict: bool) -> _Node | None:
        """The least node with sk >= key (sk > key when strict), or None."""
        sk = self._sort_key(key)
        nil = self._nil
        x = self._root
        best = None
        if strict:
            while x is not nil:
                if sk < x.sk:
                    best = x
                    x = x.left
                else:
                    x = x.right
        else:
            while x is not nil:
                if x.sk < sk:
                    x = x.right
                else:
                    best = x
                    x = x.left
        return best

    def floor(self, key: Any, default: Any = None) -> Any:
        """The greatest key <= `key`, or `default` when there is none. O(log n).

        >>> t = RBTree.fromkeys([10, 20]); t.floor(20), t.floor(15), t.floor(5)
        (20, 10, None)
        """
        node = self._floor_node(key, strict=False)
        return default if node is None else node.key

    def lower(self, key: Any, default: Any = None) -> Any:
        """The greatest key < `key`, or `default` when there is none. O(log n).

        >>> t = RBTree.fromkeys([10, 20]); t.lower(20), t.lower(10, "none")
        (10, 'none')
        """
        node = self._floor_node(key, strict=True)
        return default if node is None else node.key

    def ceiling(self, key: Any, default: Any = None) -> Any:
        """The least key >= `key`, or `default` when there is none. O(log n).

        >>> t = RBTree.fromkeys([10, 20]); t.ceiling(10), t.ceiling(15), t.ceiling(25)
        (10, 20, None)
        """
        node = self._ceiling_node(key, strict=False)
        return default if node is None else node.key

    def higher(self, key: Any, default: Any = None) -> Any:
        """The least key > `key`, or `default` when there is none. O(log n).

        >>> t = RBTree.fromkeys([10, 20]); t.higher(10), t.higher(20, "none")
        (20, 'none')
        """
        node = self._ceiling_node(key, strict=True)
        return default if node is None else node.key

    def rank(self, key: Any) -> int:
        """The number of keys < `key` (`bisect_left`), whether or not `key` is present. O(log n).

        >>> t = RBTree.fromkeys([10, 20, 30]); t.rank(20), t.rank(25), t.rank(5), t.rank(99)
        (1, 2, 0, 3)
        """
        sk = self._sort_key(key)
        nil = self._nil
        x = self._root
        rank = 0
        while x is not nil:
            if x.sk < sk:
                rank += x.left.size + 1
                x = x.right
            else:
                x = x.left
        return rank

    def select(self, index: int) -> K:
        """The key at position `index` in sorted order (negative counts from the end, like list
        indexing); IndexError out of range. O(log n).

        >>> t = RBTree.fromkeys([10, 20, 30]); t.select(0), t.select(2), t.select(-1)
        (10, 30, 30)
        """
        index = operator.index(index)
        n = self._root.size
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("RBTree index out of range")
        x = self._root
        while True:
            left = x.left.size
            if index < left:
                x = x.left
            elif index == left:
                return x.key
            else:
                index -= left + 1
                x = x.right

    # ---- iteration ----------------------------------------------------------------------------

    def _walk(self, first: _Node, last: _Node, reverse: bool, version: int) -> Iterator[_Node]:
        """Yield the nodes from `first` to `last` in order (both included, first <= last),
        or from `last` back to `first` when `reverse`; O(1) amortised per node.

        `version` is the tree's version when the iterator was made: any change since, even
        before the first `next()`, raises RuntimeError (the nodes may have moved)."""
        nil = self._nil
        x, end = (last, first) if reverse else (first, last)
        if self._version != version:
            raise RuntimeError("RBTree changed during iteration")
        while True:
            yield x
            if self._version != version:
                raise RuntimeError("RBTree changed during iteration")
            if x is end:
                return
            if reverse:
                if x.left is not nil:  # the predecessor: down the left subtree's right spine,
                    x = x.left
                    while x.right is not nil:
                        x = x.right
                else:  # or up to the first ancestor we are right of
                    p = x.parent
                    while x is p.left:
                        x = p
                        p = p.parent
                    x = p
            elif x.right is not nil:  # the successor, mirrored
                x = x.right
                while x.left is not nil:
                    x = x.left
            else:
                p = x.parent
                while x is p.right:
                    x = p
                    p = p.parent
                x = p
            if x is nil:  # cannot happen in a consistent tree; never yield the sentinel
                raise RBTreeCorrupted("iteration ran off the tree")

    def _nodes(self, reverse: bool = False) -> Iterator[_Node]:
        if self._root is self._nil:
            return iter(())
        first, last = self._min_node(), self._max_node()
        return self._walk(first, last, reverse, self._version)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[K]:
        """Iterate over the keys in ascending order. O(n) in all, O(log n) to start.

        >>> list(RBTree.fromkeys([3, 1, 2]))
        [1, 2, 3]
        """
        return map(_node_key, self._nodes())

    def __reversed__(self) -> Iterator[K]:
        """Iterate over the keys in descending order. O(n) in all, O(log n) to start.

        >>> list(reversed(RBTree.fromkeys([3, 1, 2])))
        [3, 2, 1]
        """
        return map(_node_key, self._nodes(reverse=True))

    def keys(self) -> _RBKeysView[K]:
        """A view of the keys, in ascending order (`reversed()` works on it). O(1) to make.

        >>> list(reversed(RBTree({2: "b", 1: "a"}).keys()))
        [2, 1]
        """
        return _RBKeysView(self)

    def values(self) -> _RBValuesView[V]:
        """A view of the values, in the order of their keys. O(1) to make, O(n) to iterate.

        >>> list(RBTree({2: "b", 1: "a"}).values())
        ['a', 'b']
        """
        return _RBValuesView(self)

    def items(self) -> _RBItemsView[K, V]:
        """A view of the (key, value) pairs, in key order. O(1) to make, O(n) to iterate.

        >>> list(RBTree({2: "b", 1: "a"}).items())
        [(1, 'a'), (2, 'b')]
        """
        return _RBItemsView(self)

    def irange(
        self,
        lo: Any = None,
        hi: Any = None,
        inclusive: tuple[bool, bool] = (True, True),
        reverse: bool = False,
    ) -> Iterator[K]:
        """Iterate over the keys from `lo` to `hi`, exactly as `SortedDict.irange` does.

        None means unbounded on that side; `inclusive` says whether `lo` and `hi` themselves are
        included; `reverse` yields from `hi` down to `lo`. With a key function the bounds are keys
        too (they are passed through it). Both bounds are located when irange is called (a
        TypeError is raised then), then each key costs O(1) amortised: O(log n + k) in all.

        >>> t = RBTree.fromkeys(range(10))
        >>> list(t.irange(3, 6)), list(t.irange(3, 6, (False, False))), list(t.irange(7))
        ([3, 4, 5, 6], [4, 5], [7, 8, 9])
        >>> list(t.irange(None, 2, reverse=True)), list(t.irange(6, 3))
        ([2, 1, 0], [])
        """
        if self._root is self._nil:
            return iter(())
        include_lo, include_hi = inclusive
        first = self._min_node() if lo is None else self._ceiling_node(lo, not include_lo)
        last = self._max_node() if hi is None else self._floor_node(hi, not include_hi)
        if first is None or last is None or last.sk < first.sk:
            return iter(())
        return map(_node_key, self._walk(first, last, reverse, self._version))

    # ---- whole-tree operations ----------------------------------------------------------------

    def copy(self) -> RBTree[K, V]:
        """A shallow copy (same keys and values, new tree; same key function). O(n), no
        comparisons.

        >>> t = RBTree({1: "a"}); c = t.copy(); c[2] = "b"; t, c
        (RBTree({1: 'a'}), RBTree({1: 'a', 2: 'b'}))
        """
        new = type(self)(key=self._key)
        nil = new._nil
        new._link_balanced([_Node(x.sk, x.key, x.value, nil, nil) for x in self._nodes()])
        return new

    __copy__ = copy

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and `copy.deepcopy`) as the constructor call with the items."""
        cls: Any = type(self)
        if self._key is not None:
            cls = functools.partial(cls, key=self._key)
        return (cls, (list(self.items()),))

    def __eq__(self, other: object) -> bool:
        """`t == other` for any mapping: same length, and every key of t maps to an equal value
        in `other` (looked up with `other`'s rules). O(n log m) for another tree (n lookups).

        >>> RBTree({1: "a", 2: "b"}) == {2: "b", 1: "a"}, RBTree({1: "a"}) == {1: "b"}
        (True, False)
        """
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(self) != len(other):
            return False
        for node in self._nodes():
            try:
                theirs = other[node.key]
            except (KeyError, TypeError):  # absent, or unhashable/incomparable there
                return False
            if not (theirs is node.value or theirs == node.value):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        """`RBTree({k: v, ...})`, plus `key=...` when there is a key function. O(n).

        >>> RBTree({2: "b", 1: "a"})
        RBTree({1: 'a', 2: 'b'})
        """
        body = ", ".join(f"{k!r}: {v!r}" for k, v in self.items())
        name = type(self).__name__
        if self._key is None:
            return f"{name}({{{body}}})"
        return f"{name}({{{body}}}, key={self._key!r})"

    def check(self) -> None:
        """Verify every invariant of the tree; raise `RBTreeCorrupted` naming the first broken
        one. O(n). For tests: the tree's own methods keep these true.

        Checked: the sentinel is black with size 0; the root is black and has no parent; each
        child's parent pointer is its parent; no cycles; no red node has a red child; every path
        from a node to a leaf has the same number of black nodes; every size is 1 + the sizes of
        the children; keys strictly increase in order; the cached sort key is key(key).

        >>> t = RBTree.fromkeys(range(100)); t.check()
        >>> t._root.red = True; t.check()
        Traceback (most recent call last):
        ...
        devkit.algo.rbtree.RBTreeCorrupted: the root is red
        """
        nil = self._nil
        if nil.red or nil.size != 0:
            raise RBTreeCorrupted("the NIL sentinel is not black with size 0")
        root = self._root
        if root is nil:
            return
        if root.red:
            raise RBTreeCorrupted("the root is red")
        if root.parent is not nil:
            raise RBTreeCorrupted("the root has a parent")

        preorder = []
        seen: set[int] = set()
        stack = [root]
        while stack:
            x = stack.pop()
            if id(x) in seen:
                raise RBTreeCorrupted(f"node {x.key!r} is reachable twice (a cycle)")
            seen.add(id(x))
            preorder.append(x)
            for child in (x.left, x.right):
                if child is nil:
                    continue
                if child.parent is not x:
                    raise RBTreeCorrupted(f"node {child.key!r}'s parent pointer is wrong")
                if x.red and child.red:
                    raise RBTreeCorrupted(f"red node {x.key!r} has a red child {child.key!r}")
                stack.append(child)

        black_height = {nil: 1}  # black nodes on every path down to (and including) NIL
        for x in reversed(preorder):  # children before their parents
            left, right = black_height[x.left], black_height[x.right]
            if left != right:
                raise RBTreeCorrupted(
                    f"black heights differ below node {x.key!r}: {left} left, {right} right"
                )
            black_height[x] = left + (0 if x.red else 1)
            if x.size != x.left.size + x.right.size + 1:
                raise RBTreeCorrupted(f"node {x.key!r} has size {x.size}, not 1 + its children's")

        keyf = self._key
        previous = None
        for x in self._inorder_without_parents():
            if previous is not None and not previous.sk < x.sk:
                raise RBTreeCorrupted(
                    f"keys out of order: {previous.key!r} comes before {x.key!r}"
                )
            if keyf is not None:
                sk = keyf(x.key)
                if sk < x.sk or x.sk < sk:
                    raise RBTreeCorrupted(f"node {x.key!r}'s cached sort key is not key(key)")
            previous = x

    def _inorder_without_parents(self) -> Iterator[_Node]:
        """In-order nodes following child links only (check() must not trust parent links)."""
        nil = self._nil
        stack: list[_Node] = []
        x = self._root
        while stack or x is not nil:
            while x is not nil:
                stack.append(x)
                x = x.left
            x = stack.pop()
            yield x
            x = x.right


class _RBKeysView(KeysView[K]):
    """`RBTree.keys()`: in order, reversible."""

    __slots__ = ()

    def __iter__(self) -> Iterator[K]:
        return iter(self._mapping)

    def __reversed__(self) -> Iterator[K]:
        return reversed(self._mapping)


class _RBValuesView(ValuesView[V]):
    """`RBTree.values()`: in key order, reversible, without a lookup per value."""

    __slots__ = ()

    def __iter__(self) -> Iterator[V]:
        return map(_node_value, self._mapping._nodes())

    def __reversed__(self) -> Iterator[V]:
        return map(_node_value, self._mapping._nodes(reverse=True))


class _RBItemsView(ItemsView[K, V]):
    """`RBTree.items()`: in key order, reversible, without a lookup per item."""

    __slots__ = ()

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return map(_node_item, self._mapping._nodes())

    def __reversed__(self) -> Iterator[tuple[K, V]]:
        return map(_node_item, self._mapping._nodes(reverse=True))
