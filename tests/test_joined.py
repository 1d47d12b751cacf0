"""Joined sources: several embeddings of the same words as one source (``embmap.joined``).

Known answers on small synthetic parts (a weighted slice is exactly ``w`` times
the part normalised on its training rows; a word lacking a part is mapped
exactly as a map fitted on the parts it has), the bundled joined pair, and the
command line with two source files.
"""

import numpy as np
import pytest
from sklearn.base import clone

from embmap.io import Embedding, read_npz, write_word2vec_text
from embmap.joined import (
    PartFallbackMap,
    check_every_part,
    join_sources,
    normaliser_from_mean,
    part_mask,
)
from embmap.local import SoftmaxKNNMap, mapped_sources
from embmap.preprocess import Normaliser, normalise

N, D_A, D_B, N_B = 200, 8, 6, 150  # part "b" covers the first N_B words only


@pytest.fixture(scope="module")
def parts():
    """Part "a" covers every word, part "b" the first N_B; training rows are the first 160."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(N)]
    a = Embedding(words, rng.normal(size=(N, D_A)) + 0.5)  # off-centre, so centring matters
    b = Embedding(words[:N_B], rng.normal(size=(N_B, D_B)) - 0.3)
    return {"words": words, "a": a, "b": b, "train": np.arange(160), "rng": rng}


def b_rows(parts, rows):
    """Rows (of ``words``) that part "b" covers, among ``rows``."""
    return rows[rows < N_B]


# ---------------------------------------------------------------------------
# join_sources: known answers
# ---------------------------------------------------------------------------


def test_one_part_is_refused_but_a_weighted_part_is_w_times_the_normalised_part(parts):
    """A single part is refused; with two parts, part a's slice is exactly 2.5 x normalise(a)."""
    with pytest.raises(ValueError, match="parts has one part only.*use it directly"):
        join_sources({"a": parts["a"]}, parts["words"], parts["train"])
    joined = join_sources({"a": parts["a"], "b": parts["b"]}, parts["words"], parts["train"],
                          weights={"a": 2.5})
    expected = 2.5 * normalise(parts["a"].vectors, fit_rows=parts["train"])
    assert np.array_equal(joined.X[:, joined.slices["a"]], expected)
    assert joined.X.dtype == np.float32 and joined.X.shape == (N, D_A + D_B)
    assert joined.weights == {"a": 2.5, "b": 1.0}


def test_two_parts_one_covering_every_word_are_the_concatenation_of_normalised_parts(parts):
    """Covered rows hold each part normalised on its own covered training rows; the rest is 0."""
    joined = join_sources({"a": parts["a"], "b": parts["b"]}, parts["words"], parts["train"])
    b_train = b_rows(parts, parts["train"])
    expected_b = Normaliser().fit(parts["b"].vectors[b_train]).transform(parts["b"].vectors)
    expected = np.zeros((N, D_A + D_B), dtype=np.float32)
    expected[:, :D_A] = normalise(parts["a"].vectors, fit_rows=parts["train"])
    expected[:N_B, D_A:] = expected_b
    assert np.array_equal(joined.X, expected)
    assert joined.has_part.sum(axis=0).tolist() == [N, N_B]
    assert joined.names == ("a", "b") and joined.slices == {"a": slice(0, 8), "b": slice(8, 14)}
    assert np.array_equal(part_mask(joined.X, joined.slices), joined.has_part)


def test_statistics_come_from_training_rows_only(parts):
    """Changing a test row's vectors leaves every other row alone; changing a training row does not."""
    base = join_sources({"a": parts["a"], "b": parts["b"]}, parts["words"], parts["train"])

    def changed(row):
        a = parts["a"].vectors.copy()
        a[row] += 5.0
        return join_sources({"a": Embedding(parts["words"], a), "b": parts["b"]},
                            parts["words"], parts["train"])

    test_changed = changed(180)  # not a training row
    assert np.array_equal(test_changed.normalisers["a"].means_[0], base.normalisers["a"].means_[0])
    others = np.arange(N) != 180
    assert np.array_equal(test_changed.X[others], base.X[others])
    train_changed = changed(3)  # the check can fail: a training row moves the mean
    assert not np.allclose(train_changed.normalisers["a"].means_[0], base.normalisers["a"].means_[0])


