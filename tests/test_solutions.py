"""Every notebooks/solutions/NN_*_solutions.ipynb runs in quick mode, and the committed copies are clean.

A solution notebook is committed either without outputs (as written) or from a full-mode
run (``make notebooks``); either way it has a python3 kernelspec, one ``parameters`` cell
with ``quick``, ``seed`` and ``data_dir``, and no error, warning or machine path in its outputs.
"""

import json
import re
from pathlib import Path

import pytest

from embmap.tools.run_notebooks import execute

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_DIR = ROOT / "notebooks" / "solutions"
SOLUTIONS = sorted(SOLUTION_DIR.glob("[0-9][0-9]_*_solutions.ipynb"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/home/|/root/|/tmp/|/Users/|C:\\\\)")


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


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
    executed = json.loads((tmp_path / notebook.name).read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "quick = True" in "".join(injected[0]["source"])
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
    code = _code_cells(nb)
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
    assert counts == list(range(1, len(code) + 1)), f"cells not executed in order: {counts}"
    injected = [c for c in code if "injected-parameters" in c["metadata"].get("tags", [])]
    assert all("quick = True" not in "".join(c["source"]) for c in injected), \
        f"{notebook.name} was committed from a quick-mode run; run `make notebooks`"
    for cell in code:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"error output in {notebook.name}"
            text = json.dumps(output.get("text", "")) + json.dumps(output.get("data", {}).get("text/plain", ""))
            assert "Warning" not in text, f"a warning is shown in {notebook.name}: {text[:200]}"
            assert not MACHINE_PATH.search(text), f"machine path in {notebook.name}: {text[:200]}"
    assert not MACHINE_PATH.search(json.dumps(nb["metadata"]))
