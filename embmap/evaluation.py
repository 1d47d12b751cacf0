"""One trustworthy way to score a mapping: retrieval against ALL targets.

A map is good at retrieval if, for a test word, the gold target vector is
ranked first (or near the top) among *every* target vector, not only among
the other test words: a small candidate set inflates P@1 (with 3,000 test
targets instead of 33,518, chance alone is 11x higher). :func:`evaluate`
always ranks against the full ``targets`` array it is given and reports
that size as ``n_candidates``.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy import sparse

from embmap.retrieval import score_chunks, unit_rows


def graph_adjacency(graph, n_targets: int) -> sparse.csr_matrix:
    """CSR adjacency over target rows from an edge array, a networkx graph or a matrix."""
    if sparse.issparse(graph):
        adjacency = sparse.csr_matrix(graph)
    else:
        # networkx graphs are read as their edge list (nodes must be target rows).
        edges = np.array(list(graph.edges()) if isinstance(graph, nx.Graph) else graph)
        edges = edges.astype(np.int64).reshape(-1, 2) if edges.size == 0 else edges.astype(np.int64)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"graph edges must have shape (m, 2), got {edges.shape}")
        if edges.size and (edges.min() < 0 or edges.max() >= n_targets):
            raise ValueError("graph edges refer to rows outside targets")
        ones = np.ones(len(edges), dtype=bool)
        adjacency = sparse.coo_matrix(
            (np.r_[ones, ones], (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
            shape=(n_targets, n_targets),
        ).tocsr()
    if adjacency.shape != (n_targets, n_targets):
        raise ValueError(f"graph adjacency has shape {adjacency.shape}, expected {n_targets} nodes")
    return adjacency


def _check_inputs(pred, targets, gold):
    pred = np.asarray(pred, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float32)
    gold = np.asarray(gold)
    if pred.ndim != 2 or targets.ndim != 2:
        raise ValueError(f"pred and targets must be 2-D, got {pred.shape} and {targets.shape}")
    if pred.shape[1] != targets.shape[1]:
        raise ValueError(
            f"pred has {pred.shape[1]} columns but targets have {targets.shape[1]}: "
            "map the sources into the target space first"
        )
    if gold.shape != (len(pred),):
        raise ValueError(f"gold must have one index per pred row ({len(pred)}), got {gold.shape}")
    if not np.issubdtype(gold.dtype, np.integer):
        raise ValueError("gold must hold integer row indices into targets")
    if len(gold) and (gold.min() < 0 or gold.max() >= len(targets)):
        raise ValueError(f"gold indices must lie in [0, {len(targets)})")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(targets))):
        raise ValueError("pred and targets must be finite (no NaN or inf)")
    return pred, targets, gold.astype(np.int64)


def evaluate(
    pred,
    targets,
    gold,
    retrieval: str = "nn",
    k: int = 10,
    sources=None,
    graph=None,
    chunk_size: int | None = None,
) -> dict:
    """Score predicted vectors by retrieving their gold rows among all targets.

    Parameters
    ----------
    pred : array (n_queries, d)
        Mapped source vectors, one per query word.
    targets : array (n_targets, d)
        Every candidate target vector (the candidate set is all of them).
    gold : int array (n_queries,)
        Row of ``targets`` that is the right answer for each query.
    retrieval : {"nn", "csls"}
        Cosine nearest neighbour, or CSLS with neighbourhood size ``k``.
    k : int
        CSLS neighbourhood size for ``r_T`` and ``r_S`` (ignored for "nn").
    sources : array (n_sources, d), optional
        All mapped source vectors; they define each target's CSLS hubness
        term ``r_S``. Default: ``pred``.
    graph : edge array (m, 2), networkx Graph or sparse matrix, optional
        A graph over target rows; adds ``"graph_hit@10"``, the share of
        queries whose top 10 holds the gold row or one of its neighbours.
    chunk_size : int, optional
        Queries per block; by default chosen so a block is ~64 MB.

    Returns
    -------
    dict
        ``"p@1"``, ``"p@5"``, ``"p@10"``, ``"mrr"`` and ``"mean_cos"`` (mean
        cosine between each prediction and its gold target), all fractions
        in [0, 1] (``mean_cos`` in [-1, 1]); ``"graph_hit@10"`` when
        ``graph`` is given; ``"n_queries"`` and ``"n_candidates"``.

    Notes
    -----
    The rank of the gold row is the number of targets scoring at least as
    high as it (itself included): ties count *against* the prediction, so a
    collapsed model (e.g. all-zero outputs, every score equal) ranks last,
    not first.
    """
    pred, targets, gold = _check_inputs(pred, targets, gold)
    adjacency = graph_adjacency(graph, len(targets)) if graph is not None else None
    ranks, top = retrieve(pred, targets, gold, retrieval, k, sources, chunk_size)
    result = rank_metrics(ranks)
    result["mean_cos"] = mean_cosine(pred, targets, gold)
    if adjacency is not None:
        result["graph_hit@10"] = graph_hit_rate(top, gold, adjacency)
    result["n_queries"] = len(pred)
    result["n_candidates"] = len(targets)
    return result


def retrieve(pred, targets, gold, retrieval="nn", k=10, sources=None, chunk_size=None, n_top=10):
    """One chunked pass: the rank of each gold row and each query's ``n_top`` best targets.

    The rank is the number of targets scoring at least as high as the gold
    row (ties count against the prediction). Everything :func:`evaluate`
    reports derives from these two.
    """
    pred, targets, gold = _check_inputs(pred, targets, gold)
    n_top = min(n_top, len(targets))
    ranks = np.empty(len(pred), dtype=np.int64)
    top = np.empty((len(pred), n_top), dtype=np.int64)
    for start, S in score_chunks(pred, targets, retrieval, k, sources, chunk_size):
        rows = np.arange(len(S))
        g = gold[start : start + len(S)]
        ranks[start : start + len(S)] = np.sum(S >= S[rows, g][:, None], axis=1)
        part = np.argpartition(-S, n_top - 1, axis=1)[:, :n_top]
        order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1, kind="stable")
        top[start : start + len(S)] = np.take_along_axis(part, order, axis=1)
    return ranks, top


def rank_metrics(ranks) -> dict:
    """P@1, P@5, P@10 and MRR from gold ranks."""
    ranks = np.asarray(ranks)
    return {
        "p@1": float(np.mean(ranks <= 1)),
        "p@5": float(np.mean(ranks <= 5)),
        "p@10": float(np.mean(ranks <= 10)),
        "mrr": float(np.mean(1.0 / ranks)),
    }


def mean_cosine(pred, targets, gold) -> float:
    """Mean cosine between each prediction and its gold target (the regression view)."""
    return float(np.mean(np.sum(unit_rows(pred) * unit_rows(targets)[gold], axis=1)))


def graph_hit_rate(top, gold, adjacency) -> float:
    """Share of queries whose top list holds the gold row or one of its graph neighbours."""
    top10 = np.asarray(top)[:, :10]
    hits = np.empty(len(top10), dtype=bool)
    for i, (found, answer) in enumerate(zip(top10, gold)):
        neighbours = adjacency.indices[adjacency.indptr[answer] : adjacency.indptr[answer + 1]]
        hits[i] = answer in found or np.isin(found, neighbours).any()
    return float(np.mean(hits))


def gold_ranks(pred, targets, gold, retrieval="nn", k=10, sources=None, chunk_size=None):
    """Rank (1 = best) of each query's gold row; the basis of every metric above.

    Useful for bootstrap confidence intervals: resample the ranks, not the map.
    """
    return retrieve(pred, targets, gold, retrieval, k, sources, chunk_size)[0]


def bootstrap_ci(ranks, metric="p@10", n_boot=1000, level=0.95, seed=0):
    """Percentile bootstrap interval of a rank metric over the query words.

    Parameters
    ----------
    ranks : int array
        Output of :func:`gold_ranks`.
    metric : {"p@1", "p@5", "p@10", "mrr"}
    """
    ranks = np.asarray(ranks)
    values = {"mrr": 1.0 / ranks}
    if metric != "mrr":
        values[metric] = (ranks <= int(metric.split("@")[1])).astype(float)
    per_query = values[metric]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(per_query), size=(n_boot, len(per_query)))
    means = per_query[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(per_query.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_bootstrap_ratio(ranks_a, ranks_b, k=10, n_boot=2000, level=0.95, seed=0):
    """Ratio of P@k of two maps scored on the same queries, with a paired bootstrap interval.

    Resamples the *same* query words for both maps in every replicate, so the
    interval reflects how the ratio would vary with another test set of the
    same size, without the extra noise of resampling the two maps apart.

    Returns
    -------
    ratio, low, high : float
        ``P@k(a) / P@k(b)`` and its percentile interval (replicates where
        ``b`` scores 0 are dropped).
    """
    hits_a = (np.asarray(ranks_a) <= k).astype(float)
    hits_b = (np.asarray(ranks_b) <= k).astype(float)
    if hits_a.shape != hits_b.shape:
        raise ValueError("both maps must be scored on the same queries")
    if hits_b.sum() == 0:
        raise ValueError(f"map b has P@{k} = 0; the ratio is undefined")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(hits_a), size=(n_boot, len(hits_a)))
    num, den = hits_a[idx].mean(axis=1), hits_b[idx].mean(axis=1)
    ratios = num[den > 0] / den[den > 0]
    alpha = (1 - level) / 2
    return float(hits_a.mean() / hits_b.mean()), float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha))


def paired_bootstrap(ranks_a, ranks_b, k=10, statistic="difference", groups=None, n_boot=2000,
                     level=0.95, seed=0):
    """P@k of map a against map b on the same queries, with a paired bootstrap interval.

    Every replicate resamples the *same* queries for both maps.  With
    ``groups`` (e.g. the split each query's ranks come from, when test sets
    of several splits are pooled) queries are resampled within each group,
    so every replicate keeps the group sizes.  The interval covers the
    sampling of test words only, not retraining or re-splitting.

    Parameters
    ----------
    ranks_a, ranks_b : int arrays of the same shape
        Gold ranks (:func:`gold_ranks`) of the two maps, query by query.
    statistic : {"difference", "ratio"}
        ``P@k(a) - P@k(b)`` or ``P@k(a) / P@k(b)`` (replicates where b scores
        0 are dropped for the ratio).
    groups : array of the same length, optional
        Resampling strata.

    Returns
    -------
    value, low, high : float
    """
    hits_a = (np.asarray(ranks_a) <= k).astype(float)
    hits_b = (np.asarray(ranks_b) <= k).astype(float)
    if hits_a.ndim != 1 or hits_a.shape != hits_b.shape or len(hits_a) == 0:
        raise ValueError("ranks_a and ranks_b must be non-empty 1-d arrays of the same length "
                         "(both maps scored on the same queries)")
    if statistic not in ("difference", "ratio"):
        raise ValueError(f"statistic must be 'difference' or 'ratio', got {statistic!r}")
    if statistic == "ratio" and hits_b.sum() == 0:
        raise ValueError(f"map b has P@{k} = 0; the ratio is undefined")
    groups = np.zeros(len(hits_a), dtype=int) if groups is None else np.asarray(groups)
    if groups.shape != hits_a.shape:
        raise ValueError(f"groups must have one entry per query ({len(hits_a)}), got {groups.shape}")
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    idx = np.hstack([m[rng.integers(0, len(m), size=(n_boot, len(m)))] for m in members])
    num, den = hits_a[idx].mean(axis=1), hits_b[idx].mean(axis=1)
    if statistic == "difference":
        value, reps = hits_a.mean() - hits_b.mean(), num - den
    else:
        value, reps = hits_a.mean() / hits_b.mean(), num[den > 0] / den[den > 0]
    alpha = (1 - level) / 2
    return float(value), float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha))
