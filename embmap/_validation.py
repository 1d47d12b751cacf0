"""Argument checks shared by every public function: one style, one place.

Each check raises a ``TypeError`` or ``ValueError`` that names the argument.
Function arguments go through :func:`as_matrix`, :func:`as_indices` and the
scalar checks; an estimator's data through :func:`check_fit_data` and
:func:`check_predict_data`, which wrap scikit-learn's validation (its
estimator checks expect its messages) and name the argument where it would not.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "as_indices", "as_matrix", "check_bool", "check_choice", "check_fit_data", "check_int",
    "check_predict_data", "check_real", "check_same_cols", "check_same_rows",
    "holdout_rows", "safe_unit_rows",
]


def as_matrix(X, name: str, *, dtype=np.float32, min_rows: int = 1, min_cols: int = 1,
              n_cols: int | None = None, finite: bool = True) -> np.ndarray:
    """``X`` as a 2-D float array, finite after the cast (float32 overflow is refused)."""
    if X is None:
        raise TypeError(f"{name} is required, got None")
    try:
        raw = np.asarray(X)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular 2-D array: {err}") from None
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {raw.dtype}")
    if np.iscomplexobj(raw):
        raise TypeError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    if raw.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one row per word), got shape {raw.shape}")
    if raw.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got {raw.shape[0]}")
    if raw.shape[1] < min_cols:
        raise ValueError(f"{name} must have at least {min_cols} column(s), got {raw.shape[1]}")
    if n_cols is not None and raw.shape[1] != n_cols:
        raise ValueError(f"{name} must have {n_cols} columns, got {raw.shape[1]}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = raw.astype(dtype, copy=False)
    if finite and not np.all(np.isfinite(out)):
        bad = np.argwhere(~np.isfinite(out))[0]
        raise ValueError(
            f"{name} contains a non-finite value (NaN, inf, or beyond the {np.dtype(dtype).name} "
            f"range) at row {bad[0]}, column {bad[1]}"
        )
    return out


def as_indices(idx, name: str, n: int, *, min_len: int = 0) -> np.ndarray:
    """A 1-D int64 index array with every entry in ``[0, n)``."""
    if idx is None:
        raise TypeError(f"{name} is required, got None")
    arr = np.asarray(idx)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of row indices, got shape {arr.shape}")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer row indices, got dtype {arr.dtype}")
    if len(arr) < min_len:
        raise ValueError(f"{name} must hold at least {min_len} index(es), got {len(arr)}")
    if len(arr) and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{name} must lie in [0, {n}), got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64, copy=False)


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not a bool, not a float) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_real(value, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in the interval given (open or closed at each end)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def check_choice(value, name: str, choices) -> str:
    """One of ``choices`` (compared with ``==``)."""
    if value not in tuple(choices):
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_bool(value, name: str) -> bool:
    """A real boolean: ``"no"`` or ``0.5`` would otherwise count as ``True`` silently."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_same_rows(A, B, name_a: str, name_b: str) -> None:
    """Row i of ``A`` pairs with row i of ``B``."""
    if len(A) != len(B):
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of rows (row i of each is the "
            f"same word), got {len(A)} and {len(B)}"
        )


def check_same_cols(A: np.ndarray, B: np.ndarray, name_a: str, name_b: str) -> None:
    """Both live in one space (same dimension)."""
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"{name_a} has {A.shape[1]} columns but {name_b} has {B.shape[1]}: they must live "
            "in the same space (map the sources into the target space first)"
        )


def _check_numeric(A, name: str) -> None:
    """Name the argument when an estimator gets strings or objects (scikit-learn would not)."""
    if A is None or scipy.sparse.issparse(A):
        return
    try:
        arr = np.asarray(A)
    except (TypeError, ValueError):
        return  # ragged: scikit-learn's validation says why
    if arr.dtype.kind in "OUS":
        try:
            arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must hold numbers ({err})") from None


def _n_rows(A):
    try:
        shape = A.shape if hasattr(A, "shape") else np.shape(A)
        return shape[0] if len(shape) else None
    except (TypeError, ValueError):
        return None  # ragged: scikit-learn's validation says why


def check_fit_data(estimator, X, Y=None, *, paired=True):
    """``validate_data`` for ``fit(X, Y)``: float64, at least 2 rows, ``Y`` 1-D or 2-D.

    ``paired=False`` checks ``X`` and ``Y`` separately (they need not share
    rows). Returns ``(X, Y)`` with ``Y`` as given (1-D or 2-D).
    """
    _check_numeric(X, "X")
    _check_numeric(Y, "Y")
    if not paired:
        X = validate_data(estimator, X, ensure_min_samples=2, dtype=np.float64)
        Y = check_array(Y, ensure_2d=False, ensure_min_samples=2, dtype=np.float64,
                        input_name="Y")
        return X, Y
    if Y is not None:  # without Y, scikit-learn raises its standard "requires y"
        n_x, n_y = _n_rows(X), _n_rows(Y)
        if n_x is not None and n_y is not None and n_x != n_y:
            check_same_rows(range(n_x), range(n_y), "X", "Y")
    X, Y = validate_data(estimator, X, Y, multi_output=True, y_numeric=True,
                         ensure_min_samples=2, dtype=np.float64)
    return X, np.asarray(Y, dtype=np.float64)


def check_predict_data(estimator, X, *, name="X", n_cols=None):
    """``X`` for ``predict`` (float32 stays float32, else float64); another ``name`` needs ``n_cols``."""
    _check_numeric(X, name)
    if name == "X":
        return validate_data(estimator, X, reset=False, dtype=(np.float64, np.float32))
    X = check_array(X, dtype=(np.float64, np.float32), input_name=name)
    if X.shape[1] != n_cols:
        raise ValueError(f"{name} has {X.shape[1]} columns, expected {n_cols}")
    return X


def safe_unit_rows(M: np.ndarray, dtype=np.float32, *, zero_rows: str = "keep",
                   name: str = "M") -> np.ndarray:
    """Rows scaled to unit L2 norm without overflow: embmap's one row normalisation.

    Each row is divided by its largest absolute value first, so the squared
    sum stays in range. ``zero_rows="keep"`` leaves an all-zero row at zero
    (cosine 0 to everything: right for scoring); ``"raise"`` refuses it,
    naming the row of ``name`` (right where its neighbours would be used).
    """
    check_choice(zero_rows, "zero_rows", ("keep", "raise"))
    M = np.asarray(M)
    if zero_rows == "raise" and M.size:
        zero = np.flatnonzero(~np.any(M != 0, axis=1))
        if zero.size:
            raise ValueError(f"row {zero[0]} of {name} is all zeros (zero norm): it has no "
                             "direction, so its cosines are undefined")
    work = M.astype(np.float64 if M.dtype == np.float64 else np.float32, copy=True)
    scale = np.max(np.abs(work), axis=1, keepdims=True)
    np.divide(work, scale, out=work, where=scale > 0)
    norms = np.sqrt(np.einsum("ij,ij->i", work, work))[:, None]
    np.divide(work, norms, out=work, where=norms > 0)
    return work.astype(dtype, copy=False)


def holdout_rows(n: int, n_held: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """embmap's one seeded hold-out: ``(kept, held)`` row indices, in permutation order."""
    n = check_int(n, "n", minimum=0)
    n_held = check_int(n_held, "n_held", minimum=0, maximum=n)
    order = np.random.default_rng(seed).permutation(n)
    return order[n_held:], order[:n_held]
