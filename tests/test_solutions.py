"""Every notebooks/solutions/NN_*_solutions.ipynb runs in quick mode, and the committed copies are clean.

A solution notebook is committed either without outputs (as written) or from a full-mode
run (``make notebooks``); either way it has a python3 kernelspec, one ``parameters`` cell
with ``quick``, ``seed`` and ``data_dir``, and no error, warning or machine path in its outputs.
"""

import json
import re
from pathlib import Path

import pytest
from notebook_checks import assert_clean_full_run, assert_ran_in_quick_mode, code_cells

from embmap.app.run_notebooks import execute

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_DIR = ROOT / "notebooks" / "solutions"
SOLUTIONS = sorted(SOLUTION_DIR.glob("[0-9][0-9]_*_solutions.ipynb"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

def test_every_tutorial_notebook_has_a_solution_notebook():
    have = {p.name.removesuffix("_solutions.ipynb") for p in SOLUTIONS}
    missing = [nb.stem for nb in NOTEBOOKS if nb.stem in _with_exercises() and nb.stem not in have]
    assert not missing, f"notebooks with exercises but no notebooks/solutions/NN_..._solutions.ipynb: {missing}"


def _with_exercises():
    stems = set()
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        if any("## Exercises" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"):
            stems.add(nb.stem)
    return stems


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[nb.stem for nb in SOLUTIONS])
def test_solution_runs_in_quick_mode(notebook, tmp_path):
    # papermill raises PapermillExecutionError on the first failing cell
    execute(notebook, tmp_path / notebook.name, quick=True)
    executed = assert_ran_in_quick_mode(tmp_path / notebook.name)
    # Every exercise restated under a heading ("## Exercise N ...") is followed by code that
    # printed or displayed something (its computed answer) before the next heading.
    # (A notebook without such headings is only required to run.)
    answers, current = {}, None
    for cell in executed["cells"]:
        source = "".join(cell["source"])
        heading = re.match(r"#+ .*?Exercise\s*(\d+)", source) if cell["cell_type"] == "markdown" else None
        if heading:
            current = int(heading.group(1))
            answers[current] = 0
        elif current is not None and cell["cell_type"] == "code":
            answers[current] += len(cell["outputs"])
    unanswered = sorted(n for n, outputs in answers.items() if outputs == 0)
    assert not unanswered, f"{notebook.name}: exercises without a computed answer: {unanswered}"


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[nb.stem for nb in SOLUTIONS])
def test_committed_solution_is_clean(notebook):
    nb = json.loads(notebook.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = code_cells(nb)
    assert code, "a solution notebook without code"
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1, "one papermill parameters cell"
    for name in ("quick", "seed", "data_dir"):
        assert re.search(rf"^{name}\s*=", "".join(params[0]["source"]), re.MULTILINE), f"parameters cell lacks {name}"
    counts = [c["execution_count"] for c in code]
    if all(count is None for count in counts):
        # Committed as written: no outputs at all.
        assert all(not c["outputs"] for c in code), f"{notebook.name} has outputs without execution counts"
        return
    # Otherwise a full-mode run from top to bottom (make notebooks), not a quick one.
    assert_clean_full_run(nb, notebook.name)
