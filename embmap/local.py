"""Local (instance-based) maps: predict a word's target from the targets of nearby training words.

scikit-learn estimators on :mod:`embmap._search`; each predicts its own training rows
leave-one-out (``predict_training``), which :func:`mapped_sources` uses for unbiased CSLS
terms. :class:`AttentionMap` (torch) lives in :mod:`embmap.neural`, importable from here.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from embmap import _search
from embmap._validation import (
    as_indices,
    as_matrix,
    check_choice,
    check_int,
    check_real,
    check_same_rows,
    safe_unit_rows,
)
from embmap.datasets import _check_edges
from embmap.evaluation import rank_metrics, retrieve
from embmap.gold import as_gold, gold_slice
from embmap.retrieval import _check_chunk_size

__all__ = ["GraphDiffusionKNNMap", "KNNRegressionMap", "ResidualKNNMap", "SoftmaxKNNMap",
           "TwoDirectionRetrieval", "knn_validation_grid", "mapped_sources", "nearest_neighbours",
           "neighbour_mean_oracle", "neighbour_weights", "select_two_direction", "training_edges"]

_WEIGHTS = ("uniform", "similarity", "softmax")


def __getattr__(name):
    # lazily, so that `import embmap.local` stays free of torch
    if name in ("AttentionMap", "MetricEncoder"):
        from embmap import neural

        return getattr(neural, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def nearest_neighbours(queries, keys, k, *, exclude=None, chunk_size=None):
    """``(idx, sims)``: the ``k`` most cosine-similar key rows of every query row, best first.

    Ties go to the lower row. ``exclude`` (one key row per query, ``-1`` for none) is a
    row that query may not return (leave-one-out). ``chunk_size``: queries per block.
    """
    Q = safe_unit_rows(as_matrix(queries, "queries"))
    K = safe_unit_rows(as_matrix(keys, "keys", n_cols=Q.shape[1]))
    k = check_int(k, "k", minimum=1, maximum=max(len(K) - (exclude is not None), 1))
    chunk_size = _check_chunk_size(chunk_size)
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
        if exclude.shape != (len(Q),) or exclude.max(initial=-1) >= len(K) or exclude.min(initial=0) < -1:
            raise ValueError(f"exclude must hold one key row (or -1) per query, shape ({len(Q)},)")
    sims, idx = _search.nearest(Q, K, k, exclude=exclude, chunk_size=chunk_size)
    return idx, sims


def neighbour_weights(sims, weights="softmax", temperature=0.05):
    """Row-normalised weights of ``(n, k)`` cosines: ``"uniform"`` 1/k, ``"similarity"``
    proportional to ``max(cos, 0)`` (uniform when all are <= 0), ``"softmax"`` to ``exp(cos / T)``."""
    check_choice(weights, "weights", _WEIGHTS)
    sims = np.asarray(sims, dtype=np.float32)
    if weights == "uniform":
        w = np.ones_like(sims)
    elif weights == "softmax":
        T = check_real(temperature, "temperature", low=0, low_open=True)
        # The row max is subtracted first so that a small temperature cannot overflow.
        w = np.exp((sims - sims.max(axis=1, keepdims=True)) / np.float32(T))
    else:
        w = np.clip(sims, 0.0, None)
        w[w.sum(axis=1) == 0] = 1.0
    return w / w.sum(axis=1, keepdims=True)


def _check_xy(X, Y):
    X, Y = as_matrix(X, "X", min_rows=2), as_matrix(Y, "Y", min_rows=2)
    check_same_rows(X, Y, "X", "Y")
    return X, Y


def _leave_one_out(n, train):
    """Each of ``n`` rows' position in ``train`` (-1 if none)."""
    exclude = np.full(n, -1, dtype=np.int64)
    exclude[train] = np.arange(len(train))
    return exclude


def _sparse_weights(w, idx, n):
    """The ``(q, n)`` CSR matrix holding weight ``w[i, j]`` at column ``idx[i, j]``."""
    q, k = idx.shape
    return sparse.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, q * k + 1, k)), shape=(q, n))


