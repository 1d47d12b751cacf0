"""Splits, pairing a reader's own embeddings, and normalisation fitted on training rows."""

import numpy as np
import pytest

from embmap.datasets import pair_embeddings, split_indices
from embmap.io import Embedding, write_word2vec_text
from embmap.preprocess import Normaliser, normalise


def test_split_is_deterministic_disjoint_and_complete():
    a = split_indices(1000, seed=3)
    b = split_indices(1000, seed=3)
    c = split_indices(1000, seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], c[2])
    train, val, test = a
    assert (len(train), len(val), len(test)) == (800, 100, 100)
    assert len(np.unique(np.concatenate(a))) == 1000
    with pytest.raises(ValueError):
        split_indices(10, test_fraction=0.0)


def test_pair_shared_words_with_different_dimensions(tmp_path):
    rng = np.random.default_rng(0)
    src = Embedding(["a", "b", "c", "d"], rng.normal(size=(4, 3)))
    trg = Embedding(["d", "b", "x"], rng.normal(size=(3, 5)))
    path = tmp_path / "trg.txt"
    write_word2vec_text(path, trg)
    pair = pair_embeddings(src, path, test_fraction=0.5, val_fraction=0.0)
    assert pair.words == ["b", "d"]
    np.testing.assert_array_equal(pair.X[1], src.vectors[3])
    np.testing.assert_allclose(pair.Y[0], trg.vectors[1], rtol=1e-6)
    assert pair.coverage["source_coverage"] == 0.5
    assert pair.coverage["target_coverage"] == pytest.approx(2 / 3)
    assert pair.X.shape == (2, 3) and pair.Y.shape == (2, 5)


def test_pair_with_dictionary_file(tmp_path):
    src = (["hund", "katze", "maus"], np.eye(3))
    trg = (["dog", "cat"], np.eye(2))
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("hund dog\nkatze cat\nkatze dog\nmaus mouse\n")
    pair = pair_embeddings(src, trg, dictionary=dictionary, test_fraction=0.5, val_fraction=0.0)
    assert pair.words == ["hund", "katze"]  # duplicate and unknown entries dropped
    np.testing.assert_array_equal(pair.Y, np.eye(2))
    assert pair.coverage["dictionary_coverage"] == 0.5
    dictionary.write_text("hund dog extra\n")
    with pytest.raises(ValueError, match="line 1: expected 2 columns"):
        pair_embeddings(src, trg, dictionary=dictionary)
    with pytest.raises(ValueError, match="share no words"):
        pair_embeddings(src, trg)


def test_normalizer_unit_center_unit_uses_training_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=2.0, size=(200, 4))
    norm = Normaliser().fit(X[:100])
    Z = norm.transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)
    # The mean subtracted is that of the unit-normalised training rows, not of all rows.
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(norm.means_[0], U[:100].mean(axis=0))
    assert not np.allclose(norm.means_[0], U.mean(axis=0))
    # After centering the training rows have (nearly) zero mean direction.
    assert np.linalg.norm(Z[:100].mean(axis=0)) < 0.1 < np.linalg.norm(U.mean(axis=0))
    np.testing.assert_allclose(normalise(X, fit_rows=np.arange(100)), Z, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown normalisation"):
        Normaliser(steps=("unit", "whiten")).fit(X)


def test_bundled_files_match_readme_checksums():
    import hashlib
    import re
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "data"
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", (folder / "README.md").read_text(), re.MULTILINE)
    names = {name for _, name in listed}
    assert len(listed) == 9 and {"skipgram50_graph_words.npz", "wordnet_pos_senses.npz"} < names
    assert names == {p.name for p in folder.iterdir() if p.name != "README.md"}  # every file listed
    for digest, name in listed:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total < 35e6


def test_bundled_dataset_contract():
    from embmap import load_dataset

    pair = load_dataset(seed=0)
    n = len(pair.words)
    assert n == 33518 and pair.X.shape == (n, 50) and pair.Y.shape == (n, 50)
    assert pair.Y_alt.shape == (n, 50) and len(pair.edges) == 149445
    assert pair.edges.min() >= 0 and pair.edges.max() < n
    assert len(pair.oog_words) == 5000 and not set(pair.oog_words) & set(pair.words)
    assert np.all(np.diff(pair.freq_rank) > 0)  # rows in GloVe frequency order
    assert len(pair.train) + len(pair.val) + len(pair.test) == n
    again = load_dataset(seed=0)
    np.testing.assert_array_equal(again.test, pair.test)


def test_head_keeps_rows_aligned_and_edges_inside():
    from embmap import load_dataset

    pair = load_dataset(seed=1)
    small = pair.head(2000)
    assert small.words == pair.words[:2000] and small.X.shape == (2000, 50)
    np.testing.assert_array_equal(small.Y_alt, pair.Y_alt[:2000])
    assert small.edges.max() < 2000 and len(small.edges) > 0
    assert len(small.train) + len(small.val) + len(small.test) == 2000
    assert small.seed == 1
    with pytest.raises(ValueError):
        pair.head(5)


def test_bundled_skipgram_pair_is_aligned_with_the_graph_pair():
    import json
    from pathlib import Path

    from embmap import load_dataset
    from embmap.io import read_npz

    folder = Path(__file__).resolve().parent.parent / "data"
    manifest = json.loads((folder / "MANIFEST.json").read_text())["skipgram"]
    glove = load_dataset(seed=0)
    pair = load_dataset(seed=0, source="skipgram")
    n = len(pair)
    assert n == manifest["counts"]["covered_graph_words"] and 20000 < n < len(glove)
    assert pair.X.shape == (n, 50) and pair.Y.shape == (n, 50) and pair.Y_alt.shape == (n, 50)
    # Rows are graph words in the graph files' order, with their own node2vec rows.
    glove_index = glove.index  # (a property that builds the dict: bind it once)
    rows = np.array([glove_index[w] for w in pair.words])
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(pair.Y, glove.Y[rows])
    np.testing.assert_array_equal(pair.Y_alt, glove.Y_alt[rows])
    np.testing.assert_array_equal(pair.freq_rank, glove.freq_rank[rows])
    # X is the skipgram file, row for row; the corpus counts respect min_count.
    raw = read_npz(folder / "skipgram50_graph_words.npz")
    assert raw.words == pair.words
    np.testing.assert_array_equal(pair.X, raw.vectors)
    assert raw.extra["count"].min() >= manifest["config"]["min_count"]
    # Edges: exactly the graph edges whose two ends are covered.
    covered = set(pair.words)
    expected = {frozenset((glove.words[a], glove.words[b])) for a, b in glove.edges
                if glove.words[a] in covered and glove.words[b] in covered}
    assert {frozenset((pair.words[a], pair.words[b])) for a, b in pair.edges} == expected
    # Same split protocol over the covered words; out-of-graph words really are outside.
    train, val, test = split_indices(n, seed=0)
    for got, want in ((pair.train, train), (pair.val, val), (pair.test, test)):
        np.testing.assert_array_equal(got, want)
    assert len(pair.oog_words) == 5000 and not set(pair.oog_words) & set(glove.words)
    assert pair.X_oog.shape == (5000, 50)
    # A real embedding: semantically close words are closer than unrelated ones.
    index = pair.index
    unit = pair.X / np.linalg.norm(pair.X, axis=1, keepdims=True)

    def cos(a, b):
        return float(unit[index[a]] @ unit[index[b]])
    assert cos("king", "queen") > cos("king", "carrot")
    assert cos("river", "water") > cos("river", "sword")
