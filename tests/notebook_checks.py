"""Checks shared by the tutorial-notebook and solution-notebook tests."""

import json
import re

MACHINE_PATH = re.compile(r"(/work/|/home/|/root/|/tmp/|/Users/|C:\\\\)")


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def injected_parameters(cells):
    return [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]


def assert_ran_in_quick_mode(executed_path):
    """papermill injected ``quick = True`` into the executed copy; returns the notebook."""
    executed = json.loads(executed_path.read_text())
    injected = injected_parameters(executed["cells"])
    assert injected and "quick = True" in "".join(injected[0]["source"])
    return executed


def assert_clean_full_run(nb, name):
    """Executed top to bottom once, not in quick mode, with no error, warning or machine path."""
    code = code_cells(nb)
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"cells not executed in order: {counts}"
    assert all("quick = True" not in "".join(c["source"]) for c in injected_parameters(code)), \
        f"{name} was committed from a quick-mode run; run `make notebooks`"
    for cell in code:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"error output in {name}"
            text = json.dumps(output.get("text", "")) + json.dumps(output.get("data", {}).get("text/plain", ""))
            assert "Warning" not in text, f"a warning is shown in {name}: {text[:200]}"
            assert not MACHINE_PATH.search(text), f"machine path in {name}: {text[:200]}"
    assert not MACHINE_PATH.search(json.dumps(nb["metadata"]))
