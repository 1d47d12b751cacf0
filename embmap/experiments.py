"""Fit-and-score loops shared by the notebooks: one protocol for every map.

Normalise both spaces unit -> center -> unit with the split's training means; fit on the
training words (and the validation words, if ``fit`` takes ``X_val``/``Y_val``); map all
source words and score the test words among all targets by NN and CSLS (whose ``r_S``
uses all mapped source words, leave-one-out for a map with ``predict_training``); repeat
over splits. :func:`compare_maps` gives one row per run (select rows by its columns
``estimator``, ``space``, ``normalisation``, ``param_<name>``), :func:`summarise` mean
and spread per method, :func:`format_table` ``mean ± sd`` strings.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from embmap import _search
from embmap._validation import as_matrix, check_choice, check_int, safe_unit_rows
from embmap.evaluation import (
    bootstrap_ci,
    graph_adjacency,
    graph_hit_rate,
    mean_cosine,
    rank_metrics,
    retrieve,
    retrieve_all,
)
from embmap.preprocess import Normaliser

__all__ = ["SPACES", "compare_maps", "format_table", "mean_sd_text", "normalised_spaces",
           "score_map", "score_predictions", "summarise"]

SPACES = ("auto", "shared", "target")


def normalised_spaces(pair, steps=("unit", "center", "unit")):
    """``(X, Y)`` of a pair, each through a :class:`~embmap.preprocess.Normaliser` fitted on its
    training rows (``steps=()``: the raw vectors as float32)."""
    if not steps:
        return pair.X.astype(np.float32), pair.Y.astype(np.float32)
    X = Normaliser(steps).fit(pair.X[pair.train]).transform(pair.X)
    Y = Normaliser(steps).fit(pair.Y[pair.train]).transform(pair.Y)
    return X, Y


def _fit(estimator, X, Y, pair):
    if "X_val" in inspect.signature(estimator.fit).parameters and len(pair.val) > 0:
        return estimator.fit(X[pair.train], Y[pair.train], X_val=X[pair.val], Y_val=Y[pair.val])
    return estimator.fit(X[pair.train], Y[pair.train])


def _check_retrievals(retrieval) -> tuple:
    retrieval = (retrieval,) if isinstance(retrieval, str) else tuple(retrieval)
    if not retrieval:
        raise ValueError("retrieval must name at least one of 'nn', 'csls', got none")
    for method in retrieval:
        check_choice(method, "retrieval", ("nn", "csls"))
    return retrieval


def score_predictions(pred_all, Y, pair, *, retrieval=("nn", "csls"), n_boot=1000, seed=0,
                      keep_ranks=False, r_S=None) -> dict:
    """Score mapped source vectors (one row per word of ``pair``) on its test words.

    Returns ``"{metric} {retrieval}"`` for p@1, p@5, p@10, mrr, graph_hit@10 and hubness
    (skew of the 10-occurrence distribution), ``"p@10 {retrieval} lo"``/``"hi"``
    (bootstrap 95% interval), ``mean_cos``, ``n_test``, ``n_candidates``, and with
    ``keep_ranks`` ``"ranks {retrieval}"``. ``r_S``: CSLS's target term, if known.
    """
    retrieval = _check_retrievals(retrieval)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    pred_all = as_matrix(pred_all, "pred_all")
    Y = as_matrix(Y, "Y")
    if len(pred_all) != len(pair.X) or len(Y) != len(pair.X):
        raise ValueError(f"pred_all and Y must have one row per word of pair ({len(pair.X)}), "
                         f"got {len(pred_all)} and {len(Y)}")
    test = pair.test
    if len(test) == 0:
        raise ValueError("pair has no test words to score (pair.test is empty)")
    adjacency = graph_adjacency(pair.edges, len(Y)) if pair.edges is not None else None
    gold = pair.gold(test)
    passes = retrieve_all(pred_all[test], Y, gold, retrieval, sources=pred_all, r_S=r_S)
    row = {}
    for method in retrieval:
        ranks, top = passes[method]
        metrics = rank_metrics(ranks)
        _, low, high = bootstrap_ci(ranks, "p@10", n_boot=n_boot, seed=seed)
        hits = graph_hit_rate(top, gold, adjacency) if adjacency is not None else np.nan
        row.update({f"{m} {method}": metrics[m] for m in ("p@1", "p@5", "p@10")})
        row.update({f"p@10 {method} lo": low, f"p@10 {method} hi": high, f"mrr {method}": metrics["mrr"],
                    f"graph_hit@10 {method}": hits,
                    f"hubness {method}": float(stats.skew(np.bincount(top.ravel(), minlength=len(Y))))})
        if keep_ranks:
            row[f"ranks {method}"] = ranks
    row["mean_cos"] = mean_cosine(pred_all[test], Y, gold)
    row["n_test"] = len(test)
    row["n_candidates"] = len(Y)
    return row


def score_map(estimator, pair, *, retrieval=("nn", "csls"), n_boot=1000, seed=0, vectors=None,
              space="auto", score_steps=None, validation=False, keep_ranks=False) -> dict:
    """Fit a clone of ``estimator`` on one split of ``pair`` and score it (the module's protocol).

    ``vectors``: ``(X, Y)`` normalised on this split's training words (default
    :func:`normalised_spaces`). ``space``: ``"shared"`` scores a map with
    ``transform_target`` (VecMap) in its shared space, where its authors do; ``"target"``
    scores ``predict``; ``"auto"``: shared when there is one (the row's ``space`` says
    which). ``score_steps``: a Normaliser fitted on the training targets, applied to
    predictions and targets before scoring. ``validation=True`` adds ``"val {p@1, p@10,
    mrr} csls"``; a ``history_`` adds ``epochs``, ``best_epoch``, ``stopped_early``, ``history``.
    """
    check_choice(space, "space", SPACES)
    retrieval = _check_retrievals(retrieval)
    if space == "shared" and not hasattr(estimator, "transform_target"):
        raise ValueError(f"space='shared' needs a map with a shared space (transform_target); "
                         f"{type(estimator).__name__} has none: use space='target' or 'auto'")
    X, Y = vectors if vectors is not None else normalised_spaces(pair)
    model = clone(estimator)
    start = time.perf_counter()
    _fit(model, X, Y, pair)
    fit_seconds = time.perf_counter() - start
    shared = space != "target" and hasattr(model, "transform_target")
    if shared:
        pred_all = np.asarray(model.transform_source(X), dtype=np.float32)
        Y = np.asarray(model.transform_target(Y), dtype=np.float32)
    else:
        pred_all = np.asarray(model.predict(X), dtype=np.float32)
    if hasattr(model, "predict_training"):
        pred_all = pred_all.copy()
        pred_all[pair.train] = model.predict_training()  # CSLS sources that never saw their target
    if score_steps:
        target_norm = Normaliser(score_steps).fit(Y[pair.train])
        pred_all, Y = target_norm.transform(pred_all), target_norm.transform(Y)
    r_S = None
    if "csls" in retrieval or validation:  # one r_S serves test and validation words
        T = safe_unit_rows(as_matrix(Y, "targets"))
        S = safe_unit_rows(as_matrix(pred_all, "sources", n_cols=T.shape[1]))
        r_S = _search.target_term(T, S, 10)
    row = {"space": "shared" if shared else "target"}
    row.update(score_predictions(pred_all, Y, pair, retrieval=retrieval, n_boot=n_boot,
                                 seed=seed, keep_ranks=keep_ranks, r_S=r_S))
    if validation:
        ranks, _ = retrieve(pred_all[pair.val], Y, pair.gold(pair.val), retrieval="csls",
                            sources=pred_all, r_S=r_S)
        row.update({f"val {m} csls": v for m, v in rank_metrics(ranks).items() if m != "p@5"})
    row["fit_s"] = fit_seconds
    history = getattr(model, "history_", None)
    if isinstance(history, dict) and "epoch" in history:
        row["epochs"] = len(history["epoch"])
        improved = np.asarray(history.get("improved", [True]), dtype=bool)
        # Early stopping fired if the last `patience` epochs brought no improvement.
        stale = len(improved) - 1 - np.flatnonzero(improved)[-1] if improved.any() else len(improved)
        row["best_epoch"] = row["epochs"] - stale
        row["stopped_early"] = bool(stale >= model.get_params().get("patience", np.inf))
        row["history"] = history
    return row


def _param_value(value):
    # Plain values stay selectable; objects (a loss, a base estimator) are named by their type.
    if value is None or isinstance(value, (str, bool, int, float, tuple)):
        return value
    func = getattr(value, "func", value)  # functools.partial -> its function
    return getattr(func, "__name__", type(value).__name__)


def compare_maps(estimators: dict, pair, *, split_seeds=(0,), model_seeds=None,
                 retrieval=("nn", "csls"), n_boot=1000, progress=True, space="auto",
                 normalisation=("unit", "center", "unit"), score_steps=None, validation=False,
                 keep_ranks=False, n_jobs=1) -> pd.DataFrame:
    """Score every ``name -> estimator`` on every split (and model seed): one row per run.

    Columns: ``method`` (the dict key), ``estimator`` (class name), ``split``, ``seed``,
    ``space``, ``normalisation`` (``"unit-center-unit"``, ``"raw"``), :func:`score_map`'s
    metrics and ``param_<name>`` per estimator parameter. ``model_seeds``: refit every
    estimator with a ``seed`` parameter with each. ``normalisation``: Normaliser steps,
    ``()`` for raw. ``n_jobs``: worker processes, one thread each (same rows but ``fit_s``).
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
    check_choice(space, "space", SPACES)
    jobs = []
    for split_seed in split_seeds:
        for name, estimator in estimators.items():
            seeded = model_seeds is not None and "seed" in estimator.get_params()
            jobs += [(split_seed, name, s) for s in (model_seeds if seeded else [None])]
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    splits, vectors = {}, {}
    for split_seed in split_seeds:
        if split_seed not in splits:
            splits[split_seed] = pair if split_seed == pair.seed else pair.resplit(split_seed)
            vectors[split_seed] = normalised_spaces(splits[split_seed], normalisation)

    def configured(name, model_seed):
        estimator = clone(estimators[name])
        if model_seed is not None:
            estimator.set_params(seed=model_seed)
        return estimator

    def run(split_seed, name, model_seed):
        return score_map(configured(name, model_seed), splits[split_seed], retrieval=retrieval,
                         n_boot=n_boot, seed=split_seed, vectors=vectors[split_seed],
                         space=space, score_steps=score_steps, validation=validation,
                         keep_ranks=keep_ranks)

    if n_jobs == 1 or len(jobs) == 1:
        bar = tqdm(jobs, desc="fit + score", disable=not progress, mininterval=2.0)
        results = [run(*job) for job in bar]
    else:
        results = _run_in_workers(run, jobs, n_jobs, progress)
    normalisation_name = "-".join(normalisation) or "raw"
    rows = []
    for (split_seed, name, model_seed), row in zip(jobs, results):
        estimator = configured(name, model_seed)
        params = {f"param_{k}": _param_value(v)
                  for k, v in estimator.get_params(deep=False).items()}
        rows.append({"method": name, "estimator": type(estimator).__name__, "split": split_seed,
                     "seed": model_seed, "normalisation": normalisation_name, **row, **params})
    return pd.DataFrame(rows)


