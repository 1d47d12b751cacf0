"""Several gold targets per query, and identical target vectors counted once.

Every chunked result is checked against a brute-force reference written with
Python loops over the full score matrix (NN cosine or CSLS, from
:func:`embmap.retrieval.score_chunks`): the rank of a query is the number of
candidates scoring at least as high as its best gold row, or with
``identical_targets="one"`` the number of distinct target vectors (``np.unique``
rows) doing so.
"""

import numpy as np
import pytest

from embmap.evaluation import (
    evaluate,
    gold_ranks,
    graph_hit_rate,
    mean_cosine,
    retrieve,
    retrieve_all,
)
from embmap.gold import GoldSets, as_gold
from embmap.retrieval import score_chunks


def _tied_data(seed=0, n_q=40, n_t=60, d=6, n_twins=12):
    """Vectors with entries in {0, +-0.5} (exact cosines, many ties) and planted twin rows."""
    rng = np.random.default_rng(seed)
    pred = rng.choice([-0.5, 0.0, 0.5], size=(n_q, d)).astype(np.float32)
    pred[np.all(pred == 0, axis=1), 0] = 0.5
    targets = rng.choice([-0.5, 0.0, 0.5], size=(n_t, d)).astype(np.float32)
    targets[np.all(targets == 0, axis=1), 1] = 0.5
    copies = rng.choice(n_t, size=n_twins, replace=False)
    sources = rng.choice(n_t, size=n_twins, replace=True)
    targets[copies] = targets[sources]  # planted exact duplicates (a few triples too)
    golds = []
    for _ in range(n_q):
        size = rng.integers(1, 4)
        golds.append(list(rng.choice(n_t, size=size, replace=False)))
    # make sure some gold sets hold twins of each other and of rows outside the set
    golds[0] = [int(copies[0]), int(sources[0])]
    golds[1] = [int(sources[1])]
    return pred, targets, golds


def _random_data(seed=1, n_q=30, n_t=50, d=8, n_twins=8):
    rng = np.random.default_rng(seed)
    pred = rng.normal(size=(n_q, d)).astype(np.float32)
    targets = rng.normal(size=(n_t, d)).astype(np.float32)
    copies = rng.choice(n_t, size=n_twins, replace=False)
    targets[copies] = targets[rng.choice(n_t, size=n_twins)]
    golds = [list(rng.choice(n_t, size=rng.integers(1, 4), replace=False)) for _ in range(n_q)]
    return pred, targets, golds


def _scores(pred, targets, retrieval, csls_k=3):
    blocks = [S.copy() for _, S in score_chunks(pred, targets, retrieval, csls_k=csls_k, chunk_size=7)]
    return np.vstack(blocks)


def _reference_ranks(S, targets, golds, identical):
    """Loops: count candidates (or distinct target vectors) scoring >= the best gold score."""
    if identical == "one":
        _, keep = np.unique(targets + np.float32(0), axis=0, return_index=True)
    else:
        keep = np.arange(len(targets))
    ranks = []
    for q, gold in enumerate(golds):
        best = max(S[q, g] for g in gold)
        ranks.append(sum(1 for j in keep if S[q, j] >= best))
    return np.array(ranks)


@pytest.mark.parametrize("data", [_tied_data, _random_data])
@pytest.mark.parametrize("retrieval", ["nn", "csls"])
@pytest.mark.parametrize("identical", ["separate", "one"])
def test_several_golds_rank_like_the_brute_force_reference(data, retrieval, identical):
    pred, targets, golds = data()
    S = _scores(pred, targets, retrieval)
    expected = _reference_ranks(S, targets, golds, identical)
    ranks, top = retrieve(pred, targets, golds, retrieval, csls_k=3, chunk_size=7,
                          identical_targets=identical)
    np.testing.assert_array_equal(ranks, expected)
    result = evaluate(pred, targets, golds, retrieval, csls_k=3, chunk_size=11,
                      identical_targets=identical)
    for k in (1, 5, 10):
        assert result[f"p@{k}"] == pytest.approx(np.mean(expected <= k))
    assert result["mrr"] == pytest.approx(np.mean(1.0 / expected))
    # a query is a hit at k when ANY gold is within the top k: never worse than its first gold
    first = _reference_ranks(S, targets, [g[:1] for g in golds], identical)
    assert np.all(expected <= first)
    # the top lists do not depend on the gold rows or the twin convention
    _, top_single = retrieve(pred, targets, [g[0] for g in golds], retrieval, csls_k=3)
    np.testing.assert_array_equal(top, top_single)


