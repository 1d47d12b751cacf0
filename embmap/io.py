"""Read and write embeddings: word2vec text (with or without header), word2vec binary, ``.npz``.

Every reader returns an :class:`Embedding` or raises :class:`EmbeddingFormatError` naming the
file and the line (text) or byte offset (binary). The format is judged from the bytes
(:func:`sniff_format`), gzip is looked through, a UTF-8 BOM is skipped. In text files the word
is everything before a row's last ``dim`` values, so tokens with spaces (``". . ."`` in GloVe
840B) read whole; a repeated word keeps its first vector (as in gensim) and one printed line
names the repeats. Binary and ``.npz`` files refuse repeats. Values must be finite after the
cast to float32, so ``1e39`` is refused. :func:`read_word_rows` reads word lists, dictionaries
and edge lists.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
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

from embmap._validation import check_choice

__all__ = [
    "FORMATS", "Embedding", "EmbeddingFormatError", "from_keyedvectors", "load_embedding",
    "read_npz", "read_word2vec_binary", "read_word2vec_text", "read_word_rows", "sniff_format",
    "to_keyedvectors", "write_npz", "write_word2vec_binary", "write_word2vec_text",
]

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries; an empty zip
NPY_MAGIC = b"\x93NUMPY"
BOM = b"\xef\xbb\xbf"
_PICKLE = "a Python pickle (e.g. a gensim .model; export it with save_word2vec_format)"
# Files people point at by mistake: name them instead of failing on byte 0.
OTHER_MAGICS = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"BZh": "a bzip2-compressed file (decompress it first)",
    b"\xfd7zXZ\x00": "an xz-compressed file (decompress it first)",
    b"\x28\xb5\x2f\xfd": "a zstd-compressed file (decompress it first)",
    **{bytes([0x80, v]): _PICKLE for v in (2, 3, 4, 5)},
}
FORMATS = ("text", "binary", "npz")
DUPLICATES = ("first", "error")  # a repeated word in a text file: keep its first vector, or raise
_BLOCK_VALUES = 200_000  # values parsed per block of text rows
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
        where = str(path) + (f", line {line}" if line is not None else "")
        where += f", byte {offset}" if offset is not None else ""
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

    def rows(self, words) -> np.ndarray:
        """The row of each of ``words`` (int64), -1 where the embedding lacks the word."""
        index = self.index
        return np.array([index.get(w, -1) for w in words], dtype=np.int64)

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]


def _checked_embedding(words: list, vectors: np.ndarray) -> Embedding:
    """An :class:`Embedding` of already-checked words, without a second pass over them."""
    embedding = object.__new__(Embedding)
    embedding.words, embedding.vectors, embedding.extra = words, vectors, {}
    return embedding


def _first_duplicate(words):
    """``(i, j)``: rows of the first repeated word (``i < j``), or None."""
    # A sorted list of references costs far less memory than a set of a large vocabulary.
    if all(a != b for a, b in itertools.pairwise(sorted(words))):
        return None
    seen = {}
    for j, word in enumerate(words):
        if word in seen:
            return seen[word], j
        seen[word] = j


def _refuse_nonfinite(path, cast, raw, words, lines=None, label=None) -> None:
    """Name the first row of float32 ``cast`` that is not finite (``raw``: before the cast)."""
    bad = ~np.isfinite(cast).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        what = ("a value beyond the float32 range (about 3.4e38)"
                if np.all(np.isfinite(raw[row])) else "a NaN or inf value")
        prefix = f"{label(row)}: " if label else ""
        raise EmbeddingFormatError(path, None if lines is None else lines[row],
                                   f"{prefix}word {words[row]!r} has {what}")


def _open_binary(path):
    """A binary file handle, gunzipping on the fly when the file starts with gzip magic."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


