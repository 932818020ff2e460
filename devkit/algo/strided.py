"""N-dimensional arrays as strided views over a flat Python list, with numpy's view rules.

An `NDArray` is a `buffer` (a Python list shared by all its views), a `shape`, `strides` counted
in *elements* (numpy counts bytes; divide numpy's by the itemsize to compare) and an `offset`:
the element at index ``(i0, i1, ...)`` is ``buffer[offset + i0*strides[0] + i1*strides[1] + ...]``.

Views and copies follow numpy exactly, so shapes, strides and offsets equal numpy's:

- indexing with ints, slices, ``...`` and ``None`` is a view (slices normalised like
  ``PySlice_AdjustIndices``, an empty slice points at its axis' start, as in numpy's
  ``get_view_from_index``); an index made only of ints gives the element itself;
- `reshape` is a view when numpy's ``_attempt_nocopy_reshape`` (``shape.c``, C order) finds
  strides for the new shape, and a compact copy otherwise;
- `permute`/`transpose`, `broadcast_to` (stride 0 on every broadcast or length-1 axis, as numpy's
  nditer gives) and `as_strided` are views; `compact` copies only what is not C-contiguous.

Results of arithmetic and `sum` are new C-ordered arrays (`is_compact()`), whatever the
operands' layout; numpy may keep a transposed operand's order (``a.T + a.T`` has strides (1, 3)
there, (2, 1) here): their values agree, their strides may not. Elements are arbitrary Python
objects and arithmetic is Python's: ints stay exact (numpy's int64 would overflow), ``/`` is
true division (int / int gives a float, as numpy's float64 does), division by zero raises
`ZeroDivisionError` where numpy gives inf/nan and a warning, and `sum` adds in order where
numpy adds pairwise, so float sums can differ in the last bits.
Errors are the ones numpy raises, with numpy's messages (`AxisError` subclasses `ValueError` and
`IndexError`, as numpy's does). Not supported: item assignment and in-place operators (``+=``
raises `TypeError` rather than silently rebinding where numpy writes through a view), fancy and
boolean indexing, dtypes, Fortran order, elementwise comparisons (``==`` compares whole arrays).
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["AxisError", "IndexTypeError", "NDArray", "compact_strides", "from_list"]


class AxisError(ValueError, IndexError):
    """An axis outside ``range(-ndim, ndim)``; a `ValueError` and an `IndexError`, like numpy's."""


class IndexTypeError(TypeError, IndexError):
    """An index that is not an int, slice, ``...`` or ``None``.

    A `TypeError`, as Python's sequences raise for such indices, and an `IndexError`, the class
    numpy raises, so that either ``except`` clause catches it.
    """


_INVALID_INDEX = (
    "only integers, slices (`:`), ellipsis (`...`) and numpy.newaxis (`None`) are valid "
    "indices (fancy and boolean indexing are not supported); got {!r}"
)


def compact_strides(shape: Iterable[int]) -> tuple[int, ...]:
    """The C-contiguous strides, in elements, of an array of `shape`.

    As numpy's ``_array_fill_strides``: a stride is the product of the later axes' lengths,
    where an axis of length 0 counts as 1. (Arrays this module allocates with no elements get
    all-zero strides instead, as numpy 2's allocator gives them.) Complexity: O(ndim).

    >>> compact_strides((2, 3, 4))
    (12, 4, 1)
    >>> compact_strides((2, 0, 3)), compact_strides(())
    ((3, 3, 1), ())
    """
    strides = []
    step = 1
    for length in reversed(tuple(shape)):
        strides.append(step)
        if length:
            step *= length
    return tuple(reversed(strides))


def from_list(nested: Any) -> NDArray:
    """A new compact `NDArray` holding the leaves of nested lists/tuples (see `NDArray.from_list`).

    Complexity: O(number of lists and leaves).

    >>> from_list([[1, 2, 3], [4, 5, 6]]).shape
    (2, 3)
    """
    return NDArray.from_list(nested)