def _run_in_workers(fn, jobs, n_jobs, progress):
    """``[fn(*job) for job in jobs]`` in worker processes, one BLAS and one torch thread each."""
    from joblib.externals.loky import get_reusable_executor
    from tqdm.std import tqdm

    def one_thread(*args):  # parallel workers must not oversubscribe the cores
        import torch
        from threadpoolctl import threadpool_limits

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with threadpool_limits(1):
                return fn(*args)
        finally:
            torch.set_num_threads(before)

    # A private executor, shut down before returning: loky's shared one keeps idle workers
    # for 300 s, and a later call reaching one as it times out warns "A worker stopped".
    executor = get_reusable_executor(max_workers=n_jobs, reuse=False)
    try:
        done = executor.map(one_thread, *zip(*jobs))
        return list(tqdm(done, total=len(jobs), desc="fit + score", disable=not progress,
                         mininterval=2.0))
    finally:
        executor.shutdown(wait=True)


def summarise(results: pd.DataFrame, metrics=None) -> pd.DataFrame:
    """Mean and ``sd`` over runs per method, and ``runs``; a single run has ``sd`` 0.

    ``estimator``, ``space``, ``normalisation`` and ``param_*`` are kept where they hold
    one value per method.
    """
    numeric = results.select_dtypes("number").columns
    metrics = metrics or [c for c in numeric if c not in ("split", "seed", "n_test", "n_candidates")
                          and not c.startswith("param_") and not c.endswith((" lo", " hi"))]
    grouped = results.groupby("method", sort=False)
    mean, sd = grouped[metrics].mean(), grouped[metrics].std(ddof=1).fillna(0.0)
    out = pd.DataFrame(index=mean.index)
    for metric in metrics:
        out[metric] = mean[metric]
        out[f"{metric} sd"] = sd[metric]
    out["runs"] = grouped.size()
    described = [c for c in results.columns if c in ("estimator", "space", "normalisation")
                 or c.startswith("param_")]
    for column in described:
        values = grouped[column].agg(lambda v: v.iloc[0] if v.map(repr).nunique() == 1 else None)
        if values.notna().any():
            out[column] = values
    return out


