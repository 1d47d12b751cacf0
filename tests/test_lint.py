"""`ruff check` is part of `make test`: package, tests, benchmarks and notebooks.

Notebooks are linted like code (lines <= 100 characters, no unused imports), with the
settings in pyproject.toml.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["embmap", "tools", "tests", "benchmarks", "notebooks"]


def _ruff():
    # the ruff installed next to this interpreter (the venv's), else one on PATH
    local = Path(sys.executable).parent / "ruff"
    return str(local) if local.exists() else shutil.which("ruff")


def test_ruff_check_is_clean_on_code_and_notebooks():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed: pip install -e '.[dev]' to lint as part of the tests")
    result = subprocess.run([ruff, "check", "--output-format", "concise", *PATHS], cwd=ROOT, check=False,
                            capture_output=True, text=True)
    assert result.returncode == 0, "ruff check found problems:\n" + result.stdout + result.stderr


def test_ruff_sees_the_notebooks():
    # a notebook excluded from linting would pass silently: make sure ruff lists them all
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed: pip install -e '.[dev]' to lint as part of the tests")
    listed = subprocess.run([ruff, "check", "--show-files", "notebooks"], cwd=ROOT, check=False,
                            capture_output=True, text=True).stdout
    notebooks = sorted(p.name for p in (ROOT / "notebooks").rglob("*.ipynb"))
    assert notebooks, "no notebooks found"
    missing = [name for name in notebooks if name not in listed]
    assert not missing, f"ruff does not check these notebooks: {missing}"
