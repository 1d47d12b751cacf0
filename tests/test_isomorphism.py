"""Tests for embmap.isomorphism: every check compares against a known answer."""

from __future__ import annotations

import itertools
import math
import time

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.sparse.csgraph import maximum_bipartite_matching
from scipy.stats import ortho_group

from embmap import isomorphism
from embmap.isomorphism import (
    bottleneck_distance,
    eigenvector_similarity,
    gh_distance,
    isomorphism_table,
    knn_graph,
    laplacian_spectrum,
    largest_isomorphic_prefix,
    relational_similarity,
    rips_h0_deaths,
    spectral_distance,
    vf2_isomorphic,
)

# ---------------------------------------------------------------------------
# Helpers and references
# ---------------------------------------------------------------------------


def random_space(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d))


def rotated(X, seed):
    """X under a random orthogonal map: every cosine and distance is unchanged."""
    return X @ ortho_group.rvs(X.shape[1], random_state=seed)


def relabelled(graph, seed):
    """An isomorphic copy of graph whose node labels are randomly permuted."""
    nodes = list(graph)
    permutation = np.random.default_rng(seed).permutation(len(nodes))
    mapping = {node: nodes[i] for node, i in zip(nodes, permutation)}
    copy = nx.Graph()
    copy.add_nodes_from(sorted(mapping.values()))
    copy.add_edges_from((mapping[u], mapping[v]) for u, v in graph.edges())
    return copy


def brute_force_knn_edges(X, k):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    similarity = U @ U.T
    np.fill_diagonal(similarity, -np.inf)
    edges = set()
    for i, row in enumerate(similarity):
        for j in np.argsort(-row)[:k]:
            edges.add(frozenset((i, int(j))))
    return edges


def brute_force_bottleneck(deaths1, deaths2):
    """Try every partial matching; unmatched points go to the diagonal (cost d/2)."""
    best = math.inf
    for size in range(min(len(deaths1), len(deaths2)) + 1):
        for chosen1 in itertools.combinations(range(len(deaths1)), size):
            for chosen2 in itertools.permutations(range(len(deaths2)), size):
                costs = [abs(deaths1[i] - deaths2[j]) for i, j in zip(chosen1, chosen2)]
                costs += [d / 2 for i, d in enumerate(deaths1) if i not in chosen1]
                costs += [d / 2 for j, d in enumerate(deaths2) if j not in chosen2]
                best = min(best, max(costs, default=0.0))
    return best


def matching_bottleneck(deaths1, deaths2):
    """Textbook reduction: perfect matching with one diagonal copy per point.

    Left = points of diagram 1 + diagonal copies of diagram 2's points; right
    = points of diagram 2 + diagonal copies of diagram 1's points; diagonal
    copies match each other freely. Scan all candidate values in order.
    """
    deaths1, deaths2 = np.asarray(deaths1, float), np.asarray(deaths2, float)
    m, p = len(deaths1), len(deaths2)
    pair_cost = np.abs(deaths1[:, None] - deaths2[None, :])
    candidates = np.unique(np.concatenate([pair_cost.ravel(), deaths1 / 2, deaths2 / 2, [0.0]]))
    for eps in candidates:
        allowed = np.zeros((m + p, p + m), dtype=bool)
        allowed[:m, :p] = pair_cost <= eps
        allowed[np.arange(m), p + np.arange(m)] = deaths1 / 2 <= eps
        allowed[m + np.arange(p), np.arange(p)] = deaths2 / 2 <= eps
        allowed[m:, p:] = True
        matching = maximum_bipartite_matching(sparse.csr_matrix(allowed), perm_type="column")
        if np.all(matching >= 0):
            return float(eps)
    raise AssertionError("the largest candidate is always feasible")


# ---------------------------------------------------------------------------
# knn_graph
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3])
def test_knn_graph_matches_brute_force_neighbours(k):
    X = random_space(57, 6, seed=k)
    graph = knn_graph(X, k=k, chunk_size=7)  # 7 does not divide 57: ragged last chunk
    assert sorted(graph.nodes) == list(range(57))
    assert {frozenset(edge) for edge in graph.edges} == brute_force_knn_edges(X, k)
    assert nx.number_of_selfloops(graph) == 0
    assert min(dict(graph.degree).values()) >= k


