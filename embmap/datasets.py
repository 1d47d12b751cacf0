"""The bundled word-vector / graph-vector pair, and pairing a reader's own embeddings.

:func:`load_dataset` returns a :class:`PairedEmbeddings`: row ``i`` of ``X`` (GloVe 6B 50d) and
``Y`` (node2vec 50d of a WordNet word graph) belong to ``words[i]`` (``data/README.md``).
:func:`load_pair` loads it or a reader's own files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from embmap._validation import (
    as_indices,
    as_matrix,
    check_choice,
    check_int,
    check_real,
    holdout_rows,
)
from embmap.gold import GoldSets
from embmap.io import Embedding, from_keyedvectors, load_embedding, read_npz, read_word_rows

__all__ = [
    "DATA_FILES", "SKIPGRAM_FILES", "SOURCES", "PairedEmbeddings", "default_data_dir",
    "dictionary_gold_sets", "dictionary_pairs", "load_dataset", "load_pair", "pair_embeddings",
    "pair_words",
    "read_dictionary", "read_edge_list", "read_edges", "several_golds_message",
    "split_indices",
]

DATA_FILES = {"source": "glove50_graph_words.npz", "target": "node2vec50_seed1.npz",
              "target_alt": "node2vec50_seed2.npz", "out_of_graph": "glove50_out_of_graph.npz",
              "edges": "wordnet_edges.tsv.gz"}
# The skipgram model trained here (tools/build_skipgram.py) covers part of the graph words.
SKIPGRAM_FILES = {"source": "skipgram50_graph_words.npz",
                  "out_of_graph": "skipgram50_out_of_graph.npz"}
SOURCES = ("glove", "skipgram")


def default_data_dir() -> Path:
    """``$EMBMAP_DATA`` if set, else the repository's ``data/`` folder."""
    if os.environ.get("EMBMAP_DATA"):
        return Path(os.environ["EMBMAP_DATA"])
    return Path(__file__).resolve().parent.parent / "data"


