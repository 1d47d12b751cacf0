"""``embmap report``: run the tutorial notebooks on a reader's pair and summarise them.

Which notebooks run is decided by the notebooks themselves: every
``notebooks/NN_*.ipynb`` whose ``parameters`` cell defines ``source_path``
(01-06; notebook 07 compares the two *bundled* source spaces and is left out,
:data:`BUNDLED_ONLY`). Each runs through papermill with the pair's paths
injected; the executed notebook and its HTML go to the output folder, with a
one-page summary (``summary.md`` and ``summary.html``): the pairing coverage,
the table of maps (:func:`table_of_maps`: the best linear map, tuned softmax
kNN and kNN with two-direction retrieval, all settings chosen on validation
words, P@1 and P@10 with a bootstrap interval on the test words, all targets
as candidates), the recommended map with its expected P@10, which notebooks
ran and how long they took, and every ``Observation:`` line they printed
(numbers the notebooks computed, nothing typed in).
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
_DEFINES_SOURCE = re.compile(r"^\s*source_path\s*=", re.MULTILINE)
# Notebooks that answer a question about the bundled data only (07 compares the bundled
# GloVe and skipgram sources); with a reader's pair they print one line and skip.
BUNDLED_ONLY = ("07_a_real_skipgram_source.ipynb",)
QUICK_WORDS = 3000  # quick mode: the table of maps on the first 3,000 pairs (as notebook 06)


def notebooks_accepting_a_pair(folder=NOTEBOOK_DIR) -> list:
    """Notebooks whose ``parameters`` cell defines ``source_path``, in order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no notebooks folder (run from a clone of the "
                                "repository, or pass --notebooks DIR)")
    chosen = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        if (params and _DEFINES_SOURCE.search("".join(params[0]["source"]))
                and path.name not in BUNDLED_ONLY):
            chosen.append(path)
    return chosen


