"""Are two embedding spaces (approximately) isomorphic? A linear map needs similar shapes.

Each measure takes paired rows (row ``i`` of ``X`` and of ``Y`` are the same item, rows
ordered by frequency): :func:`largest_isomorphic_prefix` (VF2 on k-NN graphs),
:func:`eigenvector_similarity` (Sogaard et al. 2018), :func:`relational_similarity`
and :func:`gh_distance` (Patra et al. 2019); :func:`isomorphism_table` runs them all.
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.linalg
from networkx.algorithms.isomorphism import GraphMatcher

from embmap import _search
from embmap._validation import (
    as_matrix,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_same_rows,
    safe_unit_rows,
)

__all__ = ["IsomorphicPrefix", "bottleneck_distance", "eigenvector_similarity", "gh_distance",
           "isomorphism_table", "knn_graph", "laplacian_spectrum", "largest_isomorphic_prefix",
           "relational_similarity", "rips_h0_deaths", "spectral_distance", "vf2_isomorphic"]


def _as_pair(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X, Y = as_matrix(X, "X", dtype=np.float64), as_matrix(Y, "Y", dtype=np.float64)
    check_same_rows(X, Y, "X", "Y")
    return X, Y


def _check_n(n, n_rows: int, minimum: int, name: str = "n") -> int:
    n = check_int(n, name, minimum=minimum)
    if n > n_rows:
        raise ValueError(f"{name}={n} is larger than the number of rows ({n_rows})")
    return n


def _unit_rows(X, name="X", dtype=np.float64):
    # A zero row has no direction, so its cosines (and neighbours) are undefined.
    return safe_unit_rows(X, dtype, zero_rows="raise", name=name)


# After unit rows and centring, a row this short is rounding noise, not a direction.
_CENTRED_NOISE = 1e-8


def _unit_center_unit(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Normaliser's unit -> center -> unit in float64, with errors that name ``name``."""
    X = _unit_rows(X, name)
    centred = X - X.mean(axis=0)
    short = np.flatnonzero(np.linalg.norm(centred, axis=1) < _CENTRED_NOISE)
    if short.size:
        raise ValueError(f"row {short[0]} of {name} points along the mean direction of {name} (are "
                         "all its rows identical or parallel?): after centring it is rounding "
                         "noise, with no direction to find neighbours by")
    return _unit_rows(centred, name)


def knn_graph(X, *, k: int = 1, chunk_size: int = 1024) -> nx.Graph:
    """Undirected k-nearest-neighbour graph by cosine similarity (nodes are row indices).

    Each row is joined to its ``k`` most similar other rows (ties to the lower row), so
    degrees can exceed ``k``. ``chunk_size``: rows of similarities at a time.
    """
    X = as_matrix(X, "X", dtype=np.float64)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 rows for a k-NN graph (a row is not its own "
                         f"neighbour), got {n}")
    k = check_int(k, "k", minimum=1)
    if k > n - 1:
        raise ValueError(f"k={k} is larger than the number of other rows ({n - 1}) of X")
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    U = _unit_rows(X)  # float64: neighbours at a near-tie are decided by rounding
    _, neighbours = _search.nearest(U, U, k, exclude=np.arange(n), chunk_size=chunk_size)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(np.repeat(np.arange(n), k).tolist(), neighbours.ravel().tolist()))
    return graph


class _VF2Timeout(Exception):
    pass


class _DeadlineGraphMatcher(GraphMatcher):
    """networkx's VF2 that gives up at a deadline, checked at every candidate pair."""

    def __init__(self, G1, G2, deadline: float):
        super().__init__(G1, G2)
        self.deadline = deadline

    def syntactic_feasibility(self, G1_node, G2_node):
        if time.monotonic() > self.deadline:
            raise _VF2Timeout
        return super().syntactic_feasibility(G1_node, G2_node)


