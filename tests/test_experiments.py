import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from embmap.datasets import pair_embeddings
from embmap.experiments import compare_maps, format_table, mean_sd_text, score_map, summarise


class _Procrustes(RegressorMixin, BaseEstimator):
    def fit(self, X, Y):
        U, _, Vt = np.linalg.svd(X.T @ Y)
        self.coef_ = U @ Vt
        return self

    def predict(self, X):
        return X @ self.coef_


class _Constant(RegressorMixin, BaseEstimator):
    """Records whether it received validation rows."""

    def fit(self, X, Y, X_val=None, Y_val=None):
        self.mean_ = Y.mean(axis=0)
        self.got_val_ = X_val is not None and len(X_val) > 0
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1)) + 1e-6 * np.arange(len(X))[:, None]


@pytest.fixture
def rotated_pair():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 10))
    Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    words = [f"w{i}" for i in range(600)]
    pair = pair_embeddings((words, X), (words, X @ Q), seed=0)
    pair.edges = np.array([[0, 1], [2, 3]])
    return pair


def test_score_map_recovers_rotation(rotated_pair):
    row = score_map(_Procrustes(), rotated_pair, n_boot=200)
    assert row["p@1 nn"] == 1.0 and row["p@1 csls"] == 1.0
    assert row["mean_cos"] == pytest.approx(1.0, abs=1e-5)
    assert row["p@10 nn lo"] == 1.0 and row["n_candidates"] == 600 and row["n_test"] == 60
    assert row["graph_hit@10 nn"] == 1.0


def test_constant_map_is_at_chance_and_gets_validation(rotated_pair):
    row = score_map(_Constant(), rotated_pair, retrieval=("nn",), n_boot=200)
    assert row["p@10 nn"] <= 0.05
    assert "p@1 csls" not in row


def test_compare_and_summarise(rotated_pair):
    results = compare_maps({"procrustes": _Procrustes(), "constant": _Constant()}, rotated_pair,
                           split_seeds=(0, 1), retrieval=("nn",), n_boot=100, progress=False)
    assert len(results) == 4 and set(results["split"]) == {0, 1}
    summary = summarise(results, ["p@1 nn", "fit_s"])
    assert summary.loc["procrustes", "p@1 nn"] == 1.0 and summary.loc["procrustes", "p@1 nn sd"] == 0.0
    by_hand = results[results.method == "constant"]["fit_s"]
    assert summary.loc["constant", "fit_s sd"] == pytest.approx(by_hand.std(ddof=1))
    table = format_table(summary, ["p@1 nn"])
    assert table.loc["procrustes", "p@1 nn (%)"] == "100.00 ± 0.00"


class _Seeded(RegressorMixin, BaseEstimator):
    def __init__(self, seed=0):
        self.seed = seed

    def fit(self, X, Y):
        self.noise_ = np.random.default_rng(self.seed).normal(size=Y.shape[1])
        return self

    def predict(self, X):
        return np.tile(self.noise_, (len(X), 1))


def test_model_seeds_and_raw_spaces(rotated_pair):
    results = compare_maps({"seeded": _Seeded(), "procrustes": _Procrustes()}, rotated_pair,
                           model_seeds=[3, 4], retrieval=("nn",), n_boot=50, progress=False,
                           normalisation=())
    # two runs for the seeded estimator, one for the seedless one
    assert results.groupby("method").size().to_dict() == {"procrustes": 1, "seeded": 2}
    assert sorted(results[results.method == "seeded"]["seed"]) == [3, 4]
    # raw rotated vectors: Procrustes is still exact
    assert results[results.method == "procrustes"]["p@1 nn"].item() == 1.0


class _Shared(_Procrustes):
    """A map with a shared space (like VecMap): the target side is rotated back there."""

    def transform_source(self, X):
        return X

    def transform_target(self, Y):
        return Y @ self.coef_.T