def _observations(executed: Path) -> list:
    lines = []
    for cell in json.loads(executed.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            lines += [ln.strip() for ln in text.splitlines() if ln.strip().startswith("Observation")]
    return lines


def table_of_maps(pair, n_boot=1000, seed=0) -> tuple:
    """The maps of notebooks 03 and 06 on ``pair``, chosen and scored as there.

    In the unit-center-unit spaces (means of the training words): least squares and
    Procrustes (the better on validation is "best linear"), softmax kNN regression (k and
    T chosen on validation, :func:`embmap.local.knn_validation_grid`) and that kNN with
    two-direction retrieval (reverse k, T and beta chosen on validation). Every method
    retrieves the validation and test words among *all* targets of the pair by CSLS
    (training words mapped leave-one-out as CSLS sources); a word with several gold
    targets (``pair.gold_sets``) is a hit when any of them is retrieved.

    Returns
    -------
    rows : list of dict
        ``method``, ``settings``, ``val_p10``, ``p1``, ``p10``, ``p10_lo``, ``p10_hi``
        (test words, 95% bootstrap interval over them), ``n_test``, ``candidates``.
    recommended : dict
        The row with the best validation P@10 (ties: the simpler, earlier method).
    """
    import numpy as np

    from embmap.evaluation import bootstrap_ci, retrieve
    from embmap.experiments import normalised_spaces
    from embmap.linear import LeastSquares, OrthogonalProcrustes
    from embmap.local import (
        SoftmaxKNNMap,
        TwoDirectionRetrieval,
        knn_validation_grid,
        mapped_sources,
    )
    from embmap.model_file import BEST_GRID

    X, Y = normalised_spaces(pair)
    train, val, test = pair.train, pair.val, pair.test
    if len(val) == 0:
        raise ValueError("the pair has no validation words: settings cannot be chosen")
    rows_all, n_val = np.r_[val, test], len(val)
    gold_all = pair.gold(rows_all)  # several golds per word when the dictionary gives them
    runs = {}

    def add(name, settings, ranks, cli):
        runs[name] = {"settings": settings, "val": ranks[:n_val], "test": ranks[n_val:],
                      "cli": cli}

    linear = {}
    for name, est in (("least squares", LeastSquares()), ("Procrustes", OrthogonalProcrustes())):
        pred = est.fit(X[train], Y[train]).predict(X)
        linear[name] = retrieve(pred[rows_all], Y, gold_all, "csls", sources=pred)[0]
    best_linear = max(linear, key=lambda n: np.mean(linear[n][:n_val] <= 10))
    add(f"{best_linear} (best linear)", "least squares or Procrustes", linear[best_linear],
        "lstsq" if best_linear == "least squares" else "procrustes")
    ks = [k for k in BEST_GRID["n_neighbors"] if k < len(train)]
    grid = knn_validation_grid(X, Y, train, val, ks, BEST_GRID["temperature"], weights=("softmax",),
                               gold=pair.gold(val))
    best = grid.loc[grid["p@10"].idxmax()]
    k, T = int(best["k"]), float(best["T"])
    knn = SoftmaxKNNMap(n_neighbors=k, weights="softmax", temperature=T).fit(X[train], Y[train])
    src = mapped_sources(knn, X, train)
    # `embmap fit --method best` makes the same choices (beta = 0 is plain tuned kNN)
    add("softmax kNN", f"k={k}, T={T}", retrieve(src[rows_all], Y, gold_all, "csls",
                                                 sources=src)[0], "best")
    chosen = None
    for rk, rT in BEST_GRID["reverse"]:
        scheme = TwoDirectionRetrieval(n_neighbors=min(rk, len(train) - 1), temperature=rT)
        ranks, _ = scheme.fit(X, Y, train).retrieve(X[rows_all], src[rows_all], gold_all,
                                                     forward_sources=src, betas=BEST_GRID["beta"])
        for b, r in ranks.items():
            score = np.mean(r[:n_val] <= 10)
            if chosen is None or score > chosen[0]:
                chosen = (score, (f"k={k}, T={T}; reverse k={scheme.n_neighbors}, T={rT}, "
                                 f"beta={b}"), r)
    add("softmax kNN + two-direction retrieval", chosen[1], chosen[2], "best")
    rows = []
    for name, run in runs.items():
        _, lo, hi = bootstrap_ci(run["test"], "p@10", n_boot=n_boot, seed=seed)
        rows.append({"method": name, "settings": run["settings"],
                     "val_p10": float(np.mean(run["val"] <= 10)),
                     "p1": float(np.mean(run["test"] <= 1)),
                     "p10": float(np.mean(run["test"] <= 10)),
                     "p10_lo": float(lo), "p10_hi": float(hi), "n_test": len(test),
                     "n_val": len(val), "cli_method": run["cli"],
                     "candidates": len(Y)})
    recommended = max(rows, key=lambda r: r["val_p10"])  # max keeps the first of equal rows
    return rows, recommended


def run_report(source_path, target_path, dictionary_path=None, graph_path=None, out="report",
               quick=False, seed=0, notebooks=None, progress=True) -> dict:
    """Run the pair-aware notebooks on the pair; write executed copies, HTML and the summary.

    Returns
    -------
    dict
        ``coverage``, ``notebooks`` (name, seconds, status, observations) and
        ``summary`` (path of ``summary.md``).
    """
    import papermill

    from embmap.datasets import load_pair
    from embmap.tools.run_notebooks import KERNEL, clean_metadata, to_html

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: (str(Path(v).resolve()) if v is not None else None) for k, v in (
        ("source_path", source_path), ("target_path", target_path),
        ("dictionary_path", dictionary_path), ("graph_path", graph_path))}
    pair = load_pair(**paths, seed=seed)  # fail fast, with the reader's message, before papermill
    table_pair = pair.head(min(QUICK_WORDS, len(pair))) if quick else pair
    maps, recommended = table_of_maps(table_pair, n_boot=200 if quick else 1000, seed=seed)
    chosen = notebooks_accepting_a_pair(notebooks or NOTEBOOK_DIR)
    if not chosen:
        raise FileNotFoundError("no notebook's parameters cell defines source_path")
    iterator = chosen
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(chosen, desc="notebooks", unit="notebook")
    results = []
    for notebook in iterator:
        executed = out / notebook.name
        start = time.perf_counter()
        status = "ok"
        try:
            papermill.execute_notebook(
                str(notebook), str(executed), parameters={"quick": quick, "seed": seed, **paths},
                kernel_name=KERNEL, cwd=str(notebook.parent), progress_bar=False)
        except (papermill.PapermillExecutionError, RuntimeError, OSError, ValueError) as error:
            # keep going: the summary says which notebook failed and why
            status = f"failed: {' '.join(str(error).split())[:300]}"
        if executed.exists():
            import nbformat

            nb = nbformat.read(executed, as_version=4)
            clean_metadata(nb)
            nbformat.write(nb, executed)
            to_html(executed)
        results.append({"notebook": notebook.name, "seconds": time.perf_counter() - start,
                        "status": status,
                        "observations": _observations(executed) if executed.exists() else []})
    summary = _write_summary(out, paths, pair, results, quick, seed, maps, recommended,
                             len(table_pair))
    return {"coverage": pair.coverage, "notebooks": results, "summary": str(summary),
            "maps": maps, "recommended": recommended}


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _write_summary(out: Path, paths: dict, pair, results: list, quick: bool, seed: int,
                   maps: list, recommended: dict, n_table: int) -> Path:
    from embmap import __version__

    lines = ["# embmap report", "",
             f"embmap {__version__}; {'quick' if quick else 'full'} mode; seed {seed}.", "",
             "## The pair", ""]
    lines += [f"* {k.replace('_path', '')}: `{Path(v).name}`" for k, v in paths.items() if v]
    lines += [f"* {pair!r}", ""]
    lines += [f"* {k}: {v:.3f}" if isinstance(v, float) else f"* {k}: {v}"
              for k, v in pair.coverage.items()]
    r = recommended
    where = (f"the first {n_table} pairs (quick mode)" if n_table < len(pair) else "all pairs")
    lines += ["", "## The maps", "",
              (f"Fitted on the training words of {where}; settings chosen on "
              f"{r['n_val']} validation words; scored on "
              f"{r['n_test']} test words by CSLS retrieval among all {r['candidates']} targets "
              "(the candidate set). P@10 interval: 95% bootstrap over the test words."), "",
              ("| method | settings (chosen on validation) | validation P@10 | test P@1 | "
              "test P@10 [95% interval] | candidates |"), "|---|---|---|---|---|---|"]
    lines += [f"| {m['method']} | {m['settings']} | {_pct(m['val_p10'])} | {_pct(m['p1'])} | "
              f"{_pct(m['p10'])} [{_pct(m['p10_lo'])}, {_pct(m['p10_hi'])}] | "
              f"all {m['candidates']} targets |" for m in maps]
    lines += ["", (f"**Recommended map: {r['method']}** ({r['settings']}), the best validation "
              f"P@10. Expected P@10 on new words of this pair: {_pct(r['p10'])} "
              f"(95% interval {_pct(r['p10_lo'])} - {_pct(r['p10_hi'])}, {r['n_test']} test "
              f"words, {r['candidates']} candidates); P@1 {_pct(r['p1'])}. Fit it on all pairs "
              "with "
              f"`embmap fit SRC TRG --method {r['cli_method']}`.")]
    lines += ["", "## Notebooks", "", "| notebook | status | seconds |", "|---|---|---|"]
    lines += [f"| [{r['notebook']}]({Path(r['notebook']).with_suffix('.html').name}) | "
              f"{r['status']} | {r['seconds']:.0f} |" for r in results]
    for r in results:
        lines += ["", f"### {r['notebook']}", ""]
        lines += [f"* {o}" for o in r["observations"]] or ["(no observation lines)"]
    lines += ["", (f"Not run: {', '.join(BUNDLED_ONLY)} (it compares the bundled GloVe and "
                   "skipgram sources; a reader's pair has no second source)."), ""]
    md = out / "summary.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    try:
        import mistune

        body = mistune.html("\n".join(lines))
    except ImportError:  # pragma: no cover - mistune comes with nbconvert
        body = f"<pre>{html.escape(chr(10).join(lines))}</pre>"
    (out / "summary.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>embmap report</title>{body}",
        encoding="utf-8")
    return md