def _check_simple_undirected(graph, name: str) -> None:
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"{name} must be a networkx.Graph, got {type(graph).__name__}")
    if graph.is_directed() or graph.is_multigraph():
        raise ValueError(f"{name} must be an undirected simple networkx.Graph")


def _check_timeout(timeout) -> None:
    if timeout is not None:
        check_real(timeout, "timeout", low=0.0, low_open=True)


def _wl_hash(graph: nx.Graph) -> str:
    with warnings.catch_warnings():
        # Only two hashes of the same networkx version are compared, never stored ones.
        warnings.filterwarnings("ignore", message="The hashes produced", category=UserWarning)
        return nx.weisfeiler_lehman_graph_hash(graph)


def vf2_isomorphic(G1: nx.Graph, G2: nx.Graph, *, timeout: float | None = 10.0) -> bool | None:
    """Are two graphs isomorphic? True, False, or None when VF2 ran out of ``timeout`` seconds.

    Cheap invariants (counts, degree sequence, Weisfeiler-Lehman hash, the identity map)
    settle most cases before networkx's VF2 (exponential in the worst case) searches.
    """
    _check_simple_undirected(G1, "G1")
    _check_simple_undirected(G2, "G2")
    _check_timeout(timeout)
    deadline = np.inf if timeout is None else time.monotonic() + timeout
    if (G1.number_of_nodes() != G2.number_of_nodes()
            or G1.number_of_edges() != G2.number_of_edges()
            or sorted(d for _, d in G1.degree()) != sorted(d for _, d in G2.degree())
            or _wl_hash(G1) != _wl_hash(G2)):
        return False
    if set(G1) == set(G2) and all(G2.has_edge(u, v) for u, v in G1.edges()):
        return True
    matcher = _DeadlineGraphMatcher(G1, G2, deadline)
    try:
        return bool(matcher.is_isomorphic())
    except _VF2Timeout:
        return None
    finally:
        matcher.reset_recursion_limit()  # networkx raises it for VF2 and never lowers it


@dataclass
class IsomorphicPrefix:
    """``largest`` N found isomorphic (0 if none; not monotone in N), and ``per_size``:
    ``N``, ``isomorphic`` (None: timed out), ``seconds``, ``edges_x``, ``edges_y``."""

    largest: int
    per_size: pd.DataFrame


def largest_isomorphic_prefix(X, Y, sizes, *, k: int = 1,
                              timeout: float | None = 10.0) -> IsomorphicPrefix:
    """Test :func:`vf2_isomorphic` on the :func:`knn_graph` of the top-N paired rows, for each N in ``sizes``."""
    X, Y = _as_pair(X, Y)
    k = check_int(k, "k", minimum=1)
    _check_timeout(timeout)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be an iterable of prefix sizes, got {sizes!r}")
    sizes = sorted({_check_n(size, X.shape[0], k + 1, name="size") for size in sizes})
    if not sizes:
        raise ValueError("sizes must contain at least one prefix size")
    records = []
    for size in sizes:
        started = time.perf_counter()
        graph_x, graph_y = knn_graph(X[:size], k=k), knn_graph(Y[:size], k=k)
        isomorphic = vf2_isomorphic(graph_x, graph_y, timeout=timeout)
        records.append({"N": size, "isomorphic": isomorphic,
                        "seconds": time.perf_counter() - started,
                        "edges_x": graph_x.number_of_edges(), "edges_y": graph_y.number_of_edges()})
    largest = max((r["N"] for r in records if r["isomorphic"] is True), default=0)
    per_size = pd.DataFrame.from_records(records)
    per_size["isomorphic"] = per_size["isomorphic"].astype(object)  # keep None distinct from False
    return IsomorphicPrefix(largest=largest, per_size=per_size)


