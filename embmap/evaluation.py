"""One trustworthy way to score a mapping: retrieval against ALL targets.

A map is good at retrieval if, for a test word, the gold target vector is
ranked first (or near the top) among *every* target vector, not only among
the other test words: a small candidate set inflates P@1 (with 3,000 test
targets instead of 33,518, chance alone is 11x higher). :func:`evaluate`
always ranks against the full ``targets`` array it is given and reports
that size as ``n_candidates``.

A query may have several gold rows (``gold`` as a sequence of int sequences
or a :class:`~embmap.gold.GoldSets`): it is a hit at k when ANY of them is
within the top k, and its rank is that of its best-scoring gold row.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy import sparse

from embmap._checks import (
    as_matrix,
    check_choice,
    check_int,
    check_real,
    check_same_cols,
    safe_unit_rows,
)
from embmap import _search
from embmap.gold import GoldSets, as_gold, gold_slice, twin_rows
from embmap.retrieval import _RETRIEVALS, _check_chunk_size, target_penalty


def graph_adjacency(graph, n_targets: int) -> sparse.csr_matrix:
    """CSR adjacency over target rows from an edge array, a networkx graph or a matrix."""
    n_targets = check_int(n_targets, "n_targets", minimum=0)
    if sparse.issparse(graph):
        adjacency = sparse.csr_matrix(graph)
    else:
        # networkx graphs are read as their edge list (nodes must be target rows).
        edges = np.asarray(list(graph.edges()) if isinstance(graph, nx.Graph) else graph)
        if edges.size == 0:
            edges = edges.astype(np.int64).reshape(0, 2)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"graph edges must have shape (m, 2), got {edges.shape}")
        if not np.issubdtype(edges.dtype, np.integer):
            # Float edges would be truncated silently (1.7 -> 1): refuse them.
            raise TypeError(f"graph edges must be integer row indices, got dtype {edges.dtype}")
        edges = edges.astype(np.int64)
        if edges.size and (edges.min() < 0 or edges.max() >= n_targets):
            raise ValueError(f"graph edges refer to rows outside targets [0, {n_targets})")
        ones = np.ones(len(edges), dtype=bool)
        adjacency = sparse.coo_matrix(
            (np.r_[ones, ones], (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
            shape=(n_targets, n_targets),
        ).tocsr()
    if adjacency.shape != (n_targets, n_targets):
        raise ValueError(f"graph adjacency has shape {adjacency.shape}, expected {n_targets} nodes")
    return adjacency


IDENTICAL_TARGETS = ("separate", "one")


def _check_inputs(pred, targets, gold):
    pred = as_matrix(pred, "pred")
    targets = as_matrix(targets, "targets")
    check_same_cols(pred, targets, "pred", "targets")
    gold = as_gold(gold, len(targets))
    if len(gold) != len(pred):
        raise ValueError(
            f"gold must have one index per pred row ({len(pred)}), got {len(gold)} "
            "(or one sequence of gold rows per pred row, for several golds)"
        )
    return pred, targets, gold


def evaluate(
    pred,
    targets,
    gold,
    retrieval: str = "nn",
    csls_k: int = 10,
    sources=None,
    graph=None,
    chunk_size: int | None = None,
    identical_targets: str = "separate",
) -> dict:
    """Score predicted vectors by retrieving their gold rows among all targets.

    Parameters
    ----------
    pred : array (n_queries, d)
        Mapped source vectors, one per query word (at least one).
    targets : array (n_targets, d)
        Every candidate target vector (the candidate set is all of them).
    gold : int array (n_queries,), or n_queries int sequences
        Row of ``targets`` that is the right answer for each query; or, for
        queries with several right answers, a sequence of ``n_queries`` int
        sequences (ragged allowed) or a :class:`~embmap.gold.GoldSets`. A
        query then counts as a hit at k when ANY of its gold rows is in the
        top k, and its rank is the rank of its best-scoring gold row.
    retrieval : {"nn", "csls"}
        Cosine nearest neighbour, or CSLS with neighbourhood size ``csls_k``.
    csls_k : int
        CSLS neighbourhood size for ``r_T`` and ``r_S`` (ignored for "nn");
        a positive integer. With fewer than ``csls_k`` targets or sources the
        mean runs over all of them.
    sources : array (n_sources, d), optional
        All mapped source vectors; they define each target's CSLS hubness
        term ``r_S``. Default: ``pred``. Must be finite.
    graph : edge array (m, 2), networkx Graph or sparse matrix, optional
        A graph over target rows; adds ``"graph_hit@10"``, the share of
        queries whose top 10 holds the gold row or one of its neighbours
        (with several golds: any gold row or a neighbour of any of them).
    chunk_size : int, optional
        Queries per block; by default chosen so a block is ~128 MB.
    identical_targets : {"separate", "one"}
        ``"separate"`` (default): every target row is its own candidate.
        ``"one"``: target rows that are exactly equal count as one candidate
        (as bilingual lexicon induction counts several gold translations that
        share a vector): the rank is the number of *distinct* target vectors
        scoring at least as high as the best gold row. Adds
        ``"n_distinct_candidates"``.

    Returns
    -------
    dict
        ``"p@1"``, ``"p@5"``, ``"p@10"``, ``"mrr"`` and ``"mean_cos"`` (mean
        cosine between each prediction and its gold target; with several
        golds, the mean over queries of the largest cosine to any of
        its gold targets), all fractions
        in [0, 1] (``mean_cos`` in [-1, 1]); ``"graph_hit@10"`` when
        ``graph`` is given; ``"n_queries"`` and ``"n_candidates"``.

    Raises
    ------
    ValueError, TypeError
        On non-finite, empty or misshapen arrays, gold rows outside
        ``targets``, an unknown ``retrieval`` or a ``csls_k`` that is not a
        positive integer; the message names the argument.

    Notes
    -----
    The rank of the gold row is the number of targets scoring at least as
    high as it (itself included): ties count *against* the prediction, so a
    collapsed model (e.g. all-zero outputs, every score equal) ranks last,
    not first. Rows are compared by cosine, so each row is scaled to unit
    length first (without overflow, whatever its magnitude); an all-zero
    row has cosine 0 to everything.
    """
    pred, targets, gold = _check_inputs(pred, targets, gold)
    check_choice(identical_targets, "identical_targets", IDENTICAL_TARGETS)
    adjacency = graph_adjacency(graph, len(targets)) if graph is not None else None
    ranks, top = retrieve(pred, targets, gold, retrieval, csls_k, sources, chunk_size,
                          identical_targets=identical_targets)
    result = rank_metrics(ranks)
    result["mean_cos"] = mean_cosine(pred, targets, gold)
    if adjacency is not None:
        result["graph_hit@10"] = graph_hit_rate(top, gold, adjacency)
    result["n_queries"] = len(pred)
    result["n_candidates"] = len(targets)
    if identical_targets == "one":
        result["n_distinct_candidates"] = len(targets) - len(twin_rows(targets))
    return result


def retrieve(pred, targets, gold, retrieval="nn", csls_k=10, sources=None, chunk_size=None,
             n_top=10, r_S=None, identical_targets="separate"):
    """One chunked pass: the rank of each gold row and each query's ``n_top`` best targets.

    The rank is the number of targets scoring at least as high as the gold
    row (ties count against the prediction); with several gold rows per
    query (see :func:`evaluate` for the forms of ``gold``), as high as the
    best-scoring one. With ``identical_targets="one"`` exactly equal target
    rows count once. Everything :func:`evaluate` reports derives from these
    two. ``r_S`` (CSLS only) may be given, from
    :func:`embmap.retrieval.target_penalty`, to reuse it across calls.

    Returns
    -------
    ranks : int64 array (n_queries,)
    top : int64 array (n_queries, min(n_top, n_targets)), best first
    """
    check_choice(retrieval, "retrieval", _RETRIEVALS)
    out = retrieve_all(pred, targets, gold, (retrieval,), csls_k, sources, chunk_size, n_top, r_S,
                       identical_targets)
    return out[retrieval]


def retrieve_all(pred, targets, gold, retrievals=("nn", "csls"), csls_k=10, sources=None,
                 chunk_size=None, n_top=10, r_S=None, identical_targets="separate") -> dict:
    """NN and CSLS gold ranks and top lists from ONE similarity pass over the queries.

    Each block of cosines ``S`` (queries x all targets) serves every
    retrieval: NN ranks and top list from ``S``; the CSLS query term
    ``r_T`` from the top ``csls_k`` of the same rows; then ``S`` becomes the CSLS
    block in place. The target term ``r_S`` is computed once (or passed).
    ``gold`` and ``identical_targets`` as in :func:`evaluate`.

    Returns
    -------
    dict
        ``retrieval -> (ranks, top)`` as in :func:`retrieve`.
    """
    if isinstance(retrievals, str):
        retrievals = (retrievals,)
    for method in retrievals:
        check_choice(method, "retrievals", _RETRIEVALS)
    pred, targets, gold = _check_inputs(pred, targets, gold)
    check_choice(identical_targets, "identical_targets", IDENTICAL_TARGETS)
    twins = twin_rows(targets) if identical_targets == "one" else None
    csls_k = check_int(csls_k, "csls_k", minimum=1)
    n_top = check_int(n_top, "n_top", minimum=1)
    _check_chunk_size(chunk_size)
    P, T = safe_unit_rows(pred), safe_unit_rows(targets)
    use_csls = "csls" in retrievals
    if use_csls:
        if r_S is None:
            S_src = P if sources is None else as_matrix(sources, "sources", n_cols=T.shape[1])
            r_S = target_penalty(T, safe_unit_rows(S_src), csls_k, chunk_size, normalised=True)
        else:
            r_S = as_matrix(np.reshape(r_S, (1, -1)), "r_S", n_cols=len(T))[0]
    n_top = min(n_top, len(T))
    kk = min(csls_k, len(T))
    need = max(n_top if "nn" in retrievals else 0, kk if use_csls else 0)
    results = {m: (np.empty(len(P), dtype=np.int64), np.empty((len(P), n_top), dtype=np.int64))
               for m in retrievals}
    for start, S in _search.blocks(P, T, chunk_size):
        stop = start + len(S)
        g = gold_slice(gold, start, stop)
        vals, idx = _search.topk(S, need)
        if "nn" in results:
            ranks, top = results["nn"]
            ranks[start:stop] = _search.gold_rank(S, g, twins)
            top[start:stop] = idx[:, :n_top]
        if use_csls:
            C = _search.csls_block(S, _search.query_term(S, csls_k, top=vals), r_S)
            ranks, top = results["csls"]
            ranks[start:stop] = _search.gold_rank(C, g, twins)
            top[start:stop] = _search.topk(C, n_top)[1]
    return results


def _check_ranks(ranks, name="ranks") -> np.ndarray:
    """Gold ranks: a non-empty 1-D array of integers >= 1 (as :func:`gold_ranks` returns)."""
    if ranks is None:
        raise TypeError(f"{name} is required, got None")
    arr = np.asarray(ranks)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of gold ranks, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: there is nothing to score (no query words)")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if arr.min() < 1:
        raise ValueError(f"{name} must be >= 1 (rank 1 is best), got a minimum of {arr.min()}")
    return arr


def _check_metric(metric) -> int | None:
    """``"mrr"`` -> None; ``"p@K"`` -> K."""
    if metric == "mrr":
        return None
    if isinstance(metric, str) and metric.startswith("p@") and metric[2:].isdigit() and int(metric[2:]) > 0:
        return int(metric[2:])
    raise ValueError(f"metric must be 'mrr' or 'p@K' with a positive integer K, got {metric!r}")


def rank_metrics(ranks) -> dict:
    """P@1, P@5, P@10 and MRR from gold ranks.

    Shown in notebook 01, section 5 (P@k from the ranks written out there).
    """
    ranks = _check_ranks(ranks)
    return {
        "p@1": float(np.mean(ranks <= 1)),
        "p@5": float(np.mean(ranks <= 5)),
        "p@10": float(np.mean(ranks <= 10)),
        "mrr": float(np.mean(1.0 / ranks)),
    }


def mean_cosine(pred, targets, gold) -> float:
    """Mean cosine between each prediction and its gold target (the regression view).

    With several gold rows per query: the mean over queries of the largest
    cosine between the prediction and any of its gold targets.
    """
    pred, targets, gold = _check_inputs(pred, targets, gold)
    if isinstance(gold, GoldSets):
        P, G = safe_unit_rows(pred), safe_unit_rows(targets[gold.indices])
        cos = np.einsum("ij,ij->i", P[gold.query_of_entry()], G)
        return float(np.mean(np.maximum.reduceat(cos, gold.indptr[:-1])))
    P, G = safe_unit_rows(pred), safe_unit_rows(targets[gold])
    return float(np.mean(np.einsum("ij,ij->i", P, G)))


def graph_hit_rate(top, gold, adjacency) -> float:
    """Share of queries whose top list holds the gold row or one of its graph neighbours.

    With several gold rows per query: the top 10 holds any gold row or a
    graph neighbour of any of them.
    """
    if not sparse.issparse(adjacency):
        raise TypeError(f"adjacency must be a scipy sparse matrix (see graph_adjacency), "
                        f"got {type(adjacency).__name__}")
    n = adjacency.shape[0]
    top = np.asarray(top)
    if top.ndim != 2 or top.shape[1] == 0:
        raise ValueError(f"top must be a 2-D array of target rows (queries x list), got {top.shape}")
    if not np.issubdtype(top.dtype, np.integer):
        raise TypeError(f"top must hold integer target rows, got dtype {top.dtype}")
    gold = as_gold(gold, n)
    if len(gold) == 0:
        raise ValueError("gold must hold at least 1 index(es), got 0")
    if len(gold) != len(top):
        raise ValueError(f"gold must have one index per row of top ({len(top)}), got {len(gold)}")
    if top.min() < 0 or top.max() >= n:
        raise ValueError(f"top must lie in [0, {n})")
    top10 = top[:, :10].astype(np.int64)
    starts = None
    if isinstance(gold, GoldSets):  # one row per (query, gold row); a query hits if any does
        starts, top10, gold = gold.indptr[:-1], top10[gold.query_of_entry()], gold.indices
    # Edge membership by binary search in the sorted keys row * n + column.
    coo = sparse.csr_matrix(adjacency).tocoo()
    keys = np.sort(coo.row.astype(np.int64) * n + coo.col)
    wanted = gold[:, None] * n + top10
    pos = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    is_edge = keys[pos] == wanted if len(keys) else np.zeros(wanted.shape, dtype=bool)
    hits = (top10 == gold[:, None]).any(axis=1) | is_edge.any(axis=1)
    if starts is not None:
        hits = np.logical_or.reduceat(hits, starts)
    return float(np.mean(hits))


def gold_ranks(pred, targets, gold, retrieval="nn", csls_k=10, sources=None, chunk_size=None,
               identical_targets="separate"):
    """Rank (1 = best) of each query's gold row; the basis of every metric above.

    Shown in notebook 01, section 5 (written out and checked against this function).

    With several gold rows per query, the rank of the best-scoring one;
    ``gold`` and ``identical_targets`` as in :func:`evaluate`.

    Useful for bootstrap confidence intervals: resample the ranks, not the map.
    """
    return retrieve(pred, targets, gold, retrieval, csls_k, sources, chunk_size,
                    identical_targets=identical_targets)[0]


def _check_bootstrap(n_boot, level):
    check_int(n_boot, "n_boot", minimum=1)
    check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)


def bootstrap_indices(n: int, n_boot: int, seed=0, groups=None) -> np.ndarray:
    """Row indices of ``n_boot`` bootstrap resamples of ``n`` items: embmap's one resampler.

    Returns an int array ``(n_boot, n)``.  With ``groups`` (one label per
    item) every resample draws within each group, so group sizes are kept
    (e.g. the test words of several splits pooled).  Used by
    :func:`bootstrap_ci`, :func:`paired_bootstrap`,
    :func:`embmap.diagnostics.mean_with_ci` and :mod:`embmap.analysis`, so one
    seed gives one resample.  ``seed`` may also be a ``numpy.random.Generator``,
    which is drawn from (and advanced) in place.
    """
    n = check_int(n, "n", minimum=1)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.integers(0, n, size=(n_boot, n))
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have one entry per query ({n}), got {groups.shape}")
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    return np.hstack([m[rng.integers(0, len(m), size=(n_boot, len(m)))] for m in members])


def _percentile_interval(replicates, level) -> tuple[float, float]:
    alpha = (1 - level) / 2
    return float(np.quantile(replicates, alpha)), float(np.quantile(replicates, 1 - alpha))


def bootstrap_ci(ranks, metric="p@10", n_boot=1000, level=0.95, seed=0):
    """Percentile bootstrap interval of a rank metric over the query words.

    Parameters
    ----------
    ranks : int array
        Output of :func:`gold_ranks` (non-empty, every rank >= 1).
    metric : {"p@1", "p@5", "p@10", "mrr"}
        Or any ``"p@K"``.
    n_boot : int
        Bootstrap replicates (>= 1).
    level : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    value, low, high : float
    """
    ranks = _check_ranks(ranks)
    cutoff = _check_metric(metric)
    _check_bootstrap(n_boot, level)
    per_query = 1.0 / ranks if cutoff is None else (ranks <= cutoff).astype(float)
    means = per_query[bootstrap_indices(len(per_query), n_boot, seed)].mean(axis=1)
    return (float(per_query.mean()), *_percentile_interval(means, level))


def paired_bootstrap_ratio(ranks_a, ranks_b, k=10, n_boot=2000, level=0.95, seed=0):
    """``paired_bootstrap(..., statistic="ratio")``: P@k(a) / P@k(b) with its interval.

    Resamples the *same* query words for both maps in every replicate, so the
    interval reflects how the ratio would vary with another test set of the
    same size, without the extra noise of resampling the two maps apart.

    Returns
    -------
    ratio, low, high : float
        ``P@k(a) / P@k(b)`` and its percentile interval (replicates where
        ``b`` scores 0 are dropped).
    """
    return paired_bootstrap(ranks_a, ranks_b, k, "ratio", None, n_boot, level, seed)


def paired_bootstrap(ranks_a, ranks_b, k=10, statistic="difference", groups=None, n_boot=2000,
                     level=0.95, seed=0):
    """P@k of map a against map b on the same queries, with a paired bootstrap interval.

    Shown in notebook 05, section 4 (written out and checked against this function).

    Every replicate resamples the *same* queries for both maps.  With
    ``groups`` (e.g. the split each query's ranks come from, when test sets
    of several splits are pooled) queries are resampled within each group,
    so every replicate keeps the group sizes.  The interval covers the
    sampling of test words only, not retraining or re-splitting.

    Parameters
    ----------
    ranks_a, ranks_b : int arrays of the same shape
        Gold ranks (:func:`gold_ranks`) of the two maps, query by query.
    k : int
        The P@k cutoff (a number of results).
    statistic : {"difference", "ratio"}
        ``P@k(a) - P@k(b)`` or ``P@k(a) / P@k(b)`` (replicates where b scores
        0 are dropped for the ratio).
    groups : array of the same length, optional
        Resampling strata.

    Returns
    -------
    value, low, high : float
    """
    ranks_a, ranks_b = _check_ranks(ranks_a, "ranks_a"), _check_ranks(ranks_b, "ranks_b")
    k = check_int(k, "k", minimum=1)
    check_choice(statistic, "statistic", ("difference", "ratio"))
    _check_bootstrap(n_boot, level)
    if ranks_a.shape != ranks_b.shape:
        raise ValueError(f"ranks_a and ranks_b must score the same queries (same length), "
                         f"got {len(ranks_a)} and {len(ranks_b)}")
    hits_a, hits_b = (ranks_a <= k).astype(float), (ranks_b <= k).astype(float)
    if statistic == "ratio" and hits_b.sum() == 0:
        raise ValueError(f"ranks_b has P@{k} = 0; the ratio is undefined")
    idx = bootstrap_indices(len(hits_a), n_boot, seed, groups)
    num, den = hits_a[idx].mean(axis=1), hits_b[idx].mean(axis=1)
    if statistic == "difference":
        value, reps = hits_a.mean() - hits_b.mean(), num - den
    else:
        value, reps = hits_a.mean() / hits_b.mean(), num[den > 0] / den[den > 0]
    return (float(value), *_percentile_interval(reps, level))
