"""Read and write embeddings: word2vec text (with or without header), word2vec binary, ``.npz``.

Every reader returns an :class:`Embedding` (a word list plus a float32
matrix whose rows follow the list). Readers are where a user's data enters,
and a silent off-by-one in a 30,000-line file makes a map look "terrible"
for reasons that have nothing to do with the model. So:

* the format is detected from the *content* (:func:`sniff_format`), not
  only the suffix: gzip magic bytes (``.txt.gz``, ``.vec.gz``, ``.bin.gz``
  are read transparently), the zip magic of ``.npz``, a ``"<count> <dim>"``
  header followed by raw float32 bytes (word2vec binary) or by text
  (word2vec / fastText ``.vec``), or no header at all (GloVe's ``.txt``);
* a UTF-8 byte-order mark is stripped; words are decoded strictly as UTF-8;
* in text files the word is everything before a row's last ``dim`` values,
  so tokens with spaces (``". . ."`` in GloVe 840B) read whole; ``dim`` is
  the header's, or the field count most of the first lines share, never one
  line's guess;
* a word repeated in a text file keeps its first vector (gensim's rule) and
  one printed line names the repeats; ``duplicates="error"`` refuses them,
  and binary and ``.npz`` files always do;
* values are checked for finiteness *after* the cast to float32, so a value
  beyond the float32 range (``1e39``) is an error, not a silent ``inf``;
* anything that cannot be decoded raises :class:`EmbeddingFormatError`,
  whose message names the file and the line (text) or byte offset (binary).

Text files with a header are streamed into a preallocated float32 array,
so reading needs little more memory than the result itself
(``benchmarks/bench_io.py`` measures it).
"""

from __future__ import annotations

import codecs
import collections
import csv
import gzip
import io
import itertools
import re
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embmap._checks import check_choice

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries; an empty zip
NPY_MAGIC = b"\x93NUMPY"
BOM = b"\xef\xbb\xbf"
# Files people point at by mistake: name them instead of failing on byte 0.
OTHER_MAGICS = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"BZh": "a bzip2-compressed file (decompress it first)",
    b"\xfd7zXZ\x00": "an xz-compressed file (decompress it first)",
    b"\x28\xb5\x2f\xfd": "a zstd-compressed file (decompress it first)",
    b"\x80\x02": "a Python pickle (e.g. a gensim .model; export it with save_word2vec_format)",
    b"\x80\x03": "a Python pickle (e.g. a gensim .model; export it with save_word2vec_format)",
    b"\x80\x04": "a Python pickle (e.g. a gensim .model; export it with save_word2vec_format)",
    b"\x80\x05": "a Python pickle (e.g. a gensim .model; export it with save_word2vec_format)",
}
FORMATS = ("text", "binary", "npz")
DUPLICATES = ("first", "error")  # a repeated word in a text file: keep its first vector, or raise
_BLOCK_VALUES = 200_000  # values parsed per block of text rows (~2 MB of float64)
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 1000  # lines of a header-less text file whose field counts settle its dimension
_SIGNED_HEADER_RE = re.compile(r"[+-]?\d+[ \t]+[+-]?\d+")
# Bytes that never occur in a text line: C0 controls except tab, LF, CR; and DEL.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_CONTROL_RE = re.compile(b"[" + re.escape(_CONTROL) + b"]")
_TEXT_VALUES_RE = re.compile(rb"[0-9eE.+\-naifNAIFty \t\r]*")  # digits, nan, inf(inity)
_NUMERIC_CHARS = str.maketrans("", "", "0123456789.+-eE \n")


class EmbeddingFormatError(ValueError):
    """A malformed embedding file; the message names the file and the line or byte offset."""

    def __init__(self, path, line, message, offset=None):
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if offset is not None:
            where += f", byte {offset}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.offset = path, line, offset


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
        first = _first_duplicate(self.words)
        if first is not None:
            raise ValueError(f"duplicate word {self.words[first[1]]!r}")

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


def _checked_embedding(words: list, vectors: np.ndarray) -> Embedding:
    """An :class:`Embedding` from a reader that has already checked everything.

    Skips ``__post_init__``'s second pass over the words (a list copy and a
    set of all words: tens of MB on a 400,000-word file, counted in the peak).
    """
    embedding = object.__new__(Embedding)
    embedding.words, embedding.vectors, embedding.extra = words, vectors, {}
    return embedding


