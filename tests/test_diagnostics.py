import numpy as np
import pytest

from embmap.diagnostics import (
    mean_with_ci,
    nearest_words,
    neighbour_overlap,
    random_pair_cosines,
    value_summary,
)


def test_overlap_is_one_for_rotated_copy_and_chance_for_random():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 12))
    Q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    queries = np.arange(200)
    assert neighbour_overlap(X, X @ Q, queries).mean() == 1.0
    random = neighbour_overlap(X, rng.normal(size=(1000, 12)), queries, k=10)
    assert random.mean() == pytest.approx(10 / 999, abs=0.01)


def test_random_pair_cosines_detect_anisotropy():
    rng = np.random.default_rng(1)
    iso = random_pair_cosines(rng.normal(size=(2000, 20)))
    shifted = random_pair_cosines(rng.normal(size=(2000, 20)) + 2.0)
    assert abs(iso.mean()) < 0.01
    # a common offset of 2 in 20 dims: cos -> 80 / (80 + 20) = 0.8
    assert shifted.mean() == pytest.approx(0.8, abs=0.02)


def test_nearest_words_and_summary():
    words = ["a", "b", "c", "d"]
    M = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    table = nearest_words(M, words, ["a", "c"], k=2)
    assert table.loc["a"].tolist() == ["b", "c"]
    assert table.loc["c"].tolist() == ["b", "a"]
    with pytest.raises(KeyError, match="zzz"):
        nearest_words(M, words, ["zzz"])
    s = value_summary(M)
    assert s["min"] == -1.0 and s["share_outside_unit"] == pytest.approx(3 / 8)


def test_mean_with_ci_covers_mean():
    x = np.random.default_rng(2).normal(size=400)
    mean, low, high = mean_with_ci(x)
    assert low < mean < high
    assert high - low == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.2)