def _shape_text(shape: tuple[int, ...]) -> str:
    """A shape as numpy's broadcasting errors print it: ``(2,3)``, ``(4,)``, ``()``."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ",".join(str(length) for length in shape) + ")"


def _requested_shape_text(dims: tuple[int, ...]) -> str:
    """A requested reshape as numpy's ``convert_shape_to_string`` prints it (-1 → ``newaxis``)."""
    first = 0
    while first < len(dims) and dims[first] < 0:
        first += 1
    if first == len(dims):
        return "()"
    parts = [str(dims[first])] + ["newaxis" if d < 0 else str(d) for d in dims[first + 1 :]]
    return "(" + ",".join(parts) + (",)" if len(dims) == 1 else ")")


def _normalize_axis(axis: Any, ndim: int) -> int:
    """`axis` as an index in ``range(ndim)``; `AxisError` like numpy's when out of range."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim if ndim else axis


def _positions(shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> list[int]:
    """The buffer positions of all elements of a strided view, in C (row-major) order."""
    positions = [offset]
    for length, stride in zip(shape, strides, strict=True):
        steps = [k * stride for k in range(length)]
        positions = [p + d for p in positions for d in steps]
    return positions


def _product(values: Iterable[int]) -> int:
    result = 1
    for value in values:
        result *= value
    return result


def _broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape numpy broadcasts `shapes` to; `ValueError` with numpy's message otherwise."""
    ndim = max(len(shape) for shape in shapes)
    result = []
    for axis in range(-ndim, 0):
        lengths = {shape[axis] for shape in shapes if len(shape) >= -axis} - {1}
        if len(lengths) > 1:
            listed = "".join(_shape_text(shape) + " " for shape in shapes)
            raise ValueError(f"operands could not be broadcast together with shapes {listed}")
        result.append(lengths.pop() if lengths else 1)
    return tuple(result)


def _nocopy_strides(
    shape: tuple[int, ...], strides: tuple[int, ...], newshape: tuple[int, ...]
) -> tuple[int, ...] | None:
    """Strides that view `shape`/`strides` as `newshape` in C order, or None when a copy is needed.

    numpy's ``_attempt_nocopy_reshape`` (``numpy/_core/src/multiarray/shape.c``), C order, line
    for line: length-1 axes are dropped from the old shape; then the shortest runs of old and new
    axes with equal products are matched, a run of old axes must be contiguous to be merged, and
    the new run's strides are derived from the old run's last stride. New trailing length-1 axes
    get the last stride found. Requires a non-empty array and equal sizes.
    """
    olddims = [n for n in shape if n != 1]
    oldstrides = [s for n, s in zip(shape, strides, strict=True) if n != 1]
    newstrides = [0] * len(newshape)
    oi, oj, ni, nj = 0, 1, 0, 1
    while ni < len(newshape) and oi < len(olddims):
        new_product, old_product = newshape[ni], olddims[oi]
        while new_product != old_product:
            if new_product < old_product:
                new_product *= newshape[nj]
                nj += 1
            else:
                old_product *= olddims[oj]
                oj += 1
        for ok in range(oi, oj - 1):
            if oldstrides[ok] != olddims[ok + 1] * oldstrides[ok + 1]:
                return None
        newstrides[nj - 1] = oldstrides[oj - 1]
        for nk in range(nj - 1, ni, -1):
            newstrides[nk - 1] = newstrides[nk] * newshape[nk]
        ni, nj = nj, nj + 1
        oi, oj = oj, oj + 1
    last_stride = newstrides[ni - 1] if ni >= 1 else 1
    for nk in range(ni, len(newshape)):
        newstrides[nk] = last_stride
    return tuple(newstrides)


def _in_place(self: NDArray, other: Any) -> NDArray:
    raise TypeError(
        "in-place operators are not supported (NDArray has no item assignment); "
        "write a = a + b, which makes a new array"
    )


