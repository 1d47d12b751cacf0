"""Every notebook runs in quick mode on a reader's own pair, written on the fly.

The pair: 900 source words (50-d, word2vec text) and 750 target words (64-d, word2vec
binary) sharing 600 words; the target is a noisy non-linear function of the source, so maps
have something to learn. An edge list over target words (a ring over the shared words plus
edges naming target-only and unknown words). Notebook 06 runs without the graph, so its
no-graph substitutes run too; notebook 02 has no second target run (control (b) becomes a
noised copy). Each executed notebook must print the reader's pair (600 pairs, 50d -> 64d)
and the substitute lines, so a notebook that silently used the bundled pair fails.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from embmap.io import Embedding, write_word2vec_binary, write_word2vec_text
from embmap.tools.run_notebooks import execute

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
N_SHARED, N_SRC_ONLY, N_TRG_ONLY, D_SRC, D_TRG = 600, 300, 150, 50, 64
PAIR_LINE = f"PairedEmbeddings({N_SHARED} pairs, X {D_SRC}d, Y {D_TRG}d"


def write_pair(folder: Path, seed: int = 0) -> dict:
    """Write the small pair into ``folder``; return the notebook parameters naming its files."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_SHARED + N_SRC_ONLY, D_SRC)).astype(np.float32)
    A, B = rng.normal(size=(D_SRC, 80)) / np.sqrt(D_SRC), rng.normal(size=(80, D_TRG))
    Y_shared = np.tanh(X[:N_SHARED] @ A) @ B + 0.3 * rng.normal(size=(N_SHARED, D_TRG))
    Y = np.vstack([Y_shared, rng.normal(size=(N_TRG_ONLY, D_TRG))]).astype(np.float32)
    shared = [f"word{i:05d}" for i in range(N_SHARED)]
    src = Embedding(shared + [f"srconly{i:04d}" for i in range(N_SRC_ONLY)], X)
    trg = Embedding(shared + [f"trgonly{i:04d}" for i in range(N_TRG_ONLY)], Y)
    write_word2vec_text(folder / "src.txt", src)
    write_word2vec_binary(folder / "trg.bin", trg)
    ring = [(shared[i], shared[(i + 1) % N_SHARED]) for i in range(N_SHARED)]
    extra = [(shared[i], f"trgonly{i:04d}") for i in range(N_TRG_ONLY)] + [("word00001", "nowhere")]
    (folder / "edges.txt").write_text("".join(f"{a} {b}\n" for a, b in ring + extra))
    return {"source_path": str(folder / "src.txt"), "target_path": str(folder / "trg.bin"),
            "graph_path": str(folder / "edges.txt")}


@pytest.fixture(scope="module")
def pair_params(tmp_path_factory):
    return write_pair(tmp_path_factory.mktemp("own_pair"))


def printed(executed: Path) -> str:
    text = []
    for cell in json.loads(executed.read_text())["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error"
            text.append("".join(output.get("text", "")))
            text.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


# What each notebook must print on this pair besides the pair itself.
EXPECTED = {
    "02": ["control (b) is a noised copy of E2"],
    "06": ["no graph given", "no graph edges in this pair: the ORACLE is skipped"],
    "07": ["notebook 07 compares the bundled GloVe and skipgram sources only, so it is skipped"],
}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem[:2] for nb in NOTEBOOKS])
def test_notebook_runs_on_a_readers_pair(notebook, pair_params, tmp_path):
    number = notebook.stem[:2]
    params = dict(pair_params)
    if number == "06":
        params.pop("graph_path")  # exercise the no-graph substitutes
    execute(notebook, tmp_path / notebook.name, quick=True, parameters=params)
    text = printed(tmp_path / notebook.name)
    for line in EXPECTED.get(number, []):
        assert line in text, f"{notebook.name} did not print {line!r}"
    if number == "07":
        assert "PairedEmbeddings" not in text  # skipped: nothing after the notice ran
    else:
        assert PAIR_LINE in text, f"{notebook.name} did not print the reader's pair"
        assert "33518" not in text.replace(",", "")  # the bundled pair never shows up
    if number == "01":  # the graph was read: ring + target-only edges kept, unknown dropped
        assert f"{N_SHARED} edges" in text or "graph_edges_kept" in text
