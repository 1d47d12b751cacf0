"""Fit-and-score loops shared by the notebooks: one protocol for every map.

The protocol (the same for linear maps, MLPs and baselines):

1. normalise both spaces unit -> center -> unit, with the means taken on the
   training words of the split only;
2. fit on the training words (an estimator whose ``fit`` accepts
   ``X_val``/``Y_val`` also gets the validation words, for early stopping);
3. map **all** source words, and score the test words by retrieval among
   **all** target vectors, with NN and with CSLS (whose hubness term uses all
   mapped source words; a map that offers ``loo_predict``, such as kNN
   regression, maps its training words leave-one-out there, so that no
   source row has seen its own target and the correction is computed the
   same way for every map);
4. report P@1/P@10/MRR, graph-neighbour hit@10, mean cosine, hubness, and
   fit time; a bootstrap interval over test words; repeat over splits.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from embmap._checks import as_matrix, check_choice, check_int
from embmap.evaluation import (
    bootstrap_ci,
    graph_adjacency,
    graph_hit_rate,
    mean_cosine,
    rank_metrics,
    retrieve,
    retrieve_all,
)
from embmap.preprocess import Normalizer
from embmap.retrieval import target_penalty


def normalised_spaces(pair, steps=("unit", "center", "unit")):
    """``(X, Y)`` of a :class:`~embmap.datasets.PairedEmbeddings`, normalised on its training rows.

    ``steps=()`` returns the raw vectors (as float32).
    """
    if not steps:
        return pair.X.astype(np.float32), pair.Y.astype(np.float32)
    X = Normalizer(steps).fit(pair.X[pair.train]).transform(pair.X)
    Y = Normalizer(steps).fit(pair.Y[pair.train]).transform(pair.Y)
    return X, Y


def _fit(estimator, X, Y, pair):
    accepts_val = "X_val" in inspect.signature(estimator.fit).parameters
    if accepts_val and len(pair.val) > 0:
        estimator.fit(X[pair.train], Y[pair.train], X_val=X[pair.val], Y_val=Y[pair.val])
    else:
        estimator.fit(X[pair.train], Y[pair.train])
    return estimator


def _check_retrievals(retrieval) -> tuple:
    retrieval = (retrieval,) if isinstance(retrieval, str) else tuple(retrieval)
    if not retrieval:
        raise ValueError("retrieval must name at least one of 'nn', 'csls', got none")
    for method in retrieval:
        check_choice(method, "retrieval", ("nn", "csls"))
    return retrieval


def score_predictions(pred_all, Y, pair, retrieval=("nn", "csls"), n_boot=1000, seed=0,
                      keep_ranks=False, r_S=None) -> dict:
    """Score already-mapped source vectors (one row per word) on the test split.

    Returns a flat dict: ``"{metric} {retrieval}"`` for p@1, p@10, mrr,
    graph_hit@10 and hubness (skew of the 10-occurrence distribution over the
    test queries), ``"p@10 {retrieval} lo"``/``"hi"`` (bootstrap 95% interval
    over test words), and ``"mean_cos"``; with ``keep_ranks`` also ``"ranks {retrieval}"``,
    the gold rank of every test word (for paired bootstraps between maps).
    ``r_S`` (optional) is CSLS's target term against ``pred_all``, when the
    caller has it already (:func:`embmap.retrieval.target_penalty`).
    """
    retrieval = _check_retrievals(retrieval)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    pred_all = as_matrix(pred_all, "pred_all")
    Y = as_matrix(Y, "Y")
    if len(pred_all) != len(pair.X) or len(Y) != len(pair.X):
        raise ValueError(
            f"pred_all and Y must have one row per word of pair ({len(pair.X)}), "
            f"got {len(pred_all)} and {len(Y)}"
        )
    test = pair.test
    if len(test) == 0:
        raise ValueError("pair has no test words to score (pair.test is empty)")
    adjacency = graph_adjacency(pair.edges, len(Y)) if pair.edges is not None else None
    # One similarity pass for every retrieval; CSLS's r_S over all mapped words, computed once.
    passes = retrieve_all(pred_all[test], Y, test, retrieval, sources=pred_all, r_S=r_S)
    row = {}
    for method in retrieval:
        ranks, top = passes[method]
        metrics = rank_metrics(ranks)
        _, low, high = bootstrap_ci(ranks, "p@10", n_boot=n_boot, seed=seed)
        row.update({
            f"p@1 {method}": metrics["p@1"],
            f"p@5 {method}": metrics["p@5"],
            f"p@10 {method}": metrics["p@10"],
            f"p@10 {method} lo": low,
            f"p@10 {method} hi": high,
            f"mrr {method}": metrics["mrr"],
            f"graph_hit@10 {method}": graph_hit_rate(top, test, adjacency) if adjacency is not None else np.nan,
            f"hubness {method}": float(stats.skew(np.bincount(top.ravel(), minlength=len(Y)))),
        })
        if keep_ranks:
            row[f"ranks {method}"] = ranks
    row["mean_cos"] = mean_cosine(pred_all[test], Y, test)
    row["n_test"] = len(test)
    row["n_candidates"] = len(Y)
    return row


def score_map(estimator, pair, retrieval=("nn", "csls"), n_boot=1000, seed=0, spaces=None,
              space="auto", score_steps=None, validation=False, keep_ranks=False) -> dict:
    """Fit ``estimator`` (a clone) on one split of ``pair`` and score it; see module docstring.

    ``space="auto"`` scores a map that has ``transform_target`` (VecMap's
    framework maps both sides into a shared space) where its authors score
    it, in that shared space; every other map is scored in the target space.
    ``space="target"`` forces the target space (``predict``).

    ``score_steps`` (e.g. ``("unit", "center", "unit")``) puts predictions
    and targets through one :class:`~embmap.preprocess.Normalizer` fitted on
    the training targets before scoring, so maps trained on raw vectors can
    be scored in the same space as maps trained on normalised ones (cosine
    retrieval changes when vectors are centred).  ``validation=True`` adds
    ``"val p@1 csls"``, ``"val p@10 csls"`` and ``"val mrr csls"``: the
    validation words scored the same way, for choices made on them.
    ``keep_ranks`` is passed to :func:`score_predictions`.
    """
    check_choice(space, "space", ("auto", "target"))
    retrieval = _check_retrievals(retrieval)
    X, Y = spaces if spaces is not None else normalised_spaces(pair)
    model = clone(estimator)
    start = time.perf_counter()
    _fit(model, X, Y, pair)
    fit_seconds = time.perf_counter() - start
    if space == "auto" and hasattr(model, "transform_target"):
        pred_all = np.asarray(model.transform_source(X), dtype=np.float32)
        Y = np.asarray(model.transform_target(Y), dtype=np.float32)
    elif space in ("auto", "target"):
        pred_all = np.asarray(model.predict(X), dtype=np.float32)
    else:
        raise ValueError(f"space must be 'auto' or 'target', got {space!r}")
    if hasattr(model, "loo_predict"):
        pred_all = pred_all.copy()
        pred_all[pair.train] = model.loo_predict()  # CSLS sources that never saw their own target
    if score_steps:
        target_norm = Normalizer(score_steps).fit(Y[pair.train])
        pred_all, Y = target_norm.transform(pred_all), target_norm.transform(Y)
    # CSLS's r_S depends only on (Y, pred_all): one pass serves test and validation words.
    r_S = target_penalty(Y, pred_all) if "csls" in retrieval or validation else None
    row = score_predictions(pred_all, Y, pair, retrieval, n_boot, seed, keep_ranks, r_S=r_S)
    if validation:
        ranks, _ = retrieve(pred_all[pair.val], Y, pair.val, retrieval="csls", sources=pred_all,
                            r_S=r_S)
        row.update({f"val {m} csls": v for m, v in rank_metrics(ranks).items() if m != "p@5"})
    row["fit_s"] = fit_seconds
    if hasattr(model, "history_") and isinstance(model.history_, dict) and "epoch" in model.history_:
        row["epochs"] = len(model.history_["epoch"])
        improved = np.asarray(model.history_.get("improved", [True]), dtype=bool)
        # Early stopping fired if the last `patience` epochs brought no improvement;
        # otherwise the epoch cap ended training (possibly while still improving).
        stale = len(improved) - 1 - np.flatnonzero(improved)[-1] if improved.any() else len(improved)
        row["best_epoch"] = row["epochs"] - stale
        row["stopped_early"] = bool(stale >= model.get_params().get("patience", np.inf))
        row["history"] = model.history_  # per-epoch curves, for plots
    return row


def compare_maps(estimators: dict, pair, split_seeds=(0,), model_seeds=None, retrieval=("nn", "csls"),
                 n_boot=1000, progress=True, space="auto", normalisation=("unit", "center", "unit"),
                 score_steps=None, validation=False, keep_ranks=False, n_jobs=1) -> pd.DataFrame:
    """Score every estimator on every split (and model seed); one row per run.

    Parameters
    ----------
    estimators : dict
        ``name -> estimator`` (cloned for every run).
    split_seeds : sequence of int
        Train/validation/test splits (:meth:`PairedEmbeddings.resplit`).
    model_seeds : sequence of int, optional
        If given, every estimator that has a ``seed`` parameter is refitted
        with each of these seeds (uncertainty over training randomness).
    normalisation : tuple of str
        Steps of :class:`~embmap.preprocess.Normalizer` applied to both
        spaces, fitted on each split's training rows; ``()`` keeps raw vectors.
    score_steps, validation, keep_ranks
        Passed to :func:`score_map` (scoring space; validation-word scores;
        per-word gold ranks).
    n_jobs : int
        Runs in parallel worker processes (joblib), each limited to one
        thread. MLP training uses one thread per fit, so on a 2-core machine
        ``n_jobs=2`` nearly halves a comparison of MLPs; every run is seeded,
        so the rows are the same as with ``n_jobs=1`` (up to ``fit_s``).
    """
    from tqdm.std import tqdm

    if not isinstance(estimators, dict) or not estimators:
        raise ValueError("estimators must be a non-empty dict of name -> estimator")
    split_seeds = list(split_seeds)
    if not split_seeds:
        raise ValueError("split_seeds must hold at least one seed")
    if model_seeds is not None and len(list(model_seeds)) == 0:
        raise ValueError("model_seeds must hold at least one seed (or be None)")
    retrieval = _check_retrievals(retrieval)
    check_choice(space, "space", ("auto", "target"))
    jobs = []
    for split_seed in split_seeds:
        for name, estimator in estimators.items():
            seeds = model_seeds if model_seeds is not None and "seed" in estimator.get_params() else [None]
            jobs += [(split_seed, name, model_seed) for model_seed in seeds]
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    splits, spaces = {}, {}
    for split_seed in split_seeds:
        if split_seed not in splits:
            splits[split_seed] = pair if split_seed == pair.seed else pair.resplit(split_seed)
            spaces[split_seed] = normalised_spaces(splits[split_seed], normalisation)

    def run(split_seed, name, model_seed):
        estimator = clone(estimators[name])
        if model_seed is not None:
            estimator.set_params(seed=model_seed)
        return score_map(estimator, splits[split_seed], retrieval, n_boot, split_seed,
                         spaces=spaces[split_seed], space=space, score_steps=score_steps,
                         validation=validation, keep_ranks=keep_ranks)

    bar = tqdm(jobs, desc="fit + score", disable=not progress, mininterval=2.0)
    if n_jobs == 1 or len(jobs) == 1:
        results = (run(*job) for job in bar)
    else:
        from joblib import Parallel, delayed

        # max_nbytes=None: pickle arrays instead of sharing read-only memory maps, which
        # torch.from_numpy would warn about (it needs writable arrays).
        results = Parallel(n_jobs=n_jobs, return_as="generator", max_nbytes=None)(
            delayed(_one_thread(run))(*job) for job in bar)
    rows = [{"method": name, "split": split_seed, "seed": model_seed, **row}
            for (split_seed, name, model_seed), row in zip(jobs, results)]
    return pd.DataFrame(rows)


def _one_thread(fn):
    """``fn`` run with one BLAS and one torch thread: parallel workers must not oversubscribe."""
    def wrapped(*args):
        import torch
        from threadpoolctl import threadpool_limits

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with threadpool_limits(1):
                return fn(*args)
        finally:
            torch.set_num_threads(before)
    return wrapped


def summarise(results: pd.DataFrame, metrics=None) -> pd.DataFrame:
    """Mean and standard deviation over splits (or seeds) per method; ``runs`` counts the runs.

    A method with a single run (a deterministic map on one split) has no
    spread: its ``sd`` is 0 here, and :func:`format_table` shows it without one.
    """
    numeric = results.select_dtypes("number").columns
    metrics = metrics or [c for c in numeric if c not in ("split", "seed", "n_test", "n_candidates")
                          and not c.endswith((" lo", " hi"))]
    grouped = results.groupby("method", sort=False)[metrics]
    mean, sd = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    out = pd.DataFrame(index=mean.index)
    for metric in metrics:
        out[metric] = mean[metric]
        out[f"{metric} sd"] = sd[metric]
    out["runs"] = grouped.size()
    return out


def format_table(summary: pd.DataFrame, metrics, percent=True) -> pd.DataFrame:
    """``mean ± sd`` strings for display (percentages for P@k / hit rates).

    Rows of a single run (``runs == 1`` in :func:`summarise`'s output) show
    the value alone: one run has no spread, and "± 0.00" would claim one.
    """
    out = pd.DataFrame(index=summary.index)
    runs = summary["runs"] if "runs" in summary else pd.Series(2, index=summary.index)
    for metric in metrics:
        rate = metric.removeprefix("val ").startswith(("p@", "graph_hit", "mrr"))
        scale, unit = (100, "") if percent and rate else (1, "")
        digits = 2 if scale == 100 else 3
        out[metric + (" (%)" if scale == 100 else "")] = [
            f"{m * scale:.{digits}f}" + (f" ± {s * scale:.{digits}f}{unit}" if n > 1 else "")
            for m, s, n in zip(summary[metric], summary[f"{metric} sd"], runs)
        ]
    return out
