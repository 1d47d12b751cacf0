"""Chunked cosine retrieval (nearest neighbours, CSLS, hubness): the checked face of ``embmap._search``.

Memory is one block of queries x candidates, never n x n. CSLS (Conneau et
al. 2018) pushes hubs down: ``CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)``,
with ``r_T(x)`` the mean cosine of mapped source ``x`` to its ``csls_k``
nearest targets and ``r_S(y)`` that of target ``y`` to its ``csls_k`` nearest
mapped sources. ``csls_k`` is always CSLS's neighbourhood; ``k`` a number of results.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from embmap import _search
from embmap._validation import as_matrix, check_choice, check_int, check_same_cols, safe_unit_rows

__all__ = [
    "csls_penalties", "get_backend", "hubness", "k_occurrence", "mean_topk_similarity", "nearest",
    "score_chunks", "set_backend", "target_penalty", "top_k", "unit_rows",
]

_RETRIEVALS = ("nn", "csls")


def set_backend(backend: str) -> None:
    """Search nearest neighbours with ``"numpy"`` (exact, the default) or ``"faiss"``.

    ``"faiss"``: faiss's exact ``IndexFlatIP`` (``pip install faiss-cpu``; on
    a GPU when faiss sees one), the same neighbours up to float ties and
    rounding, for every k-nearest search (kNN maps, neighbour lists, CSLS's
    terms). Gold ranks always run on numpy.
    """
    _search.set_backend(check_choice(backend, "backend", _search.BACKENDS))


def get_backend() -> str:
    """The nearest-neighbour backend in use (see :func:`set_backend`)."""
    return _search.get_backend()


def unit_rows(M) -> np.ndarray:
    """Rows scaled to unit L2 norm as float32 (zero rows stay zero, huge ones keep their direction).

    Raises ``ValueError`` on NaN or inf.
    """
    return safe_unit_rows(as_matrix(M, "M", min_rows=0))


def _check_chunk_size(chunk_size):
    return None if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)


def _unit_pair(Q, C, q_name, c_name):
    """Checked unit float32 rows of queries (possibly none) and candidates (at least one)."""
    Q = as_matrix(Q, q_name, min_rows=0)
    C = as_matrix(C, c_name)
    check_same_cols(Q, C, q_name, c_name)
    return safe_unit_rows(Q), safe_unit_rows(C)


def _unit_sources(sources, P, d, pred_name="pred"):
    """CSLS's checked, unit source rows (default: the predictions ``P``)."""
    S = P if sources is None else safe_unit_rows(as_matrix(sources, "sources", n_cols=d))
    if len(S) == 0:
        raise ValueError(f"sources must have at least 1 row, got 0 ({pred_name} is empty)")
    return S


def nearest(queries, candidates, *, k=10, chunk_size=None) -> tuple[np.ndarray, np.ndarray]:
    """Cosines (float32) and rows (int64) of each query's ``min(k, n_candidates)`` nearest candidates, best first."""
    Q, C = _unit_pair(queries, candidates, "queries", "candidates")
    k = min(check_int(k, "k", minimum=1), len(C))
    return _search.nearest(Q, C, k, chunk_size=_check_chunk_size(chunk_size))


def mean_topk_similarity(queries, candidates, *, k=10, chunk_size=None) -> np.ndarray:
    """Each query's mean cosine (float64) to its ``k`` most similar candidates (all, if fewer)."""
    Q, C = _unit_pair(queries, candidates, "queries", "candidates")
    k = check_int(k, "k", minimum=1)
    return _search.mean_topk(Q, C, k, _check_chunk_size(chunk_size))


