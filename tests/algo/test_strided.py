"""devkit.algo.strided against numpy: after every view, reshape, broadcast or copy, the shape,
strides (numpy's bytes divided by the itemsize), offset (numpy's data pointer minus its buffer's,
in elements), values, contiguity and whether a copy was made are numpy's; errors are numpy's
exception types with numpy's messages."""

import functools
import itertools
import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from devkit.algo.strided import AxisError, IndexTypeError, NDArray, compact_strides, from_list

ITEMSIZE = np.dtype(np.int64).itemsize
MAX_NDIM = 6
MAX_SIZE = 400

# Mostly non-empty axes, sometimes an empty one.
axis_lengths = st.sampled_from([0, 1, 1, 2, 2, 3, 3, 4, 4, 5])


def buffer_owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory `array` views (numpy collapses view chains to it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def data_pointer(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def assert_like_numpy(ours: NDArray, theirs: np.ndarray, owner: np.ndarray) -> None:
    """Same shape, element strides, offset into the buffer, values and contiguity."""
    assert ours.shape == theirs.shape
    assert ours.strides == tuple(s // ITEMSIZE for s in theirs.strides)
    assert ours.offset == (data_pointer(theirs) - data_pointer(owner)) // ITEMSIZE
    assert ours.tolist() == theirs.tolist()
    assert ours.is_compact() == theirs.flags.c_contiguous


def same_error(ours_call, theirs_call) -> bool:
    """Run numpy's call; if it raises, ours must raise the same class with the same message.

    Returns whether numpy raised (ours then raised too)."""
    try:
        theirs_call()
    except (ValueError, IndexError, TypeError) as expected:
        if isinstance(expected, np.exceptions.AxisError):
            expected_type = AxisError
        else:
            expected_type = type(expected)
        with pytest.raises(expected_type) as raised:
            ours_call()
        assert str(raised.value) == str(expected)
        return True
    return False


def as_list(value):
    """An array's nested lists, or the value itself for a scalar (ours or numpy's)."""
    if isinstance(value, NDArray):
        return value.tolist()
    return np.asarray(value).tolist()


# --- random operation chains -------------------------------------------------------------


def draw_reshape(data, shape):
    size = math.prod(shape)
    if size == 0:
        dims = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
        dims[data.draw(st.integers(0, len(dims) - 1))] = 0
    else:
        factors = [p for p in range(2, size + 1) for _ in range(_multiplicity(size, p))]
        factors = data.draw(st.permutations(factors))
        cuts = sorted(data.draw(st.sets(st.integers(0, len(factors)), max_size=3)))
        bounds = [0, *cuts, len(factors)]
        dims = [math.prod(factors[a:b]) for a, b in itertools.pairwise(bounds)]
        for _ in range(data.draw(st.integers(0, 2))):
            dims.insert(data.draw(st.integers(0, len(dims))), 1)
    if dims and data.draw(st.booleans()):
        dims[data.draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


def _multiplicity(n: int, p: int) -> int:
    """How many times the prime `p` divides `n` (0 for composite `p`)."""
    if any(p % d == 0 for d in range(2, p)):
        return 0
    count = 0
    while n % p == 0:
        n //= p
        count += 1
    return count


def draw_index(data, shape):
    """A basic index: ints (some out of range), slices, maybe one `...` and some `None`."""
    count = data.draw(st.integers(0, len(shape)))
    items = []
    for length in shape[:count]:
        if length and data.draw(st.integers(0, 3)) == 0:
            items.append(data.draw(st.integers(-length - 1, length)))
        else:
            bound = st.none() | st.integers(-length - 3, length + 3)
            step = st.none() | st.integers(-3, 3).filter(bool)
            items.append(slice(data.draw(bound), data.draw(bound), data.draw(step)))
    if data.draw(st.booleans()):
        items.insert(data.draw(st.integers(0, len(items))), Ellipsis)
    if len(shape) < MAX_NDIM and data.draw(st.integers(0, 3)) == 0:
        items.insert(data.draw(st.integers(0, len(items))), None)
    if len(items) == 1 and data.draw(st.booleans()):
        return items[0]
    return tuple(items)


def draw_broadcast(data, shape):
    extra = data.draw(st.lists(st.integers(0, 3), max_size=MAX_NDIM - len(shape)))
    target = []
    for length in shape:
        if length == 1 or data.draw(st.integers(0, 9)) == 0:
            target.append(data.draw(st.integers(0, 4)))
        else:
            target.append(length)
    return (*extra, *target)


def numpy_step(array: np.ndarray, operation: str, argument):
    if operation == "reshape":
        return array.reshape(*argument)
    if operation == "permute":
        return array.transpose(argument)
    if operation == "transpose":
        return array.transpose()
    if operation == "index":
        return array[argument]
    if operation == "broadcast_to":
        return np.broadcast_to(array, argument)
    return array if array.flags.c_contiguous else array.copy()  # compact


def our_step(array: NDArray, operation: str, argument):
    if operation == "reshape":
        return array.reshape(*argument)
    if operation == "permute":
        return array.permute(*argument)
    if operation == "transpose":
        return array.transpose()
    if operation == "index":
        return array[argument]
    if operation == "broadcast_to":
        return array.broadcast_to(argument)
    return array.compact()


def draw_step(data, shape):
    """An operation and its argument for an array of `shape`, or None to skip this step."""
    operation = data.draw(
        st.sampled_from(["reshape", "permute", "transpose", "index", "broadcast_to", "compact"]),
        label="operation",
    )
    if operation == "reshape":
        dims = draw_reshape(data, shape)
        argument = (dims,) if data.draw(st.booleans()) else dims  # one tuple, or separate ints
        return None if not argument else (operation, argument)
    if operation == "permute":
        axes = data.draw(st.permutations(range(len(shape))))
        return operation, [a - len(shape) if data.draw(st.booleans()) else a for a in axes]
    if operation == "index":
        return operation, draw_index(data, shape)
    if operation == "broadcast_to":
        target = draw_broadcast(data, shape)
        return None if math.prod(target) > MAX_SIZE else (operation, target)
    return operation, None


@settings(max_examples=400, deadline=None)
@given(st.lists(axis_lengths, max_size=4), st.data())
def test_operation_chains_match_numpy(base_shape, data):
    size = math.prod(base_shape)
    theirs = np.arange(size, dtype=np.int64).reshape(base_shape)
    ours = from_list(list(range(size))).reshape(base_shape)  # fresh, like np.arange's buffer
    owner = buffer_owner(theirs)
    assert_like_numpy(ours, theirs, owner)
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        step = draw_step(data, theirs.shape)
        if step is None:
            continue
        ours_call = functools.partial(our_step, ours, *step)
        theirs_call = functools.partial(numpy_step, theirs, *step)
        if same_error(ours_call, theirs_call):
            continue
        new_ours, new_theirs = ours_call(), theirs_call()
        if not isinstance(new_theirs, np.ndarray):  # every axis indexed by an int: an element
            assert type(new_ours) is int
            assert new_ours == new_theirs
            continue
        numpy_copied = buffer_owner(new_theirs) is not owner
        assert (new_ours.buffer is not ours.buffer) == numpy_copied, step
        if step[0] == "compact":
            assert (new_ours is ours) == (new_theirs is theirs)
        if numpy_copied:
            owner = buffer_owner(new_theirs)
        ours, theirs = new_ours, new_theirs
        assert_like_numpy(ours, theirs, owner)


# --- layouts and worked examples ---------------------------------------------------------


@given(st.lists(axis_lengths, max_size=5))
def test_compact_strides_are_numpys_contiguous_strides(shape):
    # An ndarray over a given buffer gets numpy's contiguous strides (a new empty one gets 0s).
    expected = np.ndarray(shape, dtype=np.int64, buffer=np.zeros(max(1, math.prod(shape)))).strides
    assert compact_strides(shape) == tuple(s // ITEMSIZE for s in expected)


@pytest.mark.parametrize(
    ("view", "newshape", "is_view", "strides"),
    [
        # A transposed matrix cannot be flattened without a copy...
        (lambda a: a.reshape(3, 4).T, (12,), False, (1,)),
        # ...but splitting one of its axes keeps it a view.
        (lambda a: a.reshape(3, 4).T, (2, 2, 3), True, (2, 1, 4)),
        # The first two columns leave gaps between rows: flattening copies...
        (lambda a: a.reshape(3, 4)[:, :2], (6,), False, (1,)),
        # ...but every other column is evenly spaced throughout: a view with stride 2.
        (lambda a: a.reshape(3, 4)[:, ::2], (6,), True, (2,)),
        # A new length-1 axis takes the stride of the axis after it (or the last one found).
        (lambda a: a.reshape(3, 4)[:, ::2], (3, 1, 2, 1), True, (4, 4, 2, 2)),
        # Reversed rows of contiguous rows merge with the column axis only per row.
        (lambda a: a.reshape(3, 4)[::-1], (3, 2, 2), True, (-4, 2, 1)),
    ],
)
def test_nocopy_reshape_examples(view, newshape, is_view, strides):
    ours, theirs = view(NDArray(list(range(12)))), view(np.arange(12, dtype=np.int64))
    reshaped, expected = ours.reshape(newshape), theirs.reshape(newshape)
    assert np.shares_memory(expected, theirs) == is_view
    assert (reshaped.buffer is ours.buffer) == is_view
    assert reshaped.strides == strides == tuple(s // ITEMSIZE for s in expected.strides)
    assert reshaped.tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 12), st.data())
def test_slices_normalise_like_numpy(length, data):
    bound = st.none() | st.integers(-3 * length - 5, 3 * length + 5)
    key = slice(data.draw(bound), data.draw(bound), data.draw(st.none() | st.integers(-5, 5)))
    theirs, ours = np.arange(length, dtype=np.int64), from_list(list(range(length)))
    if not same_error(lambda: ours[key], lambda: theirs[key]):
        assert_like_numpy(ours[key], theirs[key], theirs)


def test_as_strided_is_a_raw_view_like_numpys():
    theirs = np.arange(10, dtype=np.int64)
    ours = NDArray(list(range(10)))
    windows = ours.as_strided((4, 3), (2, 1), offset=1)
    expected = np.lib.stride_tricks.as_strided(theirs[1:], (4, 3), (2 * ITEMSIZE, ITEMSIZE))
    assert windows.buffer is ours.buffer
    assert_like_numpy(windows, expected, theirs)
    assert ours[2:].as_strided().offset == 2
    assert ours.as_strided((3,), (-3,), offset=9).tolist() == [9, 6, 3]
    with pytest.raises(ValueError, match="incompatible with shape"):
        ours.as_strided((4, 3), (3, 1))
    with pytest.raises(ValueError, match="incompatible with shape"):
        ours.as_strided((2,), (-1,), offset=0)
    assert ours.as_strided((0, 5), (100, 100), offset=50).tolist() == []  # addresses nothing


def test_views_share_the_buffer_and_see_its_changes():
    a = NDArray(list(range(6)), (2, 3))
    column = a[:, 1]
    a.buffer[4] = 40
    assert column.tolist() == [1, 40]
    assert a.T.buffer is a.buffer and a.broadcast_to((5, 2, 3)).buffer is a.buffer


def test_zero_dimensional_arrays():
    scalar = from_list(7)
    assert (scalar.shape, scalar.strides, scalar.ndim, scalar.size) == ((), (), 0, 1)
    assert scalar.tolist() == 7 and scalar[()] == 7 and scalar.sum() == 7
    assert scalar[...].shape == () and scalar[None].shape == (1,)
    assert scalar + 1 == 8 and scalar * scalar == 49  # 0-d results are elements, like numpy's
    assert NDArray([1, 2, 3])[1:2].reshape(()).tolist() == 2
    with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
        len(scalar)
    with pytest.raises(TypeError, match="iteration over a 0-d array"):
        iter(scalar)


def test_from_list_matches_numpy_array():
    for nested in (
        [[1, 2, 3], [4, 5, 6]],
        [[[1], [2]], [[3], [4]]],
        [],
        [[], []],
        [[[]]],
        3,
        [(1, 2), (3, 4)],
    ):
        ours, theirs = from_list(nested), np.array(nested, dtype=np.int64)
        assert ours.shape == theirs.shape and ours.tolist() == theirs.tolist()
        assert ours.strides == tuple(s // ITEMSIZE for s in theirs.strides)


nested_lists = st.recursive(
    st.integers(0, 9), lambda kids: st.lists(kids, max_size=3), max_leaves=12
)


@settings(max_examples=300, deadline=None)
@given(nested_lists)
def test_random_nested_lists_like_numpy_array(nested):
    """Same shape, strides and values as np.array, or the same error for ragged nesting."""
    if not same_error(lambda: from_list(nested), lambda: np.array(nested, dtype=np.int64)):
        ours, theirs = from_list(nested), np.array(nested, dtype=np.int64)
        assert ours.shape == theirs.shape and ours.tolist() == theirs.tolist()
        assert ours.strides == tuple(s // ITEMSIZE for s in theirs.strides)


@pytest.mark.parametrize(
    "ragged",
    [
        [[1, 2], [3]],
        [[1, 2], 3],
        [1, [2]],
        [[[1], [2]], [[1], 2]],
        [[1, 2], []],
        [[[1, 2], [3, 4]], [[5, 6], [7]]],
        [[], [[]]],
    ],
)
def test_ragged_lists_raise_numpys_error(ragged):
    assert same_error(lambda: from_list(ragged), lambda: np.array(ragged))


# --- arithmetic and sums -----------------------------------------------------------------


def strided_pair(data, shape, elements):
    """Equal arrays (ours, numpy's) of `shape`, laid out with permuted axes and some reversed."""
    size = math.prod(shape)
    values = data.draw(st.lists(elements, min_size=size, max_size=size))
    order = data.draw(st.permutations(range(len(shape))))
    stored = tuple(shape[axis] for axis in order)
    back = tuple(order.index(axis) for axis in range(len(shape)))
    flips = (*(slice(None, None, -1 if data.draw(st.booleans()) else 1) for _ in shape), ...)
    ours = NDArray(list(values), stored).permute(back)[flips]
    theirs = np.array(values).reshape(stored).transpose(back)[flips]
    return ours, theirs


small_ints = st.integers(-1000, 1000)
finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
OPS = [operator.add, operator.sub, operator.mul]


@settings(max_examples=200, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4), st.data())
def test_elementwise_ops_broadcast_like_numpy(shapes, data):
    elements = data.draw(st.sampled_from([small_ints, finite_floats]))
    left, left_np = strided_pair(data, shapes.input_shapes[0], elements)
    right, right_np = strided_pair(data, shapes.input_shapes[1], elements)
    for op in OPS:
        result = op(left, right)
        assert as_list(result) == as_list(op(left_np, right_np))
        if isinstance(result, NDArray):
            assert result.shape == shapes.result_shape and result.is_compact()
    if 0 not in right_np:
        quotient = as_list(left / right)
        with np.errstate(over="ignore"):  # both give inf for a huge / a tiny float
            expected = as_list(left_np / right_np)
        assert np.allclose(quotient, expected, rtol=1e-12, atol=0)


@settings(max_examples=100, deadline=None)
@given(st.lists(axis_lengths, max_size=3), small_ints.filter(bool), st.data())
def test_scalar_and_reflected_ops_like_numpy(shape, scalar, data):
    array, array_np = strided_pair(data, tuple(shape), small_ints)
    for op in OPS:
        assert as_list(op(array, scalar)) == as_list(op(array_np, scalar))
        assert as_list(op(scalar, array)) == as_list(op(scalar, array_np))
    assert np.allclose(as_list(array / scalar), as_list(array_np / scalar), rtol=1e-12, atol=0)
    if 0 not in array_np:
        assert np.allclose(as_list(scalar / array), as_list(scalar / array_np), rtol=1e-12, atol=0)


def test_ops_with_lists_and_division_by_zero():
    a = from_list([[1, 2], [3, 4]])
    assert (a - [1, 2]).tolist() == [[0, 0], [2, 2]]
    assert ([10, 20] - a).tolist() == [[9, 18], [7, 16]]
    assert (a / 2).tolist() == [[0.5, 1.0], [1.5, 2.0]]
    with pytest.raises(ZeroDivisionError):
        a / [1, 0]
    assert a.__add__("x") is NotImplemented
    with pytest.raises(TypeError, match="in-place operators are not supported"):
        a += 1


@settings(max_examples=150, deadline=None)
@given(st.lists(axis_lengths, max_size=4), st.data())
def test_sum_over_every_axis_like_numpy(shape, data):
    array, array_np = strided_pair(data, tuple(shape), small_ints)
    ndim = len(shape)
    axes = [
        None,
        *range(-ndim, ndim),
        tuple(data.draw(st.sets(st.integers(0, ndim - 1)))) if ndim else (),
    ]
    for axis in axes:
        for keepdims in (False, True):
            ours = array.sum(axis=axis, keepdims=keepdims)
            theirs = array_np.sum(axis=axis, keepdims=keepdims)
            assert as_list(ours) == as_list(theirs)
            assert np.shape(theirs) == (ours.shape if isinstance(ours, NDArray) else ())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.data())
def test_float_sums_agree_with_numpy(shape, data):
    array, array_np = strided_pair(data, tuple(shape), finite_floats)
    for axis in range(len(shape)):
        scale = np.abs(array_np).sum(axis=axis)
        difference = np.abs(np.array(as_list(array.sum(axis=axis))) - array_np.sum(axis=axis))
        assert np.all(difference <= 1e-12 * scale)


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "dims"),
    [
        (6, (4,)),
        (6, (-1, 4)),
        (6, (-1, -1)),
        (6, (2, 3, -1, 0)),
        (0, (0, -1)),
        (6, ()),
        (6, (7, 1)),
        (1, (2, -1)),
    ],
)
def test_invalid_reshapes_raise_numpys_errors(size, dims):
    theirs, ours = np.arange(size), NDArray(list(range(size)))
    assert same_error(lambda: ours.reshape(dims), lambda: theirs.reshape(dims))


def test_reshape_argument_errors():
    a = NDArray(list(range(6)))
    for args in [(2.0, 3), ((2, 3), 4), ()]:
        assert same_error(
            lambda args=args: a.reshape(*args), lambda args=args: np.arange(6).reshape(*args)
        )


@pytest.mark.parametrize(
    ("shape", "target"),
    [
        ((2, 3), (4,)),
        ((2, 3), (3, 3)),
        ((2, 3), (2, 0)),
        ((2, 3), (-1, 3)),
        ((2, 3), ()),
        ((3,), (2, 0)),
        ((1, 3), (2, 2, 4)),
    ],
)
def test_invalid_broadcasts_raise_numpys_errors(shape, target):
    theirs, ours = np.zeros(shape), NDArray([0] * math.prod(shape), shape)
    assert same_error(lambda: ours.broadcast_to(target), lambda: np.broadcast_to(theirs, target))


@pytest.mark.parametrize(("left", "right"), [((2, 3), (4,)), ((2, 3), (0,)), ((5, 1, 2), (3, 3))])
def test_incompatible_operands_raise_numpys_error(left, right):
    a, b = NDArray([1] * math.prod(left), left), NDArray([1] * math.prod(right), right)
    assert same_error(lambda: a + b, lambda: np.ones(left) + np.ones(right))


@pytest.mark.parametrize(
    "key",
    [
        5,
        -4,
        (1, 5),
        (0, -6),
        (1, 2, 3),
        (..., ...),
        (slice(None, None, 0),),
        (slice(1.5, None),),
        (None, 0, None, 0, 0),
    ],
)
def test_bad_indices_raise_numpys_errors(key):
    theirs, ours = np.arange(15).reshape(3, 5), NDArray(list(range(15)), (3, 5))
    assert same_error(lambda: ours[key], lambda: theirs[key])


@pytest.mark.parametrize("key", [1.0, "a", [0, 1], True, (0, 1.5), NDArray([0])])
def test_unsupported_index_types_raise_a_type_and_index_error(key):
    a = NDArray(list(range(6)), (2, 3))
    with pytest.raises(IndexTypeError, match="only integers, slices") as raised:
        a[key]
    assert isinstance(raised.value, TypeError) and isinstance(raised.value, IndexError)


@pytest.mark.parametrize(
    ("ours_call", "theirs_call"),
    [
        (lambda a: a.sum(axis=2), lambda t: t.sum(axis=2)),
        (lambda a: a.sum(axis=-3), lambda t: t.sum(axis=-3)),
        (lambda a: a.sum(axis=(0, 0)), lambda t: t.sum(axis=(0, 0))),
        (lambda a: a.sum(axis=1.0), lambda t: t.sum(axis=1.0)),
        (lambda a: a.permute(0, 2), lambda t: t.transpose(0, 2)),
        (lambda a: a.permute(1, -1), lambda t: t.transpose(1, -1)),
        (lambda a: a.permute(0), lambda t: t.transpose(0)),
        (lambda a: a.permute(0, 1, 2), lambda t: t.transpose(0, 1, 2)),
    ],
)
def test_axis_errors_are_numpys(ours_call, theirs_call):
    a, t = NDArray(list(range(6)), (2, 3)), np.arange(6).reshape(2, 3)
    assert same_error(lambda: ours_call(a), lambda: theirs_call(t))
    assert issubclass(AxisError, ValueError) and issubclass(AxisError, IndexError)


def test_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="buffer must be a list"):
        NDArray((1, 2, 3))
    with pytest.raises(ValueError, match="negative dimensions are not allowed"):
        NDArray([1, 2], (-2,))
    with pytest.raises(ValueError, match="strides, if given, must be the same length as shape"):
        NDArray([1, 2], (2,), (1, 1))
    with pytest.raises(ValueError, match="incompatible with shape"):
        NDArray([1, 2, 3], (2, 2))


# --- the rest of the protocol ----------------------------------------------------------------


def test_len_iter_repr_and_equality():
    a = NDArray(list(range(6)), (2, 3))
    assert len(a) == 2 and [row.tolist() for row in a] == [[0, 1, 2], [3, 4, 5]]
    assert list(a[1]) == [3, 4, 5]
    assert repr(a[:, ::-2]) == "NDArray([[2, 0], [5, 3]], shape=(2, 2), strides=(3, -2), offset=2)"
    assert from_list([[0, 3], [1, 4], [2, 5]]) == a.T
    assert a != a.T and a != a.tolist() and (a == 3) is False
    assert a == a.reshape(2, 3).compact()
    with pytest.raises(TypeError):
        hash(a)
