"""``embmap report``: run the tutorial notebooks on a reader's pair and summarise them.

The notebooks whose ``parameters`` cell defines ``source_path`` run through papermill with
the pair's paths injected; their executed copies and HTML go to the output folder with
``summary.md`` / ``summary.html`` (coverage, duplicate vectors, the table of maps, each
notebook's status and its ``Observation:`` lines in the reader's names).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

__all__ = ["BUNDLED_ONLY", "NOISED_CONTROL", "NOTEBOOK_DIR", "QUICK_EPOCHS", "QUICK_WORDS",
           "coverage_table", "describe_failure", "duplicates_section", "name_for_reader",
           "notebooks_accepting_a_pair", "other_bests", "quick_cuts", "quick_mode_line",
           "reader_names", "run_report", "table_of_maps"]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
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
    def accepts(path):
        params = [c for c in _cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
        return bool(params) and bool(_DEFINES_SOURCE.search("".join(params[0]["source"])))
    return [path for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
            if path.name not in BUNDLED_ONLY and accepts(path)]


def _cells(path) -> list:
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def _printed_lines(executed: Path) -> list:
    """Every line the notebook printed (stream outputs), stripped, in order."""
    return [ln.strip() for cell in _cells(executed) for output in cell.get("outputs", [])
            for ln in "".join(output.get("text", "")).splitlines() if ln.strip()]


# What a notebook prints when it stands in for something a reader's pair lacks (notebook 02's
# control (b), notebook 06 without a graph): quoted in the summary next to the observations.
_SUBSTITUTE = re.compile(r"^no (second target run|graph given|graph edges)")
NOISED_CONTROL = "control (b) is a noised copy"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def reader_names(paths: dict) -> dict:
    """Markdown names of the reader's files by role (None where not given)."""
    return {role: (f"`{Path(paths[f'{role}_path']).name}`" if paths.get(f"{role}_path") else None)
            for role in ("source", "target", "graph", "dictionary")}


def name_for_reader(line: str, names: dict, noised_control: bool) -> str:
    """A notebook's printed line with the bundled data's names replaced by the reader's files.

    ``noised_control``: notebook 02 said its control (b) is a noised copy of the target.
    """
    src, trg = names["source"], names["target"]
    control_b = f"a noised copy of {trg} (control (b))" if noised_control else f"two runs of {trg}"
    for old, new in (("two node2vec runs", control_b),
                     ("a second node2vec seed", f"a second run of {trg}"),
                     ("E1 source", src), ("E2 target", trg),
                     ("graph vectors", f"{trg} vectors"), ("graph space", f"{trg} space"),
                     ("WordNet", names["graph"] or "the graph"),
                     # a reader's pair has no word frequencies: the bands are of the row order
                     ("most frequent 25%", "first 25% of rows"),
                     ("rarest 25%", "last 25% of rows")):
        line = line.replace(old, new)
    line = re.sub(r"\bfrequency\b", "row order", line)
    line = re.sub(r"\b(E1|GloVe)\b", src, line)
    return re.sub(r"\b(E2|node2vec)\b", trg, line)


def describe_failure(error: BaseException, executed: Path | None = None) -> str:
    """One line naming where and how a notebook failed: cell, exception type, whole message.

    The cell counts from 0 in the notebook as stored (papermill's ``cell_index`` counts
    the injected-parameters cell too).
    """
    ename = getattr(error, "ename", None)
    if ename is None:
        message = " ".join(str(error).split())
        return f"failed: {type(error).__name__}" + (f": {message}" if message else "")
    index = error.cell_index
    if executed is not None and executed.exists():
        # the cells as papermill ran them: without the error banner and anchor it adds on failure
        tags = [t for c in _cells(executed) for t in [c.get("metadata", {}).get("tags", [])]
                if "papermill-error-cell-tag" not in t]
        injected = [i for i, t in enumerate(tags) if "injected-parameters" in t]
        if injected and injected[0] < index:
            index -= 1
    message = " ".join(_ANSI.sub("", str(error.evalue)).split())
    where = f"cell {index} (counting from 0" + (f"; In [{error.exec_count}] in the executed copy"
                                                if error.exec_count is not None else "") + ")"
    return f"failed in {where}: {ename}" + (f": {message}" if message else "")


def quick_cuts(notebooks) -> dict:
    """How many pairs each notebook keeps in quick mode (``pair.head(min(N, ...))``), by name."""
    found = {Path(path).name: next((m for c in _cells(path) if c["cell_type"] == "code"
                                    for m in [_HEAD.search("".join(c["source"]))] if m), None)
             for path in notebooks}
    return {name: int(m.group(1).replace("_", "")) for name, m in found.items() if m}


