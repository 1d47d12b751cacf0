"""The one search engine: every similarity block, top-k, CSLS term and gold rank in embmap.

Private: inputs are unit float32 rows the caller has checked (:mod:`embmap.retrieval`
is the checked public face). Memory: one block of at most ``BLOCK`` similarities.
:func:`nearest` runs on numpy or, after ``set_backend("faiss")``, on faiss's exact
``IndexFlatIP``; gold ranks need every score of a block, so they always run on numpy.
"""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from embmap.gold import GoldSets

__all__: list[str] = []

BLOCK = 1 << 25  # float32 entries in one similarity block (128 MB)
BACKENDS = ("numpy", "faiss")
_backend = "numpy"
_N_SLICES = 32  # interleaved column slices of the top-k threshold pass
_FAISS_GPU_MAX_K = 2048  # faiss's GPU search returns at most this many neighbours


def set_backend(backend: str) -> None:
    global _backend
    if backend == "faiss" and importlib.util.find_spec("faiss") is None:
        raise ImportError("the faiss backend needs faiss: pip install 'embmap[faiss]' (faiss-cpu) or a GPU build of faiss")
    _backend = backend


def get_backend() -> str:
    return _backend


def chunk_rows(n_queries: int, n_candidates: int, chunk_size=None) -> int:
    """Queries per block: ``chunk_size`` if given, else as many as fit in :data:`BLOCK`."""
    if chunk_size is None:
        chunk_size = BLOCK // max(n_candidates, 1)
    return int(max(1, min(chunk_size, max(n_queries, 1))))


def blocks(Q, C, chunk_size=None):
    """Yield ``(start, Q[start:start+c] @ C.T)``; the block is one reused buffer.

    float32 unless ``Q`` is float64 (the isomorphism measures compare near-tied
    neighbours, where float32 rounding would decide).
    """
    step = chunk_rows(len(Q), len(C), chunk_size)
    dtype = np.float64 if np.asarray(Q).dtype == np.float64 else np.float32
    # A contiguous (d, n) copy: the product reads it without a transpose.
    Ct = np.ascontiguousarray(np.asarray(C, dtype=dtype).T)
    buffer = np.empty((min(step, len(Q)), Ct.shape[1]), dtype=dtype)
    for start in range(0, len(Q), step):
        q = Q[start : start + step]
        out = buffer[: len(q)]
        np.matmul(q, Ct, out=out)
        yield start, out


