"""First-look diagnostics of two paired spaces: ranges, anisotropy, neighbour agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from embmap import _search
from embmap._validation import as_indices, as_matrix, check_int, check_same_rows, safe_unit_rows
from embmap.bootstrap import check_bootstrap, mean_interval

__all__ = [
    "duplicate_rows", "mean_with_ci", "nearest_words", "neighbour_overlap",
    "random_pair_cosines", "value_summary",
]


def _neighbours(M: np.ndarray, rows, k: int) -> np.ndarray:
    """The ``k`` nearest rows of ``M`` (cosine) to each of ``rows``, itself excluded, best first."""
    U = safe_unit_rows(M.astype(np.float32))
    rows = np.asarray(rows, dtype=np.int64)
    return _search.nearest(U[rows], U, k, exclude=rows)[1]


def value_summary(M, name: str = "") -> dict:
    """Ranges of the entries and row norms of an embedding matrix.

    ``share_outside_unit`` answers a common premise: are the values in (-1, 1)?
    """
    M = as_matrix(M, "M", dtype=np.float64)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    norms = np.linalg.norm(M, axis=1)
    return {"space": name, "rows": M.shape[0], "dim": M.shape[1], "min": M.min(), "max": M.max(),
            "share_outside_unit": float(np.mean(np.abs(M) >= 1)), "entry_std": M.std(),
            "norm_median": float(np.median(norms)), "norm_min": norms.min(),
            "norm_max": norms.max()}


def random_pair_cosines(M, n_pairs: int = 10_000, seed: int = 0) -> np.ndarray:
    """Cosines of ``n_pairs`` random pairs of distinct rows (anisotropy: their mean)."""
    M = as_matrix(M, "M", min_rows=2)
    safe_unit_rows(M, zero_rows="raise")
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    i = rng.integers(0, len(M), n_pairs)
    j = (i + rng.integers(1, len(M), n_pairs)) % len(M)  # j != i
    U = safe_unit_rows(M)   # no overflow even for rows of magnitude 1e20
    return np.sum(U[i] * U[j], axis=1)


def nearest_words(M, words, queries, k: int = 5) -> pd.DataFrame:
    """The ``k`` nearest words (cosine, self excluded) of each query word."""
    M = as_matrix(M, "M", dtype=np.float64, min_rows=2)
    safe_unit_rows(M, zero_rows="raise")  # an all-zero row has no neighbours
    if isinstance(words, str) or len(words) != len(M):
        raise ValueError(f"words must be a list with one word per row of M ({len(M)}), got "
                         f"{len(words) if not isinstance(words, str) else 'a single string'}")
    if isinstance(queries, str):
        raise TypeError(f"queries must be a list of words, not the string {queries!r}")
    queries = list(queries)
    if not queries:
        raise ValueError("queries must hold at least one word")
    index = {w: i for i, w in enumerate(words)}
    missing = [q for q in queries if q not in index]
    if missing:
        raise KeyError(f"not in the vocabulary: {missing}")
    k = check_int(k, "k", minimum=1, maximum=len(M) - 1)
    near = _neighbours(M, [index[q] for q in queries], k)
    table = {query: [words[j] for j in found] for query, found in zip(queries, near)}
    return pd.DataFrame(table, index=[f"#{r + 1}" for r in range(k)]).T


def neighbour_overlap(X, Y, queries, k: int = 10) -> np.ndarray:
    """Share of each query's k nearest neighbours in X that are also among its k nearest in Y.

    Neighbours are searched among all rows (self excluded); unrelated spaces
    overlap by ``k / (n - 1)`` on average.
    """
    X = as_matrix(X, "X", dtype=np.float64, min_rows=2)
    Y = as_matrix(Y, "Y", dtype=np.float64, min_rows=2)
    check_same_rows(X, Y, "X", "Y")
    safe_unit_rows(X, zero_rows="raise", name="X")
    safe_unit_rows(Y, zero_rows="raise", name="Y")
    queries = as_indices(queries, "queries", len(X), min_len=1)
    k = check_int(k, "k", minimum=1, maximum=len(X) - 1)
    near_x, near_y = _neighbours(X, queries, k), _neighbours(Y, queries, k)
    return np.array([len(set(a) & set(b)) / k for a, b in zip(near_x, near_y)])


def mean_with_ci(values, n_boot: int = 1000, level: float = 0.95, seed: int = 0):
    """Mean and percentile-bootstrap interval of a sample."""
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValueError(f"values must be a 1-D sample, got shape {raw.shape}")
    values = as_matrix(raw[:, None], "values", dtype=np.float64)[:, 0]
    check_bootstrap(n_boot, level)
    return mean_interval(values, n_boot=n_boot, level=level, seed=check_int(seed, "seed", minimum=0))


def duplicate_rows(M, gold=None) -> dict:
    """Rows that share their exact vector with another row, and what that does to P@k.

    Graph embeddings often give structurally equivalent nodes one vector; under embmap's tie
    rule a word whose gold vector ``g`` rows share ranks ``g`` at best. ``gold`` (default: every
    row) are the rows of ``M`` that are gold answers. Returns ``rows``, ``rows_shared``,
    ``groups`` (vectors shared by several rows), ``largest_group``, ``zero_rows``,
    ``group_size`` (per row) and ``p@1_cap`` / ``p@10_cap``: the share of gold rows whose group
    has at most 1 (10) rows, the best P@1 (P@10) any map can reach.
    """
    M = as_matrix(M, "M")
    # np.unique over rows compares exact values: only bit-identical vectors (and 0.0 == -0.0,
    # which score the same) form a group.
    _, inverse, counts = np.unique(M, axis=0, return_inverse=True, return_counts=True)
    size = counts[inverse.ravel()]
    gold = np.arange(len(M)) if gold is None else as_indices(gold, "gold", len(M))
    if len(gold) == 0:
        raise ValueError("gold must hold at least one row")
    return {"rows": len(M), "rows_shared": int(np.sum(size > 1)), "groups": int(np.sum(counts > 1)),
            "largest_group": int(counts.max()), "zero_rows": int(np.sum(~M.any(axis=1))),
            "group_size": size, "p@1_cap": float(np.mean(size[gold] <= 1)),
            "p@10_cap": float(np.mean(size[gold] <= 10))}
