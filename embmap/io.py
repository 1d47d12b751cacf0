"""Read and write embeddings: word2vec text and binary formats and ``.npz``.

Every reader returns an :class:`Embedding` (a word list plus a float32
matrix whose rows follow the list). Malformed files raise
:class:`EmbeddingFormatError`, which names the file and the line, because a
silent off-by-one in a 30,000-line file is the kind of bug that makes a map
look "terrible" for reasons that have nothing to do with the model.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class EmbeddingFormatError(ValueError):
    """A malformed embedding file; the message names the file and the line."""

    def __init__(self, path, line, message):
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line = path, line


@dataclass
class Embedding:
    """Words and their vectors; ``vectors[i]`` belongs to ``words[i]``."""

    words: list
    vectors: np.ndarray
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.words = [str(w) for w in self.words]
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D, got shape {self.vectors.shape}")
        if len(self.words) != len(self.vectors):
            raise ValueError(f"{len(self.words)} words but {len(self.vectors)} vectors")
        seen = set()
        for word in self.words:
            if word in seen:
                raise ValueError(f"duplicate word {word!r}")
            seen.add(word)

    def __len__(self):
        return len(self.words)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def index(self) -> dict:
        """Mapping word -> row."""
        return {w: i for i, w in enumerate(self.words)}

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]


def _check_row(path, line_no, word, values, dim, seen):
    if len(values) != dim:
        raise EmbeddingFormatError(
            path, line_no, f"word {word!r} has {len(values)} values, expected {dim}"
        )
    if word in seen:
        raise EmbeddingFormatError(
            path, line_no, f"duplicate word {word!r} (first on line {seen[word]})"
        )
    if not np.all(np.isfinite(values)):
        raise EmbeddingFormatError(path, line_no, f"word {word!r} has a NaN or inf value")


def read_word2vec_text(path) -> Embedding:
    """Read the word2vec text format.

    The first line may be a ``"<count> <dim>"`` header (word2vec, fastText)
    or absent (GloVe's own files); each further line is a word followed by
    its values, separated by spaces.
    """
    path = Path(path)
    words, rows, seen = [], [], {}
    header, dim = None, None
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").rstrip(" ").split(" ")
            if line_no == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                header = (int(parts[0]), int(parts[1]))
                dim = header[1]
                continue
            if not line.strip():
                continue
            word, fields = parts[0], parts[1:]
            try:
                values = np.array(fields, dtype=np.float64)
            except ValueError:
                bad = next(f for f in fields if not _is_float(f))
                raise EmbeddingFormatError(
                    path, line_no, f"non-numeric value {bad!r} for word {word!r}"
                ) from None
            if dim is None:
                dim = len(values)
                if dim == 0:
                    raise EmbeddingFormatError(path, line_no, f"word {word!r} has no values")
            _check_row(path, line_no, word, values, dim, seen)
            seen[word] = line_no
            words.append(word)
            rows.append(values)
    if not words:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    if header is not None and header[0] != len(words):
        raise EmbeddingFormatError(
            path, 1, f"header says {header[0]} words but the file has {len(words)}"
        )
    return Embedding(words, np.vstack(rows).astype(np.float32))


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_word2vec_text(path, embedding: Embedding, header: bool = True) -> None:
    """Write the word2vec text format (``header=False`` gives GloVe's layout)."""
    with open(path, "w", encoding="utf-8") as handle:
        if header:
            handle.write(f"{len(embedding)} {embedding.dim}\n")
        handle.writelines(word + " " + " ".join(repr(float(v)) for v in row) + "\n" for word, row in zip(embedding.words, embedding.vectors))


def read_word2vec_binary(path) -> Embedding:
    """Read the word2vec binary format (header line, then ``word<space>`` + float32s)."""
    path = Path(path)
    data = path.read_bytes()
    if not data:
        raise EmbeddingFormatError(path, None, "empty file: no header")
    end = data.find(b"\n")
    try:
        count, dim = (int(x) for x in data[:end].split())
    except ValueError:
        raise EmbeddingFormatError(path, 1, f"bad header {data[:end][:50]!r}") from None
    words, rows, seen, pos = [], [], {}, end + 1
    for entry in range(count):
        line_no = entry + 2  # "line" = entry number after the header, as a text reader counts
        space = data.find(b" ", pos)
        if space < 0 or pos + dim * 4 > len(data):
            raise EmbeddingFormatError(
                path, line_no, f"header says {count} words but the file ends after {entry}"
            )
        word = data[pos:space].decode("utf-8", errors="replace").lstrip("\n")
        if space + 1 + 4 * dim > len(data):
            raise EmbeddingFormatError(path, line_no, f"word {word!r} is cut short")
        values = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        _check_row(path, line_no, word, values, dim, seen)
        seen[word] = line_no
        words.append(word)
        rows.append(values)
        pos = space + 1 + 4 * dim
    if data[pos:].strip():
        raise EmbeddingFormatError(path, count + 2, f"header says {count} words but more follow")
    if not words:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    return Embedding(words, np.vstack(rows))


def write_word2vec_binary(path, embedding: Embedding) -> None:
    """Write the word2vec binary format (as gensim and the original C tool do)."""
    with open(path, "wb") as handle:
        handle.write(f"{len(embedding)} {embedding.dim}\n".encode())
        handle.writelines(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n" for word, row in zip(embedding.words, embedding.vectors))


def write_npz(path, words, vectors, **extra) -> None:
    """Write words and vectors (and extra arrays) to a compressed ``.npz``.

    Same layout as ``numpy.savez_compressed``, but every zip entry gets a
    fixed timestamp so that the same arrays always give the same bytes (and
    so the same sha256 in ``data/README.md``).
    """
    embedding = Embedding(list(words), vectors)
    arrays = {"words": np.array(embedding.words, dtype=str), "vectors": embedding.vectors}
    arrays.update({k: np.asarray(v) for k, v in extra.items()})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)


def read_npz(path) -> Embedding:
    """Read an ``.npz`` written by :func:`write_npz` (arrays ``words`` and ``vectors``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "words" not in archive or "vectors" not in archive:
                raise EmbeddingFormatError(path, None, "needs arrays 'words' and 'vectors'")
            words = archive["words"].tolist()
            vectors = archive["vectors"]
            extra = {k: archive[k] for k in archive.files if k not in ("words", "vectors")}
    except (OSError, ValueError) as error:
        if isinstance(error, EmbeddingFormatError):
            raise
        raise EmbeddingFormatError(path, None, f"not a readable .npz file ({error})") from None
    if len(words) == 0:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    if vectors.ndim != 2 or len(vectors) != len(words):
        raise EmbeddingFormatError(
            path, None, f"{len(words)} words but vectors of shape {vectors.shape}"
        )
    if not np.all(np.isfinite(vectors)):
        row = int(np.argwhere(~np.isfinite(vectors))[0, 0])
        raise EmbeddingFormatError(path, None, f"word {words[row]!r} has a NaN or inf value")
    if len(set(words)) != len(words):
        raise EmbeddingFormatError(path, None, "duplicate words")
    return Embedding(words, vectors, extra)


def load_embedding(path) -> Embedding:
    """Read any supported file, chosen by extension: ``.npz``, ``.bin``, else text."""
    path = Path(path)
    if path.suffix == ".npz":
        return read_npz(path)
    if path.suffix == ".bin":
        return read_word2vec_binary(path)
    return read_word2vec_text(path)


def to_keyedvectors(embedding: Embedding):
    """Convert to a gensim ``KeyedVectors`` (needs gensim)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=embedding.dim)
    kv.add_vectors(embedding.words, embedding.vectors)
    return kv


def from_keyedvectors(kv) -> Embedding:
    """Convert a gensim ``KeyedVectors`` (word order kept)."""
    return Embedding(list(kv.index_to_key), np.asarray(kv.vectors))
