"""Linear maps from a source embedding space X to a target space Y (scikit-learn regressors).

==========================  =============================================
``LeastSquares``            W = argmin ||XW - Y||            (any W)
``RidgeMap``                W = argmin ||XW - Y||^2 + alpha ||W||^2
``RidgeHoldoutMap``         ``RidgeMap``, alpha chosen on validation words
``OrthogonalProcrustes``    W = argmax <XW, Y>, W orthogonal (a rotation)
``CCAMap``                  rank-k regression through canonical directions
``VecMapMultiStep``         whiten, rotate, re-weight, de-whiten (VecMap)
``SelfLearning``            wrap any map; re-induce the dictionary by CSLS
==========================  =============================================

``predict(X) = X @ coef_ + intercept_`` with ``coef_`` of shape ``(d_x, d_y)`` (the
transpose of scikit-learn's: the literature writes ``XW``). Fitting is in float64;
``predict`` returns float32 for float32 input, 1-D for a 1-D ``Y``. A Pipeline transforms
``X`` only: normalise the target side yourself (a Normaliser fitted on the training rows).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from embmap import _search
from embmap._validation import (
    as_matrix,
    check_bool,
    check_choice,
    check_fit_data,
    check_int,
    check_predict_data,
    check_real,
    check_same_rows,
    holdout_rows,
    safe_unit_rows,
)

__all__ = ["CCAMap", "LeastSquares", "OrthogonalProcrustes", "RidgeHoldoutMap", "RidgeMap",
           "SelfLearning", "VecMapMultiStep", "least_squares"]


def _apply(X, coef):
    """``X @ coef`` in float32 for float32 input (memory), else float64."""
    return X @ coef.astype(X.dtype if X.dtype == np.float32 else np.float64, copy=False)


class _Map(MultiOutputMixin, RegressorMixin, BaseEstimator):
    # Maps that fit shapes, not scales (rotations, whitening): R^2 on toy regressions can be poor.
    _poor_score = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True  # a 1-D Y works too
        tags.regressor_tags.poor_score = self._poor_score
        return tags


class _LinearMap(_Map):
    """Closed-form maps: subclasses set ``coef_`` and ``intercept_`` in ``_fit``."""

    def fit(self, X, Y):
        """Fit on paired rows: ``X`` (n, d_x), ``Y`` (n, d_y) or (n,)."""
        X, Y = check_fit_data(self, X, Y)
        self._y_was_1d = Y.ndim == 1
        self._fit(X, Y[:, None] if Y.ndim == 1 else Y)
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        pred = _apply(check_predict_data(self, X), self.coef_)
        pred += self.intercept_.astype(pred.dtype, copy=False)
        return pred.ravel() if self._y_was_1d else pred


def _center(X, Y, fit_intercept):
    if not fit_intercept:
        return np.zeros(X.shape[1]), np.zeros(Y.shape[1]), X, Y
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    return mx, my, X - mx, Y - my


def least_squares(X, Y, fit_intercept=False) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` minimising ``||X W + b - Y||``: embmap's one least-squares solve.

    :func:`scipy.linalg.lstsq` (gelsy: minimum-norm ``W`` for rank-deficient ``X``);
    the intercept is fitted on centred columns (``b`` is zeros without one).
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    mx, my, Xc, Yc = _center(X, Y, fit_intercept)
    coef = scipy.linalg.lstsq(Xc, Yc, lapack_driver="gelsy")[0]
    return coef, my - mx @ coef


def _sqrt_and_inv_sqrt(C, eps=1e-10):
    """``(C^(1/2), C^(-1/2))``, eigenvalues floored at ``eps * max``."""
    w, V = np.linalg.eigh(C)
    floor = eps * w.max() if w.max() > 0 else 1.0
    root = np.sqrt(np.maximum(w, floor))
    return (V * root) @ V.T, (V / root) @ V.T


class LeastSquares(_LinearMap):
    """Unconstrained linear map: ``W = argmin ||XW - Y||_F`` (minimum-norm when ``n < d_x``).

    Solved by :func:`least_squares`, never the normal equations. ``fit_intercept``
    fits ``Y ~ XW + b`` (not needed after centring both spaces).
    """

    def __init__(self, fit_intercept=False):
        self.fit_intercept = fit_intercept

    def _fit(self, X, Y):
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        self.coef_, self.intercept_ = least_squares(X, Y, fit_intercept)


class RidgeMap(_LinearMap):
    """Least squares with an L2 penalty: ``W = (X^T X + alpha I)^(-1) X^T Y``.

    Solved by Cholesky; ``alpha = 0`` is :func:`least_squares`. ``X^T X`` of ``n`` unit
    rows has trace ``n``: scale ``alpha`` with the number of words. ``fit_intercept``
    fits an unpenalised intercept.
    """

    def __init__(self, alpha=1.0, fit_intercept=False):
        self.alpha, self.fit_intercept = alpha, fit_intercept

    def _fit(self, X, Y):
        alpha = check_real(self.alpha, "alpha", low=0.0)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        if alpha == 0:
            self.coef_, self.intercept_ = least_squares(X, Y, fit_intercept)
            return
        mx, my, Xc, Yc = _center(X, Y, fit_intercept)
        gram = Xc.T @ Xc + alpha * np.eye(X.shape[1])
        self.coef_ = scipy.linalg.solve(gram, Xc.T @ Yc, assume_a="pos")
        self.intercept_ = my - mx @ self.coef_


class RidgeHoldoutMap(_LinearMap):
    """:class:`RidgeMap` whose ``alpha`` is chosen inside every ``fit`` on validation words.

    Unlike scikit-learn's ``RidgeCV`` (leave-one-out), ``alpha`` minimises the MSE on the
    validation pair given to :meth:`fit`, else on a seeded hold-out of ``val_fraction``
    of the training rows; then the map is refitted on all training rows. Fitted:
    ``alpha_``, ``validation_mse_`` (alpha -> MSE), ``final_`` (the :class:`RidgeMap`).
    """

    def __init__(self, alphas=(0.01, 0.1, 1.0, 10.0, 100.0, 1000.0), fit_intercept=False,
                 val_fraction=0.1, seed=0):
        self.alphas, self.fit_intercept = alphas, fit_intercept
        self.val_fraction, self.seed = val_fraction, seed

    def fit(self, X, Y, *, X_val=None, Y_val=None):
        """Choose ``alpha`` on ``(X_val, Y_val)`` (both or neither), then refit on ``X``, ``Y``."""
        alphas = self._check_params()
        X, Y = check_fit_data(self, X, Y)
        if (X_val is None) != (Y_val is None):
            raise ValueError("give both X_val and Y_val, or neither")
        if X_val is None:
            n_val = max(1, round(float(self.val_fraction) * len(X)))
            if len(X) - n_val < 2:
                raise ValueError(f"X has {len(X)} rows: too few to hold out val_fraction="
                                 f"{self.val_fraction} of them and fit on at least 2; "
                                 "pass X_val and Y_val instead")
            kept, held = holdout_rows(len(X), n_val, self.seed)
            X_tr, Y_tr, X_val, Y_val = X[kept], Y[kept], X[held], Y[held]
        else:
            X_val = as_matrix(X_val, "X_val", dtype=np.float64, n_cols=X.shape[1])
            if Y.ndim == 1 and np.ndim(Y_val) == 1:
                Y_val = np.reshape(Y_val, (-1, 1))
            Y_val = as_matrix(Y_val, "Y_val", dtype=np.float64, n_cols=1 if Y.ndim == 1 else Y.shape[1])
            check_same_rows(X_val, Y_val, "X_val", "Y_val")
            Y_val = Y_val.ravel() if Y.ndim == 1 else Y_val
            X_tr, Y_tr = X, Y
        self.validation_mse_ = {}
        for alpha in alphas:
            model = RidgeMap(alpha=alpha, fit_intercept=self.fit_intercept).fit(X_tr, Y_tr)
            with np.errstate(over="ignore"):  # an overflow is reported just below
                mse = float(np.mean((model.predict(X_val) - Y_val) ** 2))
            if not np.isfinite(mse):
                raise ValueError(f"the validation MSE of alpha={alpha} overflowed; rescale X and Y")
            self.validation_mse_[alpha] = mse
        self.alpha_ = min(self.validation_mse_, key=self.validation_mse_.get)
        final = RidgeMap(alpha=self.alpha_, fit_intercept=self.fit_intercept).fit(X, Y)
        self.coef_, self.intercept_, self.final_ = final.coef_, final.intercept_, final
        self._y_was_1d = Y.ndim == 1
        return self

    def _check_params(self):
        if isinstance(self.alphas, (str, bytes)) or not hasattr(self.alphas, "__iter__"):
            raise TypeError(f"alphas must be a sequence of numbers >= 0, got {self.alphas!r}")
        alphas = list(self.alphas)
        if not alphas:
            raise ValueError("alphas must hold at least one candidate")
        for i, alpha in enumerate(alphas):
            check_real(alpha, f"alphas[{i}]", low=0.0)
        check_bool(self.fit_intercept, "fit_intercept")
        check_real(self.val_fraction, "val_fraction", low=0.0, high=1.0,
                   low_open=True, high_open=True)
        check_int(self.seed, "seed", minimum=0)
        return alphas


class OrthogonalProcrustes(_LinearMap):
    """Orthogonal map (rotation or reflection): keeps all distances and angles.

    Shown in notebook 03, section 1 (the SVD written out and checked against this class).

    ``W = U V^T`` with ``U S V^T = svd(X^T Y)`` maximises ``<XW, Y>`` over orthogonal
    ``W`` (Schönemann 1966). With different dimensions the thin SVD gives a
    semi-orthogonal ``W``. ``singular_values_`` are those of ``X^T Y``.
    """

    _poor_score = True

    def _fit(self, X, Y):
        XtY = X.T @ Y
        if not np.any(XtY):
            # svd(0) returns an arbitrary orthogonal matrix: a map that means nothing.
            raise ValueError("X^T Y is all zeros (an all-zero X or Y?): every rotation fits equally badly")
        U, s, Vt = np.linalg.svd(XtY, full_matrices=False)
        self.coef_ = U @ Vt
        self.intercept_ = np.zeros(Y.shape[1])
        self.singular_values_ = s


class CCAMap(_LinearMap):
    """Rank-k regression through the directions in which X and Y are most correlated (CCA).

    Closed form (no iterations, unlike :class:`sklearn.cross_decomposition.CCA`),
    on centred data::

        C_xx = X^T X / n + r I,   C_yy = Y^T Y / n + r I,   C_xy = X^T Y / n
        U S V^T = svd(C_xx^(-1/2) C_xy C_yy^(-1/2))
        A = C_xx^(-1/2) U_k,      B = C_yy^(-1/2) V_k,      rho = diag(S)_k

    The map predicts the target variates ``rho_i X a_i`` and returns to Y's coordinates
    by least squares, ``L = (B^T C_yy B)^(-1) B^T C_yy``: ``coef_ = A diag(rho) L``
    (with all components: least squares with an intercept). ``n_components``: ``k``
    (default ``min(d_x, d_y)``); ``reg``: ``r`` relative to the mean variance.
    Fitted: ``x_weights_`` (A), ``y_weights_`` (B), ``y_loadings_`` (L), ``correlations_``.
    """

    def __init__(self, n_components=None, reg=1e-6):
        self.n_components, self.reg = n_components, reg

    def _fit(self, X, Y):
        d = min(X.shape[1], Y.shape[1])
        k = d if self.n_components is None else check_int(self.n_components, "n_components",
                                                          minimum=1, maximum=d)
        reg = check_real(self.reg, "reg", low=0.0)
        mx, my, Xc, Yc = _center(X, Y, fit_intercept=True)
        n = len(X)
        Cxx, Cyy, Cxy = Xc.T @ Xc / n, Yc.T @ Yc / n, Xc.T @ Yc / n

        def regularised(C):
            scale = np.trace(C) / len(C)
            return C + reg * (scale if scale > 0 else 1.0) * np.eye(len(C))

        _, Wx = _sqrt_and_inv_sqrt(regularised(Cxx))
        _, Wy = _sqrt_and_inv_sqrt(regularised(Cyy))
        U, rho, Vt = np.linalg.svd(Wx @ Cxy @ Wy, full_matrices=False)
        A, B = Wx @ U[:, :k], Wy @ Vt[:k].T
        L = np.linalg.lstsq(B.T @ Cyy @ B, B.T @ Cyy, rcond=None)[0]
        self.x_weights_, self.y_weights_, self.y_loadings_ = A, B, L
        self.correlations_ = rho[:k]
        self.coef_ = (A * rho[:k]) @ L
        self.intercept_ = my - mx @ self.coef_


class VecMapMultiStep(_LinearMap):
    """The multi-step framework of Artetxe et al. (AAAI 2018), on dictionary rows X, Z (= Y).

    1. whiten: ``W1x = (X^T X)^(-1/2)``, ``W1z = (Z^T Z)^(-1/2)``;
    2. orthogonal map: ``U S V^T = svd(Xw^T Zw)``, ``X <- Xw U``, ``Z <- Zw V``;
    3. re-weight: multiply each side by ``S^reweight`` (the paper: 0.5);
    4. de-whiten: source by ``U^T (X^T X)^(1/2) U``, target by ``V^T (Z^T Z)^(1/2) V``;
    5. dimensionality reduction: keep the first ``dim_reduction`` coordinates.

    ``coef_source_`` and ``coef_target_`` map each side into the shared space, where
    VecMap retrieves (:meth:`transform_source`, :meth:`transform_target`); ``predict``
    maps into Y's own coordinates (``coef_ = coef_source_ @ pinv(coef_target_)``).
    ``orthogonal=False``: least squares in step 2 (steps 3 and 5 refused).
    """

    _poor_score = True

    def __init__(self, whiten=True, orthogonal=True, reweight=0.5, dewhiten=True,
                 dim_reduction=None):
        self.whiten, self.orthogonal, self.reweight = whiten, orthogonal, reweight
        self.dewhiten, self.dim_reduction = dewhiten, dim_reduction

    def _fit(self, X, Z):
        self._check_params(min(X.shape[1], Z.shape[1]))
        Wx1, Wx1_inv = self._whitening(X)
        Wz1, Wz1_inv = self._whitening(Z)
        Xw, Zw = X @ Wx1, Z @ Wz1
        if self.orthogonal:
            U, s, Vt = np.linalg.svd(Xw.T @ Zw, full_matrices=False)
            V = Vt.T
            Wx, Wz = Wx1 @ U, Wz1 @ V
            if self.reweight:
                Wx, Wz = Wx * s**self.reweight, Wz * s**self.reweight
            if self.dewhiten:
                Wx, Wz = Wx @ (U.T @ Wx1_inv @ U), Wz @ (V.T @ Wz1_inv @ V)
        else:
            # Least squares lands the source in the (whitened) target
            # coordinates, so both sides are de-whitened with the target's matrix.
            Wx, Wz, s = Wx1 @ scipy.linalg.lstsq(Xw, Zw)[0], Wz1, np.empty(0)
            if self.dewhiten:
                Wx, Wz = Wx @ Wz1_inv, Wz @ Wz1_inv
        if self.dim_reduction is not None:
            Wx, Wz = Wx[:, : self.dim_reduction], Wz[:, : self.dim_reduction]
        self.coef_source_, self.coef_target_, self.singular_values_ = Wx, Wz, s
        self.coef_ = Wx @ np.linalg.pinv(Wz)
        self.intercept_ = np.zeros(Z.shape[1])

    def _whitening(self, A):
        if not self.whiten:
            eye = np.eye(A.shape[1])
            return eye, eye
        root, inv_root = _sqrt_and_inv_sqrt(A.T @ A)
        return inv_root, root

    def _check_params(self, max_dim):
        for flag in ("whiten", "orthogonal", "dewhiten"):
            check_bool(getattr(self, flag), flag)
        if self.reweight is not None:
            check_real(self.reweight, "reweight", low=0.0)
        m = self.dim_reduction
        if m is not None:
            check_int(m, "dim_reduction", minimum=1, maximum=max_dim)
        if not self.orthogonal and (self.reweight or m is not None):
            raise ValueError("reweight and dim_reduction need orthogonal=True (they use its S)")

    def transform_source(self, X):
        """Source vectors in the shared space: ``X @ coef_source_``."""
        check_is_fitted(self)
        return _apply(check_predict_data(self, X), self.coef_source_)

    def transform_target(self, Y):
        """Target vectors in the shared space: ``Y @ coef_target_``."""
        check_is_fitted(self)
        Y = check_predict_data(self, Y, name="Y", n_cols=self.coef_target_.shape[0])
        return _apply(Y, self.coef_target_)


class SelfLearning(_Map):
    """Refine any map by re-inducing its training dictionary (Artetxe et al. 2018).

    Alternate: fit ``estimator`` (default :class:`OrthogonalProcrustes`) on the dictionary;
    pair every source word with its best target by CSLS (``direction="union"`` adds every
    target's best source, as VecMap). Stops when the mean best CSLS score improves by less
    than ``tol`` or after ``n_iter`` rounds. While iterating each score is dropped with
    probability ``dropout`` (fixed; VecMap anneals it). A map with ``transform_target``
    induces in its shared space; ``vocabulary_size``: induce over the first rows only.
    Fitted: ``estimator_``, ``dictionary_`` (int (m, 2): ``X[i]`` with ``Y[j]``),
    ``history_`` (one dict per round), ``n_iter_``.
    """

    _poor_score = True

    def __init__(self, estimator=None, n_iter=10, tol=1e-4, dropout=0.1, direction="union",
                 csls_k=10, vocabulary_size=None, seed=0, verbose=False):
        self.estimator, self.n_iter, self.tol, self.dropout = estimator, n_iter, tol, dropout
        self.direction, self.csls_k, self.vocabulary_size = direction, csls_k, vocabulary_size
        self.seed, self.verbose = seed, verbose

    def fit(self, X, Y, *, seed_pairs=None):
        """Fit on ``seed_pairs`` (int (m, 2): ``X[i]`` with ``Y[j]``; default ``i <-> i``), then refine."""
        self._check_params()
        X, Y = check_fit_data(self, X, Y, paired=seed_pairs is None)
        pairs = (np.repeat(np.arange(len(X))[:, None], 2, axis=1) if seed_pairs is None
                 else _check_pairs(seed_pairs, len(X), len(Y)))
        self._y_was_1d = Y.ndim == 1
        Y = Y[:, None] if Y.ndim == 1 else Y
        rng = np.random.default_rng(self.seed)
        V = self.vocabulary_size
        Xv, Yv = (X, Y) if V is None else (X[:V], Y[:V])
        model = self._refit(X, Y, pairs)
        self.history_ = []
        previous = -np.inf
        for iteration in range(1, self.n_iter + 1):
            start = time.perf_counter()
            induced, objective = self._induce(model, Xv, Yv, self.dropout, rng)
            improved = objective - previous >= self.tol
            if improved:
                pairs, previous = induced, objective
                model = self._refit(X, Y, pairs)
            seconds = time.perf_counter() - start
            self.history_.append({"iteration": iteration, "dictionary_size": len(induced),
                                  "objective": float(objective), "seconds": float(seconds)})
            if self.verbose:
                print(f"self-learning round {iteration}: {len(induced)} pairs, "
                      f"objective {objective:.4f}, {seconds:.1f} s")
            if not improved:
                break
        if self.n_iter > 0:
            pairs, _ = self._induce(model, Xv, Yv, 0.0, rng)
            model = self._refit(X, Y, pairs)
        self.estimator_, self.dictionary_, self.n_iter_ = model, pairs, len(self.history_)
        return self

    def predict(self, X):
        """``estimator_.predict``."""
        check_is_fitted(self)
        pred = self.estimator_.predict(check_predict_data(self, X))
        return pred.ravel() if self._y_was_1d else pred

    def _check_params(self):
        est = self.estimator
        if est is not None and not (hasattr(est, "fit") and hasattr(est, "predict")):
            raise TypeError(f"estimator must have fit and predict (a map), got {est!r}")
        check_int(self.n_iter, "n_iter", minimum=0)
        check_real(self.tol, "tol")
        check_real(self.dropout, "dropout", low=0.0, high=1.0, high_open=True)
        check_choice(self.direction, "direction", ("union", "forward"))
        check_int(self.csls_k, "csls_k", minimum=1)
        if self.vocabulary_size is not None:
            check_int(self.vocabulary_size, "vocabulary_size", minimum=2)
        check_int(self.seed, "seed", minimum=0)
        check_bool(self.verbose, "verbose")

    def _refit(self, X, Y, pairs):
        base = OrthogonalProcrustes() if self.estimator is None else self.estimator
        return clone(base).fit(X[pairs[:, 0]], Y[pairs[:, 1]])

    def _induce(self, model, Xv, Yv, dropout, rng):
        if hasattr(model, "transform_target"):
            src, trg = model.transform_source(Xv), model.transform_target(Yv)
        else:
            src, trg = model.predict(Xv), Yv
        both = self.direction == "union"
        fwd, bwd, objective = _best_csls(src, trg, self.csls_k, dropout, rng, both)
        pairs = np.column_stack([np.arange(len(src)), fwd])
        if both:
            pairs = np.unique(np.vstack([pairs, np.column_stack([bwd, np.arange(len(trg))])]),
                              axis=0)
        return pairs, objective


def _check_pairs(seed_pairs, n_x, n_y):
    pairs = np.asarray(seed_pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) < 2:
        raise ValueError(f"seed_pairs must be an int array of shape (m >= 2, 2), got {pairs.shape}")
    if not np.issubdtype(pairs.dtype, np.integer):
        # Float indices would be truncated by astype: refuse rather than guess.
        raise TypeError(f"seed_pairs must hold integer row indices, got dtype {pairs.dtype}")
    if pairs.min() < 0 or pairs[:, 0].max() >= n_x or pairs[:, 1].max() >= n_y:
        raise ValueError(f"seed_pairs must index rows of X (< {n_x}) and Y (< {n_y})")
    return pairs.astype(np.int64)


def _best_csls(src, trg, csls_k, dropout, rng, backward, chunk_size=None):
    """``(fwd, bwd, objective)``: best CSLS target of each source (and source of each target).

    CSLS is symmetric, so one pass serves both directions (a running column maximum
    backward). The objective is measured before dropout; a dropped entry is hidden from
    both directions (VecMap draws the two masks independently).
    """
    P = safe_unit_rows(as_matrix(src, "src", min_rows=0))
    T = safe_unit_rows(as_matrix(trg, "trg", min_rows=0))
    r_T, r_S = _search.csls_terms(P, T, P, csls_k, chunk_size)
    fwd = np.empty(len(P), dtype=np.int64)
    bwd = np.zeros(len(T), dtype=np.int64)
    bwd_score = np.full(len(T), -np.inf, dtype=np.float32)
    bwd_clean = np.full(len(T), -np.inf, dtype=np.float32)
    fwd_clean = 0.0
    for start, S in _search.blocks(P, T, chunk_size):
        S = _search.csls_block(S, r_T[start : start + len(S)], r_S)
        fwd_clean += float(S.max(axis=1).sum())
        if backward:
            np.maximum(bwd_clean, S.max(axis=0), out=bwd_clean)
        if dropout > 0:
            S[rng.random(S.shape, dtype=np.float32) < dropout] = -np.inf
        fwd[start : start + len(S)] = S.argmax(axis=1)
        if backward:
            rows = S.argmax(axis=0)
            col_best = S[rows, np.arange(S.shape[1])]
            better = col_best > bwd_score
            bwd[better], bwd_score[better] = start + rows[better], col_best[better]
    objective = fwd_clean / len(P)
    if not backward:
        return fwd, None, objective
    return fwd, bwd, (objective + float(bwd_clean.mean())) / 2


_DEPRECATED = {"Ridge": RidgeMap, "RidgeCV": RidgeHoldoutMap}


def __getattr__(name):
    # Old names: they read as scikit-learn's Ridge/RidgeCV, whose RidgeCV selects alpha differently.
    if name in _DEPRECATED:
        new = _DEPRECATED[name]
        warnings.warn(f"embmap.linear.{name} is deprecated: use {new.__name__}",
                      DeprecationWarning, stacklevel=2)
        return new
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
