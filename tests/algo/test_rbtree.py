"""Tests for devkit.algo.rbtree: RBTree against a dict + sorted-list model and against
sortedcontainers.SortedDict (the reference for `irange`), with `check()` after every change."""

import bisect
import copy
import doctest
import itertools
import operator
import pickle
import random

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sortedcontainers import SortedDict

from devkit.algo import rbtree
from devkit.algo.rbtree import RBTree, RBTreeCorrupted

KEYS = st.integers(-40, 40)
QUERIES = st.integers(-90, 90).map(lambda i: i / 2)  # present keys and the gaps between them
BOUNDS = st.one_of(st.none(), QUERIES)
INCLUSIVE = st.tuples(st.booleans(), st.booleans())


def negate(k):
    return -k


# ---- stateful: random operation sequences against a model -------------------------------------


class RBTreeMachine(RuleBasedStateMachine):
    """RBTree next to a dict (contents) and a sorted list (order); `key_func` orders both."""

    key_func = None

    def __init__(self):
        super().__init__()
        self.tree = RBTree(key=self.key_func)
        self.model = {}

    def sk(self, k):
        return k if self.key_func is None else self.key_func(k)

    def ordered(self):
        return sorted(self.model, key=self.sk)

    @initialize(items=st.lists(st.tuples(KEYS, st.integers())))
    def build(self, items):
        self.tree.update(items)
        self.model.update(items)

    @invariant()
    def valid_and_equal(self):
        self.tree.check()
        ordered = self.ordered()
        assert len(self.tree) == len(ordered)
        assert list(self.tree) == ordered
        assert list(reversed(self.tree)) == ordered[::-1]
        assert list(self.tree.items()) == [(k, self.model[k]) for k in ordered]
        assert list(reversed(self.tree.values())) == [self.model[k] for k in reversed(ordered)]

    @rule(k=KEYS, v=st.integers())
    def set(self, k, v):
        self.tree[k] = v
        self.model[k] = v

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete_present(self, data):
        k = data.draw(st.sampled_from(sorted(self.model)))
        del self.tree[k]
        del self.model[k]

    @rule(k=KEYS)
    def delete_maybe_absent(self, k):
        if k in self.model:
            assert self.tree.pop(k) == self.model.pop(k)
        else:
            with pytest.raises(KeyError):
                del self.tree[k]
            assert self.tree.pop(k, "absent") == "absent"

    @rule(k=KEYS)
    def get(self, k):
        assert (k in self.tree) == (k in self.model)
        assert self.tree.get(k, "absent") == self.model.get(k, "absent")
        if k in self.model:
            assert self.tree[k] == self.model[k]
        else:
            with pytest.raises(KeyError):
                self.tree[k]

    @rule()
    def pop_min(self):
        if not self.model:
            with pytest.raises(KeyError):
                self.tree.pop_min()
            with pytest.raises(KeyError):
                self.tree.min_key()
            return
        k = self.ordered()[0]
        assert self.tree.min_key() == k
        assert self.tree.pop_min() == (k, self.model.pop(k))

    @rule()
    def pop_max(self):
        if not self.model:
            with pytest.raises(KeyError):
                self.tree.pop_max()
            with pytest.raises(KeyError):
                self.tree.max_key()
            return
        k = self.ordered()[-1]
        assert self.tree.max_key() == k
        assert self.tree.pop_max() == (k, self.model.pop(k))

    @rule(q=QUERIES)
    def neighbours(self, q):
        ordered = self.ordered()
        sq, sk = self.sk(q), self.sk
        left = bisect.bisect_left(ordered, sq, key=sk)
        right = bisect.bisect_right(ordered, sq, key=sk)
        assert self.tree.floor(q) == (ordered[right - 1] if right else None)
        assert self.tree.lower(q) == (ordered[left - 1] if left else None)
        assert self.tree.ceiling(q, "none") == (ordered[left] if left < len(ordered) else "none")
        assert self.tree.higher(q) == (ordered[right] if right < len(ordered) else None)
        assert self.tree.rank(q) == left

    @rule(i=st.integers(-45, 45))
    def select(self, i):
        ordered = self.ordered()
        if -len(ordered) <= i < len(ordered):
            assert self.tree.select(i) == ordered[i]
            assert self.tree.rank(ordered[i]) == i % len(ordered)
        else:
            with pytest.raises(IndexError):
                self.tree.select(i)

    @rule(lo=BOUNDS, hi=BOUNDS, inclusive=INCLUSIVE, reverse=st.booleans())
    def irange(self, lo, hi, inclusive, reverse):
        reference = SortedDict(self.key_func, self.model)
        expected = list(reference.irange(lo, hi, inclusive, reverse))
        assert list(self.tree.irange(lo, hi, inclusive, reverse)) == expected
        assert list(self.tree.irange(lo, hi, inclusive=inclusive, reverse=reverse)) == expected

    @rule()
    def copy_is_equal_and_independent(self):
        clone = self.tree.copy()
        clone.check()
        assert clone == self.tree == self.model
        clone[1000 if self.key_func is None else -1000] = "extra"
        assert clone != self.tree


SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


class DescendingMachine(RBTreeMachine):
    key_func = staticmethod(negate)


TestRBTreeStateful = RBTreeMachine.TestCase
TestRBTreeStateful.settings = SETTINGS
TestRBTreeDescendingStateful = DescendingMachine.TestCase
TestRBTreeDescendingStateful.settings = SETTINGS


# ---- seeded random stress test ----------------------------------------------------------------


def test_stress_20000_seeded_operations_check_after_every_change():
    rng = random.Random(20240)
    tree = RBTree()
    model = {}
    for step in range(20_000):
        op = rng.random()
        k = rng.randrange(300)
        if op < 0.45:
            tree[k] = model[k] = step
        elif op < 0.75:
            if k in model:
                del tree[k]
                del model[k]
            else:
                with pytest.raises(KeyError):
                    del tree[k]
        elif op < 0.80 and model:
            assert tree.pop_min() == model_pop(model, min(model))
        elif op < 0.85 and model:
            assert tree.pop_max() == model_pop(model, max(model))
        elif op < 0.87:
            with pytest.raises(TypeError):
                tree[str(k)] = step  # incomparable with int keys: rejected, tree unchanged
        elif op < 0.88:
            items = [(rng.randrange(300), -step) for _ in range(rng.randrange(10))]
            tree.update(items)
            model.update(items)
        else:
            ordered = sorted(model)
            i = bisect.bisect_left(ordered, k)
            assert tree.rank(k) == i
            assert tree.ceiling(k) == (ordered[i] if i < len(ordered) else None)
            if ordered:
                j = rng.randrange(-len(ordered), len(ordered))
                assert tree.select(j) == ordered[j]
            continue  # a query: nothing changed
        tree.check()
        if step % 500 == 0:
            assert list(tree.items()) == sorted(model.items())
    assert list(tree.items()) == sorted(model.items())
    assert len(tree) == len(model) > 0


def model_pop(model, k):
    return k, model.pop(k)


def test_large_tree_ascending_and_descending_inserts_stay_balanced():
    tree = RBTree()
    for k in range(5000):
        tree[k] = k
    for k in range(-1, -5001, -1):
        tree[k] = k
    tree.check()
    assert height(tree) <= 2 * (len(tree) + 1).bit_length()  # a red-black tree's bound
    for k in range(0, 10_000, 2):
        del tree[k - 5000]
    tree.check()
    assert list(tree) == list(range(-4999, 5000, 2))
    assert [tree.select(i) for i in (0, 1, -1)] == [-4999, -4997, 4999]


def height(tree):
    nil = tree._nil

    def depth(node):
        return 0 if node is nil else 1 + max(depth(node.left), depth(node.right))

    return depth(tree._root)


# ---- key functions ----------------------------------------------------------------------------


def test_key_function_orders_by_key_of_k():
    tree = RBTree({1: "a", 3: "c", 2: "b"}, key=negate)
    assert list(tree) == [3, 2, 1]
    assert tree.key is negate
    assert (tree.min_key(), tree.max_key()) == (3, 1)
    assert tree.floor(2.5) == 3  # greatest in key order: key(3) = -3 <= -2.5
    assert tree.ceiling(2.5) == 2
    assert tree.rank(2) == 1
    assert list(tree.irange(3, 2)) == [3, 2]
    assert list(tree.irange(3, 2)) == list(SortedDict(negate, tree).irange(3, 2))
    tree.check()


