"""node2vec's biased second-order random walks, vectorised in numpy.

Grover & Leskovec (2016): a walk that came from ``prev`` to ``cur`` moves to a
neighbour ``x`` of ``cur`` with unnormalised probability ``1/p`` if ``x`` is
``prev`` (return), ``1`` if ``x`` is also a neighbour of ``prev`` (stay close)
and ``1/q`` otherwise (move outward). We sample it by rejection (propose a
uniform neighbour, accept with the probability divided by its maximum), for
all walks at once, so a 33k-node graph needs no compiled code and the walks
are reproducible from one numpy seed.
"""

from __future__ import annotations

import numpy as np


def _csr(edges: np.ndarray, n_nodes: int):
    """Symmetric CSR adjacency with sorted neighbour lists."""
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    indptr = np.searchsorted(src, np.arange(n_nodes + 1))
    return indptr, dst, src * n_nodes + dst


def node2vec_walks(
    edges, n_nodes: int, walks_per_node: int, walk_length: int, p: float, q: float, seed: int
) -> np.ndarray:
    """Biased random walks, ``walks_per_node`` from every node.

    Parameters
    ----------
    edges : array of shape (m, 2)
        Undirected edges as node indices in ``[0, n_nodes)``.
    walks_per_node, walk_length : int
        Number of walks started from each node and their length in nodes.
    p, q : float
        node2vec return and in-out parameters (p = q = 1 is DeepWalk).
    seed : int
        Seed of the numpy generator; the same seed gives the same walks.

    Returns
    -------
    walks : int array of shape (n_nodes * walks_per_node, walk_length)
        Start nodes are shuffled so that consecutive walks are unrelated.
    """
    edges = np.asarray(edges, dtype=np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError(f"edges must have shape (m, 2), got {edges.shape}")
    if p <= 0 or q <= 0:
        raise ValueError(f"p and q must be positive, got p={p}, q={q}")
    if walk_length < 1:
        raise ValueError("walk_length must be at least 1")
    indptr, neighbours, edge_keys = _csr(edges, n_nodes)
    degree = np.diff(indptr)
    if np.any(degree == 0):
        raise ValueError(f"{int(np.sum(degree == 0))} nodes have no edge; walks need degree >= 1")
    rng = np.random.default_rng(seed)

    def uniform_neighbour(nodes):
        return neighbours[indptr[nodes] + (rng.random(len(nodes)) * degree[nodes]).astype(np.int64)]

    starts = rng.permutation(np.repeat(np.arange(n_nodes), walks_per_node))
    walks = np.empty((len(starts), walk_length), dtype=np.int64)
    walks[:, 0] = starts
    if walk_length > 1:
        walks[:, 1] = uniform_neighbour(starts)
    top = max(1.0 / p, 1.0, 1.0 / q)
    for step in range(2, walk_length):
        prev, cur = walks[:, step - 2], walks[:, step - 1]
        pending = np.arange(len(walks))
        while pending.size:
            candidate = uniform_neighbour(cur[pending])
            back = candidate == prev[pending]
            key = prev[pending] * n_nodes + candidate
            pos = np.minimum(np.searchsorted(edge_keys, key), len(edge_keys) - 1)
            close = edge_keys[pos] == key
            weight = np.where(back, 1.0 / p, np.where(close, 1.0, 1.0 / q)) / top
            accept = rng.random(len(pending)) < weight
            walks[pending[accept], step] = candidate[accept]
            pending = pending[~accept]
    return walks