class NDArray:
    """A strided n-dimensional view over a flat Python list.

    ``NDArray(buffer, shape=None, strides=None, offset=0)`` views `buffer` (a list, not copied)
    with `shape` (default ``(len(buffer),)``), `strides` in elements (default
    `compact_strides(shape)`) and `offset`. Every element position must lie inside the buffer
    (`ValueError` otherwise; an array with no elements addresses nothing and is not checked).
    Complexity: O(ndim).

    >>> a = NDArray(list(range(6)), (2, 3))
    >>> a
    NDArray([[0, 1, 2], [3, 4, 5]], shape=(2, 3), strides=(3, 1), offset=0)
    >>> a.T.tolist(), a[1, ::-1].tolist(), a.sum(axis=0).tolist()
    ([[0, 3], [1, 4], [2, 5]], [5, 4, 3], [3, 5, 7])
    """

    __slots__ = ("_buffer", "_offset", "_shape", "_strides")

    def __init__(
        self,
        buffer: list,
        shape: Iterable[int] | None = None,
        strides: Iterable[int] | None = None,
        offset: int = 0,
    ) -> None:
        if not isinstance(buffer, list):
            raise TypeError(f"buffer must be a list, not {type(buffer).__name__}")
        shape = (len(buffer),) if shape is None else tuple(operator.index(n) for n in shape)
        if any(n < 0 for n in shape):
            raise ValueError("negative dimensions are not allowed")
        if strides is None:
            strides = compact_strides(shape)
        strides = tuple(operator.index(s) for s in strides)
        if len(strides) != len(shape):
            raise ValueError("strides, if given, must be the same length as shape")
        offset = operator.index(offset)
        if 0 not in shape:
            steps = [(n - 1) * s for n, s in zip(shape, strides, strict=True)]
            low = offset + sum(step for step in steps if step < 0)
            high = offset + sum(step for step in steps if step > 0)
            if low < 0 or high >= len(buffer):
                raise ValueError(
                    "strides is incompatible with shape of requested array and size of buffer: "
                    f"it reaches positions {low}..{high} of a buffer of {len(buffer)}"
                )
        self._buffer, self._shape, self._strides, self._offset = buffer, shape, strides, offset

    @classmethod
    def _view(
        cls, buffer: list, shape: tuple[int, ...], strides: tuple[int, ...], offset: int
    ) -> NDArray:
        """An array without the checks of `__init__`, for views derived from a valid array."""
        array = object.__new__(cls)
        array._buffer, array._shape, array._strides, array._offset = buffer, shape, strides, offset
        return array

    @classmethod
    def _fresh(cls, values: list, shape: tuple[int, ...]) -> NDArray:
        """A new array owning `values` in C order; all strides 0 when empty, as numpy 2 gives."""
        strides = compact_strides(shape) if values else (0,) * len(shape)
        return cls._view(values, shape, strides, 0)

    @classmethod
    def from_list(cls, nested: Any) -> NDArray:
        """A new compact array holding the leaves of nested lists/tuples, like ``numpy.array``.

        Lists and tuples are axes; anything else (including str) is an element, and a lone
        element gives a 0-d array. Ragged nesting raises numpy's `ValueError` ("inhomogeneous
        shape"). Complexity: O(number of lists and leaves).

        >>> NDArray.from_list([[1, 2], [3, 4]]).strides
        (2, 1)
        >>> NDArray.from_list(7).shape, NDArray.from_list([[], []]).shape
        ((), (2, 0))
        >>> NDArray.from_list([[1, 2], [3]])
        Traceback (most recent call last):
        ...
        ValueError: setting an array element with a sequence. The requested array has an \
inhomogeneous shape after 1 dimensions. The detected shape was (2,) + inhomogeneous part.
        """
        items = [nested]
        shape: list[int] = []
        while True:
            nested_flags = {isinstance(item, (list, tuple)) for item in items}
            if nested_flags == {True} and len({len(item) for item in items}) == 1:
                shape.append(len(items[0]))
                items = [leaf for item in items for leaf in item]
            elif nested_flags <= {False}:
                return cls._fresh(items, tuple(shape))
            else:
                raise ValueError(
                    "setting an array element with a sequence. The requested array has an "
                    f"inhomogeneous shape after {len(shape)} dimensions. The detected shape was "
                    f"{tuple(shape)} + inhomogeneous part."
                )

    @property
    def buffer(self) -> list:
        """The flat list this array views (shared with its views; a copy gets a new one)."""
        return self._buffer

    @property
    def shape(self) -> tuple[int, ...]:
        """The length of each axis.

        >>> NDArray(list(range(6)), (3, 2)).shape
        (3, 2)
        """
        return self._shape

    @property
    def strides(self) -> tuple[int, ...]:
        """How many buffer elements one step along each axis moves.

        >>> NDArray(list(range(6)), (3, 2))[::-2].strides
        (-4, 1)
        """
        return self._strides

    @property
    def offset(self) -> int:
        """The buffer position of the first element (index ``(0, 0, ...)``).

        >>> NDArray(list(range(6)), (3, 2))[::-2].offset
        4
        """
        return self._offset

    @property
    def ndim(self) -> int:
        """The number of axes.

        >>> NDArray(list(range(6)), (1, 3, 2)).ndim
        3
        """
        return len(self._shape)

    @property
    def size(self) -> int:
        """The number of elements. Complexity: O(ndim).

        >>> NDArray(list(range(6)), (3, 2)).size
        6
        """
        return _product(self._shape)

    @property
    def T(self) -> NDArray:
        """`transpose()`: the axes reversed, as a view. Complexity: O(ndim).

        >>> NDArray(list(range(6)), (3, 2)).T.shape
        (2, 3)
        """
        return self.transpose()

    def is_compact(self) -> bool:
        """Whether the elements lie in C order with no gaps: numpy's ``C_CONTIGUOUS`` flag.

        Axes of length 1 are ignored and an array with no elements is always compact; the
        offset may be anything. Complexity: O(ndim).

        >>> a = NDArray(list(range(6)), (2, 3))
        >>> a.is_compact(), a.T.is_compact(), a[1:].is_compact(), a[:, :2].is_compact()
        (True, False, True, False)
        """
        if 0 in self._shape:
            return True
        expected = 1
        for length, stride in zip(reversed(self._shape), reversed(self._strides), strict=True):
            if length != 1:
                if stride != expected:
                    return False
                expected *= length
        return True

    def compact(self) -> NDArray:
        """`self` when already compact (`is_compact`), else a C-ordered copy with a new buffer.

        Like ``numpy.ascontiguousarray``: callers may not assume a new buffer. Complexity: O(1)
        when compact, O(size) for the copy.

        >>> a = NDArray(list(range(6)), (2, 3))
        >>> a.compact() is a
        True
        >>> t = a.T.compact()
        >>> t.strides, t.buffer
        ((2, 1), [0, 3, 1, 4, 2, 5])
        """
        if self.is_compact():
            return self
        return NDArray._fresh(self._values(), self._shape)

    def reshape(self, *shape: Any) -> NDArray:
        """The same elements in C order with `shape`: a view when numpy's would be, else a copy.

        `shape` is given as ints or one tuple/list; one negative length (-1) stands for what
        the others leave. The result views the same buffer exactly when numpy's reshape makes
        no copy: always for compact arrays and for the same shape, otherwise when
        ``_attempt_nocopy_reshape`` finds strides. Complexity: O(ndim) for a view, O(size) for
        a copy.

        >>> a = NDArray(list(range(12)), (3, 4))
        >>> a.reshape(2, -1, 2).strides
        (6, 2, 1)
        >>> a[:, :2].reshape(6).buffer is a.buffer, a[:, ::2].reshape(3, 2, 1).strides
        (False, (4, 2, 2))
        >>> a.reshape(5)
        Traceback (most recent call last):
        ...
        ValueError: cannot reshape array of size 12 into shape (5,)
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        elif not shape:
            raise TypeError("reshape() takes exactly 1 argument (0 given)")
        dims = [operator.index(length) for length in shape]
        if tuple(dims) == self._shape:
            return NDArray._view(self._buffer, self._shape, self._strides, self._offset)
        size = self.size
        unknown = None
        known = 1
        for axis, length in enumerate(dims):
            if length < 0:
                if unknown is not None:
                    raise ValueError("can only specify one unknown dimension")
                unknown = axis
            else:
                known *= length
        if unknown is not None and known and size % known == 0:
            dims[unknown] = size // known
        elif unknown is not None or known != size:
            raise ValueError(
                f"cannot reshape array of size {size} into shape "
                f"{_requested_shape_text(tuple(dims))}"
            )
        newshape = tuple(dims)
        if self.is_compact():
            return NDArray._view(self._buffer, newshape, compact_strides(newshape), self._offset)
        strides = _nocopy_strides(self._shape, self._strides, newshape)
        if strides is not None:
            return NDArray._view(self._buffer, newshape, strides, self._offset)
        return NDArray._view(self._values(), newshape, compact_strides(newshape), 0)

    def permute(self, *axes: Any) -> NDArray:
        """A view with axis ``axes[i]`` of `self` as axis ``i``; `axes` as ints or one tuple.

        Negative axes count from the end. numpy's errors: "axes don't match array" for the
        wrong number, `AxisError` out of range, "repeated axis in transpose". Complexity: O(ndim).

        >>> a = NDArray(list(range(24)), (2, 3, 4))
        >>> a.permute(2, 0, 1).shape, a.permute((2, 0, -2)).strides
        ((4, 2, 3), (1, 12, 4))
        """
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) != self.ndim:
            raise ValueError("axes don't match array")
        order: list[int] = []
        for axis in axes:
            axis = _normalize_axis(axis, self.ndim)
            if axis in order:
                raise ValueError("repeated axis in transpose")
            order.append(axis)
        return NDArray._view(
            self._buffer,
            tuple(self._shape[a] for a in order),
            tuple(self._strides[a] for a in order),
            self._offset,
        )

    def transpose(self, *axes: Any) -> NDArray:
        """`permute(*axes)`, or the axes reversed when none (or None) are given. A view.

        Complexity: O(ndim).

        >>> NDArray(list(range(24)), (2, 3, 4)).transpose().shape
        (4, 3, 2)
        """
        if not axes or axes == (None,):
            axes = tuple(reversed(range(self.ndim)))
        return self.permute(*axes)

    def broadcast_to(self, shape: Any) -> NDArray:
        """A read view of `self` repeated to `shape` by numpy's broadcasting rules.

        Axes are matched from the end; an axis of length 1 stretches to any length and new
        leading axes are added. Broadcast axes (and, as numpy's nditer does, every axis of
        length 1) get stride 0. Errors are numpy's `ValueError`s. Complexity: O(ndim).

        >>> row = NDArray([1, 2, 3])
        >>> b = row.broadcast_to((2, 3))
        >>> b.strides, b.tolist()
        ((0, 1), [[1, 2, 3], [1, 2, 3]])
        >>> row.broadcast_to((3, 2))
        Traceback (most recent call last):
        ...
        ValueError: operands could not be broadcast together with remapped shapes \
