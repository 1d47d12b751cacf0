"""Size of the package against the tutorial it serves, and how many places search.

Prints lines (as ``wc -l`` counts them) in the reader-facing package
(``embmap/`` without ``embmap/app/``), in the app (``embmap/app/``: the
command line, the report, the model file, the notebook runner), in the
maintainer tools (``tools/``, not installed) and in the notebooks' code
cells; then every place outside the search engine (``embmap/_search.py``)
that computes a CSLS block or a top-k itself. The goal is one place: the
engine.

Usage::

    python benchmarks/package_size.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "embmap" / "_search.py"
# What computing a CSLS block or a top-k looks like in numpy: a partition or a
# sort of similarity rows, or the 2 S - r_T - r_S arithmetic itself.
SEARCH_PATTERNS = {
    "top-k": re.compile(r"np\.(arg)?partition\(|argsort\(-?(S|sims?|scores)\b|(?<!_search)\.topk\("),
    "CSLS block": re.compile(r"2 \* \(?[A-Za-z_]+.*- *r_T|- *r_T\[|r_S\[None"),
}


def lines(paths) -> int:
    return sum(len(p.read_text().splitlines()) for p in paths)


def notebook_code_lines() -> int:
    total = 0
    for path in sorted((ROOT / "notebooks").glob("**/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                total += len("".join(cell["source"]).splitlines())
    return total


def search_places(paths) -> list[str]:
    found = []
    for path in paths:
        if path == ENGINE:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            for kind, pattern in SEARCH_PATTERNS.items():
                if pattern.search(code):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {kind}: {line.strip()}")
    return found


def main() -> None:
    package = sorted((ROOT / "embmap").rglob("*.py"))
    app = [p for p in package if "app" in p.relative_to(ROOT / "embmap").parts[:-1]]
    reader = [p for p in package if p not in app]
    tools = sorted((ROOT / "tools").rglob("*.py")) if (ROOT / "tools").exists() else []
    print(f"reader-facing package (embmap/ without app/): {lines(reader):6,d} lines")
    print(f"app (embmap/app/):                            {lines(app):6,d} lines")
    print(f"whole package (embmap/):                      {lines(package):6,d} lines")
    print(f"maintainer tools (tools/, not installed):     {lines(tools):6,d} lines")
    print(f"notebook code cells (notebooks/**):           {notebook_code_lines():6,d} lines")
    print()
    for path in package:
        print(f"  {lines([path]):5d}  {path.relative_to(ROOT)}")
    places = search_places(package)
    # torch.topk inside a loss or a trained attention works on a differentiable batch, not
    # on numpy candidate blocks: listed, not counted.
    counted = [p for p in places if "torch" not in p and "losses.py" not in p]
    print()
    print(f"places outside embmap/_search.py that compute a CSLS block or a top-k: {len(counted)}")
    for place in places:
        print(f"  {place}")


if __name__ == "__main__":
    main()