_HEAD = re.compile(r"if quick:\s*\n\s*pair = pair\.head\(min\(([\d_]+)")


def table_of_maps(pair, n_boot=1000, seed=0) -> tuple:
    """The maps of notebooks 03 and 06 on ``pair``, chosen and scored as there.

    The better of least squares and Procrustes, softmax kNN, and that kNN with two-direction
    retrieval, settings chosen on validation; scored by CSLS among all targets, a hit on any
    gold counting. Returns ``(rows, recommended)``: one dict per map and the row with the
    best validation P@10 (ties: the simpler, earlier method).
    """
    import numpy as np

    from embmap.app.model_file import BEST_GRID
    from embmap.evaluation import bootstrap_ci, rank_metrics, retrieve
    from embmap.experiments import normalised_spaces
    from embmap.linear import LeastSquares, OrthogonalProcrustes
    from embmap.local import select_two_direction

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
    # The recipe of notebook 06 and `embmap fit --method best` (beta = 0 is plain tuned kNN).
    sel = select_two_direction(X, Y, train, val, gold=gold_all, test=test,
                               n_neighbors=BEST_GRID["n_neighbors"],
                               temperatures=BEST_GRID["temperature"],
                               reverse=BEST_GRID["reverse"], betas=BEST_GRID["beta"])
    k, T, src = sel["knn_params"]["n_neighbors"], sel["knn_params"]["temperature"], sel["sources"]
    add("softmax kNN", f"k={k}, T={T}", retrieve(src[rows_all], Y, gold_all, "csls",
                                                 sources=src)[0], "best")
    scheme = sel["scheme"]
    add("softmax kNN + two-direction retrieval", f"k={k}, T={T}; reverse k={scheme.n_neighbors}, "
        f"T={scheme.temperature}, beta={sel['beta']}", sel["ranks"], "best")
    rows = []
    for name, run in runs.items():
        _, lo, hi = bootstrap_ci(run["test"], "p@10", n_boot=n_boot, seed=seed)
        scores = rank_metrics(run["test"])
        rows.append({"method": name, "settings": run["settings"],
                     "val_p10": rank_metrics(run["val"])["p@10"], "p1": scores["p@1"],
                     "p10": scores["p@10"], "p10_lo": float(lo), "p10_hi": float(hi),
                     "n_test": len(test), "n_val": len(val), "cli_method": run["cli"],
                     "candidates": len(Y)})
    recommended = max(rows, key=lambda r: r["val_p10"])  # max keeps the first of equal rows
    return rows, recommended


def run_report(source_path, target_path, dictionary_path=None, graph_path=None, out="report",
               quick=False, seed=0, notebooks=None, progress=True) -> dict:
    """Run the pair-aware notebooks on the pair; write executed copies, HTML and the summary.

    Returns ``coverage``, ``notebooks`` (name, seconds, status, observations), ``summary``
    (path of ``summary.md``), ``maps``, ``recommended`` and ``duplicates``.
    """
    import papermill

    from embmap.app.run_notebooks import clean_file, execute, to_html
    from embmap.datasets import load_pair
    from embmap.diagnostics import duplicate_rows

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
    if progress:
        from tqdm.auto import tqdm
    results = []
    for notebook in tqdm(chosen, desc="notebooks", unit="notebook") if progress else chosen:
        executed = out / notebook.name
        start, status, printed = time.perf_counter(), "ok", []
        try:
            execute(notebook, executed, quick, parameters={"seed": seed, **paths})
        except (papermill.PapermillExecutionError, RuntimeError, OSError, ValueError) as error:
            # keep going: the summary says which notebook failed, in which cell and why
            status = describe_failure(error, executed)
            if executed.exists():
                clean_file(executed)
        if executed.exists():
            to_html(executed)
            printed = _printed_lines(executed)
        results.append({"notebook": notebook.name, "seconds": time.perf_counter() - start,
                        "status": status, "observations": [ln for ln in printed
                                                           if ln.startswith("Observation")],
                        "substitutes": [ln for ln in printed if _SUBSTITUTE.match(ln)]})
    data = {"source": duplicate_rows(pair.X), "target": duplicate_rows(pair.Y),
            "cap": duplicate_rows(table_pair.Y, gold=table_pair.test),
            "test_words": len(table_pair.test)}
    summary = _write_summary(out, paths, pair, results, quick, seed, maps, recommended,
                             len(table_pair), data, quick_cuts(chosen))
    return {"coverage": pair.coverage, "notebooks": results, "summary": str(summary),
            "maps": maps, "recommended": recommended, "duplicates": data}


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _count(x) -> str:
    return f"{x:,}"