def test_knn_graph_uses_cosine_not_euclidean_distance():
    # Row 1 is far from row 0 in Euclidean terms but points the same way.
    X = np.array([[1.0, 0.0], [100.0, 1.0], [0.6, 0.6], [-1.0, 0.2]])
    graph = knn_graph(X, k=1)
    assert graph.has_edge(0, 1)
    assert not graph.has_edge(0, 2)


@pytest.mark.parametrize(
    "X, k, message",
    [
        (np.ones((3, 2)), 3, "larger than"),
        (np.ones((3, 2)), 0, "at least 1"),
        (np.array([[1.0, np.nan], [1.0, 0.0]]), 1, "non-finite"),
        (np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 1, "zero norm"),
        (np.ones(4), 1, "2-D"),
    ],
)
def test_knn_graph_rejects_bad_input(X, k, message):
    with pytest.raises(ValueError, match=message):
        knn_graph(X, k=k)


# ---------------------------------------------------------------------------
# vf2_isomorphic
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The hashes produced")
def test_vf2_rejects_hexagon_versus_two_triangles():
    hexagon = nx.cycle_graph(6)
    two_triangles = nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))
    # Same degree sequence and (2-regular) same Weisfeiler-Lehman hash, so
    # only the VF2 search itself can tell them apart.
    assert nx.weisfeiler_lehman_graph_hash(hexagon) == nx.weisfeiler_lehman_graph_hash(
        two_triangles
    )
    assert vf2_isomorphic(hexagon, two_triangles) is False


def test_vf2_rejects_different_degree_sequences_at_once():
    path, star = nx.path_graph(4), nx.star_graph(3)  # both: 4 nodes, 3 edges
    assert vf2_isomorphic(path, star) is False
    assert vf2_isomorphic(nx.path_graph(4), nx.path_graph(5)) is False


@pytest.mark.parametrize(
    "graph",
    [
        nx.random_regular_graph(3, 20, seed=3),
        nx.petersen_graph(),
        knn_graph(random_space(150, 10, seed=4)),
    ],
    ids=["cubic20", "petersen", "knn-forest150"],
)
def test_vf2_finds_isomorphism_of_a_relabelled_copy(graph):
    copy = relabelled(graph, seed=5)
    assert not all(copy.has_edge(u, v) for u, v in graph.edges)  # identity is not a map
    assert vf2_isomorphic(graph, copy, timeout=None) is True


def test_vf2_gives_up_on_hard_non_isomorphic_regular_graphs():
    # Two random cubic graphs on 300 nodes: every cheap invariant agrees, and
    # plain VF2 runs for minutes (n=200 does not finish in 60 s).
    G1 = nx.random_regular_graph(3, 300, seed=1)
    G2 = nx.random_regular_graph(3, 300, seed=2)
    started = time.monotonic()
    assert vf2_isomorphic(G1, G2, timeout=0.3) is None
    assert time.monotonic() - started < 2.0


def test_vf2_tiny_timeout_returns_none_quickly():
    graph = knn_graph(random_space(400, 10, seed=6))
    started = time.monotonic()
    assert vf2_isomorphic(graph, relabelled(graph, seed=7), timeout=1e-6) is None
    assert time.monotonic() - started < 2.0


def test_vf2_rejects_bad_arguments():
    with pytest.raises(ValueError, match="timeout"):
        vf2_isomorphic(nx.path_graph(3), nx.path_graph(3), timeout=0)
    with pytest.raises(ValueError, match="undirected"):
        vf2_isomorphic(nx.DiGraph([(0, 1)]), nx.DiGraph([(0, 1)]))


# ---------------------------------------------------------------------------
# largest_isomorphic_prefix
# ---------------------------------------------------------------------------

SIZES = [5, 20, 100, 300]


@pytest.mark.parametrize("make_copy", [lambda X: X.copy(), lambda X: rotated(X, seed=8)])
@pytest.mark.parametrize("k", [1, 2])
def test_identical_and_rotated_copies_are_isomorphic_at_every_size(make_copy, k):
    X = random_space(300, 12, seed=9)
    result = largest_isomorphic_prefix(X, make_copy(X), SIZES, k=k)
    table = result.per_size
    assert result.largest == 300
    assert table["N"].tolist() == SIZES
    assert table["isomorphic"].tolist() == [True] * len(SIZES)
    assert (table["edges_x"] == table["edges_y"]).all()
    assert set(table.columns) >= {"N", "isomorphic", "seconds", "edges_x", "edges_y"}


