"""Known answers and bad inputs for embmap.analysis (notebook 08's analyses)."""

import numpy as np
import pandas as pd
import pytest

from embmap.analysis import (
    curve_summary,
    graph_hits,
    grouped_scores,
    learning_curve,
    load_pos_senses,
    nearest_training_neighbour,
    remove_edges,
    retrieval_coverage,
    subset_sizes,
)
from embmap.evaluation import graph_adjacency, graph_hit_rate
from embmap.io import write_npz

# ---------------------------------------------------------------- grouped scores


def test_grouped_scores_known_answer():
    ranks = np.array([1, 20, 5, 11, 3, 3])
    groups = ["a", "a", "b", "b", "b", "c"]
    table = grouped_scores(ranks, groups, k=10, n_boot=200)
    assert table.index.tolist() == ["a", "b", "c"]
    assert table["n"].tolist() == [2, 3, 1]
    np.testing.assert_allclose(table["value"], [0.5, 2 / 3, 1.0])
    assert (table["lo"] <= table["value"]).all() and (table["value"] <= table["hi"]).all()
    assert table.loc["c", "lo"] == table.loc["c", "hi"] == 1.0   # one query: no spread


def test_grouped_scores_keeps_category_order_and_accepts_hits():
    groups = pd.Categorical(["rare", "frequent", "rare"], categories=["frequent", "mid", "rare"])
    table = grouped_scores(hits=[True, False, True], groups=groups, n_boot=50)
    assert table.index.tolist() == ["frequent", "rare"]          # empty "mid" left out, order kept
    np.testing.assert_allclose(table["value"], [0.0, 1.0])


