"""Argument checks shared by every public function: one style, one place.

Every public entry point of embmap either returns a correct result or raises
a ``ValueError`` / ``TypeError`` whose message names the argument and says
what is wrong with it. These helpers are how: call them at the top of a
public function, on the raw user input, before any numpy work that could
turn a bad value into a silently wrong number (a NaN that sorts first, an
empty array whose mean is NaN, a float ``k`` that numpy truncates).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np


def as_matrix(X, name: str, *, dtype=np.float32, min_rows: int = 1, min_cols: int = 1,
              n_cols: int | None = None, finite: bool = True) -> np.ndarray:
    """``X`` as a 2-D float array, or a ``TypeError``/``ValueError`` naming ``name``.

    The finiteness check runs *after* the cast, so values beyond the float32
    range (which become ``inf``) are refused too.
    """
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
    """A 1-D integer index array with every entry in ``[0, n)``."""
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


def check_same_rows(A: np.ndarray, B: np.ndarray, name_a: str, name_b: str) -> None:
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


def safe_unit_rows(M: np.ndarray, dtype=np.float32, *, zero_rows: str = "keep",
                   name: str = "M") -> np.ndarray:
    """Rows scaled to unit L2 norm without overflow: embmap's one row normalisation.

    Dividing each row by its largest absolute value first keeps the squared
    sum in range, so a float32 row of magnitude 1e20 still gets its direction
    (a plain ``np.linalg.norm`` would overflow to ``inf`` and return zeros).

    ``zero_rows`` says what an all-zero row (no direction) does: ``"keep"``
    leaves it at zero (cosine 0 to everything: right for scoring, where such
    a prediction must rank last), ``"raise"`` refuses it with a
    ``ValueError`` naming the row of ``name`` (right wherever the row's
    neighbours or direction would be used: they would be arbitrary ties).
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
    """A seeded random hold-out: ``(kept, held)`` row indices, in permutation order.

    embmap's one hold-out split: a validation set inside the training rows
    (``RidgeCV``, ``MLPMap``) and the test/validation/training split of a
    pair (:func:`embmap.datasets.split_indices`) all draw their rows here,
    so the same seed holds out the same rows everywhere.
    """
    n = check_int(n, "n", minimum=0)
    n_held = check_int(n_held, "n_held", minimum=0, maximum=n)
    order = np.random.default_rng(seed).permutation(n)
    return order[n_held:], order[:n_held]
