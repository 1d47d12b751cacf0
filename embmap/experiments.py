"""Fit-and-score loops shared by the notebooks: one protocol for every map.

The protocol (the same for linear maps, MLPs and baselines):

1. normalise both spaces unit -> center -> unit, with the means taken on the
   training words of the split only;
2. fit on the training words (an estimator whose ``fit`` accepts
   ``X_val``/``Y_val`` also gets the validation words, for early stopping);
3. map **all** source words, and score the test words by retrieval among
   **all** target vectors, with NN and with CSLS (whose hubness term uses all
   mapped source words; a map that offers ``predict_training``, such as kNN
   regression, maps its training words leave-one-out there, so that no
   source row has seen its own target and the correction is computed the
   same way for every map);
4. report P@1/P@10/MRR, graph-neighbour hit@10, mean cosine, hubness, and
   fit time; a bootstrap interval over test words; repeat over splits.

:func:`compare_maps` returns a tidy table: one row per run (method x split x
model seed), one column per metric (``"p@10 csls"``), and columns that say
what ran, so notebooks select rows by column, never by their display label:
``estimator`` (class name), ``space`` (``"shared"`` or ``"target"``: the
space the map was scored in), ``normalisation``, and ``param_<name>`` for the
estimator's parameters (as in scikit-learn's ``cv_results_``).
:func:`summarise` pivots it to mean and spread per method and
:func:`format_table` to readable ``mean ± sd`` strings.
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
from embmap.preprocess import Normaliser
from embmap.retrieval import target_penalty


def normalised_spaces(pair, steps=("unit", "center", "unit")):
    """``(X, Y)`` of a :class:`~embmap.datasets.PairedEmbeddings`, normalised on its training rows.

    ``steps=()`` returns the raw vectors (as float32).
    """
    if not steps:
        return pair.X.astype(np.float32), pair.Y.astype(np.float32)
    X = Normaliser(steps).fit(pair.X[pair.train]).transform(pair.X)
    Y = Normaliser(steps).fit(pair.Y[pair.train]).transform(pair.Y)
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
    A test word with several gold targets (``pair.gold_sets``) is a hit when
    any of them is retrieved (:meth:`~embmap.datasets.PairedEmbeddings.gold`).
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
    gold = pair.gold(test)  # the test rows, or their gold sets when a word has several golds
    # One similarity pass for every retrieval; CSLS's r_S over all mapped words, computed once.
    passes = retrieve_all(pred_all[test], Y, gold, retrieval, sources=pred_all, r_S=r_S)
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
            f"graph_hit@10 {method}": graph_hit_rate(top, gold, adjacency) if adjacency is not None else np.nan,
            f"hubness {method}": float(stats.skew(np.bincount(top.ravel(), minlength=len(Y)))),
        })
        if keep_ranks:
            row[f"ranks {method}"] = ranks
    row["mean_cos"] = mean_cosine(pred_all[test], Y, gold)
    row["n_test"] = len(test)
    row["n_candidates"] = len(Y)
    return row


SPACES = ("auto", "shared", "target")


def score_map(estimator, pair, retrieval=("nn", "csls"), n_boot=1000, seed=0, vectors=None,
              space="auto", score_steps=None, validation=False, keep_ranks=False) -> dict:
    """Fit ``estimator`` (a clone) on one split of ``pair`` and score it; see module docstring.

    ``vectors`` is ``(X, Y)``, both spaces already normalised on this split's
    training words (default: :func:`normalised_spaces`).

    ``space`` is the space the map is scored in, and the returned row names
    it (``row["space"]`` is ``"shared"`` or ``"target"``).  ``"shared"``
    scores a map that has ``transform_target`` (VecMap's framework maps both
    sides into a shared space) where its authors score it, in that shared
    space, and raises for any other map; ``"target"`` scores ``predict``
    against the target vectors themselves; ``"auto"`` is ``"shared"`` for
    maps that have one and ``"target"`` for the others.  The two differ a
    lot for VecMap (see :meth:`~embmap.linear.VecMapMultiStep.predict`).

    ``score_steps`` (e.g. ``("unit", "center", "unit")``) puts predictions
    and targets through one :class:`~embmap.preprocess.Normaliser` fitted on
    the training targets before scoring, so maps trained on raw vectors can
    be scored in the same space as maps trained on normalised ones (cosine
    retrieval changes when vectors are centred).  ``validation=True`` adds
    ``"val p@1 csls"``, ``"val p@10 csls"`` and ``"val mrr csls"``: the
    validation words scored the same way, for choices made on them.
    ``keep_ranks`` is passed to :func:`score_predictions`.
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
        # leave-one-out: CSLS sources that never saw their own target
        pred_all[pair.train] = model.predict_training()
    if score_steps:
        target_norm = Normaliser(score_steps).fit(Y[pair.train])
        pred_all, Y = target_norm.transform(pred_all), target_norm.transform(Y)
    # CSLS's r_S depends only on (Y, pred_all): one pass serves test and validation words.
    r_S = target_penalty(Y, pred_all) if "csls" in retrieval or validation else None
    row = {"space": "shared" if shared else "target"}
    row.update(score_predictions(pred_all, Y, pair, retrieval, n_boot, seed, keep_ranks, r_S=r_S))
    if validation:
        ranks, _ = retrieve(pred_all[pair.val], Y, pair.gold(pair.val), retrieval="csls",
                            sources=pred_all, r_S=r_S)
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