[original->remapped]: (3,)  and requested shape (3,2)
        """
        shape = tuple(shape) if isinstance(shape, Iterable) else (shape,)
        shape = tuple(operator.index(length) for length in shape)
        if not shape and self._shape:
            raise ValueError("cannot broadcast a non-scalar to a scalar array")
        if any(length < 0 for length in shape):
            raise ValueError("all elements of broadcast shape must be non-negative")
        extra = len(shape) - self.ndim
        if extra < 0:
            raise ValueError("input operand has more dimensions than allowed by the axis remapping")
        strides = [0] * extra
        for length, stride, target in zip(self._shape, self._strides, shape[extra:], strict=True):
            if length == 1:
                strides.append(0)
            elif length == target:
                strides.append(stride)
            else:
                raise ValueError(
                    "operands could not be broadcast together with remapped shapes "
                    f"[original->remapped]: {_shape_text(self._shape)}  and requested shape "
                    f"{_shape_text(shape)}"
                )
        return NDArray._view(self._buffer, shape, tuple(strides), self._offset)

    def as_strided(
        self,
        shape: Iterable[int] | None = None,
        strides: Iterable[int] | None = None,
        offset: int | None = None,
    ) -> NDArray:
        """A raw view of the same buffer, like ``numpy.lib.stride_tricks.as_strided`` in elements.

        `shape` and `offset` (an absolute buffer position) default to this array's; `strides`
        to this array's when `shape` is not given, else to `compact_strides(shape)`. Unlike
        numpy's, positions outside the buffer are refused (`ValueError`). Complexity: O(ndim).

        >>> a = NDArray(list(range(5)))
        >>> a.as_strided((3, 3), (1, 1)).tolist()
        [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
        """
        return NDArray(
            self._buffer,
            self._shape if shape is None else shape,
            self._strides if strides is None and shape is None else strides,
            self._offset if offset is None else offset,
        )

    def __getitem__(self, key: Any) -> Any:
        """A view selected by ints, slices, ``...`` and ``None`` (a new axis of length 1).

        As numpy's basic indexing: an int removes its axis (negative counts from the end), a
        slice keeps it (normalised like Python's, an empty slice pointing at the axis' start),
        axes not indexed are kept whole. An index made only of ints, one per axis, gives the
        element itself. Errors: `IndexError` out of range or too many indices, `IndexTypeError`
        for other index types. Complexity: O(ndim + len(key)).

        >>> a = NDArray(list(range(24)), (2, 3, 4))
        >>> a[1, -1, 2], a[..., ::-2].strides, a[None, :, 1].shape
        (22, (12, 4, -2), (1, 2, 4))
        >>> a[2]
        Traceback (most recent call last):
        ...
        IndexError: index 2 is out of bounds for axis 0 with size 2
        """
        key = key if isinstance(key, tuple) else (key,)
        kinds = []
        for item in key:
            if item is None or item is Ellipsis or isinstance(item, slice):
                kinds.append(item)
            elif isinstance(item, bool):
                raise IndexTypeError(_INVALID_INDEX.format(item))
            else:
                try:
                    kinds.append(operator.index(item))
                except TypeError:
                    raise IndexTypeError(_INVALID_INDEX.format(item)) from None
        if kinds.count(Ellipsis) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        indexed = sum(1 for item in kinds if item is not None and item is not Ellipsis)
        if indexed > self.ndim:
            raise IndexError(
                f"too many indices for array: array is {self.ndim}-dimensional, "
                f"but {indexed} were indexed"
            )
        if Ellipsis not in kinds:
            if all(isinstance(item, int) for item in kinds) and indexed == self.ndim:
                return self._element(kinds)
            kinds.append(Ellipsis)
        shape: list[int] = []
        strides: list[int] = []
        offset = self._offset
        axis = 0
        for item in kinds:
            if item is None:
                shape.append(1)
                strides.append(0)
            elif item is Ellipsis:
                for _ in range(self.ndim - indexed):
                    shape.append(self._shape[axis])
                    strides.append(self._strides[axis])
                    axis += 1
            elif isinstance(item, slice):
                start, stop, step = item.indices(self._shape[axis])
                count = len(range(start, stop, step))
                if count == 0:
                    start, step = 0, 1
                offset += start * self._strides[axis]
                shape.append(count)
                strides.append(step * self._strides[axis])
                axis += 1
            else:
                offset += self._checked_index(item, axis) * self._strides[axis]
                axis += 1
        return NDArray._view(self._buffer, tuple(shape), tuple(strides), offset)

    def _checked_index(self, index: int, axis: int) -> int:
        length = self._shape[axis]
        if not -length <= index < length:
            raise IndexError(f"index {index} is out of bounds for axis {axis} with size {length}")
        return index % length

    def _element(self, indices: list[int]) -> Any:
        position = self._offset
        for axis, index in enumerate(indices):
            position += self._checked_index(index, axis) * self._strides[axis]
        return self._buffer[position]

    def _values(self) -> list:
        """The elements in C order, as a new list."""
        buffer = self._buffer
        return [buffer[p] for p in _positions(self._shape, self._strides, self._offset)]

    def tolist(self) -> Any:
        """The elements as nested lists (the element itself for a 0-d array). Complexity: O(size).

        >>> NDArray(list(range(6)), (2, 3))[:, 1:].tolist()
        [[1, 2], [4, 5]]
        """
        buffer, shape, strides = self._buffer, self._shape, self._strides
        last = len(shape) - 1

        def build(axis: int, position: int) -> list:
            stride = strides[axis]
            if axis == last:
                return [buffer[position + k * stride] for k in range(shape[axis])]
            return [build(axis + 1, position + k * stride) for k in range(shape[axis])]

        return build(0, self._offset) if shape else buffer[self._offset]

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Sums over `axis` (an int, a tuple of ints, or None for all), with Python's ``+``.

        Negative axes count from the end. The result is a new array without the summed axes
        (kept as length 1 when `keepdims`), or the Python number when no axis is left. An empty
        sum is 0. Errors: numpy's `AxisError`, "duplicate value in 'axis'". Complexity: O(size).

        >>> a = NDArray(list(range(6)), (2, 3))
        >>> a.sum(), a.sum(axis=0).tolist(), a.sum(axis=-1, keepdims=True).tolist()
        (15, [3, 5, 7], [[3], [12]])
        """
        if axis is None:
            axes = list(range(self.ndim))
        else:
            given = axis if isinstance(axis, tuple) else (axis,)
            axes = [_normalize_axis(a, self.ndim) for a in given]
            if len(set(axes)) != len(axes):
                raise ValueError("duplicate value in 'axis'")
            axes.sort()
        kept = [a for a in range(self.ndim) if a not in axes]
        outer = _positions(
            tuple(self._shape[a] for a in kept), tuple(self._strides[a] for a in kept), self._offset
        )
        inner = _positions(
            tuple(self._shape[a] for a in axes), tuple(self._strides[a] for a in axes), 0
        )
        buffer = self._buffer
        values = [sum(buffer[p + q] for q in inner) for p in outer]
        if keepdims:
            shape = tuple(1 if a in axes else n for a, n in enumerate(self._shape))
        else:
            shape = tuple(self._shape[a] for a in kept)
        return NDArray._fresh(values, shape) if shape else values[0]

    def _binary(self, other: Any, op: Callable[[Any, Any], Any], reflected: bool) -> Any:
        """``op(self, other)`` elementwise with broadcasting (``op(other, self)`` if reflected)."""
        if isinstance(other, (list, tuple)):
            other = NDArray.from_list(other)
        if isinstance(other, numbers.Number):
            values = self._values()
            values = [op(other, v) for v in values] if reflected else [op(v, other) for v in values]
            shape = self._shape
        elif isinstance(other, NDArray):
            left, right = (other, self) if reflected else (self, other)
            shape = _broadcast_shapes(left.shape, right.shape)
            values = list(
                map(op, left.broadcast_to(shape)._values(), right.broadcast_to(shape)._values())
            )
        else:
            return NotImplemented
        return NDArray._fresh(values, shape) if shape else values[0]

    def __add__(self, other: Any) -> Any:
        """Elementwise ``+`` with broadcasting; with an array, a list or a number. O(result size).

        A 0-d result is returned as the element itself, like numpy's scalar.

        >>> (NDArray([1, 2, 3]) + from_list([[10], [20]])).tolist()
        [[11, 12, 13], [21, 22, 23]]
        """
        return self._binary(other, operator.add, False)

    def __radd__(self, other: Any) -> Any:
        """``other + self``, elementwise. Complexity: O(size).

        >>> (1 + NDArray([1, 2])).tolist()
        [2, 3]
        """
        return self._binary(other, operator.add, True)

    def __sub__(self, other: Any) -> Any:
        """Elementwise ``-`` with broadcasting. Complexity: O(result size).

        >>> (NDArray([5, 7]) - 1).tolist()
        [4, 6]
        """
        return self._binary(other, operator.sub, False)

    def __rsub__(self, other: Any) -> Any:
        """``other - self``, elementwise. Complexity: O(size).

        >>> (2 - NDArray([5, 7])).tolist()
        [-3, -5]
        """
        return self._binary(other, operator.sub, True)

    def __mul__(self, other: Any) -> Any:
        """Elementwise ``*`` with broadcasting. Complexity: O(result size).

        >>> (NDArray([1, 2]) * from_list([[3], [4]])).tolist()
        [[3, 6], [4, 8]]
        """
        return self._binary(other, operator.mul, False)

    def __rmul__(self, other: Any) -> Any:
        """``other * self``, elementwise. Complexity: O(size).

        >>> (3 * NDArray([1, 2])).tolist()
        [3, 6]
        """
        return self._binary(other, operator.mul, True)

    def __truediv__(self, other: Any) -> Any:
        """Elementwise true division; int / int gives a float. Division by zero raises
        `ZeroDivisionError` (numpy would give inf or nan). Complexity: O(result size).

        >>> (NDArray([1, 3]) / 2).tolist()
        [0.5, 1.5]
        """
        return self._binary(other, operator.truediv, False)

    def __rtruediv__(self, other: Any) -> Any:
        """``other / self``, elementwise. Complexity: O(size).

        >>> (1 / NDArray([2, 4])).tolist()
        [0.5, 0.25]
        """
        return self._binary(other, operator.truediv, True)

    __iadd__ = __isub__ = __imul__ = __itruediv__ = _in_place

    def __eq__(self, other: object) -> bool:
        """Whether `other` is an `NDArray` of the same shape and equal elements.

        Unlike numpy's elementwise ``==``, a single bool (like ``numpy.array_equal``); strides,
        offsets and buffers may differ. Complexity: O(size).

        >>> NDArray([1, 2, 3, 4], (2, 2)).T == NDArray.from_list([[1, 3], [2, 4]])
        True
        """
        if not isinstance(other, NDArray):
            return NotImplemented
        return self._shape == other._shape and self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # views of a mutable list

    def __len__(self) -> int:
        """The length of the first axis; `TypeError` for a 0-d array. Complexity: O(1).

        >>> len(NDArray(list(range(6)), (3, 2)))
        3
        """
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self) -> Iterator[Any]:
        """``self[0], self[1], ...`` along the first axis (views, or elements when 1-d).

        Complexity: O(ndim) per step.

        >>> [row.tolist() for row in NDArray(list(range(4)), (2, 2))]
        [[0, 1], [2, 3]]
        """
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        return (self[index] for index in range(self._shape[0]))

    def __repr__(self) -> str:
        """The elements, shape, strides and offset. Complexity: O(size).

        >>> NDArray([1, 2, 3])[::-1]
        NDArray([3, 2, 1], shape=(3,), strides=(-1,), offset=2)
        """
        return (
            f"NDArray({self.tolist()!r}, shape={self._shape}, strides={self._strides}, "
            f"offset={self._offset})"
        )