def test_independent_spaces_are_not_isomorphic_at_large_sizes():
    X, Y = random_space(300, 12, seed=10), random_space(300, 12, seed=11)
    result = largest_isomorphic_prefix(X, Y, [100, 300])
    # Two independent 1-NN forests on 100+ nodes differ already in edge count or degrees.
    assert result.per_size["isomorphic"].tolist() == [False, False]
    assert result.largest == 0


def test_timed_out_sizes_are_reported_as_none_not_false(monkeypatch):
    answers = iter([True, None])
    monkeypatch.setattr(isomorphism, "vf2_isomorphic", lambda G1, G2, timeout: next(answers))
    X = random_space(50, 4, seed=34)
    result = largest_isomorphic_prefix(X, X, [10, 50])
    assert result.per_size["isomorphic"].tolist() == [True, None]
    assert result.per_size["isomorphic"].iloc[1] is None
    assert result.largest == 10


def test_largest_isomorphic_prefix_rejects_bad_input():
    X = random_space(30, 4, seed=12)
    with pytest.raises(ValueError, match="same number of rows"):
        largest_isomorphic_prefix(X, X[:20], [10])
    with pytest.raises(ValueError, match="larger than"):
        largest_isomorphic_prefix(X, X, [10, 31])
    with pytest.raises(ValueError, match="at least one"):
        largest_isomorphic_prefix(X, X, [])


# ---------------------------------------------------------------------------
# Eigenvector similarity
# ---------------------------------------------------------------------------


def test_laplacian_spectrum_by_components_matches_networkx():
    graph = nx.disjoint_union_all(
        [nx.path_graph(5), nx.star_graph(4), nx.petersen_graph(), nx.empty_graph(2)]
    )
    expected = np.sort(nx.laplacian_spectrum(graph))
    np.testing.assert_allclose(laplacian_spectrum(graph), expected, atol=1e-10)


def test_spectral_distance_known_answer_uses_largest_eigenvalues():
    # Path P4: 0, 2-sqrt2, 2, 2+sqrt2 (sum 6); star K(1,3): 0, 1, 1, 4 (sum 6).
    # Descending, 90% of 6 = 5.4 is reached by 2 (P4) and 3 (star) values,
    # so k = 2 and Delta = (2+sqrt2-4)^2 + (2-1)^2 = 7 - 4 sqrt2.
    # Ascending order would instead give k = 4 and Delta = 10 - 6 sqrt2.
    delta, k = spectral_distance(nx.path_graph(4), nx.star_graph(3), return_k=True)
    assert k == 2
    assert delta == pytest.approx(7 - 4 * math.sqrt(2), abs=1e-12)


def test_spectral_distance_smallest_end_known_answer():
    # Same graphs, ascending: P4 cumulative 0, 0.59, 2.59, 6 and star 0, 1, 2, 6 reach
    # 5.4 only at the 4th value, so k = 4 and Delta = (1-sqrt2)^2 + 1 + (sqrt2-2)^2.
    delta, k = spectral_distance(nx.path_graph(4), nx.star_graph(3), return_k=True,
                                 end="smallest")
    assert k == 4
    assert delta == pytest.approx(10 - 6 * math.sqrt(2), abs=1e-12)


def _released_evs(G1, G2, minimum_energy=0.9):
    """The released iso-study recipe: ascending nx spectra, k from the small end, first k."""
    def select_k(spectrum):
        running, total = 0.0, sum(spectrum)
        for i, value in enumerate(spectrum):
            running += value
            if running / total >= minimum_energy:
                return i + 1
        return len(spectrum)

    s1, s2 = nx.laplacian_spectrum(G1), nx.laplacian_spectrum(G2)
    k = min(select_k(s1), select_k(s2))
    return float(np.sum((s1[:k] - s2[:k]) ** 2)), k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spectral_distance_smallest_matches_released_recipe(seed):
    X, Y = random_space(60, 5, seed=seed), random_space(60, 5, seed=seed + 10)
    G1, G2 = knn_graph(X, k=1), knn_graph(Y, k=1)
    expected, expected_k = _released_evs(G1, G2)
    delta, k = spectral_distance(G1, G2, return_k=True, end="smallest")
    assert k == expected_k
    assert delta == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # the largest end keeps fewer, larger eigenvalues: a different k on a forest
    assert spectral_distance(G1, G2, return_k=True, end="largest")[1] < k


