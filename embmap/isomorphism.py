"""Are two embedding spaces (approximately) isomorphic?

A linear map from word vectors onto graph (node2vec) vectors can only work
well if the two spaces have a similar *shape*. This module measures that
shape similarity on paired rows (row ``i`` of ``X`` and row ``i`` of ``Y``
describe the same item; rows are ordered by frequency) in four ways:

* :func:`largest_isomorphic_prefix` -- the strict test: are the k-NN graphs
  of the top-N rows of each space isomorphic (VF2, with a time guard)?
* :func:`eigenvector_similarity` -- Sogaard et al. (2018): distance between
  the Laplacian spectra of the two 1-NN graphs (0 = same spectrum).
* :func:`relational_similarity` -- Pearson r between the within-space
  cosine similarities of the same pairs of items (1 = same geometry).
* :func:`gh_distance` -- Patra et al. (2019): bottleneck distance between the
  H0 persistence diagrams of the two Rips filtrations, a cheap proxy for the
  Gromov-Hausdorff distance (0 = same single-linkage structure).

:func:`isomorphism_table` runs all of them on several pairs of spaces.
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

from embmap._checks import (
    as_matrix,
    check_bool,
    check_choice,
    check_int,
    check_real,
    safe_unit_rows,
)
from embmap.retrieval import topk_rows

__all__ = [
    "IsomorphicPrefix",
    "bottleneck_distance",
    "eigenvector_similarity",
    "gh_distance",
    "isomorphism_table",
    "knn_graph",
    "laplacian_spectrum",
    "largest_isomorphic_prefix",
    "relational_similarity",
    "rips_h0_deaths",
    "spectral_distance",
    "vf2_isomorphic",
]


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def _as_matrix(X, name: str = "X") -> np.ndarray:
    """Return ``X`` as a finite float64 2-D array, or raise ValueError/TypeError."""
    return as_matrix(X, name, dtype=np.float64)


def _as_pair(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Check that X and Y are paired row-for-row (their widths may differ)."""
    X, Y = _as_matrix(X, "X"), _as_matrix(Y, "Y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of rows (row i of X pairs with row i of Y), "
            f"got {X.shape[0]} and {Y.shape[0]}"
        )
    return X, Y


def _check_n(n, n_rows: int, minimum: int, name: str = "n") -> int:
    """Check a prefix size: an integer in [minimum, n_rows]."""
    n = check_int(n, name, minimum=minimum)
    if n > n_rows:
        raise ValueError(f"{name}={n} is larger than the number of rows ({n_rows})")
    return n


def _unit_rows(X: np.ndarray, name: str = "X") -> np.ndarray:
    """L2-normalise rows; a zero row has no direction, so cosine is undefined."""
    return safe_unit_rows(X, np.float64, zero_rows="raise", name=name)


# After unit rows and centring, a row this short is rounding noise around the
# mean direction, not a direction (rows have norm 1 before centring).
_CENTRED_NOISE = 1e-8


