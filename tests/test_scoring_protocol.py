"""The scoring-protocol options a careful comparison of maps needs.

Leave-one-out CSLS sources for kNN regression, a shared scoring space for maps
trained on raw vectors, validation-word scores, the early-stopping flag, and
the paired (optionally stratified) bootstrap.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from embmap.datasets import pair_embeddings
from embmap.evaluation import evaluate, paired_bootstrap, paired_bootstrap_ratio
from embmap.experiments import format_table, normalised_spaces, score_map, summarise
from embmap.neural import KNNRegressionMap
from embmap.preprocess import Normaliser


@pytest.fixture
def noisy_pair():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 8)) + 2.0   # off-centre, so centring changes cosines
    Y = X @ rng.normal(size=(8, 6)) + rng.normal(size=(500, 6)) + 1.0
    words = [f"w{i}" for i in range(500)]
    return pair_embeddings((words, X), (words, Y), seed=0)


def test_knn_predict_training_matches_refit_without_the_row():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(80, 5)).astype(np.float32), rng.normal(size=(80, 3)).astype(np.float32)
    X[7] = X[3]   # a duplicate vector: leave-one-out must drop the row itself, not its twin
    knn = KNNRegressionMap(n_neighbors=4, chunk_size=16).fit(X, Y)
    loo = knn.predict_training()
    for i in (0, 3, 7, 79):
        keep = np.arange(80) != i
        expected = KNNRegressionMap(n_neighbors=4).fit(X[keep], Y[keep]).predict(X[i : i + 1])
        np.testing.assert_allclose(loo[i], expected[0], atol=1e-5)
    # with its own target among the neighbours, predict() is closer to it than predict_training()
    err_fit = np.linalg.norm(knn.predict(X) - Y, axis=1).mean()
    assert err_fit < np.linalg.norm(loo - Y, axis=1).mean()


def test_score_map_uses_loo_sources_for_knn(noisy_pair):
    pair = noisy_pair
    X, Y = normalised_spaces(pair)
    row = score_map(KNNRegressionMap(n_neighbors=5), pair, retrieval=("csls",), n_boot=50)
    knn = KNNRegressionMap(n_neighbors=5).fit(X[pair.train], Y[pair.train])
    sources = knn.predict(X)
    sources[pair.train] = knn.predict_training()
    expected = evaluate(sources[pair.test], Y, pair.test, retrieval="csls", sources=sources)
    assert row["p@10 csls"] == pytest.approx(expected["p@10"])
    assert row["mrr csls"] == pytest.approx(expected["mrr"])
    kept = score_map(KNNRegressionMap(n_neighbors=5), pair, retrieval=("csls",), n_boot=50,
                     keep_ranks=True)["ranks csls"]
    assert len(kept) == len(pair.test) and np.mean(kept <= 10) == pytest.approx(expected["p@10"])


class _LeastSquares(RegressorMixin, BaseEstimator):
    def fit(self, X, Y):
        A = np.c_[X, np.ones(len(X))]
        self.coef_ = np.linalg.lstsq(A, Y, rcond=None)[0]
        return self

    def predict(self, X):
        return np.c_[X, np.ones(len(X))] @ self.coef_


def test_score_steps_scores_raw_maps_in_the_normalised_space(noisy_pair):
    pair = noisy_pair
    raw = normalised_spaces(pair, ())
    steps = ("unit", "center", "unit")
    row = score_map(_LeastSquares(), pair, retrieval=("csls",), n_boot=50, vectors=raw,
                    score_steps=steps, validation=True)
    pred = _LeastSquares().fit(raw[0][pair.train], raw[1][pair.train]).predict(raw[0])
    norm = Normaliser(steps).fit(raw[1][pair.train])
    P, T = norm.transform(pred), norm.transform(raw[1])
    test = evaluate(P[pair.test], T, pair.test, retrieval="csls", sources=P)
    val = evaluate(P[pair.val], T, pair.val, retrieval="csls", sources=P)
    assert row["mrr csls"] == pytest.approx(test["mrr"])
    assert row["val mrr csls"] == pytest.approx(val["mrr"])
    assert row["val p@10 csls"] == pytest.approx(val["p@10"])
    plain = score_map(_LeastSquares(), pair, retrieval=("csls",), n_boot=50, vectors=raw)
    assert plain["mrr csls"] != pytest.approx(test["mrr"])   # the space does matter here


class _Trained(RegressorMixin, BaseEstimator):
    """Pretends to train; its history ends with `stale` epochs without improvement."""

    def __init__(self, max_epochs=10, patience=3, stale=0):
        self.max_epochs, self.patience, self.stale = max_epochs, patience, stale

    def fit(self, X, Y):
        n = self.max_epochs if self.stale < self.patience else 6 + self.stale
        improved = [True] * (n - self.stale) + [False] * self.stale
        self.history_ = {"epoch": list(range(1, n + 1)), "improved": improved}
        self.mean_ = Y.mean(axis=0)
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1)) + 1e-6 * np.arange(len(X))[:, None]


@pytest.mark.parametrize("stale, early, best", [(0, False, 10), (2, False, 8), (3, True, 6)])
def test_score_map_reports_whether_training_stopped_early(noisy_pair, stale, early, best):
    row = score_map(_Trained(stale=stale), noisy_pair, retrieval=("nn",), n_boot=10)
    assert row["stopped_early"] is early
    assert row["best_epoch"] == best


def test_paired_bootstrap_difference_and_ratio():
    rng = np.random.default_rng(1)
    a, b = rng.integers(1, 30, size=400), rng.integers(1, 40, size=400)
    diff, low, high = paired_bootstrap(a, b, statistic="difference", n_boot=500)
    assert diff == pytest.approx(np.mean(a <= 10) - np.mean(b <= 10))
    assert low <= diff <= high
    ratio = paired_bootstrap(a, b, statistic="ratio", n_boot=500)
    assert ratio[0] == pytest.approx(paired_bootstrap_ratio(a, b, n_boot=500)[0])
    same = paired_bootstrap(a, a, n_boot=200)
    assert same == (0.0, 0.0, 0.0)   # paired: identical maps never differ


def test_paired_bootstrap_groups_keep_group_sizes():
    # group 0: a hits, b misses; group 1: the reverse. Stratified replicates keep 30/70.
    a = np.r_[np.ones(30), np.full(70, 99)]
    b = np.r_[np.full(30, 99), np.ones(70)]
    groups = np.r_[np.zeros(30), np.ones(70)]
    diff, low, high = paired_bootstrap(a, b, groups=groups, n_boot=300)
    assert diff == pytest.approx(-0.4) and low == pytest.approx(-0.4) and high == pytest.approx(-0.4)
    assert paired_bootstrap(a, b, n_boot=300)[2] > -0.4 + 0.05   # unstratified varies


def test_paired_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="statistic"):
        paired_bootstrap([1, 2], [1, 2], statistic="sum")
    with pytest.raises(ValueError, match="undefined"):
        paired_bootstrap([1, 2], [50, 60], statistic="ratio")
    with pytest.raises(ValueError, match="groups"):
        paired_bootstrap([1, 2], [1, 2], groups=[0])


def test_single_runs_are_shown_without_a_spread():
    results = pd.DataFrame({"method": ["one", "two", "two"], "p@10 csls": [0.1, 0.2, 0.4]})
    summary = summarise(results, ["p@10 csls"])
    assert summary.loc["one", "runs"] == 1 and summary.loc["two", "runs"] == 2
    table = format_table(summary, ["p@10 csls"])["p@10 csls (%)"]
    assert table["one"] == "10.00"
    assert table["two"] == f"30.00 ± {np.std([20, 40], ddof=1):.2f}"


def test_validation_rates_are_shown_as_percentages():
    results = pd.DataFrame({"method": ["m", "m"], "val p@10 csls": [0.1, 0.3]})
    table = format_table(summarise(results, ["val p@10 csls"]), ["val p@10 csls"])
    assert table.loc["m", "val p@10 csls (%)"].startswith("20.00 ± ")