def test_transform_rebuilds_the_joined_rows_of_new_words_with_the_fitted_statistics(parts):
    """transform(parts, words) of the same words gives X; a part left out gives zero blocks."""
    joined = join_sources({"a": parts["a"], "b": parts["b"]}, parts["words"], parts["train"])
    words = parts["words"][140:170]  # b covers only the first 10 of them
    X, has = joined.transform({"a": parts["a"], "b": parts["b"]}, words)
    assert np.array_equal(X, joined.X[140:170]) and np.array_equal(has, joined.has_part[140:170])
    X_a, has_a = joined.transform({"a": parts["a"]}, words)
    assert not has_a[:, 1].any() and np.array_equal(X_a[:, :D_A], joined.X[140:170, :D_A])
    assert not X_a[:, D_A:].any()
    # A saved part mean gives back the same normaliser (the model file's route).
    rebuilt = normaliser_from_mean(joined.normalisers["b"].means_[0])
    assert np.array_equal(rebuilt.transform(parts["b"].vectors), joined.X[:N_B, D_A:])


def bad_cases(parts):
    words, train, a, b = parts["words"], parts["train"], parts["a"], parts["b"]
    nan_b = b.vectors.copy()
    nan_b[4, 0] = np.nan
    test_only = Embedding(words[180:], np.ones((20, 3)) + np.arange(3))
    return [
        ({"a": a}, words, train, None, "parts has one part only"),
        ([a, b], words, train, None, "parts must map"),
        ({"a": a, "b": b}, words, train, {"a": 0}, r"weights\['a'\] must be a finite number > 0"),
        ({"a": a, "b": b}, words, train, {"b": -1.0}, r"weights\['b'\] must be a finite"),
        ({"a": a, "b": b}, words, train, [1.0, np.inf], r"weights\['b'\] must be a finite"),
        ({"a": a, "b": b}, words, train, [np.nan, 1.0], r"weights\['a'\] must be a finite"),
        ({"a": a, "b": b}, words, train, [1.0], "weights must give one weight per part"),
        ({"a": a, "b": b}, words, train, {"c": 2.0}, r"weights names unknown parts \['c'\]"),
        ({"a": a, "b": (["x", "y"], np.ones((2, 6)))}, words, train, None,
         r"parts\['b'\] shares no word with words"),
        ({"a": a, "b": (b.words, nan_b)}, words, train, None,
         r"parts\['b'\] gives 1 word\(s\) NaN or inf values.*'w4'"),
        ({"a": a, "b": (b.words, np.zeros((N_B, D_B)))}, words, train, None,
         r"parts\['b'\] gives 150 word\(s\) an all-zero vector"),
        ({"a": a, "b": test_only}, words, train, None, r"parts\['b'\] covers no training row"),
        ({"a": a, "b": b}, words, np.arange(N + 1), None, r"train must lie in \[0, 200\)"),
        ({"a": a, "b": b}, words, np.array([0, 1, 1]), None, "train must not repeat a row"),
        ({"a": a, "b": b}, words, np.array([0.5, 1.0]), None, "train must hold integer"),
        ({"a": (words[:100], a.vectors[:100]), "b": b}, words, train, None,
         r"words holds 50 word\(s\) that no part covers, e.g. \['w150'"),
    ]


@pytest.mark.parametrize("case", range(16))
def test_bad_inputs_are_refused_naming_the_argument(parts, case):
    """Each bad input raises; the message names the argument (parts, weights, train, words)."""
    part_map, words, train, weights, message = bad_cases(parts)[case]
    with pytest.raises((ValueError, TypeError), match=message):
        join_sources(part_map, words, train, weights)


# ---------------------------------------------------------------------------
# PartFallbackMap: words lacking a part
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mapped(parts):
    """A joined source, targets that depend on both parts, and a fitted PartFallbackMap."""
    joined = join_sources({"a": parts["a"], "b": parts["b"]}, parts["words"], parts["train"])
    rng = np.random.default_rng(1)
    Y = (joined.X @ rng.normal(size=(D_A + D_B, 5))).astype(np.float32)
    Y[N_B:] = joined.X[N_B:, :D_A] @ rng.normal(size=(D_A, 5))
    train = parts["train"]
    model = PartFallbackMap(SoftmaxKNNMap(n_neighbors=5), joined.slices).fit(
        joined.X[train], Y[train])
    return {"joined": joined, "Y": Y, "model": model, "train": train}


def a_part(X):
    """The columns of part a, as a fresh C-ordered array (as a reader would fit on them)."""
    return np.ascontiguousarray(X[:, :D_A])