def _and(items: list) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _cell(text: str) -> str:
    """Text for a markdown table cell (a ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def quick_mode_line(cuts: dict, ran: list, n_pairs: int, n_table: int) -> str:
    """The summary's first line in quick mode: what quick mode cuts, and what that means."""
    by_size = {}
    for name in ran:
        if name in cuts:
            by_size.setdefault(cuts[name], []).append(name[:2])
    by_size.setdefault(QUICK_WORDS, []).append("the table of maps")
    parts = [f"{_count(n)} in {_and(nbs)}" for n, nbs in sorted(by_size.items(), reverse=True)]
    dropped = ", so none are dropped" if min(by_size) >= n_pairs else ""
    numbers = {name[:2] for name in ran}
    epochs = [text for nbs, text in QUICK_EPOCHS if numbers & set(nbs)]
    cuts_text = [f"trains for fewer epochs: {', '.join(epochs)}"] if epochs else []
    return ("**Quick mode: the lines below check that the notebooks run on this pair; they are "
            "not findings about the pair.** Quick mode keeps only the first pairs of the "
            f"pairing, in the source file's order: {'; '.join(parts)} "
            f"(this pair has {_count(n_pairs)}{dropped}); "
            + "; ".join([*cuts_text, ("uses fewer splits, smaller samples and grids and fewer "
                                      "bootstrap replicates")])
            + ". Run without `--quick` for findings.")


# What quick mode does to training, by notebook (the notebooks' `if quick` lines; a test
# checks these against the notebooks' sources).
QUICK_EPOCHS = ((("04", "05"), ("notebooks 04 and 05 at most 5 epochs and one seed per model "
                                "(full mode: up to 150 epochs, three seeds)")),
                (("06",), "notebook 06's attention map 2 epochs (full mode: 10)"),
                (("08",), "notebook 08's MLPs at most 5 epochs (full mode: until early stopping)"))


_COVERAGE = (("source_words", "words in {source}"), ("target_words", "words in {target}"),
             ("pairs", "pairs (a {source} word with its {target} word)"),
             ("source_coverage", "share of {source} words paired"),
             ("target_coverage", "share of {target} words paired"),
             ("dictionary_entries", "entries in {dictionary}"),
             ("dictionary_source_words", "source words in {dictionary}"),
             ("dictionary_coverage", "share of {dictionary} source words paired"),
             ("graph_edges_read", "edges read from {graph}"),
             ("graph_edges_kept", "edges kept (both ends paired)"))


def coverage_table(pair, names: dict) -> list:
    """The pairing coverage as markdown table lines, one labelled figure per row."""
    labels, filled = dict(_COVERAGE), {k: v or "-" for k, v in names.items()}
    # "source" is "reader" for every reader's pair; quick mode's cut is stated elsewhere
    rows = [f"| {labels.get(key, key.replace('_', ' ')).format(**filled)} | "
            f"{_pct(value) if isinstance(value, float) else _count(value)} |"
            for key, value in pair.coverage.items() if key not in ("source", "head")]
    return ["| figure | value |", "|---|---|", *rows,
            (f"| dimensions ({names['source']}, {names['target']}) | "
             f"{pair.X.shape[1]}, {pair.Y.shape[1]} |"),
            (f"| training / validation / test words (seed {pair.seed}) | "
             f"{len(pair.train)} / {len(pair.val)} / {len(pair.test)} |")]


def duplicates_section(data: dict, names: dict, n_table: int, n_pairs: int) -> list:
    """Rows sharing a vector in each space, and the P@1 cap the tie rule puts on the test words."""
    src, trg, cap = data["source"], data["target"], data["cap"]
    lines = [f"| figure | {names['source']} (source) | {names['target']} (target) |",
             "|---|---|---|"]
    for label, key in (("paired rows", "rows"),
                       ("rows that share their vector with another row", "rows_shared"),
                       ("distinct vectors shared by several rows", "groups"),
                       ("largest group of rows with one vector", "largest_group"),
                       ("all-zero rows", "zero_rows")):
        lines.append(f"| {label} | {_count(src[key])} | {_count(trg[key])} |")
    over = (f"the {data['test_words']} test words of the table of maps"
            + (f" (its first {_count(n_table)} pairs)" if n_table < n_pairs else ""))
    lines += ["", ("Ties count against the prediction: a word whose gold vector is shared by g "
                   f"rows ranks at best g, so P@1 is capped at {_pct(cap['p@1_cap'])} "
                   f"(P@10 at {_pct(cap['p@10_cap'])}) over {over}.")]
    return lines


