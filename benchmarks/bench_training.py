"""Training speed of notebooks 04-06: each fast path next to the reference it replaces.

Each row fits the notebook's own model on the full bundled pair (same split, seed and
settings) for a few epochs, once with the reference implementation (kept in the package,
the one the tests compare against) and once with the fast path, and prints seconds per
epoch of each and the largest difference of the per-epoch validation score between them:

(a) Sinkhorn OT + cosine loss (notebook 05): log-domain iterations with autograd vs the
    scaling form with a hand-written unrolled backward (same iterations, float64).
(b) vMF loss (notebooks 04 and 05): the general ``log_bessel_iv`` vs the ``ive``
    shortcut in its common regime (the same values).
(c) AttentionMap (notebook 06): dense masked attention with autograd over the
    (batch, n_train) similarities vs selecting the k keys without autograd (the same
    values and gradients up to rounding).

Usage::

    python benchmarks/bench_training.py
    python benchmarks/bench_training.py --rows a b --epochs 2

Timings on a shared machine are noisy: the script prints the load average; compare
the two columns of one run, not runs taken at different times.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np
import torch

from embmap import load_dataset, losses, neural
from embmap.experiments import normalised_spaces


def _log_domain_plan(cost, epsilon, n_iter):
    return losses._sinkhorn_log_plan(cost, epsilon, n_iter).exp()


def _dense_attention(fq, fk, Yk, k, temperature, query_rows):
    exclude = torch.zeros((len(fq), len(fk)), dtype=torch.bool)
    exclude[torch.arange(len(fq)), query_rows] = True
    return neural._attend(fq, fk, Yk, k, temperature, exclude)


def _fit_mlp(loss, X, Y, pair, epochs):
    model = neural.MLPMap(hidden=(512,), activation="relu", loss=loss, max_epochs=epochs, patience=epochs + 1,
                   device="cpu")
    start = time.perf_counter()
    model.fit(X[pair.train], Y[pair.train], X_val=X[pair.val], Y_val=Y[pair.val])
    return (time.perf_counter() - start) / epochs, np.asarray(model.history_["val_cosine"])


def _fit_attention(X, Y, pair, epochs):
    # notebook 06's settings at the k and T it selects on validation (k=20, T=0.07)
    model = neural.AttentionMap(n_neighbors=20, temperature=0.07, lr=1e-2, batch_size=1024,
                               max_epochs=epochs, patience=epochs + 1, seed=0)
    start = time.perf_counter()
    model.fit(X[pair.train], Y[pair.train], X_val=X[pair.val], Y_val=Y[pair.val])
    return (time.perf_counter() - start) / (epochs + 1), np.asarray(model.history_["val_p@10"])


def _swap(module, name, value):
    old = getattr(module, name)
    setattr(module, name, value)
    return old


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    pair = load_dataset(None, seed=0)
    X, Y = normalised_spaces(pair)
    print(f"load average before: {os.getloadavg()[0]:.2f}; torch threads {torch.get_num_threads()}")
    sinkhorn = functools.partial(losses.sinkhorn_loss, n_iter=20, paired_weight=1.0)
    rows = {
        "a": ("Sinkhorn OT + cosine (05)", losses, "_sinkhorn_transport_plan", _log_domain_plan,
              lambda: _fit_mlp(sinkhorn, X, Y, pair, args.epochs), "s/epoch", "val cosine"),
        "b": ("vMF (05, 04 E')", losses, "_log_iv_common", lambda v, x: None,
              lambda: _fit_mlp("vmf", X, Y, pair, args.epochs), "s/epoch", "val cosine"),
        "c": ("AttentionMap (06)", neural, "_attend_leave_one_out", _dense_attention,
              lambda: _fit_attention(X, Y, pair, args.epochs), "s/epoch (incl. validation)",
              "val P@10"),
    }
    for key in args.rows:
        label, module, name, before, fit, unit, score = rows[key]
        after = getattr(module, name)
        old = _swap(module, name, before)
        try:
            t_before, s_before = fit()
        finally:
            _swap(module, name, old)
        t_after, s_after = fit()
        assert getattr(module, name) is after
        print(f"({key}) {label}: before {t_before:.2f} {unit}, after {t_after:.2f} "
              f"({t_before / t_after:.1f}x); max |{score} difference| over {args.epochs} epochs "
              f"{np.max(np.abs(s_before - s_after)):.2e}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