@pytest.mark.parametrize("retrieval", ["nn", "csls"])
def test_identical_rows_score_identically_and_count_once(retrieval):
    pred, targets, golds = _tied_data()
    S = _scores(pred, targets, retrieval)
    uniq, inverse = np.unique(targets, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for group in range(len(uniq)):
        cols = np.flatnonzero(inverse == group)
        assert np.all(S[:, cols] == S[:, cols[:1]])  # twins are exact ties
    single = [g[0] for g in golds]
    sep = gold_ranks(pred, targets, single, retrieval, csls_k=3)
    one = gold_ranks(pred, targets, single, retrieval, csls_k=3, identical_targets="one")
    assert np.all(one <= sep) and np.any(one < sep)  # the planted twins did count against
    result = evaluate(pred, targets, single, retrieval, csls_k=3, identical_targets="one")
    assert result["n_distinct_candidates"] == len(uniq) < result["n_candidates"]
    with pytest.raises(ValueError, match="identical_targets"):
        evaluate(pred, targets, single, identical_targets="merged")


@pytest.mark.parametrize("retrieval", ["nn", "csls"])
def test_one_gold_per_query_as_sets_equals_the_int_array_path_exactly(retrieval):
    pred, targets, golds = _random_data(seed=5)
    gold = np.array([g[0] for g in golds])
    graph = np.array([[i, (i + 1) % len(targets)] for i in range(len(targets))])
    plain = evaluate(pred, targets, gold, retrieval, csls_k=3, graph=graph, chunk_size=4)
    for form in ([[g] for g in gold], GoldSets.from_lists([[g] for g in gold]),
                 tuple(np.array([g]) for g in gold)):
        as_sets = evaluate(pred, targets, form, retrieval, csls_k=3, graph=graph, chunk_size=4)
        assert as_sets == plain  # bit-identical floats, same keys
    assert isinstance(as_gold([[1], [2]], 5), GoldSets)
    assert isinstance(as_gold([1, 2], 5), np.ndarray)


def test_mean_cos_and_graph_hit_use_the_best_of_several_golds():
    rng = np.random.default_rng(2)
    targets = rng.normal(size=(20, 5)).astype(np.float32)
    pred = rng.normal(size=(6, 5)).astype(np.float32)
    golds = [[0, 3], [4], [7, 8, 9], [1], [2, 19], [5, 6]]
    unit = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)
    cos = unit(pred.astype(np.float64)) @ unit(targets.astype(np.float64)).T
    expected = np.mean([max(cos[q, g] for g in gold) for q, gold in enumerate(golds)])
    assert mean_cosine(pred, targets, golds) == pytest.approx(expected, abs=1e-6)
    assert mean_cosine(pred, targets, golds) >= mean_cosine(pred, targets, [g[0] for g in golds])
    # graph hit: top lists of 10 with hand-made hits via a gold, a neighbour of a non-first gold
    from embmap.evaluation import graph_adjacency

    adjacency = graph_adjacency(np.array([[9, 15], [19, 12]]), 20)
    top = np.tile(np.arange(10, 20), (6, 1))  # rows 10..19: no gold of queries 0, 1, 3, 5
    hits = [False, False, True, False, True, False]  # 2: neighbour 15 of gold 9; 4: gold 19
    assert graph_hit_rate(top, golds, adjacency) == pytest.approx(np.mean(hits))
    assert graph_hit_rate(top, [g[0] for g in golds], adjacency) == 0.0


def test_retrieve_all_and_gold_ranks_accept_several_golds():
    pred, targets, golds = _random_data(seed=3)
    both = retrieve_all(pred, targets, golds, ("nn", "csls"), csls_k=3)
    for method in ("nn", "csls"):
        np.testing.assert_array_equal(both[method][0],
                                      gold_ranks(pred, targets, golds, method, csls_k=3))
        np.testing.assert_array_equal(
            both[method][0], _reference_ranks(_scores(pred, targets, method), targets, golds,
                                              "separate"))


@pytest.mark.parametrize("gold, error, message", [
    ([[0, 1], []], ValueError, r"gold\[1\] is empty"),
    ([[0, 1], [2, 50]], ValueError, r"gold must lie in \[0, 50\)"),
    ([[0, -1], [2]], ValueError, "gold must hold target rows >= 0"),
    ([[0, 1], [2], [3]], ValueError, "gold must have one index per pred row"),
    ([[0, 1.5], [2]], TypeError, r"gold\[0\] must hold integer"),
    ([[0, 1], [[2, 3]]], ValueError, r"gold\[1\] must be a sequence"),
    (np.array([[0], [1]]), ValueError, "gold must be a 1-D"),
])
def test_bad_gold_sets_are_refused_naming_gold(gold, error, message):
    pred = np.ones((2, 3), dtype=np.float32)
    targets = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(error, match=message):
        evaluate(pred, targets, gold)
    with pytest.raises(error, match=message):
        retrieve(pred, targets, gold, "csls")


def test_gold_sets_slicing_and_subsets():
    g = GoldSets.from_lists([[3, 1], [2], [0, 4, 5]])
    assert len(g) == 3 and g.sizes.tolist() == [2, 1, 3]
    assert [s.tolist() for s in g[1:3].sets()] == [[2], [0, 4, 5]]
    assert [s.tolist() for s in g[np.array([2, 0])].sets()] == [[0, 4, 5], [3, 1]]
    assert len(g[2:2]) == 0
    with pytest.raises(ValueError, match="query 1 has no gold"):
        GoldSets(np.array([0, 2, 2]), np.array([1, 2]))


