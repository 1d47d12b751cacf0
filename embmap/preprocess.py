"""Normalisation as a scikit-learn transformer, fitted on training rows only.

VecMap's recipe (Artetxe et al. 2018) is unit, center, unit: rows to length
1, subtract the mean row, rows to length 1 again. Centering removes the
direction every vector shares (embeddings are anisotropic), which otherwise
dominates cosines. The mean must come from the training rows only.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from embmap._validation import as_indices, as_matrix, safe_unit_rows

__all__ = ["Normaliser", "normalise"]

_STEPS = ("unit", "center")
_UCU = ("unit", "center", "unit")


def _check_steps(steps) -> tuple:
    if isinstance(steps, str):
        steps = (steps,)  # "unit" is one step, not the letters u, n, i, t
    try:
        steps = tuple(steps)
    except TypeError:
        raise TypeError(f"steps must be a sequence of step names, got {steps!r}") from None
    unknown = [s for s in steps if s not in _STEPS]
    if unknown:
        raise ValueError(f"steps holds unknown normalisation steps {unknown}; use {list(_STEPS)}")
    return steps


class Normaliser(TransformerMixin, BaseEstimator):
    """Apply ``"unit"`` (rows to unit L2 norm) and ``"center"`` (subtract the training mean) steps in order.

    Shown in notebook 03, section 1 (written out and checked against this class).

    An all-zero row (no direction) or a non-finite value raises a
    ``ValueError`` naming the row: centring would turn every zero row into
    the same vector, a silently perfect match. ``transform`` returns float32.

    Attributes
    ----------
    means_ : list of ndarray
        One mean per ``"center"`` step.
    mean_ : ndarray
        The mean of the single ``"center"`` step (what a stored model keeps).
    """

    def __init__(self, steps=_UCU):
        self.steps = steps

    @classmethod
    def from_mean(cls, mean, steps=_UCU) -> Normaliser:
        """A fitted normaliser with one ``"center"`` step whose mean is ``mean`` (a 1-D vector)."""
        if _check_steps(steps).count("center") != 1:
            raise ValueError(f"steps must hold exactly one 'center' step, got {steps!r}")
        mean = np.array(mean, dtype=np.float64)  # a copy: the stored array stays independent
        if mean.ndim != 1 or not np.isfinite(mean).all():
            raise ValueError(f"mean must be a finite 1-D vector, got shape {mean.shape}")
        normaliser = cls(steps)
        normaliser.means_, normaliser.n_features_in_ = [mean], len(mean)
        return normaliser

    @property
    def mean_(self) -> np.ndarray:
        check_is_fitted(self, "means_")
        if len(self.means_) != 1:
            raise AttributeError(f"mean_ needs exactly one 'center' step, got {len(self.means_)}")
        return self.means_[0]

    def fit(self, X, y=None):
        steps = _check_steps(self.steps)
        X = as_matrix(X, "X", dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.means_ = []
        for i, step in enumerate(steps):
            if step == "unit":
                X = _unit(X, i)
            else:
                self.means_.append(X.mean(axis=0))
                X = X - self.means_[-1]
        return self

    def transform(self, X):
        check_is_fitted(self, "means_")
        steps = _check_steps(self.steps)
        X = as_matrix(X, "X", dtype=np.float64, min_rows=0, n_cols=self.n_features_in_)
        means = iter(self.means_)
        for i, step in enumerate(steps):
            X = _unit(X, i) if step == "unit" else X - next(means)
        return X.astype(np.float32)


def _unit(X, position):
    name = "X" if position == 0 else f"X after step {position} (centering)"
    return safe_unit_rows(X, np.float64, zero_rows="raise", name=name)


def normalise(X, steps=_UCU, fit_rows=None) -> np.ndarray:
    """Fit a :class:`Normaliser` on ``X[fit_rows]`` (indices or a boolean mask; default all rows), transform all of ``X``."""
    X = as_matrix(X, "X", dtype=np.float64)
    if fit_rows is None:
        rows = slice(None)
    elif np.asarray(fit_rows).dtype == bool:
        mask = np.asarray(fit_rows)
        if mask.shape != (len(X),):
            raise ValueError(f"fit_rows as a boolean mask must have shape ({len(X)},), got {mask.shape}")
        rows = as_indices(np.flatnonzero(mask), "fit_rows", len(X), min_len=1)
    else:
        rows = as_indices(fit_rows, "fit_rows", len(X), min_len=1)
    return Normaliser(steps).fit(X[rows]).transform(X)