def test_a_word_lacking_a_part_gets_exactly_the_map_fitted_on_the_parts_it_has(mapped):
    """Test words without part b: the a-only kNN map fitted directly; with b: the joined map
    fitted on the training words that have both; and neither is the zero-filled joined map."""
    X, Y, train, model = mapped["joined"].X, mapped["Y"], mapped["train"], mapped["model"]
    lacking, complete = np.arange(160, 200), np.arange(150)[-10:]  # test rows 160..199 lack b
    a_only = SoftmaxKNNMap(n_neighbors=5).fit(a_part(X[train]), Y[train])
    assert np.array_equal(model.predict(X[lacking]), a_only.predict(a_part(X[lacking])))
    both = train[train < N_B]
    full = SoftmaxKNNMap(n_neighbors=5).fit(X[both], Y[both])
    assert np.array_equal(model.predict(X[complete]), full.predict(X[complete]))
    zero_filled = SoftmaxKNNMap(n_neighbors=5).fit(X[train], Y[train]).predict(X[lacking])
    assert not np.allclose(model.predict(X[lacking]), zero_filled)
    assert set(model.maps_) == {("a", "b"), ("a",), ("b",)}
    assert set(model.get_params(deep=False)) == {"base", "part_slices", "missing"}
    assert np.array_equal(clone(model).fit(X[train], Y[train]).predict(X[lacking]),
                          model.predict(X[lacking]))
    # mixed rows: each row as its own map predicts it
    mixed = np.r_[lacking[:3], complete[:3]]
    np.testing.assert_array_equal(model.predict(X[mixed])[:3], a_only.predict(a_part(X[lacking[:3]])))


def test_leave_one_out_training_predictions_use_each_rows_own_parts(mapped):
    """predict_training: a training row without b is the a-only map's leave-one-out row."""
    X, Y, train, model = mapped["joined"].X, mapped["Y"], mapped["train"], mapped["model"]
    loo = model.predict_training()
    a_only = SoftmaxKNNMap(n_neighbors=5).fit(a_part(X[train]), Y[train])
    lacking = np.flatnonzero(train >= N_B)
    assert len(lacking) == 10
    np.testing.assert_array_equal(loo[lacking], a_only.predict_training()[lacking])
    both = np.flatnonzero(train < N_B)
    full = SoftmaxKNNMap(n_neighbors=5).fit(X[train[both]], Y[train[both]])
    np.testing.assert_array_equal(loo[both], full.predict_training())
    sources = mapped_sources(model, X, train)  # CSLS sources: training rows leave-one-out
    np.testing.assert_array_equal(sources[train], loo)


def test_rows_lacking_a_part_are_refused_without_fallback(mapped, parts):
    """missing='raise' refuses them (count and rows); check_every_part names the words."""
    X, Y, train = mapped["joined"].X, mapped["Y"], mapped["train"]
    strict = PartFallbackMap(SoftmaxKNNMap(n_neighbors=5), mapped["joined"].slices,
                             missing="raise")
    with pytest.raises(ValueError, match=r"10 of 160 joined rows lack a part, e.g. row 150"):
        strict.fit(X[train], Y[train])
    both = train[train < N_B]
    strict.fit(X[both], Y[both])
    assert list(strict.maps_) == [("a", "b")]
    with pytest.raises(ValueError, match=r"40 of 40 joined rows lack a part.*lacks \['b'\]"):
        strict.predict(X[160:])
    with pytest.raises(ValueError, match=r"'w160' \(lacks \['b'\]\)"):
        check_every_part(X[160:], mapped["joined"].slices, words=parts["words"][160:])
    check_every_part(X[:N_B], mapped["joined"].slices)  # complete rows pass


def test_part_slices_must_tile_the_columns(mapped):
    """Slices that skip columns or do not cover X are refused."""
    X, Y = mapped["joined"].X[:20], mapped["Y"][:20]
    with pytest.raises(ValueError, match=r"part_slices\['b'\] must be the slice"):
        PartFallbackMap(part_slices={"a": slice(0, 8), "b": slice(9, 14)}).fit(X, Y)
    with pytest.raises(ValueError, match="part_slices cover 8 columns but X has 14"):
        PartFallbackMap(part_slices={"a": slice(0, 8)}).fit(X, Y)
    # a map that cannot be fitted on its rows is named by its parts
    with pytest.raises(ValueError, match=r"the map of the parts \['a', 'b'\] \(20 training rows"):
        PartFallbackMap(SoftmaxKNNMap(n_neighbors=30), mapped["joined"].slices).fit(X, Y)


