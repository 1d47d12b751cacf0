"""Percentile bootstrap over query words: embmap's one resampler, so one seed gives one resample.

Every interval in embmap (:mod:`embmap.evaluation`, :mod:`embmap.analysis`,
:func:`embmap.diagnostics.mean_with_ci`) draws its replicates here.
"""

from __future__ import annotations

import numpy as np

from embmap._validation import check_int, check_real

__all__ = ["bootstrap_indices", "check_bootstrap", "mean_interval", "percentile_interval"]

# Not scipy.stats.bootstrap: it draws the same unstratified replicates, but has no
# strata (groups), cannot drop a ratio's undefined replicates and refuses a single
# query; the notebooks' intervals depend on these fixed-seed stratified/paired draws.


def check_bootstrap(n_boot, level) -> int:
    """``n_boot`` checked (an int >= 1), and ``level`` (in (0, 1))."""
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    return n_boot


def bootstrap_indices(n: int, n_boot: int, seed=0, groups=None) -> np.ndarray:
    """Row indices ``(n_boot, n)`` of bootstrap resamples of ``n`` items.

    With ``groups`` (one label per item) every resample draws within each
    group, so group sizes are kept (e.g. the test words of several splits
    pooled; the columns come out grouped). ``seed`` may be a
    ``numpy.random.Generator``, which is drawn from (and advanced) in place.
    """
    n = check_int(n, "n", minimum=1)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.integers(0, n, size=(n_boot, n))
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have one entry per query ({n}), got {groups.shape}")
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    return np.hstack([m[rng.integers(0, len(m), size=(n_boot, len(m)))] for m in members])


def percentile_interval(replicates, level: float) -> tuple[float, float]:
    """The central ``level`` share of bootstrap replicates: ``(low, high)``."""
    alpha = (1 - level) / 2
    return float(np.quantile(replicates, alpha)), float(np.quantile(replicates, 1 - alpha))


def mean_interval(values, *, n_boot: int = 1000, level: float = 0.95, seed=0, groups=None):
    """Mean of a 1-D sample and its percentile bootstrap interval: ``(mean, low, high)``.

    ``values`` are per-query numbers (hits, reciprocal ranks, overlaps);
    ``groups`` and ``seed`` as in :func:`bootstrap_indices`.
    """
    values = np.asarray(values, dtype=float)
    n_boot = check_bootstrap(n_boot, level)
    means = values[bootstrap_indices(len(values), n_boot, seed, groups)].mean(axis=1)
    return (float(values.mean()), *percentile_interval(means, level))
