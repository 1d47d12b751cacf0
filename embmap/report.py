"""``embmap report``: run the tutorial notebooks on a reader's pair and summarise them.

Which notebooks run is decided by the notebooks themselves: every
``notebooks/NN_*.ipynb`` whose ``parameters`` cell defines ``source_path``
(today only notebook 01; the others still need their parameters cells wired).
Each runs through papermill with the pair's paths injected; the executed
notebook and its HTML go to the output folder, with a one-page summary
(``summary.md`` and ``summary.html``): the pairing coverage, which notebooks
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
        if params and _DEFINES_SOURCE.search("".join(params[0]["source"])):
            chosen.append(path)
    return chosen


def _observations(executed: Path) -> list:
    lines = []
    for cell in json.loads(executed.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            lines += [ln.strip() for ln in text.splitlines() if ln.strip().startswith("Observation")]
    return lines


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
    summary = _write_summary(out, paths, pair, results, quick, seed)
    return {"coverage": pair.coverage, "notebooks": results, "summary": str(summary)}


def _write_summary(out: Path, paths: dict, pair, results: list, quick: bool, seed: int) -> Path:
    from embmap import __version__

    lines = ["# embmap report", "",
             f"embmap {__version__}; {'quick' if quick else 'full'} mode; seed {seed}.", "",
             "## The pair", ""]
    lines += [f"* {k.replace('_path', '')}: `{Path(v).name}`" for k, v in paths.items() if v]
    lines += [f"* {pair!r}", ""]
    lines += [f"* {k}: {v:.3f}" if isinstance(v, float) else f"* {k}: {v}"
              for k, v in pair.coverage.items()]
    lines += ["", "## Notebooks", "", "| notebook | status | seconds |", "|---|---|---|"]
    lines += [f"| [{r['notebook']}]({Path(r['notebook']).with_suffix('.html').name}) | "
              f"{r['status']} | {r['seconds']:.0f} |" for r in results]
    for r in results:
        lines += ["", f"### {r['notebook']}", ""]
        lines += [f"* {o}" for o in r["observations"]] or ["(no observation lines)"]
    lines += ["", ("Notebooks whose parameters cell does not define `source_path` yet were not "
                   "run; they still use the bundled pair."), ""]
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