# ---------------------------------------------------------------------------
# the bundled joined pair
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled():
    from embmap.datasets import load_dataset

    return {"joined": load_dataset(source=("glove", "skipgram")), "glove": load_dataset()}


def test_bundled_joined_pair_rows_coverage_and_glove_slice(bundled):
    """33,518 rows; skipgram covers 23,222; the GloVe slice is the GloVe pair normalised."""
    pair, glove = bundled["joined"], bundled["glove"]
    parts = pair.source_parts
    assert len(pair) == 33518 and pair.X.shape == (33518, 100)
    assert parts.has_part.sum(axis=0).tolist() == [33518, 23222]
    assert pair.coverage["parts"]["rows_with_every_part"] == 23222
    assert pair.coverage["source"] == "glove+skipgram"
    assert np.array_equal(pair.X[:, :50], normalise(glove.X, fit_rows=glove.train))
    assert np.array_equal(pair.Y, glove.Y) and np.array_equal(pair.test, glove.test)
    # the skipgram slice: the skipgram vectors normalised on the training rows they cover
    sg = read_npz(pair_data_file("skipgram50_graph_words.npz"))
    index = pair.index  # a property that builds the dict: once
    rows = np.array([index[w] for w in sg.words])
    fit = np.isin(rows, pair.train)
    expected = Normaliser().fit(sg.vectors[fit]).transform(sg.vectors)
    assert np.array_equal(pair.X[rows, 50:], expected)
    assert not pair.X[~parts.has_part[:, 1], 50:].any()
    # out-of-graph words of both models, joined the same way
    assert pair.X_oog.shape == (len(pair.oog_words), 100) and len(pair.oog_words) == 7876


def pair_data_file(name):
    from embmap.datasets import default_data_dir

    return default_data_dir() / name


def test_renormalising_the_joined_pair_is_nearly_a_no_op(bundled):
    """normalised_spaces (unit-center-unit on train) moves each joined row by < 0.1 degree-ish:
    every row keeps cosine > 0.999 with its unit-length original."""
    from embmap._validation import safe_unit_rows
    from embmap.experiments import normalised_spaces

    pair = bundled["joined"]
    X2, _ = normalised_spaces(pair)
    cos = (safe_unit_rows(pair.X) * X2).sum(axis=1)
    assert cos.min() > 0.999
    assert not np.allclose(X2, safe_unit_rows(pair.X))  # it is not exactly a no-op


def test_head_and_resplit_refit_the_part_statistics_on_their_own_training_rows(bundled):
    """A cut or re-split joined pair is normalised on its new training rows (no test leak)."""
    pair = bundled["joined"]
    for smaller in (pair.head(2000), pair.resplit(3)):
        glove = smaller.source_parts.raw["glove"]
        expected = normalise(glove, fit_rows=smaller.train)
        assert np.array_equal(smaller.X[:, :50], expected)
        assert smaller.X_oog.shape[1] == 100
        assert smaller.coverage["parts"]["rows"] == len(smaller)
    assert pair.head(2000).coverage["head"] == 2000
    assert not np.array_equal(pair.resplit(3).X[:, :50], pair.X[:, :50])


def test_bundled_source_argument_checks():
    """One part, an unknown part, a repeated part, and weights with a single source are refused."""
    from embmap.datasets import load_dataset

    with pytest.raises(ValueError, match="names one part only: use it directly"):
        load_dataset(source=("glove",))
    with pytest.raises(ValueError, match="source must be one of"):
        load_dataset(source=("glove", "fasttext"))
    with pytest.raises(ValueError, match="names a part twice"):
        load_dataset(source=("glove", "glove"))
    with pytest.raises(ValueError, match="weights apply to a joined source only"):
        load_dataset(source="glove", weights=[1.0])


# ---------------------------------------------------------------------------
# command line: two source files
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    """Two source files (b lacks 20 of a's words) and a target that depends on both."""
    d = tmp_path_factory.mktemp("joined_cli")
    rng = np.random.default_rng(2)
    n = 160
    words = [f"w{i}" for i in range(n)]
    A, B = rng.normal(size=(n, 8)), rng.normal(size=(n, 6))
    Y = np.hstack([A, B]) @ rng.normal(size=(14, 10))
    write_word2vec_text(d / "a.txt", Embedding(words + ["only_a"], np.vstack([A, A[:1] + 1])))
    write_word2vec_text(d / "b.txt", Embedding(words[:140], B[:140]))
    write_word2vec_text(d / "trg.txt", Embedding(words, Y))
    (d / "words.txt").write_text("".join(f"{w}\n" for w in words[100:]))
    return d