_NB03_BEST = re.compile(r"the best map is (.+?): test P@10")
_NB03_PREDICTOR = re.compile(r"the best \*predictor of graph vectors\* .*? is (.+?): ")
_NB06_CHOSEN = re.compile(r"the method chosen on validation P@10 is '(.+?)'")
_NB06_NAMES = {"kNN (tuned)": "softmax kNN",
               "kNN (tuned) + two-direction": "softmax kNN + two-direction retrieval"}


def other_bests(results: list, maps: list, recommended: dict, names: dict, quick: bool) -> list:
    """One line per notebook whose own "best" map differs from the table's, saying why."""
    lines = []
    linear = maps[0]["method"].removesuffix(" (best linear)")
    observations = {r["notebook"][:2]: " ".join(r["observations"]) for r in results}
    best = _NB03_BEST.search(observations.get("03", ""))
    if best and best.group(1) != linear:
        predictor = _NB03_PREDICTOR.search(observations["03"])
        if predictor and predictor.group(1) != best.group(1):
            lines.append(
                f"Notebook 03's best linear map, {best.group(1)}, is scored in its own shared "
                f"space (both spaces mapped into it), so it predicts no {names['target']} "
                f"vectors; the table scores maps that predict {names['target']} vectors, among "
                f"all targets (notebook 03's best of those: {predictor.group(1)}).")
        else:
            lines.append(
                f"Notebook 03's best linear map, {best.group(1)}, is chosen among more linear "
                "maps (ridge, CCA, VecMap) and averaged over several splits; the table compares "
                "least squares and Procrustes on the report's one split.")
    chosen = _NB06_CHOSEN.search(observations.get("06", ""))
    if chosen:
        name = _NB06_NAMES.get(chosen.group(1), chosen.group(1))
        if name not in (recommended["method"], recommended["method"].removesuffix(
                " (best linear)")):
            lines.append(
                f"Notebook 06 chose '{chosen.group(1)}' among more maps and settings (kNN "
                "weightings, graph diffusion, residual and attention maps"
                + ("; smaller grids and 2 attention epochs in quick mode" if quick else "")
                + "); the table keeps the maps `embmap fit` can save, on `embmap fit`'s grids.")
    return lines


def _write_summary(out: Path, paths: dict, pair, results: list, quick: bool, seed: int,
                   maps: list, recommended: dict, n_table: int, data: dict,
                   cuts: dict) -> Path:
    from embmap import __version__

    names = reader_names(paths)
    lines = ([quick_mode_line(cuts, [r["notebook"] for r in results], len(pair), n_table), ""]
             if quick else [])
    lines += ["# embmap report", "",
              f"embmap {__version__}; {'quick' if quick else 'full'} mode; seed {seed}.", "",
              "## The pair", ""]
    lines += [f"* {k.replace('_path', '')}: `{Path(v).name}`" for k, v in paths.items() if v]
    lines += ["", *coverage_table(pair, names), "",
              "## Duplicate vectors", "", *duplicates_section(data, names, n_table, len(pair))]
    r = recommended
    where = (f"the first {n_table} pairs (quick mode)" if n_table < len(pair) else "all pairs")
    lines += ["", "## The maps", "",
              (f"Fitted on the training words of {where}; settings chosen on {r['n_val']} "
               f"validation words; scored on {r['n_test']} test words by CSLS retrieval among "
               f"all {r['candidates']} targets (the candidate set). P@10 interval: 95% "
               "bootstrap over the test words."), "",
              ("| method | settings (chosen on validation) | validation P@10 | test P@1 | "
              "test P@10 [95% interval] | candidates |"), "|---|---|---|---|---|---|"]
    lines += [f"| {m['method']} | {m['settings']} | {_pct(m['val_p10'])} | {_pct(m['p1'])} | "
              f"{_pct(m['p10'])} [{_pct(m['p10_lo'])}, {_pct(m['p10_hi'])}] | "
              f"all {m['candidates']} targets |" for m in maps]
    lines += ["", _FIGURE]
    lines += ["", (f"**Recommended map: {r['method']}** ({r['settings']}), chosen by its "
                   f"validation P@10 of {_pct(r['val_p10'])} on {r['n_val']} validation words, "
                   "the best in the table. Expected P@10 on new words of this pair: "
                   f"{_pct(r['p10'])} (95% interval {_pct(r['p10_lo'])} - {_pct(r['p10_hi'])}, "
                   f"{r['n_test']} test words, {r['candidates']} candidates); P@1 "
                   f"{_pct(r['p1'])}. Fit it on all pairs with "
                   f"`embmap fit SRC TRG --method {r['cli_method']}`.")]
    differ = other_bests(results, maps, recommended, names, quick)
    lines += ["", *differ] if differ else []
    lines += ["", "## Notebooks", "", "| notebook | status | seconds |", "|---|---|---|"]
    lines += [f"| [{r['notebook']}]({Path(r['notebook']).with_suffix('.html').name}) | "
              f"{_cell(r['status'])} | {r['seconds']:.0f} |" for r in results]
    lines += ["", ("The lines below are the notebooks' own printed lines (numbers they computed). "
                   f"The notebooks' names for the bundled data are replaced by your files: E1 / "
                   f"GloVe / source is {names['source']}, E2 / node2vec / target is "
                   f"{names['target']}; frequency bands are of the pairing's row order (your "
                   "files carry no word frequencies).")]
    for r in results:
        noised = any(NOISED_CONTROL in line for line in r["substitutes"])
        page = Path(r["notebook"])
        lines += ["", f"### {r['notebook']}", "",
                  f"[executed notebook]({page.name}) · [HTML]({page.with_suffix('.html').name})",
                  ""]
        if r["status"] != "ok":
            lines += [f"**{r['status'][0].upper()}{r['status'][1:]}**", ""]
        lines += [f"* Note: {name_for_reader(s, names, noised)}" for s in r["substitutes"]]
        lines += ([f"* {name_for_reader(o, names, noised)}" for o in r["observations"]]
                  or ["(no observation lines)"])
    lines += ["", (f"Not run: {', '.join(BUNDLED_ONLY)} (it compares the bundled GloVe and "
                   "skipgram sources; a reader's pair has no second source)."), ""]
    md = out / "summary.md"
    png = _maps_figure(maps)
    (out / "maps_p10.png").write_bytes(png)
    md.write_text("\n".join(lines).replace(_FIGURE, f"![{_FIGURE_ALT}](maps_p10.png)"),
                  encoding="utf-8")
    (out / "summary.html").write_text(_html_page(lines, png), encoding="utf-8")
    return md


