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
from sklearn.utils.validation import check_is_fitted

from embmap._checks import as_indices, as_matrix, safe_unit_rows

_STEPS = ("unit", "center")


def _check_steps(steps) -> tuple:
    """``steps`` as a tuple of known step names; a single string is one step."""
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
    """Apply a sequence of ``"unit"`` and ``"center"`` steps.

    Shown in notebook 03, section 1 (written out and checked against this class).

    Parameters
    ----------
    steps : tuple of str or str, default ("unit", "center", "unit")
        Applied in order. ``"unit"`` scales rows to unit L2 norm (without
        overflow, whatever their magnitude); ``"center"`` subtracts the
        column means of the (already transformed) training rows. A single
        string is one step (``"unit"`` means ``("unit",)``).

    Attributes
    ----------
    means_ : list of ndarray
        One mean vector per ``"center"`` step, learned in :meth:`fit`.
    n_features_in_ : int

    Raises
    ------
    ValueError
        In ``fit`` and ``transform``, when a ``"unit"`` step meets an
        all-zero row. A zero vector has no direction: scaling leaves it at
        zero, and a later ``"center"`` step would turn every such row into
        the same vector (minus the mean), which then looks like a perfect
        match for every other zero row. That is a silently wrong result, so
        it is an error naming the row: drop such words (or give them a
        vector) before normalising. Non-finite values are errors too.
    """

    def __init__(self, steps=("unit", "center", "unit")):
        self.steps = steps

    def fit(self, X, y=None):
        steps = _check_steps(self.steps)
        X = as_matrix(X, "X", dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.means_ = []
        for i, step in enumerate(steps):
            if step == "unit":
                X = _unit(X, i)
            else:
                mean = X.mean(axis=0)
                self.means_.append(mean)
                X = X - mean
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
    # A zero vector has no direction to normalise: drop the word or give it a vector.
    name = "X" if position == 0 else f"X after step {position} (centering)"
    return safe_unit_rows(X, np.float64, zero_rows="raise", name=name)


def normalise(X, steps=("unit", "center", "unit"), fit_rows=None) -> np.ndarray:
    """Functional shortcut: fit on ``X[fit_rows]`` (default all rows), transform all of ``X``."""
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