def test_cli_fit_joins_two_source_files_and_maps_words_every_file_has(cli_files, tmp_path, capsys):
    """fit a.txt b.txt trg.txt: 140 pairs (words both sources have), weights and part means in
    the model; map skips the 20 words b lacks and maps the rest exactly as the joined source."""
    from embmap.app.cli import main
    from embmap.app.model_file import load_model

    d = cli_files
    assert main(["fit", str(d / "a.txt"), str(d / "b.txt"), str(d / "trg.txt"), "--method",
                 "knn", "--source-weight", "1", "--source-weight", "0.5",
                 "--out", str(tmp_path / "m.npz")]) == 0
    assert "joining 2 source files on the 140 words" in capsys.readouterr().err
    model = load_model(tmp_path / "m.npz")
    assert model.header["n_pairs"] == 140 and model.header["source_dim"] == 14
    assert [p["weight"] for p in model.header["source_parts"]] == [1.0, 0.5]
    a, b = read_npz_or_text(d / "a.txt"), read_npz_or_text(d / "b.txt")
    words = [f"w{i}" for i in range(140)]
    joined = join_sources({"a": a, "b": b}, words, np.arange(140), weights=[1.0, 0.5])
    np.testing.assert_array_equal(model.arrays["source_part_mean_1"],
                                  joined.normalisers["b"].means_[0])
    assert main(["map", str(tmp_path / "m.npz"), str(d / "words.txt"), "--out",
                 str(tmp_path / "mapped.vec")]) == 0
    assert "20 of 60 words" in capsys.readouterr().err
    mapped = read_npz_or_text(tmp_path / "mapped.vec")
    assert mapped.words == words[100:140]
    np.testing.assert_allclose(mapped.vectors, model.predict(joined.X[100:140]), atol=1e-6)
    # an embedding file cannot be split into parts: refused with a one-line reason
    assert main(["map", str(tmp_path / "m.npz"), str(d / "a.txt"), "--out",
                 str(tmp_path / "x.vec")]) == 1
    assert "maps a word list" in capsys.readouterr().err


def read_npz_or_text(path):
    from embmap.io import load_embedding

    return load_embedding(path)


def test_cli_source_weights_must_match_the_source_files(cli_files, tmp_path, capsys):
    """One --source-weight for two files, or a weight of 0, is a usage error (2)."""
    from embmap.app.cli import main

    d = cli_files
    args = ["fit", str(d / "a.txt"), str(d / "b.txt"), str(d / "trg.txt"), "--out",
            str(tmp_path / "m.npz")]
    assert main([*args, "--source-weight", "2"]) == 2
    assert "--source-weight given 1 time(s) for 2 source file(s)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--source-weight", "0", "--source-weight", "1"])
    assert exit_info.value.code == 2


def test_cli_report_joins_on_the_notebooks_training_words(cli_files, tmp_path, monkeypatch):
    """report a.txt b.txt trg.txt hands the notebooks one joined file, normalised per part on
    the training words of the split load_pair draws (same seed), not on all words."""
    import embmap.app.report
    from embmap.app.cli import main
    from embmap.datasets import load_pair

    calls = []

    def fake_run_report(source_path, *args, **kwargs):
        calls.append(source_path)
        return {"notebooks": [], "summary": "summary.md"}

    monkeypatch.setattr(embmap.app.report, "run_report", fake_run_report)
    d = cli_files
    assert main(["report", str(d / "a.txt"), str(d / "b.txt"), str(d / "trg.txt"), "--out",
                 str(tmp_path / "rep"), "--seed", "4"]) == 0
    assert calls == [str(tmp_path / "rep" / "joined_source.npz")]
    written = read_npz(calls[0])
    pair = load_pair(calls[0], str(d / "trg.txt"), seed=4)
    a, b = read_npz_or_text(d / "a.txt"), read_npz_or_text(d / "b.txt")
    words = [f"w{i}" for i in range(140)]
    assert written.words == words and len(pair.train) < 140
    expected = join_sources({"a": a, "b": b}, words, pair.train)
    np.testing.assert_array_equal(written.vectors, expected.X)