def csls_penalties(pred, targets, sources=None, csls_k=10, *, chunk_size=None):
    """CSLS's neighbourhood terms ``(r_T, r_S)`` (float64; with fewer than ``csls_k`` candidates, all count).

    ``sources`` (default ``pred``) define ``r_S``: pass all mapped source
    words when ``pred`` is only the test words.
    """
    P, T = _unit_pair(pred, targets, "pred", "targets")
    S = _unit_sources(sources, P, T.shape[1])
    csls_k = check_int(csls_k, "csls_k", minimum=1)
    chunk_size = _check_chunk_size(chunk_size)
    return _search.mean_topk(P, T, csls_k, chunk_size), _search.mean_topk(T, S, csls_k, chunk_size)


def target_penalty(targets, sources, csls_k=10, *, chunk_size=None) -> np.ndarray:
    """CSLS's ``r_S`` alone (float32): compute it once per map and pass it to
    :func:`embmap.evaluation.retrieve` (``r_S=``) for every metric that needs it."""
    T = safe_unit_rows(as_matrix(targets, "targets"))
    S = safe_unit_rows(as_matrix(sources, "sources", n_cols=T.shape[1]))
    csls_k = check_int(csls_k, "csls_k", minimum=1)
    return _search.target_term(T, S, csls_k, _check_chunk_size(chunk_size))


def score_chunks(pred, targets, retrieval="nn", *, csls_k=10, sources=None, chunk_size=None):
    """Yield ``(start, scores)``: NN cosine or CSLS of a block of queries vs all targets (a reused buffer).

    Shown in notebook 03, section 3 (CSLS written out and checked against this function).
    """
    check_choice(retrieval, "retrieval", _RETRIEVALS)
    P, T = _unit_pair(pred, targets, "pred", "targets")
    csls_k = check_int(csls_k, "csls_k", minimum=1)
    chunk_size = _check_chunk_size(chunk_size)
    if retrieval == "csls":
        r_S = _search.target_term(T, _unit_sources(sources, P, T.shape[1]), csls_k, chunk_size)
    for start, S in _search.blocks(P, T, chunk_size):
        if retrieval == "csls":
            S = _search.csls_block(S, _search.query_term(S, csls_k), r_S)
        yield start, S


def top_k(pred, targets, *, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None):
    """Rows of the ``k`` best targets for each query, best first (ties: lower row first)."""
    k = check_int(k, "k", minimum=1)
    blocks = score_chunks(pred, targets, retrieval, csls_k=csls_k, sources=sources, chunk_size=chunk_size)
    parts = [_search.topk_single(S, min(k, S.shape[1]))[1] for _, S in blocks]
    return np.concatenate(parts) if parts else np.empty((0, min(k, len(targets))), dtype=np.int64)


def k_occurrence(pred, targets, *, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None):
    """How often each target is among the ``k`` best results of some query (N_k)."""
    hits = top_k(pred, targets, k=k, retrieval=retrieval, csls_k=csls_k, sources=sources,
                 chunk_size=chunk_size)
    return np.bincount(hits.ravel(), minlength=len(targets))


def hubness(pred, targets, *, k=10, retrieval="nn", csls_k=10, sources=None, chunk_size=None) -> dict:
    """Hubness of a retrieval (Radovanovic et al. 2010): skew of the k-occurrence N_k.

    Returns the skew, the largest N_k and the share of targets that are
    nobody's neighbour (``never_retrieved``). Read the skew against
    references, not against 0: random retrieval gives N_k ~ Poisson(q k / n)
    with skew ``1 / sqrt(q k / n)`` (q queries, n targets), and a perfect map
    (each prediction equal to its gold target) keeps the hubness of the target
    space itself; compute that with the same queries, targets and retrieval.
    """
    check_int(k, "k", minimum=1)
    if len(as_matrix(pred, "pred", min_rows=0)) == 0:
        raise ValueError("pred must have at least 1 row (query), got 0")
    counts = k_occurrence(pred, targets, k=k, retrieval=retrieval, csls_k=csls_k, sources=sources,
                          chunk_size=chunk_size)
    return {"skew": float(stats.skew(counts)), "max_k_occurrence": int(counts.max()),
            "never_retrieved": float(np.mean(counts == 0))}
