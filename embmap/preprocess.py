"""Normalisation as a scikit-learn transformer, fitted on training rows only.

VecMap's recipe (Artetxe et al. 2018) is ``unit, center, unit``: scale every
row to length 1, subtract the mean row, scale to length 1 again. Centering
removes the common direction that every vector shares (embeddings are
anisotropic: random pairs have a positive mean cosine), which otherwise
dominates cosines and least-squares fits. The mean must come from the
training rows, or the test words leak into the model.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

_STEPS = {"unit", "center"}


class Normalizer(TransformerMixin, BaseEstimator):
    """Apply a sequence of ``"unit"`` and ``"center"`` steps.

    Parameters
    ----------
    steps : tuple of str, default ("unit", "center", "unit")
        Applied in order. ``"unit"`` scales rows to unit L2 norm;
        ``"center"`` subtracts the column means of the (already transformed)
        training rows.

    Attributes
    ----------
    means_ : list of ndarray
        One mean vector per ``"center"`` step, learned in :meth:`fit`.
    n_features_in_ : int
    """

    def __init__(self, steps=("unit", "center", "unit")):
        self.steps = steps

    def fit(self, X, y=None):
        unknown = set(self.steps) - _STEPS
        if unknown:
            raise ValueError(f"unknown normalisation steps {sorted(unknown)}; use {sorted(_STEPS)}")
        X = check_array(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.means_ = []
        for step in self.steps:
            if step == "unit":
                X = _unit(X)
            else:
                mean = X.mean(axis=0)
                self.means_.append(mean)
                X = X - mean
        return self

    def transform(self, X):
        check_is_fitted(self, "means_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, expected {self.n_features_in_}")
        means = iter(self.means_)
        for step in self.steps:
            X = _unit(X) if step == "unit" else X - next(means)
        return X.astype(np.float32)


def _unit(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def normalize(X, steps=("unit", "center", "unit"), fit_rows=None) -> np.ndarray:
    """Functional shortcut: fit on ``X[fit_rows]`` (default all rows), transform all of ``X``."""
    X = np.asarray(X)
    rows = slice(None) if fit_rows is None else fit_rows
    return Normalizer(steps).fit(X[rows]).transform(X)
