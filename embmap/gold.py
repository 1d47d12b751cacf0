"""Gold answers of retrieval queries: one target row each (an int64 array), or several (:class:`GoldSets`).

A query with several right answers (a dictionary listing two translations of
a word) is, as in MUSE, a hit at k when ANY of its gold rows is in the top k;
its rank is that of its best-scoring gold row (``embmap._search.gold_rank``).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from embmap._validation import as_indices

__all__ = ["GoldSets", "as_gold", "gold_slice", "twin_rows"]


class GoldSets:
    """Several gold target rows per query: ``indices[indptr[q]:indptr[q + 1]]`` for query ``q``.

    Every query has at least one. Build one with :meth:`from_lists` or
    :func:`as_gold`; index it with a slice or an int array of queries.
    """

    __slots__ = ("indices", "indptr")

    def __init__(self, indptr, indices, name: str = "gold"):
        indptr, indices = np.asarray(indptr), np.asarray(indices)
        if indices.size == 0:
            indices = indices.astype(np.int64)
        if indptr.ndim != 1 or len(indptr) < 1 or not np.issubdtype(indptr.dtype, np.integer):
            raise ValueError(f"{name}: indptr must be a 1-D integer array of n_queries + 1 offsets")
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"{name} must hold integer target rows, got dtype {indices.dtype}")
        if indptr[0] != 0 or indptr[-1] != len(indices):
            raise ValueError(f"{name}: indptr must run from 0 to len(indices) ({len(indices)})")
        sizes = np.diff(indptr)
        if np.any(sizes < 1):
            q = int(np.flatnonzero(sizes < 1)[0])
            raise ValueError(f"{name}: query {q} has no gold target (each query needs at least one)")
        if len(indices) and indices.min() < 0:
            raise ValueError(f"{name} must hold target rows >= 0, got {indices.min()}")
        self.indptr = indptr.astype(np.int64, copy=False)
        self.indices = indices.astype(np.int64, copy=False)

    @classmethod
    def from_lists(cls, sets, name: str = "gold") -> GoldSets:
        """From a sequence of int sequences (a bare int is a set of one)."""
        parts = []
        for q, s in enumerate(sets):
            arr = np.asarray(s)
            if arr.ndim == 0:
                arr = arr.reshape(1)
            if arr.ndim != 1:
                raise ValueError(f"{name}[{q}] must be a sequence of target rows, got shape {arr.shape}")
            if arr.size == 0:
                raise ValueError(f"{name}[{q}] is empty: each query needs at least one gold target")
            if isinstance(s, bool) or arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"{name}[{q}] must hold integer target rows, got dtype {arr.dtype}")
            parts.append(arr.astype(np.int64, copy=False))
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(p) for p in parts])
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return cls(indptr, indices, name)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def sizes(self) -> np.ndarray:
        """Number of gold rows of each query."""
        return np.diff(self.indptr)

    def query_of_entry(self) -> np.ndarray:
        """For every entry of ``indices``, the query it belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.sizes)

    def sets(self) -> list:
        """The gold rows of each query, as a list of int arrays."""
        return [self.indices[a:b] for a, b in zip(self.indptr[:-1], self.indptr[1:])]

    def __getitem__(self, rows) -> GoldSets:
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if step == 1:
                stop = max(start, stop)
                lo, hi = self.indptr[start], self.indptr[stop]
                return GoldSets(self.indptr[start:stop + 1] - lo, self.indices[lo:hi])
            rows = np.arange(start, stop, step)
        rows = as_indices(rows, "rows", len(self))
        return GoldSets.from_lists([self.indices[self.indptr[r]:self.indptr[r + 1]] for r in rows])

    def __repr__(self):
        several = int(np.count_nonzero(self.sizes > 1))
        return f"GoldSets({len(self)} queries, {several} with several gold rows, {len(self.indices)} in all)"


def _is_int_scalar(x) -> bool:
    return isinstance(x, (Integral, np.integer)) and not isinstance(x, (bool, np.bool_))


def as_gold(gold, n_targets: int, n_queries: int | None = None, name: str = "gold"):
    """``gold`` validated: an int64 array (one gold row per query) or a :class:`GoldSets`.

    Accepted: an int array ``(n_queries,)`` or sequence of ints; a
    :class:`GoldSets`; a list or tuple of int sequences, possibly ragged (a
    bare int counts as one). A 2-D numpy array is refused. Rows must lie in
    ``[0, n_targets)``; with ``n_queries`` the count is checked. Errors name ``name``.
    """
    if gold is None:
        raise TypeError(f"{name} is required, got None")
    if isinstance(gold, GoldSets):
        out = GoldSets(gold.indptr, gold.indices, name)
    elif isinstance(gold, np.ndarray) and gold.dtype != object:
        if gold.ndim != 1:  # an (n, 1) column is a common slip
            raise ValueError(f"{name} must be a 1-D array of row indices, got shape {gold.shape} "
                             "(for several gold rows per query pass a list of int sequences)")
        out = as_indices(gold, name, n_targets)
    elif isinstance(gold, (list, tuple, np.ndarray)):
        if all(_is_int_scalar(x) for x in gold):
            out = as_indices(np.asarray(gold, dtype=np.int64), name, n_targets)
        elif any(isinstance(x, (list, tuple, np.ndarray, range)) for x in gold):
            out = GoldSets.from_lists(gold, name)
        else:
            out = as_indices(np.asarray(gold), name, n_targets)
    else:
        out = as_indices(np.asarray(list(gold) if not hasattr(gold, "__array__") else gold),
                         name, n_targets)
    if isinstance(out, GoldSets) and len(out.indices) and out.indices.max() >= n_targets:
        q = int(out.query_of_entry()[np.argmax(out.indices >= n_targets)])
        raise ValueError(f"{name} must lie in [0, {n_targets}); query {q} has gold row "
                         f"{out.indices.max()}")
    if n_queries is not None and len(out) != n_queries:
        raise ValueError(f"{name} must have one entry per query ({n_queries}), got {len(out)}")
    return out


def gold_slice(gold, start: int, stop: int):
    """The gold entries of queries ``start:stop`` (either form)."""
    return gold[start:stop]


def twin_rows(targets: np.ndarray) -> np.ndarray:
    """Rows of ``targets`` that repeat an earlier row exactly (``-0.0`` equals ``0.0``), sorted.

    Identical rows get identical scores: leaving these out counts each
    distinct target vector once.
    """
    T = np.ascontiguousarray(targets) + targets.dtype.type(0)  # -0.0 -> 0.0
    _, first = np.unique(T, axis=0, return_index=True)
    mask = np.ones(len(T), dtype=bool)
    mask[first] = False
    return np.flatnonzero(mask)