def test_grouped_scores_interval_matches_a_brute_force_bootstrap():
    rng = np.random.default_rng(0)
    ranks = rng.integers(1, 30, size=400)
    table = grouped_scores(ranks, np.zeros(400, dtype=int), k=10, n_boot=4000, seed=1)
    hits = ranks <= 10
    se = hits.std() / np.sqrt(len(hits))
    assert table.loc[0, "lo"] == pytest.approx(hits.mean() - 1.96 * se, abs=0.01)
    assert table.loc[0, "hi"] == pytest.approx(hits.mean() + 1.96 * se, abs=0.01)


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"ranks": [1, 2], "groups": ["a"]}, ValueError, "one label per query"),
    ({"ranks": [1, 2], "groups": ["a", None]}, ValueError, "missing label"),
    ({"ranks": [0, 2], "groups": ["a", "b"]}, ValueError, ">= 1"),
    ({"ranks": [np.nan, 2], "groups": ["a", "b"]}, ValueError, "NaN or inf"),
    ({"ranks": [], "groups": []}, ValueError, "empty"),
    ({"ranks": [1, 2], "hits": [1, 0], "groups": ["a", "b"]}, ValueError, "exactly one"),
    ({"hits": [1, np.inf], "groups": ["a", "b"]}, ValueError, "NaN or inf"),
    ({"hits": [[1, 0]], "groups": ["a", "b"]}, ValueError, "1-D"),
    ({"ranks": [1, 2], "groups": None}, TypeError, "groups is required"),
    ({"ranks": [1, 2], "groups": ["a", "b"], "k": 1.5}, TypeError, "k must be an integer"),
    ({"ranks": [1, 2], "groups": ["a", "b"], "n_boot": 0}, ValueError, "n_boot"),
    ({"ranks": [1, 2], "groups": ["a", "b"], "level": 1.0}, ValueError, "level"),
])
def test_grouped_scores_bad_inputs(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        grouped_scores(**kwargs)


# ---------------------------------------------------------------- learning curves


def test_subset_sizes():
    assert subset_sizes(100, [10, 50, 500, None]) == [10, 50, 100]
    with pytest.raises(ValueError, match="sizes must be at least 1"):
        subset_sizes(100, [0])
    with pytest.raises(TypeError, match="sizes must be a sequence"):
        subset_sizes(100, 10)
    with pytest.raises(ValueError, match="at least one size"):
        subset_sizes(100, [])


def test_learning_curve_draws_subsets_of_train_and_scores_them():
    train = np.arange(100, 200)
    seen = []

    def run(rows, repeat):
        seen.append((rows.copy(), repeat))
        # a map whose gold rank is 1 for the first len(rows) // 10 of 10 queries, 50 otherwise
        hits = len(rows) // 10
        return {"m": np.r_[np.ones(hits, int), np.full(10 - hits, 50)]}

    curve = learning_curve(run, train, sizes=[20, 50, None], n_repeats=2, seed=3)
    assert [len(r) for r, _ in seen] == [20, 20, 50, 50, 100]    # the full set is drawn once
    assert all(np.isin(r, train).all() and len(np.unique(r)) == len(r) for r, _ in seen)
    assert not np.array_equal(seen[0][0], seen[1][0])             # independent subsets
    np.testing.assert_allclose(curve["p@10"], [0.2, 0.2, 0.5, 0.5, 1.0])
    again = learning_curve(run, train, sizes=[20, 50, None], n_repeats=2, seed=3)
    np.testing.assert_array_equal(np.concatenate(again["size"].to_numpy()[:, None]),
                                  np.concatenate(curve["size"].to_numpy()[:, None]))
    assert all(np.array_equal(a, b) for a, b in zip([r for r, _ in seen[:5]], [r for r, _ in seen[5:]]))
    summary = curve_summary(curve, n_boot=100)
    assert summary["size"].tolist() == [20, 50, 100] and summary["subsets"].tolist() == [2, 2, 1]
    np.testing.assert_allclose(summary["p@10"], [0.2, 0.5, 1.0])
    np.testing.assert_allclose(summary["sd"].iloc[:2], [0.0, 0.0])
    assert np.isnan(summary["sd"].iloc[2])


def test_learning_curve_repeats_for_and_bad_inputs():
    calls = []
    learning_curve(lambda rows, r: calls.append(len(rows)) or {"m": [1]}, np.arange(10), [2, 5],
                   repeats_for=lambda size: 3 if size < 5 else 1)
    assert calls == [2, 2, 2, 5]                                  # "all" only when asked for
    with pytest.raises(TypeError, match="run must be callable"):
        learning_curve(None, np.arange(10), [5])
    with pytest.raises(ValueError, match="must not repeat"):
        learning_curve(lambda rows, r: {"m": [1]}, [1, 1, 2], [2])
    with pytest.raises(TypeError, match="non-empty dict"):
        learning_curve(lambda rows, r: [1], np.arange(10), [5])
    with pytest.raises(ValueError, match="ranks of 'm'"):
        learning_curve(lambda rows, r: {"m": [0]}, np.arange(10), [5])
    with pytest.raises(TypeError, match="train must hold integer"):
        learning_curve(lambda rows, r: {"m": [1]}, [0.5, 1.5], [1])
    with pytest.raises(TypeError, match="learning_curve"):
        curve_summary(pd.DataFrame({"x": [1]}))


# ---------------------------------------------------------------- coverage


def test_retrieval_coverage_known_answer():
    top = np.array([[0, 1], [0, 2], [0, 1], [0, 3]])
    cov = retrieval_coverage(top, n_targets=8, k=2, hub_factor=2.0)
    np.testing.assert_array_equal(cov["counts"], [4, 2, 1, 1, 0, 0, 0, 0])
    assert cov["reached"] == 0.5 and cov["never_retrieved"] == 0.5 and cov["max_count"] == 4
    assert cov["hub_threshold"] == 2.0 and cov["hubs"].tolist() == [0] and cov["n_hubs"] == 1
    assert cov["hub_share"] == 0.5 and cov["reach_cap"] == 1.0
    only_first = retrieval_coverage(top, n_targets=8, k=1)
    assert only_first["reached"] == 1 / 8


@pytest.mark.parametrize("top, n, k, error, fragment", [
    (np.array([[0, 9]]), 8, 2, ValueError, "must lie in"),
    (np.array([[0, -1]]), 8, 2, ValueError, "must lie in"),
    (np.array([[0.0, 1.0]]), 8, 2, TypeError, "integer target rows"),
    (np.array([0, 1]), 8, 2, ValueError, "2-D"),
    (np.zeros((0, 2), int), 8, 2, ValueError, "2-D"),
    (np.array([[0, 1]]), 8, 3, ValueError, "at least k=3"),
    (np.array([[0, 1]]), 0, 2, ValueError, "n_targets must be at least 1"),
])
def test_retrieval_coverage_bad_inputs(top, n, k, error, fragment):
    with pytest.raises(error, match=fragment):
        retrieval_coverage(top, n, k=k)


def test_retrieval_coverage_rejects_a_hub_factor_of_one():
    with pytest.raises(ValueError, match="hub_factor"):
        retrieval_coverage(np.array([[0]]), 2, k=1, hub_factor=1.0)


# ---------------------------------------------------------------- new words


def test_remove_edges_drops_every_edge_touching_the_rows():
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5]])
    np.testing.assert_array_equal(remove_edges(edges, [1]), [[2, 3], [3, 0], [4, 5]])
    np.testing.assert_array_equal(remove_edges(edges, []), edges)
    assert remove_edges(edges, [0, 2]).tolist() == [[4, 5]]
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        remove_edges(np.array([0, 1, 2]), [0])
    with pytest.raises(TypeError, match="integer row indices"):
        remove_edges(np.array([[0.5, 1.0]]), [0])
    with pytest.raises(ValueError, match=">= 0"):
        remove_edges(np.array([[-1, 1]]), [0])
    with pytest.raises(TypeError, match="rows must hold integer"):
        remove_edges(edges, [0.5])


