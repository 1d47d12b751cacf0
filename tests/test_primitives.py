"""The shared primitives: one row normalisation, top-k, bootstrap resampler, hold-out and
least-squares solve, each tested here once, including what an all-zero row does."""

import numpy as np
import pytest

from embmap._search import topk_single
from embmap._validation import holdout_rows, safe_unit_rows
from embmap.bootstrap import bootstrap_indices, mean_interval
from embmap.datasets import split_indices
from embmap.evaluation import bootstrap_ci, evaluate, paired_bootstrap
from embmap.linear import LeastSquares, least_squares
from embmap.retrieval import top_k


def test_unit_rows_keep_or_refuse_a_zero_row():
    M = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]], dtype=np.float32)
    kept = safe_unit_rows(M)
    np.testing.assert_allclose(kept, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match=r"row 1 of Z is all zeros \(zero norm\)"):
        safe_unit_rows(M, zero_rows="raise", name="Z")
    with pytest.raises(ValueError, match="zero_rows must be one of"):
        safe_unit_rows(M, zero_rows="drop")
    # no overflow: a float32 row of magnitude 1e20 keeps its direction
    np.testing.assert_allclose(safe_unit_rows(M[:1] * np.float32(1e20)), [[0.6, 0.8]], rtol=1e-6)
    assert safe_unit_rows(M.astype(np.float64), np.float64).dtype == np.float64


def test_a_zero_prediction_ranks_last_not_first():
    # kept at zero, its cosine to every target is 0: it ties with all of them, and ties
    # count against the prediction, so the gold target ranks last
    targets = np.eye(4, dtype=np.float32)
    result = evaluate(np.zeros((1, 4)), targets, [2])
    assert result["p@1"] == 0.0 and result["mrr"] == pytest.approx(1 / 4)


def test_top_k_breaks_ties_by_lower_row_even_for_a_zero_query():
    S = np.array([[0.5, 0.9, 0.9, 0.1], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    values, columns = topk_single(S, 3)
    np.testing.assert_array_equal(columns, [[1, 2, 0], [0, 1, 2]])
    np.testing.assert_allclose(values[0], [0.9, 0.9, 0.5])
    targets = np.random.default_rng(0).normal(size=(6, 3))
    np.testing.assert_array_equal(top_k(np.zeros((1, 3)), targets, k=3), [[0, 1, 2]])


def test_holdout_rows_is_the_draw_behind_every_split():
    kept, held = holdout_rows(10, 3, seed=4)
    assert sorted(np.r_[kept, held]) == list(range(10)) and len(held) == 3
    np.testing.assert_array_equal(held, np.random.default_rng(4).permutation(10)[:3])
    kept0, held0 = holdout_rows(5, 0, seed=1)
    assert len(held0) == 0 and sorted(kept0) == list(range(5))
    # the pair's test rows are the same draw
    train, val, test = split_indices(50, seed=7, val_fraction=0.1, test_fraction=0.2)
    rest, held = holdout_rows(50, 10, seed=7)
    np.testing.assert_array_equal(test, np.sort(held))
    np.testing.assert_array_equal(val, np.sort(rest[:5]))
    np.testing.assert_array_equal(train, np.sort(rest[5:]))
    with pytest.raises(ValueError, match="n_held must be at most 5"):
        holdout_rows(5, 6, seed=0)


def test_least_squares_matches_a_reference_and_treats_zero_rows_as_data():
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(40, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    Y = X @ W + b + 0.01 * rng.normal(size=(40, 3))
    A = np.hstack([X, np.ones((40, 1))])
    ref = np.linalg.lstsq(A, Y, rcond=None)[0]
    coef, intercept = least_squares(X, Y, fit_intercept=True)
    np.testing.assert_allclose(coef, ref[:-1], atol=1e-10)
    np.testing.assert_allclose(intercept, ref[-1], atol=1e-10)
    coef0, intercept0 = least_squares(X, Y)
    np.testing.assert_allclose(coef0, np.linalg.lstsq(X, Y, rcond=None)[0], atol=1e-10)
    assert not intercept0.any()
    # a zero row is an ordinary data point: without an intercept it cannot change W
    Xz, Yz = np.vstack([X, np.zeros((1, 4))]), np.vstack([Y, rng.normal(size=(1, 3))])
    np.testing.assert_allclose(least_squares(Xz, Yz)[0], coef0, atol=1e-10)
    # rank-deficient X (a zero column): the minimum-norm solution, 0 on that column
    Xd = X.copy()
    Xd[:, 1] = 0
    assert np.allclose(least_squares(Xd, Y)[0][1], 0.0)
    model = LeastSquares(fit_intercept=True).fit(X, Y)
    np.testing.assert_allclose(model.coef_, coef, atol=1e-12)


def test_bootstrap_indices_are_shared_and_keep_group_sizes():
    idx = bootstrap_indices(7, 5, seed=3)
    np.testing.assert_array_equal(idx, np.random.default_rng(3).integers(0, 7, size=(5, 7)))
    groups = np.r_[np.zeros(3), np.ones(4)]
    grouped = bootstrap_indices(7, 50, seed=0, groups=groups)
    assert (grouped[:, :3] < 3).all() and (grouped[:, 3:] >= 3).all()
    # one resampler: bootstrap_ci and paired_bootstrap see the same replicates
    ranks = np.array([1, 20, 3, 50, 2, 9, 11])
    _, low, high = bootstrap_ci(ranks, "p@10", n_boot=200, seed=5)
    diff = paired_bootstrap(ranks, np.full(7, 100), n_boot=200, seed=5)
    assert (diff[1], diff[2]) == pytest.approx((low, high))
    with pytest.raises(ValueError, match="groups must have one entry per query"):
        bootstrap_indices(7, 5, groups=[0, 1])
    with pytest.raises(ValueError, match="n must be at least 1"):
        bootstrap_indices(0, 5)


def test_bootstrap_indices_draws_from_a_given_generator():
    # embmap.analysis passes one generator through many calls: the first call must
    # equal the seeded draw, and the next must continue the stream (not repeat it)
    rng = np.random.default_rng(0)
    first = bootstrap_indices(7, 4, seed=rng)
    second = bootstrap_indices(7, 4, seed=rng)
    np.testing.assert_array_equal(first, bootstrap_indices(7, 4, seed=0))
    assert not np.array_equal(first, second)


def test_mean_interval_is_the_interval_behind_every_bootstrap():
    ranks = np.array([1, 20, 3, 50, 2, 9, 11, 4])
    hits = (ranks <= 10).astype(float)
    assert mean_interval(hits, n_boot=300, seed=2) == bootstrap_ci(ranks, "p@10", n_boot=300, seed=2)
    # one stratum draws exactly what no strata draw; a generator continues its stream
    assert mean_interval(hits, n_boot=50, seed=1, groups=np.zeros(8)) == mean_interval(hits, n_boot=50, seed=1)
    rng = np.random.default_rng(0)
    assert mean_interval(hits, n_boot=50, seed=rng) == mean_interval(hits, n_boot=50, seed=0)
    with pytest.raises(ValueError, match="level must be < 1"):
        mean_interval(hits, level=1.0)
