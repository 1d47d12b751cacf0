"""First-look diagnostics of two paired spaces: ranges, anisotropy, neighbour agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from embmap._checks import (
    as_indices,
    as_matrix,
    check_int,
    check_real,
    check_same_rows,
    safe_unit_rows,
)
from embmap.evaluation import _percentile_interval, bootstrap_indices
from embmap.retrieval import top_k


def _nonzero_rows(M: np.ndarray, name: str) -> np.ndarray:
    """Unit rows; an all-zero row is refused (it would silently count as cosine 0)."""
    return safe_unit_rows(M, np.float64, zero_rows="raise", name=name)


def value_summary(M, name: str = "") -> dict:
    """Ranges of the entries and row norms of an embedding matrix.

    ``share_outside_unit`` answers a common premise: are the values in (-1, 1)?
    """
    M = as_matrix(M, "M", dtype=np.float64)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    norms = np.linalg.norm(M, axis=1)
    return {
        "space": name,
        "rows": M.shape[0],
        "dim": M.shape[1],
        "min": M.min(),
        "max": M.max(),
        "share_outside_unit": float(np.mean(np.abs(M) >= 1)),
        "entry_std": M.std(),
        "norm_median": float(np.median(norms)),
        "norm_min": norms.min(),
        "norm_max": norms.max(),
    }


def random_pair_cosines(M, n_pairs: int = 10_000, seed: int = 0) -> np.ndarray:
    """Cosines of ``n_pairs`` random pairs of distinct rows (anisotropy: their mean)."""
    M = as_matrix(M, "M", min_rows=2)
    _nonzero_rows(M, "M")
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    i = rng.integers(0, len(M), n_pairs)
    j = (i + rng.integers(1, len(M), n_pairs)) % len(M)  # j != i
    U = safe_unit_rows(M)   # no overflow even for rows of magnitude 1e20
    return np.sum(U[i] * U[j], axis=1)


def nearest_words(M, words, queries, k: int = 5) -> pd.DataFrame:
    """The ``k`` nearest words (cosine, self excluded) of each query word."""
    M = as_matrix(M, "M", dtype=np.float64, min_rows=2)
    _nonzero_rows(M, "M")
    if isinstance(words, str) or len(words) != len(M):
        raise ValueError(
            f"words must be a list with one word per row of M ({len(M)}), got "
            f"{len(words) if not isinstance(words, str) else 'a single string'}"
        )
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
    rows = [index[q] for q in queries]
    hits = top_k(M[rows], M, k=k + 1)
    table = {}
    for query, row, found in zip(queries, rows, hits):
        table[query] = [words[j] for j in found if j != row][:k]
    return pd.DataFrame(table, index=[f"#{r + 1}" for r in range(k)]).T


def neighbour_overlap(X, Y, queries, k: int = 10) -> np.ndarray:
    """Share of each query's k nearest neighbours in X that are also among its k nearest in Y.

    Neighbours are searched among all rows (self excluded). Under chance
    (unrelated spaces) the expected overlap is ``k / (n - 1)``.
    """
    X = as_matrix(X, "X", dtype=np.float64, min_rows=2)
    Y = as_matrix(Y, "Y", dtype=np.float64, min_rows=2)
    check_same_rows(X, Y, "X", "Y")
    _nonzero_rows(X, "X")
    _nonzero_rows(Y, "Y")
    queries = as_indices(queries, "queries", len(X), min_len=1)
    k = check_int(k, "k", minimum=1, maximum=len(X) - 1)
    near_x = top_k(X[queries], X, k=k + 1)
    near_y = top_k(Y[queries], Y, k=k + 1)
    overlap = np.empty(len(queries))
    for i, (q, a, b) in enumerate(zip(queries, near_x, near_y)):
        a, b = set(a[a != q][:k]), set(b[b != q][:k])
        overlap[i] = len(a & b) / k
    return overlap


def mean_with_ci(values, n_boot: int = 1000, level: float = 0.95, seed: int = 0):
    """Mean and percentile-bootstrap interval of a sample."""
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValueError(f"values must be a 1-D sample, got shape {raw.shape}")
    values = as_matrix(raw[:, None], "values", dtype=np.float64)[:, 0]
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    idx = bootstrap_indices(len(values), n_boot, check_int(seed, "seed", minimum=0))
    means = values[idx].mean(axis=1)
    return (float(values.mean()), *_percentile_interval(means, level))


def duplicate_rows(M, gold=None) -> dict:
    """Rows that share their exact vector with another row, and what that does to P@k.

    Matrix-factorisation and random-walk graph embeddings often give
    structurally equivalent nodes (leaves of one hub) the same vector. Under
    embmap's tie rule (ties count against the prediction) a word whose gold
    vector is shared by ``g`` rows in all ranks at best ``g``: it can never be
    a hit at ``k < g``.

    Parameters
    ----------
    M : array (n, d)
        The candidate vectors (usually the target space).
    gold : int array, optional
        Rows of ``M`` that are gold answers (e.g. the test words); the caps are
        computed over them. Default: every row.

    Returns
    -------
    dict
        ``rows``; ``rows_shared`` (rows whose vector appears more than once);
        ``groups`` (distinct vectors that appear more than once);
        ``largest_group``; ``zero_rows`` (all-zero rows); ``group_size``
        (int array (n,), the number of rows with each row's vector); and
        ``p@1_cap``, ``p@10_cap``: the share of gold rows whose group has at most
        1 (10) rows, the best P@1 (P@10) any map can reach on them.
    """
    M = as_matrix(M, "M")
    # np.unique over rows compares exact values: only bit-identical vectors (and 0.0 == -0.0,
    # which score the same) form a group.
    _, inverse, counts = np.unique(M, axis=0, return_inverse=True, return_counts=True)
    size = counts[inverse.ravel()]
    gold = np.arange(len(M)) if gold is None else as_indices(gold, "gold", len(M))
    if len(gold) == 0:
        raise ValueError("gold must hold at least one row")
    return {
        "rows": len(M),
        "rows_shared": int(np.sum(size > 1)),
        "groups": int(np.sum(counts > 1)),
        "largest_group": int(counts.max()),
        "zero_rows": int(np.sum(~M.any(axis=1))),
        "group_size": size,
        "p@1_cap": float(np.mean(size[gold] <= 1)),
        "p@10_cap": float(np.mean(size[gold] <= 10)),
    }