def test_spectral_distance_rejects_unknown_end():
    with pytest.raises(ValueError, match="end"):
        spectral_distance(nx.path_graph(4), nx.star_graph(3), end="middle")
    X = random_space(10, 3, seed=17)
    with pytest.raises(ValueError, match="end"):
        eigenvector_similarity(X, X, n=10, end="top")


def test_spectral_distance_is_zero_for_isomorphic_graphs():
    graph = nx.petersen_graph()
    assert spectral_distance(graph, relabelled(graph, seed=13)) == pytest.approx(0, abs=1e-20)


def test_eigenvector_similarity_zero_for_rotation_positive_for_perturbation():
    X = random_space(400, 20, seed=14)
    delta, k = eigenvector_similarity(X, rotated(X, seed=15), n=400, return_k=True)
    assert delta == pytest.approx(0, abs=1e-18)
    assert 0 < k <= 400
    noise = random_space(400, 20, seed=16)
    assert eigenvector_similarity(X, X + 0.5 * noise, n=400) > 0.1


def test_eigenvector_similarity_rejects_bad_input():
    X = random_space(10, 3, seed=17)
    with pytest.raises(ValueError, match="larger than"):
        eigenvector_similarity(X, X, n=11)
    with pytest.raises(ValueError, match="k_fraction"):
        eigenvector_similarity(X, X, n=10, k_fraction=1.5)


# ---------------------------------------------------------------------------
# Relational similarity
# ---------------------------------------------------------------------------


def test_relational_similarity_one_for_rotated_and_rescaled_copy():
    X = random_space(200, 15, seed=18)
    scales = np.random.default_rng(19).uniform(0.5, 3.0, size=(200, 1))
    assert abs(relational_similarity(X, scales * rotated(X, seed=20), n=200) - 1) < 1e-10


def test_relational_similarity_near_zero_for_independent_spaces():
    X, Y = random_space(400, 30, seed=21), random_space(400, 50, seed=22)
    assert abs(relational_similarity(X, Y, n=400)) < 0.05


def test_relational_similarity_known_answer_and_prefix():
    # Three 2-D rows: pair cosines (0, 1) -> 0, (0, 2) -> 1/sqrt2, (1, 2) -> 1/sqrt2.
    # In Y the pairs flip sign, so r = -1; the 4th row must be ignored by n=3.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [5.0, -7.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, 2.0]])
    assert relational_similarity(X, Y, n=3) == pytest.approx(-1.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 3"):
        relational_similarity(X, Y, n=2)


# ---------------------------------------------------------------------------
# H0 persistence and bottleneck distance
# ---------------------------------------------------------------------------


def test_rips_h0_deaths_are_minimum_spanning_tree_edges():
    X = random_space(30, 5, seed=23)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    complete = nx.Graph()
    for i, j in itertools.combinations(range(30), 2):
        complete.add_edge(i, j, weight=float(np.linalg.norm(U[i] - U[j])))
    expected = sorted(w for _, _, w in nx.minimum_spanning_tree(complete).edges(data="weight"))
    np.testing.assert_allclose(rips_h0_deaths(X), expected, atol=1e-12)


def test_rips_h0_deaths_with_ties_match_networkx_mst():
    # dense Prim breaks ties its own way; the MST edge lengths must not depend on it
    rng = np.random.default_rng(5)
    X = np.vstack([np.repeat(rng.normal(size=(15, 4)), 3, axis=0),  # exact duplicates
                   np.sign(rng.normal(size=(40, 4)))])                # many equal distances
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    complete = nx.Graph()
    for i, j in itertools.combinations(range(len(X)), 2):
        complete.add_edge(i, j, weight=float(np.linalg.norm(U[i] - U[j])))
    expected = sorted(w for _, _, w in nx.minimum_spanning_tree(complete).edges(data="weight"))
    np.testing.assert_allclose(rips_h0_deaths(X), expected, atol=1e-12)


def test_rips_h0_deaths_keep_duplicated_and_near_duplicate_rows():
    # csgraph drops zero (and, for dense input, near-zero) entries; such rows
    # must still be joined, at their true tiny distance.
    X = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 1.0 + 0.0], [1e-9, 1.0]])
    deaths = rips_h0_deaths(X)
    assert len(deaths) == 5
    np.testing.assert_allclose(deaths[:4], [0.0, 0.0, 0.0, 1e-9], rtol=1e-6, atol=1e-300)
    # The last merge joins [1, 0] to its nearest point of the other cluster, [1e-9, 1].
    assert deaths[4] == pytest.approx(math.sqrt(2 - 2e-9), abs=1e-12)


