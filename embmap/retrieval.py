"""Chunked cosine retrieval: nearest neighbours, CSLS, hubness.

Every function here works through the queries a chunk at a time, so memory
is O(chunk x n_candidates) and never n x n: retrieving among 400,000 GloVe
words costs the same memory per chunk as among 30,000 graph words.

CSLS (Conneau et al. 2018) corrects cosine for hubs::

    CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)

where ``r_T(x)`` is the mean cosine of the mapped source ``x`` to its
``csls_k`` nearest targets and ``r_S(y)`` the mean cosine of target ``y`` to
its ``csls_k`` nearest mapped sources.

Names: ``csls_k`` is always CSLS's neighbourhood size; ``k`` is always a
number of results (the top ``k`` of :func:`top_k`, the ``k`` of P@k and of
the k-occurrence N_k). A target that is close to everything (a hub) gets a
large ``r_S`` and is pushed down.

Speed. The cost of scoring a map is one float32 matrix product per block
and a top-k per row of that block; with k = 10 among tens of thousands of
candidates a full ``argpartition`` costs more than the product itself.
:func:`topk_rows` instead takes the column-wise maximum of 32 interleaved
slices of the block (one vectorised pass), uses the k-th largest of those
maxima as a threshold that no top-k value can fall below, and sorts only
the few candidates above it: exact, and about as fast as the heap that
faiss keeps per query.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from embmap import _search
from embmap._checks import as_matrix, check_choice, check_int, check_same_cols, safe_unit_rows

# Transitional names: the engine lives in embmap._search.
DEFAULT_BLOCK = _search.BLOCK
chunk_rows = _search.chunk_rows
iter_similarity_chunks = _search.blocks
topk_rows = _search.topk_single
topk_rows_threaded = _search.topk
n_workers = _search.n_workers

_RETRIEVALS = ("nn", "csls")


def unit_rows(M) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32.

    Scales each row by its largest absolute value first, so rows of huge
    magnitude (a float32 row of 1e20) keep their direction instead of
    overflowing the norm. Raises ``ValueError`` on NaN or inf.
    """
    return safe_unit_rows(as_matrix(M, "M", min_rows=0))


def _check_chunk_size(chunk_size):
    return None if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)


def nearest(queries, candidates, k=10, chunk_size=None) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities and rows of each query's ``k`` nearest candidates, best first.

    Parameters
    ----------
    queries : array (n_queries, d)
    candidates : array (n_candidates, d)
    k : int
        Neighbours per query; at most ``n_candidates`` are returned.
    chunk_size : int, optional
        Queries per block.

    Returns
    -------
    similarities : float32 array (n_queries, min(k, n_candidates))
    rows : int64 array (n_queries, min(k, n_candidates))
    """
    Q = as_matrix(queries, "queries", min_rows=0)
    C = as_matrix(candidates, "candidates")
    check_same_cols(Q, C, "queries", "candidates")
    k = min(check_int(k, "k", minimum=1), len(C))
    chunk_size = _check_chunk_size(chunk_size)
    return _search.nearest(safe_unit_rows(Q), safe_unit_rows(C), k, chunk_size=chunk_size)


def mean_topk_similarity(queries, candidates, k=10, chunk_size=None) -> np.ndarray:
    """For each query row, the mean cosine to its ``k`` most similar candidates.

    With fewer than ``k`` candidates, all of them are used.
    """
    sims, _ = nearest(queries, candidates, k, chunk_size)
    # float64 sum of the sorted values: independent of the order they came in.
    return sims.astype(np.float64).mean(axis=1)


def _check_sources(sources, d):
    return as_matrix(sources, "sources", n_cols=d)


def csls_penalties(pred, targets, sources=None, csls_k=10, chunk_size=None):
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
    csls_k : int
        Neighbourhood size (10 in MUSE and VecMap). With fewer than ``csls_k``
        targets (or sources), the mean runs over all of them.

    Returns
    -------
    r_T : array (n_queries,)
        Mean cosine of each query to its ``csls_k`` nearest targets.
    r_S : array (n_targets,)
        Mean cosine of each target to its ``csls_k`` nearest sources.
    """
    P = as_matrix(pred, "pred", min_rows=0)
    T = as_matrix(targets, "targets")
    check_same_cols(P, T, "pred", "targets")
    S = P if sources is None else _check_sources(sources, T.shape[1])
    if len(S) == 0:
        raise ValueError("sources must have at least 1 row, got 0 (pred is empty)")
    csls_k = check_int(csls_k, "csls_k", minimum=1)
    r_T = mean_topk_similarity(P, T, csls_k, chunk_size)
    r_S = mean_topk_similarity(T, S, csls_k, chunk_size)
    return r_T, r_S