def _param_value(value):
    # Plain values stay selectable (results.param_loss == "cosine"); objects (a loss function,
    # a base estimator) are named by their type so the column stays comparable.
    if value is None or isinstance(value, (str, bool, int, float, tuple)):
        return value
    func = getattr(value, "func", value)   # functools.partial -> its function
    return getattr(func, "__name__", type(value).__name__)


def compare_maps(estimators: dict, pair, split_seeds=(0,), model_seeds=None,
                 retrieval=("nn", "csls"), n_boot=1000, progress=True, space="auto",
                 normalisation=("unit", "center", "unit"), score_steps=None, validation=False,
                 keep_ranks=False, n_jobs=1) -> pd.DataFrame:
    """Score every estimator on every split (and model seed): a tidy table, one row per run.

    Columns: ``method`` (the dict key, a display label), ``estimator`` (class
    name), ``split``, ``seed``, ``space`` (``"shared"``/``"target"``, see
    :func:`score_map`), ``normalisation`` (``"unit-center-unit"``, ``"raw"``),
    one column per metric (``"p@10 csls"``, ``"mean_cos"``, ...) and
    ``param_<name>`` for every parameter of the estimator.  Select rows by
    these columns (``results[results.estimator == "MLPMap"]``), not by label.

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
        Steps of :class:`~embmap.preprocess.Normaliser` applied to both
        spaces, fitted on each split's training rows; ``()`` keeps raw vectors.
    space, score_steps, validation, keep_ranks
        Passed to :func:`score_map` (the space scored in; normalisation of the
        scoring space; validation-word scores; per-word gold ranks).
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
    check_choice(space, "space", SPACES)
    jobs = []
    for split_seed in split_seeds:
        for name, estimator in estimators.items():
            seeds = model_seeds if model_seeds is not None and "seed" in estimator.get_params() else [None]
            jobs += [(split_seed, name, model_seed) for model_seed in seeds]
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
        return score_map(configured(name, model_seed), splits[split_seed], retrieval, n_boot,
                         split_seed, vectors=vectors[split_seed], space=space,
                         score_steps=score_steps, validation=validation, keep_ranks=keep_ranks)

    if n_jobs == 1 or len(jobs) == 1:
        bar = tqdm(jobs, desc="fit + score", disable=not progress, mininterval=2.0)
        results = [run(*job) for job in bar]
    else:
        results = _run_in_workers(_one_thread(run), jobs, n_jobs, progress)
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
    """``[fn(*job) for job in jobs]`` in ``n_jobs`` worker processes, in order."""
    from joblib.externals.loky import get_reusable_executor
    from tqdm.std import tqdm

    # A private executor (cloudpickle sends the closure; arrays arrive writable for torch),
    # shut down before returning: loky's shared executor keeps idle workers for 300 s, and a
    # later call that reaches one as that timeout ends warns "A worker stopped while some jobs
    # were given to the executor".
    executor = get_reusable_executor(max_workers=n_jobs, reuse=False)
    try:
        done = executor.map(fn, *zip(*jobs))
        return list(tqdm(done, total=len(jobs), desc="fit + score", disable=not progress,
                         mininterval=2.0))
    finally:
        executor.shutdown(wait=True)


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

    Columns that describe a method (``estimator``, ``space``,
    ``normalisation``, ``param_*``) are kept when they hold one value per
    method, so the summary is selected by column too
    (``summary[summary.space == "target"]``).  A method with a single run (a
    deterministic map on one split) has no spread: its ``sd`` is 0 here (an
    error bar of zero length), and :func:`format_table` shows it without one.
    """
    numeric = results.select_dtypes("number").columns
    metrics = metrics or [c for c in numeric if c not in ("split", "seed", "n_test", "n_candidates")
                          and not c.startswith("param_") and not c.endswith((" lo", " hi"))]
    grouped = results.groupby("method", sort=False)
    # sd is 0 for a single run so plots can use it as an error bar; tables use ``runs``
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


def mean_sd_text(mean, sd, runs, digits=2) -> str:
    """``"mean ± sd"``, or ``"mean"`` alone for a single run (one run has no spread).

    A run count above 1 with a NaN ``sd`` raises: a spread that should exist is missing.
    """
    runs = check_int(runs, "runs", minimum=1)
    if runs == 1:
        return f"{mean:.{digits}f}"
    if not np.isfinite(sd):
        raise ValueError(f"sd must be finite for {runs} runs, got {sd}")
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def format_table(summary: pd.DataFrame, metrics, percent=True) -> pd.DataFrame:
    """``mean ± sd`` strings for display (percentages for P@k / hit rates).

    Rows of a single run (``runs == 1`` in :func:`summarise`'s output) show
    the value alone: one run has no spread, and "± 0.00" would claim one.
    When the summary says which space each map was scored in (``space``),
    the table shows it as its first column: a shared-space score and a
    target-space score are different measurements.
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
            mean_sd_text(m * scale, s * scale, n, digits)
            for m, s, n in zip(summary[metric], summary[f"{metric} sd"], runs)
        ]
    return out
