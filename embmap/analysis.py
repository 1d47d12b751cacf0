"""Where maps fail: learning curves, grouped scores, coverage and new-word checks.

Shown in notebook 08 ("Where maps fail"): P@k per group of words and over training-set sizes
with bootstrap intervals, how the retrieved lists cover the targets (hubs, never-retrieved
targets), words without a graph vector (:func:`remove_edges`, :func:`graph_hits`), and WordNet
parts of speech.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from embmap import _search
from embmap._validation import as_indices, as_matrix, check_int, check_real, safe_unit_rows
from embmap.bootstrap import check_bootstrap, mean_interval
from embmap.datasets import _check_edges, _check_train, default_data_dir
from embmap.evaluation import _check_ranks, _graph_hits, rank_metrics
from embmap.gold import as_gold
from embmap.io import read_npz

__all__ = [
    "POS_NAMES", "curve_summary", "graph_hits", "grouped_scores", "learning_curve",
    "load_pos_senses", "nearest_training_neighbour", "remove_edges", "retrieval_coverage",
    "subset_sizes",
]

POS_NAMES = ("noun", "verb", "adjective", "adverb")


def _check_hits(hits, name="hits") -> np.ndarray:
    """Per-query outcomes: a non-empty 1-D array of finite numbers (booleans allowed)."""
    if hits is None:
        raise TypeError(f"{name} is required, got None")
    arr = np.asarray(hits)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one value per query), got shape {arr.shape}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers or booleans, got dtype {arr.dtype}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_top(top, k, n, what="rows", only_k=False) -> np.ndarray:
    """The first ``k`` columns of retrieved lists (int, rows in ``[0, n)``: all or ``only_k``)."""
    top = np.asarray(top)
    if top.ndim != 2 or top.shape[0] == 0 or top.shape[1] < k:
        raise ValueError(f"top must be a 2-D array (queries x at least k={k} {what}), got "
                         f"shape {top.shape}")
    if not np.issubdtype(top.dtype, np.integer):
        raise TypeError(f"top must hold integer {what.replace('targets', 'target rows')}, got "
                        f"dtype {top.dtype}")
    checked = top[:, :k] if only_k else top
    if checked.min() < 0 or checked.max() >= n:
        raise ValueError(f"top must lie in [0, {n}), got values from {checked.min()} to "
                         f"{checked.max()}")
    return top[:, :k]


def grouped_scores(ranks=None, groups=None, k=10, hits=None, n_boot=1000, level=0.95, seed=0):
    """P@k (or the mean of any per-query hit) per group of queries, with bootstrap intervals.

    Give exactly one of ``ranks`` (gold ranks; a hit is ``rank <= k``) and ``hits`` (per query
    0/1 or booleans, e.g. :func:`graph_hits`); ``groups``: one label per query, none missing.
    Returns a DataFrame indexed by group (categories in their order, else sorted) with columns
    ``n``, ``value``, ``lo``, ``hi`` (percentile bootstrap over each group's queries).
    """
    if (ranks is None) == (hits is None):
        raise ValueError("give exactly one of ranks and hits")
    if ranks is not None:
        k = check_int(k, "k", minimum=1)
        values = (_check_ranks(ranks) <= k).astype(float)
    else:
        values = _check_hits(hits)
    if groups is None:
        raise TypeError("groups is required, got None")
    labels = pd.Series(groups) if not isinstance(groups, pd.Series) else groups.reset_index(drop=True)
    if labels.ndim != 1 or len(labels) != len(values):
        raise ValueError(f"groups must hold one label per query ({len(values)}), got {len(labels)}")
    if labels.isna().any():
        raise ValueError(f"groups has {int(labels.isna().sum())} missing label(s); drop those queries first")
    check_bootstrap(n_boot, level)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    if isinstance(labels.dtype, pd.CategoricalDtype):
        order = [c for c in labels.cat.categories if (labels == c).any()]
    else:
        order = sorted(labels.unique())
    rows = []
    for g in order:
        v = values[(labels == g).to_numpy()]
        value, lo, hi = mean_interval(v, n_boot=n_boot, level=level, seed=rng)
        rows.append({"group": g, "n": len(v), "value": value, "lo": lo, "hi": hi})
    return pd.DataFrame(rows).set_index("group")


def subset_sizes(n_train, sizes) -> list:
    """The sorted distinct training-set sizes; None (or a size >= ``n_train``) means ``n_train``."""
    n_train = check_int(n_train, "n_train", minimum=1)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a sequence of integers, got {type(sizes).__name__}")
    out = set()
    for s in sizes:
        out.add(n_train if s is None else min(check_int(s, "sizes", minimum=1), n_train))
    if not out:
        raise ValueError("sizes must hold at least one size")
    return sorted(out)


def learning_curve(run: Callable, train, sizes, n_repeats=3, seed=0, repeats_for=None) -> pd.DataFrame:
    """Refit maps on random subsets of the training rows and collect their gold ranks.

    ``run(rows, repeat)`` fits every method on ``rows`` (a random subset of ``train``) and
    returns ``{method: gold ranks of the evaluation words}`` (the same words every call). Each
    size of :func:`subset_sizes` is drawn ``n_repeats`` times (``repeats_for(size)`` if given;
    the full set once). Returns one row per (size, repeat, method) with ``p@1``, ``p@10``,
    ``mrr`` and the ``ranks`` (for :func:`curve_summary`).
    """
    if not callable(run):
        raise TypeError(f"run must be callable, got {type(run).__name__}")
    train = _check_train(train, np.iinfo(np.int64).max)
    n_repeats = check_int(n_repeats, "n_repeats", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    rows = []
    for size in subset_sizes(len(train), sizes):
        repeats = n_repeats if repeats_for is None else check_int(repeats_for(size), "repeats_for(size)", minimum=1)
        repeats = 1 if size == len(train) else repeats
        for repeat in range(repeats):
            subset = np.sort(rng.choice(train, size=size, replace=False))
            result = run(subset, repeat)
            if not isinstance(result, dict) or not result:
                raise TypeError("run must return a non-empty dict {method: gold ranks}")
            for method, ranks in result.items():
                ranks = _check_ranks(ranks, f"ranks of {method!r}")
                m = rank_metrics(ranks)
                rows.append({"size": size, "repeat": repeat, "method": method, "p@1": m["p@1"],
                             "p@10": m["p@10"], "mrr": m["mrr"], "ranks": ranks})
    return pd.DataFrame(rows)


def curve_summary(curve: pd.DataFrame, k=10, n_boot=1000, level=0.95, seed=0) -> pd.DataFrame:
    """P@k per (method, size): mean over subsets and a bootstrap interval over test words.

    The ranks of all subsets of one size are pooled and resampled within each subset; ``sd`` is
    the spread of P@k over subsets (NaN with one). Columns ``method``, ``size``, ``subsets``,
    ``p@k``, ``lo``, ``hi``, ``sd``.
    """
    if not isinstance(curve, pd.DataFrame) or not {"size", "repeat", "method", "ranks"} <= set(curve.columns):
        raise TypeError("curve must be the DataFrame returned by learning_curve")
    if curve.empty:
        raise ValueError("curve is empty")
    k = check_int(k, "k", minimum=1)
    check_bootstrap(n_boot, level)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    out = []
    for (method, size), part in curve.groupby(["method", "size"], sort=False):
        hits = [(_check_ranks(r) <= k).astype(float) for r in part["ranks"]]
        values = np.concatenate(hits)
        strata = np.concatenate([np.full(len(h), i) for i, h in enumerate(hits)])
        value, lo, hi = mean_interval(values, n_boot=n_boot, level=level, seed=rng, groups=strata)
        per_subset = [h.mean() for h in hits]
        out.append({"method": method, "size": size, "subsets": len(hits), f"p@{k}": value, "lo": lo,
                    "hi": hi, "sd": float(np.std(per_subset, ddof=1)) if len(hits) > 1 else np.nan})
    return pd.DataFrame(out)


def retrieval_coverage(top, n_targets, k=10, hub_factor=10.0) -> dict:
    """How the retrieved lists cover the targets: never-retrieved targets, hubs, reach.

    ``top`` (q, >= k) holds each query's retrieved rows, best first; the first ``k`` count. A
    *hub* is retrieved more than ``hub_factor`` times as often as the average target. Returns
    ``counts`` (N_k of every target), ``reached`` (share of targets in some list),
    ``never_retrieved``, ``max_count``, ``hub_threshold``, ``n_hubs``, ``hub_share`` (share of
    the list slots taken by hubs), ``hubs`` (most retrieved first) and ``reach_cap`` (the
    largest share ``q * k`` slots could reach).
    """
    n_targets = check_int(n_targets, "n_targets", minimum=1)
    k = check_int(k, "k", minimum=1)
    hub_factor = check_real(hub_factor, "hub_factor", low=1.0, low_open=True)
    top = _check_top(top, k, n_targets, "targets", only_k=True)
    counts = np.bincount(top.ravel(), minlength=n_targets)
    threshold = hub_factor * top.size / n_targets
    hubs = np.flatnonzero(counts > threshold)
    hubs = hubs[np.argsort(-counts[hubs], kind="stable")]
    reached = float(np.mean(counts > 0))
    return {"counts": counts, "reached": reached, "never_retrieved": 1.0 - reached,
            "max_count": int(counts.max()), "hub_threshold": float(threshold), "n_hubs": len(hubs),
            "hub_share": float(counts[hubs].sum() / top.size), "hubs": hubs,
            "reach_cap": min(1.0, top.size / n_targets)}


def remove_edges(edges, rows) -> np.ndarray:
    """The edges (in order) with neither end in ``rows``: the graph a method may see for new words."""
    edges = _check_edges(edges)
    return edges[~np.isin(edges, as_indices(rows, "rows", np.iinfo(np.int64).max)).any(axis=1)]


def graph_hits(top, gold, adjacency, k=10) -> np.ndarray:
    """Per query (bool array): is a gold row or a graph neighbour of one among the top ``k``?

    The per-query form of :func:`embmap.evaluation.graph_hit_rate`. ``gold``: one row per
    query, or several (``pair.gold(rows)``); ``adjacency``: the full graph
    (:func:`embmap.evaluation.graph_adjacency`). For words treated as new, pass top lists over
    candidates without them.
    """
    if not sparse.issparse(adjacency):
        raise TypeError("adjacency must be a scipy sparse matrix (embmap.evaluation."
                        f"graph_adjacency), got {type(adjacency).__name__}")
    n = adjacency.shape[0]
    top = _check_top(top, check_int(k, "k", minimum=1), n)
    gold = as_gold(gold, n)
    if len(gold) != len(top):
        raise ValueError(f"gold must hold one row per query ({len(top)}), got {len(gold)}")
    return _graph_hits(top, gold, adjacency)


def nearest_training_neighbour(X, train, queries, adjacency, chunk_size=1024):
    """Each query's nearest training word (cosine in ``X``, itself excluded), and whether it is linked.

    Returns ``nearest`` (int64 rows) and ``linked`` (bool: a neighbour in ``adjacency``).
    """
    X = as_matrix(X, "X")
    train = as_indices(train, "train", len(X), min_len=2)
    queries = as_indices(queries, "queries", len(X), min_len=1)
    if not sparse.issparse(adjacency) or adjacency.shape != (len(X), len(X)):
        raise TypeError(f"adjacency must be a scipy sparse ({len(X)}, {len(X)}) matrix "
                        "(embmap.evaluation.graph_adjacency)")
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    position = np.full(len(X), -1, dtype=np.int64)
    position[train] = np.arange(len(train))
    U = safe_unit_rows(X)
    _, idx = _search.nearest(U[queries], U[train], 1, exclude=position[queries],
                             chunk_size=chunk_size)
    nearest = train[idx[:, 0]]
    linked = np.asarray(sparse.csr_matrix(adjacency, dtype=bool)[queries, nearest]).ravel()
    return nearest, linked


def load_pos_senses(words, data_dir=None) -> pd.DataFrame | None:
    """WordNet part of speech and number of senses of each word (``data/wordnet_pos_senses.npz``).

    One row per word: sense counts per part of speech, ``senses`` (all) and ``pos`` (the part
    of speech with most senses; ties in the order of :data:`POS_NAMES`; NaN for a word the file
    lacks). None when the file is absent or covers none of the words.
    """
    if isinstance(words, (str, bytes)) or not hasattr(words, "__iter__"):
        raise TypeError(f"words must be a list of strings, got {type(words).__name__}")
    words = list(words)
    path = Path(data_dir if data_dir is not None else default_data_dir()) / "wordnet_pos_senses.npz"
    if not path.exists():
        return None
    data = read_npz(path)
    counts = np.asarray(data.vectors)
    if counts.shape[1] != len(POS_NAMES) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"{path}: expected non-negative integer counts in {len(POS_NAMES)} columns")
    found = data.rows(words)
    if not np.any(found >= 0):
        return None
    table = np.zeros((len(words), len(POS_NAMES)), dtype=np.int64)
    table[found >= 0] = counts[found[found >= 0]].astype(np.int64)
    frame = pd.DataFrame(table, columns=list(POS_NAMES), index=pd.Index(words, name="word"))
    frame["senses"] = table.sum(axis=1)
    pos = np.array(POS_NAMES, dtype=object)[table.argmax(axis=1)]
    pos[frame["senses"].to_numpy() == 0] = np.nan
    frame["pos"] = pd.Categorical(pos, categories=list(POS_NAMES))
    return frame
