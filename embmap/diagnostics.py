"""First-look diagnostics of two paired spaces: ranges, anisotropy, neighbour agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from embmap.retrieval import top_k, unit_rows


def value_summary(M, name: str = "") -> dict:
    """Ranges of the entries and row norms of an embedding matrix.

    ``share_outside_unit`` answers a common premise: are the values in (-1, 1)?
    """
    M = np.asarray(M, dtype=np.float64)
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
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(M), n_pairs)
    j = (i + rng.integers(1, len(M), n_pairs)) % len(M)  # j != i
    U = unit_rows(M)
    return np.sum(U[i] * U[j], axis=1)


def nearest_words(M, words, queries, k: int = 5) -> pd.DataFrame:
    """The ``k`` nearest words (cosine, self excluded) of each query word."""
    index = {w: i for i, w in enumerate(words)}
    missing = [q for q in queries if q not in index]
    if missing:
        raise KeyError(f"not in the vocabulary: {missing}")
    rows = [index[q] for q in queries]
    hits = top_k(np.asarray(M)[rows], M, k=k + 1)
    table = {}
    for query, row, found in zip(queries, rows, hits):
        table[query] = [words[j] for j in found if j != row][:k]
    return pd.DataFrame(table, index=[f"#{r + 1}" for r in range(k)]).T


def neighbour_overlap(X, Y, queries, k: int = 10) -> np.ndarray:
    """Share of each query's k nearest neighbours in X that are also among its k nearest in Y.

    Neighbours are searched among all rows (self excluded). Under chance
    (unrelated spaces) the expected overlap is ``k / (n - 1)``.
    """
    X, Y = np.asarray(X), np.asarray(Y)
    if len(X) != len(Y):
        raise ValueError(f"X and Y must be row-aligned, got {len(X)} and {len(Y)} rows")
    queries = np.asarray(queries)
    near_x = top_k(X[queries], X, k=k + 1)
    near_y = top_k(Y[queries], Y, k=k + 1)
    overlap = np.empty(len(queries))
    for i, (q, a, b) in enumerate(zip(queries, near_x, near_y)):
        a, b = set(a[a != q][:k]), set(b[b != q][:k])
        overlap[i] = len(a & b) / k
    return overlap


def mean_with_ci(values, n_boot: int = 1000, level: float = 0.95, seed: int = 0):
    """Mean and percentile-bootstrap interval of a sample."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(values.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))