@dataclass
class PairedEmbeddings:
    """Two embeddings of the same items, row-aligned, with a fixed split.

    ``words[i]`` is the item of row ``i`` of ``X`` (source) and ``Y`` (target); ``train``,
    ``val``, ``test`` are disjoint row indices. Optional: ``Y_alt`` (another node2vec seed, a
    control), ``edges`` (target graph, rows (m, 2)), ``freq_rank`` (0 = most frequent source
    word), ``oog_words`` / ``X_oog`` (source words without a target), ``target_words`` (each
    row's target word, from a dictionary), ``gold_sets`` (each row's gold rows, itself
    included, when a dictionary gives several targets; score with :meth:`gold`), ``coverage``
    (what was paired) and ``source_parts`` (a :class:`embmap.joined.JoinedSource`, refitted by
    :meth:`head` and :meth:`resplit`).
    """

    words: list
    X: np.ndarray
    Y: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    Y_alt: np.ndarray | None = None
    edges: np.ndarray | None = None
    freq_rank: np.ndarray | None = None
    oog_words: list = field(default_factory=list)
    X_oog: np.ndarray | None = None
    coverage: dict = field(default_factory=dict)
    seed: int = 0
    target_words: list | None = None
    gold_sets: list | None = None
    source_parts: object | None = None

    def __post_init__(self):
        self.words = _check_words(self.words, strings=True)
        n = len(self.words)
        for name in ("X", "Y", "Y_alt"):
            if name != "Y_alt" or self.Y_alt is not None:
                setattr(self, name, _float_matrix(getattr(self, name), name, n))
        for name in ("train", "val", "test"):
            setattr(self, name, as_indices(getattr(self, name), name, n))
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = np.intersect1d(getattr(self, a), getattr(self, b))
            if shared.size:
                raise ValueError(f"{a} and {b} must be disjoint (a word in both would leak), "
                                 f"both hold row {shared[0]}")
        if self.edges is not None:
            self.edges = _check_edges(self.edges, n)
        rank = None if self.freq_rank is None else np.asarray(self.freq_rank)
        if rank is not None and (rank.shape != (n,) or not np.issubdtype(rank.dtype, np.integer)):
            raise ValueError(f"freq_rank must be an integer array of shape ({n},), got "
                             f"{rank.dtype} {rank.shape}")
        if self.X_oog is not None:
            self.X_oog = _float_matrix(self.X_oog, "X_oog", len(self.oog_words), min_rows=0)
            if self.X_oog.shape[1] != self.X.shape[1]:
                raise ValueError(
                    f"X_oog must have X's {self.X.shape[1]} columns, got {self.X_oog.shape[1]}")
        if self.gold_sets is not None:
            self.gold_sets = _check_gold_sets(self.gold_sets, n)
        if not isinstance(self.coverage, dict):
            raise TypeError(f"coverage must be a dict, got {type(self.coverage).__name__}")
        self.seed = check_int(self.seed, "seed", minimum=0)
        if self.source_parts is not None and (list(self.source_parts.words) != self.words
                                              or self.source_parts.X.shape != self.X.shape):
            raise ValueError("source_parts must describe the rows of X (same words and shape)")

    def __len__(self):
        return len(self.words)

    def gold(self, rows):
        """The gold answers of ``rows`` as :func:`embmap.evaluation.evaluate` takes them.

        ``rows`` itself when ``gold_sets`` is None, else a
        :class:`embmap.gold.GoldSets`: ``evaluate(pred[pair.test], Y, pair.gold(pair.test))``.
        """
        rows = as_indices(rows, "rows", len(self))
        if self.gold_sets is None:
            return rows
        return GoldSets.from_lists([self.gold_sets[r] for r in rows])

    @property
    def index(self) -> dict:
        """Mapping word -> row."""
        return {w: i for i, w in enumerate(self.words)}

    @property
    def graph(self):
        """The target graph over row indices, a networkx ``Graph`` (needs ``edges``)."""
        import networkx as nx

        if self.edges is None:
            raise ValueError("this pair has no graph edges")
        edges = _check_edges(self.edges, len(self))  # the attribute may have been reassigned
        graph = nx.Graph()
        graph.add_nodes_from(range(len(self.words)))
        graph.add_edges_from(map(tuple, edges.tolist()))
        return graph

    def resplit(self, seed: int, val_fraction=None, test_fraction=None) -> PairedEmbeddings:
        """The same pair with another seeded split; the fractions default to the current ones."""
        n = len(self)
        val_fraction = len(self.val) / n if val_fraction is None else val_fraction
        test_fraction = len(self.test) / n if test_fraction is None else test_fraction
        train, val, test = split_indices(n, seed, val_fraction, test_fraction)
        return replace(self, train=train, val=val, test=test, seed=seed,
                       **_rejoined(self, np.arange(n), train))

    def head(self, n: int) -> PairedEmbeddings:
        """The first ``n`` pairs (the most frequent bundled words), re-split: the quick mode."""
        n = check_int(n, "n", minimum=10, maximum=len(self))
        edges = None if self.edges is None else _check_edges(self.edges, len(self))
        edges = None if edges is None else edges[(edges < n).all(axis=1)]
        train, val, test = split_indices(n, self.seed, len(self.val) / len(self),
                                         len(self.test) / len(self))
        gold_sets = None if self.gold_sets is None else [g[g < n] for g in self.gold_sets[:n]]
        if gold_sets is not None and all(len(g) == 1 for g in gold_sets):
            gold_sets = None
        cut = {name: None if getattr(self, name) is None else getattr(self, name)[:n]
               for name in ("Y", "Y_alt", "freq_rank", "target_words")}
        return replace(self, words=self.words[:n], **cut, gold_sets=gold_sets, edges=edges,
                       train=train, val=val, test=test,
                       **_rejoined(self, np.arange(n), train, X=self.X[:n],
                                   coverage={**self.coverage, "head": n}))

    def __repr__(self):
        return (f"PairedEmbeddings({len(self)} pairs, X {self.X.shape[1]}d, Y {self.Y.shape[1]}d, "
                f"train/val/test {len(self.train)}/{len(self.val)}/{len(self.test)}, "
                f"seed {self.seed})")


