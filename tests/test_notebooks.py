"""Every notebooks/NN_*.ipynb runs in quick mode, and the committed copies are clean."""

import json
from pathlib import Path

import pytest
from notebook_checks import assert_clean_full_run, assert_ran_in_quick_mode, code_cells

from embmap.app.run_notebooks import execute

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_notebooks_exist():
    assert NOTEBOOKS, f"no NN_*.ipynb notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(notebook, tmp_path):
    # papermill raises PapermillExecutionError on the first failing cell
    execute(notebook, tmp_path / notebook.name, quick=True)
    assert_ran_in_quick_mode(tmp_path / notebook.name)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_is_clean(notebook):
    nb = json.loads(notebook.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = code_cells(nb)
    assert code, "a notebook without code"
    # A parameters cell (papermill) that defines quick.
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and "quick" in "".join(params[0]["source"])
    # The committed copy is a full run (readers see full-data numbers).
    assert_clean_full_run(nb, notebook.name)