def test_case_insensitive_keys_are_one_entry_keeping_the_first_key():
    tree = RBTree(key=str.lower)
    tree["Apple"] = 1
    tree["apple"] = 2  # same entry: value replaced, key kept, as dict does for 1 and 1.0
    tree["banana"] = 3
    tree["Cherry"] = 4
    tree.check()
    assert list(tree.items()) == [("Apple", 2), ("banana", 3), ("Cherry", 4)]
    assert tree["APPLE"] == 2 and "CHERRY" in tree
    assert tree.floor("b") == "Apple"
    assert list(tree.irange("B", "cherry")) == ["banana", "Cherry"]
    reference = SortedDict(str.lower, {"Apple": 2, "banana": 3, "Cherry": 4})
    for lo, hi in [("a", "c"), ("APPLE", None), (None, "BANANA"), ("b", "b")]:
        assert list(tree.irange(lo, hi)) == list(reference.irange(lo, hi))
    del tree["CHERRY"]
    assert list(tree) == ["Apple", "banana"]
    built = RBTree([("b", 1), ("A", 2), ("a", 3)], key=str.lower)
    built.check()
    assert list(built.items()) == [("A", 3), ("b", 1)]


def test_key_must_be_callable():
    with pytest.raises(TypeError, match="key must be a callable"):
        RBTree(key=3)


# ---- edge cases -------------------------------------------------------------------------------


def test_empty_tree():
    tree = RBTree()
    tree.check()
    assert len(tree) == 0 and not tree
    assert list(tree) == list(reversed(tree)) == list(tree.items()) == []
    assert tree == {} and repr(tree) == "RBTree({})"
    assert 1 not in tree and tree.get(1) is None
    for query in (tree.floor, tree.ceiling, tree.lower, tree.higher):
        assert query(1) is None and query(1, "d") == "d"
    assert tree.rank(5) == 0
    assert list(tree.irange()) == list(tree.irange(1, 2, reverse=True)) == []
    with pytest.raises(KeyError):
        tree[1]
    with pytest.raises(KeyError):
        del tree[1]
    for empty in (tree.min_key, tree.max_key, tree.pop_min, tree.pop_max, tree.popitem):
        with pytest.raises(KeyError, match="empty"):
            empty()
    with pytest.raises(IndexError):
        tree.select(0)
    with pytest.raises(IndexError):
        tree.select(-1)
    tree.clear()
    tree.check()


def test_single_node():
    tree = RBTree({5: "five"})
    tree.check()
    assert tree._root.red is False and len(tree) == 1
    assert (tree.min_key(), tree.max_key(), tree.select(0), tree.select(-1)) == (5, 5, 5, 5)
    assert (tree.floor(5), tree.lower(5), tree.ceiling(5), tree.higher(5)) == (5, None, 5, None)
    assert (tree.rank(4), tree.rank(5), tree.rank(6)) == (0, 0, 1)
    assert list(tree.irange(5, 5)) == [5]
    assert list(tree.irange(5, 5, (False, True))) == []
    with pytest.raises(IndexError):
        tree.select(1)
    assert tree.pop_max() == (5, "five")
    tree.check()
    assert tree == {}