def _prepare(pred, targets, retrieval, csls_k, sources, chunk_size, pred_name="pred"):
    """Validated, unit-normalised ``(P, T, r_S)``; ``r_S`` is None for NN."""
    check_choice(retrieval, "retrieval", _RETRIEVALS)
    P = as_matrix(pred, pred_name, min_rows=0)
    T = as_matrix(targets, "targets")
    check_same_cols(P, T, pred_name, "targets")
    csls_k = check_int(csls_k, "csls_k", minimum=1)
    _check_chunk_size(chunk_size)
    P, T = safe_unit_rows(P), safe_unit_rows(T)
    r_S = None
    if retrieval == "csls":
        S = P if sources is None else safe_unit_rows(_check_sources(sources, T.shape[1]))
        if len(S) == 0:
            raise ValueError(f"sources must have at least 1 row, got 0 ({pred_name} is empty)")
        r_S = target_penalty(T, S, csls_k, chunk_size, normalised=True)
    return P, T, r_S


def target_penalty(targets, sources, csls_k=10, chunk_size=None, normalised=False) -> np.ndarray:
    """CSLS's ``r_S``: each target's mean cosine to its ``csls_k`` nearest sources (float32).

    Depends only on ``(targets, sources, csls_k)``: compute it once per map and
    pass it to :func:`embmap.evaluation.retrieve` (``r_S=``) for every
    metric and retrieval that needs it. ``normalised=True`` skips the checks
    and normalisation for arrays that are already unit float32 rows.
    """
    if not normalised:
        T = safe_unit_rows(as_matrix(targets, "targets"))
        S = as_matrix(sources, "sources", n_cols=T.shape[1])
        S = safe_unit_rows(S)
        csls_k = check_int(csls_k, "csls_k", minimum=1)
    else:
        T, S = targets, sources
    return _search.target_term(T, S, csls_k, chunk_size)


csls_block = _search.csls_block


def score_chunks(pred, targets, retrieval="nn", csls_k=10, sources=None, chunk_size=None):
    """Yield ``(start, scores)``: NN cosine or CSLS of a chunk of queries vs all targets.

    Shown in notebook 03, section 3 (CSLS written out and checked against this function).

    The yielded block is reused for the next chunk: copy it to keep it.
    """
    P, T, r_S = _prepare(pred, targets, retrieval, csls_k, sources, chunk_size)
    for start, S in iter_similarity_chunks(P, T, chunk_size):
        if r_S is not None:
            S = _search.csls_block(S, _search.query_term(S, csls_k), r_S)
        yield start, S


def top_k(pred, targets, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None):
    """Indices of the ``k`` best targets for each query, best first (ties: lower row first)."""
    k = check_int(k, "k", minimum=1)
    n_top = min(k, len(as_matrix(targets, "targets")))
    out = np.empty((len(as_matrix(pred, "pred", min_rows=0)), n_top), dtype=np.int64)
    for start, S in score_chunks(pred, targets, retrieval, csls_k, sources, chunk_size):
        out[start : start + len(S)] = _search.topk_single(S, n_top)[1]
    return out


def k_occurrence(pred, targets, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None):
    """How often each target is among the ``k`` best results of some query (N_k)."""
    hits = top_k(pred, targets, k, retrieval, csls_k, sources=sources, chunk_size=chunk_size)
    return np.bincount(hits.ravel(), minlength=len(targets))


def hubness(pred, targets, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None) -> dict:
    """Hubness of a retrieval (Radovanovic et al. 2010).

    Returns the skewness of the k-occurrence distribution, the largest
    k-occurrence, and the share of targets that are nobody's neighbour
    ("anti-hubs"). The skew is large and positive when a few targets are
    everybody's neighbour.

    Read the skew against a reference value, not a floor: it is not 0 even
    without hubs. With q queries and n targets, uniformly random retrieval
    gives N_k ~ Poisson(q k / n), whose skew is ``1 / sqrt(q k / n)`` (about
    1.0 for 3,352 queries, k = 10 and 33,518 targets), and a *perfect* map
    (every prediction equal to its gold target) keeps whatever hubness the
    target space itself has: on the bundled pair (split seed 0, targets
    normalised unit-center-unit, the 3,352 test words as queries among all
    33,518 targets, CSLS's r_S over all 33,518 words) it measures 1.228 with
    NN and 1.074 with CSLS. A map can score below either value. Compare with
    such baselines, not with 0 or 1.
    """
    check_int(k, "k", minimum=1)
    if len(as_matrix(pred, "pred", min_rows=0)) == 0:
        raise ValueError("pred must have at least 1 row (query), got 0")
    counts = k_occurrence(pred, targets, k, retrieval, csls_k, sources, chunk_size)
    return {
        "skew": float(stats.skew(counts)),
        "max_k_occurrence": int(counts.max()),
        "never_retrieved": float(np.mean(counts == 0)),
    }