@pytest.mark.parametrize(
    "deaths1, deaths2, expected",
    [
        ([], [], 0.0),
        ([1.0], [], 0.5),
        ([1.0], [3.0], 1.5),  # both to the diagonal (max 1.5) beats matching (2)
        ([2.0, 4.0], [2.5, 4.0], 0.5),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 0.0),
    ],
)
def test_bottleneck_distance_hand_computed(deaths1, deaths2, expected):
    # Exact: the answer is one of the float values |a - b| or d / 2 itself.
    assert bottleneck_distance(deaths1, deaths2) == expected
    assert bottleneck_distance(deaths2, deaths1) == expected


def test_bottleneck_distance_agrees_with_brute_force_on_tiny_diagrams():
    rng = np.random.default_rng(24)
    for trial in range(300):
        sizes = rng.integers(0, 5, size=2)
        if trial % 2:  # small integers make many ties
            deaths1, deaths2 = (rng.integers(0, 6, size=s).astype(float) for s in sizes)
        else:
            deaths1, deaths2 = (rng.uniform(0, 2, size=s) for s in sizes)
        expected = brute_force_bottleneck(deaths1.tolist(), deaths2.tolist())
        assert bottleneck_distance(deaths1, deaths2) == expected  # exact, not approximate


def test_bottleneck_distance_agrees_with_bipartite_matching_on_medium_diagrams():
    rng = np.random.default_rng(25)
    for _ in range(20):
        deaths1 = rng.uniform(0.5, 1.5, size=rng.integers(10, 30))
        deaths2 = rng.uniform(0.5, 1.5, size=rng.integers(10, 30)) + rng.uniform(-0.2, 0.2)
        deaths2 = np.abs(deaths2)
        expected = matching_bottleneck(deaths1, deaths2)
        assert bottleneck_distance(deaths1, deaths2) == expected  # exact, not approximate


def test_bottleneck_distance_rejects_bad_diagrams():
    with pytest.raises(ValueError, match="non-finite"):
        bottleneck_distance([1.0, np.inf], [1.0])
    with pytest.raises(ValueError, match="negative"):
        bottleneck_distance([-1.0], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        bottleneck_distance([[1.0]], [1.0])


def test_gh_distance_zero_for_rotated_copy():
    X = random_space(600, 20, seed=26)
    assert gh_distance(X, rotated(X, seed=27), n=600) < 1e-6


def test_gh_distance_agrees_with_brute_force_on_small_case():
    X, Y = random_space(5, 3, seed=28), random_space(5, 7, seed=29)
    deaths_x, deaths_y = rips_h0_deaths(X), rips_h0_deaths(Y)
    assert len(deaths_x) == len(deaths_y) == 4
    expected = brute_force_bottleneck(deaths_x.tolist(), deaths_y.tolist())
    assert expected > 0
    assert gh_distance(X, Y, n=5) == pytest.approx(expected, abs=1e-12)


def test_gh_distance_rejects_bad_input():
    X = random_space(10, 3, seed=30)
    with pytest.raises(ValueError, match="larger than"):
        gh_distance(X, X, n=11)
    with pytest.raises(ValueError, match="same number of rows"):
        gh_distance(X, X[:9], n=5)
    Z = X.copy()
    Z[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        gh_distance(X, Z, n=5)


# ---------------------------------------------------------------------------
# isomorphism_table
# ---------------------------------------------------------------------------


def test_isomorphism_table_one_row_per_pair():
    X = random_space(120, 10, seed=31)
    pairs = {"rotated": (X, rotated(X, seed=32)), "random": (X, random_space(120, 10, seed=33))}
    table = isomorphism_table(pairs, n_vf2_sizes=(10, 50, 500))
    assert isinstance(table, pd.DataFrame)
    assert table.index.tolist() == ["rotated", "random"]
    assert table.loc["rotated", "eigenvector_similarity"] == pytest.approx(0, abs=1e-18)
    assert table.loc["rotated", "relational_similarity"] == pytest.approx(1, abs=1e-10)
    assert table.loc["rotated", "gh_distance"] < 1e-6
    assert table.loc["rotated", "largest_isomorphic_prefix"] == 120  # 500 clipped to 120
    assert table.loc["random", "gh_distance"] > 0.01
    assert abs(table.loc["random", "relational_similarity"]) < 0.1
