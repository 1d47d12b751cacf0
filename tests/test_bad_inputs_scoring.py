"""Bad inputs to the scoring core raise a clear error naming the argument, never a wrong number.

One table per module: (entry point, failure class) -> the exception type and
a pattern that must appear in the message (the argument's name, and what is
wrong). Then the cases that must give a *correct* answer instead of an error
(huge magnitudes, a single string as a normalisation step).
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from embmap import evaluate
from embmap.datasets import pair_embeddings
from embmap.evaluation import (
    bootstrap_ci,
    gold_ranks,
    graph_hit_rate,
    mean_cosine,
    paired_bootstrap_ratio,
    rank_metrics,
    retrieve,
    retrieve_all,
)
from embmap.experiments import compare_maps, score_map, score_predictions
from embmap.preprocess import Normaliser, normalise
from embmap.retrieval import (
    csls_penalties,
    hubness,
    k_occurrence,
    mean_topk_similarity,
    nearest,
    set_backend,
    target_penalty,
    top_k,
    unit_rows,
)

RNG = np.random.default_rng(1)
T = RNG.normal(size=(200, 8))
PRED = RNG.normal(size=(20, 8))
GOLD = np.arange(20)
SRC = RNG.normal(size=(50, 8))


def _with(a, row, col, value):
    a = np.array(a, dtype=float)
    a[row, col] = value
    return a


NAN_SRC = _with(SRC, 7, 3, np.nan)
INF_SRC = _with(SRC, 0, 0, np.inf)
NAN_PRED = _with(PRED, 2, 1, np.nan)
INF_T = _with(T, 5, 5, -np.inf)


def ev(**kw):
    args = {"pred": PRED, "targets": T, "gold": GOLD}
    args.update(kw)
    return lambda: evaluate(**args)


# (id, call, exception, message pattern)
EVALUATION_CASES = [
    # evaluate: CSLS sources (non-finite ones would let random predictions score perfect)
    ("evaluate csls sources NaN", ev(retrieval="csls", sources=NAN_SRC), ValueError, "sources.*non-finite"),
    ("evaluate csls sources inf", ev(retrieval="csls", sources=INF_SRC), ValueError, "sources.*non-finite"),
    ("evaluate csls sources empty", ev(retrieval="csls", sources=np.empty((0, 8))), ValueError,
     "sources.*at least 1 row"),
    ("evaluate csls sources 1-D", ev(retrieval="csls", sources=SRC[0]), ValueError, "sources.*2-D"),
    ("evaluate csls sources wrong dim", ev(retrieval="csls", sources=SRC[:, :5]), ValueError,
     "sources.*8 columns"),
    ("evaluate csls sources strings", ev(retrieval="csls", sources=[["a"] * 8]), TypeError,
     "sources.*numbers"),
    # evaluate: k
    ("evaluate csls_k=0", ev(retrieval="csls", csls_k=0), ValueError, "csls_k must be at least 1"),
    ("evaluate k<0", ev(retrieval="csls", csls_k=-3), ValueError, "csls_k must be at least 1"),
    ("evaluate k float", ev(retrieval="csls", csls_k=2.5), TypeError, "csls_k must be an integer"),
    ("evaluate k str", ev(retrieval="csls", csls_k="10"), TypeError, "csls_k must be an integer"),
    ("evaluate k bool", ev(csls_k=True), TypeError, "csls_k must be an integer"),
    # evaluate: queries / targets / gold
    ("evaluate zero queries", ev(pred=np.empty((0, 8)), gold=np.array([], dtype=int)), ValueError,
     "pred must have at least 1 row"),
    ("evaluate pred NaN", ev(pred=NAN_PRED), ValueError, "pred.*non-finite.*row 2, column 1"),
    ("evaluate targets inf", ev(targets=INF_T), ValueError, "targets.*non-finite.*row 5"),
    ("evaluate pred 1-D", ev(pred=PRED[0], gold=GOLD[:1]), ValueError, "pred.*2-D"),
    ("evaluate pred None", ev(pred=None), TypeError, "pred is required"),
    ("evaluate targets empty", ev(targets=np.empty((0, 8))), ValueError, "targets.*at least 1 row"),
    ("evaluate dims differ", ev(targets=T[:, :6]), ValueError, "pred has 8 columns but targets has 6"),
    ("evaluate pred beyond float32", ev(pred=_with(PRED, 0, 0, 1e300)), ValueError, "pred.*float32"),
    ("evaluate gold out of range", ev(gold=np.r_[GOLD[:-1], 200]), ValueError, r"gold must lie in \[0, 200\)"),
    ("evaluate gold negative", ev(gold=np.r_[-1, GOLD[1:]]), ValueError, "gold must lie"),
    ("evaluate gold float", ev(gold=GOLD.astype(float)), TypeError, "gold must hold integer"),
    ("evaluate gold length", ev(gold=GOLD[:5]), ValueError, "gold must have one index per pred row"),
    ("evaluate gold 2-D", ev(gold=GOLD[:, None]), ValueError, "gold must be a 1-D"),
    ("evaluate retrieval unknown", ev(retrieval="cosine"), ValueError, "retrieval must be one of"),
    ("evaluate chunk_size 0", ev(chunk_size=0), ValueError, "chunk_size must be at least 1"),
    ("evaluate chunk_size float", ev(chunk_size=8.0), TypeError, "chunk_size must be an integer"),
    ("evaluate graph float edges", ev(graph=np.array([[0.0, 1.7]])), TypeError, "graph edges must be integer"),
    ("evaluate graph outside", ev(graph=np.array([[0, 200]])), ValueError, "graph edges refer to rows outside"),
    ("evaluate graph shape", ev(graph=np.array([0, 1, 2])), ValueError, r"graph edges must have shape \(m, 2\)"),
    # retrieve / retrieve_all / gold_ranks / mean_cosine
    ("retrieve zero queries", lambda: retrieve(np.empty((0, 8)), T, np.array([], dtype=int)), ValueError,
     "pred must have at least 1 row"),
    ("retrieve n_top 0", lambda: retrieve(PRED, T, GOLD, n_top=0), ValueError, "n_top must be at least 1"),
    ("retrieve r_S wrong length", lambda: retrieve(PRED, T, GOLD, "csls", r_S=np.zeros(5)), ValueError,
     "r_S must have 200 columns"),
    ("retrieve r_S NaN", lambda: retrieve(PRED, T, GOLD, "csls", r_S=np.full(200, np.nan)), ValueError,
     "r_S.*non-finite"),
    ("retrieve_all unknown", lambda: retrieve_all(PRED, T, GOLD, ("nn", "cos")), ValueError,
     "retrievals must be one of"),
    ("gold_ranks csls NaN sources", lambda: gold_ranks(PRED, T, GOLD, "csls", sources=NAN_SRC), ValueError,
     "sources.*non-finite"),
    ("mean_cosine NaN", lambda: mean_cosine(NAN_PRED, T, GOLD), ValueError, "pred.*non-finite"),
    # rank metrics and bootstraps: empty input must not be NaN + warnings
    ("rank_metrics empty", lambda: rank_metrics([]), ValueError, "ranks is empty"),
    ("rank_metrics zero rank", lambda: rank_metrics([0, 1]), ValueError, "ranks must be >= 1"),
    ("bootstrap_ci empty", lambda: bootstrap_ci([]), ValueError, "ranks is empty"),
    ("bootstrap_ci NaN", lambda: bootstrap_ci([1.0, np.nan]), ValueError, "ranks contains NaN"),
    ("bootstrap_ci 2-D", lambda: bootstrap_ci([[1, 2]]), ValueError, "ranks must be a 1-D"),
    ("bootstrap_ci strings", lambda: bootstrap_ci(["1", "2"]), TypeError, "ranks must hold numbers"),
    ("bootstrap_ci metric", lambda: bootstrap_ci([1, 2], metric="p@x"), ValueError, "metric must be"),
    ("bootstrap_ci metric p@0", lambda: bootstrap_ci([1, 2], metric="p@0"), ValueError, "metric must be"),
    ("bootstrap_ci n_boot 0", lambda: bootstrap_ci([1, 2], n_boot=0), ValueError, "n_boot must be at least 1"),
    ("bootstrap_ci n_boot float", lambda: bootstrap_ci([1, 2], n_boot=10.0), TypeError, "n_boot must be an integer"),
    ("bootstrap_ci level 1", lambda: bootstrap_ci([1, 2], level=1.0), ValueError, "level must be < 1"),
    ("bootstrap_ci level 0", lambda: bootstrap_ci([1, 2], level=0), ValueError, "level must be > 0"),
    ("paired empty", lambda: paired_bootstrap_ratio([], []), ValueError, "ranks_a is empty"),
    ("paired mismatch", lambda: paired_bootstrap_ratio([1, 2], [1, 2, 3]), ValueError,
     "ranks_a and ranks_b must score the same queries"),
    ("paired k 0", lambda: paired_bootstrap_ratio([1, 2], [1, 2], k=0), ValueError, "k must be at least 1"),
    ("paired b zero", lambda: paired_bootstrap_ratio([1, 2], [50, 60]), ValueError,
     "ranks_b has P@10 = 0"),
    ("paired NaN", lambda: paired_bootstrap_ratio([1, 2], [1, np.nan]), ValueError, "ranks_b contains NaN"),
    ("graph_hit_rate dense", lambda: graph_hit_rate(np.zeros((2, 10), int), [0, 1], np.eye(3)), TypeError,
     "adjacency must be a scipy sparse"),
]

RETRIEVAL_CASES = [
    ("top_k NaN pred", lambda: top_k(NAN_PRED, T), ValueError, "pred.*non-finite"),
    ("top_k targets other dim", lambda: top_k(PRED, T[:, :4]), ValueError,
     "pred has 8 columns but targets has 4"),
    ("top_k k 0", lambda: top_k(PRED, T, k=0), ValueError, "k must be at least 1"),
    ("top_k k float", lambda: top_k(PRED, T, k=3.0), TypeError, "k must be an integer"),
    ("top_k csls_k 0", lambda: top_k(PRED, T, retrieval="csls", csls_k=0), ValueError, "k must be at least 1"),
    ("top_k csls NaN sources", lambda: top_k(PRED, T, retrieval="csls", sources=NAN_SRC), ValueError,
     "sources.*non-finite"),
    ("top_k retrieval", lambda: top_k(PRED, T, retrieval="dot"), ValueError, "retrieval must be one of"),
    ("hubness NaN pred", lambda: hubness(NAN_PRED, T), ValueError, "pred.*non-finite"),
    ("hubness zero queries", lambda: hubness(np.empty((0, 8)), T), ValueError, "pred must have at least 1 row"),
    ("hubness k -1", lambda: hubness(PRED, T, k=-1), ValueError, "k must be at least 1"),
    ("hubness targets inf", lambda: hubness(PRED, INF_T), ValueError, "targets.*non-finite"),
    ("k_occurrence NaN", lambda: k_occurrence(NAN_PRED, T), ValueError, "pred.*non-finite"),
    ("csls_penalties NaN sources", lambda: csls_penalties(PRED, T, NAN_SRC), ValueError, "sources.*non-finite"),
    ("csls_penalties empty sources", lambda: csls_penalties(PRED, T, np.empty((0, 8))), ValueError,
     "sources.*at least 1 row"),
    ("csls_penalties k 0", lambda: csls_penalties(PRED, T, csls_k=0), ValueError, "csls_k must be at least 1"),
    ("mean_topk k 0", lambda: mean_topk_similarity(PRED, T, k=0), ValueError, "k must be at least 1"),
    ("mean_topk dims", lambda: mean_topk_similarity(PRED, T[:, :3]), ValueError, "queries has 8 columns"),
    ("nearest NaN", lambda: nearest(NAN_PRED, T), ValueError, "queries.*non-finite"),
    ("nearest empty candidates", lambda: nearest(PRED, np.empty((0, 8))), ValueError,
     "candidates must have at least 1 row"),
    ("target_penalty NaN", lambda: target_penalty(T, NAN_SRC), ValueError, "sources.*non-finite"),
    ("unit_rows NaN", lambda: unit_rows(NAN_PRED), ValueError, "M.*non-finite"),
    ("unit_rows 1-D", lambda: unit_rows(np.ones(3)), ValueError, "M must be a 2-D"),
    ("set_backend unknown", lambda: set_backend("gpu"), ValueError, "backend must be one of"),
    ("rank_metrics ks 0", lambda: rank_metrics([1, 2], ks=(1, 0)), ValueError, "ks must be at least 1"),
]

PREPROCESS_CASES = [
    ("Normaliser unknown step", lambda: Normaliser(("unit", "scale")).fit(T), ValueError,
     r"steps holds unknown normalisation steps \['scale'\]"),
    ("Normaliser unknown single step", lambda: Normaliser("centre").fit(T), ValueError, "steps holds unknown"),
    ("Normaliser steps not a sequence", lambda: Normaliser(3).fit(T), TypeError, "steps must be a sequence"),
    ("Normaliser zero row fit", lambda: Normaliser().fit(_with(T, 4, slice(None), 0.0)), ValueError,
     "row 4 of X is all zeros"),
    ("Normaliser zero row transform", lambda: Normaliser().fit(T).transform(np.zeros((2, 8))), ValueError,
     "row 0 of X is all zeros"),
    ("Normaliser NaN", lambda: Normaliser().fit(NAN_PRED), ValueError, "X.*non-finite"),
    ("Normaliser 1-D", lambda: Normaliser().fit(np.ones(8)), ValueError, "X must be a 2-D"),
    ("Normaliser empty", lambda: Normaliser().fit(np.empty((0, 8))), ValueError, "X must have at least 1 row"),
    ("Normaliser transform dims", lambda: Normaliser().fit(T).transform(T[:, :5]), ValueError,
     "X must have 8 columns"),
    ("Normaliser transform NaN", lambda: Normaliser().fit(T).transform(NAN_PRED), ValueError, "X.*non-finite"),
    ("normalise fit_rows out of range", lambda: normalise(T, fit_rows=[0, 500]), ValueError,
     r"fit_rows must lie in \[0, 200\)"),
    ("normalise fit_rows empty", lambda: normalise(T, fit_rows=np.array([], dtype=int)), ValueError,
     "fit_rows must hold at least 1"),
    ("normalise fit_rows mask shape", lambda: normalise(T, fit_rows=np.ones(3, bool)), ValueError,
     "fit_rows as a boolean mask"),
]


class _Procrustes(RegressorMixin, BaseEstimator):
    def fit(self, X, Y):
        U, _, Vt = np.linalg.svd(X.T @ Y)
        self.coef_ = U @ Vt
        return self

    def predict(self, X):
        return X @ self.coef_


def _pair():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 6))
    words = [f"w{i}" for i in range(100)]
    return pair_embeddings((words, X), (words, X), seed=0)


PAIR = _pair()

EXPERIMENTS_CASES = [
    ("score_map space", lambda: score_map(_Procrustes(), PAIR, space="graph"), ValueError,
     "space must be one of"),
    ("score_map retrieval", lambda: score_map(_Procrustes(), PAIR, retrieval=("nn", "cos")), ValueError,
     "retrieval must be one of"),
    ("score_map retrieval empty", lambda: score_map(_Procrustes(), PAIR, retrieval=()), ValueError,
     "retrieval must name at least one"),
    ("score_map n_boot 0", lambda: score_map(_Procrustes(), PAIR, n_boot=0), ValueError,
     "n_boot must be at least 1"),
    ("score_predictions rows", lambda: score_predictions(PAIR.X[:50], PAIR.Y, PAIR), ValueError,
     "pred_all and Y must have one row per word"),
    ("score_predictions NaN", lambda: score_predictions(_with(PAIR.X, 3, 0, np.nan), PAIR.Y, PAIR),
     ValueError, "pred_all.*non-finite"),
    ("compare_maps empty", lambda: compare_maps({}, PAIR, progress=False), ValueError,
     "estimators must be a non-empty dict"),
    ("compare_maps no splits", lambda: compare_maps({"p": _Procrustes()}, PAIR, split_seeds=(), progress=False),
     ValueError, "split_seeds must hold at least one"),
    ("compare_maps no model seeds", lambda: compare_maps({"p": _Procrustes()}, PAIR, model_seeds=[],
                                                         progress=False),
     ValueError, "model_seeds must hold at least one"),
]

ALL_CASES = {
    "evaluation": EVALUATION_CASES,
    "retrieval": RETRIEVAL_CASES,
    "preprocess": PREPROCESS_CASES,
    "experiments": EXPERIMENTS_CASES,
}


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [pytest.param(c, e, p, id=f"{module}: {name}")
     for module, cases in ALL_CASES.items() for name, c, e, p in cases],
)
def test_bad_input_raises_naming_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) is error  # not a subclass from deep inside numpy


def test_csls_with_nan_sources_raises_instead_of_scoring_random_predictions_perfect():
    # Non-finite sources: an error, never p@1 = 1.0 and mrr = inf.
    rng = np.random.default_rng(1)
    targets, pred = rng.normal(size=(1000, 50)), rng.normal(size=(100, 50))
    S = rng.normal(size=(500, 50))
    S[7, 3] = np.nan
    with pytest.raises(ValueError, match="sources contains a non-finite value .* row 7, column 3"):
        evaluate(pred, targets, np.arange(100), retrieval="csls", sources=S)
    fine = evaluate(pred, targets, np.arange(100), retrieval="csls", sources=np.nan_to_num(S))
    assert fine["p@1"] < 0.05 and np.isfinite(fine["mrr"])


@pytest.mark.parametrize("retrieval", ["nn", "csls"])
def test_huge_float32_rows_keep_their_direction(retrieval):
    # float32 rows scaled to 1e20: the squared norm overflows float32 (max ~3.4e38)
    # unless rows are scaled by their max-abs first. The answer must not change.
    rng = np.random.default_rng(2)
    targets = rng.normal(size=(300, 16)).astype(np.float32)
    pred = targets[:50] + 0.05 * rng.normal(size=(50, 16)).astype(np.float32)
    base = evaluate(pred, targets, np.arange(50), retrieval=retrieval)
    big = evaluate(pred * np.float32(1e20), targets * np.float32(1e20), np.arange(50), retrieval=retrieval)
    assert base["p@1"] == 1.0 and big == pytest.approx(base, abs=1e-6)
    np.testing.assert_allclose(unit_rows(targets * np.float32(1e20)), unit_rows(targets), atol=1e-6)
    assert np.all(top_k(pred * np.float32(1e20), targets, k=1)[:, 0] == np.arange(50))


def test_normalizer_single_string_is_one_step():
    X = np.random.default_rng(3).normal(size=(30, 5)) * 7
    got = Normaliser(steps="unit").fit(X).transform(X)
    want = Normaliser(steps=("unit",)).fit(X).transform(X)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)
    centred = Normaliser(steps="center").fit(X)
    assert len(centred.means_) == 1
    np.testing.assert_allclose(centred.means_[0], X.mean(axis=0))


def test_normalizer_huge_rows_and_boolean_fit_rows():
    X = np.random.default_rng(4).normal(size=(40, 6)).astype(np.float32)
    got = Normaliser().fit(X * np.float32(1e20)).transform(X * np.float32(1e20))
    want = Normaliser().fit(X).transform(X)
    np.testing.assert_allclose(got, want, atol=1e-5)
    mask = np.zeros(40, bool)
    mask[:30] = True
    np.testing.assert_array_equal(normalise(X, fit_rows=mask), normalise(X, fit_rows=np.arange(30)))
