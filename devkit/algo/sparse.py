"""A compressed sparse row (CSR) matrix and cosine similarity, in pure Python.

`CSRMatrix` is the result type of `devkit.algo.text`'s vectorizers: the same three arrays as
`scipy.sparse.csr_array` (`data`, `indices`, `indptr`) plus `shape`, kept in `array.array`s so
that a document-term matrix costs 8 bytes per stored value and index, not a Python object each.
Within every row the column indices are strictly increasing (no duplicates), which `check()`
verifies.

`cosine_similarity` matches `sklearn.metrics.pairwise.cosine_similarity` with its default dense
output: rows are scaled to unit Euclidean length (all-zero rows stay zero, so their similarity
with everything is 0), then multiplied, giving nested lists of floats.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import truediv

from devkit.errors import DevkitError

__all__ = ["CSRMatrix", "SparseError", "cosine_similarity"]


class SparseError(DevkitError, ValueError):
    """A matrix argument has the wrong shape or broken CSR structure."""


def _as_array(values, typecode: str) -> array:
    """`values` itself when it is already an `array.array`, else a new array of `typecode`."""
    return values if isinstance(values, array) else array(typecode, values)


class CSRMatrix:
    """A sparse matrix in compressed sparse row form.

    Row ``i`` stores its values in ``data[indptr[i]:indptr[i + 1]]`` and their column numbers,
    strictly increasing, in the same slice of ``indices``. ``data`` is an ``array('q')`` for
    counts or an ``array('d')`` for weights (lists are converted to ``array('d')``); ``indices``
    and ``indptr`` are ``array('q')``. Treat a matrix as immutable.

    Indexing follows scipy: ``m[i]`` (and ``m.getrow(i)``) is row ``i`` as a 1 x n
    `CSRMatrix`; ``m[i, j]`` is one value (0 when not stored); iterating yields the rows.
    Construction is O(1) when given arrays, O(nnz) when given lists.

    >>> m = CSRMatrix([1.0, 2.0, 3.0], [0, 2, 1], [0, 2, 2, 3], (3, 3))
    >>> m.toarray()
    [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]]
    >>> m.shape, m.nnz, m[0, 2], m[1, 1]
    ((3, 3), 3, 2.0, 0.0)
    >>> m[2]
    <CSRMatrix 1x3, 1 stored value>
    """

    __slots__ = ("data", "indices", "indptr", "shape")

    def __init__(self, data, indices, indptr, shape: tuple[int, int]):
        self.data = _as_array(data, "d")
        self.indices = _as_array(indices, "q")
        self.indptr = _as_array(indptr, "q")
        n_rows, n_cols = shape
        self.shape = (int(n_rows), int(n_cols))

    @classmethod
    def from_dense(cls, rows: Sequence[Sequence[float]], n_cols: int | None = None) -> CSRMatrix:
        """The CSR form of a dense matrix given as nested sequences, dropping zeros.

        `n_cols` is needed only when `rows` is empty. Values are stored as floats.
        O(rows x cols).

        >>> CSRMatrix.from_dense([[0, 1.5], [2, 0]]).indices.tolist()
        [1, 0]
        """
        data = array("d")
        indices = array("q")
        indptr = array("q", [0])
        width = n_cols
        for row in rows:
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise SparseError(
                    f"rows of a dense matrix must all have {width} values, got one with "
                    f"{len(row)}; pad or trim the rows"
                )
            for j, value in enumerate(row):
                if value:
                    indices.append(j)
                    data.append(value)
            indptr.append(len(indices))
        if width is None:
            raise SparseError("cannot infer the width of an empty matrix; pass n_cols")
        return cls(data, indices, indptr, (len(indptr) - 1, width))

    @property
    def nnz(self) -> int:
        """The number of stored values. O(1).

        >>> CSRMatrix.from_dense([[0, 1], [1, 1]]).nnz
        3
        """
        return len(self.data)

    def _zero(self):
        return 0 if self.data.typecode in "bBhHiIlLqQ" else 0.0

    def getrow(self, i: int) -> CSRMatrix:
        """Row `i` (negative counts from the end) as a 1 x n_cols matrix. O(row length).

        >>> CSRMatrix.from_dense([[0, 1], [2, 0]]).getrow(-1).toarray()
        [[2.0, 0.0]]
        """
        n_rows = self.shape[0]
        if not -n_rows <= i < n_rows:
            raise IndexError(f"row index {i} is out of range for {n_rows} rows")
        i %= n_rows
        start, stop = self.indptr[i], self.indptr[i + 1]
        return CSRMatrix(
            self.data[start:stop],
            self.indices[start:stop],
            array("q", [0, stop - start]),
            (1, self.shape[1]),
        )

    def __getitem__(self, key):
        """``m[i]``: row `i` as a 1 x n matrix; ``m[i, j]``: one value. O(row length)."""
        if isinstance(key, tuple):
            i, j = key
            n_rows, n_cols = self.shape
            if not (-n_rows <= i < n_rows and -n_cols <= j < n_cols):
                raise IndexError(f"index {key} is out of range for shape {self.shape}")
            i %= n_rows
            j %= n_cols
            start, stop = self.indptr[i], self.indptr[i + 1]
            row = self.indices[start:stop]
            for k, column in enumerate(row):
                if column == j:
                    return self.data[start + k]
            return self._zero()
        return self.getrow(key)

    def __iter__(self) -> Iterator[CSRMatrix]:
        """The rows, each a 1 x n matrix. O(nnz) in total."""
        for i in range(self.shape[0]):
            yield self.getrow(i)

    def toarray(self) -> list[list]:
        """The dense matrix as a list of rows (0 or 0.0 where nothing is stored). O(rows x cols).

        >>> CSRMatrix(array("q", [3]), [1], [0, 1], (1, 2)).toarray()
        [[0, 3]]
        """
        n_rows, n_cols = self.shape
        data, indices, indptr = self.data, self.indices, self.indptr
        zero = self._zero()
        rows = []
        for i in range(n_rows):
            row = [zero] * n_cols
            for k in range(indptr[i], indptr[i + 1]):
                row[indices[k]] = data[k]
            rows.append(row)
        return rows

    def tolist(self) -> list[list]:
        """The same as `toarray()`. O(rows x cols).

        >>> CSRMatrix.from_dense([[1, 0]]).tolist()
        [[1.0, 0.0]]
        """
        return self.toarray()

    def check(self) -> None:
        """Raise `SparseError` unless the CSR invariants hold. O(nnz).

        The invariants: ``len(indptr) == rows + 1``, ``indptr`` starts at 0, never decreases
        and ends at ``len(indices) == len(data)``; every index is in ``[0, cols)`` and the
        indices of each row strictly increase.

        >>> CSRMatrix([1.0, 2.0], [1, 0], [0, 2], (1, 2)).check()
        Traceback (most recent call last):
        ...
        devkit.algo.sparse.SparseError: row 0: column indices are not strictly increasing
        """
        n_rows, n_cols = self.shape
        indptr, indices = self.indptr, self.indices
        if len(indptr) != n_rows + 1 or indptr[0] != 0:
            raise SparseError(f"indptr must have {n_rows + 1} entries starting at 0")
        if indptr[-1] != len(indices) or len(indices) != len(self.data):
            raise SparseError("indptr[-1], len(indices) and len(data) must be equal")
        for i in range(n_rows):
            start, stop = indptr[i], indptr[i + 1]
            if stop < start:
                raise SparseError(f"row {i}: indptr decreases")
            previous = -1
            for k in range(start, stop):
                column = indices[k]
                if column <= previous:
                    raise SparseError(f"row {i}: column indices are not strictly increasing")
                previous = column
            if previous >= n_cols:
                raise SparseError(f"row {i}: column index {previous} >= {n_cols} columns")

    def __repr__(self) -> str:
        n_rows, n_cols = self.shape
        plural = "" if self.nnz == 1 else "s"
        return f"<CSRMatrix {n_rows}x{n_cols}, {self.nnz} stored value{plural}>"


def _as_csr(matrix) -> CSRMatrix:
    return matrix if isinstance(matrix, CSRMatrix) else CSRMatrix.from_dense(matrix)


def _l2_normalized_rows(matrix: CSRMatrix) -> array:
    """The data of `matrix` with every non-zero row divided by its Euclidean norm."""
    data, indptr = matrix.data, matrix.indptr
    out = array("d")
    hypot = math.hypot
    for i in range(matrix.shape[0]):
        values = data[indptr[i] : indptr[i + 1]]
        norm = hypot(*values)
        out.extend(map(truediv, values, repeat(norm)) if norm else map(float, values))
    return out


def cosine_similarity(X, Y=None) -> list[list[float]]:
    """Cosine similarity of every row of `X` with every row of `Y` (default: `X`).

    `X` and `Y` are `CSRMatrix`es or dense nested sequences with the same number of
    columns. The result is dense: ``result[i][k]`` is ``<x_i, y_k> / (|x_i| |y_k|)``, and 0
    when either row is all zeros, as in scikit-learn. Time O(nnz(X) + nnz(Y) + rows(X) x
    rows(Y) + sum over columns of nnz_X(col) x nnz_Y(col)); memory O(nnz(Y) + rows(X) x
    rows(Y)).

    >>> cosine_similarity([[0, 0, 0], [1, 1, 1]], [[1, 0, 0], [1, 1, 0]])
    [[0.0, 0.0], [0.5773502691896258, 0.816496580927726]]
    """
    x = _as_csr(X)
    y = x if Y is None else _as_csr(Y)
    if x.shape[1] != y.shape[1]:
        raise SparseError(
            f"Incompatible dimension for X and Y matrices: X.shape[1] == {x.shape[1]} while "
            f"Y.shape[1] == {y.shape[1]}"
        )
    x_data = _l2_normalized_rows(x)
    y_data = x_data if y is x else _l2_normalized_rows(y)

    # Y transposed: for each column, the rows of Y that use it and their values.
    n_y = y.shape[0]
    column_rows: list[list[int]] = [[] for _ in range(y.shape[1])]
    column_values: list[list[float]] = [[] for _ in range(y.shape[1])]
    y_indices, y_indptr = y.indices, y.indptr
    for k in range(n_y):
        for p in range(y_indptr[k], y_indptr[k + 1]):
            column = y_indices[p]
            column_rows[column].append(k)
            column_values[column].append(y_data[p])

    x_indices, x_indptr = x.indices, x.indptr
    result = []
    for i in range(x.shape[0]):
        row = [0.0] * n_y
        for p in range(x_indptr[i], x_indptr[i + 1]):
            column = x_indices[p]
            weight = x_data[p]
            for k, value in zip(column_rows[column], column_values[column], strict=True):
                row[k] += weight * value
        result.append(row)
    return result
