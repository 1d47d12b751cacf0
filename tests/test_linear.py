"""Tests of embmap.linear: every map is checked against an answer known in advance.

All data is synthetic (no bundled files needed).
"""

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.linear_model import Ridge as SkRidge
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from embmap.evaluation import evaluate
from embmap.linear import (
    CCAMap,
    LeastSquares,
    OrthogonalProcrustes,
    RidgeHoldoutMap,
    RidgeMap,
    SelfLearning,
    VecMapMultiStep,
)
from embmap.preprocess import Normaliser

ALL_MAPS = [LeastSquares, RidgeMap, OrthogonalProcrustes, CCAMap, VecMapMultiStep, SelfLearning]


def gaussian(n, d, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def rotation(d, seed=0):
    return ortho_group.rvs(d, random_state=seed)


def isotropic(n, d, seed=0):
    """Rows whose Gram matrix is exactly n * I (orthonormal columns, rescaled)."""
    q, _ = np.linalg.qr(gaussian(n, d, seed))
    return q * np.sqrt(n)


def r2(pred, Y):
    return 1 - np.sum((pred - Y) ** 2) / np.sum((Y - Y.mean(axis=0)) ** 2)


# --- scikit-learn API --------------------------------------------------------


@parametrize_with_checks(
    [
        LeastSquares(),
        LeastSquares(fit_intercept=True),
        RidgeMap(),
        RidgeMap(alpha=0.0, fit_intercept=True),
        RidgeHoldoutMap(),
        RidgeHoldoutMap(alphas=(0.1, 10.0), fit_intercept=True),
        OrthogonalProcrustes(),
        CCAMap(),
        VecMapMultiStep(),
        VecMapMultiStep(orthogonal=False, reweight=None),
        SelfLearning(n_iter=2),
        SelfLearning(VecMapMultiStep(), n_iter=2, direction="forward"),
    ]
)
def test_sklearn_compatible(estimator, check):
    # The full battery passes: no check is expected to fail. The only skip
    # is check_array_api_input (needs SCIPY_ARRAY_API=1 and an array API
    # backend). OrthogonalProcrustes, VecMapMultiStep and SelfLearning set
    # the poor_score tag, which only waives the "R^2 > 0.5 on a regression
    # toy set" assertion: a rotation cannot rescale a 1-D target.
    check(estimator)


@pytest.mark.parametrize("Map", ALL_MAPS)
def test_different_dimensions_and_new_words(Map):
    X, Y = gaussian(300, 12), gaussian(300, 7, seed=1)
    model = Map().fit(X[:200], Y[:200])
    assert model.predict(X[200:]).shape == (100, 7)  # words unseen in fit
    assert model.n_features_in_ == 12


@pytest.mark.parametrize(
    "Map", [LeastSquares, RidgeMap, OrthogonalProcrustes, CCAMap, VecMapMultiStep]
)
def test_coef_convention(Map):
    X, Y = gaussian(100, 6), gaussian(100, 4, seed=1)
    model = Map().fit(X, Y)
    assert model.coef_.shape == (6, 4)
    np.testing.assert_allclose(model.predict(X), X @ model.coef_ + model.intercept_, atol=1e-10)


@pytest.mark.parametrize("Map", ALL_MAPS)
def test_bad_input_raises_clear_errors(Map):
    X, Y = gaussian(20, 5), gaussian(20, 3)
    with pytest.raises(ValueError, match="same number of rows"):
        Map().fit(X, Y[:-1])
    with pytest.raises(ValueError, match="minimum of 2"):
        Map().fit(X[:1], Y[:1])
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Map().fit(bad, Y)
    bad = Y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Map().fit(X, bad)
    with pytest.raises(ValueError, match="features"):
        Map().fit(X, Y).predict(X[:, :4])


@pytest.mark.parametrize(
    "model, message",
    [
        (RidgeMap(alpha=-1.0), "alpha"),
        (CCAMap(n_components=4), "n_components"),
        (CCAMap(reg=-1), "reg"),
        (VecMapMultiStep(dim_reduction=4), "dim_reduction"),
        (VecMapMultiStep(reweight=-0.5), "reweight"),
        (VecMapMultiStep(orthogonal=False), "orthogonal=True"),
        (SelfLearning(dropout=1.0), "dropout"),
        (SelfLearning(direction="both"), "direction"),
    ],
)
def test_bad_parameters(model, message):
    with pytest.raises(ValueError, match=message):
        model.fit(gaussian(20, 5), gaussian(20, 3))


def test_pipeline_normalises_x():
    X, Q = gaussian(200, 8), rotation(8)
    Xn = Normaliser().fit_transform(X)
    model = make_pipeline(Normaliser(), OrthogonalProcrustes()).fit(X, Xn @ Q)
    np.testing.assert_allclose(model.predict(X), Xn @ Q, atol=1e-5)


def test_float32_stays_float32():
    X, Y = gaussian(50, 5).astype(np.float32), gaussian(50, 3).astype(np.float32)
    model = LeastSquares().fit(X, Y)
    assert model.coef_.dtype == np.float64  # fitted in float64
    assert model.predict(X).dtype == np.float32


# --- known answers -------------------------------------------------------------


def test_procrustes_recovers_rotation():
    X, Q = gaussian(200, 10), rotation(10)
    model = OrthogonalProcrustes().fit(X, X @ Q)
    np.testing.assert_allclose(model.coef_, Q, atol=1e-5)


def test_procrustes_semi_orthogonal_when_dims_differ():
    Q = rotation(50)[:, :30]  # 50 -> 30, orthonormal columns
    X = isotropic(400, 50)
    W = OrthogonalProcrustes().fit(X, X @ Q).coef_
    assert W.shape == (50, 30)
    np.testing.assert_allclose(W.T @ W, np.eye(30), atol=1e-8)
    np.testing.assert_allclose(W, Q, atol=1e-5)  # exact for isotropic X
    # 30 -> 50: orthonormal rows.
    X = gaussian(400, 30)
    W = OrthogonalProcrustes().fit(X, X @ Q.T).coef_
    np.testing.assert_allclose(W @ W.T, np.eye(30), atol=1e-8)
    np.testing.assert_allclose(W, Q.T, atol=1e-5)


def test_least_squares_recovers_map_under_noise():
    rng = np.random.default_rng(0)
    X, A = gaussian(500, 20), rng.normal(size=(20, 15))
    Y = X @ A + 1e-3 * rng.normal(size=(500, 15))
    np.testing.assert_allclose(LeastSquares().fit(X, Y).coef_, A, atol=1e-3)
    b = rng.normal(size=15)
    model = LeastSquares(fit_intercept=True).fit(X, Y + b)
    np.testing.assert_allclose(model.coef_, A, atol=1e-3)
    np.testing.assert_allclose(model.intercept_, b, atol=1e-3)


def test_least_squares_underdetermined_is_minimum_norm():
    X, Y = gaussian(5, 10), gaussian(5, 3, seed=1)
    W = LeastSquares().fit(X, Y).coef_
    np.testing.assert_allclose(X @ W, Y, atol=1e-10)
    np.testing.assert_allclose(W, np.linalg.pinv(X) @ Y, atol=1e-10)


def test_ridge_limits():
    X, Y = gaussian(100, 8), gaussian(100, 5, seed=1)
    ls = LeastSquares().fit(X, Y).coef_
    np.testing.assert_allclose(RidgeMap(alpha=1e-10).fit(X, Y).coef_, ls, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(RidgeMap(alpha=0).fit(X, Y).coef_, ls)
    huge = RidgeMap(alpha=1e9).fit(X, Y).coef_
    assert np.linalg.norm(huge) < 1e-6 * np.linalg.norm(ls)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_ridge_matches_sklearn(fit_intercept):
    X, Y = gaussian(100, 8), gaussian(100, 5, seed=1) + 3.0
    ours = RidgeMap(alpha=7.0, fit_intercept=fit_intercept).fit(X, Y)
    theirs = SkRidge(alpha=7.0, fit_intercept=fit_intercept).fit(X, Y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_.T, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-10)


@pytest.mark.parametrize("d_x, d_y", [(10, 10), (12, 7), (7, 12)])
def test_vecmap_without_whitening_is_procrustes(d_x, d_y):
    X, Y = gaussian(200, d_x), gaussian(200, d_y, seed=1)
    vecmap = VecMapMultiStep(whiten=False, reweight=None, dewhiten=False).fit(X, Y)
    np.testing.assert_allclose(vecmap.coef_, OrthogonalProcrustes().fit(X, Y).coef_, atol=1e-10)


def test_vecmap_unconstrained_is_least_squares():
    X, Y = gaussian(200, 10), gaussian(200, 6, seed=1)
    vecmap = VecMapMultiStep(orthogonal=False, reweight=None).fit(X, Y)
    np.testing.assert_allclose(vecmap.coef_, LeastSquares().fit(X, Y).coef_, atol=1e-10)


def test_vecmap_full_framework_recovers_rotation():
    # Every step of the framework is rotation-equivariant, so an exact
    # rotation must come out unchanged, and both sides meet in the shared space.
    X = gaussian(300, 10) * np.linspace(0.5, 3, 10)  # anisotropic: whitening matters
    Q = rotation(10)
    vecmap = VecMapMultiStep().fit(X, X @ Q)
    np.testing.assert_allclose(vecmap.coef_, Q, atol=1e-8)
    np.testing.assert_allclose(
        vecmap.transform_source(X), vecmap.transform_target(X @ Q), atol=1e-8
    )


def test_vecmap_whitening_and_dimensionality_reduction_shapes():
    X, Y = gaussian(300, 10), gaussian(300, 8, seed=1)
    vecmap = VecMapMultiStep(dim_reduction=3).fit(X, Y)
    assert vecmap.coef_source_.shape == (10, 3)
    assert vecmap.coef_target_.shape == (8, 3)
    assert vecmap.transform_target(Y).shape == (300, 3)
    assert np.linalg.matrix_rank(vecmap.coef_) == 3
    # Whitening alone (steps 1-2): both shared-space sides have identity Gram matrices.
    cca = VecMapMultiStep(reweight=None, dewhiten=False).fit(X, Y)
    for side in (cca.transform_source(X), cca.transform_target(Y)):
        np.testing.assert_allclose(side.T @ side, np.eye(8), atol=1e-8)


@pytest.mark.parametrize("d_x, d_y", [(15, 15), (15, 8), (8, 15)])
def test_cca_full_rank_equals_least_squares_with_intercept(d_x, d_y):
    rng = np.random.default_rng(0)
    X, A = gaussian(400, d_x), rng.normal(size=(d_x, d_y))
    Y = X @ A + 2.0 + 0.1 * rng.normal(size=(400, d_y))
    cca = CCAMap().fit(X, Y)
    ls = LeastSquares(fit_intercept=True).fit(X, Y)
    np.testing.assert_allclose(cca.predict(X), ls.predict(X), atol=1e-4)


def test_cca_recovers_exact_map():
    rng = np.random.default_rng(0)
    X, A = gaussian(400, 15), rng.normal(size=(15, 15))
    Y = X @ A
    cca = CCAMap().fit(X[:300], Y[:300])
    assert r2(cca.predict(X[300:]), Y[300:]) > 0.9999
    np.testing.assert_allclose(cca.correlations_, 1, atol=1e-3)  # up to reg


def test_cca_low_rank_map_needs_few_components():
    # Y depends on X only through 3 directions: 3 canonical pairs suffice.
    rng = np.random.default_rng(0)
    X = gaussian(500, 15)
    Y = X @ rng.normal(size=(15, 3)) @ rng.normal(size=(3, 10)) + 0.01 * rng.normal(size=(500, 10))
    cca = CCAMap(n_components=3).fit(X[:400], Y[:400])
    assert r2(cca.predict(X[400:]), Y[400:]) > 0.999
    assert cca.correlations_.min() > 0.99
    assert r2(CCAMap(n_components=1).fit(X[:400], Y[:400]).predict(X[400:]), Y[400:]) < 0.9


@pytest.mark.parametrize("retrieval", ["nn", "csls"])
def test_perfect_map_scores_p_at_1(retrieval):
    X, Q = gaussian(1000, 20), rotation(20)
    Y = X @ Q
    train, test = np.arange(800), np.arange(800, 1000)
    model = OrthogonalProcrustes().fit(X[train], Y[train])
    scores = evaluate(model.predict(X[test]), Y, test, retrieval, sources=model.predict(X))
    assert scores["p@1"] == 1.0
    assert scores["n_candidates"] == 1000


# --- self-learning -------------------------------------------------------------


def clustered_rotated_pair(n=2000, d=20, seed=0):
    """Clustered Gaussian X and its rotated copy with 0.01 noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, d))
    X = centres[rng.integers(50, size=n)] + 0.5 * rng.normal(size=(n, d))
    Q = rotation(d, seed)
    return X, X @ Q + 0.01 * rng.normal(size=(n, d)), Q, rng


def all_rows_p_at_1(model, X, Y):
    return evaluate(model.predict(X), Y, np.arange(len(X)), "nn")["p@1"]


@pytest.mark.parametrize(
    "n_seed, n_wrong, direction",
    [
        (10, 0, "union"),  # fewer seed pairs than dimensions: rotation underdetermined
        (50, 25, "forward"),  # 50 seed pairs, half of them wrong
    ],
)
def test_self_learning_recovers_rotation_from_small_seed(n_seed, n_wrong, direction):
    X, Y, Q, rng = clustered_rotated_pair()
    src = rng.choice(len(X), n_seed, replace=False)
    trg = src.copy()
    trg[:n_wrong] = rng.choice(len(X), n_wrong, replace=False)
    seed_pairs = np.column_stack([src, trg])

    seed_only = OrthogonalProcrustes().fit(X[src], Y[trg])
    model = SelfLearning(OrthogonalProcrustes(), n_iter=10, direction=direction)
    model.fit(X, Y, seed_pairs=seed_pairs)

    assert all_rows_p_at_1(seed_only, X, Y) < 0.5
    assert all_rows_p_at_1(model, X, Y) > 0.99
    np.testing.assert_allclose(model.estimator_.coef_, Q, atol=1e-2)
    # The objective (mean best CSLS) must have risen over the rounds.
    objectives = [h["objective"] for h in model.history_]
    assert objectives[-1] > objectives[0]


def test_self_learning_attributes_and_delegation():
    X, Y, _, _ = clustered_rotated_pair(n=300, d=8)
    model = SelfLearning(VecMapMultiStep(), n_iter=3, seed=1).fit(X, Y)
    np.testing.assert_array_equal(model.predict(X), model.estimator_.predict(X))
    assert isinstance(model.estimator_, VecMapMultiStep)
    assert model.dictionary_.ndim == 2 and model.dictionary_.shape[1] == 2
    assert model.dictionary_.dtype.kind == "i"
    assert 1 <= len(model.history_) == model.n_iter_ <= 3
    assert set(model.history_[0]) == {"iteration", "dictionary_size", "objective", "seconds"}
    again = SelfLearning(VecMapMultiStep(), n_iter=3, seed=1).fit(X, Y)
    np.testing.assert_array_equal(again.dictionary_, model.dictionary_)  # seeded


def test_self_learning_vocabularies_of_different_sizes():
    X, Y, _, _ = clustered_rotated_pair(n=400, d=8)
    seed_pairs = np.column_stack([np.arange(20), np.arange(20)])
    model = SelfLearning(n_iter=2, vocabulary_size=300, direction="union")
    model.fit(X, Y[:350], seed_pairs=seed_pairs)
    assert model.dictionary_[:, 0].max() < 300 and model.dictionary_[:, 1].max() < 300
    assert model.predict(X).shape == (400, 8)
    with pytest.raises(ValueError, match="seed_pairs"):
        SelfLearning().fit(X, Y, seed_pairs=[[0, 0], [1, 500]])


def test_self_learning_without_iterations_is_the_seed_fit():
    X, Y, _, _ = clustered_rotated_pair(n=300, d=8)
    seed_pairs = np.column_stack([np.arange(30), np.arange(30)])
    model = SelfLearning(n_iter=0).fit(X, Y, seed_pairs=seed_pairs)
    expected = OrthogonalProcrustes().fit(X[:30], Y[:30]).coef_
    np.testing.assert_allclose(model.estimator_.coef_, expected)
    np.testing.assert_array_equal(model.dictionary_, seed_pairs)
    assert model.history_ == []


def test_csls_induction_matches_dense_computation():
    # The chunked one-pass induction (running column maximum for the
    # backward direction) must agree with the dense CSLS matrix.
    from embmap.linear import _best_csls
    from embmap.retrieval import unit_rows

    src, trg = gaussian(60, 5), gaussian(45, 5, seed=1)
    P, T = unit_rows(src).astype(np.float64), unit_rows(trg).astype(np.float64)
    cos = P @ T.T
    r_T = np.sort(cos, axis=1)[:, -10:].mean(axis=1)
    r_S = np.sort(cos, axis=0)[-10:].mean(axis=0)
    csls = 2 * cos - r_T[:, None] - r_S[None, :]
    fwd, bwd, objective = _best_csls(src, trg, 10, 0.0, None, backward=True, chunk_size=7)
    np.testing.assert_array_equal(fwd, csls.argmax(axis=1))
    np.testing.assert_array_equal(bwd, csls.argmax(axis=0))
    expected = (csls.max(axis=1).mean() + csls.max(axis=0).mean()) / 2
    assert objective == pytest.approx(expected, abs=1e-5)


def test_ridge_cv_picks_alpha_on_validation_and_refits():
    rng = np.random.default_rng(0)
    # Few noisy rows and many features: some shrinkage must beat none.
    X = rng.normal(size=(60, 40))
    W = rng.normal(size=(40, 5)) * 0.3
    Y = X @ W + rng.normal(scale=1.0, size=(60, 5))
    X_val = rng.normal(size=(500, 40))
    Y_val = X_val @ W + rng.normal(scale=1.0, size=(500, 5))
    model = RidgeHoldoutMap(alphas=(1e-6, 10.0, 1e6)).fit(X, Y, X_val=X_val, Y_val=Y_val)
    assert model.alpha_ == 10.0
    assert model.validation_mse_[10.0] < model.validation_mse_[1e-6]
    assert model.validation_mse_[10.0] < model.validation_mse_[1e6]
    np.testing.assert_allclose(model.predict(X_val), RidgeMap(alpha=10.0).fit(X, Y).predict(X_val))
    # Without a validation pair, a seeded hold-out of the training rows is used.
    held = RidgeHoldoutMap(alphas=(1e-6, 10.0, 1e6)).fit(X, Y)
    assert held.alpha_ in (1e-6, 10.0, 1e6) and held.coef_.shape == (40, 5)


def test_old_ridge_names_are_deprecated_aliases():
    from embmap import linear

    with pytest.warns(DeprecationWarning, match="use RidgeMap"):
        assert linear.Ridge is RidgeMap
    with pytest.warns(DeprecationWarning, match="use RidgeHoldoutMap"):
        assert linear.RidgeCV is RidgeHoldoutMap
    with pytest.raises(AttributeError):
        _ = linear.NoSuchMap


def test_fit_keeps_constructor_params_and_extra_fit_args_are_keyword_only():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 4)), rng.normal(size=(40, 3))
    model = RidgeHoldoutMap(alphas=[0.1, 1.0])
    model.fit(X, Y, X_val=X[:10], Y_val=Y[:10])
    assert model.alphas == [0.1, 1.0] and model.get_params()["seed"] == 0
    with pytest.raises(TypeError):
        RidgeHoldoutMap().fit(X, Y, X[:10], Y[:10])
    with pytest.raises(TypeError):
        SelfLearning(n_iter=1).fit(X, Y, np.c_[np.arange(5), np.arange(5)])