def laplacian_spectrum(graph: nx.Graph) -> np.ndarray:
    """Laplacian eigenvalues (edge weights ignored), ascending, one connected component at a time.

    A 1-NN graph is a forest of small trees: small blocks replace one O(n^3) call (same
    result as ``networkx.laplacian_spectrum`` up to rounding).
    """
    _check_simple_undirected(graph, "graph")
    spectra = [np.zeros(0)]
    for component in nx.connected_components(graph):
        if len(component) == 1:
            spectra.append(np.zeros(1))
            continue
        block = nx.laplacian_matrix(graph.subgraph(component), weight=None)
        spectra.append(scipy.linalg.eigvalsh(block.toarray().astype(np.float64)))
    return np.sort(np.concatenate(spectra))


def _mass_count(ordered: np.ndarray, k_fraction: float) -> int:
    """Fewest leading eigenvalues whose sum reaches ``k_fraction`` of the total."""
    cumulative = np.cumsum(ordered)
    target = k_fraction * cumulative[-1]
    # A relative slack keeps rounding in the eigensolver from adding one more term.
    index = np.searchsorted(cumulative, target * (1 - 1e-12), side="left")
    return int(min(index + 1, len(ordered)))


def spectral_distance(G1: nx.Graph, G2: nx.Graph, *, k_fraction: float = 0.9,
                      return_k: bool = False, end: str = "largest"):
    """Sogaard et al.'s eigenvector similarity of two graphs with the same number of nodes.

    Both Laplacian spectra are ordered from ``end``; ``k_j`` is the fewest leading
    eigenvalues whose sum reaches ``k_fraction`` of graph j's total, ``k = min(k_1, k_2)``
    and ``Delta = sum_{i<k} (lambda1_i - lambda2_i)^2``. ``end="largest"`` follows the
    paper's text; ``"smallest"`` the authors' code (cambridgeltl/iso-study,
    ``evs_script.py``). Returns ``Delta``, or ``(Delta, k)``.
    """
    k_fraction = check_real(k_fraction, "k_fraction", low=0.0, high=1.0, low_open=True)
    check_bool(return_k, "return_k")
    _check_simple_undirected(G1, "G1")
    _check_simple_undirected(G2, "G2")
    if G1.number_of_nodes() != G2.number_of_nodes():
        raise ValueError(f"graphs must have the same number of nodes, got "
                         f"{G1.number_of_nodes()} and {G2.number_of_nodes()}")
    if G1.number_of_edges() == 0 or G2.number_of_edges() == 0:
        raise ValueError("both graphs need at least one edge (an empty spectrum has no mass)")
    check_choice(end, "end", ("largest", "smallest"))
    order = slice(None, None, -1) if end == "largest" else slice(None)
    spectrum1, spectrum2 = laplacian_spectrum(G1)[order], laplacian_spectrum(G2)[order]
    k = min(_mass_count(spectrum1, k_fraction), _mass_count(spectrum2, k_fraction))
    delta = float(np.sum((spectrum1[:k] - spectrum2[:k]) ** 2))
    return (delta, k) if return_k else delta


def eigenvector_similarity(X, Y, *, n: int = 5000, k_fraction: float = 0.9,
                           return_k: bool = False, end: str = "largest"):
    """Eigenvector similarity of two paired spaces (Sogaard et al. 2018); 0 = identical spectra.

    Each space is normalised unit -> center -> unit; the first ``n`` rows' 1-NN graphs
    are compared by :func:`spectral_distance` (``k_fraction``, ``return_k``, ``end``).
    """
    X, Y = _as_pair(X, Y)
    n = _check_n(n, X.shape[0], 2)
    check_real(k_fraction, "k_fraction", low=0.0, high=1.0, low_open=True)
    check_choice(end, "end", ("largest", "smallest"))
    graph_x = knn_graph(_unit_center_unit(X, "X")[:n], k=1)
    graph_y = knn_graph(_unit_center_unit(Y, "Y")[:n], k=1)
    return spectral_distance(graph_x, graph_y, k_fraction=k_fraction, return_k=return_k, end=end)


def _pair_cosines(X: np.ndarray, name: str) -> np.ndarray:
    U = _unit_rows(X, name)
    return (U @ U.T)[np.triu_indices(len(U), k=1)]