@contextlib.contextmanager
def _reading(path):
    """The (gunzipped) handle; a broken gzip or zip stream raises :class:`EmbeddingFormatError`."""
    try:
        with _open_binary(path) as handle:
            yield handle
    except (EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as error:
        raise EmbeddingFormatError(path, None, f"cannot decompress ({error})") from None


def _head(path, n=1 << 16) -> bytes:
    with _reading(path) as handle:
        return handle.read(n)


def _refuse_known_binaries(path, head: bytes) -> None:
    if head.startswith(NPY_MAGIC):
        raise EmbeddingFormatError(
            path, None, "a .npy array (vectors without words); save words and vectors together "
            "with embmap.io.write_npz or numpy.savez(words=..., vectors=...)")
    for magic, what in OTHER_MAGICS.items():
        if head.startswith(magic):
            raise EmbeddingFormatError(path, None, f"this is {what}, not an embedding file")


def _parse_header(line: bytes):
    """``(count, dim)`` from a ``"<count> <dim>"`` line, else None."""
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def sniff_format(path) -> str:
    """Which reader a file needs, judged from its bytes: ``"npz"``, ``"binary"`` or ``"text"``.

    A ``"<count> <dim>"`` first line followed by a word and bytes that cannot be text (control
    bytes, invalid UTF-8) is word2vec binary; any other non-zip file is text. An empty file, a
    ``.npy`` array and a few other well-known files raise :class:`EmbeddingFormatError`.
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
    space = body.find(b" ", end + 1)
    if header is None or end < 0 or space < 0:
        return "text"
    line_end = body.find(b"\n", space)
    values = body[space + 1 : line_end if line_end >= 0 else len(body)]
    if _TEXT_VALUES_RE.fullmatch(values) and values.strip():
        return "text"  # the first row's values are written out as numbers
    sample = body[space + 1 : space + 1 + 4 * max(header[1], 1)]
    if _CONTROL_RE.search(sample):
        return "binary"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "binary"
    return "text"


def _lines(path, handle):
    """``(line number, byte offset of the line, raw bytes)`` of each line, a first BOM skipped."""
    offset = 0
    for line_no, raw in enumerate(handle, start=1):
        start, offset = offset, offset + len(raw)
        if line_no == 1 and raw.startswith(BOM):
            raw, start = raw[len(BOM):], start + len(BOM)
        yield line_no, start, raw


def read_word_rows(path, columns: int = 1, *, index=None, unknown: str = "raise"):
    """Rows of ``columns`` whitespace-separated words per line: a word list, a dictionary, a graph.

    Gzip is judged from the magic bytes; a BOM and blank lines are skipped; a line with another
    number of words raises ``ValueError`` naming the file and line. With ``index`` (word -> row)
    the rows of the words come back as an int64 array (m, ``columns``), and a line naming a word
    outside it raises (``unknown="raise"``) or is left out (``"drop"``). Else a list of words
    (``columns=1``) or of tuples of words.
    """
    check_choice(unknown, "unknown", ("raise", "drop"))
    rows = []
    with _reading(path) as handle:
        for line_no, _, raw in _lines(path, handle):
            try:
                parts = raw.decode("utf-8").split()
            except UnicodeDecodeError:
                raise ValueError(f"{path}, line {line_no}: not valid UTF-8") from None
            if not parts:
                continue
            if len(parts) != columns:
                raise ValueError(f"{path}, line {line_no}: expected {columns} column"
                                 f"{'s' if columns > 1 else ''} of words, got {len(parts)}")
            if index is None:
                rows.append(parts[0] if columns == 1 else tuple(parts))
                continue
            found = [index.get(w) for w in parts]
            if None not in found:
                rows.append(found)
            elif unknown == "raise":
                raise ValueError(f"{path}, line {line_no}: {' '.join(parts)!r} names an unknown "
                                 f"word {parts[found.index(None)]!r}")
    return rows if index is None else np.array(rows, dtype=np.int64).reshape(-1, columns)


def _text_lines(path, handle):
    """``(line, line number)`` of each line, decoded and stripped; binary bytes raise."""
    for line_no, start, raw in _lines(path, handle):
        control = _CONTROL_RE.search(raw)
        if control:
            bad = control.start()
            raise EmbeddingFormatError(
                path, line_no, f"control byte 0x{raw[bad]:02x} at byte {start + bad}: "
                "this is not a text embedding file (word2vec binary? see sniff_format)")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise EmbeddingFormatError(
                path, line_no, f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte "
                f"{start + error.start} of the file); re-encode it as UTF-8, e.g. "
                "`iconv -f latin1 -t utf-8`") from None
        yield line.rstrip("\r\n").strip(" \t"), line_no


def _text_rows(path, header, lines):
    """``(words, line numbers, float32 matrix)`` of the non-blank ``lines``, parsed in blocks.

    ``dim`` is the header's or, without one, the most common field count of the first
    :data:`_SNIFF_LINES` lines (one line alone cannot tell a spaced word from a stray value).
    Words may hold spaces only where those lines agree with ``dim``.
    """
    count, dim = header or (None, None)
    if dim == 0:
        raise EmbeddingFormatError(
            path, 1, f"header says {count} words of dimension 0: a vector needs at least one "
            "value (is the header '<count> <dim>'?)")
    pending = list(itertools.islice(lines, _SNIFF_LINES))
    if not pending:
        return [], array("q"), None
    counts = [len(line.split()) for line, _ in pending]
    if header:
        # Most lines longer than the header says: the header's dimension is wrong, and reading
        # "word v1" as a spaced word would shift every vector. Refuse them instead.
        spaced = 2 * sum(c > dim + 1 for c in counts) <= len(counts)
        source = "the header's dimension"
    else:
        fields, agreeing = collections.Counter(counts).most_common(1)[0]
        # A count shared by most lines (two at least) is the layout; else the first line's, and
        # every line must match it exactly.
        spaced = agreeing >= 2 and 2 * agreeing > len(counts)
        first = counts.index(fields) if spaced else 0
        dim, source = counts[first] - 1, f"as on line {pending[first][1]}"
        if dim == 0:
            raise EmbeddingFormatError(path, pending[first][1],
                                       f"word {pending[first][0]!r} has no values")
        if dim > 1 and _SIGNED_HEADER_RE.fullmatch(pending[0][0]) and "-" in pending[0][0]:
            raise EmbeddingFormatError(  # "3 -300" is a broken header, not a 1-d row
                path, 1, f"header {pending[0][0][:50]!r} has a negative number; expected "
                "'<count> <dim>' with a positive word count and dimension")
    out = np.empty((count if header else 1024, dim), dtype=np.float32)
    words, numbers, n, regular = [], array("q"), 0, True
    block_words, bodies, block_lines = [], [], []

    def flush():
        nonlocal out, n, regular
        values = _parse_block(path, block_words, bodies, block_lines, dim, regular, source)
        if n + len(values) > len(out):  # header-less file: grow geometrically
            grown = np.empty((max(2 * len(out), n + len(values)), dim), dtype=np.float32)
            grown[:n] = out[:n]
            out = grown
        block = out[n : n + len(values)]
        with np.errstate(over="ignore", invalid="ignore"):
            block[:] = values
        _refuse_nonfinite(path, block, values, block_words, block_lines)
        words.extend(block_words)
        numbers.extend(block_lines)
        n, regular = n + len(values), True
        block_words.clear(), bodies.clear(), block_lines.clear()

    for line, line_no in itertools.chain(pending, lines):
        word, _, body = line.replace("\t", " ").partition(" ")
        body = body.strip(" ")
        if body.count(" ") != dim - 1:  # a spaced word, tabs, repeated spaces, or wrong
            # The word is the text before the last dim fields, where spaced words are allowed;
            # otherwise the exact parser names the line.
            parts = line.rsplit(None, dim)
            if len(parts) == dim + 1 and (spaced or len(parts[0].split()) == 1):
                word, body = parts[0], " ".join(parts[1:])
            regular = regular and body.count(" ") == dim - 1  # dim fields, single spaces
        if header and n + len(block_words) >= count:
            raise EmbeddingFormatError(path, line_no, f"header says {count} words but more "
                                       f"follow (word {word!r} is number {count + 1})")
        block_words.append(word)
        bodies.append(body)
        block_lines.append(line_no)
        if len(block_words) >= max(64, _BLOCK_VALUES // dim):
            flush()
    if block_words:
        flush()
    return words, numbers, out if n == len(out) else out[:n].copy()


def _parse_block(path, words, bodies, lines, dim, regular, source) -> np.ndarray:
    """float64 values of row ``bodies``; an irregular or bad row is read or named line by line."""
    text = "\n".join(bodies)
    # pandas' C parser only for plain numbers, single-space separated, dim fields per row.
    if regular and not text.translate(_NUMERIC_CHARS):
        try:
            import pandas as pd

            values = pd.read_csv(
                io.StringIO(text), sep=" ", header=None, dtype=np.float64, engine="c",
                quoting=csv.QUOTE_NONE, keep_default_na=False, na_filter=False,
                skip_blank_lines=False).to_numpy()
            if values.shape == (len(bodies), dim):
                return values
        except (ValueError, TypeError):
            pass
    values = np.empty((len(bodies), dim), dtype=np.float64)
    for i, (word, body, line_no) in enumerate(zip(words, bodies, lines)):
        fields = body.split()
        if len(fields) != dim:
            raise EmbeddingFormatError(path, line_no, f"word {word!r} has {len(fields)} values, "
                                       f"expected {dim} ({source})")
        try:
            values[i] = [float(f) for f in fields]
        except ValueError:
            for f in fields:  # name the first value that is not a number
                try:
                    float(f)
                except ValueError:
                    raise EmbeddingFormatError(path, line_no, f"non-numeric value {f!r} for "
                                               f"word {word!r}") from None
    return values


def read_word2vec_text(path, duplicates: str = "first") -> Embedding:
    """Read the word2vec text format (also fastText ``.vec`` and GloVe ``.txt``), gzip or not.

    An optional ``"<count> <dim>"`` header, then a word and its values per line (spaces, tabs or
    repeated spaces). The word is everything before the last ``dim`` fields, ``dim`` being the
    header's or the field count most of the first lines share. Blank lines, ``\\r\\n`` and a
    BOM are handled. ``duplicates``: a word on several lines keeps its first vector and one
    printed line names the repeats (``"first"``), or raises (``"error"``).
    """
    check_choice(duplicates, "duplicates", DUPLICATES)
    path = Path(path)
    with _reading(path) as handle:
        lines = _text_lines(path, handle)
        first = next(lines, None)
        if first is None:
            raise EmbeddingFormatError(path, None, "empty file: no vectors found")
        header = _parse_header(first[0].encode())
        if header is None:
            lines = itertools.chain([first], lines)
        words, numbers, vectors = _text_rows(path, header, (x for x in lines if x[0]))
    if header and header[0] == 0:
        raise EmbeddingFormatError(path, 1, "header says 0 words: no vectors")
    if not words:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    if header and len(words) != header[0]:
        raise EmbeddingFormatError(
            path, 1, f"header says {header[0]} words but the file has {len(words)}")
    dup = _first_duplicate(words)
    if dup is None:
        return _checked_embedding(words, vectors)
    if duplicates == "error":
        raise EmbeddingFormatError(path, numbers[dup[1]], f"duplicate word {words[dup[1]]!r} "
                                   f"(first on line {numbers[dup[0]]})")
    first, keep, repeats = {}, [], {}  # each word's first row; (first line, repeat's line)
    for row, word in enumerate(words):
        if word not in first:
            first[word] = row
            keep.append(row)
        elif word not in repeats:
            repeats[word] = (numbers[first[word]], numbers[row])
    n, dropped, shown = len(repeats), len(words) - len(keep), 5
    names = ", ".join(f"{w!r} (lines {a}, {b})" for w, (a, b) in list(repeats.items())[:shown])
    print(f"{path}: {n} repeated {'word kept its' if n == 1 else 'words kept their'} first "
          f"vector{f' ({dropped} later lines skipped)' if dropped != n else ''}: "
          f"{names}{f', and {n - shown} more' if n > shown else ''}")
    return _checked_embedding([words[i] for i in keep], vectors[np.array(keep, np.intp)])


def _check_words_writable(embedding: Embedding, fmt: str, path, inner_spaces: bool = False) -> None:
    """Refuse words the format cannot store exactly (they would shift rows when read back)."""
    for i, word in enumerate(embedding.words):
        spaces_ok = inner_spaces and word == word.strip() and "  " not in word
        if not word or any(ch.isspace() and not (spaces_ok and ch == " ") for ch in word):
            allowed = "single inner spaces only" if inner_spaces else "no whitespace at all"
            raise ValueError(
                f"{path}: word {i} ({word!r}) is empty or contains whitespace that the word2vec "
                f"{fmt} format cannot store ({allowed}; a reader would split it and shift the "
                "vectors); replace the whitespace (e.g. with '_') or write .npz instead")


def _open_write(path):
    """Open for writing bytes; a ``.gz`` suffix writes gzip (mtime 0: reproducible bytes)."""
    return gzip.GzipFile(path, "wb", mtime=0) if str(path).endswith(".gz") else open(path, "wb")


def write_word2vec_text(path, embedding: Embedding, header: bool = True) -> None:
    """Write the word2vec text format (``header=False`` gives GloVe's layout; ``.gz`` gzips).

    With the header, words may hold single inner spaces (read back exactly); without it not.
    """
    _check_words_writable(embedding, "text", path, inner_spaces=header)
    with _open_write(path) as handle:
        if header:
            handle.write(f"{len(embedding)} {embedding.dim}\n".encode())
        for word, row in zip(embedding.words, embedding.vectors):
            handle.write((word + " " + " ".join(repr(float(v)) for v in row) + "\n").encode())


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
            self.buf, self.base, self.pos = self.buf[self.pos :] + more, self.base + self.pos, 0
        return True

    def until(self, byte: bytes, limit: int):
        """Bytes up to (not including) ``byte``, which is consumed; None at end of data."""
        start = 0
        while (found := self.buf.find(byte, self.pos + start)) < 0:
            start = len(self.buf) - self.pos
            if start > limit or not self._fill(start + 1):
                return None
        out, self.pos = self.buf[self.pos : found], found + 1
        return out

    def take(self, n: int):
        if not self._fill(n):
            return None
        self.pos += n
        return self.buf[self.pos - n : self.pos]

    def run_of(self, chars: bytes) -> bytes:
        """Consume and return the longest run of bytes from ``chars``."""
        out = b""
        while self._fill(1) and self.buf[self.pos] in chars:
            out, self.pos = out + self.buf[self.pos : self.pos + 1], self.pos + 1
        return out

    def rest(self) -> bytes:
        out, self.pos = self.buf[self.pos :] + self.handle.read(), len(self.buf)
        return out


def read_word2vec_binary(path) -> Embedding:
    """Read the word2vec binary format, gzip or not.

    A ``"<count> <dim>"`` header, then per word its UTF-8 bytes, a space, ``dim`` little-endian
    float32s and usually a ``\\n``. Every entry must end like the first: a word holding a space
    (which the format cannot store) shifts the later vectors, and is refused at that entry.
    """
    path = Path(path)
    with _reading(path) as handle:
        stream = _ByteStream(handle)
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
        words, separator = [], None
        for entry in range(count):
            start = stream.offset
            raw = stream.until(b" ", 4096)
            if raw is None:
                raise EmbeddingFormatError(
                    path, None, f"header says {count} words but the file ends after {entry} "
                    f"(entry {entry + 1} has no word)", offset=start)
            word = _binary_word(path, raw, entry, start, words[-1] if words else None)
            vector = stream.take(4 * dim)
            if vector is None:
                raise EmbeddingFormatError(
                    path, None, f"entry {entry + 1} (word {word!r}) is cut short: header says "
                    f"{count} words of {dim} float32s", offset=start)
            out[entry] = np.frombuffer(vector, dtype="<f4")
            sep_at = stream.offset
            sep = stream.run_of(b"\r\n")
            separator = sep if separator is None else separator
            if sep != separator and entry < count - 1:
                raise EmbeddingFormatError(
                    path, None, f"entry {entry + 1} (word {word!r}) ends with {sep!r} where every "
                    f"earlier entry ended with {separator!r}: a word containing a space (which "
                    "word2vec binary cannot store) shifts every later vector, or the header's "
                    f"dimension {dim} is wrong", offset=sep_at)
            words.append(word)
        trailing = stream.rest()
    if trailing.strip():
        raise EmbeddingFormatError(
            path, None, f"header says {count} words but more data follows "
            f"({len(trailing)} bytes)", offset=stream.offset - len(trailing))
    if not words:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    _refuse_nonfinite(path, out, out, words, label=lambda row: f"entry {row + 1}")
    dup = _first_duplicate(words)
    if dup is not None:
        raise EmbeddingFormatError(path, None, f"entry {dup[1] + 1}: duplicate word "
                                   f"{words[dup[1]]!r} (first at entry {dup[0] + 1})")
    return _checked_embedding(words, out)


def _binary_word(path, raw: bytes, entry: int, start: int, previous) -> str:
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
    """Write the word2vec binary format, as gensim and the original C tool do (``.gz`` gzips).

    Words that are empty or hold whitespace are refused: they would shift every later vector.
    """
    _check_words_writable(embedding, "binary", path)
    with _open_write(path) as handle:
        handle.write(f"{len(embedding)} {embedding.dim}\n".encode())
        for word, row in zip(embedding.words, embedding.vectors):
            handle.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")


def write_npz(path, words, vectors, **extra) -> None:
    """Write words, vectors and extra arrays to a compressed ``.npz`` with reproducible bytes.

    The layout of ``numpy.savez_compressed``, with a fixed timestamp on every zip entry.
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
    kind = words.dtype.kind
    if kind not in "USiu":
        raise EmbeddingFormatError(path, None,
                                   f"'words' must hold strings, got dtype {words.dtype}")
    out = words.tolist() if kind not in "iu" else [str(w) for w in words.tolist()]  # node ids
    for i, raw in enumerate(out if kind == "S" else ()):  # decode: never str(b"the") == "b'the'"
        try:
            out[i] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EmbeddingFormatError(
                path, None, f"word {i} ({raw[:40]!r}) is not valid UTF-8") from None
    if not out:
        raise EmbeddingFormatError(path, None, "empty file: no vectors found")
    for row, word in enumerate(out):
        if not word or word.isspace():  # a word that cannot be looked up, printed or written
            raise EmbeddingFormatError(
                path, None, f"word at row {row} is {'empty' if not word else repr(word)}: "
                "every word needs a non-whitespace character")
    return out


def read_npz(path) -> Embedding:
    """Read an ``.npz`` with arrays ``words`` (str, bytes or int) and ``vectors``, gzip or not.

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
    with _open_binary(path) as handle:
        source = io.BytesIO(handle.read()) if isinstance(handle, gzip.GzipFile) else path
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
    if raw.dtype.kind not in "fiu" or raw.ndim != 2 or len(raw) != len(words):
        raise EmbeddingFormatError(
            path, None, f"{len(words)} words but vectors of shape {raw.shape} and dtype "
            f"{raw.dtype} (need a numeric ({len(words)}, dim) array)")
    with np.errstate(over="ignore", invalid="ignore"):
        vectors = raw.astype(np.float32)
    _refuse_nonfinite(path, vectors, raw, words)
    dup = _first_duplicate(words)
    if dup is not None:
        raise EmbeddingFormatError(path, None, f"duplicate words: {words[dup[1]]!r} at rows "
                                   f"{dup[0]} and {dup[1]}")
    return Embedding(words, vectors, extra)


def load_embedding(path, format: str | None = None, duplicates: str = "first") -> Embedding:
    """Read any supported file (``.npz``, word2vec text or binary, gzip or not), whatever the suffix.

    ``format`` ("text", "binary", "npz") skips detection (:func:`sniff_format`). ``duplicates``
    applies to text files (:func:`read_word2vec_text`); binary and ``.npz`` refuse repeats.
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
    return read_word2vec_binary(path) if format == "binary" else read_npz(path)


def to_keyedvectors(embedding: Embedding):
    """Convert to a gensim ``KeyedVectors`` (needs gensim)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=embedding.dim)
    kv.add_vectors(embedding.words, embedding.vectors)
    return kv


def from_keyedvectors(kv) -> Embedding:
    """Convert a gensim ``KeyedVectors`` (word order kept)."""
    return Embedding(list(kv.index_to_key), np.asarray(kv.vectors))
