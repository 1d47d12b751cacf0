"""A reader's own pair: embmap.load_pair and notebook 01 run on files of other shapes and formats.

The pair: 400 source words (20-d, word2vec text, gzipped) and 350 target words (32-d,
word2vec binary) sharing 300 words through a dictionary with a renamed target side, and a
graph over target words that also names words outside the pairing.
"""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embmap import load_pair
from embmap.io import Embedding, write_word2vec_binary, write_word2vec_text

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_two_spaces_first_look.ipynb"


@pytest.fixture(scope="module")
def own_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    src = Embedding([f"s{i}" for i in range(400)], rng.normal(size=(400, 20)))
    M = rng.normal(size=(20, 32))
    Y = np.vstack([src.vectors[:300] @ M + 0.1 * rng.normal(size=(300, 32)),
                   rng.normal(size=(50, 32))])
    trg = Embedding([f"t{i}" for i in range(350)], Y)
    write_word2vec_text(d / "src.txt.gz", src)
    write_word2vec_binary(d / "trg.bin", trg)
    (d / "dict.txt").write_text("".join(f"s{i} t{i}\n" for i in range(300)))
    edges = [(f"t{i}", f"t{(i + 1) % 350}") for i in range(350)]  # a ring over all targets
    with gzip.open(d / "graph.tsv.gz", "wt") as handle:
        handle.writelines(f"{a}\t{b}\n" for a, b in edges)
    return d


def test_load_pair_reads_a_dictionary_and_a_graph(own_pair):
    d = own_pair
    pair = load_pair(d / "src.txt.gz", d / "trg.bin", d / "dict.txt", d / "graph.tsv.gz", seed=3)
    assert len(pair) == 300 and pair.X.shape == (300, 20) and pair.Y.shape == (300, 32)
    assert pair.words[:2] == ["s0", "s1"] and pair.target_words[:2] == ["t0", "t1"]
    # Ring edges t_i - t_{i+1}: 299 have both ends among the 300 paired words t0..t299.
    assert pair.coverage["graph_edges_read"] == 350 and pair.coverage["graph_edges_kept"] == 299
    assert np.all(np.abs(pair.edges[:, 0] - pair.edges[:, 1]) == 1)
    assert pair.seed == 3 and len(pair.test) == 30


def test_load_pair_bundled_source_and_readers_out_of_pair_words(own_pair):
    from embmap import load_dataset

    skip = load_pair(source="skipgram", seed=1)
    ref = load_dataset(source="skipgram", seed=1)
    assert skip.words == ref.words and np.array_equal(skip.X, ref.X)
    assert np.array_equal(skip.test, ref.test) and skip.coverage["source"] == "skipgram"
    with pytest.raises(ValueError, match="source must be one of"):
        load_pair(source="word2vec")
    # a reader's pair: `source` is ignored; the unpaired source words are the out-of-pair words
    d = own_pair
    pair = load_pair(d / "src.txt.gz", d / "trg.bin", d / "dict.txt", source="skipgram")
    assert pair.coverage["source"] == "reader" and pair.Y_alt is None
    assert pair.oog_words == [f"s{i}" for i in range(300, 400)]
    assert pair.X_oog.shape == (100, 20)


def test_load_pair_arguments():
    with pytest.raises(ValueError, match="give both source_path and target_path"):
        load_pair(source_path="a.txt")
    with pytest.raises(ValueError, match="need source_path and target_path"):
        load_pair(dictionary_path="d.txt")


def test_report_picks_notebooks_that_accept_a_pair():
    from embmap.app.report import NOTEBOOK_DIR, notebooks_accepting_a_pair

    chosen = notebooks_accepting_a_pair()
    assert NOTEBOOK_DIR / "01_two_spaces_first_look.ipynb" in chosen
    for nb in chosen:  # data-driven: each chosen notebook really defines source_path
        params = [c for c in json.loads(nb.read_text())["cells"]
                  if "parameters" in c["metadata"].get("tags", [])]
        assert "source_path =" in "".join(params[0]["source"])


def test_report_runs_notebook_01_on_a_readers_pair(own_pair, tmp_path):
    # End to end through the command line: embmap report -> papermill -> notebook 01 (only:
    # --notebooks names a folder holding a copy of it; test_own_pair_notebooks runs them all).
    d, out = own_pair, tmp_path / "report"
    (tmp_path / "nbs").mkdir()
    shutil.copy(NOTEBOOK, tmp_path / "nbs" / NOTEBOOK.name)
    run = subprocess.run(
        [sys.executable, "-m", "embmap.app.cli", "report", d / "src.txt.gz", d / "trg.bin",
         "--dictionary", d / "dict.txt", "--graph", d / "graph.tsv.gz", "--out", out,
         "--quick", "--notebooks", tmp_path / "nbs"],
        capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stderr
    executed = out / NOTEBOOK.name
    text = "".join("".join(o.get("text", "")) for c in json.loads(executed.read_text())["cells"]
                   if c["cell_type"] == "code" for o in c["outputs"])
    assert "300 pairs, X 20d, Y 32d" in text
    assert "graph: 300 nodes, 299 edges" in text
    assert executed.with_suffix(".html").exists() and (out / "summary.html").exists()
    summary = (out / "summary.md").read_text()
    assert "| pairs (a `src.txt.gz` word with its `trg.bin` word) | 300 |" in summary
    assert "| edges kept (both ends paired) | 299 |" in summary
    assert "| ok |" in summary and "Observation:" in summary
    # The table of maps: three methods, each with P@1, P@10 and its interval, all 300 targets.
    # (the coverage table above it also has a "targets" row: it starts with "| source words")
    rows = [line.split(" | ") for line in summary.splitlines()
            if line.startswith("| ") and "targets |" in line
            and not line.startswith("| source word")]
    assert [r[0].lstrip("| ") for r in rows] == [
        rows[0][0].lstrip("| "), "softmax kNN", "softmax kNN + two-direction retrieval"]
    assert rows[0][0].endswith("(best linear)")
    pct = lambda cell: float(cell.rstrip("%")) / 100
    val = [pct(r[2]) for r in rows]
    for r in rows:
        p10, interval = r[4].split(" [")
        lo, hi = (pct(x) for x in interval.rstrip("]").split(", "))
        assert lo <= pct(p10) <= hi and r[5] == "all 300 targets |"
    # Y is a noisy linear image of X: the best linear map retrieves most test words.
    assert pct(rows[0][4].split(" [")[0]) >= 0.8
    best = rows[int(np.argmax(val))]  # the recommendation is the best *validation* P@10
    assert f"**Recommended map: {best[0].lstrip('| ')}**" in summary
    assert f"Expected P@10 on new words of this pair: {best[4].split(' [')[0]}" in summary
    cli = {"softmax kNN": "best", "softmax kNN + two-direction retrieval": "best",
           "least squares (best linear)": "lstsq", "Procrustes (best linear)": "procrustes"}
    assert f"--method {cli[best[0].lstrip('| ')]}`" in summary
    html = (out / "summary.html").read_text()
    assert "<table>" in html and "Recommended map" in html