def test_results_are_tidy_and_name_the_space(rotated_pair):
    results = compare_maps({"shared": _Shared(), "seeded": _Seeded(), "plain": _Procrustes()},
                           rotated_pair, model_seeds=[1, 2], retrieval=("nn",), n_boot=20,
                           progress=False)
    # one row per run, columns that say what ran
    assert list(results.method) == ["shared", "seeded", "seeded", "plain"]
    assert list(results.estimator) == ["_Shared", "_Seeded", "_Seeded", "_Procrustes"]
    assert list(results.space) == ["shared", "target", "target", "target"]
    assert set(results.normalisation) == {"unit-center-unit"}
    assert list(results.param_seed.iloc[1:3]) == [1, 2]   # the seed each run was fitted with
    # the shared space of a rotation is exact; selection by column, not by label
    assert results.loc[results.space == "shared", "p@1 nn"].item() == 1.0
    summary = summarise(results, ["p@1 nn"])
    assert summary.loc[summary.space == "shared"].index.tolist() == ["shared"]
    assert summary.loc["seeded", "estimator"] == "_Seeded"
    assert "param_seed" not in summary   # differs between runs: not a property of the method
    table = format_table(summary, ["p@1 nn"])
    assert list(table["scored in"]) == ["shared space", "target space", "target space"]
    forced = compare_maps({"shared": _Shared()}, rotated_pair, retrieval=("nn",), n_boot=20,
                          progress=False, space="target", normalisation=())
    assert forced.space.item() == "target" and forced.normalisation.item() == "raw"


def test_shared_space_is_refused_for_a_map_without_one(rotated_pair):
    with pytest.raises(ValueError, match="space='shared'.*_Procrustes has none"):
        score_map(_Procrustes(), rotated_pair, space="shared", n_boot=10)
    with pytest.raises(ValueError, match="space"):
        score_map(_Procrustes(), rotated_pair, space="graph", n_boot=10)


def test_mean_sd_text_shows_one_run_without_a_spread():
    assert mean_sd_text(12.345, 0.0, 1) == "12.35"
    assert mean_sd_text(12.345, 0.5, 3) == "12.35 ± 0.50"
    assert mean_sd_text(0.5, 0.01, 2, digits=3) == "0.500 ± 0.010"
    with pytest.raises(ValueError, match="runs"):
        mean_sd_text(1.0, 0.0, 0)
    with pytest.raises(ValueError, match="sd must be finite"):
        mean_sd_text(1.0, float("nan"), 2)


def test_compare_maps_in_parallel_gives_the_same_rows(rotated_pair):
    # Two worker processes must reproduce the sequential rows (seeded MLP fits, linear maps),
    # in the same order; only the wall-clock column may differ.
    from embmap.neural import MLPMap

    maps = {"mlp": MLPMap(hidden=(16,), max_epochs=3, batch_size=64, device="cpu"),
            "procrustes": _Procrustes()}
    kw = {"split_seeds": (0, 1), "model_seeds": (0,), "n_boot": 50, "progress": False,
          "validation": True, "keep_ranks": True}
    seq = compare_maps(maps, rotated_pair, **kw)
    par = compare_maps(maps, rotated_pair, n_jobs=2, **kw)
    assert len(seq) == 4 and list(par["method"]) == list(seq["method"])
    for col in seq.columns:
        if col in ("fit_s", "history"):
            continue
        for a, b in zip(seq[col], par[col]):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            elif not (isinstance(a, float) and np.isnan(a) and np.isnan(b)):
                assert a == b, col
    hist_seq = [h["val_loss"] for h in seq["history"] if isinstance(h, dict)]
    hist_par = [h["val_loss"] for h in par["history"] if isinstance(h, dict)]
    assert hist_seq == hist_par and len(hist_seq) == 2
    with pytest.raises(ValueError, match="n_jobs"):
        compare_maps(maps, rotated_pair, n_jobs=0, progress=False)


def test_normaliser_from_a_stored_mean_transforms_like_the_fitted_one():
    from embmap.preprocess import Normaliser

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6)) + 2.0
    fitted = Normaliser().fit(X[:30])
    rebuilt = Normaliser.from_mean(fitted.mean_)
    np.testing.assert_array_equal(rebuilt.transform(X), fitted.transform(X))
    assert rebuilt.n_features_in_ == 6 and rebuilt.mean_ is not fitted.mean_
    with pytest.raises(ValueError, match="mean must be a finite 1-D vector"):
        Normaliser.from_mean([[0.0, 1.0]])
    with pytest.raises(ValueError, match="exactly one 'center' step"):
        Normaliser.from_mean(fitted.mean_, steps=("unit",))
    with pytest.raises(AttributeError, match="exactly one 'center' step"):
        _ = Normaliser(("unit",)).fit(X).mean_