def _check_words(words, strings=False) -> list:
    """A non-empty list of unique words (of ``str`` with ``strings``)."""
    if isinstance(words, (str, bytes)) or not hasattr(words, "__len__"):
        raise TypeError(f"words must be a list of strings, got {type(words).__name__}")
    words = list(words)
    if not words:
        raise ValueError("words must hold at least one word")
    bad = next((w for w in words if not isinstance(w, str)), None) if strings else None
    if bad is not None:
        raise TypeError(f"words must be strings, got {bad!r} ({type(bad).__name__})")
    if len(set(words)) != len(words):
        seen = set()
        dup = next(w for w in words if w in seen or seen.add(w))
        raise ValueError(f"words must be unique (one row per word), {dup!r} appears twice")
    return words


def _check_train(train, n: int) -> np.ndarray:
    """Training rows in ``[0, n)``, at least one, none repeated."""
    train = as_indices(train, "train", n, min_len=1)
    if len(np.unique(train)) != len(train):
        raise ValueError("train must not repeat a row")
    return train


def _float_matrix(M, name: str, n_rows: int, min_rows: int = 1) -> np.ndarray:
    """A finite float matrix with ``n_rows`` rows; float32/float64 kept as given."""
    raw = np.asarray(M)
    dtype = raw.dtype if raw.dtype in (np.float32, np.float64) else np.float32
    out = as_matrix(raw, name, dtype=dtype, min_rows=min_rows)
    if len(out) != n_rows:
        raise ValueError(f"{name} must have one row per word ({n_rows}), got {len(out)}")
    return out


def _check_gold_sets(gold_sets, n: int) -> list:
    """One sorted int array per row, in ``[0, n)``, each holding its own row."""
    if isinstance(gold_sets, (str, bytes)) or not hasattr(gold_sets, "__len__"):
        raise TypeError(f"gold_sets must be a list of int arrays (one per row) or None, got "
                        f"{type(gold_sets).__name__}")
    if len(gold_sets) != n:
        raise ValueError(f"gold_sets must have one entry per word ({n}), got {len(gold_sets)}")
    out = []
    for i, g in enumerate(gold_sets):
        arr = as_indices(np.atleast_1d(np.asarray(g)), f"gold_sets[{i}]", n, min_len=1)
        if not np.any(arr == i):
            raise ValueError(f"gold_sets[{i}] must hold row {i} itself (each row is a gold "
                             f"answer for its own word), got {arr.tolist()}")
        out.append(np.unique(arr))
    return out


def _check_edges(edges, n=None) -> np.ndarray:
    """Graph edges as an int64 array (m, 2) of row indices (in ``[0, n)`` when ``n`` is given)."""
    if edges is None:
        raise TypeError("edges is required, got None")
    arr = np.asarray(edges)
    if arr.size == 0:
        arr = arr.astype(np.int64).reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"edges must be an array of shape (m, 2), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        # Casting 3.7 to 3 would silently rewire the graph: refuse instead.
        raise TypeError(f"edges must hold integer row indices, got dtype {arr.dtype} "
                        "(convert exact whole numbers yourself with edges.astype(int))")
    if arr.size and (arr.min() < 0 or (n is not None and arr.max() >= n)):
        bound = f"lie in [0, {n})" if n is not None else "hold row indices >= 0"
        raise ValueError(f"edges must {bound}, got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64, copy=False)


def _rejoined(pair, rows, train, **changes) -> dict:
    """``changes`` plus, for a joined source, ``X`` / ``X_oog`` / ``source_parts`` refitted on ``train``.

    A new split must refit the per-part normalisation, or test words would shape it.
    """
    if pair.source_parts is None:
        return changes
    joined = pair.source_parts.rejoin(rows, train)
    coverage = {**changes.get("coverage", pair.coverage), "parts": joined.coverage()}
    out = {**changes, "X": joined.X, "source_parts": joined, "coverage": coverage}
    if pair.source_parts.oog_parts and len(pair.oog_words):
        out["X_oog"] = joined.transform(joined.oog_parts, pair.oog_words)[0]
    return out


def split_indices(n: int, seed: int = 0, val_fraction=0.1, test_fraction=0.1):
    """Deterministic train/validation/test row indices (each sorted); an empty test split raises."""
    n = check_int(n, "n", minimum=2)
    seed = check_int(seed, "seed", minimum=0)
    val_fraction, test_fraction = _check_fractions(val_fraction, test_fraction)
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1 (leave training rows), got "
                         f"{val_fraction} + {test_fraction}")
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)  # Python floats: ints
    if n_test == 0:
        raise ValueError(f"test_fraction={test_fraction} of n={n} rows rounds to 0 test rows")
    if n - n_test - n_val < 1:
        raise ValueError(f"val_fraction={val_fraction} and test_fraction={test_fraction} of "
                         f"n={n} rows leave no training rows")
    rest, test = holdout_rows(n, n_test, seed)   # the same draw as every hold-out in embmap
    val, train = rest[:n_val], rest[n_val:]
    return np.sort(train), np.sort(val), np.sort(test)


