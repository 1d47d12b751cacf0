from pathlib import Path

import nbformat

from embmap.app.run_notebooks import _collapse_streams, clean_metadata, output_path


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
