from pathlib import Path

import nbformat

from embmap.app.run_notebooks import _collapse_streams, clean_metadata, output_path


def _write_notebook(path, parameters: str, body: str) -> None:
    """A two-cell notebook: a tagged parameters cell, then ``body``."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_progress_redraws_collapse_to_final_state():
    outputs = [
        {"output_type": "stream", "name": "stderr", "text": "fit: 0%\r"},
        {"output_type": "stream", "name": "stderr", "text": "fit: 50%\rfit: 100%\n"},
        {"output_type": "stream", "name": "stdout", "text": "done\n"},
        {"output_type": "stream", "name": "stderr", "text": "b\n"},
    ]
    merged = _collapse_streams(outputs)
    assert [o["text"] for o in merged] == ["fit: 100%\n", "done\n", "b\n"]


def test_clean_metadata_drops_paths_and_sets_kernel():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": "/home/me/nb.ipynb"}
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["papermill"] = {"duration": 1.0}
    cell.metadata["execution"] = {"iopub.status.busy": "2026"}
    nb.cells.append(cell)
    clean_metadata(nb)
    assert "papermill" not in nb.metadata and nb.metadata["kernelspec"]["name"] == "python3"
    assert cell.metadata == {}


def test_solution_notebooks_go_to_their_own_folder():
    out = Path("build")
    assert output_path(Path("notebooks/03_linear_maps.ipynb"), out) == out / "03_linear_maps.ipynb"
    solution = Path("notebooks/solutions/03_linear_maps_solutions.ipynb")
    assert output_path(solution, out) == out / "solutions" / "03_linear_maps_solutions.ipynb"


def test_progress_lines_at_headings_and_slow_cells(monkeypatch, capsys, tmp_path):
    from embmap.app import run_notebooks

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\ntext"), nbformat.v4.new_code_cell("a = 1"),
        nbformat.v4.new_code_cell("b = 2"), nbformat.v4.new_markdown_cell("### minor\n## 2. Next"),
        nbformat.v4.new_code_cell("c = 3")])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    hooks = run_notebooks._progress_hooks(tmp_path / "nb.ipynb")
    monkeypatch.setattr(run_notebooks, "SLOW_CELL", 0)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = index
            hooks["on_cell_start"](cell, index)
            hooks["on_cell_executed"](cell, index, {})
    lines = [ln.split(" s  ", 1)[1] for ln in capsys.readouterr().out.splitlines()]
    assert lines == ["Title", "cell 1 (In [1]) took 0 s", "cell 2 (In [2]) took 0 s",
                     "2. Next", "cell 4 (In [4]) took 0 s"]


def test_a_run_prints_no_kernel_warnings_and_keeps_outputs(capfd, tmp_path):
    from embmap.app.run_notebooks import execute

    _write_notebook(tmp_path / "nb.ipynb", "quick = False", "print('quick is', quick)")
    execute(tmp_path / "nb.ipynb", tmp_path / "out.ipynb", quick=True, progress=True)
    captured = capfd.readouterr()
    for noise in ("without encryption", "KeyboardInterrupt", "WARNING"):
        assert noise not in captured.err + captured.out
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "quick is True\n"
    assert not list(tmp_path.glob("*ipc*"))


def test_quick_mode_fits_in_one_process_unless_told_otherwise(tmp_path):
    from embmap.app.run_notebooks import execute

    _write_notebook(tmp_path / "nb.ipynb", "quick = False\nn_jobs = 2", "print('n_jobs', n_jobs)")

    def printed(**kwargs):
        execute(tmp_path / "nb.ipynb", tmp_path / "out.ipynb", **kwargs)
        return nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[-1].outputs[0]["text"]

    assert printed(quick=True) == "n_jobs 1\n"
    assert printed(quick=False) == "n_jobs 2\n"
    assert printed(quick=True, parameters={"n_jobs": 3}) == "n_jobs 3\n"