def _check_fractions(val_fraction, test_fraction):
    return (check_real(val_fraction, "val_fraction", low=0.0, high=1.0, high_open=True),
            check_real(test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True,
                       high_open=True))


def _check_split_sizes(n, val_fraction, test_fraction) -> None:
    """Refuse a split with an empty part (NaN scores), naming the sizes before any split is drawn."""
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    sizes = {"training": n - n_test - n_val, "validation": n_val, "test": n_test}
    wanted = {"training": True, "validation": val_fraction > 0, "test": True}
    empty = [name for name, size in sizes.items() if wanted[name] and size <= 0]
    if empty:
        raise ValueError(
            f"only {n} shared word pairs: the {' and '.join(empty)} split(s) would be empty "
            f"(train/validation/test sizes {max(sizes['training'], 0)}/{n_val}/{n_test}); "
            "pair more words (check the dictionary and casing) or change val_fraction / "
            "test_fraction")


def _as_embedding(obj, name) -> Embedding:
    if isinstance(obj, Embedding):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        return load_embedding(obj)
    if hasattr(obj, "index_to_key") and hasattr(obj, "vectors"):  # gensim KeyedVectors
        return from_keyedvectors(obj)
    if isinstance(obj, tuple) and len(obj) == 2:
        return Embedding(list(obj[0]), obj[1])
    raise TypeError(
        f"{name} must be an Embedding, a file path, gensim KeyedVectors or (words, vectors)")


def read_dictionary(path) -> list:
    """Word pairs ``source_word target_word``, one per line (:func:`embmap.io.read_word_rows`)."""
    return read_word_rows(path, 2)


def dictionary_pairs(src_words, trg_words, entries) -> tuple[list, dict, list]:
    """Group dictionary entries by source word; one training target per word.

    A source word's golds are its listed target words found in ``trg_words`` (in target-file
    order). Rows are one per source word, in ``src_words`` order; each trains on ("primary")
    the first of its golds that no other row trains on, words with a single gold served first,
    then the others, each in source order. A word whose golds are all taken is dropped. Nothing
    depends on the order of ``entries``. Returns ``pairs`` (source word, primary target), in
    source order; ``golds`` (source word -> its gold target words); ``dropped`` source words.
    """
    s_rank = {w: i for i, w in reversed(list(enumerate(src_words)))}  # first occurrence wins
    t_rank = {w: i for i, w in reversed(list(enumerate(trg_words)))}
    grouped = {}
    for s_word, t_word in entries:
        if s_word in s_rank and t_word in t_rank:
            grouped.setdefault(s_word, set()).add(t_word)
    golds = {s: sorted(ts, key=t_rank.__getitem__) for s, ts in grouped.items()}
    order = sorted(golds, key=s_rank.__getitem__)
    taken, primary, dropped = set(), {}, []
    for s in [w for w in order if len(golds[w]) == 1] + [w for w in order if len(golds[w]) > 1]:
        t = next((t for t in golds[s] if t not in taken), None)
        if t is None:
            dropped.append(s)
        else:
            primary[s] = t
            taken.add(t)
    pairs = [(s, primary[s]) for s in order if s in primary]
    return pairs, golds, sorted(dropped, key=s_rank.__getitem__)


