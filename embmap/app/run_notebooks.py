"""Execute the tutorial notebooks with papermill (used by ``make run`` and the tests).

``python -m embmap.app.run_notebooks --mode full --out build notebooks/NN_*.ipynb``
executes each notebook in order, writes the executed copy and an HTML
rendering to ``build/`` (solution notebooks to ``build/solutions/``), and never touches ``notebooks/`` or ``data/``
unless ``--in-place`` is given (the maintainers' ``make notebooks``, which
refreshes the outputs committed for readers on GitHub).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

KERNEL = "python3"


def _collapse_streams(outputs: list) -> list:
    """Merge consecutive stream outputs and keep what a terminal would show.

    Progress bars redraw their line with carriage returns; the saved notebook
    keeps only each line's final state instead of every redraw.
    """
    merged = []
    for output in outputs:
        if output.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream" \
                and merged[-1]["name"] == output["name"]:
            merged[-1]["text"] += output["text"]
        else:
            merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream":
            lines = output["text"].split("\n")
            output["text"] = "\n".join(line.rstrip("\r").split("\r")[-1] for line in lines)
    return merged


def clean_metadata(nb) -> None:
    """Drop papermill's run metadata (machine paths, timings); collapse progress redraws."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _collapse_streams(cell.outputs)
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}


def execute(notebook: Path, output: Path, quick: bool, log_output: bool = False,
            parameters: dict | None = None) -> float:
    """Run one notebook with ``quick`` (and any other ``parameters``) injected; return seconds."""
    import papermill

    start = time.perf_counter()
    papermill.execute_notebook(
        str(notebook),
        str(output),
        # Always inject `quick`: papermill then replaces any injected-parameters
        # cell left in the file by an earlier run, so a notebook last run in
        # quick mode cannot silently run in quick mode again.
        parameters={**(parameters or {}), "quick": bool(quick)},
        kernel_name=KERNEL,
        cwd=str(notebook.parent),
        progress_bar=False,
        log_output=log_output,
    )
    nb = nbformat.read(output, as_version=4)
    clean_metadata(nb)
    nbformat.write(nb, output)
    return time.perf_counter() - start


def output_path(notebook: Path, out: Path) -> Path:
    """Where the executed copy of ``notebook`` goes: ``out/NAME``, or ``out/solutions/NAME``.

    Solution notebooks (``notebooks/solutions/*.ipynb``) keep their folder, so
    they cannot overwrite a tutorial notebook's copy and readers find them
    under ``build/solutions/``.
    """
    if notebook.parent.name == "solutions":
        return out / "solutions" / notebook.name
    return out / notebook.name


def to_html(executed: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--mode", choices=["full", "quick"], default="full")
    parser.add_argument("--out", type=Path, default=Path("build"))
    parser.add_argument("--in-place", action="store_true", help="write outputs back (maintainers)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = time.perf_counter()
    for notebook in sorted(args.notebooks):
        executed = output_path(notebook, args.out)
        executed.parent.mkdir(parents=True, exist_ok=True)
        print(f"running {notebook} ({args.mode} mode) ...", flush=True)
        seconds = execute(notebook, executed, quick=args.mode == "quick")
        html = to_html(executed)
        print(f"  {seconds:.0f} s -> {executed} and {html}", flush=True)
        if args.in_place:
            notebook.write_text(executed.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"done in {time.perf_counter() - total:.0f} s; open the *.html files under {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