_FIGURE = "EMBMAP-FIGURE-OF-THE-MAPS"
_FIGURE_ALT = "test P@10 of each map with its 95% interval; dashed: chance"
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
th, td { border-top: 1px solid #ccc; border-bottom: 1px solid #ccc; padding: 0.3rem 0.6rem;
         text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #888; }
code { background: #f3f3f3; padding: 0 0.2rem; }
img { max-width: 100%; }
h1, h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
"""


def _maps_figure(maps: list) -> bytes:
    """PNG bytes: each map's test P@10 with its 95% interval, and chance (10 / candidates)."""
    import io

    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: draws with Agg, leaves the backend alone

    p10 = 100 * np.array([m["p10"] for m in maps])
    err = 100 * np.array([[m["p10"] - m["p10_lo"], m["p10_hi"] - m["p10"]] for m in maps]).T
    fig = Figure(figsize=(7, 0.6 * len(maps) + 1.4), dpi=110)
    ax = fig.add_subplot()
    rows = np.arange(len(maps))[::-1]
    ax.errorbar(p10, rows, xerr=err, fmt="o", capsize=4, color="tab:blue")
    chance = 100 * min(10 / maps[0]["candidates"], 1.0)
    ax.axvline(chance, color="grey", linestyle="--")
    ax.text(chance, len(maps) - 0.45, f" chance {chance:.2f}%", color="grey", va="bottom")
    ax.set_ylim(-0.5, len(maps) - 0.1)
    ax.set_yticks(rows, [m["method"] for m in maps])
    ax.set_xlabel(f"test P@10 (%), {maps[0]['n_test']} test words, 95% bootstrap interval")
    ax.set_xlim(0, min(100, 100 * max(m["p10_hi"] for m in maps) * 1.1 + 1))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _html_page(lines: list, png: bytes) -> str:
    """summary.md's lines as a standalone page: inline style, the figure embedded."""
    import base64

    figure = (f'<figure><img alt="{_FIGURE_ALT}" src="data:image/png;base64,'
              f'{base64.b64encode(png).decode("ascii")}"><figcaption>{_FIGURE_ALT}'
              "</figcaption></figure>")
    import mistune  # comes with nbconvert

    body = mistune.html("\n".join(lines))
    body = body.replace(f"<p>{_FIGURE}</p>", figure).replace(_FIGURE, figure)
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>embmap report</title><style>{_STYLE}</style></head>\n<body>\n{body}"
            "</body></html>\n")