def dictionary_gold_sets(pairs, golds, dropped=()) -> tuple[list | None, dict]:
    """Each row's gold rows from :func:`dictionary_pairs` output, and the coverage counts.

    A gold target that is no row's training target is not a candidate (counted).
    ``gold_sets`` is None when no row has a second candidate gold.
    """
    row_of = {t: i for i, (_, t) in enumerate(pairs)}
    sets = [sorted(row_of[t] for t in golds[s] if t in row_of) for s, _ in pairs]
    counts = {
        "source_words_with_several_targets": sum(len(golds[s]) > 1 for s, _ in pairs),
        "gold_targets_not_candidates": sum(t not in row_of for s, _ in pairs for t in golds[s]),
        "dictionary_words_dropped": len(dropped),
    }
    several = any(len(g) > 1 for g in sets)
    return ([np.array(g, dtype=np.int64) for g in sets] if several else None), counts


def several_golds_message(n_rows: int, counts: dict) -> str:
    """The one line said when a dictionary gives some source words several targets."""
    extra = ""
    if counts["gold_targets_not_candidates"]:
        extra += (f"; {counts['gold_targets_not_candidates']:,} gold targets are no word's "
                  "training target, so not candidates")
    if counts["dictionary_words_dropped"]:
        extra += f"; {counts['dictionary_words_dropped']:,} words dropped (all their targets taken)"
    return (f"dictionary: {counts['source_words_with_several_targets']:,} of {n_rows:,} source "
            "words have several gold targets (a hit on any counts; each word trains on one "
            f"target: the first in the target file's order that no other word trains on){extra}")


def pair_words(src_words, trg_words, dictionary=None) -> tuple[list, dict, list]:
    """embmap's one word pairing: :func:`dictionary_pairs` of ``dictionary``, or of the shared words.

    ``dictionary``: a path (:func:`read_dictionary`), a list of ``(source, target)``
    entries, or None (each source word with itself, in source order).
    """
    if dictionary is None:
        entries = [(w, w) for w in src_words]
    elif isinstance(dictionary, (str, os.PathLike)):
        entries = read_dictionary(dictionary)
    else:
        entries = list(dictionary)
    return dictionary_pairs(src_words, trg_words, entries)


def pair_embeddings(src, trg, dictionary=None, seed=0, val_fraction=0.1, test_fraction=0.1):
    """Pair two embeddings row by row (:func:`dictionary_pairs`) and report coverage.

    ``src`` and ``trg``: an Embedding, a path, gensim KeyedVectors or ``(words, vectors)``; the
    dimensions may differ. ``dictionary`` (a path or ``(src_word, trg_word)`` entries) says which
    words go together (default: the shared words); several targets of one word are all gold
    (``gold_sets``, and one printed line), and it trains on one (:func:`dictionary_pairs`).
    ``coverage`` says how much was lost.
    """
    val_fraction, test_fraction = _check_fractions(val_fraction, test_fraction)
    src, trg = _as_embedding(src, "src"), _as_embedding(trg, "trg")
    if isinstance(dictionary, (str, os.PathLike)):
        dictionary = read_dictionary(dictionary)
    elif dictionary is not None:
        dictionary = list(dictionary)
    pairs, golds, dropped = pair_words(src.words, trg.words, dictionary)
    if not pairs:
        raise ValueError("the two embeddings share no words (check the dictionary and casing)")
    coverage = {"source_words": len(src), "target_words": len(trg), "pairs": len(pairs),
                "source_coverage": len(pairs) / len(src),
                "target_coverage": len(pairs) / len(trg)}
    gold_sets = None
    if dictionary is not None:
        # Per source word, not per line: a word listing two gold targets is one word to pair.
        n_words = len({s for s, _ in dictionary})
        coverage.update(dictionary_entries=len(dictionary), dictionary_source_words=n_words,
                        dictionary_coverage=len(pairs) / max(n_words, 1))
        gold_sets, counts = dictionary_gold_sets(pairs, golds, dropped)
        coverage.update(counts)
        if counts["source_words_with_several_targets"]:
            print(several_golds_message(len(pairs), counts))
    _check_split_sizes(len(pairs), val_fraction, test_fraction)
    train, val, test = split_indices(len(pairs), seed, val_fraction, test_fraction)
    return PairedEmbeddings(
        words=[s for s, _ in pairs], X=src.vectors[src.rows([s for s, _ in pairs])],
        Y=trg.vectors[trg.rows([t for _, t in pairs])], train=train, val=val, test=test,
        coverage=coverage, seed=seed, target_words=[t for _, t in pairs], gold_sets=gold_sets)