def topk_single(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of each row of ``S`` and their columns, best first, ties to the lower column.

    A full ``argpartition`` costs more than the product that made ``S``: the
    k-th largest maximum of 32 interleaved column slices is a threshold no
    top-k value falls below, and only the few entries above it are sorted.
    """
    r, n = S.shape
    if k >= n:
        order = np.lexsort((np.broadcast_to(np.arange(n), S.shape), -S), axis=1)
        return np.take_along_axis(S, order, axis=1), order
    m = n // _N_SLICES
    if m < 8 * k or r == 0:
        threshold = np.partition(S, n - k, axis=1)[:, n - k]
        rows, cols = np.nonzero(S >= threshold[:, None])
        return _best_candidates(S, rows, cols, r, k)
    head = m * _N_SLICES
    peak = np.maximum.reduce(S[:, :head].reshape(r, _N_SLICES, m), axis=1)
    threshold = np.partition(peak, m - k, axis=1)[:, m - k]
    rows, cols = np.nonzero(peak >= threshold[:, None])
    cols = (cols[:, None] + m * np.arange(_N_SLICES)).ravel()
    rows = np.repeat(rows, _N_SLICES)
    if head < n:  # the last n - head columns are in no slice: always candidates
        tail = np.arange(head, n)
        rows = np.concatenate([rows, np.repeat(np.arange(r), len(tail))])
        cols = np.concatenate([cols, np.tile(tail, r)])
    keep = S[rows, cols] >= threshold[rows]
    return _best_candidates(S, rows[keep], cols[keep], r, k)


def _best_candidates(S, rows, cols, r, k):
    vals = S[rows, cols]
    order = np.lexsort((cols, -vals, rows))  # by row, then best value, then column
    starts = np.searchsorted(rows[order], np.arange(r))
    pick = order[starts[:, None] + np.arange(k)]
    return vals[pick], cols[pick]


_POOL: ThreadPoolExecutor | None = None
_CONTROLLER = None


def n_workers() -> int:
    """Threads for the top-k pass: as many as the BLAS pool has (threadpoolctl limits count)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()  # walks every shared object: once
    blas = [p["num_threads"] for p in _CONTROLLER.info() if p.get("user_api") == "blas"]
    return max(1, min(max(blas, default=1), os.cpu_count() or 1))


def topk(S: np.ndarray, k: int, workers: int | None = None):
    """:func:`topk_single` on row ranges in threads: the product uses every core, the top-k should too."""
    global _POOL
    workers = n_workers() if workers is None else workers
    if workers <= 1 or len(S) < 64 * workers:
        return topk_single(S, k)
    if _POOL is None or _POOL._max_workers < workers:
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embmap-topk")
    bounds = np.linspace(0, len(S), workers + 1).astype(int)
    parts = list(_POOL.map(lambda i: topk_single(S[bounds[i] : bounds[i + 1]], k), range(workers)))
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def nearest(Q, C, k: int, *, exclude=None, chunk_size=None):
    """Cosines (float32; float64 for float64 queries) and int64 rows of each query's ``k <= len(C)`` nearest candidates, best first.

    ``exclude`` (int array, one entry per query, ``-1`` for none) is a row
    each query may not return (a word is not its own neighbour). Ties go to
    the lower row on numpy; faiss orders ties its own way.
    """
    if _backend == "faiss" and len(Q) and (exclude is None or k < len(C)):
        return _nearest_faiss(Q, C, k, exclude)
    sims = np.empty((len(Q), k), dtype=np.float64 if np.asarray(Q).dtype == np.float64
                    else np.float32)
    rows = np.empty((len(Q), k), dtype=np.int64)
    workers = n_workers()
    for start, S in blocks(Q, C, chunk_size):
        if exclude is not None:
            ex = exclude[start : start + len(S)]
            hit = np.flatnonzero(ex >= 0)
            S[hit, ex[hit]] = -np.inf
        sims[start : start + len(S)], rows[start : start + len(S)] = topk(S, k, workers)
    return sims, rows


def _nearest_faiss(Q, C, k, exclude):
    import faiss

    extra = 0 if exclude is None else 1
    index = faiss.IndexFlatIP(C.shape[1])
    if getattr(faiss, "get_num_gpus", lambda: 0)() > 0 and k + extra <= _FAISS_GPU_MAX_K:
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(np.ascontiguousarray(C, dtype=np.float32))
    sims, rows = index.search(np.ascontiguousarray(Q, dtype=np.float32), k + extra)
    if exclude is not None:  # drop the excluded row where found, else the last of the k + 1
        drop = rows == np.asarray(exclude)[:, None]
        drop[~drop.any(axis=1), -1] = True
        sims, rows = sims[~drop].reshape(len(Q), k), rows[~drop].reshape(len(Q), k)
    return sims.astype(np.float32, copy=False), rows.astype(np.int64, copy=False)


def mean_topk(Q, C, k: int, chunk_size=None) -> np.ndarray:
    """Each query's mean cosine to its ``min(k, len(C))`` nearest candidates (float64)."""
    sims, _ = nearest(Q, C, min(k, len(C)), chunk_size=chunk_size)
    # float64 sum of the sorted values: independent of the order they came in.
    return sims.astype(np.float64).mean(axis=1)


def csls_terms(P, T, sources, csls_k: int, chunk_size=None):
    """CSLS's ``r_T`` (queries ``P`` to targets) and ``r_S`` (targets to ``sources``), float32."""
    return mean_topk(P, T, csls_k, chunk_size).astype(np.float32), target_term(T, sources, csls_k, chunk_size)


def target_term(T, sources, csls_k: int, chunk_size=None) -> np.ndarray:
    """CSLS's ``r_S`` alone (float32): it depends only on the targets and the mapped sources."""
    return mean_topk(T, sources, csls_k, chunk_size).astype(np.float32)


def query_term(S: np.ndarray, csls_k: int, top=None) -> np.ndarray:
    """CSLS's ``r_T`` of a block's queries (float64); ``top``: the block's sorted top-k values, if known."""
    kk = min(csls_k, S.shape[1])
    vals = topk(S, kk)[0] if top is None else top[:, :kk]
    return vals.astype(np.float64).mean(axis=1)


def csls_block(S: np.ndarray, r_T, r_S) -> np.ndarray:
    """``2 S - r_T - r_S`` in place on a float32 block: CSLS (Conneau et al. 2018)."""
    S *= 2
    S -= np.asarray(r_T).astype(np.float32)[:, None]
    S -= np.asarray(r_S, dtype=np.float32)[None, :]
    return S


def gold_rank(S: np.ndarray, gold, twin_cols=None) -> np.ndarray:
    """The rank rule: how many candidates score at least as high as the query's best gold.

    Ties count against the prediction (rank 1 only when the gold alone is
    best). ``gold`` holds the block's queries (int array or
    :class:`~embmap.gold.GoldSets`). ``twin_cols``: candidates that repeat an
    earlier identical one, not counted.
    """
    if isinstance(gold, GoldSets):
        best = np.maximum.reduceat(S[gold.query_of_entry(), gold.indices], gold.indptr[:-1])
    else:
        best = S[np.arange(len(S)), gold]
    ranks = np.count_nonzero(S >= best[:, None], axis=1)
    if twin_cols is not None and len(twin_cols):
        ranks -= np.count_nonzero(S[:, twin_cols] >= best[:, None], axis=1)
    return ranks
