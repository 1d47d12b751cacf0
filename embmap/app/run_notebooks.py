"""Execute the tutorial notebooks with papermill (``make run``, ``make notebooks``, the tests).

``python -m embmap.app.run_notebooks --mode full --out build notebooks/NN_*.ipynb`` writes
each executed copy and its HTML to ``build/`` (solutions to ``build/solutions/``);
``--in-place`` rewrites ``notebooks/`` (the maintainers' ``make notebooks``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["KERNEL", "SLOW_CELL", "clean_file", "clean_metadata", "execute", "main",
           "output_path", "to_html"]

KERNEL = "python3"
SLOW_CELL = 20  # seconds: a cell this slow gets its own progress line


def _kernel_manager_class():
    """IPC transport (no unencrypted-TCP warning) and a shutdown without the SIGINT that makes
    ipykernel log "KeyboardInterrupt caught in kernel"; an idle kernel stops on the request."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            if kwargs["transport"] == "ipc" and "ip" not in kwargs:
                # IPC sockets are files named <ip>-<n>; kernels started at the same moment in one
                # folder (parallel tests) would race for the same names. A private folder each.
                self._ipc_dir = tempfile.mkdtemp(prefix="embmap-kernel-")
                kwargs["ip"] = os.path.join(self._ipc_dir, "ipc")
            super().__init__(**kwargs)

        async def shutdown_kernel(self, now=False, restart=False):
            if not self.owns_kernel:
                return
            self.shutting_down = True
            self.stop_restarter()
            if now:
                await self._async_kill_kernel()
            else:
                await self._async_request_shutdown(restart=restart)
                await self._async_finish_shutdown(restart=restart)
            await self._async_cleanup_resources(restart=restart)
            if not restart and getattr(self, "_ipc_dir", None):
                shutil.rmtree(self._ipc_dir, ignore_errors=True)

    return QuietKernelManager


def _section_of_cells(notebook: Path) -> dict:
    """Cell id -> the ``#`` / ``##`` heading it starts under (a code cell's first in a section)."""
    import nbformat

    nb, heading, first = nbformat.read(notebook, as_version=4), None, {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = next((ln.lstrip("#").strip() for ln in cell.source.splitlines()
                            if ln.startswith(("# ", "## "))), heading)
        elif cell.cell_type == "code" and heading is not None:
            first[cell.get("id")], heading = heading, None
    return first


def _progress_hooks(notebook: Path) -> dict:
    """nbclient hooks printing a line per section heading and per slow cell."""
    sections, start, started = _section_of_cells(notebook), time.perf_counter(), {}

    def say(text):
        print(f"  {time.perf_counter() - start:5.0f} s  {text}", flush=True)

    def on_cell_start(cell, cell_index):
        started[cell_index] = time.perf_counter()
        if cell.get("id") in sections:
            say(sections[cell.get("id")])

    def on_cell_executed(cell, cell_index, execute_reply):
        seconds = time.perf_counter() - started.pop(cell_index, time.perf_counter())
        if seconds >= SLOW_CELL:
            count = f"In [{cell.get('execution_count')}]"
            say(f"cell {cell_index} ({count}) took {seconds:.0f} s")

    return {"on_cell_start": on_cell_start, "on_cell_executed": on_cell_executed}


def _collapse_streams(outputs: list) -> list:
    """Merge consecutive stream outputs; keep each progress-bar line's final state."""
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
            parameters: dict | None = None, progress: bool = False) -> float:
    """Run one notebook with ``quick`` (and any other ``parameters``) injected; return seconds.

    In quick mode a notebook with an ``n_jobs`` parameter fits in one process unless
    ``parameters`` says otherwise.

    ``progress``: print a line per section heading and per cell slower than :data:`SLOW_CELL`.
    """
    import papermill

    start = time.perf_counter()
    parameters = dict(parameters or {})
    if quick and "n_jobs" in papermill.inspect_notebook(str(notebook)):
        # quick mode's fits are shorter than starting worker processes (each imports torch)
        parameters.setdefault("n_jobs", 1)
    papermill.execute_notebook(
        str(notebook), str(output),
        # `quick` is always injected: papermill then replaces an injected cell left in the
        # file by an earlier run, so a notebook cannot silently run in that run's mode.
        parameters={**parameters, "quick": bool(quick)},
        kernel_name=KERNEL, cwd=str(notebook.parent), progress_bar=False,
        log_output=log_output, kernel_manager_class=_kernel_manager_class(),
        **(_progress_hooks(notebook) if progress else {}))
    clean_file(output)
    return time.perf_counter() - start


def output_path(notebook: Path, out: Path) -> Path:
    """``out/NAME``, or ``out/solutions/NAME`` for a solution notebook (no name clash)."""
    return out / ("solutions" if notebook.parent.name == "solutions" else "") / notebook.name


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
        seconds = execute(notebook, executed, quick=args.mode == "quick", progress=True)
        html = to_html(executed)
        print(f"  {seconds:.0f} s -> {executed} and {html}", flush=True)
        if args.in_place:
            notebook.write_text(executed.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"done in {time.perf_counter() - total:.0f} s; open the *.html files under "
          f"{args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
