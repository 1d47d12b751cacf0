"""The package's import surface: what readers import exists, is public, and stays light.

- ``embmap.__all__`` names the tutorial's vocabulary and every name resolves;
- every module's ``__all__`` is exactly its public functions and classes;
- ``import embmap`` loads neither torch nor the notebook runner's libraries;
- notebooks and solutions import only public names;
- every "Shown in notebook NN, section S" in a docstring points at a notebook
  section that exists and whose code uses the documented name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import embmap

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
MODULES = sorted(m.name for m in pkgutil.walk_packages(embmap.__path__, "embmap."))
# Private modules (embmap._search, ...) are plumbing: their names are not part of the API.
PUBLIC_MODULES = [m for m in MODULES if not m.rsplit(".", 1)[-1].startswith("_")]


def test_top_level_names_resolve():
    assert 30 <= len(embmap.__all__) <= 50
    assert sorted(embmap.__all__) == sorted(embmap._NAMES)
    for name in embmap.__all__:
        assert getattr(embmap, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        embmap.no_such_name  # noqa: B018


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_module_all_is_exact(module):
    mod = importlib.import_module(module)
    assert hasattr(mod, "__all__"), f"{module} has no __all__"
    listed = set(mod.__all__)
    defined = {name for name, obj in vars(mod).items()
               if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
               and obj.__module__ == module}
    missing = sorted(defined - listed)
    assert not missing, f"{module} defines public names missing from __all__: {missing}"
    for name in listed:
        assert hasattr(mod, name), f"{module}.__all__ lists {name!r}, which does not exist"
        assert not inspect.ismodule(getattr(mod, name)), f"{module}.__all__ lists module {name!r}"


def test_import_embmap_is_light():
    code = ("import sys, embmap, embmap.datasets, embmap.evaluation, embmap.linear, embmap.local; "
            "print(sorted(m for m in ('torch', 'papermill', 'nbconvert', 'jupyterlab') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _code_cells(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            lines = "".join(cell["source"]).splitlines()
            yield "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_public_names_only(path):
    for source in _code_cells(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("embmap"):
                assert not any(part.startswith("_") for part in node.module.split(".")), node.module
                public = importlib.import_module(node.module).__all__
                for alias in node.names:
                    assert alias.name in public, f"{path.name}: {node.module}.{alias.name} is private"


def _sections(path) -> dict:
    """Section number -> the code of that section (the cells after its '## N.' heading)."""
    sections, current = {}, None
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        heading = re.search(r"^## (\d+)\.", text, re.MULTILINE) if cell["cell_type"] == "markdown" else None
        if heading:
            current = int(heading.group(1))
            sections[current] = ""
        elif current is not None and cell["cell_type"] == "code":
            sections[current] += text + "\n"
    return sections


def _shown_references():
    pattern = re.compile(r"Shown in notebook (\d\d), section (\d+)")
    for module in MODULES:
        mod = importlib.import_module(module)
        for name, obj in vars(mod).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module:
                for match in pattern.finditer(inspect.getdoc(obj) or ""):
                    yield module, name, match.group(1), int(match.group(2))


REFERENCES = list(_shown_references())


def test_there_are_shown_references():
    assert len(REFERENCES) >= 8


@pytest.mark.parametrize("module,name,notebook,section", REFERENCES,
                         ids=[f"{m}.{n}" for m, n, _, _ in REFERENCES])
def test_shown_in_notebook_reference_is_true(module, name, notebook, section):
    paths = sorted((ROOT / "notebooks").glob(f"{notebook}_*.ipynb"))
    assert len(paths) == 1, f"{module}.{name}: no notebook {notebook}"
    sections = _sections(paths[0])
    assert section in sections, f"{module}.{name}: {paths[0].name} has no section {section}"
    assert name in sections[section], (
        f"{module}.{name}: section {section} of {paths[0].name} does not use {name}")