# Cosines lie in [-1, 1]; a smaller spread is rounding, and its correlation meaningless.
_COSINE_NOISE = 1e-9


def relational_similarity(X, Y, *, n: int = 1000) -> float:
    """Pearson r between the cosines of every pair ``i < j`` of the first ``n`` rows in X and in Y.

    1: the geometries agree up to an affine change of the cosine scale.
    """
    X, Y = _as_pair(X, Y)
    n = _check_n(n, X.shape[0], 3)
    cosines_x, cosines_y = _pair_cosines(X[:n], "X"), _pair_cosines(Y[:n], "Y")
    for name, cosines in (("X", cosines_x), ("Y", cosines_y)):
        if np.ptp(cosines) <= _COSINE_NOISE:
            raise ValueError(f"all cosines between the first {n} rows of {name} are equal (identical "
                             "or parallel rows?), so the correlation is undefined")
    return float(np.corrcoef(cosines_x, cosines_y)[0, 1])


def rips_h0_deaths(X) -> np.ndarray:
    """The ``n - 1`` finite H0 death times of the Rips filtration of unit rows, ascending:
    the minimum spanning tree's edge lengths (distances ``sqrt(2 - 2 cos)``)."""
    U = _unit_rows(as_matrix(X, "X", dtype=np.float64))
    if U.shape[0] == 1:
        return np.zeros(0)
    # The Gram route is BLAS-fast (in place: n = 5000 is 200 MB a copy); the chosen MST
    # edges are re-measured exactly below.
    distance = U @ U.T
    distance *= -2.0
    distance += 2.0
    np.clip(distance, 0.0, None, out=distance)
    np.sqrt(distance, out=distance)
    # Near-duplicate rows round to distance 0 (or noise): measure those pairs directly.
    close_i, close_j = np.nonzero(distance < 1e-6)
    distance[close_i, close_j] = np.linalg.norm(U[close_i] - U[close_j], axis=1)
    parent, child = _prim_tree(distance)
    return np.sort(np.linalg.norm(U[parent] - U[child], axis=1))


def _prim_tree(distance):
    """``(parents, children)`` of a minimum spanning tree of a complete graph (dense Prim)."""
    n = len(distance)
    best = distance[0].copy()  # distance of each vertex to the tree grown so far
    parent = np.zeros(n, dtype=np.int64)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0], best[0] = True, np.inf
    parents, children = np.empty(n - 1, dtype=np.int64), np.empty(n - 1, dtype=np.int64)
    for step in range(n - 1):
        j = int(np.argmin(best))
        parents[step], children[step] = parent[j], j
        in_tree[j], best[j] = True, np.inf
        row = distance[j]
        closer = (row < best) & ~in_tree
        best[closer] = row[closer]
        parent[closer] = j
    return parents, children


def _check_deaths(deaths, name: str) -> np.ndarray:
    raw = np.asarray(deaths)
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {raw.dtype}")
    if np.iscomplexobj(raw):
        raise TypeError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    deaths = raw.astype(np.float64)
    if deaths.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of death times, got shape {deaths.shape}")
    if not np.all(np.isfinite(deaths)):
        raise ValueError(f"{name} contains non-finite death times; drop the infinite bar first")
    if np.any(deaths < 0):
        raise ValueError(f"{name} contains negative death times (births are all 0)")
    return deaths


def _matching_exists(values: list, sides: list, eps: float) -> bool:
    """Can two birth-0 diagrams (``values`` descending, ``sides``: which diagram) be matched at cost <= eps?

    A death > 2 eps must be matched within eps to the other diagram; smaller ones may
    go to the diagonal. An optimal 1-D matching never crosses, so one sweep does.
    """
    waiting = deque()
    waiting_side = -1
    required_above = 2.0 * eps
    for value, side in zip(values, sides):
        if waiting and side != waiting_side:
            if waiting[0] - value <= eps:
                waiting.popleft()
                continue
            return False  # the largest waiting point can never be reached again
        if value > required_above:
            waiting.append(value)
            waiting_side = side
        elif not waiting:
            return True  # everything left may go to the diagonal
    return not waiting