def mean_sd_text(mean, sd, runs, *, digits=2) -> str:
    """``"mean ± sd"``, or ``"mean"`` alone for one run; a NaN ``sd`` over several runs raises."""
    runs = check_int(runs, "runs", minimum=1)
    if runs == 1:
        return f"{mean:.{digits}f}"
    if not np.isfinite(sd):
        raise ValueError(f"sd must be finite for {runs} runs, got {sd}")
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def format_table(summary: pd.DataFrame, metrics, *, percent=True) -> pd.DataFrame:
    """``mean ± sd`` strings of :func:`summarise` output (percentages for rates).

    A single run shows its value alone; a ``space`` column becomes the first, "scored in".
    """
    out = pd.DataFrame(index=summary.index)
    if "space" in summary:
        out["scored in"] = summary["space"].map({"shared": "shared space",
                                                 "target": "target space"})
    runs = summary["runs"] if "runs" in summary else pd.Series(2, index=summary.index)
    for metric in metrics:
        rate = metric.removeprefix("val ").startswith(("p@", "graph_hit", "mrr"))
        scale = 100 if percent and rate else 1
        digits = 2 if scale == 100 else 3
        out[metric + (" (%)" if scale == 100 else "")] = [
            mean_sd_text(m * scale, s * scale, n, digits=digits)
            for m, s, n in zip(summary[metric], summary[f"{metric} sd"], runs)
        ]
    return out
