"""Local (instance-based) maps: predict a word's target from the targets of nearby training words.

When two spaces are far from isomorphic (notebook 02), no global function
bends one geometry into the other, but the targets of a query's nearest
training words still carry most of what can be predicted. This module holds
the family, all scikit-learn estimators with the same neighbour search
(chunked float32 cosine products, memory O(chunk x n_train)):

* :class:`SoftmaxKNNMap`: ``y = sum_j w_j y_j`` over the k nearest training
  sources, ``w_j ~ exp(cos_j / T)``;
* :class:`ResidualKNNMap`: a linear map plus the query's neighbours' mean
  residual (InstaMap, Glavas & Vulic 2020);
* :class:`AttentionMap`: the same attention, over a learned metric (a torch
  encoder initialised at the identity, trained with InfoNCE);
* :class:`GraphDiffusionKNNMap`: kNN weights diffused over the graph among
  the *training* words (personalised PageRank / APPNP steps);
* :class:`TwoDirectionRetrieval`: a retrieval scheme that adds a reverse
  score (how well a candidate's graph-side neighbourhood predicts the
  query's source vector) to forward CSLS;
* :func:`neighbour_mean_oracle`: a diagnostic bound that uses the true graph.

Every map can also predict its own training rows *leave-one-out*
(``predict_training``); :func:`mapped_sources` uses that to build CSLS
hubness terms that do not favour candidates outside the training set.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted
from torch import nn

from embmap._checks import (
    as_indices,
    as_matrix,
    check_choice,
    check_int,
    check_real,
    check_same_rows,
    safe_unit_rows,
)
from embmap import _search
from embmap.gold import as_gold, gold_slice
from embmap.retrieval import (
    csls_penalties,
    iter_similarity_chunks,
    n_workers,
    topk_rows,
    topk_rows_threaded,
)

__all__ = [
    "AttentionMap",
    "GraphDiffusionKNNMap",
    "ResidualKNNMap",
    "SoftmaxKNNMap",
    "TwoDirectionRetrieval",
    "mapped_sources",
    "nearest_neighbours",
    "neighbour_mean_oracle",
    "neighbour_weights",
    "training_edges",
]


# ---------------------------------------------------------------------------
# shared pieces
# ---------------------------------------------------------------------------


def nearest_neighbours(queries, keys, k, *, exclude=None, chunk_size=1024):
    """The ``k`` most cosine-similar key rows of every query row, best first.

    Parameters
    ----------
    queries : array (n_queries, d)
    keys : array (n_keys, d)
    k : int
        Neighbours per query, ``1 <= k <= n_keys`` (``n_keys - 1`` with ``exclude``).
    exclude : int array (n_queries,), optional
        A key row to leave out for each query (``-1``: none). Used for
        leave-one-out predictions of training words.
    chunk_size : int
        Queries per matrix product (memory is ``chunk_size x n_keys`` floats).

    Returns
    -------
    idx : int64 array (n_queries, k)
    sims : float32 array (n_queries, k)
        Cosines, descending along each row.
    """
    Q = safe_unit_rows(as_matrix(queries, "queries"))
    K = safe_unit_rows(as_matrix(keys, "keys", n_cols=Q.shape[1]))
    limit = len(K) - (1 if exclude is not None else 0)
    k = check_int(k, "k", minimum=1, maximum=max(limit, 1))
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
        if exclude.shape != (len(Q),) or exclude.max(initial=-1) >= len(K) or exclude.min(initial=0) < -1:
            raise ValueError(f"exclude must hold one key row (or -1) per query, shape ({len(Q)},)")
    return _nearest_unit(Q, K, k, exclude, chunk_size)


def _nearest_unit(Q, K, k, exclude, chunk_size):
    """:func:`nearest_neighbours` on checked unit float32 rows (no checks)."""
    idx = np.empty((len(Q), k), dtype=np.int64)
    sims = np.empty((len(Q), k), dtype=np.float32)
    workers = n_workers()
    for lo, S in iter_similarity_chunks(Q, K, chunk_size):  # one reused block
        if exclude is not None:
            ex = exclude[lo : lo + len(S)]
            rows = np.flatnonzero(ex >= 0)
            S[rows, ex[rows]] = -np.inf
        # Exact top-k, sorted best first (ties to the lower column), so the first
        # k' columns are the k' nearest for any k' <= k; threshold pass on all cores.
        vals, cols = topk_rows_threaded(S, k, workers)
        idx[lo : lo + len(S)] = cols
        sims[lo : lo + len(S)] = vals
    return idx, sims


def neighbour_weights(sims, weights="softmax", temperature=0.05):
    """Row-normalised neighbour weights from ``(n, k)`` cosines.

    ``"uniform"``: 1/k; ``"similarity"``: proportional to ``max(cos, 0)``
    (uniform when all are <= 0); ``"softmax"``: proportional to ``exp(cos / T)``.
    """
    check_choice(weights, "weights", ("uniform", "similarity", "softmax"))
    sims = np.asarray(sims, dtype=np.float32)
    if weights == "uniform":
        w = np.ones_like(sims)
    elif weights == "softmax":
        T = check_real(temperature, "temperature", low=0, low_open=True)
        # Subtract the row max before exp, so a small temperature cannot overflow.
        w = np.exp((sims - sims.max(axis=1, keepdims=True)) / np.float32(T))
    else:
        w = np.clip(sims, 0.0, None)
        w[w.sum(axis=1) == 0] = 1.0
    return w / w.sum(axis=1, keepdims=True)


def _check_xy(X, Y):
    X = as_matrix(X, "X", min_rows=2)
    Y = as_matrix(Y, "Y", min_rows=2)
    check_same_rows(X, Y, "X", "Y")
    return X, Y


class _LocalMap(RegressorMixin, BaseEstimator):
    """Neighbour search, validation and leave-one-out prediction shared by the local maps."""

    def _validate_common(self, n_train):
        # at most n_train: there are no more training words to average
        # (predict_training, which leaves each word out, needs n_train - 1)
        check_int(self.n_neighbors, "n_neighbors", minimum=1, maximum=n_train)
        check_choice(self.weights, "weights", ("uniform", "similarity", "softmax"))
        check_real(self.temperature, "temperature", low=0, low_open=True)
        check_int(self.chunk_size, "chunk_size", minimum=1)

    def _store(self, X, Y):
        # a zero row has no direction: its "neighbours" would be arbitrary ties
        self.X_unit_ = safe_unit_rows(X, zero_rows="raise", name="X")
        self.Y_ = Y
        self.n_features_in_ = X.shape[1]

    def _check_query(self, X):
        check_is_fitted(self, "X_unit_")
        X = as_matrix(X, "X", n_cols=self.n_features_in_)
        safe_unit_rows(X, zero_rows="raise", name="X")  # a zero row has no neighbours
        return X

    def _neighbours(self, X, exclude=None):
        # X was checked by predict; the keys were normalised (and checked) by fit.
        idx, sims = self._nearest(safe_unit_rows(X), self.X_unit_, exclude)
        return idx, neighbour_weights(sims, self.weights, self.temperature)

    def _nearest(self, Q, K, exclude):
        """The n_neighbors nearest of unit rows ``K`` for unit rows ``Q`` (leave-one-out rows excluded)."""
        k = check_int(self.n_neighbors, "n_neighbors", minimum=1,
                      maximum=len(K) - (exclude is not None))
        return _nearest_unit(Q, K, k, exclude, self.chunk_size)

    def predict(self, X) -> np.ndarray:
        """Predicted target vectors of any source vectors (new words included).

        Returns
        -------
        numpy.ndarray of shape (n, d_out), float32
        """
        X = self._check_query(X)
        return self._predict(X, exclude=None)

    def predict_training(self) -> np.ndarray:
        """Leave-one-out predictions of the training rows (each without itself).

        Returns
        -------
        numpy.ndarray of shape (n_train, d_out), float32
        """
        check_is_fitted(self, "X_unit_")
        n = len(self.X_unit_)
        if self.n_neighbors > n - 1:
            raise ValueError(f"leave-one-out needs n_neighbors <= n_train - 1 = {n - 1}, "
                             f"got {self.n_neighbors}")
        return self._predict(self.X_unit_, exclude=np.arange(n))

    def _predict(self, X, exclude):
        out = np.empty((len(X), self.Y_.shape[1]), dtype=np.float32)
        for lo in range(0, len(X), self.chunk_size):
            ex = None if exclude is None else exclude[lo : lo + self.chunk_size]
            out[lo : lo + self.chunk_size] = self._predict_chunk(X[lo : lo + self.chunk_size], ex)
        return out

    def _predict_chunk(self, X, exclude):
        idx, w = self._neighbours(X, exclude)
        return np.einsum("qk,qkd->qd", w, self.Y_[idx])


# ---------------------------------------------------------------------------
# plain kNN
# ---------------------------------------------------------------------------


class SoftmaxKNNMap(_LocalMap):
    """Weighted mean of the targets of the k nearest training words (cosine in the source space).

    Shown in notebook 06, section 2 (written out and checked against this class).

    .. math:: \\hat y = \\sum_{j \\in N_k(x)} w_j y_j, \\quad
              w_j \\propto \\exp(\\cos(x, x_j) / T)

    The one kNN regression of embmap (:class:`embmap.neural.KNNRegressionMap`
    is this class with similarity weights and k = 10), with leave-one-out
    predictions of the training words (:meth:`predict_training`).

    Parameters
    ----------
    n_neighbors : int
        k, the neighbours averaged.
    weights : {"softmax", "similarity", "uniform"}
        How neighbours are weighted (see :func:`neighbour_weights`).
    temperature : float
        Softmax temperature T (``weights="softmax"`` only); small T trusts the nearest.
    chunk_size : int
        Query rows per matrix product.

    Attributes
    ----------
    X_unit_ : ndarray (n_train, d_in)
        Unit-length training sources.
    Y_ : ndarray (n_train, d_out)
        Training targets.
    n_features_in_ : int
    """

    def __init__(self, n_neighbors=20, weights="softmax", temperature=0.05, chunk_size=1024):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.temperature = temperature
        self.chunk_size = chunk_size

    def fit(self, X, Y):
        """Store the unit-length training sources and their targets.

        Returns
        -------
        self
        """
        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        self._store(X, Y)
        return self


# ---------------------------------------------------------------------------
# residual correction of a linear map (InstaMap)
# ---------------------------------------------------------------------------


class ResidualKNNMap(_LocalMap):
    """A linear map corrected by the mean residual of the query's nearest training pairs.

    .. math:: \\hat y = W x + \\sum_{j \\in N_k(x)} w_j \\, (y_j - W x_j)

    (InstaMap, Glavas & Vulic 2020, one step). Neighbours are found by cosine
    in the source space (for an orthogonal ``W`` the same as in the mapped
    space). When the linear map is exact (``y_j = W x_j``) this is ``W x``;
    when the weights concentrate on one neighbour it is that neighbour's
    target moved by ``W (x - x_j)``.

    Parameters
    ----------
    base : estimator, optional
        The linear map (cloned and fitted on the training pairs);
        default :class:`embmap.linear.LeastSquares`.
    n_neighbors, weights, temperature, chunk_size :
        As in :class:`SoftmaxKNNMap`.

    Attributes
    ----------
    base_ : fitted estimator
    residuals_ : ndarray (n_train, d_out)
        ``Y - base_.predict(X)`` on the training pairs.
    """

    def __init__(self, base=None, n_neighbors=20, weights="softmax", temperature=0.05,
                 chunk_size=1024):
        self.base = base
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.temperature = temperature
        self.chunk_size = chunk_size

    def fit(self, X, Y):
        """Fit the linear map, then store the training residuals.

        Returns
        -------
        self
        """
        from embmap.linear import LeastSquares

        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        self.base_ = clone(self.base if self.base is not None else LeastSquares()).fit(X, Y)
        self._store(X, Y)
        self.residuals_ = (Y - np.asarray(self.base_.predict(X), dtype=np.float32)).astype(np.float32)
        return self

    def predict_training(self) -> np.ndarray:
        """Leave-one-out predictions of the training rows (neighbours exclude the row itself)."""
        check_is_fitted(self, "X_unit_")
        # The base map needs the raw rows: X_unit_ are unit-length copies, which the
        # bundled (unit-center-unit) spaces already are, but a reader's may not be.
        return self._predict(self._X_train, exclude=np.arange(len(self.X_unit_)))

    def _store(self, X, Y):
        super()._store(X, Y)
        self._X_train = X

    def _predict_chunk(self, X, exclude):
        idx, w = self._neighbours(X, exclude)
        linear = np.asarray(self.base_.predict(X), dtype=np.float32)
        return linear + np.einsum("qk,qkd->qd", w, self.residuals_[idx])


# ---------------------------------------------------------------------------
# graph diffusion over the training words' graph
# ---------------------------------------------------------------------------


def training_edges(edges, train) -> np.ndarray:
    """Edges among training words only, renumbered to positions in ``train``.

    An edge survives only when both ends are training rows, so no validation
    or test word's edges can reach a prediction.

    Parameters
    ----------
    edges : int array (m, 2)
        Edges between rows of the full dataset.
    train : int array (n_train,)
        Training rows, in the order they are passed to ``fit``.

    Returns
    -------
    int64 array (m', 2) of positions into ``train``.
    """
    train = np.asarray(train, dtype=np.int64)
    if train.ndim != 1 or len(np.unique(train)) != len(train):
        raise ValueError("train must be a 1-D array of distinct row indices")
    edges = np.asarray(edges)
    if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise ValueError(f"edges must be an integer array of shape (m, 2), got {edges.shape}")
    size = max(int(edges.max(initial=-1)), int(train.max(initial=-1))) + 1
    position = np.full(size, -1, dtype=np.int64)
    position[train] = np.arange(len(train))
    local = position[edges] if len(edges) else edges.astype(np.int64).reshape(0, 2)
    return local[(local >= 0).all(axis=1)]


class GraphDiffusionKNNMap(_LocalMap):
    """kNN weights diffused over the graph among training words (APPNP / personalised PageRank).

    With ``w_0`` the query's softmax-kNN weights over training words and
    ``P = D^{-1} (A + I)`` the random-walk matrix of the training graph (with
    self-loops, so isolated words keep their mass),

    .. math:: w_{t+1} = (1 - \\alpha) \\, w_t P + \\alpha \\, w_0, \\qquad
              \\hat y = \\sum_j w_{T,j} \\, y_j .

    Mass flows from each neighbour to its graph neighbours, so training words
    that are linked to several of the query's neighbours gain weight. The
    graph holds *training words only* (pass ``edges`` through
    :func:`training_edges`): the query's own edges never enter a prediction,
    which is the use case (a word without a graph node).

    Parameters
    ----------
    n_neighbors, weights, temperature, chunk_size :
        As in :class:`SoftmaxKNNMap` (the starting weights ``w_0``).
    alpha : float in [0, 1]
        Restart probability (1: plain kNN).
    n_steps : int
        Diffusion steps (0: plain kNN).

    Attributes
    ----------
    transition_ : scipy.sparse.csr_matrix (n_train, n_train)
    """

    def __init__(self, n_neighbors=20, weights="softmax", temperature=0.05, alpha=0.5, n_steps=2,
                 chunk_size=1024):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.temperature = temperature
        self.alpha = alpha
        self.n_steps = n_steps
        self.chunk_size = chunk_size

    def fit(self, X, Y, edges=None):
        """Store the training pairs and the random-walk matrix of their graph.

        Parameters
        ----------
        X, Y : arrays (n_train, d_in), (n_train, d_out)
        edges : int array (m, 2), optional
            Edges between *positions in X* (see :func:`training_edges`); none: plain kNN.

        Returns
        -------
        self
        """
        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        check_real(self.alpha, "alpha", low=0, high=1)
        check_int(self.n_steps, "n_steps", minimum=0)
        n = len(X)
        if edges is None:
            edges = np.empty((0, 2), dtype=np.int64)
        edges = np.asarray(edges)
        if edges.size and (edges.ndim != 2 or edges.shape[1] != 2):
            raise ValueError(f"edges must have shape (m, 2), got {edges.shape}")
        edges = edges.reshape(-1, 2)
        if edges.size:
            as_indices(edges.ravel(), "edges", n)
        ones = np.ones(2 * len(edges), dtype=np.float32)
        A = sparse.coo_matrix((ones, (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
                              shape=(n, n)).tocsr()
        A.data[:] = 1.0  # duplicate edges count once
        A = A + sparse.identity(n, dtype=np.float32, format="csr")
        degree = np.asarray(A.sum(axis=1)).ravel()
        self.transition_ = (sparse.diags(1.0 / degree) @ A).astype(np.float32).tocsr()
        self._store(X, Y)
        return self

    def _predict_chunk(self, X, exclude):
        idx, w = self._neighbours(X, exclude)
        q, n = len(X), len(self.Y_)
        w0 = sparse.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, q * idx.shape[1] + 1, idx.shape[1])),
                               shape=(q, n))
        wt = w0
        left_out = None
        if exclude is not None and np.any(exclude >= 0):
            # Leave-one-out: the left-out training word may not receive mass through its edges.
            rows = np.flatnonzero(exclude >= 0)
            left_out = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, exclude[rows])),
                                         shape=(q, n))
        for _ in range(self.n_steps):
            wt = (1 - self.alpha) * (wt @ self.transition_) + self.alpha * w0
            if left_out is not None:
                wt = sparse.csr_matrix(wt - wt.multiply(left_out))
        wt = sparse.csr_matrix(wt)
        total = np.asarray(wt.sum(axis=1)).ravel()
        return (sparse.diags(1.0 / total) @ wt @ self.Y_).astype(np.float32)


# ---------------------------------------------------------------------------
# learned-metric attention
# ---------------------------------------------------------------------------


class MetricEncoder(nn.Module):
    """``f(x) = x A + b`` (+ a residual MLP), initialised at the identity.

    Parameters
    ----------
    dim : int
        Source dimension (the encoder keeps it).
    hidden : int or None
        Width of an optional residual ``ReLU`` layer whose output layer starts
        at zero, so ``f`` is the identity at initialisation either way.
    """

    def __init__(self, dim: int, hidden: int | None = None):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(dim))
            self.linear.bias.zero_()
        self.mlp = None
        if hidden:
            out = nn.Linear(hidden, dim)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        return z if self.mlp is None else z + self.mlp(x)


def _attend(fq, fk, Yk, k, temperature, exclude=None):
    """Softmax attention of encoded queries over their k most similar encoded keys."""
    S = nn.functional.normalize(fq, dim=1) @ nn.functional.normalize(fk, dim=1).T
    if exclude is not None:
        S = S.masked_fill(exclude, float("-inf"))
    vals, idx = torch.topk(S, k, dim=1)
    w = torch.softmax(vals / temperature, dim=1)
    return torch.einsum("qk,qkd->qd", w, Yk[idx])


def _attend_leave_one_out(fq, fk, Yk, k, temperature, query_rows):
    """:func:`_attend` with each query's own key row (``query_rows``) left out, for training.

    The same values and gradients as ``_attend(..., exclude=mask)``, but the
    full ``(q, n)`` similarity matrix is only used to *select* the k keys, so
    it is built without autograd; the selected similarities are recomputed
    with gradients from the k keys alone. Autograd through the full matrix
    (and its dense backward: two more ``(q, n, d)`` products) was most of
    the cost of a training step.
    """
    q_unit = nn.functional.normalize(fq, dim=1)
    k_unit = nn.functional.normalize(fk, dim=1)
    with torch.no_grad():
        S = q_unit @ k_unit.T
        S[torch.arange(len(S)), query_rows] = float("-inf")  # leave the query out
        idx = torch.topk(S, k, dim=1).indices
    vals = torch.einsum("qd,qkd->qk", q_unit, k_unit[idx])
    w = torch.softmax(vals / temperature, dim=1)
    return torch.einsum("qk,qkd->qd", w, Yk[idx])


class AttentionMap(_LocalMap):
    """Softmax attention over training words in a learned metric, trained with InfoNCE.

    .. math:: \\hat y = \\sum_{j \\in N_k(f(x))} \\mathrm{softmax}_j
              \\big(\\cos(f(x), f(x_j)) / T\\big) \\, y_j

    ``f`` (:class:`MetricEncoder`) starts at the identity, so before any
    training (epoch 0) this *is* :class:`SoftmaxKNNMap` with the same k and T.
    Training predicts every training word from the *other* training words
    (leave-one-out) and minimises InfoNCE of the prediction against all
    training targets (the gold target must beat every other one). After each
    epoch the validation words are retrieved by cosine among the training and
    validation targets; the encoder with the best validation P@10 is kept
    (epoch 0 included), and training stops after ``patience`` epochs without
    improvement.

    Parameters
    ----------
    n_neighbors : int
    temperature : float
        Attention temperature T.
    nce_temperature : float
        InfoNCE temperature.
    hidden : int or None
        Width of the encoder's residual MLP (None: linear encoder).
    lr, batch_size, max_epochs, patience : training settings.
    seed : int
        Seeds the batch order (and any initialisation): runs are deterministic per seed.
    chunk_size : int

    Attributes
    ----------
    encoder_ : MetricEncoder
    history_ : dict
        ``epoch``, ``train_loss`` and ``val_p@10`` per epoch (epoch 0 = before training).
    best_epoch_ : int
    stopped_early_ : bool
    """

    weights = "softmax"

    def __init__(self, n_neighbors=20, temperature=0.05, nce_temperature=0.05, hidden=None, lr=1e-3,
                 batch_size=512, max_epochs=20, patience=3, seed=0, chunk_size=1024):
        self.n_neighbors = n_neighbors
        self.temperature = temperature
        self.nce_temperature = nce_temperature
        self.hidden = hidden
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.seed = seed
        self.chunk_size = chunk_size

    def fit(self, X, Y, X_val=None, Y_val=None):
        """Train the encoder (early stopping needs ``X_val``/``Y_val``; without them, all epochs run).

        Returns
        -------
        self
        """
        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        check_real(self.nce_temperature, "nce_temperature", low=0, low_open=True)
        check_real(self.lr, "lr", low=0, low_open=True)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.max_epochs, "max_epochs", minimum=0)
        check_int(self.patience, "patience", minimum=1)
        check_int(self.seed, "seed")
        if self.hidden is not None:
            check_int(self.hidden, "hidden", minimum=1)
        has_val = X_val is not None
        if has_val:
            X_val = as_matrix(X_val, "X_val", n_cols=X.shape[1])
            Y_val = as_matrix(Y_val, "Y_val", n_cols=Y.shape[1])
            check_same_rows(X_val, Y_val, "X_val", "Y_val")
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        encoder = MetricEncoder(X.shape[1], self.hidden)
        optimiser = torch.optim.Adam(encoder.parameters(), lr=self.lr, fused=True)  # see neural.py
        Xt, Yt = torch.from_numpy(safe_unit_rows(X)), torch.from_numpy(Y)
        Yt_unit = nn.functional.normalize(Yt, dim=1)
        self._store(X, Y)
        history = {"epoch": [], "train_loss": [], "val_p@10": []}
        best, best_state, best_epoch, bad = -1.0, None, 0, 0
        self.stopped_early_ = False
        for epoch in range(self.max_epochs + 1):
            loss_sum = np.nan
            if epoch > 0:
                loss_sum = self._train_epoch(encoder, optimiser, Xt, Yt, Yt_unit, generator)
            history["epoch"].append(epoch)
            history["train_loss"].append(loss_sum)
            self.encoder_ = encoder
            score = self._val_p10(X_val, Y_val) if has_val else np.nan
            history["val_p@10"].append(score)
            if not has_val:
                continue
            if score > best:
                best, best_state, best_epoch, bad = score, copy.deepcopy(encoder.state_dict()), epoch, 0
            else:
                bad += 1
                if bad >= self.patience:
                    self.stopped_early_ = True
                    break
        if best_state is not None:
            encoder.load_state_dict(best_state)
        self.best_epoch_ = best_epoch if has_val else self.max_epochs
        self.encoder_ = encoder
        self.history_ = history
        return self

    def _train_epoch(self, encoder, optimiser, Xt, Yt, Yt_unit, generator):
        n = len(Xt)
        order = torch.randperm(n, generator=generator)
        total = 0.0
        encoder.train()
        for lo in range(0, n, self.batch_size):
            batch = order[lo : lo + self.batch_size]
            keys = encoder(Xt)
            pred = _attend_leave_one_out(keys[batch], keys, Yt, self.n_neighbors,
                                         self.temperature, batch)
            logits = nn.functional.normalize(pred, dim=1) @ Yt_unit.T / self.nce_temperature
            loss = nn.functional.cross_entropy(logits, batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        return total / n

    def _val_p10(self, X_val, Y_val):
        pred = self.predict(X_val)
        candidates = safe_unit_rows(np.vstack([self.Y_, Y_val]))
        gold = len(self.Y_) + np.arange(len(Y_val))
        hits = 0
        P = safe_unit_rows(pred)
        for lo in range(0, len(P), self.chunk_size):
            S = P[lo : lo + self.chunk_size] @ candidates.T
            g = gold[lo : lo + self.chunk_size]
            rank = np.sum(S >= S[np.arange(len(S)), g][:, None], axis=1)
            hits += int(np.sum(rank <= 10))
        return hits / len(P)

    def _encode(self, X):
        with torch.no_grad():
            self.encoder_.eval()
            return safe_unit_rows(self.encoder_(torch.from_numpy(safe_unit_rows(X))).numpy())

    def _predict(self, X, exclude):
        idx, sims = self._nearest(self._encode(X), self._encode(self.X_unit_), exclude)
        w = neighbour_weights(sims, "softmax", self.temperature)
        out = np.empty((len(X), self.Y_.shape[1]), dtype=np.float32)
        for lo in range(0, len(X), self.chunk_size):  # (chunk, k, d) gathered at a time
            sl = slice(lo, lo + self.chunk_size)
            out[sl] = np.einsum("qk,qkd->qd", w[sl], self.Y_[idx[sl]])
        return out


# ---------------------------------------------------------------------------
# CSLS sources with leave-one-out training predictions
# ---------------------------------------------------------------------------


def mapped_sources(model, X, train) -> np.ndarray:
    """Every word's mapped source vector, training words predicted leave-one-out.

    A local map predicts a training word from its own target (it is its own
    nearest neighbour), so its plain ``predict`` output sits on top of that
    target; used as a CSLS source it inflates the hubness term ``r_S`` of
    *training* candidates only and so pushes them below validation and test
    candidates: a bias in favour of the gold answers. Leave-one-out
    predictions (``model.predict_training()``) remove it. Maps without
    ``predict_training`` (linear maps) use ``predict`` for every row.

    Parameters
    ----------
    model : fitted estimator, fitted on ``X[train]``
    X : array (n, d_in)
        All source vectors.
    train : int array
        The training rows, in the order used in ``fit``.
    """
    X = as_matrix(X, "X")
    train = as_indices(train, "train", len(X))
    pred = np.asarray(model.predict(X), dtype=np.float32)
    if hasattr(model, "predict_training"):
        pred[train] = model.predict_training()
    return pred


# ---------------------------------------------------------------------------
# two-direction retrieval
# ---------------------------------------------------------------------------


class TwoDirectionRetrieval(BaseEstimator):
    """Forward CSLS plus a reverse CSLS from each candidate's graph-side neighbourhood.

    Shown in notebook 06, section 3 (the score written out and checked against this class).

    For every candidate target ``c`` its source-space vector is estimated as
    the softmax-kNN average of the source vectors of its nearest *training*
    words in the target space (a training candidate leaves itself out):

    .. math:: \\hat x_c = \\sum_{j \\in N_k(y_c)} \\mathrm{softmax}_j(\\cos(y_c, y_j)/T)\\, x_j

    and a query ``q`` (source ``x_q``, mapped ``\\hat y_q``) scores ``c`` by

    .. math:: s(q, c) = \\mathrm{CSLS}(\\hat y_q, y_c) + \\beta \\,
              \\mathrm{CSLS}(x_q, \\hat x_c).

    The reverse term's hubness penalties use the estimates ``\\hat x`` (for
    ``r_T``) and all source vectors given to ``fit`` (for ``r_S``). It needs
    only the query's source vector and the candidates' target vectors, so it
    applies to new words. ``beta=0`` is plain forward CSLS.

    Parameters
    ----------
    n_neighbors : int
        k of the reverse softmax kNN.
    temperature : float
        T of the reverse softmax kNN.
    beta : float >= 0
        Weight of the reverse score (choose it on validation words, :meth:`select_beta`).
    csls_k : int
        CSLS neighbourhood size of both directions.
    chunk_size : int
        Queries per block (memory ``chunk_size x n_candidates``).

    Attributes
    ----------
    source_estimates_ : ndarray (n_candidates, d_in)
        ``\\hat x_c`` for every candidate, unit length.
    targets_ : ndarray (n_candidates, d_out)
        The candidates, unit length.
    reverse_r_S_ : ndarray (n_candidates,)
    """

    def __init__(self, n_neighbors=20, temperature=0.05, beta=3.0, csls_k=10, chunk_size=1024):
        self.n_neighbors = n_neighbors
        self.temperature = temperature
        self.beta = beta
        self.csls_k = csls_k
        self.chunk_size = chunk_size

    def fit(self, X, Y, train):
        """Estimate every candidate's source vector from the training pairs.

        Parameters
        ----------
        X : array (n, d_in)
            Source vectors of all words (the pool for the reverse ``r_S``).
        Y : array (n, d_out)
            Target vectors of the same words: the candidate set.
        train : int array
            Rows whose (source, target) pairs may be used.

        Returns
        -------
        self
        """
        X = as_matrix(X, "X")
        Y = as_matrix(Y, "Y")
        check_same_rows(X, Y, "X", "Y")
        train = as_indices(train, "train", len(Y), min_len=2)
        check_int(self.n_neighbors, "n_neighbors", minimum=1, maximum=len(train) - 1)
        check_real(self.temperature, "temperature", low=0, low_open=True)
        check_real(self.beta, "beta", low=0)
        check_int(self.csls_k, "csls_k", minimum=1, maximum=len(Y))
        check_int(self.chunk_size, "chunk_size", minimum=1)
        exclude = np.full(len(Y), -1, dtype=np.int64)
        exclude[train] = np.arange(len(train))
        idx, sims = nearest_neighbours(Y, Y[train], self.n_neighbors, exclude=exclude,
                                       chunk_size=self.chunk_size)
        w = neighbour_weights(sims, "softmax", self.temperature)
        Xtr = safe_unit_rows(X[train])
        estimates = np.empty((len(Y), X.shape[1]), dtype=np.float32)
        for lo in range(0, len(Y), self.chunk_size):
            sl = slice(lo, lo + self.chunk_size)
            estimates[sl] = np.einsum("qk,qkd->qd", w[sl], Xtr[idx[sl]])
        self.source_estimates_ = safe_unit_rows(estimates)
        self.targets_ = safe_unit_rows(Y)
        self.sources_ = safe_unit_rows(X)
        self.reverse_r_S_ = csls_penalties(self.source_estimates_, self.source_estimates_,
                                           self.sources_, self.csls_k)[1].astype(np.float32)
        return self

    def _blocks(self, query_sources, query_preds, forward_sources):
        """Yield ``(start, forward CSLS block, reverse CSLS block)``."""
        check_is_fitted(self, "source_estimates_")
        Xq = safe_unit_rows(as_matrix(query_sources, "query_sources", n_cols=self.sources_.shape[1]))
        Pq = safe_unit_rows(as_matrix(query_preds, "query_preds", n_cols=self.targets_.shape[1]))
        check_same_rows(Xq, Pq, "query_sources", "query_preds")
        fwd = Pq if forward_sources is None else as_matrix(
            forward_sources, "forward_sources", n_cols=self.targets_.shape[1])
        r_T, r_S = csls_penalties(Pq, self.targets_, fwd, self.csls_k)
        rev_r_T, _ = csls_penalties(Xq, self.source_estimates_, Xq[:1], self.csls_k)
        r_T, r_S, rev_r_T = (a.astype(np.float32) for a in (r_T, r_S, rev_r_T))
        for lo in range(0, len(Xq), self.chunk_size):
            sl = slice(lo, lo + self.chunk_size)
            forward = 2 * (Pq[sl] @ self.targets_.T) - r_T[sl, None] - r_S[None, :]
            reverse = 2 * (Xq[sl] @ self.source_estimates_.T) - rev_r_T[sl, None] - self.reverse_r_S_[None, :]
            yield lo, forward, reverse

    def retrieve(self, query_sources, query_preds, gold, forward_sources=None, betas=None, n_top=10):
        """Rank of each gold candidate and each query's best candidates.

        Parameters
        ----------
        query_sources : array (q, d_in)
            The queries' source vectors.
        query_preds : array (q, d_out)
            The queries' mapped vectors (any map).
        gold : int array (q,), or q int sequences
            Candidate row of the right answer, or several rows per query (any
            of them is a hit; the rank is the best one's), as for
            :func:`embmap.evaluation.retrieve`.
        forward_sources : array (n_sources, d_out), optional
            All mapped source vectors, for the forward ``r_S`` (default ``query_preds``);
            pass :func:`mapped_sources` output.
        betas : sequence of float, optional
            Score several betas in one pass (default: ``[self.beta]``).
        n_top : int
            Length of the returned top lists.

        Returns
        -------
        ranks : int64 array (q,), or dict beta -> ranks when ``betas`` is given
            Rank of the gold row (ties count against the prediction).
        top : int64 array (q, n_top), or dict beta -> top
            Best candidates, best first.
        """
        check_is_fitted(self, "source_estimates_")
        gold = as_gold(gold, len(self.targets_))
        if len(gold) != len(np.asarray(query_sources)):
            raise ValueError(f"gold must hold one row per query ({len(np.asarray(query_sources))}), "
                             f"got {len(gold)}")
        n_top = check_int(n_top, "n_top", minimum=1, maximum=len(self.targets_))
        single = betas is None
        betas = [self.beta] if single else [check_real(b, "betas", low=0) for b in betas]
        ranks = {b: np.empty(len(gold), dtype=np.int64) for b in betas}
        tops = {b: np.empty((len(gold), n_top), dtype=np.int64) for b in betas}
        for lo, forward, reverse in self._blocks(query_sources, query_preds, forward_sources):
            g = gold_slice(gold, lo, lo + len(forward))
            for b in betas:
                S = forward + np.float32(b) * reverse if b else forward
                ranks[b][lo : lo + len(S)] = _search.gold_rank(S, g)
                tops[b][lo : lo + len(S)] = topk_rows(S, n_top)[1]
        if single:
            return ranks[betas[0]], tops[betas[0]]
        return ranks, tops

    def select_beta(self, query_sources, query_preds, gold, forward_sources=None,
                    betas=(0, 0.5, 1, 2, 3, 4, 6), metric="p@10"):
        """Set ``beta`` to the value with the best ``metric`` on these (validation) queries.

        Returns
        -------
        dict beta -> metric value (``self.beta`` is set to the best; ties go to the smaller beta)
        """
        check_choice(metric, "metric", ("p@1", "p@10", "mrr"))
        ranks, _ = self.retrieve(query_sources, query_preds, gold, forward_sources, betas=betas)
        scores = {}
        for b, r in ranks.items():
            scores[b] = float(np.mean(1.0 / r)) if metric == "mrr" else float(
                np.mean(r <= int(metric.split("@")[1])))
        self.beta = max(scores, key=lambda b: (scores[b], -b))
        return scores


# ---------------------------------------------------------------------------
# oracle
# ---------------------------------------------------------------------------


def neighbour_mean_oracle(Y, edges, rows) -> np.ndarray:
    """ORACLE (diagnosis only): each row's prediction is the mean target of its true graph neighbours.

    It uses the word's own graph edges, which a real query does not have; it
    bounds what "find the right neighbours, then average their targets" can
    reach. Rows without neighbours get a zero vector (which retrieval ranks last).

    Parameters
    ----------
    Y : array (n, d)
        Target vectors of all graph nodes.
    edges : int array (m, 2)
        The full graph.
    rows : int array
        Rows to predict.
    """
    Y = as_matrix(Y, "Y")
    rows = as_indices(rows, "rows", len(Y))
    edges = np.asarray(edges)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError(f"edges must have shape (m, 2), got {edges.shape}")
    as_indices(edges.ravel(), "edges", len(Y))
    ones = np.ones(2 * len(edges), dtype=np.float32)
    A = sparse.coo_matrix((ones, (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
                          shape=(len(Y), len(Y))).tocsr()
    A.data[:] = 1.0
    A.setdiag(0)
    A.eliminate_zeros()
    sub = A[rows]
    degree = np.asarray(sub.sum(axis=1)).ravel()
    out = np.asarray(sub @ Y, dtype=np.float32)
    return out / np.maximum(degree, 1)[:, None].astype(np.float32)


# ---------------------------------------------------------------------------
# validation-only selection and scoring, shared by notebook 06 and the benchmark
# ---------------------------------------------------------------------------


def _weighted_mean(w, idx, Y):
    """``sum_j w[q, j] Y[idx[q, j]]`` for every row q: ``einsum("qk,qkd->qd", w, Y[idx])``.

    As a sparse (n, n_Y) matrix times ``Y``: the same sums without gathering an
    (n, k, d) array (536 MB for 33,518 words, k = 80, d = 50), about 10x faster.
    """
    n, k = idx.shape
    W = sparse.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, len(Y)))
    return np.asarray(W @ Y, dtype=np.float32)


def knn_validation_grid(X, Y, train, val, n_neighbors=(10, 20, 40), temperatures=(0.03, 0.05, 0.1),
                        weights=("softmax",), retrieval="csls", chunk_size=1024, gold=None):
    """Validation P@1/P@10/MRR of kNN regression over a grid of k, weighting and temperature.

    The neighbour search runs once (for the largest k); every setting then
    only re-weights. Each setting maps *all* words (training words
    leave-one-out, as :func:`mapped_sources`) and retrieves the validation
    words among all rows of ``Y`` (CSLS sources: all mapped words).

    Parameters
    ----------
    X, Y : arrays (n, d_in), (n, d_out)
        All words, normalised on the training rows.
    train, val : int arrays
        Training rows (the neighbours) and validation rows (the queries).
    n_neighbors, temperatures : sequences
        Grid values (temperatures apply to ``"softmax"`` only).
    weights : sequence of {"softmax", "similarity", "uniform"}
    retrieval : {"csls", "nn"}
    gold : optional
        The validation words' gold rows (default: ``val`` itself); several
        per word as for :func:`embmap.evaluation.evaluate`
        (``pair.gold(pair.val)``).

    Returns
    -------
    pandas.DataFrame
        One row per setting: ``weights``, ``k``, ``T`` (NaN unless softmax),
        ``p@1``, ``p@10``, ``mrr`` (fractions, validation words).
    """
    import pandas as pd

    from embmap.evaluation import rank_metrics, retrieve

    X = as_matrix(X, "X")
    Y = as_matrix(Y, "Y")
    check_same_rows(X, Y, "X", "Y")
    train = as_indices(train, "train", len(X), min_len=2)
    val = as_indices(val, "val", len(X), min_len=1)
    gold = val if gold is None else as_gold(gold, len(Y), len(val))
    check_choice(retrieval, "retrieval", ("csls", "nn"))
    ks = [check_int(k, "n_neighbors", minimum=1, maximum=len(train) - 1) for k in n_neighbors]
    temps = [check_real(t, "temperatures", low=0, low_open=True) for t in temperatures]
    for w in weights:
        check_choice(w, "weights", ("uniform", "similarity", "softmax"))
    exclude = np.full(len(X), -1, dtype=np.int64)
    exclude[train] = np.arange(len(train))
    idx, sims = nearest_neighbours(X, X[train], max(ks), exclude=exclude, chunk_size=chunk_size)
    Ytr = Y[train]
    rows = []
    for w_name in weights:
        for k in ks:
            for T in temps if w_name == "softmax" else [np.nan]:
                w = neighbour_weights(sims[:, :k], w_name, T if w_name == "softmax" else 1.0)
                pred = _weighted_mean(w, idx[:, :k], Ytr)
                ranks, _ = retrieve(pred[val], Y, gold, retrieval, sources=pred)
                rows.append({"weights": w_name, "k": k, "T": T, **rank_metrics(ranks)})
    return pd.DataFrame(rows)
