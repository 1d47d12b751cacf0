"""Every solution notebook runs in quick mode on a reader's own pair (shapes of pair_shapes.py).

Each solution runs on one shape, alternating so that the suite stays within its time budget:
odd-numbered solutions on ``twins`` (no graph, 50 -> 64 dims, identical rows, a spaced
word), even-numbered ones on ``nearly_complete`` (a graph, a gzipped binary target with other
word names, words with two gold targets, 3 unpaired source words). Each executed notebook
must have no error output, print the reader's pair (its pair count and dimensions as
``load_pair`` reads the same files) and, exactly once each, the lines saying what it skips or
substitutes on that shape (no second target run, no frequency ranks, notebook 07's bundled-only
comparison), and never the bundled pair.
"""

import json
from pathlib import Path

import pytest
from pair_shapes import SHAPES

from embmap import load_pair
from embmap.app.run_notebooks import execute

SOLUTION_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
SOLUTIONS = sorted(SOLUTION_DIR.glob("[0-9][0-9]_*_solutions.ipynb"))

# What each solution must print on its shape besides the pair (each line exactly once).
EXPECTED = {
    "01": ["no second target run (Y_alt) in this pair: exercise 3 compares E2 with a noised copy"],
    "02": ["no second target run (Y_alt) in this pair: control (b) is a noised copy of E2"],
    "03": [
        "no second target run (Y_alt) in this pair: exercise 2 maps E2 onto a noised copy of E2",
        "no frequency ranks in this pair: exercise 4 takes the order of the source file",
    ],
    "07": [
        (
            "a reader's pair was given (source_path / target_path): the solutions of notebook 07 "
            "compare the bundled GloVe and skipgram sources only, so they are skipped"
        )
    ],
    "08": ["no frequency ranks in this pair: the frequency quartiles take the order of the source"],
}
# What a solution must print because its shape has a graph (nothing of it is skipped).
WITH_GRAPH = {
    "06": ["Exercise 2: ORACLE with NN", "Exercise 2: ORACLE with CSLS"],
    "08": ["NN: new-word graph_hit@10", "CSLS: new-word graph_hit@10"],
}


def shape_of(notebook: Path) -> str:
    return "twins" if int(notebook.name[:2]) % 2 else "nearly_complete"


def test_each_shape_runs_four_solutions():
    assert len(SOLUTIONS) == 8
    shapes = [shape_of(nb) for nb in SOLUTIONS]
    assert shapes.count("twins") == shapes.count("nearly_complete") == 4


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """shape -> (notebook parameters naming its files, the pair's printed prefix); written once."""
    cache = {}

    def get(shape):
        if shape not in cache:
            params = SHAPES[shape](tmp_path_factory.mktemp(shape))
            pair = load_pair(**params)
            cache[shape] = (
                params,
                f"PairedEmbeddings({len(pair)} pairs, X {pair.X.shape[1]}d, Y {pair.Y.shape[1]}d",
            )
        return cache[shape]

    return get


def printed(executed: Path) -> str:
    text = []
    for cell in json.loads(executed.read_text())["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"error output in {executed.name}"
            text.append("".join(output.get("text", "")))
            text.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


@pytest.mark.parametrize(
    "notebook", SOLUTIONS, ids=[f"{nb.stem[:2]}-{shape_of(nb)}" for nb in SOLUTIONS]
)
def test_solution_runs_on_a_readers_pair(notebook, written, tmp_path):
    number, shape = notebook.name[:2], shape_of(notebook)
    params, pair_line = written(shape)
    execute(notebook, tmp_path / notebook.name, quick=True, parameters=params)
    text = printed(tmp_path / notebook.name)
    assert pair_line in text, f"{notebook.name} did not print the reader's pair ({pair_line})"
    assert "33518" not in text.replace(",", "")  # the bundled pair never shows up
    for line in EXPECTED.get(number, []):
        assert text.count(line) == 1, f"{notebook.name} on {shape}: {line!r} not printed once"
    if shape == "nearly_complete":
        assert "no graph edges" not in text  # this shape has a graph: nothing graph-based skipped
        for line in WITH_GRAPH.get(number, []):
            assert line in text, f"{notebook.name} on {shape} did not print {line!r}"
    if number == "07":
        assert "Exercise" not in text  # skipped: nothing after the notice ran
    else:
        assert "Exercise" in text or "P@10" in text