def _adjacency(edges, n):
    """Symmetric 0/1 float32 CSR adjacency of an ``(m, 2)`` edge list."""
    ones = np.ones(2 * len(edges), dtype=np.float32)
    A = sparse.coo_matrix((ones, (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
                          shape=(n, n)).tocsr()
    A.data[:] = 1.0
    return A


class _LocalMap(RegressorMixin, BaseEstimator):
    """Neighbour search, checks and leave-one-out prediction shared by the local maps."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # targets are vectors: Y is always 2-D
        tags.target_tags.single_output = False
        return tags

    def _validate_common(self, n_train):
        check_int(self.n_neighbors, "n_neighbors", minimum=1, maximum=n_train)
        check_choice(self.weights, "weights", _WEIGHTS)
        check_real(self.temperature, "temperature", low=0, low_open=True)
        _check_chunk_size(self.chunk_size)

    def _store(self, X, Y):
        # a zero row has no direction: its "neighbours" would be arbitrary ties
        self.X_unit_ = safe_unit_rows(X, zero_rows="raise", name="X")
        self.Y_ = Y
        self.n_features_in_ = X.shape[1]

    def _neighbours(self, X, exclude):
        idx, sims = self._nearest(safe_unit_rows(X), self.X_unit_, exclude)
        return idx, neighbour_weights(sims, self.weights, self.temperature)

    def _nearest(self, Q, K, exclude):
        k = check_int(self.n_neighbors, "n_neighbors", minimum=1, maximum=len(K) - (exclude is not None))
        sims, idx = _search.nearest(Q, K, k, exclude=exclude, chunk_size=self.chunk_size)
        return idx, sims

    def predict(self, X) -> np.ndarray:
        """Predicted target vectors (float32) of any source vectors."""
        check_is_fitted(self, "X_unit_")
        X = as_matrix(X, "X", n_cols=self.n_features_in_)
        safe_unit_rows(X, zero_rows="raise", name="X")  # a zero row has no neighbours
        return self._predict(X, exclude=None)

    def predict_training(self) -> np.ndarray:
        """Leave-one-out predictions of the training rows (each without itself)."""
        check_is_fitted(self, "X_unit_")
        n = len(self.X_unit_)
        if self.n_neighbors > n - 1:
            raise ValueError(f"leave-one-out needs n_neighbors <= n_train - 1 = {n - 1}, "
                             f"got {self.n_neighbors}")
        # ResidualKNNMap's base map needs the raw rows, not their unit copies
        return self._predict(getattr(self, "_X_train", self.X_unit_), exclude=np.arange(n))

    def _predict(self, X, exclude):
        out = np.empty((len(X), self.Y_.shape[1]), dtype=np.float32)
        step = _search.chunk_rows(len(X), len(self.X_unit_), self.chunk_size)
        for lo in range(0, len(X), step):
            ex = None if exclude is None else exclude[lo : lo + step]
            out[lo : lo + step] = self._predict_chunk(X[lo : lo + step], ex)
        return out

    def _predict_chunk(self, X, exclude):
        idx, w = self._neighbours(X, exclude)
        return np.einsum("qk,qkd->qd", w, self.Y_[idx])


class SoftmaxKNNMap(_LocalMap):
    """Weighted mean of the targets of the k nearest training words (cosine in the source space).

    Shown in notebook 06, section 2 (written out and checked against this class).

    .. math:: \\hat y = \\sum_{j \\in N_k(x)} w_j y_j, \\quad w_j \\propto \\exp(\\cos(x, x_j) / T)

    ``weights``: see :func:`neighbour_weights` (``temperature`` is softmax's);
    ``chunk_size``: queries per block. Fitted: ``X_unit_``, ``Y_``, ``n_features_in_``.
    """

    def __init__(self, n_neighbors=20, weights="softmax", temperature=0.05, chunk_size=None):
        self.n_neighbors, self.weights, self.temperature = n_neighbors, weights, temperature
        self.chunk_size = chunk_size

    def fit(self, X, Y):
        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        self._store(X, Y)
        return self


class KNNRegressionMap(SoftmaxKNNMap):
    """:class:`SoftmaxKNNMap` with k = 10 and similarity weights (notebooks 04 and 05)."""

    def __init__(self, n_neighbors=10, weights="similarity", temperature=0.05, chunk_size=None):
        super().__init__(n_neighbors=n_neighbors, weights=weights, temperature=temperature,
                         chunk_size=chunk_size)


class ResidualKNNMap(_LocalMap):
    """A linear map corrected by the mean residual of the query's nearest training pairs.

    .. math:: \\hat y = W x + \\sum_{j \\in N_k(x)} w_j \\, (y_j - W x_j)

    (InstaMap, Glavas & Vulic 2020, one step). ``base`` (default
    :class:`embmap.linear.LeastSquares`) is cloned and fitted; the other parameters are
    :class:`SoftmaxKNNMap`'s. Fitted: ``base_``, ``residuals_`` (``Y - base_.predict(X)``).
    """

    def __init__(self, base=None, n_neighbors=20, weights="softmax", temperature=0.05,
                 chunk_size=None):
        self.base, self.n_neighbors, self.weights = base, n_neighbors, weights
        self.temperature, self.chunk_size = temperature, chunk_size

    def fit(self, X, Y):
        from embmap.linear import LeastSquares

        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        self.base_ = clone(self.base if self.base is not None else LeastSquares()).fit(X, Y)
        self._store(X, Y)
        self._X_train = X
        self.residuals_ = (Y - np.asarray(self.base_.predict(X), dtype=np.float32)).astype(np.float32)
        return self

    def _predict_chunk(self, X, exclude):
        idx, w = self._neighbours(X, exclude)
        linear = np.asarray(self.base_.predict(X), dtype=np.float32)
        return linear + np.einsum("qk,qkd->qd", w, self.residuals_[idx])


def training_edges(edges, train) -> np.ndarray:
    """Edges with both ends among the training rows, renumbered to positions in ``train``
    (so no validation or test word's edges reach a prediction)."""
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

    With ``w_0`` the query's kNN weights and ``P = D^{-1}(A + I)`` the training graph's
    random-walk matrix,

    .. math:: w_{t+1} = (1 - \\alpha) \\, w_t P + \\alpha \\, w_0, \\qquad
              \\hat y = \\sum_j w_{T,j} \\, y_j .

    The graph holds training words only (:func:`training_edges`), so a query needs no
    graph node. ``alpha`` (restart probability) 1 or ``n_steps`` 0 is plain kNN.
    Fitted: ``transition_`` (sparse ``P``).
    """

    def __init__(self, n_neighbors=20, weights="softmax", temperature=0.05, alpha=0.5, n_steps=2,
                 chunk_size=None):
        self.n_neighbors, self.weights, self.temperature = n_neighbors, weights, temperature
        self.alpha, self.n_steps, self.chunk_size = alpha, n_steps, chunk_size

    def fit(self, X, Y, *, edges=None):
        """``edges``: rows of X (:func:`training_edges`); none: plain kNN."""
        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        check_real(self.alpha, "alpha", low=0, high=1)
        check_int(self.n_steps, "n_steps", minimum=0)
        n = len(X)
        edges = _check_edges(np.empty((0, 2), dtype=np.int64) if edges is None else edges, n)
        A = _adjacency(edges, n) + sparse.identity(n, dtype=np.float32, format="csr")
        degree = np.asarray(A.sum(axis=1)).ravel()
        self.transition_ = (sparse.diags(1.0 / degree) @ A).astype(np.float32).tocsr()
        self._store(X, Y)
        return self

    def _predict_chunk(self, X, exclude):
        idx, w = self._neighbours(X, exclude)
        q, n = len(X), len(self.Y_)
        w0 = _sparse_weights(w, idx, n)
        wt, left_out = w0, None
        if exclude is not None and np.any(exclude >= 0):
            # leave-one-out: the left-out word may not receive mass through its edges either
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


def mapped_sources(model, X, train) -> np.ndarray:
    """Every word's mapped source vector, training words predicted leave-one-out.

    A local map predicts a training word from its own target: plain ``predict`` would
    inflate CSLS's ``r_S`` of training candidates only (a bias toward the gold answers).
    ``model`` is fitted on ``X[train]``; maps without ``predict_training`` use ``predict``.
    """
    X = as_matrix(X, "X")
    train = as_indices(train, "train", len(X))
    pred = np.asarray(model.predict(X), dtype=np.float32)
    if hasattr(model, "predict_training"):
        pred[train] = model.predict_training()
    return pred


class TwoDirectionRetrieval(BaseEstimator):
    """Forward CSLS plus a reverse CSLS from each candidate's graph-side neighbourhood.

    Shown in notebook 06, section 3 (the score written out and checked against this class).

    Each candidate ``c``'s source vector is estimated from its nearest *training* words
    in the target space (leaving itself out); a query ``q`` scores ``c`` by

    .. math:: \\hat x_c = \\sum_{j \\in N_k(y_c)} \\mathrm{softmax}_j(\\cos(y_c, y_j)/T)\\, x_j,
              \\qquad s(q, c) = \\mathrm{CSLS}(\\hat y_q, y_c) + \\beta\\, \\mathrm{CSLS}(x_q, \\hat x_c).

    The reverse ``r_S`` uses all source vectors given to ``fit``. ``beta=0`` is forward
    CSLS; :meth:`select_beta` sets ``beta_``, used instead of ``beta`` once set.
    """

    def __init__(self, n_neighbors=20, temperature=0.05, beta=3.0, csls_k=10, chunk_size=None):
        self.n_neighbors, self.temperature, self.beta = n_neighbors, temperature, beta
        self.csls_k, self.chunk_size = csls_k, chunk_size

    def fit(self, X, Y, train):
        """Estimate every candidate's source vector from the ``train`` pairs.

        Unlike the maps' ``fit``, ``X`` and ``Y`` hold *all* words: every row of ``Y`` is
        a candidate, every row of ``X`` in the pool of the reverse ``r_S``.
        """
        X, Y = as_matrix(X, "X"), as_matrix(Y, "Y")
        check_same_rows(X, Y, "X", "Y")
        train = as_indices(train, "train", len(Y), min_len=2)
        check_int(self.n_neighbors, "n_neighbors", minimum=1, maximum=len(train) - 1)
        check_real(self.temperature, "temperature", low=0, low_open=True)
        check_real(self.beta, "beta", low=0)
        check_int(self.csls_k, "csls_k", minimum=1, maximum=len(Y))
        _check_chunk_size(self.chunk_size)
        self.__dict__.pop("beta_", None)  # a refit forgets an earlier selection
        self.targets_ = safe_unit_rows(Y)
        self.sources_ = safe_unit_rows(X)
        sims, idx = _search.nearest(self.targets_, self.targets_[train], self.n_neighbors,
                                    exclude=_leave_one_out(len(Y), train), chunk_size=self.chunk_size)
        w = neighbour_weights(sims, "softmax", self.temperature)
        Xtr = safe_unit_rows(X[train])
        estimates = np.empty((len(Y), X.shape[1]), dtype=np.float32)
        step = _search.chunk_rows(len(Y), len(train), self.chunk_size)
        for lo in range(0, len(Y), step):
            estimates[lo : lo + step] = np.einsum("qk,qkd->qd", w[lo : lo + step], Xtr[idx[lo : lo + step]])
        self.source_estimates_ = safe_unit_rows(estimates)
        # The CSLS terms normalise their (already unit) inputs once more, as the checked
        # retrieval functions do: the same floats as embmap.retrieval.csls_penalties.
        self.reverse_r_S_ = _search.target_term(safe_unit_rows(self.source_estimates_),
                                                safe_unit_rows(self.sources_), self.csls_k)
        return self

    def _blocks(self, query_sources, query_preds, forward_sources):
        Xq = safe_unit_rows(as_matrix(query_sources, "query_sources", n_cols=self.sources_.shape[1]))
        Pq = safe_unit_rows(as_matrix(query_preds, "query_preds", n_cols=self.targets_.shape[1]))
        check_same_rows(Xq, Pq, "query_sources", "query_preds")
        fwd = Pq if forward_sources is None else as_matrix(
            forward_sources, "forward_sources", n_cols=self.targets_.shape[1])
        r_T, r_S = _search.csls_terms(safe_unit_rows(Pq), safe_unit_rows(self.targets_),
                                      safe_unit_rows(fwd), self.csls_k, self.chunk_size)
        rev_r_T = _search.mean_topk(safe_unit_rows(Xq), safe_unit_rows(self.source_estimates_),
                                    self.csls_k, self.chunk_size).astype(np.float32)
        forward = _search.blocks(Pq, self.targets_, self.chunk_size)
        reverse = _search.blocks(Xq, self.source_estimates_, self.chunk_size)
        for (lo, F), (_, R) in zip(forward, reverse):
            sl = slice(lo, lo + len(F))
            # the forward block is a copy, so a caller may keep it (the reverse one is reused)
            yield (lo, _search.csls_block(F.copy(), r_T[sl], r_S),
                   _search.csls_block(R, rev_r_T[sl], self.reverse_r_S_))

    def retrieve(self, query_sources, query_preds, gold, *, forward_sources=None, betas=None,
                 n_top=10):
        """``(ranks, top)``: each query's gold rank (ties count against) and best ``n_top`` rows.

        ``gold`` as :func:`embmap.evaluation.retrieve`. ``forward_sources``: all mapped
        source vectors for the forward ``r_S`` (default ``query_preds``; pass
        :func:`mapped_sources` output). ``betas``: several in one pass; then both are
        dicts beta -> array.
        """
        check_is_fitted(self, "source_estimates_")
        gold = as_gold(gold, len(self.targets_))
        if len(gold) != len(np.asarray(query_sources)):
            raise ValueError(f"gold must hold one row per query ({len(np.asarray(query_sources))}), "
                             f"got {len(gold)}")
        n_top = check_int(n_top, "n_top", minimum=1, maximum=len(self.targets_))
        single = betas is None
        betas = [getattr(self, "beta_", self.beta)] if single else [check_real(b, "betas", low=0)
                                                                    for b in betas]
        ranks = {b: np.empty(len(gold), dtype=np.int64) for b in betas}
        tops = {b: np.empty((len(gold), n_top), dtype=np.int64) for b in betas}
        for lo, forward, reverse in self._blocks(query_sources, query_preds, forward_sources):
            g = gold_slice(gold, lo, lo + len(forward))
            for b in betas:
                S = forward + np.float32(b) * reverse if b else forward
                ranks[b][lo : lo + len(S)] = _search.gold_rank(S, g)
                tops[b][lo : lo + len(S)] = _search.topk(S, n_top)[1]
        if single:
            return ranks[betas[0]], tops[betas[0]]
        return ranks, tops

    def select_beta(self, query_sources, query_preds, gold, *, forward_sources=None,
                    betas=(0, 0.5, 1, 2, 3, 4, 6), metric="p@10"):
        """Set ``beta_`` to the best ``metric`` on these validation queries (ties: smaller beta);
        returns beta -> metric."""
        check_choice(metric, "metric", ("p@1", "p@10", "mrr"))
        ranks, _ = self.retrieve(query_sources, query_preds, gold, forward_sources=forward_sources,
                                 betas=betas)
        scores = {b: rank_metrics(r)[metric] for b, r in ranks.items()}
        self.beta_ = max(scores, key=lambda b: (scores[b], -b))
        return scores


def neighbour_mean_oracle(Y, edges, rows) -> np.ndarray:
    """ORACLE (diagnosis only): each row's prediction is the mean target of its true graph neighbours.

    It uses the word's own edges, which a real query lacks: a bound on "find the right
    neighbours, then average". Rows without neighbours get a zero vector.
    """
    Y = as_matrix(Y, "Y")
    rows = as_indices(rows, "rows", len(Y))
    A = _adjacency(_check_edges(edges, len(Y)), len(Y))
    A.setdiag(0)
    A.eliminate_zeros()
    sub = A[rows]
    degree = np.asarray(sub.sum(axis=1)).ravel()
    out = np.asarray(sub @ Y, dtype=np.float32)
    return out / np.maximum(degree, 1)[:, None].astype(np.float32)


def knn_validation_grid(X, Y, train, val, n_neighbors=(10, 20, 40), temperatures=(0.03, 0.05, 0.1),
                        *, weights=("softmax",), retrieval="csls", chunk_size=None, gold=None):
    """Validation P@1/P@5/P@10/MRR of kNN regression over a grid of k, weighting and temperature.

    One neighbour search; each setting maps all words (training words leave-one-out,
    as :func:`mapped_sources`) and retrieves the validation words among all rows of
    ``Y``. ``gold``: the validation words' gold rows (default ``val``). Returns one
    DataFrame row per setting: ``weights``, ``k``, ``T`` (NaN unless softmax), metrics.
    """
    import pandas as pd

    X, Y = as_matrix(X, "X"), as_matrix(Y, "Y")
    check_same_rows(X, Y, "X", "Y")
    train = as_indices(train, "train", len(X), min_len=2)
    val = as_indices(val, "val", len(X), min_len=1)
    gold = val if gold is None else as_gold(gold, len(Y), len(val))
    check_choice(retrieval, "retrieval", ("csls", "nn"))
    ks = [check_int(k, "n_neighbors", minimum=1, maximum=len(train) - 1) for k in n_neighbors]
    temps = [check_real(t, "temperatures", low=0, low_open=True) for t in temperatures]
    for w in weights:
        check_choice(w, "weights", _WEIGHTS)
    idx, sims = nearest_neighbours(X, X[train], max(ks), exclude=_leave_one_out(len(X), train),
                                   chunk_size=chunk_size)
    Ytr = Y[train]
    rows = []
    for w_name in weights:
        for k in ks:
            for T in temps if w_name == "softmax" else [np.nan]:
                w = neighbour_weights(sims[:, :k], w_name, T if w_name == "softmax" else 1.0)
                pred = np.asarray(_sparse_weights(w, idx[:, :k], len(Ytr)) @ Ytr, dtype=np.float32)
                ranks, _ = retrieve(pred[val], Y, gold, retrieval, sources=pred)
                rows.append({"weights": w_name, "k": k, "T": T, **rank_metrics(ranks)})
    return pd.DataFrame(rows)


def select_two_direction(X, Y, train, val, *, gold=None, test=None, n_neighbors=(10, 20, 40),
                         temperatures=(0.03, 0.05, 0.1), weights=("softmax",),
                         reverse=((10, 0.05), (20, 0.05)), betas=(0, 0.5, 1, 2, 3, 4, 6), n_top=10):
    """Choose a kNN map and its two-direction retrieval on validation words (notebook 06's recipe).

    1. kNN k, weighting and T: best validation P@10 of :func:`knn_validation_grid`
       (values ``k >= len(train)`` dropped).
    2. Each reverse ``(k, T)`` (k clipped to ``len(train) - 1``) scores every beta on
       that kNN's :func:`mapped_sources`; the best validation P@10 wins (ties: the
       earlier reverse setting, then the smaller beta).

    ``test`` rows are ranked too, never used for a choice; ``gold``: gold rows of
    ``np.r_[val, test]`` (default: the rows themselves).

    Returns a dict: ``grid``, ``grid_best``, ``knn_params``, ``knn``, ``sources`` (its
    mapped sources), ``curves`` (validation P@1, P@10 per reverse setting and beta),
    ``scheme`` (chosen, ``beta_`` set), ``beta``, ``ranks`` and ``top`` (``val`` then
    ``test``), ``p10`` (validation P@10 of ``knn``, ``two_direction``, ``beta0``).
    """
    import pandas as pd

    X, Y = as_matrix(X, "X"), as_matrix(Y, "Y")
    train = as_indices(train, "train", len(X), min_len=2)
    val = as_indices(val, "val", len(X), min_len=1)
    test = np.zeros(0, dtype=np.int64) if test is None else as_indices(test, "test", len(X))
    rows, n_val = np.r_[val, test], len(val)
    gold = rows if gold is None else as_gold(gold, len(Y), len(rows))
    ks = [k for k in n_neighbors if k < len(train)]
    grid = knn_validation_grid(X, Y, train, val, ks, temperatures, weights=weights,
                               gold=gold_slice(gold, 0, n_val))
    best = grid.loc[grid["p@10"].idxmax()]
    knn_params = {"n_neighbors": int(best["k"]), "weights": best["weights"],
                  "temperature": float(best["T"]) if best["weights"] == "softmax" else 0.05}
    knn = SoftmaxKNNMap(**knn_params).fit(X[train], Y[train])
    sources = mapped_sources(knn, X, train)
    curves, chosen = [], None
    for rk, rT in reverse:
        scheme = TwoDirectionRetrieval(n_neighbors=min(rk, len(train) - 1), temperature=rT)
        ranks, tops = scheme.fit(X, Y, train).retrieve(X[rows], sources[rows], gold,
                                                       forward_sources=sources, betas=betas,
                                                       n_top=n_top)
        metrics = {b: rank_metrics(ranks[b][:n_val]) for b in betas}
        p10 = {b: m["p@10"] for b, m in metrics.items()}
        curves += [{"reverse k": scheme.n_neighbors, "reverse T": rT, "beta": b,
                    "p@1": metrics[b]["p@1"], "p@10": p10[b]} for b in betas]
        b = max(betas, key=lambda b: (p10[b], -b))
        if chosen is None or p10[b] > chosen["p10"]["two_direction"]:
            scheme.beta_ = b
            chosen = {"scheme": scheme, "beta": b, "ranks": ranks[b], "top": tops[b],
                      "p10": {"knn": float(best["p@10"]), "two_direction": p10[b],
                              "beta0": p10.get(0, np.nan)}}
    return {"grid": grid, "grid_best": best, "knn_params": knn_params, "knn": knn,
            "sources": sources, "curves": pd.DataFrame(curves), **chosen}
