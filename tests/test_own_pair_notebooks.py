"""Every notebook and ``embmap report`` run in quick mode on the pair shapes readers bring.

The shapes (``tests/pair_shapes.py``): ``twins`` has groups of identical rows in both
spaces, every source word paired, no graph file, 50 -> 64 dimensions and words with
spaces; ``nearly_complete`` is a small pair (500 pairs) with 3 unpaired source words, a
gzipped word2vec binary target under other names, a dictionary that gives some words two
gold targets, and a graph file. Each executed notebook must have no error output, print
the reader's pair (so a notebook that silently used the bundled pair fails), and print
the lines that say what it substituted or skipped on that shape.
"""

import json
from pathlib import Path

import pytest
from pair_shapes import SHAPES

from embmap import load_pair
from embmap.app.run_notebooks import execute
from embmap.diagnostics import duplicate_rows

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """Each shape's notebook parameters and its pair as load_pair reads it."""
    out = {}
    for name, write in SHAPES.items():
        params = write(tmp_path_factory.mktemp(name))
        out[name] = (params, load_pair(**params))
    return out


def printed(executed: Path) -> str:
    text = []
    for cell in json.loads(executed.read_text())["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", "".join(output.get("traceback", []))[-2000:]
            text.append("".join(output.get("text", "")))
            text.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


# What each notebook must print on each shape besides the pair itself.
EXPECTED = {
    ("02", "twins"): ["control (b) is a noised copy of E2"],
    ("06", "twins"): ["no graph given", "no graph edges in this pair: the ORACLE is skipped",
                      "Section 6 needs the two bundled sources"],
    ("08", "nearly_complete"): ["None of the 3 unpaired source words is longer than 6 characters"],
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_report_runs_every_pair_notebook_on_a_readers_pair_shape(shape, shapes, tmp_path):
    """``embmap report`` (notebooks 01-06 and 08, then the summary) on each shape."""
    from embmap.app.report import run_report

    params, pair = shapes[shape]
    result = run_report(**params, out=tmp_path, quick=True, progress=False)
    statuses = {r["notebook"][:2]: r["status"] for r in result["notebooks"]}
    assert statuses == dict.fromkeys(("01", "02", "03", "04", "05", "06", "08"), "ok"), statuses
    for executed in sorted(tmp_path.glob("[0-9][0-9]_*.ipynb")):
        number, text = executed.name[:2], printed(executed)
        for line in EXPECTED.get((number, shape), []):
            assert line in text, f"{executed.name} on {shape} did not print {line!r}"
        head = f"PairedEmbeddings({len(pair)} pairs, X {pair.X.shape[1]}d, Y {pair.Y.shape[1]}d"
        assert head in text, f"{executed.name} did not print the reader's pair {head!r}"
        if number == "01":
            cap = duplicate_rows(pair.Y, gold=pair.test)
            assert f"no map can exceed P@1 {cap['p@1_cap']:.2%}" in text
            if shape == "twins":
                assert cap["p@1_cap"] < 1 and f"{cap['rows_shared']} of {len(pair)}" in text
    summary = (tmp_path / "summary.md").read_text()
    target = duplicate_rows(pair.Y)
    assert Path(params["target_path"]).name in summary
    assert f"{target['rows_shared']:,}" in summary and "capped at" in summary


@pytest.mark.parametrize("shape", list(SHAPES))
def test_notebook_07_says_it_skips_a_readers_pair(shape, shapes, tmp_path):
    notebook = NOTEBOOK_DIR / "07_a_real_skipgram_source.ipynb"
    execute(notebook, tmp_path / notebook.name, quick=True, parameters=shapes[shape][0])
    text = printed(tmp_path / notebook.name)
    assert "notebook 07 compares the bundled GloVe and skipgram sources only" in text
    assert "PairedEmbeddings" not in text  # skipped: nothing after the notice ran