def bottleneck_distance(deaths1, deaths2) -> float:
    """Exact bottleneck distance between two H0 diagrams whose births are all 0.

    Points ``(0, d)`` are ``|d1 - d2|`` apart and ``d / 2`` from the diagonal; a
    bisection over the float64 bit patterns finds the answer exactly in at most 64
    O(n) feasibility checks. The diagrams may differ in size.
    """
    deaths1 = _check_deaths(deaths1, "deaths1")
    deaths2 = _check_deaths(deaths2, "deaths2")
    values = np.concatenate([deaths1, deaths2])
    if values.size == 0:
        return 0.0
    sides = np.concatenate([np.zeros(deaths1.size, int), np.ones(deaths2.size, int)])
    order = np.argsort(-values, kind="stable")
    values, sides = values[order].tolist(), sides[order].tolist()
    if _matching_exists(values, sides, 0.0):
        return 0.0
    low = 0  # bit pattern of an infeasible eps
    high = int(np.float64(values[0]).view(np.int64))  # eps = max death is always feasible
    while high - low > 1:
        middle = (low + high) // 2
        if _matching_exists(values, sides, float(np.int64(middle).view(np.float64))):
            high = middle
        else:
            low = middle
    return float(np.int64(high).view(np.float64))


def gh_distance(X, Y, *, n: int = 5000) -> float:
    """Gromov-Hausdorff proxy of Patra et al. (2019): :func:`bottleneck_distance` of the first ``n`` rows' :func:`rips_h0_deaths`.

    In [0, 1]; 0 for isometric spaces.
    """
    X, Y = _as_pair(X, Y)
    n = _check_n(n, X.shape[0], 2)
    return bottleneck_distance(rips_h0_deaths(X[:n]), rips_h0_deaths(Y[:n]))


def isomorphism_table(pairs: dict, *, n_vf2_sizes=(10, 20, 50, 100, 200, 500, 1000),
                      n_eigen: int = 5000, n_relational: int = 1000, n_gh: int = 5000,
                      k: int = 1, timeout: float | None = 10.0) -> pd.DataFrame:
    """Every measure of this module (a column each) for each ``name -> (X, Y)`` of ``pairs``.

    Sizes larger than a pair's row count are clipped to it.
    """
    if not isinstance(pairs, dict) or not pairs:
        raise TypeError(f"pairs must be a non-empty dict name -> (X, Y), got {pairs!r:.80}")
    for name, value in (("n_eigen", n_eigen), ("n_relational", n_relational), ("n_gh", n_gh)):
        check_int(value, name, minimum=1)
    k = check_int(k, "k", minimum=1)
    _check_timeout(timeout)
    if isinstance(n_vf2_sizes, (str, bytes)) or not hasattr(n_vf2_sizes, "__iter__"):
        raise TypeError(f"n_vf2_sizes must be an iterable of ints, got {n_vf2_sizes!r}")
    n_vf2_sizes = [check_int(size, "n_vf2_sizes", minimum=1) for size in n_vf2_sizes]
    rows = {}
    for name, pair in pairs.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"pairs[{name!r}] must be a tuple (X, Y)")
        X, Y = _as_pair(*pair)
        m = X.shape[0]
        sizes = sorted({min(size, m) for size in n_vf2_sizes if min(size, m) > k})
        rows[name] = {
            "eigenvector_similarity": eigenvector_similarity(X, Y, n=min(n_eigen, m)),
            "relational_similarity": relational_similarity(X, Y, n=min(n_relational, m)),
            "gh_distance": gh_distance(X, Y, n=min(n_gh, m)),
            "largest_isomorphic_prefix": largest_isomorphic_prefix(
                X, Y, sizes, k=k, timeout=timeout).largest,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