def _first_duplicate(words):
    """``(i, j)``: rows of the first repeated word (``i < j``), or None.

    A sorted list of references (8 bytes a word) finds whether there is a
    repeat; a set would cost ~40 bytes a word at the peak of a large read.
    """
    ordered = sorted(words)
    if all(a != b for a, b in itertools.pairwise(ordered)):
        return None
    del ordered
    seen = {}
    for j, word in enumerate(words):
        if word in seen:
            return seen[word], j
        seen[word] = j
    return None  # pragma: no cover - unreachable


# --------------------------------------------------------------------------
# opening and sniffing
# --------------------------------------------------------------------------


def _open_binary(path):
    """A binary file handle, gunzipping on the fly when the file starts with gzip magic."""
    if _is_gzip(path):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _head(path, n=_SNIFF_BYTES) -> bytes:
    try:
        with _open_binary(path) as handle:
            return handle.read(n)
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        if isinstance(error, FileNotFoundError):
            raise
        raise EmbeddingFormatError(path, None, f"cannot decompress ({error})") from None


def _is_gzip(path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def _refuse_known_binaries(path, head: bytes) -> None:
    if head.startswith(NPY_MAGIC):
        raise EmbeddingFormatError(
            path, None, "a .npy array (vectors without words); save words and vectors together "
            "with embmap.io.write_npz or numpy.savez(words=..., vectors=...)")
    for magic, what in OTHER_MAGICS.items():
        if head.startswith(magic):
            raise EmbeddingFormatError(path, None, f"this is {what}, not an embedding file")


def _looks_binary(sample: bytes) -> bool:
    """True when bytes cannot be a text line: control bytes or invalid UTF-8."""
    if _CONTROL_RE.search(sample):
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return True
    return False


def _parse_header(line: bytes):
    """``(count, dim)`` from a ``"<count> <dim>"`` line, else None."""
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def sniff_format(path) -> str:
    """Which reader a file needs, judged from its bytes: ``"npz"``, ``"binary"`` or ``"text"``.

    Gzip is looked through. A ``"<count> <dim>"`` first line followed by a
    word and then bytes that cannot be text (control bytes, invalid UTF-8)
    is word2vec binary; any other file is read as text, with or without
    header. Raises :class:`EmbeddingFormatError` for an empty file, a
    ``.npy`` array and a few other well-known non-embedding files.
    """
    head = _head(path)
    if not head:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    if head.startswith(ZIP_MAGICS):
        return "npz"
    _refuse_known_binaries(path, head)
    body = head.removeprefix(BOM)
    end = body.find(b"\n")
    header = _parse_header(body[:end] if end >= 0 else body)
    if header is None or end < 0:
        return "text"
    rest = body[end + 1 :]
    space = rest.find(b" ")
    if space < 0:
        return "text"
    line_end = rest.find(b"\n", space)
    values = rest[space + 1 : line_end if line_end >= 0 else len(rest)]
    if _TEXT_VALUES_RE.fullmatch(values) and values.strip():
        return "text"  # the first row's values are written out as numbers
    sample = rest[space + 1 : space + 1 + 4 * max(header[1], 1)]
    return "binary" if _looks_binary(sample) else "text"


# --------------------------------------------------------------------------
# word2vec text
# --------------------------------------------------------------------------


def _decode_line(path, raw: bytes, line_no: int, offset: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start]
        raise EmbeddingFormatError(
            path, line_no, f"not valid UTF-8 (byte 0x{bad:02x} at byte {offset + error.start} of "
            "the file); re-encode it as UTF-8, e.g. `iconv -f latin1 -t utf-8`") from None


class _TextRows:
    """Collects rows of a text file and parses them a block at a time into float32.

    A row is a word followed by ``dim`` values, and the word is everything
    before the last ``dim`` fields, so tokens holding spaces (GloVe 840B has
    ``". . ."`` and ``"at name@domain.com"``) read whole. ``dim`` comes from
    the header or, without one, from the most common field count of the
    first :data:`_SNIFF_LINES` lines: one line alone cannot tell a spaced
    token from a stray extra value. Spaced words are read only where those
    first lines agree with ``dim``; elsewhere every line must have exactly
    ``dim`` values, and the exact parser names the first that does not.
    """

    def __init__(self, path, header, duplicates="first"):
        if header is not None and header[1] == 0:
            raise EmbeddingFormatError(
                path, 1, f"header says {header[0]} words of dimension 0: a vector needs at "
                "least one value (is the header '<count> <dim>'?)")
        self.path, self.header, self.duplicates = path, header, duplicates
        self.dim = header[1] if header else None
        self.dim_line = 1 if header else None
        # Words may hold spaces only where the first lines agree with ``dim`` (_settle_dim).
        self.spaced_words = False
        self.pending = []
        self.block_rows = max(64, _BLOCK_VALUES // max(self.dim or 50, 1))
        capacity = header[0] if header else 1024
        self.out = np.empty((capacity, self.dim or 0), dtype=np.float32) if header else None
        self.capacity = capacity
        self.words, self.lines = [], array("q")
        self.n = 0
        self.block_words, self.block_bodies, self.block_lines = [], [], []
        self.block_regular = True  # every body so far: dim fields, single spaces

    def add(self, line: str, line_no: int) -> None:
        """One non-blank line, already stripped of surrounding whitespace."""
        if self.pending is not None:
            self.pending.append((line, line_no))
            if len(self.pending) >= _SNIFF_LINES:
                self._settle_dim()
            return
        word, _, body = line.replace("\t", " ").partition(" ")
        body = body.strip(" ")
        if body.count(" ") != self.dim - 1:  # a spaced word, tabs, repeated spaces, or wrong
            word, body = self._split(line, word, body)
            self.block_regular = self.block_regular and body.count(" ") == self.dim - 1
        if self.header and self.n + len(self.block_words) >= self.header[0]:
            raise EmbeddingFormatError(
                self.path, line_no, f"header says {self.header[0]} words but more follow "
                f"(word {word!r} is number {self.header[0] + 1})")
        self.block_words.append(word)
        self.block_bodies.append(body)
        self.block_lines.append(line_no)
        if len(self.block_words) >= self.block_rows:
            self.flush()

    def _split(self, line: str, word: str, body: str):
        """``(word, body)`` of a line whose values are not ``dim`` single-spaced fields.

        The word is the exact text before the last ``dim`` fields (spaces kept
        as in the file). A line with too few fields, or a spaced word where
        ``dim`` is not settled by agreeing lines, is returned unchanged: the
        exact parser then names the line and its field count.
        """
        parts = line.rsplit(None, self.dim)
        if len(parts) == self.dim + 1 and (self.spaced_words or len(parts[0].split()) == 1):
            return parts[0], " ".join(parts[1:])
        return word, body

    def _settle_dim(self) -> None:
        """Decide ``dim`` (header-less) and whether words may hold spaces, then add the lines."""
        pending, self.pending = self.pending, None
        counts = [len(line.split()) for line, _ in pending]
        if self.header:
            # Most lines longer than the header says: the header's dimension is wrong, and
            # reading "word v1" as a spaced word would shift every vector. Refuse them instead.
            longer = sum(count > self.dim + 1 for count in counts)
            self.spaced_words = 2 * longer <= len(counts)
        else:
            self._dim_from_counts(pending, counts)
        for line, line_no in pending:
            self.add(line, line_no)

    def _dim_from_counts(self, pending, counts) -> None:
        """``dim`` of a header-less file: the field count most lines share, less the word."""
        fields, agreeing = collections.Counter(counts).most_common(1)[0]
        # A count shared by most lines (two at least) is the layout; else the first line's,
        # and every line must match it exactly, as without spaced words.
        self.spaced_words = agreeing >= 2 and 2 * agreeing > len(counts)
        if not self.spaced_words:
            fields = counts[0]
        first = counts.index(fields)
        self.dim, self.dim_line = fields - 1, pending[first][1]
        if self.dim == 0:
            word = pending[first][0]
            raise EmbeddingFormatError(self.path, self.dim_line, f"word {word!r} has no values")
        _refuse_signed_header(self.path, pending[0][0], self.dim)
        self.out = np.empty((self.capacity, self.dim), dtype=np.float32)
        self.block_rows = max(64, _BLOCK_VALUES // self.dim)

    def flush(self):
        if not self.block_words:
            return
        values = self._parse_block()
        k = len(values)
        if self.n + k > self.capacity:  # header-less file: grow geometrically
            self.capacity = max(2 * self.capacity, self.n + k)
            grown = np.empty((self.capacity, self.dim), dtype=np.float32)
            grown[: self.n] = self.out[: self.n]
            self.out = grown
        block = self.out[self.n : self.n + k]
        with np.errstate(over="ignore", invalid="ignore"):
            block[:] = values  # the cast to float32: 1e39 becomes inf here ...
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():  # ... and is caught here, after the cast
            row = int(np.argmax(bad))
            what = ("a value beyond the float32 range (about 3.4e38)"
                    if np.all(np.isfinite(values[row])) else "a NaN or inf value")
            raise EmbeddingFormatError(
                self.path, self.block_lines[row], f"word {self.block_words[row]!r} has {what}")
        self.words.extend(self.block_words)
        self.lines.extend(self.block_lines)
        self.n += k
        self.block_words, self.block_bodies, self.block_lines = [], [], []
        self.block_regular = True

    def _parse_block(self) -> np.ndarray:
        bodies = self.block_bodies
        text = "\n".join(bodies)
        # Fast path (pandas' C parser) only for plain numbers, single-space separated, with
        # exactly dim fields per row; anything else takes the exact per-line path below,
        # which either reads it (tabs, nan, ...) or names the line that is wrong.
        if self.block_regular and not text.translate(_NUMERIC_CHARS):
            try:
                import pandas as pd

                values = pd.read_csv(
                    io.StringIO(text), sep=" ", header=None, dtype=np.float64, engine="c",
                    quoting=csv.QUOTE_NONE, keep_default_na=False, na_filter=False,
                    skip_blank_lines=False).to_numpy()
                if values.shape == (len(bodies), self.dim):
                    return values
            except (ValueError, TypeError):
                pass
        return self._parse_slowly()

    def _parse_slowly(self) -> np.ndarray:
        values = np.empty((len(self.block_bodies), self.dim), dtype=np.float64)
        for i, (word, body, line_no) in enumerate(
                zip(self.block_words, self.block_bodies, self.block_lines)):
            fields = body.split()
            if len(fields) != self.dim:
                source = "the header's dimension" if self.header else f"as on line {self.dim_line}"
                raise EmbeddingFormatError(
                    self.path, line_no,
                    f"word {word!r} has {len(fields)} values, expected {self.dim} ({source})")
            try:
                values[i] = [float(f) for f in fields]
            except ValueError:
                bad = next(f for f in fields if not _is_float(f))
                raise EmbeddingFormatError(
                    self.path, line_no, f"non-numeric value {bad!r} for word {word!r}") from None
        return values

    def result(self) -> Embedding:
        if self.pending:  # fewer lines than one sniff: settle dim on what there is
            self._settle_dim()
        self.flush()
        if self.header and self.header[0] == 0:
            raise EmbeddingFormatError(self.path, 1, "header says 0 words: no vectors")
        if self.n == 0:
            raise EmbeddingFormatError(self.path, None, "empty file: no vectors found")
        if self.header and self.n != self.header[0]:
            raise EmbeddingFormatError(
                self.path, 1, f"header says {self.header[0]} words but the file has {self.n}")
        dup = _first_duplicate(self.words)
        if dup is None:
            vectors = self.out if self.n == len(self.out) else self.out[: self.n].copy()
            return _checked_embedding(self.words, vectors)
        if self.duplicates == "error":
            i, j = dup
            raise EmbeddingFormatError(
                self.path, self.lines[j],
                f"duplicate word {self.words[j]!r} (first on line {self.lines[i]})")
        keep, repeats, dropped = _first_copies(self.words, self.lines)
        print(_repeats_message(self.path, repeats, dropped))
        return _checked_embedding([self.words[i] for i in keep], self.out[keep])


def _first_copies(words, lines):
    """Rows to keep (each word's first), the repeated words, and how many rows are dropped.

    ``repeats`` lists ``(word, first line, line of its first repeat)`` in the
    order the repeats occur.
    """
    first, keep, repeats, dropped = {}, [], {}, 0
    for row, word in enumerate(words):
        if word not in first:
            first[word] = row
            keep.append(row)
            continue
        dropped += 1
        if word not in repeats:
            repeats[word] = (word, lines[first[word]], lines[row])
    return np.array(keep, dtype=np.intp), list(repeats.values()), dropped


def _repeats_message(path, repeats, dropped, shown=5) -> str:
    """One line naming the repeated words (the first ``shown``) and their lines."""
    n = len(repeats)
    names = ", ".join(f"{w!r} (lines {a}, {b})" for w, a, b in repeats[:shown])
    more = f", and {n - shown} more" if n > shown else ""
    copies = f" ({dropped} later lines skipped)" if dropped != n else ""
    verb = "word kept its" if n == 1 else "words kept their"
    return f"{path}: {n} repeated {verb} first vector{copies}: {names}{more}"


def _refuse_signed_header(path, line: str, dim: int) -> None:
    """A first line ``"3 -300"`` is a broken header, not the word "3" with one value.

    Only refused when the other lines have more than one value, so that a
    one-dimensional file whose first word is ``"-3"`` still reads.
    """
    if dim > 1 and _SIGNED_HEADER_RE.fullmatch(line) and "-" in line:
        raise EmbeddingFormatError(
            path, 1, f"header {line[:50]!r} has a negative number; expected '<count> <dim>' "
            "with a positive word count and dimension")


def read_word2vec_text(path, duplicates: str = "first") -> Embedding:
    """Read the word2vec text format (also fastText ``.vec`` and GloVe ``.txt``), gzip or not.

    The first line may be a ``"<count> <dim>"`` header (word2vec, fastText)
    or absent (GloVe's own files); each further line is a word followed by
    its values, separated by spaces (tabs and repeated spaces are accepted).
    The word is everything before the last ``dim`` fields, kept exactly as
    in the file, so tokens with spaces (``". . ."``, ``"at name@domain.com"``
    in GloVe 840B) read whole; ``dim`` is the header's or, without a header,
    the field count most of the first lines share. Blank lines are skipped,
    ``\\r\\n`` line ends and a UTF-8 byte-order mark are handled. With a
    header, rows are parsed a block at a time into a preallocated float32
    array.

    Parameters
    ----------
    path : str or path
        The file, gzipped or not.
    duplicates : {"first", "error"}
        A word on several lines: ``"first"`` keeps the vector of its first
        line (as gensim does) and prints one line naming the repeated words
        and their lines; ``"error"`` raises instead.

    Raises
    ------
    EmbeddingFormatError
        Naming the file and the line: invalid UTF-8, a wrong number of values
        (against the header's dimension or the one the lines agree on), a
        non-numeric, NaN, inf or beyond-float32 value, a duplicate word (with
        ``duplicates="error"``), a header of dimension 0 or a negative number,
        or a header whose word count disagrees with the body.
    """
    check_choice(duplicates, "duplicates", DUPLICATES)
    path = Path(path)
    rows = None
    offset = 0
    try:
        with _open_binary(path) as handle:
            for line_no, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if line_no == 1 and raw.startswith(BOM):
                    raw, start = raw[len(BOM):], start + len(BOM)
                control = _CONTROL_RE.search(raw)
                if control:
                    bad = control.start()
                    raise EmbeddingFormatError(
                        path, line_no, f"control byte 0x{raw[bad]:02x} at byte {start + bad}: "
                        "this is not a text embedding file (word2vec binary? see sniff_format)")
                line = _decode_line(path, raw, line_no, start).rstrip("\r\n").strip(" \t")
                if rows is None:
                    header = _parse_header(line.encode()) if line_no == 1 else None
                    rows = _TextRows(path, header, duplicates)
                    if header is not None:
                        continue
                if not line:
                    continue
                rows.add(line, line_no)
    except (EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as error:
        raise EmbeddingFormatError(path, None, f"cannot decompress ({error})") from None
    if rows is None:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    return rows.result()


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_words_writable(embedding: Embedding, fmt: str, path, inner_spaces: bool = False) -> None:
    """Refuse words the format cannot store exactly (they would shift rows when read back).

    word2vec binary ends a word at its first space. The text format with a
    header can store single inner spaces (``at name@domain.com``): the reader
    takes everything before the last *d* values as the word. Empty words,
    leading or trailing whitespace, tabs and line breaks are never stored.
    """
    for i, word in enumerate(embedding.words):
        spaces_ok = inner_spaces and word == word.strip() and "  " not in word
        bad = [ch for ch in word if ch.isspace() and not (spaces_ok and ch == " ")]
        if not word or bad:
            allowed = ("single inner spaces only" if inner_spaces
                       else "no whitespace at all")
            raise ValueError(
                f"{path}: word {i} ({word!r}) is empty or contains whitespace that the word2vec "
                f"{fmt} format cannot store ({allowed}; a reader would split it and shift the "
                "vectors); replace the whitespace (e.g. with '_') or write .npz instead")


def _open_write(path, mode):
    """Open for writing; a ``.gz`` suffix writes gzip (mtime 0, so the bytes are reproducible)."""
    if str(path).endswith(".gz"):
        return gzip.GzipFile(path, mode.replace("t", "") or "wb", mtime=0)
    return open(path, mode)


def write_word2vec_text(path, embedding: Embedding, header: bool = True) -> None:
    """Write the word2vec text format (``header=False`` gives GloVe's layout; ``.gz`` gzips).

    With the header, words may hold single inner spaces (read back exactly, as
    everything before the last *d* values); without it they may not.
    """
    _check_words_writable(embedding, "text", path, inner_spaces=header)
    lines = (word + " " + " ".join(repr(float(v)) for v in row) + "\n"
             for word, row in zip(embedding.words, embedding.vectors))
    with _open_write(path, "wb") as handle:
        if header:
            handle.write(f"{len(embedding)} {embedding.dim}\n".encode())
        for line in lines:
            handle.write(line.encode("utf-8"))


# --------------------------------------------------------------------------
# word2vec binary
# --------------------------------------------------------------------------


class _ByteStream:
    """Buffered reads from a (possibly gzip) handle, tracking the absolute byte offset."""

    def __init__(self, handle, chunk=1 << 20):
        self.handle, self.chunk = handle, chunk
        self.buf, self.pos, self.base = b"", 0, 0

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def _fill(self, need: int) -> bool:
        while len(self.buf) - self.pos < need:
            more = self.handle.read(max(self.chunk, need))
            if not more:
                return False
            self.buf = self.buf[self.pos :] + more
            self.base += self.pos
            self.pos = 0
        return True

    def until(self, byte: bytes, limit: int):
        """Bytes up to (not including) ``byte``, which is consumed; None at end of data."""
        start = 0
        while True:
            found = self.buf.find(byte, self.pos + start)
            if found >= 0:
                out = self.buf[self.pos : found]
                self.pos = found + 1
                return out
            start = len(self.buf) - self.pos
            if start > limit or not self._fill(start + 1):
                return None

    def take(self, n: int):
        if not self._fill(n):
            return None
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def run_of(self, chars: bytes) -> bytes:
        """Consume and return the longest run of bytes from ``chars``."""
        out = b""
        while self._fill(1):
            end = self.pos
            while end < len(self.buf) and self.buf[end] in chars:
                end += 1
            out += self.buf[self.pos : end]
            self.pos = end
            if end < len(self.buf):
                break
        return out

    def rest(self) -> bytes:
        out = self.buf[self.pos :] + self.handle.read()
        self.pos = len(self.buf)
        return out


def read_word2vec_binary(path) -> Embedding:
    """Read the word2vec binary format, gzip or not.

    Layout: a ``"<count> <dim>"`` header line, then per word its UTF-8 bytes,
    a space, ``dim`` little-endian float32s and (usually) a ``\\n`` or
    ``\\r\\n`` separator. The separator after the first vector is taken as
    the file's convention and every later entry must follow it: a word that
    contains a space (which the format cannot store) shifts every later
    vector, and this check stops the reader at that entry instead of
    returning shifted vectors.

    Raises
    ------
    EmbeddingFormatError
        Naming the file and the entry / byte offset.
    """
    path = Path(path)
    try:
        with _open_binary(path) as handle:
            return _read_binary_stream(path, _ByteStream(handle))
    except (EOFError, gzip.BadGzipFile) as error:
        raise EmbeddingFormatError(path, None, f"cannot decompress ({error})") from None


def _read_binary_stream(path, stream: _ByteStream) -> Embedding:
    line = stream.until(b"\n", 1024)
    if line is None and stream.offset == 0 and not stream.rest():
        raise EmbeddingFormatError(path, None, "empty file: no header")
    header = _parse_header((line or b"").removeprefix(BOM))
    if header is None:
        raise EmbeddingFormatError(path, 1, f"bad header {(line or b'')[:50]!r}, "
                                   "expected '<count> <dim>'")
    count, dim = header
    if dim == 0:
        raise EmbeddingFormatError(path, 1, "header says dimension 0")
    out = np.empty((count, dim), dtype=np.float32)
    words, separator, previous = [], None, None
    for entry in range(count):
        start = stream.offset
        raw = stream.until(b" ", 4096)
        if raw is None:
            raise EmbeddingFormatError(
                path, None, f"header says {count} words but the file ends after {entry} "
                f"(entry {entry + 1} has no word)", offset=start)
        word = _decode_binary_word(path, raw, entry, start, previous)
        vector = stream.take(4 * dim)
        if vector is None:
            raise EmbeddingFormatError(
                path, None, f"entry {entry + 1} (word {word!r}) is cut short: header says "
                f"{count} words of {dim} float32s", offset=start)
        out[entry] = np.frombuffer(vector, dtype="<f4")
        sep_at = stream.offset
        sep = stream.run_of(b"\r\n")
        if separator is None:
            separator = sep
        elif sep != separator and entry < count - 1:
            raise EmbeddingFormatError(
                path, None, f"entry {entry + 1} (word {word!r}) ends with {sep!r} where every "
                f"earlier entry ended with {separator!r}: a word containing a space (which "
                "word2vec binary cannot store) shifts every later vector, or the header's "
                f"dimension {dim} is wrong", offset=sep_at)
        words.append(word)
        previous = word
    trailing = stream.rest()
    if trailing.strip():
        raise EmbeddingFormatError(
            path, None, f"header says {count} words but more data follows "
            f"({len(trailing)} bytes)", offset=stream.offset - len(trailing))
    if not words:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise EmbeddingFormatError(path, None, f"entry {row + 1}: word {words[row]!r} "
                                   "has a NaN or inf value")
    dup = _first_duplicate(words)
    if dup is not None:
        raise EmbeddingFormatError(
            path, None, f"entry {dup[1] + 1}: duplicate word {words[dup[1]]!r} "
            f"(first at entry {dup[0] + 1})")
    return _checked_embedding(words, out)


def _decode_binary_word(path, raw: bytes, entry: int, start: int, previous) -> str:
    after = f" after word {previous!r}" if previous is not None else ""
    hint = ("; a word containing a space earlier, or a wrong dimension in the header, "
            "shifts the entries") if previous is not None else ""
    try:
        word = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EmbeddingFormatError(
            path, None, f"entry {entry + 1}{after}: word is not valid UTF-8 (byte "
            f"0x{raw[error.start]:02x} at byte {start + error.start}){hint}",
            offset=start + error.start) from None
    if not word or "\t" in word or "\r" in word or "\n" in word or _CONTROL_RE.search(raw):
        raise EmbeddingFormatError(
            path, None, f"entry {entry + 1}{after}: word {word[:40]!r} is empty or holds "
            f"control bytes{hint}", offset=start)
    return word


def write_word2vec_binary(path, embedding: Embedding) -> None:
    """Write the word2vec binary format (as gensim and the original C tool do; ``.gz`` gzips).

    Raises
    ------
    ValueError
        If a word is empty or contains whitespace: the format ends a word
        at its first space, so such a word would shift every later vector.
    """
    _check_words_writable(embedding, "binary", path)
    with _open_write(path, "wb") as handle:
        handle.write(f"{len(embedding)} {embedding.dim}\n".encode())
        for word, row in zip(embedding.words, embedding.vectors):
            handle.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")


# --------------------------------------------------------------------------
# npz
# --------------------------------------------------------------------------


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
        for name, array_ in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array_, allow_pickle=False)


def _npz_words(path, words: np.ndarray) -> list:
    if words.ndim != 1:
        raise EmbeddingFormatError(path, None, f"'words' must be 1-D, got shape {words.shape}")
    if words.dtype.kind == "U":
        return words.tolist()
    if words.dtype.kind == "S":  # bytes: decode, never str(b"the") == "b'the'"
        out = []
        for i, raw in enumerate(words.tolist()):
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise EmbeddingFormatError(
                    path, None, f"word {i} ({raw[:40]!r}) is not valid UTF-8") from None
        return out
    if words.dtype.kind in "iu":  # integer node ids: their decimal strings
        return [str(w) for w in words.tolist()]
    raise EmbeddingFormatError(path, None, f"'words' must hold strings, got dtype {words.dtype}")


def _refuse_blank_words(path, words: list) -> None:
    """An empty or whitespace-only word cannot be looked up, printed or written as text."""
    for row, word in enumerate(words):
        if not word or word.isspace():
            raise EmbeddingFormatError(
                path, None, f"word at row {row} is {'empty' if not word else repr(word)}: "
                "every word needs a non-whitespace character")


def read_npz(path) -> Embedding:
    """Read an ``.npz`` with arrays ``words`` (str, bytes or int) and ``vectors``.

    Written by :func:`write_npz` or ``numpy.savez``; gzip is looked through.
    Pickled (object) arrays are refused: embmap never unpickles.
    """
    path = Path(path)
    head = _head(path, 8)
    if not head:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    if not head.startswith(ZIP_MAGICS):
        _refuse_known_binaries(path, head)
        raise EmbeddingFormatError(path, None, "not a .npz file (no zip signature); "
                                   "for word2vec text or binary use load_embedding")
    source = path
    if _is_gzip(path):
        with gzip.open(path, "rb") as handle:
            source = io.BytesIO(handle.read())
    try:
        with np.load(source, allow_pickle=False) as archive:
            if "words" not in archive or "vectors" not in archive:
                raise EmbeddingFormatError(
                    path, None, f"needs arrays 'words' and 'vectors', found {archive.files}")
            words = _npz_words(path, archive["words"])
            raw = archive["vectors"]
            extra = {k: archive[k] for k in archive.files if k not in ("words", "vectors")}
    except EmbeddingFormatError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        what = ("an array stored as Python objects (needs pickle, which embmap never loads)"
                if "pickle" in str(error) else f"not a readable .npz file ({error})")
        raise EmbeddingFormatError(path, None, what) from None
    if len(words) == 0:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    _refuse_blank_words(path, words)
    if raw.dtype.kind not in "fiu" or raw.ndim != 2 or len(raw) != len(words):
        raise EmbeddingFormatError(
            path, None, f"{len(words)} words but vectors of shape {raw.shape} and dtype "
            f"{raw.dtype} (need a numeric ({len(words)}, dim) array)")
    with np.errstate(over="ignore", invalid="ignore"):
        vectors = raw.astype(np.float32)
    if not np.all(np.isfinite(vectors)):
        row = int(np.argwhere(~np.isfinite(vectors))[0, 0])
        what = ("a value beyond the float32 range (about 3.4e38)"
                if np.all(np.isfinite(raw[row])) else "a NaN or inf value")
        raise EmbeddingFormatError(path, None, f"word {words[row]!r} has {what}")
    dup = _first_duplicate(words)
    if dup is not None:
        raise EmbeddingFormatError(path, None, f"duplicate words: {words[dup[1]]!r} at rows "
                                   f"{dup[0]} and {dup[1]}")
    return Embedding(words, vectors, extra)


# --------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------

_READERS = {"text": read_word2vec_text, "binary": read_word2vec_binary, "npz": read_npz}


def load_embedding(path, format: str | None = None, duplicates: str = "first") -> Embedding:
    """Read any supported file; the format is detected from its content.

    Parameters
    ----------
    path : str or path
        ``.npz``, word2vec text (``.txt``, ``.vec``, GloVe without header)
        or word2vec binary, each optionally gzipped; the suffix does not
        matter (``.BIN``, ``.w2v`` and ``.emb`` all work).
    format : {"text", "binary", "npz"}, optional
        Skip detection and use this reader.
    duplicates : {"first", "error"}
        Text formats: a repeated word keeps its first vector (and one line
        printed names the repeats), or raises with ``"error"``. Binary and
        ``.npz`` files always refuse a repeated word.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if format is None:
        format = sniff_format(path)
    elif format not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)} or None, got {format!r}")
    check_choice(duplicates, "duplicates", DUPLICATES)
    if format == "text":
        return read_word2vec_text(path, duplicates=duplicates)
    return _READERS[format](path)


def to_keyedvectors(embedding: Embedding):
    """Convert to a gensim ``KeyedVectors`` (needs gensim)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=embedding.dim)
    kv.add_vectors(embedding.words, embedding.vectors)
    return kv


def from_keyedvectors(kv) -> Embedding:
    """Convert a gensim ``KeyedVectors`` (word order kept)."""
    return Embedding(list(kv.index_to_key), np.asarray(kv.vectors))


__all__ = [
    "FORMATS",
    "Embedding",
    "EmbeddingFormatError",
    "from_keyedvectors",
    "load_embedding",
    "read_npz",
    "read_word2vec_binary",
    "read_word2vec_text",
    "sniff_format",
    "to_keyedvectors",
    "write_npz",
    "write_word2vec_binary",
    "write_word2vec_text",
]
