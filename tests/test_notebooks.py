"""Every notebooks/NN_*.ipynb runs in quick mode, and the committed copies are clean."""

import json
import re
from pathlib import Path

import pytest

from embmap.tools.run_notebooks import execute

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/home/|/root/|/tmp/|/Users/|C:\\\\)")


def test_notebooks_exist():
    assert NOTEBOOKS, f"no NN_*.ipynb notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(notebook, tmp_path):
    # papermill raises PapermillExecutionError on the first failing cell
    execute(notebook, tmp_path / notebook.name, quick=True)
    executed = json.loads((tmp_path / notebook.name).read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "quick = True" in "".join(injected[0]["source"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_is_clean(notebook):
    nb = json.loads(notebook.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    # A parameters cell (papermill) that defines quick.
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and "quick" in "".join(params[0]["source"])
    # The committed copy is a full run (readers see full-data numbers): no quick=True injected.
    injected = [c for c in code if "injected-parameters" in c["metadata"].get("tags", [])]
    assert all("quick = True" not in "".join(c["source"]) for c in injected), \
        f"{notebook.name} was committed from a quick-mode run; run `make notebooks`"
    # Executed top to bottom once: counts 1, 2, 3, ... with no gaps.
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"cells not executed in order: {counts}"
    for cell in code:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"error output in {notebook.name}"
            text = json.dumps(output.get("text", "")) + json.dumps(output.get("data", {}).get("text/plain", ""))
            assert "Warning" not in text, f"a warning is shown in {notebook.name}: {text[:200]}"
            assert not MACHINE_PATH.search(text), f"machine path in {notebook.name}: {text[:200]}"
    assert not MACHINE_PATH.search(json.dumps(nb["metadata"]))