@pytest.mark.parametrize("n", [*range(40), 63, 64, 65, 1000, 1023, 1024, 1025])
def test_bulk_build_and_copy_are_valid_for_every_shape(n):
    items = [(k, str(k)) for k in random.Random(n).sample(range(10 * n + 1), n)]
    tree = RBTree(items)
    tree.check()
    assert list(tree.items()) == sorted(items)
    clone = tree.copy()
    clone.check()
    assert clone == tree
    assert n == 0 or clone._root is not tree._root
    tree[-1] = "new"  # the bulk-built tree takes further inserts and deletes
    tree.check()
    for i, (k, _) in enumerate(items[: n // 2]):
        del tree[k]
        if n < 100 or i % 64 == 0:
            tree.check()
    tree.check()
    assert list(tree.items()) == [(-1, "new"), *sorted(items[n // 2 :])]


def test_construction_follows_dict_rules():
    assert list(RBTree([(1, "a"), (1.0, "b"), (0, "z")]).items()) == [(0, "z"), (1, "b")]
    assert dict(RBTree({"b": 1}, a=2)) == {"a": 2, "b": 1}
    assert list(RBTree(["xy", "ab"]).items()) == [("a", "b"), ("x", "y")]
    assert RBTree.fromkeys([2, 1], 0) == {1: 0, 2: 0}

    class KeysOnly:  # not a Mapping, but has keys(): dict() accepts it too
        def keys(self):
            return [2, 1]

        def __getitem__(self, k):
            return k * 10

    assert list(RBTree(KeysOnly()).items()) == [(1, 10), (2, 20)]
    with pytest.raises(TypeError, match="element #1"):
        RBTree([(1, 2), 3])
    with pytest.raises(ValueError, match="element #0 has length 3"):
        RBTree([(1, 2, 3)])


# ---- bad input --------------------------------------------------------------------------------


def test_incomparable_keys_raise_type_error_and_leave_the_tree_valid():
    tree = RBTree((k, k) for k in range(50))
    before = list(tree.items())
    attempts = [
        lambda: tree.__setitem__("x", 1),
        lambda: tree.__getitem__("x"),
        lambda: tree.__delitem__("x"),
        lambda: "x" in tree,
        lambda: tree.pop("x", None),
        lambda: tree.setdefault("x", 1),
        lambda: tree.floor("x"),
        lambda: tree.higher("x"),
        lambda: tree.rank("x"),
        lambda: tree.irange("x"),
        lambda: tree.irange(None, "x"),
        lambda: tree.update({100: 1, "x": 2}),
        lambda: tree.select("x"),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError):
            attempt()
        tree.check()
    assert list(tree.items()) == [*before, (100, 1)]  # update stopped at "x"; 100 went in
    with pytest.raises(TypeError):
        RBTree({1: "a", "b": 2})
    fresh = RBTree()
    with pytest.raises(TypeError):
        fresh.update([(1, "a"), ("b", 2)])  # an empty tree's update is all or nothing
    fresh.check()
    assert fresh == {}


def test_mutation_during_iteration_raises_runtime_error():
    tree = RBTree.fromkeys(range(10))
    with pytest.raises(RuntimeError, match="changed during iteration"):
        for k in tree:
            del tree[k]
    with pytest.raises(RuntimeError):
        for k in tree.irange(5, reverse=True):
            tree[k + 100] = None
    for k in tree:  # replacing a value is not a structural change, as with dict
        tree[k] = "v"
    tree.check()


ITERATORS = {
    "iter": iter,
    "reversed": reversed,
    "keys": lambda t: iter(t.keys()),
    "values": lambda t: iter(t.values()),
    "items": lambda t: reversed(t.items()),
    "irange": lambda t: t.irange(2, 5),
    "irange reversed": lambda t: t.irange(5, 7, reverse=True),
}
CHANGES = {
    "delete the first": lambda t: t.__delitem__(0),
    "delete the last": lambda t: t.__delitem__(7),
    "delete inside": lambda t: (t.__delitem__(3), t.__delitem__(5)),
    "insert": lambda t: t.__setitem__(3.5, None),
    "clear": lambda t: t.clear(),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=list(CHANGES))
@pytest.mark.parametrize("make", ITERATORS.values(), ids=list(ITERATORS))
def test_a_change_before_the_first_next_is_caught_too(make, change):
    """An iterator made, then the tree changed, then iterated: RuntimeError (as a dict
    raises), never a deleted key, a key out of range, the sentinel, or an endless loop."""
    tree = RBTree.fromkeys(range(8))
    iterator = make(tree)
    change(tree)
    with pytest.raises(RuntimeError, match="changed during iteration"):
        list(itertools.islice(iterator, 100))


# ---- mapping protocol -------------------------------------------------------------------------


def test_views_are_ordered_reversible_and_live():
    tree = RBTree({3: "c", 1: "a", 2: "b"})
    keys, values, items = tree.keys(), tree.values(), tree.items()
    tree[0] = "z"
    assert list(keys) == [0, 1, 2, 3] and list(reversed(keys)) == [3, 2, 1, 0]
    assert list(values) == ["z", "a", "b", "c"] and next(reversed(values)) == "c"
    assert list(items)[:2] == [(0, "z"), (1, "a")] and next(reversed(items)) == (3, "c")
    assert (2, "b") in items and (2, "x") not in items and "c" in values and 3 in keys
    assert len(keys) == len(values) == len(items) == 4
    assert keys & {1, 9} == {1}


def test_equality_repr_copy_and_pickle():
    tree = RBTree({2: [2], 1: [1]})
    assert tree == {1: [1], 2: [2]} == tree
    assert tree != {1: [1]} and tree != {1: [1], 2: [3]} and tree != {1: [1], 3: [2]}
    assert tree != [(1, [1]), (2, [2])]
    assert RBTree({(1,): 1}) != {(2,): 1}
    unhashable = RBTree({1: "a"})
    unhashable.clear()
    unhashable.update([([1], "a")])  # list keys: orderable, not hashable
    assert unhashable == RBTree([([1], "a")]) and unhashable != {1: "a"}
    assert repr(tree) == "RBTree({1: [1], 2: [2]})"
    tree[3] = tree
    assert repr(tree) == "RBTree({1: [1], 2: [2], 3: ...})"
    del tree[3]
    assert repr(RBTree({1: 2}, key=negate)).startswith("RBTree({1: 2}, key=<function negate")

    shallow = copy.copy(tree)
    deep = copy.deepcopy(tree)
    tree[1].append("x")
    assert shallow[1] == [1, "x"] and deep[1] == [1]
    shallow[5] = None
    assert 5 not in tree
    for clone in (shallow, deep):
        clone.check()

    keyed = RBTree({1: "a", 2: "b"}, key=operator.neg)
    loaded = pickle.loads(pickle.dumps(keyed))
    loaded.check()
    assert list(loaded) == [2, 1] and loaded.key is operator.neg
    with pytest.raises(TypeError):
        hash(tree)


def test_setdefault_get_and_update_with_keywords():
    tree = RBTree()
    assert tree.setdefault("b", 2) == 2 and tree.setdefault("b", 99) == 2
    tree.update({"a": 1}, c=3)
    tree.update([("d", 4)], a=10)  # the keyword entries go in last, as with dict.update
    tree.check()
    assert list(tree.items()) == [("a", 10), ("b", 2), ("c", 3), ("d", 4)]
    assert tree.get("zz") is None and tree.get("c") == 3


def test_popitem_takes_the_largest_and_clear_empties():
    tree = RBTree.fromkeys(range(5), 0)
    assert tree.popitem() == (4, 0)
    assert tree.pop(0) == 0
    with pytest.raises(KeyError):
        tree.pop(0)
    tree.clear()
    tree.check()
    assert len(tree) == 0 and list(tree) == []
    tree[1] = 1  # usable after clear
    tree.check()


# ---- check() itself ---------------------------------------------------------------------------


def corrupt_tree():
    tree = RBTree.fromkeys(range(31))
    tree.check()
    return tree


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda t: setattr(t._root, "red", True), "root is red"),
        (lambda t: setattr(t._nil, "size", 3), "NIL sentinel"),
        (lambda t: setattr(t._root, "parent", t._root.left), "root has a parent"),
        (lambda t: setattr(t._root.left.left, "parent", t._root), "parent pointer"),
        (lambda t: setattr(t._root.left, "red", True), "black heights differ"),
        (lambda t: setattr(t._root.right.right, "size", 99), "has size 99"),
        (lambda t: setattr(t._root.left, "sk", 1000), "out of order"),
        (lambda t: setattr(t._root.left.left.left.left, "left", t._root), "parent pointer"),
    ],
)
def test_check_names_each_broken_invariant(corrupt, message):
    tree = corrupt_tree()
    corrupt(tree)
    with pytest.raises(RBTreeCorrupted, match=message):
        tree.check()


def test_check_finds_red_red_cycles_and_stale_sort_keys():
    tree = RBTree()
    tree[0] = tree[1] = None  # root 0 black, 1 red to its right
    node = tree._root.right
    node.right = type(node)(2, 2, None, node, tree._nil)  # a red child under a red node
    node.size, tree._root.size = 2, 3
    with pytest.raises(RBTreeCorrupted, match="red node 1 has a red child 2"):
        tree.check()

    shared = corrupt_tree()
    node = shared._root.left
    node.right = node.left  # one subtree under both links: parent pointers still agree
    with pytest.raises(RBTreeCorrupted, match="reachable twice"):
        shared.check()

    keyed = RBTree({1: "a", 2: "b"}, key=negate)
    keyed._root.sk = 5  # root is key 1 (key(1) = -1), left child key 2: order still holds
    with pytest.raises(RBTreeCorrupted, match="cached sort key"):
        keyed.check()


def test_docstring_examples():
    results = doctest.testmod(rbtree, optionflags=doctest.ELLIPSIS)
    assert results.failed == 0
    assert results.attempted >= 40
