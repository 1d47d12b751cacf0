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
    # 2 of the dictionary's 3 source words are paired (katze's second line is a second gold)
    assert pair.coverage["dictionary_source_words"] == 3
    assert pair.coverage["dictionary_coverage"] == pytest.approx(2 / 3)
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


def _several_gold_pair_inputs(seed=0, n=60):
    """Source words s0..s(n-1); target words T_s0.. in a shuffled file order, then two spares.

    Every source word lists its own T_ word; a third of them also list a second
    target word (another word's, or a spare target nobody trains on).
    """
    rng = np.random.default_rng(seed)
    src = Embedding([f"s{i}" for i in range(n)], rng.normal(size=(n, 4)))
    trg_words = [f"T_s{i}" for i in rng.permutation(n)] + ["T_spare0", "T_spare1"]
    trg = Embedding(trg_words, rng.normal(size=(len(trg_words), 5)))
    entries = [(f"s{i}", f"T_s{i}") for i in range(n)]
    for i in range(0, n, 3):
        other = f"T_spare{i % 2}" if i % 6 == 0 else f"T_s{(i + 1) % n}"
        entries.append((f"s{i}", other))
    entries += [("s1", "T_s1"), ("unknown", "T_s2"), ("s2", "T_unknown")]  # repeat and misses
    return src, trg, entries


def test_dictionary_pairing_does_not_depend_on_line_order(capsys):
    from embmap.evaluation import evaluate

    src, trg, entries = _several_gold_pair_inputs()
    pairs = []
    for seed in range(4):
        shuffled = [entries[i] for i in np.random.default_rng(seed).permutation(len(entries))]
        pairs.append(pair_embeddings(src, trg, dictionary=shuffled, seed=2))
    first = pairs[0]
    out = capsys.readouterr().out
    assert out.count("dictionary: 20 of 60 source words have several gold targets") == 4
    assert first.words == [f"s{i}" for i in range(60)]  # source-file order
    for other in pairs[1:]:
        assert other.words == first.words and other.target_words == first.target_words
        for a, b in zip((first.train, first.val, first.test), (other.train, other.val, other.test)):
            np.testing.assert_array_equal(a, b)
        assert all(np.array_equal(a, b) for a, b in zip(first.gold_sets, other.gold_sets))
        np.testing.assert_array_equal(first.Y, other.Y)
        pred = first.X @ np.random.default_rng(0).normal(size=(4, 5))
        assert (evaluate(pred[first.test], first.Y, first.gold(first.test), "csls")
                == evaluate(pred[other.test], other.Y, other.gold(other.test), "csls"))
    # every word trains on its own T_ word (single-gold words first keep theirs)
    assert first.target_words == [f"T_s{i}" for i in range(60)]
    index = first.index
    # s3 also lists T_s4 (row 4): both rows are gold for s3; s0 also lists a spare (no row)
    np.testing.assert_array_equal(first.gold_sets[index["s3"]], [3, 4])
    np.testing.assert_array_equal(first.gold_sets[index["s0"]], [0])
    assert first.coverage["source_words_with_several_targets"] == 20
    assert first.coverage["gold_targets_not_candidates"] == 10  # s0, s6, ..., s54: spares
    assert first.coverage["dictionary_words_dropped"] == 0


def test_primary_target_rule_and_dropped_words(capsys):
    src = (["a", "b", "c", "d"], np.eye(4))
    trg = (["y", "x", "z"], np.eye(3))  # target-file order: y, x, z
    # a lists x and y; b lists only y; c lists x and y; d lists only z
    entries = [("a", "x"), ("a", "y"), ("b", "y"), ("c", "y"), ("c", "x"), ("d", "z")]
    pair = pair_embeddings(src, trg, dictionary=entries, test_fraction=0.25, val_fraction=0.0)
    # b and d (one gold each) are served first: b gets y; then a: y taken -> x; c: both taken
    assert pair.words == ["a", "b", "d"] and pair.target_words == ["x", "y", "z"]
    assert [g.tolist() for g in pair.gold_sets] == [[0, 1], [1], [2]]
    assert pair.coverage["dictionary_words_dropped"] == 1
    assert "1 words dropped" in capsys.readouterr().out
    gold = pair.gold(np.array([0, 2]))
    assert [s.tolist() for s in gold.sets()] == [[0, 1], [2]]


def test_one_gold_per_word_keeps_the_plain_rows_and_prints_nothing(capsys):
    src, trg, entries = _several_gold_pair_inputs()
    one = [(s, t) for s, t in entries if t == f"T_{s}"]
    pair = pair_embeddings(src, trg, dictionary=one[::-1])
    assert pair.gold_sets is None and capsys.readouterr().out == ""
    assert pair.gold(pair.test) is not None
    np.testing.assert_array_equal(pair.gold(pair.test), pair.test)
    assert pair.coverage["source_words_with_several_targets"] == 0
    shared = pair_embeddings(src, (src.words, trg.vectors[:60]))  # no dictionary: no new keys
    assert "source_words_with_several_targets" not in shared.coverage
    assert shared.gold_sets is None and capsys.readouterr().out == ""


def test_head_and_resplit_carry_the_gold_sets(capsys):
    src, trg, entries = _several_gold_pair_inputs()
    pair = pair_embeddings(src, trg, dictionary=entries, seed=1)
    other = pair.resplit(5)
    assert all(np.array_equal(a, b) for a, b in zip(pair.gold_sets, other.gold_sets))
    assert not np.array_equal(other.test, pair.test)
    small = pair.head(28)
    assert len(small.gold_sets) == 28
    assert all(g.max() < 28 and i in g for i, g in enumerate(small.gold_sets))
    # s27 also lists T_s28, a row the head drops: only itself is left
    np.testing.assert_array_equal(pair.gold_sets[27], [27, 28])
    np.testing.assert_array_equal(small.gold_sets[27], [27])
    np.testing.assert_array_equal(small.gold_sets[21], [21, 22])
    with pytest.raises(ValueError, match="gold_sets"):
        pair.__class__(**{**pair.__dict__, "gold_sets": pair.gold_sets[:5]})
    bad = [g.copy() for g in pair.gold_sets]
    bad[3] = np.array([4])
    with pytest.raises(ValueError, match=r"gold_sets\[3\] must hold row 3"):
        pair.__class__(**{**pair.__dict__, "gold_sets": bad})
