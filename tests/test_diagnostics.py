import numpy as np
import pytest

from embmap.diagnostics import (
    duplicate_rows,
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


def test_duplicate_rows_counts_groups_and_caps_against_a_brute_force_count():
    rng = np.random.default_rng(5)
    Y = rng.normal(size=(40, 3))
    Y[[3, 7, 11]] = Y[2]                # a group of 4 identical rows
    Y[[20, 21]] = 0.0                   # two all-zero rows: a group of 2
    Y[30:42] = Y[29]                    # a group of 11 (rows 29..39)
    result = duplicate_rows(Y)
    sizes = np.array([sum(np.array_equal(a, b) for b in Y) for a in Y])  # brute force
    np.testing.assert_array_equal(result["group_size"], sizes)
    assert result["rows_shared"] == 4 + 2 + 11
    assert result["groups"] == 3 and result["largest_group"] == 11 and result["zero_rows"] == 2
    assert result["p@1_cap"] == pytest.approx(np.mean(sizes == 1))
    assert result["p@10_cap"] == pytest.approx(np.mean(sizes <= 10))
    # Over chosen gold rows: two singletons and one member of the 4-group.
    sub = duplicate_rows(Y, gold=[0, 1, 3])
    assert sub["p@1_cap"] == pytest.approx(2 / 3) and sub["p@10_cap"] == 1.0


def test_duplicate_rows_cap_is_what_the_tie_rule_allows():
    """A perfect prediction (the gold vector itself) reaches exactly the cap."""
    from embmap.evaluation import evaluate

    rng = np.random.default_rng(6)
    Y = rng.normal(size=(30, 4))
    Y[5:8] = Y[4]
    gold = np.arange(30)
    caps = duplicate_rows(Y, gold=gold)
    assert evaluate(Y[gold], Y, gold)["p@1"] == pytest.approx(caps["p@1_cap"])
