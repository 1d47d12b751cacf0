"""Small generated pairs shaped like the ones readers bring (used by the notebook tests).

Each shape is a function ``write(folder) -> dict`` that writes the files into
``folder`` and returns the notebook parameters naming them. The target is a
noisy non-linear function of the source, so maps have something to learn. The
shapes, and what each exercises:

``twins``
    Groups of exactly identical rows in both spaces (as matrix-factorisation
    and random-walk graph embeddings give structurally equivalent nodes),
    every source word paired (no unpaired words), no graph file, different
    dimensions (50 -> 64), a GloVe-style headerless source and a word2vec
    text target, both with a token that contains spaces.
``nearly_complete``
    A small pair (500 pairs) where only 3 source words lack a target, a
    gzipped word2vec binary target whose words differ from the source words
    (``T_word``), a dictionary in which some words list two gold targets, and
    a graph file over the target words.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from embmap.io import Embedding, write_word2vec_binary, write_word2vec_text


def _related(rng, n, d_src, d_trg, noise=0.3):
    """Source rows and a noisy non-linear image of them."""
    X = rng.normal(size=(n, d_src))
    A, B = rng.normal(size=(d_src, 80)) / np.sqrt(d_src), rng.normal(size=(80, d_trg))
    Y = np.tanh(X @ A) @ B + noise * rng.normal(size=(n, d_trg))
    return X.astype(np.float32), Y.astype(np.float32)


def _write_text(path: Path, words, M, header: bool) -> None:
    """word2vec text (header) or GloVe text (no header), written by hand: embmap's writer
    refuses words with spaces, which readers' files (glove.840B) do contain."""
    lines = [f"{len(words)} {M.shape[1]}\n"] if header else []
    lines += [w + " " + " ".join(f"{v:.6g}" for v in row) + "\n" for w, row in zip(words, M)]
    path.write_text("".join(lines), encoding="utf-8")


def _ring_edges(words, extra=()):
    return [(words[i], words[(i + 1) % len(words)]) for i in range(len(words))] + list(extra)


def write_twins(folder: Path, seed: int = 0, spaced_token: bool = True) -> dict:
    """800 pairs, all paired, identical-row groups in both spaces, no graph, 50 -> 64 d."""
    rng = np.random.default_rng(seed)
    n = 800
    X, Y = _related(rng, n, 50, 64)
    # Target: 40 "hubs" whose 4 leaves share one vector (160 rows in groups of 5 with the
    # hub's first leaf), and one large group of 12, as equivalent graph nodes get.
    for hub in range(40):
        rows = 100 + 5 * hub + np.arange(5)
        Y[rows] = Y[rows[0]]
    Y[700:712] = Y[700]
    # Source: a few identical pairs of rows (the same word vector under two spellings).
    for i in range(10):
        X[600 + 2 * i + 1] = X[600 + 2 * i]
    words = [f"word{i:04d}" for i in range(n)]
    if spaced_token:
        words[5] = "at name@domain.com"      # a token with spaces, as in glove.840B.300d.txt
    _write_text(folder / "words.txt", words, X, header=False)   # GloVe style
    _write_text(folder / "graph.vec", words, Y, header=True)    # word2vec text
    return {"source_path": str(folder / "words.txt"), "target_path": str(folder / "graph.vec")}


def write_nearly_complete(folder: Path, seed: int = 1) -> dict:
    """500 pairs + 3 unpaired source words, T_word targets, two golds for some words, graph."""
    rng = np.random.default_rng(seed)
    n = 500
    X, Y = _related(rng, n + 3, 50, 50)
    words = [f"w{i:04d}" for i in range(n + 3)]
    src = Embedding(words, X)
    trg = Embedding([f"T_{w}" for w in words[:n]], Y[:n])
    write_word2vec_text(folder / "words.vec", src)
    write_word2vec_binary(folder / "graph.bin", trg)
    (folder / "graph.bin.gz").write_bytes(gzip.compress((folder / "graph.bin").read_bytes()))
    (folder / "graph.bin").unlink()
    # Every word's own target; every 4th word also lists its ring neighbour's target, half
    # of them before the own one, so line order would matter under a first-line rule.
    lines = []
    for i, w in enumerate(words[:n]):
        own, other = f"T_{w}", f"T_{words[(i + 1) % n]}"
        if i % 4 == 0:
            lines += [(w, other), (w, own)] if i % 8 == 0 else [(w, own), (w, other)]
        else:
            lines.append((w, own))
    (folder / "pairs.txt").write_text("".join(f"{a} {b}\n" for a, b in lines))
    edges = _ring_edges(trg.words, extra=[("T_w0001", "T_w0100"), ("T_w0002", "nowhere")])
    (folder / "edges.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in edges))
    return {"source_path": str(folder / "words.vec"), "target_path": str(folder / "graph.bin.gz"),
            "dictionary_path": str(folder / "pairs.txt"), "graph_path": str(folder / "edges.tsv")}


SHAPES = {"twins": write_twins, "nearly_complete": write_nearly_complete}