def test_graph_hits_matches_graph_hit_rate_and_handles_new_words():
    edges = np.array([[0, 1], [1, 2], [3, 4]])
    A = graph_adjacency(edges, 6)
    top = np.array([[1, 5], [5, 4], [2, 5], [3, 0]])
    gold = np.array([0, 0, 2, 4])
    hits = graph_hits(top, gold, A, k=2)
    np.testing.assert_array_equal(hits, [True, False, True, True])   # neighbour, none, itself, neighbour
    assert hits.mean() == graph_hit_rate(top, gold, A)
    np.testing.assert_array_equal(graph_hits(top, gold, A, k=1), [True, False, True, True])
    with pytest.raises(TypeError, match="sparse"):
        graph_hits(top, gold, edges)
    with pytest.raises(ValueError, match="one row per query"):
        graph_hits(top, gold[:2], A, k=2)
    with pytest.raises(ValueError, match="must lie in"):
        graph_hits(top + 10, gold, A, k=2)
    with pytest.raises(ValueError, match="at least k=3"):
        graph_hits(top, gold, A, k=3)


def test_nearest_training_neighbour_known_answer():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [-1.0, 0.0]])
    A = graph_adjacency(np.array([[0, 1], [2, 4]]), 5)
    nearest, linked = nearest_training_neighbour(X, train=np.array([0, 1, 4]), queries=np.array([0, 2, 3]),
                                                 adjacency=A)
    np.testing.assert_array_equal(nearest, [1, 1, 1])    # row 0 skips itself
    np.testing.assert_array_equal(linked, [True, False, False])
    with pytest.raises(ValueError, match="non-finite"):
        nearest_training_neighbour(np.where(X == 1.0, np.nan, X), [0, 1], [2], A)
    with pytest.raises(TypeError, match="sparse"):
        nearest_training_neighbour(X, [0, 1], [2], np.eye(5))
    with pytest.raises(ValueError, match="train must lie in"):
        nearest_training_neighbour(X, [0, 9], [2], A)


# ---------------------------------------------------------------- parts of speech


def test_load_pos_senses_known_answer(tmp_path):
    counts = np.array([[7, 1, 0, 0], [0, 0, 2, 2], [0, 3, 0, 0]], dtype=np.float32)
    write_npz(tmp_path / "wordnet_pos_senses.npz", ["dog", "big", "run"], counts,
              columns=np.array(["noun", "verb", "adjective", "adverb"]))
    frame = load_pos_senses(["run", "dog", "big", "absent"], tmp_path)
    assert frame["pos"].tolist()[:3] == ["verb", "noun", "adjective"]   # tie adjective/adverb -> adjective
    assert pd.isna(frame.loc["absent", "pos"]) and frame.loc["absent", "senses"] == 0
    assert frame["senses"].tolist() == [3, 8, 4, 0]
    assert load_pos_senses(["x"], tmp_path) is None
    assert load_pos_senses(["dog"], tmp_path / "nowhere") is None
    with pytest.raises(TypeError, match="list of strings"):
        load_pos_senses("dog", tmp_path)
    write_npz(tmp_path / "wordnet_pos_senses.npz", ["dog"], np.array([[1.5, 0, 0, 0]], np.float32))
    with pytest.raises(ValueError, match="integer counts"):
        load_pos_senses(["dog"], tmp_path)


def test_bundled_pos_senses_cover_every_graph_word():
    from embmap import load_dataset

    pair = load_dataset()
    frame = load_pos_senses(pair.words)
    assert frame is not None and (frame["senses"] >= 1).all()
    assert frame.loc["dog", ["noun", "verb"]].tolist() == [7, 1]      # WordNet 3.0: dog n 7, v 1
