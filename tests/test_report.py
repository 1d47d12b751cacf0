"""``embmap report`` on a reader's pair: what the summary says about the run and the data.

The pair (written on the fly, small so quick mode stays fast): 600 shared words between
``words.vec`` (word2vec text, 40-d) and ``graph.bin`` (word2vec binary, 48-d), plus an edge
list ``edges.txt``; the first ``N_TIED`` target rows share one vector, so ties cap P@1 below
100% and the summary's duplicate figures have something to count.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from embmap.io import Embedding, write_word2vec_binary, write_word2vec_text

N_SHARED, N_SRC_ONLY, N_TRG_ONLY, D_SRC, D_TRG, N_TIED = 600, 100, 50, 40, 48, 60


def write_pair(folder: Path, seed: int = 0) -> dict:
    """Write the pair into ``folder``; return the report's arguments naming its files."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_SHARED + N_SRC_ONLY, D_SRC)).astype(np.float32)
    A, B = rng.normal(size=(D_SRC, 64)) / np.sqrt(D_SRC), rng.normal(size=(64, D_TRG))
    Y_shared = np.tanh(X[:N_SHARED] @ A) @ B + 0.3 * rng.normal(size=(N_SHARED, D_TRG))
    Y_shared[:N_TIED] = Y_shared[0]  # one group of identical target vectors
    Y = np.vstack([Y_shared, rng.normal(size=(N_TRG_ONLY, D_TRG))]).astype(np.float32)
    shared = [f"word{i:04d}" for i in range(N_SHARED)]
    write_word2vec_text(folder / "words.vec",
                        Embedding(shared + [f"srconly{i:04d}" for i in range(N_SRC_ONLY)], X))
    write_word2vec_binary(folder / "graph.bin",
                          Embedding(shared + [f"trgonly{i:04d}" for i in range(N_TRG_ONLY)], Y))
    ring = [(shared[i], shared[(i + 1) % N_SHARED]) for i in range(N_SHARED)]
    (folder / "edges.txt").write_text("".join(f"{a} {b}\n" for a, b in ring))
    return {"source_path": folder / "words.vec", "target_path": folder / "graph.bin",
            "graph_path": folder / "edges.txt"}


NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
# The report run below uses copies of 01-03 only (04-06 and 08 add minutes in quick mode);
# 02 holds the control that a reader's pair replaces, 03 the linear maps.
RUN_NOTEBOOKS = ("01_two_spaces_first_look.ipynb", "02_are_the_spaces_isomorphic.ipynb",
                 "03_linear_maps.ipynb")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One quick report run on the pair; its result, summary text and the pair as loaded."""
    from embmap.app.report import run_report
    from embmap.datasets import load_pair

    folder, notebooks = tmp_path_factory.mktemp("pair"), tmp_path_factory.mktemp("nbs")
    paths = write_pair(folder)
    for name in RUN_NOTEBOOKS:
        shutil.copy(NOTEBOOK_DIR / name, notebooks / name)
    result = run_report(paths["source_path"], paths["target_path"],
                        graph_path=paths["graph_path"], out=folder / "report", quick=True,
                        notebooks=notebooks, progress=False)
    pair = load_pair(paths["source_path"], paths["target_path"], graph_path=paths["graph_path"])
    return {"result": result, "summary": Path(result["summary"]).read_text(), "pair": pair}


def test_summary_names_the_readers_files_not_the_bundled_data(report):
    summary, result = report["summary"], report["result"]
    assert [r["status"] for r in result["notebooks"]] == ["ok"] * len(RUN_NOTEBOOKS)
    assert "* source: `words.vec`" in summary and "* target: `graph.bin`" in summary
    # Notebook 02 printed that control (b) is a noised copy; the summary's lines say so.
    assert any("control (b) is a noised copy" in s for s in result["notebooks"][1]["substitutes"])
    assert "two node2vec runs" not in summary
    observed = [line for line in summary.splitlines() if line.startswith("* Observation")]
    control_b = [line for line in observed if "relational similarity is" in line]
    assert len(control_b) == 1 and "for a noised copy of `graph.bin`" in control_b[0]
    assert len(observed) >= 10
    for line in observed:
        assert not re.search(r"\b(E1|E2|GloVe|node2vec|WordNet)\b", line), line
    assert any("`words.vec` vs `graph.bin`" in line for line in observed)


def test_quick_mode_first_line_says_what_it_cuts(report):
    first = report["summary"].splitlines()[0]
    assert first.startswith("**Quick mode") and "not findings about the pair" in first
    # the sizes come from the notebooks' `if quick:` cells and the report's own cut
    assert "8,000 in 02; 5,000 in 03; 3,000 in the table of maps" in first
    assert "(this pair has 600, so none are dropped)" in first
    assert "fewer epochs" not in first  # 04, 05, 06 and 08 (the trained maps) did not run


def test_duplicate_figures_and_the_p1_cap_match_duplicate_rows(report):
    from embmap.diagnostics import duplicate_rows

    pair, summary = report["pair"], report["summary"]
    dup = duplicate_rows(pair.Y, gold=pair.test)
    assert 0 < dup["p@1_cap"] < 1  # the planted group reaches the test words
    assert (f"so P@1 is capped at {100 * dup['p@1_cap']:.2f}% "
            f"(P@10 at {100 * dup['p@10_cap']:.2f}%) over the {len(pair.test)} test words") \
        in summary
    assert "| rows that share their vector with another row | 0 | 60 |" in summary
    assert f"| largest group of rows with one vector | 1 | {N_TIED} |" in summary
    assert "| all-zero rows | 0 | 0 |" in summary
    assert dup["rows_shared"] == dup["largest_group"] == N_TIED


def test_coverage_is_a_table_of_labelled_figures(report):
    summary = report["summary"]
    assert "| words in `words.vec` | 700 |" in summary
    assert "| words in `graph.bin` | 650 |" in summary
    assert "| pairs (a `words.vec` word with its `graph.bin` word) | 600 |" in summary
    assert "| share of `graph.bin` words paired | 92.31% |" in summary
    assert "| edges kept (both ends paired) | 600 |" in summary
    assert "| training / validation / test words (seed 0) | 480 / 60 / 60 |" in summary
    assert "{" not in summary and "PairedEmbeddings(" not in summary  # no repr or dict dump


def test_one_recommendation_with_its_validation_number(report):
    summary, result = report["summary"], report["result"]
    lines = [line for line in summary.splitlines() if "Recommended map" in line]
    assert len(lines) == 1
    best = max(m["val_p10"] for m in result["maps"])
    rec = result["recommended"]
    assert rec["val_p10"] == best
    assert lines[0].startswith(f"**Recommended map: {rec['method']}**")
    assert f"chosen by its validation P@10 of {100 * best:.2f}% on 60 validation words" in lines[0]


def test_a_different_best_in_notebook_03_is_explained():
    from embmap.app.report import other_bests

    maps = [{"method": "Procrustes (best linear)"}]
    rec = {"method": "softmax kNN"}
    names = {"source": "`a.vec`", "target": "`b.bin`", "graph": None}
    best = ("Observation: chosen on validation words, the best map is VecMap --supervised: "
            "test P@10 (CSLS) 20.00% ± 1.00%")
    predictor = ("Observation: the best *predictor of graph vectors* (scored in the graph "
                 "space) is least squares: 18.00% ± 1.00%.")
    shared = [{"notebook": "03_linear_maps.ipynb", "observations": [best, predictor]}]
    (line,) = other_bests(shared, maps, rec, names, quick=False)
    assert line.startswith("Notebook 03's best linear map, VecMap --supervised, is scored in its "
                           "own shared space")
    assert "predicts no `b.bin` vectors" in line and "best of those: least squares" in line
    same = [{"notebook": "03_linear_maps.ipynb", "observations": [
        "Observation: chosen on validation words, the best map is Procrustes: test P@10"]}]
    assert other_bests(same, maps, rec, names, quick=False) == []


def test_quick_mode_statements_match_the_notebooks():
    from embmap.app.report import QUICK_EPOCHS, notebooks_accepting_a_pair, quick_cuts

    chosen = notebooks_accepting_a_pair()
    assert quick_cuts(chosen) == {"02_are_the_spaces_isomorphic.ipynb": 8000,
                                  "03_linear_maps.ipynb": 5000,
                                  "04_the_questions_mlp.ipynb": 3000,
                                  "05_which_loss.ipynb": 3000, "06_local_maps.ipynb": 3000,
                                  "08_where_maps_fail.ipynb": 3000}
    source = {nb.name[:2]: nb.read_text() for nb in chosen}
    for number in ("04", "05"):
        assert "model_seeds, max_epochs = model_seeds[:1], 5" in source[number]
        assert "max_epochs = 150" in source[number] and "model_seeds = [0, 1, 2]" in source[number]
    assert "max_epochs=2 if quick else 10" in source["06"]
    assert "max_epochs = 5 if quick else 150" in source["08"]
    assert [nbs for nbs, _ in QUICK_EPOCHS] == [("04", "05"), ("06",), ("08",)]


def test_a_failed_notebook_is_named_with_cell_exception_and_message(tmp_path, capsys):
    import nbformat

    from embmap.app.cli import main

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("source_path = None\ntarget_path = None\n"
                                  "dictionary_path = None\ngraph_path = None\nquick = False\n"
                                  "seed = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('raise ValueError("boom")')])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (tmp_path / "nbs").mkdir()
    nbformat.write(nb, tmp_path / "nbs" / "01_fails.ipynb")
    paths = write_pair(tmp_path)
    rc = main(["report", str(paths["source_path"]), str(paths["target_path"]), "--out",
               str(tmp_path / "out"), "--quick", "--notebooks", str(tmp_path / "nbs")])
    assert rc == 1
    assert "1 notebook(s) failed: 01_fails.ipynb" in capsys.readouterr().err
    summary = (tmp_path / "out" / "summary.md").read_text()
    # cell 1 of the notebook as stored (counted from 0); In [3] in the executed copy, after
    # the parameters cell and papermill's injected-parameters cell
    assert ("| failed in cell 1 (counting from 0; In [3] in the executed copy): ValueError: boom |" in summary)
    assert "**Failed in cell 1 (counting from 0; In [3] in the executed copy): ValueError: boom**" in summary
    assert "Traceback" not in summary


def test_describe_failure_keeps_the_whole_message():
    from papermill.exceptions import PapermillExecutionError

    from embmap.app.report import describe_failure

    long = "x" * 400 + " end"
    error = PapermillExecutionError(7, 5, "raise", "KeyError", long, ["\x1b[31mTraceback..."])
    assert describe_failure(error) == f"failed in cell 7 (counting from 0; In [5] in the executed copy): KeyError: {long}"
    assert describe_failure(OSError("disk full")) == "failed: OSError: disk full"


def test_summary_html_has_style_tables_the_embedded_figure_and_notebook_links(report):
    import base64

    folder = Path(report["result"]["summary"]).parent
    page = (folder / "summary.html").read_text()
    assert "<style>" in page and "font-family" in page and "max-width" in page
    assert page.count("<table>") >= 3 and "<td>words in <code>words.vec</code></td>" in page
    assert "PairedEmbeddings(" not in page
    found = re.search(r'<img alt="test P@10[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"',
                      page)
    assert found and base64.b64decode(found.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    for name in RUN_NOTEBOOKS:
        html_name = name.replace(".ipynb", ".html")
        assert (f'<h3>{name}</h3>\n<p><a href="{name}">executed notebook</a> · '
                f'<a href="{html_name}">HTML</a></p>') in page
        assert (folder / html_name).exists()
    assert "![test P@10 of each map" in report["summary"] and (folder / "maps_p10.png").exists()


def test_maps_figure_draws_the_intervals_and_chance():
    from embmap.app.report import _maps_figure

    maps = [{"method": m, "p10": p, "p10_lo": p - 0.05, "p10_hi": p + 0.05, "candidates": 500,
             "n_test": 60} for m, p in (("least squares (best linear)", 0.3), ("kNN", 0.5))]
    png = _maps_figure(maps)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