def read_edges(path, index: dict, skip_unknown: bool = False) -> np.ndarray:
    """Edge list (two words per line, gzip or not) as row indices of ``index``.

    A word outside ``index`` raises, unless ``skip_unknown`` (the edge is dropped).
    """
    return read_word_rows(path, 2, index=index, unknown="drop" if skip_unknown else "raise")


def read_edge_list(path, target_words) -> tuple[np.ndarray, dict]:
    """A reader's graph: edges between paired target words (no self-loops), and the counts."""
    words = read_word_rows(path, 2)
    if not words:
        raise ValueError(f"{path}: no edges")
    edges = read_edges(path, {w: i for i, w in enumerate(target_words)}, skip_unknown=True)
    edges = edges[edges[:, 0] != edges[:, 1]]
    return edges, {"graph_edges_read": len(words), "graph_edges_kept": len(edges)}


def _data_folder(data_dir, names) -> Path:
    """The data folder (:func:`default_data_dir` for None), checked to hold the files ``names``."""
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a path or None, got {type(data_dir).__name__}")
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    if not folder.exists():
        raise FileNotFoundError(f"data_dir {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"data_dir {folder} is a file, not a folder")
    missing = [name for name in names if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {missing}; rebuild with `make data` (see data/README.md)")
    return folder


def load_dataset(data_dir=None, seed: int = 0, val_fraction=0.1, test_fraction=0.1,
                 source: str = "glove", weights=None):
    """Load a bundled word-vector -> node2vec pair (no network).

    ``data_dir`` holds the files of ``data/README.md`` (default :func:`default_data_dir`);
    ``seed`` seeds the split. ``source="glove"``: GloVe 6B 50d, every graph word;
    ``"skipgram"``: the model trained here, which covers fewer graph words: only those are
    paired (GloVe's order, a split over them, edges with an uncovered end dropped). A tuple of
    both joins them (:func:`embmap.joined.join_sources`, per-part ``weights``, default 1) over
    every graph word with the GloVe pair's split; ``source_parts`` holds the parts, and a word
    lacking a part gets a zero block (map it with :class:`embmap.joined.PartFallbackMap`).
    """
    if not isinstance(source, str):
        return _load_joined(data_dir, seed, val_fraction, test_fraction, source, weights)
    check_choice(source, "source", SOURCES)
    if weights is not None:
        raise ValueError("weights apply to a joined source only (source=('glove', 'skipgram'))")
    files = DATA_FILES if source == "glove" else SKIPGRAM_FILES
    folder = _data_folder(data_dir, [*DATA_FILES.values(), *(
        SKIPGRAM_FILES.values() if source == "skipgram" else ())])
    glove, target, target_alt = (read_npz(folder / DATA_FILES[key])
                                 for key in ("source", "target", "target_alt"))
    if glove.words != target.words or target.words != target_alt.words:
        raise ValueError(f"{folder}: the source and target files list different words")
    src = glove if source == "glove" else read_npz(folder / SKIPGRAM_FILES["source"])
    rows = target.rows(src.words)
    if np.any(rows < 0):
        unknown = [w for w, r in zip(src.words, rows) if r < 0]
        raise ValueError(f"{folder}: skipgram words not in the graph: {unknown[:5]}")
    if np.any(np.diff(rows) <= 0):
        raise ValueError(f"{folder}: skipgram words are not in the graph files' order")
    oog = read_npz(folder / files["out_of_graph"])
    pair = pair_embeddings(src, Embedding(target.words, target.vectors), seed=seed,
                           val_fraction=val_fraction, test_fraction=test_fraction)
    pair.Y_alt = target_alt.vectors[rows]
    freq_rank = glove.extra.get("freq_rank")
    pair.freq_rank = None if freq_rank is None else freq_rank[rows]
    pair.edges = read_edges(folder / DATA_FILES["edges"], pair.index,
                            skip_unknown=source != "glove")
    pair.oog_words, pair.X_oog = oog.words, oog.vectors
    pair.coverage["source"] = source
    return pair


def _check_parts_source(source) -> tuple:
    """A tuple ``source`` as distinct names of bundled sources, at least two."""
    try:
        names = tuple(source)
    except TypeError:
        raise TypeError(f"source must be one of {list(SOURCES)} or a tuple of them, got "
                        f"{source!r}") from None
    for name in names:
        check_choice(name, "source", SOURCES)
    if len(set(names)) != len(names):
        raise ValueError(f"source names a part twice: {names}")
    if len(names) < 2:
        raise ValueError(f"source={names!r} names one part only: use it directly "
                         f"(source={names[0]!r})" if names else "source names no part")
    return names


def _load_joined(data_dir, seed, val_fraction, test_fraction, source, weights):
    """The bundled pair with a joined source (see :func:`load_dataset`)."""
    from embmap.joined import join_sources

    names = _check_parts_source(source)
    pair = load_dataset(data_dir, seed, val_fraction, test_fraction, source="glove")
    folder = _data_folder(data_dir, SKIPGRAM_FILES.values())
    # GloVe covers every graph word, so the rows (and the split) are the GloVe pair's.
    graph = {"glove": Embedding(pair.words, pair.X),
             "skipgram": read_npz(folder / SKIPGRAM_FILES["source"])}
    oog = {"glove": Embedding(pair.oog_words, pair.X_oog),
           "skipgram": read_npz(folder / SKIPGRAM_FILES["out_of_graph"])}
    joined = join_sources({n: graph[n] for n in names}, pair.words, pair.train, weights)
    joined.oog_parts = {n: oog[n] for n in names}
    oog_words = list(dict.fromkeys(w for n in names for w in oog[n].words))
    coverage = {**pair.coverage, "source": "+".join(names), "parts": joined.coverage()}
    return replace(pair, X=joined.X, oog_words=oog_words, source_parts=joined,
                   X_oog=joined.transform(joined.oog_parts, oog_words)[0], coverage=coverage)


def load_pair(source_path=None, target_path=None, dictionary_path=None, graph_path=None,
              seed: int = 0, data_dir=None, source: str = "glove") -> PairedEmbeddings:
    """The pair a notebook works on: the bundled one, or a reader's own files.

    Without ``source_path`` and ``target_path``: :func:`load_dataset` (``data_dir``,
    ``source``). Else a reader's embeddings (any format :func:`embmap.io.load_embedding` reads),
    paired by :func:`pair_embeddings` with ``dictionary_path`` (``source_word target_word`` per
    line; default the shared words) and the graph of ``graph_path`` (:func:`read_edge_list`);
    ``oog_words`` / ``X_oog`` are the unpaired source words and ``coverage["source"]`` is
    ``"reader"``. ``source`` is checked even then.
    """
    if isinstance(source, str):
        check_choice(source, "source", SOURCES)
    else:
        _check_parts_source(source)
    if source_path is None and target_path is None:
        if dictionary_path is not None or graph_path is not None:
            raise ValueError("dictionary_path and graph_path need source_path and target_path")
        return load_dataset(data_dir, seed=seed, source=source)
    if source_path is None or target_path is None:
        raise ValueError("give both source_path and target_path (or neither, for the bundled "
                         f"pair); got source_path={source_path!r}, target_path={target_path!r}")
    src = _as_embedding(source_path, "source_path")
    pair = pair_embeddings(src, target_path, dictionary=dictionary_path, seed=seed)
    pair.coverage["source"] = "reader"
    paired = set(pair.words)
    rows = [i for i, w in enumerate(src.words) if w not in paired]
    pair.oog_words, pair.X_oog = [src.words[i] for i in rows], src.vectors[rows]
    if graph_path is not None:
        pair.edges, counts = read_edge_list(graph_path, pair.target_words)
        pair.coverage.update(counts)
    return pair
