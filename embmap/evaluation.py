"""One trustworthy way to score a mapping: retrieval against ALL targets.

A test word's gold target must rank high among *every* target vector, not
only among the other test words (a small candidate set inflates P@k):
:func:`evaluate` ranks against all ``targets`` and reports ``n_candidates``.
A query may have several gold rows (int sequences or a
:class:`~embmap.gold.GoldSets`): a hit at k when ANY is in the top k, ranked
by its best-scoring one.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy import sparse

from embmap import _search
from embmap._validation import as_matrix, check_choice, check_int, check_same_cols, safe_unit_rows
from embmap.bootstrap import bootstrap_indices, check_bootstrap, mean_interval, percentile_interval
from embmap.gold import GoldSets, as_gold, twin_rows
from embmap.retrieval import _RETRIEVALS, _check_chunk_size, _unit_sources

__all__ = [
    "IDENTICAL_TARGETS", "bootstrap_ci", "evaluate", "gold_ranks", "graph_adjacency", "graph_hit_rate",
    "mean_cosine", "paired_bootstrap", "paired_bootstrap_ratio", "rank_metrics", "retrieve", "retrieve_all",
]


IDENTICAL_TARGETS = ("separate", "one")


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
        both_ways = (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])
        adjacency = sparse.csr_matrix((np.ones(2 * len(edges), dtype=bool), both_ways),
                                      shape=(n_targets, n_targets))
    if adjacency.shape != (n_targets, n_targets):
        raise ValueError(f"graph adjacency has shape {adjacency.shape}, expected {n_targets} nodes")
    return adjacency


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


def evaluate(pred, targets, gold, retrieval: str = "nn", *, csls_k: int = 10, sources=None, graph=None,
             chunk_size: int | None = None, identical_targets: str = "separate") -> dict:
    """Score predicted vectors by retrieving their gold rows among all targets.

    A gold row's rank is the number of targets scoring at least as high,
    itself included: ties count *against* the prediction, so a collapsed
    model (every score equal) ranks last. Rows are compared by cosine (an
    all-zero row has cosine 0 to everything). Bad inputs raise ``ValueError``
    or ``TypeError`` naming the argument.

    Parameters
    ----------
    gold : int array (n_queries,), or n_queries int sequences
        Each query's target row, or several (see the module).
    retrieval, csls_k, sources
        Cosine ``"nn"``, or ``"csls"`` with neighbourhood ``csls_k``; ``sources``
        (default ``pred``): all mapped source vectors, which define CSLS's ``r_S``.
    graph : edges (m, 2), networkx Graph or sparse matrix, optional
        Over target rows: adds ``"graph_hit@10"`` (:func:`graph_hit_rate`).
    chunk_size : int, optional
        Queries per block (default: blocks of ~128 MB).
    identical_targets : {"separate", "one"}
        ``"one"``: exactly equal target rows count as one candidate (as lexicon
        induction counts gold translations sharing a vector); adds
        ``"n_distinct_candidates"``.

    Returns
    -------
    dict
        ``"p@1"``, ``"p@5"``, ``"p@10"``, ``"mrr"``, ``"mean_cos"``
        (:func:`mean_cosine`), ``"n_queries"``, ``"n_candidates"``.
    """
    pred, targets, gold = _check_inputs(pred, targets, gold)
    check_choice(identical_targets, "identical_targets", IDENTICAL_TARGETS)
    adjacency = graph_adjacency(graph, len(targets)) if graph is not None else None
    ranks, top = retrieve(pred, targets, gold, retrieval, csls_k=csls_k, sources=sources,
                          chunk_size=chunk_size, identical_targets=identical_targets)
    result = rank_metrics(ranks)
    result["mean_cos"] = mean_cosine(pred, targets, gold)
    if adjacency is not None:
        result["graph_hit@10"] = graph_hit_rate(top, gold, adjacency)
    result["n_queries"] = len(pred)
    result["n_candidates"] = len(targets)
    if identical_targets == "one":
        result["n_distinct_candidates"] = len(targets) - len(twin_rows(targets))
    return result


def retrieve(pred, targets, gold, retrieval="nn", *, csls_k=10, sources=None, chunk_size=None,
             n_top=10, r_S=None, identical_targets="separate"):
    """Each query's gold rank and its ``n_top`` best targets, in one pass; the basis of :func:`evaluate`.

    Returns ``(ranks, top)``: int64 arrays (n_queries,) and (n_queries,
    min(n_top, n_targets)), best first. Arguments as in :func:`evaluate`;
    ``r_S`` (CSLS only), from :func:`embmap.retrieval.target_penalty`, reuses it across calls.
    """
    check_choice(retrieval, "retrieval", _RETRIEVALS)
    return retrieve_all(pred, targets, gold, (retrieval,), csls_k=csls_k, sources=sources,
                        chunk_size=chunk_size, n_top=n_top, r_S=r_S,
                        identical_targets=identical_targets)[retrieval]


def retrieve_all(pred, targets, gold, retrievals=("nn", "csls"), *, csls_k=10, sources=None,
                 chunk_size=None, n_top=10, r_S=None, identical_targets="separate") -> dict:
    """:func:`retrieve` for NN and CSLS from ONE similarity pass: ``{retrieval: (ranks, top)}``.

    Each block of cosines serves NN, then becomes the CSLS block in place.
    """
    retrievals = (retrievals,) if isinstance(retrievals, str) else retrievals
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
    if use_csls and r_S is None:
        r_S = _search.target_term(T, _unit_sources(sources, P, T.shape[1]), csls_k, chunk_size)
    elif use_csls:
        r_S = as_matrix(np.reshape(r_S, (1, -1)), "r_S", n_cols=len(T))[0]
    n_top = min(n_top, len(T))
    need = max(n_top if "nn" in retrievals else 0, min(csls_k, len(T)) if use_csls else 0)
    results = {m: (np.empty(len(P), dtype=np.int64), np.empty((len(P), n_top), dtype=np.int64))
               for m in retrievals}
    for start, S in _search.blocks(P, T, chunk_size):
        stop = start + len(S)
        g = gold[start:stop]
        vals, idx = _search.topk(S, need)
        if "nn" in results:
            results["nn"][0][start:stop] = _search.gold_rank(S, g, twins)
            results["nn"][1][start:stop] = idx[:, :n_top]
        if use_csls:
            C = _search.csls_block(S, _search.query_term(S, csls_k, top=vals), r_S)
            results["csls"][0][start:stop] = _search.gold_rank(C, g, twins)
            results["csls"][1][start:stop] = _search.topk(C, n_top)[1]
    return results


def gold_ranks(pred, targets, gold, retrieval="nn", *, csls_k=10, sources=None, chunk_size=None,
               identical_targets="separate"):
    """Rank (1 = best) of each query's gold row, as in :func:`evaluate`; resample these for intervals.

    Shown in notebook 01, section 5 (written out and checked against this function).
    """
    return retrieve(pred, targets, gold, retrieval, csls_k=csls_k, sources=sources,
                    chunk_size=chunk_size, identical_targets=identical_targets)[0]


def _check_ranks(ranks, name="ranks") -> np.ndarray:
    """Gold ranks: a non-empty 1-D array of numbers >= 1."""
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


def rank_metrics(ranks, *, ks=(1, 5, 10)) -> dict:
    """P@k for each k of ``ks`` (keys ``"p@k"``) and MRR (``"mrr"``) from gold ranks.

    Shown in notebook 01, section 5 (P@k from the ranks written out there).
    """
    ranks = _check_ranks(ranks)
    out = {f"p@{k}": float(np.mean(ranks <= check_int(k, "ks", minimum=1))) for k in ks}
    out["mrr"] = float(np.mean(1.0 / ranks))
    return out


def mean_cosine(pred, targets, gold) -> float:
    """Mean cosine between each prediction and its gold target (with several: the closest one)."""
    pred, targets, gold = _check_inputs(pred, targets, gold)
    sets = isinstance(gold, GoldSets)
    P = safe_unit_rows(pred)[gold.query_of_entry()] if sets else safe_unit_rows(pred)
    cos = np.einsum("ij,ij->i", P, safe_unit_rows(targets[gold.indices if sets else gold]))
    return float(np.mean(np.maximum.reduceat(cos, gold.indptr[:-1]) if sets else cos))


def graph_hit_rate(top, gold, adjacency) -> float:
    """Share of queries whose top 10 holds a gold row or a graph neighbour of one."""
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
    return float(np.mean(_graph_hits(top[:, :10], gold, adjacency)))


def _graph_hits(top, gold, adjacency) -> np.ndarray:
    """Per query (checked inputs): does ``top`` hold a gold row or a neighbour of one?

    A neighbour is a stored non-zero entry of ``adjacency`` (an explicitly stored 0 is no edge).
    """
    n, top, starts = adjacency.shape[0], top.astype(np.int64), None
    if isinstance(gold, GoldSets):  # one row per (query, gold row); a query hits if any does
        starts, top, gold = gold.indptr[:-1], top[gold.query_of_entry()], gold.indices
    # Edge membership by binary search in the sorted keys row * n + column.
    coo = sparse.csr_matrix(adjacency).tocoo()
    stored = coo.data != 0
    keys = np.sort(coo.row[stored].astype(np.int64) * n + coo.col[stored])
    wanted = gold[:, None] * n + top
    pos = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    is_edge = keys[pos] == wanted if len(keys) else np.zeros(wanted.shape, dtype=bool)
    hits = (top == gold[:, None]).any(axis=1) | is_edge.any(axis=1)
    return hits if starts is None else np.logical_or.reduceat(hits, starts)


def _check_metric(metric) -> int | None:
    """``"mrr"`` -> None; ``"p@K"`` -> K."""
    if metric == "mrr":
        return None
    if isinstance(metric, str) and metric.startswith("p@") and metric[2:].isdigit() and int(metric[2:]) > 0:
        return int(metric[2:])
    raise ValueError(f"metric must be 'mrr' or 'p@K' with a positive integer K, got {metric!r}")


def bootstrap_ci(ranks, metric="p@10", *, n_boot=1000, level=0.95, seed=0):
    """A rank metric (``"mrr"`` or any ``"p@K"``) and its percentile bootstrap interval over the queries.

    ``ranks`` as from :func:`gold_ranks`. Returns ``(value, low, high)``.
    """
    ranks = _check_ranks(ranks)
    cutoff = _check_metric(metric)
    per_query = 1.0 / ranks if cutoff is None else (ranks <= cutoff).astype(float)
    return mean_interval(per_query, n_boot=n_boot, level=level, seed=seed)


def paired_bootstrap_ratio(ranks_a, ranks_b, *, k=10, n_boot=2000, level=0.95, seed=0):
    """``paired_bootstrap(..., statistic="ratio")``: P@k(a) / P@k(b) and its interval."""
    return paired_bootstrap(ranks_a, ranks_b, k=k, statistic="ratio", n_boot=n_boot, level=level,
                            seed=seed)


def paired_bootstrap(ranks_a, ranks_b, *, k=10, statistic="difference", groups=None, n_boot=2000,
                     level=0.95, seed=0):
    """P@k of map a against map b on the same queries, with a paired bootstrap interval.

    Shown in notebook 05, section 4 (written out and checked against this function).

    Every replicate resamples the *same* queries for both maps (within each
    of ``groups``, e.g. the split of each query when several splits' test
    words are pooled): the interval covers the sampling of test words only,
    not retraining. ``statistic``: ``"difference"`` P@k(a) - P@k(b), or
    ``"ratio"`` P@k(a) / P@k(b) (replicates where b scores 0 are dropped).
    Returns ``(value, low, high)``.
    """
    ranks_a, ranks_b = _check_ranks(ranks_a, "ranks_a"), _check_ranks(ranks_b, "ranks_b")
    k = check_int(k, "k", minimum=1)
    check_choice(statistic, "statistic", ("difference", "ratio"))
    check_bootstrap(n_boot, level)
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
    return (float(value), *percentile_interval(reps, level))
