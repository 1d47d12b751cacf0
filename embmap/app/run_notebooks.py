"""Execute the tutorial notebooks with papermill (``make run``, ``make notebooks``, the tests).

``python -m embmap.app.run_notebooks --mode full --out build notebooks/NN_*.ipynb`` runs each
notebook in order and writes the executed copy and its HTML to ``build/`` (solutions to
``build/solutions/``); ``notebooks/`` is rewritten only with ``--in-place`` (the maintainers'
``make notebooks``, which refreshes the outputs readers see on GitHub).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

KERNEL = "python3"


def _collapse_streams(outputs: list) -> list:
    """Merge consecutive stream outputs and keep what a terminal would show.

    Progress bars redraw their line with carriage returns; only each line's final state is kept.
    """
    merged = []
    for output in outputs:
        if (output.get("output_type") == "stream" and merged
                and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == output["name"]):
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


def clean_file(path: Path) -> None:
    """:func:`clean_metadata` on an executed notebook file, in place."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    clean_metadata(nb)
    nbformat.write(nb, path)


def execute(notebook: Path, output: Path, quick: bool, log_output: bool = False,
            parameters: dict | None = None) -> float:
    """Run one notebook with ``quick`` (and any other ``parameters``) injected; return seconds."""
    import papermill

    start = time.perf_counter()
    papermill.execute_notebook(
        str(notebook), str(output),
        # `quick` is always injected: papermill then replaces an injected cell left in the
        # file by an earlier run, so a notebook cannot silently run in that run's mode.
        parameters={**(parameters or {}), "quick": bool(quick)},
        kernel_name=KERNEL, cwd=str(notebook.parent), progress_bar=False,
        log_output=log_output)
    clean_file(output)
    return time.perf_counter() - start


def output_path(notebook: Path, out: Path) -> Path:
    """``out/NAME``, or ``out/solutions/NAME`` for a solution notebook (no name clash)."""
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
    print(f"done in {time.perf_counter() - total:.0f} s; open the *.html files under "
          f"{args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
