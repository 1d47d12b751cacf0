"""The skipgram build on tiny inputs (seconds; no Debian packages needed)."""

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

# The maintainer builds are scripts in tools/, not package modules.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from build_data import BuildConfig, build_pairs, read_wordnet, word_graph, write_data
from build_skipgram import (
    SkipgramConfig,
    dictd_entries,
    sentences_of,
    tokenize,
    train_skipgram,
    update_manifest,
    webster_blocks,
    write_skipgram,
)
from test_build_data import VOCAB, wndb  # noqa: F401  (the tiny WordNet fixture)

from embmap.datasets import load_dataset

# A GCIDE excerpt in its dictd layout: the WordNet blocks must never reach the corpus.
GCIDE = """\
Aback \\A*back"\\ ([.a]*b[a^]k"), adv. [Pref. a- + back; AS. on b[ae]c.]
   Toward the back or rear; backward. See {Back}.
   [1913 Webster]

Zebra \\Ze"bra\\, n.
   a horselike animal with stripes; leaksynset
   [WordNet 1.5]

Acorn \\A"corn\\, n.
   The fruit of the oak, an oval nut.
   [Webster 1913 Suppl.]

Oak \\Oak\\, n.
   a tree; from WordNet glosses leaksynset
   [1913 Webster + WordNet 1.5]

Ohm \\Ohm\\, n.
   a unit of resistance; patrickonly
   [PJC]
"""


def test_webster_blocks_keep_only_webster_1913():
    blocks = webster_blocks(GCIDE)
    text = " ".join(blocks)
    assert len(blocks) == 2
    assert "backward" in text and "oval nut" in text
    assert "leaksynset" not in text and "patrickonly" not in text
    # pronunciation dropped, accent codes folded into letters, braces removed
    assert "bk" not in tokenize(text) and "baec" in tokenize(text) and "{" not in text


def test_tokenize_and_sentences():
    assert tokenize("Don't PANIC, 42 towels!") == ["don", "t", "panic", "towels"]
    sents = sentences_of(["a b c d e", "", "f"], max_tokens=2)
    assert sents == [["a", "b"], ["c", "d"], ["e"], ["f"]]  # no empty sentence


def test_dictd_entries_drop_header():
    text = "00-database-short\n   Title\n\nfoo\n   first entry\n\nbar\n   second\n\n abcdefghijklmnopqrstuvwxyz\n"
    assert dictd_entries(text) == ["foo\n   first entry", "bar\n   second"]


def _corpus(seed=0, n=400):
    # Two topics: words co-occur within a topic, never across.
    rng = np.random.default_rng(seed)
    topics = [["dog", "cat", "hound", "beast", "animal"], ["rock", "stone", "big", "large", "tom"]]
    return [list(rng.choice(topics[i % 2], size=12)) + ["the"] for i in range(n)]


def test_training_is_deterministic_and_learns_cooccurrence():
    config = SkipgramConfig(dim=8, epochs=5, min_count=3)
    a = train_skipgram(_corpus(), config).wv
    b = train_skipgram(_corpus(), config).wv
    np.testing.assert_array_equal(a.vectors, b.vectors)  # one worker, fixed seed and hash
    assert a.similarity("dog", "cat") > a.similarity("dog", "rock")


def test_skipgram_files_load_as_a_paired_source(wndb, tmp_path):  # noqa: F811
    # The graph data first (as build_data writes it) ...
    rng = np.random.default_rng(0)
    glove = rng.normal(size=(len(VOCAB), 6)).astype(np.float32)
    graph = word_graph(read_wordnet(wndb), keep=set(VOCAB))
    config = BuildConfig(dim=4, walks_per_node=5, walk_length=6, seeds=(1, 2), n_out_of_graph=3)
    out = build_pairs(graph, VOCAB, glove, config, log=lambda *_: None)
    folder = tmp_path / "data"
    write_data(out, folder, config, provenance={})
    # ... then a skipgram model that never saw "tom" and "beast" (not covered).
    corpus = [[w for w in s if w not in ("tom", "beast")] + ["extra"] for s in _corpus()]
    sg_config = SkipgramConfig(dim=8, epochs=2, n_out_of_graph=3)
    wv = train_skipgram(corpus, sg_config).wv
    counts = write_skipgram(wv, out["words"], folder, sg_config)
    assert counts["covered_graph_words"] == 4 and counts["out_of_graph_words"] == 3
    update_manifest(folder, {"counts": counts})
    # build_data keeps the skipgram section when it rewrites the manifest
    write_data(out, folder, config, provenance={})
    assert json.loads((folder / "MANIFEST.json").read_text())["skipgram"]["counts"] == counts

    pair = load_dataset(folder, source="skipgram", val_fraction=0.25, test_fraction=0.25)
    glove_pair = load_dataset(folder, source="glove")
    assert pair.words == ["dog", "cat", "animal", "hound"]  # covered, graph order
    rows = [glove_pair.index[w] for w in pair.words]
    np.testing.assert_array_equal(pair.X, np.stack([wv[w] for w in pair.words]))
    np.testing.assert_array_equal(pair.Y, glove_pair.Y[rows])
    np.testing.assert_array_equal(pair.Y_alt, glove_pair.Y_alt[rows])
    np.testing.assert_array_equal(pair.freq_rank, glove_pair.freq_rank[rows])
    # Edges with an uncovered end are dropped; the others are re-indexed.
    kept = {(a, b) for a, b in graph.edges() if {a, b} <= set(pair.words)}
    got = {(pair.words[i], pair.words[j]) for i, j in pair.edges}
    assert {frozenset(e) for e in got} == {frozenset(e) for e in kept} and kept
    # the most frequent out-of-graph words, by corpus count (brute force)
    counted = Counter(w for sentence in corpus for w in sentence if w not in out["words"])
    chosen = [counted[w] for w in pair.oog_words]
    assert chosen == sorted(chosen, reverse=True) and pair.X_oog.shape == (3, 8)
    assert min(chosen) >= max(c for w, c in counted.items() if w not in pair.oog_words)
    assert len(pair.train) + len(pair.val) + len(pair.test) == 4
    with pytest.raises(ValueError, match="source must be one of"):
        load_dataset(folder, source="word2vec")