def _pair_with_second_golds(capsys=None):
    """A dictionary pair where words s0..s29 also list the target of word s(i+30)."""
    from embmap.datasets import pair_embeddings
    from embmap.io import Embedding

    rng = np.random.default_rng(7)
    n = 120
    src = Embedding([f"s{i}" for i in range(n)], rng.normal(size=(n, 6)))
    trg = Embedding([f"T_s{i}" for i in range(n)], rng.normal(size=(n, 6)))
    entries = [(f"s{i}", f"T_s{i}") for i in range(n)] + [(f"s{i}", f"T_s{i + 30}")
                                                           for i in range(30)]
    pair = pair_embeddings(src, trg, dictionary=entries, test_fraction=0.5, seed=3)
    # every word's prediction lies near its SECOND gold when it has one, else near its own
    near = np.array([i + 30 if i < 30 else i for i in range(n)])
    pred_all = pair.Y[near] + 0.05 * rng.normal(size=pair.Y.shape).astype(np.float32)
    return pair, pred_all.astype(np.float32)


def test_score_predictions_counts_a_hit_on_any_gold_of_the_pair():
    from embmap.experiments import score_predictions

    pair, pred_all = _pair_with_second_golds()
    test = pair.test
    assert pair.gold_sets is not None and np.any(test < 30)
    row = score_predictions(pred_all, pair.Y, pair, keep_ranks=True, n_boot=10)
    for method in ("nn", "csls"):
        expected = gold_ranks(pred_all[test], pair.Y, pair.gold(test), method, sources=pred_all)
        np.testing.assert_array_equal(row[f"ranks {method}"], expected)
        rows_only = gold_ranks(pred_all[test], pair.Y, test, method, sources=pred_all)
        assert np.all(expected <= rows_only) and np.any(expected < rows_only)
        assert row[f"p@1 {method}"] == 1.0  # every word's prediction sits on one of its golds
    assert row["mean_cos"] == pytest.approx(mean_cosine(pred_all[test], pair.Y, pair.gold(test)))


@pytest.mark.parametrize("beta", [0.0, 2.0])
def test_two_direction_retrieval_ranks_the_best_gold_like_the_reference(beta):
    from embmap.local import TwoDirectionRetrieval

    rng = np.random.default_rng(8)
    X = rng.normal(size=(70, 5)).astype(np.float32)
    Y = rng.normal(size=(70, 7)).astype(np.float32)
    train, queries = np.arange(50), np.arange(50, 70)
    preds = Y[queries] + 0.8 * rng.normal(size=(20, 7)).astype(np.float32)
    golds = [list(rng.choice(70, size=rng.integers(1, 4), replace=False)) for _ in queries]
    scheme = TwoDirectionRetrieval(n_neighbors=5, beta=beta, chunk_size=6).fit(X, Y, train)
    blocks = [fwd + np.float32(beta) * rev if beta else fwd
              for _, fwd, rev in scheme._blocks(X[queries], preds, None)]
    S = np.vstack(blocks)
    expected = _reference_ranks(S, Y, golds, "separate")
    ranks, _ = scheme.retrieve(X[queries], preds, golds)
    np.testing.assert_array_equal(ranks, expected)
    single, _ = scheme.retrieve(X[queries], preds, [g[:1] for g in golds])
    np.testing.assert_array_equal(single, scheme.retrieve(X[queries], preds,
                                                          [g[0] for g in golds])[0])
    assert np.all(ranks <= single)
    with pytest.raises(ValueError, match="gold"):
        scheme.retrieve(X[queries], preds, golds[:-1])


def test_select_best_scores_validation_words_on_any_gold():
    from embmap.app.model_file import select_best

    pair, _ = _pair_with_second_golds()
    X, Y = pair.X, pair.Y
    plain = select_best(X, Y, seed=0)
    several = select_best(X, Y, seed=0, gold_sets=pair.gold_sets)
    same = select_best(X, Y, seed=0, gold_sets=[np.array([i]) for i in range(len(X))])
    assert same == plain  # one gold per word: the plain rows' choice, exactly
    # a hit on any gold can only add hits at the chosen setting
    sel, sel_plain = several["selection"], plain["selection"]
    assert sel["validation_p@10_knn_csls"] >= sel_plain["validation_p@10_knn_csls"]
    with pytest.raises(ValueError, match="gold_sets"):
        select_best(X, Y, seed=0, gold_sets=pair.gold_sets[:3])


def test_graph_hits_per_query_with_several_golds():
    from embmap.analysis import graph_hits
    from embmap.evaluation import graph_adjacency

    adjacency = graph_adjacency(np.array([[9, 15], [19, 12]]), 20)
    top = np.tile(np.arange(10, 20), (4, 1))
    golds = [[0, 3], [7, 8, 9], [2, 19], [1]]
    np.testing.assert_array_equal(graph_hits(top, golds, adjacency), [False, True, True, False])
    np.testing.assert_array_equal(graph_hits(top, [g[0] for g in golds], adjacency),
                                  [False, False, False, False])
    assert graph_hit_rate(top, golds, adjacency) == np.mean(graph_hits(top, golds, adjacency))
