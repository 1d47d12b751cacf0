"""Chunked cosine retrieval: nearest neighbours, CSLS, hubness.

Every function here works through the queries a chunk at a time, so memory
is O(chunk x n_candidates) and never n x n: retrieving among 400,000 GloVe
words costs the same memory per chunk as among 30,000 graph words.

CSLS (Conneau et al. 2018) corrects cosine for hubs::

    CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)

where ``r_T(x)`` is the mean cosine of the mapped source ``x`` to its k
nearest targets and ``r_S(y)`` the mean cosine of target ``y`` to its k
nearest mapped sources. A target that is close to everything (a hub) gets a
large ``r_S`` and is pushed down.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# Budget for one block of similarities (float32 entries): 2**24 = 64 MB.
DEFAULT_BLOCK = 1 << 24


def unit_rows(M) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    M = np.asarray(M, dtype=np.float32)
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    return M / np.where(norms > 0, norms, 1.0)


def chunk_rows(n_queries: int, n_candidates: int, chunk_size=None) -> int:
    """Queries per chunk so that one block stays within :data:`DEFAULT_BLOCK`."""
    if chunk_size is None:
        chunk_size = DEFAULT_BLOCK // max(n_candidates, 1)
    return int(max(1, min(chunk_size, max(n_queries, 1))))


def iter_similarity_chunks(queries, candidates, chunk_size=None):
    """Yield ``(start, S)`` with ``S = queries[start:start+c] @ candidates.T``.

    Both arguments must already be unit-normalised float32 arrays.
    """
    step = chunk_rows(len(queries), len(candidates), chunk_size)
    for start in range(0, len(queries), step):
        yield start, queries[start : start + step] @ candidates.T


def mean_topk_similarity(queries, candidates, k=10, chunk_size=None) -> np.ndarray:
    """For each query row, the mean cosine to its ``k`` most similar candidates."""
    queries, candidates = unit_rows(queries), unit_rows(candidates)
    k = min(k, len(candidates))
    out = np.empty(len(queries), dtype=np.float64)
    for start, S in iter_similarity_chunks(queries, candidates, chunk_size):
        top = np.partition(S, S.shape[1] - k, axis=1)[:, -k:]
        out[start : start + len(S)] = top.mean(axis=1)
    return out


def csls_penalties(pred, targets, sources=None, k=10, chunk_size=None):
    """The two CSLS neighbourhood terms.

    Parameters
    ----------
    pred : array (n_queries, d)
        Mapped source vectors being scored.
    targets : array (n_targets, d)
        All candidate target vectors.
    sources : array (n_sources, d), optional
        Mapped source vectors that define each target's neighbourhood
        ``r_S``; default ``pred``. Pass all mapped source words here when
        ``pred`` is only the test words.
    k : int
        Neighbourhood size (10 in MUSE and VecMap).

    Returns
    -------
    r_T : array (n_queries,)
        Mean cosine of each query to its k nearest targets.
    r_S : array (n_targets,)
        Mean cosine of each target to its k nearest sources.
    """
    sources = pred if sources is None else sources
    r_T = mean_topk_similarity(pred, targets, k, chunk_size)
    r_S = mean_topk_similarity(targets, sources, k, chunk_size)
    return r_T, r_S


def score_chunks(pred, targets, retrieval="nn", k=10, sources=None, chunk_size=None):
    """Yield ``(start, scores)``: NN cosine or CSLS of a chunk of queries vs all targets."""
    if retrieval not in ("nn", "csls"):
        raise ValueError(f"retrieval must be 'nn' or 'csls', got {retrieval!r}")
    P, T = unit_rows(pred), unit_rows(targets)
    if retrieval == "csls":
        r_T, r_S = csls_penalties(P, T, sources, k, chunk_size)
        r_S = r_S.astype(np.float32)
    for start, S in iter_similarity_chunks(P, T, chunk_size):
        if retrieval == "csls":
            S = 2 * S - r_T[start : start + len(S), None].astype(np.float32) - r_S[None, :]
        yield start, S


def top_k(pred, targets, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None):
    """Indices of the ``k`` best targets for each query, best first."""
    k = min(k, len(targets))
    out = np.empty((len(pred), k), dtype=np.int64)
    for start, S in score_chunks(pred, targets, retrieval, csls_k, sources, chunk_size):
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1, kind="stable")
        out[start : start + len(S)] = np.take_along_axis(part, order, axis=1)
    return out


def k_occurrence(pred, targets, k=10, retrieval="nn", sources=None, chunk_size=None):
    """How often each target is among the ``k`` nearest of some query (N_k)."""
    hits = top_k(pred, targets, k, retrieval, sources=sources, chunk_size=chunk_size)
    return np.bincount(hits.ravel(), minlength=len(targets))


def hubness(pred, targets, k=10, retrieval="nn", sources=None, chunk_size=None) -> dict:
    """Hubness of a retrieval (Radovanovic et al. 2010).

    Returns the skewness of the k-occurrence distribution, the largest
    k-occurrence, and the share of targets that are nobody's neighbour
    ("anti-hubs"). The skew is large and positive when a few targets are
    everybody's neighbour. Its floor is not 0: with q queries and n targets,
    uniformly random retrieval gives N_k ~ Poisson(q k / n), whose skew is
    ``1 / sqrt(q k / n)`` (about 1.0 for 3,352 queries, k = 10 and 33,518
    targets). Compare with a random-prediction baseline.
    """
    counts = k_occurrence(pred, targets, k, retrieval, sources, chunk_size)
    return {
        "skew": float(stats.skew(counts)),
        "max_k_occurrence": int(counts.max()),
        "never_retrieved": float(np.mean(counts == 0)),
    }