def _unit_center_unit(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Sogaard et al.'s normalisation: unit rows, centre columns, unit rows again."""
    X = _unit_rows(X, name)
    centred = X - X.mean(axis=0)
    short = np.flatnonzero(np.linalg.norm(centred, axis=1) < _CENTRED_NOISE)
    if short.size:
        raise ValueError(
            f"row {short[0]} of {name} points along the mean direction of {name} (are all "
            "its rows identical or parallel?): after centring it is rounding noise, with "
            "no direction to find neighbours by"
        )
    return _unit_rows(centred, name)


# ---------------------------------------------------------------------------
# k-NN graphs and VF2
# ---------------------------------------------------------------------------


def knn_graph(X, k: int = 1, chunk_size: int = 1024) -> nx.Graph:
    """Undirected k-nearest-neighbour graph by cosine similarity.

    Every row is joined to its ``k`` most cosine-similar other rows (itself
    excluded); the edges are then made undirected, so a mutual pair of
    neighbours gives a single edge and degrees can exceed ``k``.

    Parameters
    ----------
    X : array (n, d)
        One item per row. Rows must be finite and non-zero.
    k : int
        Number of neighbours per row, ``1 <= k < n``.
    chunk_size : int
        Rows scored at once; memory is O(chunk_size * n) instead of O(n^2).

    Returns
    -------
    networkx.Graph
        Nodes ``0 .. n-1`` (row indices), unweighted edges.

    Raises
    ------
    ValueError
        On non-finite or zero rows, or ``k`` outside ``[1, n)``.
    """
    X = _as_matrix(X)
    n = X.shape[0]
    if n < 2:
        raise ValueError(
            f"X must have at least 2 rows for a k-NN graph (a row is not its own neighbour), "
            f"got {n}"
        )
    k = check_int(k, "k", minimum=1)
    if k > n - 1:
        raise ValueError(f"k={k} is larger than the number of other rows ({n - 1}) of X")
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    X = _unit_rows(X)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        similarity = X[start:stop] @ X.T
        rows = np.arange(stop - start)
        similarity[rows, rows + start] = -np.inf  # a row is not its own neighbour
        # the k most similar other rows (ties to the lower row: a deterministic graph)
        neighbours = topk_rows(similarity, k)[1]
        sources = np.repeat(np.arange(start, stop), k)
        graph.add_edges_from(zip(sources.tolist(), neighbours.ravel().tolist()))
    return graph


class _VF2Timeout(Exception):
    """Raised inside the matcher when its deadline has passed."""


class _DeadlineGraphMatcher(GraphMatcher):
    """networkx's VF2 matcher that gives up cooperatively at a deadline.

    VF2 calls :meth:`syntactic_feasibility` for every candidate pair, and the
    work between two calls is at most O(n), so checking the clock there
    bounds the overrun. This keeps the search in-process: no child process
    to pickle graphs into, to kill, or to leave behind as a zombie.
    """

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
    """Weisfeiler-Lehman hash, without networkx's notice that its hash values changed."""
    with warnings.catch_warnings():
        # We only compare two hashes made by the same version, never stored ones.
        warnings.filterwarnings("ignore", message="The hashes produced", category=UserWarning)
        return nx.weisfeiler_lehman_graph_hash(graph)


def vf2_isomorphic(G1: nx.Graph, G2: nx.Graph, timeout: float | None = 10.0) -> bool | None:
    """Are two graphs isomorphic? VF2 with a time guard.

    Cheap invariants are tried first, each of which settles the question
    when it applies:

    1. node and edge counts, and the sorted degree sequence differ -> False;
    2. the Weisfeiler-Lehman hashes differ -> False (isomorphic graphs
       always hash alike; equal hashes prove nothing);
    3. the identity map is an isomorphism (same node set, same edges) ->
       True; this is the common case for exactly isometric paired spaces.

    Only then does networkx's VF2 (``GraphMatcher``) search for *any*
    isomorphism. VF2 is exponential in the worst case (e.g. non-isomorphic
    regular graphs), so the search checks a deadline cooperatively at every
    candidate pair and gives up when ``timeout`` seconds have passed since
    the call started.

    Parameters
    ----------
    G1, G2 : networkx.Graph
        Undirected simple graphs.
    timeout : float or None
        Seconds allowed; ``None`` means no limit.

    Returns
    -------
    bool or None
        True (isomorphic), False (not isomorphic) or None (gave up).
    """
    _check_simple_undirected(G1, "G1")
    _check_simple_undirected(G2, "G2")
    _check_timeout(timeout)
    deadline = np.inf if timeout is None else time.monotonic() + timeout

    if G1.number_of_nodes() != G2.number_of_nodes():
        return False
    if G1.number_of_edges() != G2.number_of_edges():
        return False
    if sorted(d for _, d in G1.degree()) != sorted(d for _, d in G2.degree()):
        return False
    if _wl_hash(G1) != _wl_hash(G2):
        return False
    if set(G1) == set(G2) and all(G2.has_edge(u, v) for u, v in G1.edges()):
        return True

    matcher = _DeadlineGraphMatcher(G1, G2, deadline)
    try:
        return bool(matcher.is_isomorphic())
    except _VF2Timeout:
        return None
    finally:
        # networkx raises the recursion limit for VF2 and never lowers it.
        matcher.reset_recursion_limit()


@dataclass
class IsomorphicPrefix:
    """Result of :func:`largest_isomorphic_prefix`.

    Attributes
    ----------
    largest : int
        Largest N in ``sizes`` whose k-NN graphs were found isomorphic
        (0 if none). Isomorphism need not be monotone in N, so smaller sizes
        may still have failed; see ``per_size``.
    per_size : pandas.DataFrame
        One row per N: ``N``, ``isomorphic`` (True / False / None = timed
        out), ``seconds``, ``edges_x`` and ``edges_y``.
    """

    largest: int
    per_size: pd.DataFrame


def largest_isomorphic_prefix(
    X, Y, sizes, k: int = 1, timeout: float | None = 10.0
) -> IsomorphicPrefix:
    """Test k-NN graph isomorphism of the top-N paired rows for each N.

    Parameters
    ----------
    X, Y : arrays (n, d_x) and (n, d_y)
        Paired rows ordered by frequency, so the top-N rows are a prefix.
    sizes : iterable of int
        Prefix sizes N to test, each in ``(k, n]``.
    k : int
        Neighbours per node in :func:`knn_graph`.
    timeout : float or None
        Seconds allowed per size in :func:`vf2_isomorphic`.

    Returns
    -------
    IsomorphicPrefix
        ``largest`` (0 if no size was isomorphic) and the ``per_size`` table.
    """
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
        graph_x, graph_y = knn_graph(X[:size], k), knn_graph(Y[:size], k)
        isomorphic = vf2_isomorphic(graph_x, graph_y, timeout=timeout)
        records.append(
            {
                "N": size,
                "isomorphic": isomorphic,
                "seconds": time.perf_counter() - started,
                "edges_x": graph_x.number_of_edges(),
                "edges_y": graph_y.number_of_edges(),
            }
        )
    largest = max((r["N"] for r in records if r["isomorphic"] is True), default=0)
    per_size = pd.DataFrame.from_records(records)
    per_size["isomorphic"] = per_size["isomorphic"].astype(object)  # keep None distinct from False
    return IsomorphicPrefix(largest=largest, per_size=per_size)


# ---------------------------------------------------------------------------
# Eigenvector similarity (Sogaard et al. 2018)
# ---------------------------------------------------------------------------


def laplacian_spectrum(graph: nx.Graph) -> np.ndarray:
    """Eigenvalues of the graph Laplacian, ascending, one connected component at a time.

    The Laplacian of a graph is block-diagonal over its connected
    components, so its spectrum is exactly the union of the components'
    spectra. A 1-NN graph is a forest of small trees, so diagonalising the
    small blocks is far cheaper than one O(n^3) dense call. Same result as
    ``networkx.laplacian_spectrum`` up to rounding.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected graph; edge weights are ignored.

    Returns
    -------
    numpy.ndarray
        ``graph.number_of_nodes()`` eigenvalues, ascending.
    """
    _check_simple_undirected(graph, "graph")
    spectra = [np.zeros(0)]
    for component in nx.connected_components(graph):
        if len(component) == 1:
            spectra.append(np.zeros(1))  # an isolated node: Laplacian [[0]]
            continue
        block = nx.laplacian_matrix(graph.subgraph(component), weight=None)
        spectra.append(scipy.linalg.eigvalsh(block.toarray().astype(np.float64)))
    return np.sort(np.concatenate(spectra))


def _mass_count(ordered: np.ndarray, k_fraction: float) -> int:
    """Fewest leading eigenvalues (in the given order) whose sum reaches k_fraction of the total."""
    cumulative = np.cumsum(ordered)
    target = k_fraction * cumulative[-1]
    # A relative slack keeps rounding in the eigensolver from adding one more term.
    index = np.searchsorted(cumulative, target * (1 - 1e-12), side="left")
    return int(min(index + 1, len(ordered)))


def spectral_distance(G1: nx.Graph, G2: nx.Graph, k_fraction: float = 0.9, return_k: bool = False,
                      end: str = "largest"):
    """Sogaard et al.'s eigenvector similarity between two graphs.

    Both Laplacian spectra are sorted from the chosen ``end``; for each graph
    ``k_j`` is the smallest count of leading eigenvalues (in that order)
    whose sum reaches ``k_fraction`` of the total; ``k = min(k_1, k_2)``
    and::

        Delta = sum_{i < k} (lambda1_i - lambda2_i) ** 2

    The two ends answer different questions:

    * ``end="largest"`` (descending order) follows the paper's text ("the
      k largest eigenvalues"); the mass criterion then keeps the few large
      eigenvalues, which a forest's highest-degree nodes dominate.
    * ``end="smallest"`` (ascending order, as ``networkx.laplacian_spectrum``
      returns them) matches the authors' released code (cambridgeltl/iso-study,
      ``evs_script.py``): it keeps the first k of the ascending spectrum, with
      k counted from the small end, so it compares the bulk of the spectrum
      (zeros for each connected component included) and leaves out the top.

    Parameters
    ----------
    G1, G2 : networkx.Graph
        Graphs with the same number of nodes and at least one edge each.
    k_fraction : float
        Share of the spectrum's sum, in (0, 1].
    return_k : bool
        Also return ``k``.
    end : {"largest", "smallest"}
        Which end of the spectrum is compared (see above).

    Returns
    -------
    float, or (float, int) if ``return_k``
        ``Delta`` (0 for identical spectra), and optionally ``k``.
    """
    k_fraction = check_real(k_fraction, "k_fraction", low=0.0, high=1.0, low_open=True)
    check_bool(return_k, "return_k")
    _check_simple_undirected(G1, "G1")
    _check_simple_undirected(G2, "G2")
    if G1.number_of_nodes() != G2.number_of_nodes():
        raise ValueError(
            f"graphs must have the same number of nodes, got "
            f"{G1.number_of_nodes()} and {G2.number_of_nodes()}"
        )
    if G1.number_of_edges() == 0 or G2.number_of_edges() == 0:
        raise ValueError("both graphs need at least one edge (an empty spectrum has no mass)")
    check_choice(end, "end", ("largest", "smallest"))
    order = slice(None, None, -1) if end == "largest" else slice(None)
    spectrum1 = laplacian_spectrum(G1)[order]
    spectrum2 = laplacian_spectrum(G2)[order]
    k = min(_mass_count(spectrum1, k_fraction), _mass_count(spectrum2, k_fraction))
    delta = float(np.sum((spectrum1[:k] - spectrum2[:k]) ** 2))
    return (delta, k) if return_k else delta


def eigenvector_similarity(X, Y, n: int = 5000, k_fraction: float = 0.9, return_k: bool = False,
                           end: str = "largest"):
    """Eigenvector similarity of two paired spaces (Sogaard et al. 2018).

    Each space is normalised unit -> centre -> unit (row L2-normalise,
    subtract the column mean, row L2-normalise again), the first ``n`` rows
    are kept, their 1-NN cosine graphs are built with :func:`knn_graph`, and
    :func:`spectral_distance` compares the graphs' Laplacian spectra
    (``end`` chooses the largest or the smallest eigenvalues; see there).

    Parameters
    ----------
    X, Y : arrays (m, d_x) and (m, d_y)
        Paired rows ordered by frequency.
    n : int
        Number of top rows to compare, ``2 <= n <= m``.
    k_fraction : float
        Share of the spectrum's sum that fixes k.
    return_k : bool
        Also return the number of eigenvalues compared.
    end : {"largest", "smallest"}
        Spectrum end compared; ``"smallest"`` matches the released iso-study code.

    Returns
    -------
    float, or (float, int) if ``return_k``
        ``Delta >= 0``; 0 means identical spectra, larger is less similar.
    """
    X, Y = _as_pair(X, Y)
    n = _check_n(n, X.shape[0], 2)
    check_real(k_fraction, "k_fraction", low=0.0, high=1.0, low_open=True)
    check_choice(end, "end", ("largest", "smallest"))
    # Normalise on the whole space (centre = mean of all rows), then take the prefix.
    graph_x = knn_graph(_unit_center_unit(X, "X")[:n], k=1)
    graph_y = knn_graph(_unit_center_unit(Y, "Y")[:n], k=1)
    return spectral_distance(graph_x, graph_y, k_fraction=k_fraction, return_k=return_k, end=end)


# ---------------------------------------------------------------------------
# Relational similarity
# ---------------------------------------------------------------------------


def _pair_cosines(X: np.ndarray, name: str) -> np.ndarray:
    """Cosine similarity of every pair of rows i < j, in row-major order."""
    U = _unit_rows(X, name)
    return (U @ U.T)[np.triu_indices(len(U), k=1)]


# Cosines lie in [-1, 1]; a spread below this is rounding (identical or parallel
# rows give 1 +- 1e-16), and a correlation of rounding noise is meaningless.
_COSINE_NOISE = 1e-9


def relational_similarity(X, Y, n: int = 1000) -> float:
    """Pearson r between within-space cosine similarities of the same pairs.

    For the first ``n`` rows, every pair ``i < j`` has a cosine in ``X`` and
    one in ``Y``; the result is the Pearson correlation of those two lists.
    It is invariant to rotations and rescalings of either space.

    Parameters
    ----------
    X, Y : arrays (m, d_x) and (m, d_y)
        Paired rows ordered by frequency.
    n : int
        Number of top rows, ``3 <= n <= m`` (two rows give one pair, and a
        correlation needs at least two).

    Returns
    -------
    float
        r in [-1, 1]; 1 means the two geometries agree up to an affine
        change of the cosine scale.
    """
    X, Y = _as_pair(X, Y)
    n = _check_n(n, X.shape[0], 3)
    cosines_x, cosines_y = _pair_cosines(X[:n], "X"), _pair_cosines(Y[:n], "Y")
    for name, cosines in (("X", cosines_x), ("Y", cosines_y)):
        if np.ptp(cosines) <= _COSINE_NOISE:
            raise ValueError(
                f"all cosines between the first {n} rows of {name} are equal (identical or "
                "parallel rows?), so the correlation is undefined"
            )
    return float(np.corrcoef(cosines_x, cosines_y)[0, 1])


# ---------------------------------------------------------------------------
# Gromov-Hausdorff proxy (Patra et al. 2019)
# ---------------------------------------------------------------------------


def rips_h0_deaths(X) -> np.ndarray:
    """Finite death times of the H0 persistence diagram of a Rips filtration.

    Distances are Euclidean between unit-normalised rows, i.e.
    ``sqrt(2 - 2 cos)``. In H0 every point is born at 0 and components merge
    exactly along minimum-spanning-tree edges, so the ``n - 1`` finite
    deaths are the MST edge lengths (the one infinite bar is dropped).

    Parameters
    ----------
    X : array (n, d)

    Returns
    -------
    numpy.ndarray
        ``n - 1`` death times, ascending.
    """
    U = _unit_rows(_as_matrix(X))
    n = U.shape[0]
    if n == 1:
        return np.zeros(0)
    # The Gram route is BLAS-fast; its rounding only matters for near-ties,
    # and the chosen MST edges are re-measured exactly below. In place: n=5000
    # is 200 MB per copy.
    distance = U @ U.T
    distance *= -2.0
    distance += 2.0
    np.clip(distance, 0.0, None, out=distance)
    np.sqrt(distance, out=distance)
    # For (near-)duplicate rows cos rounds to 1 and sqrt(2 - 2 cos) to 0 (or noise):
    # measure those few pairs directly, so the tree joins them at their true distance.
    close_i, close_j = np.nonzero(distance < 1e-6)
    distance[close_i, close_j] = np.linalg.norm(U[close_i] - U[close_j], axis=1)
    parent, child = _prim_tree(distance)
    deaths = np.linalg.norm(U[parent] - U[child], axis=1)
    return np.sort(deaths)


def _prim_tree(distance):
    """Edges ``(parent, child)`` of a minimum spanning tree of a complete graph (dense Prim).

    On a complete graph Prim's algorithm is n vectorised O(n) steps, about 20x
    faster than Kruskal on the n^2 / 2 edges of a sparse matrix (n = 5,000:
    0.25 s vs 4.8 s). Every minimum spanning tree has the same multiset of
    edge lengths, so the death times do not depend on how ties are broken.
    """
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
    """Can two birth-0 diagrams be matched with every cost <= eps?

    ``values`` are all death times sorted descending and ``sides`` says
    which diagram each came from. A point with death > 2*eps is too far
    from the diagonal (distance death/2) and must be matched to a point of
    the other diagram within eps; smaller points may go to the diagonal.

    In 1-D an optimal matching never crosses (swapping a crossing pair keeps
    both costs <= eps), so one sweep from the largest value down suffices:
    points that still need a partner wait in a queue (all from one side),
    and each new point of the other side serves the *largest* waiting point,
    which is the first to drift out of reach. Required points come before
    optional ones in this order, so an optional point is only ever useful as
    a partner. O(n) per call.
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

    Points are ``(0, d)``. Two points are ``|d1 - d2|`` apart (L-infinity)
    and a point is ``d / 2`` from the diagonal. The answer is the smallest
    ``eps`` for which :func:`_matching_exists`; feasibility only changes at
    one of the values ``|d1 - d2|`` or ``d / 2``, so a bisection over the
    float64 bit patterns (which sort like the non-negative floats) lands
    exactly on that value in at most 64 O(n) checks.

    Parameters
    ----------
    deaths1, deaths2 : 1-D arrays
        Finite, non-negative death times (drop infinite bars first). The
        two diagrams may have different sizes.

    Returns
    -------
    float
        The bottleneck distance.
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


def gh_distance(X, Y, n: int = 5000) -> float:
    """Gromov-Hausdorff proxy of Patra et al. (2019).

    The bottleneck distance between the H0 persistence diagrams of the Rips
    filtrations of the first ``n`` rows of each space, with distances
    ``sqrt(2 - 2 cos)`` (:func:`rips_h0_deaths`, :func:`bottleneck_distance`).

    Parameters
    ----------
    X, Y : arrays (m, d_x) and (m, d_y)
        Paired rows ordered by frequency.
    n : int
        Number of top rows, ``2 <= n <= m``.

    Returns
    -------
    float
        Distance in [0, 1] for unit vectors; 0 for isometric spaces.
    """
    X, Y = _as_pair(X, Y)
    n = _check_n(n, X.shape[0], 2)
    return bottleneck_distance(rips_h0_deaths(X[:n]), rips_h0_deaths(Y[:n]))


# ---------------------------------------------------------------------------
# All measures at once
# ---------------------------------------------------------------------------


def isomorphism_table(
    pairs: dict,
    n_vf2_sizes=(10, 20, 50, 100, 200, 500, 1000),
    n_eigen: int = 5000,
    n_relational: int = 1000,
    n_gh: int = 5000,
    k: int = 1,
    timeout: float | None = 10.0,
) -> pd.DataFrame:
    """Every measure of this module for several pairs of paired spaces.

    Sizes larger than a pair's row count are clipped to it, so small pairs
    can share one call with large ones.

    Parameters
    ----------
    pairs : dict
        ``name -> (X, Y)`` with paired rows ordered by frequency.
    n_vf2_sizes : iterable of int
        Prefix sizes for :func:`largest_isomorphic_prefix`.
    n_eigen, n_relational, n_gh : int
        ``n`` for :func:`eigenvector_similarity`,
        :func:`relational_similarity` and :func:`gh_distance`.
    k, timeout
        Passed to :func:`largest_isomorphic_prefix`.

    Returns
    -------
    pandas.DataFrame
        Indexed by pair name, with columns ``eigenvector_similarity``,
        ``relational_similarity``, ``gh_distance`` and
        ``largest_isomorphic_prefix``.
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
                X, Y, sizes, k=k, timeout=timeout
            ).largest,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
