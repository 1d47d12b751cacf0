"""Files a reader's own data may come in: each is read exactly or refused with a clear error.

Every malformed or unusual file shape a reader may bring: the readable ones must give
back exactly the words and float32 vectors that went in (whatever the suffix, gzip, BOM,
line ends), the unreadable ones must raise EmbeddingFormatError naming the file (and the
line or byte offset), never a bare UnicodeDecodeError, EOFError, BadZipFile or TypeError.
"""

import gzip
import zipfile

import numpy as np
import pytest

from embmap.datasets import pair_embeddings
from embmap.io import (
    Embedding,
    EmbeddingFormatError,
    load_embedding,
    read_npz,
    read_word2vec_binary,
    read_word2vec_text,
    sniff_format,
    write_npz,
    write_word2vec_binary,
    write_word2vec_text,
)


@pytest.fixture
def emb():
    rng = np.random.default_rng(1)
    words = ["the", "cat", "naïve", "日本", "x"]
    return Embedding(words, rng.normal(scale=2.0, size=(5, 4)).astype(np.float32))


def _same(loaded, emb):
    assert loaded.words == emb.words
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_array_equal(loaded.vectors, emb.vectors)


def _text_bytes(emb, header=True, sep="\n", trailing="", bom=False):
    lines = [f"{len(emb)} {emb.dim}"] if header else []
    lines += [w + " " + " ".join(repr(float(v)) for v in row) + trailing
              for w, row in zip(emb.words, emb.vectors)]
    data = (sep.join(lines) + sep).encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def _binary_bytes(emb, sep=b"\n", words=None, bom=False):
    out = (b"\xef\xbb\xbf" if bom else b"") + f"{len(emb)} {emb.dim}\n".encode()
    for word, row in zip(words or emb.words, emb.vectors):
        out += word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + sep
    return out


# ---------------------------------------------------------------------------
# readable files: exact round trip whatever the suffix, compression or layout
# ---------------------------------------------------------------------------

READABLE = {
    # name: (file name, bytes builder, sniffed format)
    "binary as .BIN": ("e.BIN", lambda e: _binary_bytes(e), "binary"),
    "binary as .w2v": ("e.w2v", lambda e: _binary_bytes(e), "binary"),
    "binary as .txt (wrong suffix)": ("e.txt", lambda e: _binary_bytes(e), "binary"),
    "binary, CRLF separators": ("e.bin", lambda e: _binary_bytes(e, sep=b"\r\n"), "binary"),
    "binary, no separators": ("e.bin", lambda e: _binary_bytes(e, sep=b""), "binary"),
    "binary with BOM": ("e.bin", lambda e: _binary_bytes(e, bom=True), "binary"),
    "binary gzipped .bin.gz": ("e.bin.gz", lambda e: gzip.compress(_binary_bytes(e)), "binary"),
    "word2vec text .txt": ("e.txt", lambda e: _text_bytes(e), "text"),
    "text as .bin (wrong suffix)": ("e.bin", lambda e: _text_bytes(e), "text"),
    "fastText .vec (trailing space)": ("e.vec", lambda e: _text_bytes(e, trailing=" "), "text"),
    "GloVe .txt, no header": ("e.txt", lambda e: _text_bytes(e, header=False), "text"),
    "text with CRLF": ("e.txt", lambda e: _text_bytes(e, sep="\r\n"), "text"),
    "text with BOM and header": ("e.txt", lambda e: _text_bytes(e, bom=True), "text"),
    "text with BOM, no header": ("e.txt", lambda e: _text_bytes(e, header=False, bom=True), "text"),
    "text with tabs": ("e.tsv", lambda e: _text_bytes(e).replace(b" ", b"\t"), "text"),
    "text gzipped .txt.gz": ("e.txt.gz", lambda e: gzip.compress(_text_bytes(e)), "text"),
    "fastText gzipped .vec.gz": (
        "e.vec.gz", lambda e: gzip.compress(_text_bytes(e, trailing=" ")), "text"),
}


@pytest.mark.parametrize("case", READABLE, ids=list(READABLE))
def test_readable_files_round_trip_exactly(tmp_path, emb, case):
    name, build, fmt = READABLE[case]
    path = tmp_path / name
    path.write_bytes(build(emb))
    assert sniff_format(path) == fmt
    _same(load_embedding(path), emb)


@pytest.mark.parametrize("name", ["e.npz", "e.NPZ", "e.data"])
def test_npz_detected_by_zip_magic(tmp_path, emb, name):
    path = tmp_path / name
    write_npz(path, emb.words, emb.vectors)
    assert sniff_format(path) == "npz"
    _same(load_embedding(path), emb)


@pytest.mark.parametrize("kind", ["bytes", "int"])
def test_npz_words_as_bytes_or_ints_are_decoded(tmp_path, emb, kind):
    path = tmp_path / "e.npz"
    if kind == "bytes":
        words, expected = np.array([w.encode("utf-8") for w in emb.words]), emb.words
    else:
        words, expected = np.arange(5) * 10, ["0", "10", "20", "30", "40"]
    np.savez(path, words=words, vectors=emb.vectors)
    loaded = read_npz(path)
    assert loaded.words == expected  # never "b'the'"
    np.testing.assert_array_equal(loaded.vectors, emb.vectors)


def test_gzipped_npz(tmp_path, emb):
    plain = tmp_path / "e.npz"
    write_npz(plain, emb.words, emb.vectors)
    path = tmp_path / "e.npz.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    loaded = load_embedding(path)
    assert loaded.words == emb.words and loaded.vectors.dtype == np.float32
    np.testing.assert_array_equal(loaded.vectors, emb.vectors)


@pytest.mark.parametrize("writer", [write_word2vec_text, write_word2vec_binary])
def test_writers_write_gzip_for_gz_suffix(tmp_path, emb, writer):
    path = tmp_path / "e.out.gz"
    writer(path, emb)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    _same(load_embedding(path), emb)


def test_large_block_text_matches_exact_parse(tmp_path):
    # More rows than one parse block, so the fast block parser is exercised and
    # compared with the values written (repr of float32 values round-trips exactly).
    rng = np.random.default_rng(0)
    big = Embedding([f"w{i}" for i in range(5000)], rng.normal(size=(5000, 100)) * 1e-3)
    path = tmp_path / "big.txt"
    write_word2vec_text(path, big)
    loaded = read_word2vec_text(path)
    assert loaded.words == big.words and loaded.vectors.dtype == np.float32
    np.testing.assert_array_equal(loaded.vectors, big.vectors.astype(np.float32))


# ---------------------------------------------------------------------------
# refused files: EmbeddingFormatError naming the file and what is wrong
# ---------------------------------------------------------------------------


def _npz_bytes(tmp_path, **arrays):
    path = tmp_path / "tmp_build.npz"
    np.savez(path, **arrays)
    data = path.read_bytes()
    path.unlink()
    return data


def _truncated_npz(tmp_path, emb):
    path = tmp_path / "tmp_build.npz"
    write_npz(path, emb.words, emb.vectors)
    data = path.read_bytes()
    path.unlink()
    return data[: len(data) // 2]


def _npy(tmp_path, emb):
    path = tmp_path / "tmp_build.npy"
    np.save(path, emb.vectors)
    data = path.read_bytes()
    path.unlink()
    return data


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40)
BAD = {
    # name: (file name, builder(tmp_path, emb) -> bytes, reader, fragment of the message)
    "latin-1 text": (
        "e.txt", lambda t, e: "2 2\nthe 1 2\nna\xefve 3 4\n".encode("latin-1"), load_embedding,
        "line 3: not valid UTF-8 (byte 0xef at byte"),
    "a PNG": ("e.txt", lambda t, e: PNG, load_embedding, "this is a PNG image"),
    "a PNG named .npz": ("e.npz", lambda t, e: PNG, read_npz, "this is a PNG image"),
    "a PNG read as text": ("e.png", lambda t, e: PNG, read_word2vec_text, "line 1"),
    "a pickle": ("e.model", lambda t, e: b"\x80\x04\x95" + bytes(20), load_embedding,
                 "a Python pickle"),
    "truncated zip": ("e.npz", _truncated_npz, load_embedding, "not a readable .npz"),
    "empty .npz (0 bytes)": ("e.npz", lambda t, e: b"", load_embedding, "empty file"),
    "empty file read as npz": ("e.npz", lambda t, e: b"", read_npz, "empty file"),
    "zip without arrays": ("e.npz", lambda t, e: _npz_bytes(t), load_embedding,
                           "needs arrays 'words' and 'vectors'"),
    ".npy renamed .npz": ("e.npz", _npy, load_embedding, "a .npy array (vectors without words)"),
    "object words (pickle)": (
        "e.npz", lambda t, e: _npz_object_words(t, e), load_embedding, "Python objects"),
    "npz float64 beyond float32": (
        "e.npz", lambda t, e: _npz_bytes(t, words=np.array(["a", "b"]),
                                         vectors=np.array([[1.0, 2.0], [1e39, 0.0]])),
        load_embedding, "word 'b' has a value beyond the float32 range"),
    "npz empty word": (
        "e.npz", lambda t, e: _npz_bytes(t, words=np.array(["a", "", "c"]),
                                         vectors=np.zeros((3, 2))),
        load_embedding, "word at row 1 is empty"),
    "npz whitespace-only word": (
        "e.npz", lambda t, e: _npz_bytes(t, words=np.array(["a", "b", " "]),
                                         vectors=np.zeros((3, 2))),
        read_npz, "word at row 2 is ' '"),
    "npz tab-only bytes word": (
        "e.npz", lambda t, e: _npz_bytes(t, words=np.array([b"\t", b"b"]),
                                         vectors=np.zeros((2, 2))),
        load_embedding, "word at row 0 is '\\t'"),
    "npz string vectors": (
        "e.npz", lambda t, e: _npz_bytes(t, words=np.array(["a"]), vectors=np.array([["x"]])),
        load_embedding, "need a numeric"),
    "text beyond float32": ("e.txt", lambda t, e: b"a 1 2\nb 1e39 2\n", load_embedding,
                            "line 2: word 'b' has a value beyond the float32 range"),
    "text header: wrong dimension": (
        "e.txt", lambda t, e: b"2 3\na 1 2\nb 3 4\n", load_embedding,
        "line 2: word 'a' has 2 values, expected 3 (the header's dimension)"),
    "text header: too few words": (
        "e.txt", lambda t, e: b"3 2\na 1 2\nb 3 4\n", load_embedding,
        "line 1: header says 3 words but the file has 2"),
    "text header: too many words": (
        "e.txt", lambda t, e: b"1 2\na 1 2\nb 3 4\n", load_embedding,
        "line 3: header says 1 words but more follow (word 'b' is number 2)"),
    "text header: dimension 0": (
        "e.txt", lambda t, e: b"3 0\na\nb\nc\n", load_embedding,
        "line 1: header says 3 words of dimension 0"),
    "text header: dimension 0, read as text": (
        "e.txt", lambda t, e: b"3 0\na\nb\nc\n", read_word2vec_text,
        "line 1: header says 3 words of dimension 0"),
    "text header: 0 words": (
        "e.txt", lambda t, e: b"0 3\n", load_embedding, "line 1: header says 0 words: no vectors"),
    "text header: 0 words, rows follow": (
        "e.txt", lambda t, e: b"0 2\na 1 2\n", load_embedding,
        "line 2: header says 0 words but more follow"),
    "text header: negative dimension": (
        "e.txt", lambda t, e: b"2 -3\na 1 2 3\nb 1 2 3\nc 1 2 3\n", load_embedding,
        "line 1: header '2 -3' has a negative number"),
    "text header: negative count": (
        "e.txt", lambda t, e: b"-2 3\na 1 2 3\nb 1 2 3\nc 1 2 3\n", load_embedding,
        "line 1: header '-2 3' has a negative number"),
    "no header: ragged rows": (
        "e.txt", lambda t, e: b"a 1 2\nb 3 4 5\n", load_embedding,
        "line 2: word 'b' has 3 values, expected 2 (as on line 1)"),
    "truncated gzip": (
        "e.txt.gz", lambda t, e: gzip.compress(_text_bytes(e))[:30], load_embedding,
        "cannot decompress"),
    "binary: word with a space": (
        "e.bin", lambda t, e: _binary_bytes(e, words=["the", "new york", "a", "b", "c"]),
        load_embedding, "a word containing a space"),
    "binary, no separators: word with a space": (
        "e.bin", lambda t, e: _binary_bytes(e, sep=b"", words=["the", "new york", "a", "b", "c"]),
        load_embedding, "entry 3 after word 'new'"),
    "binary: invalid UTF-8 word": (
        "e.bin", lambda t, e: _binary_bytes(e).replace("naïve".encode(), b"na\xefve"),
        load_embedding, "entry 3 after word 'cat': word is not valid UTF-8 (byte 0xef at byte"),
    "binary: NaN": (
        "e.bin", lambda t, e: _binary_bytes(Embedding(["a", "b"], [[1, 2], [np.nan, 0]])),
        load_embedding, "entry 2: word 'b' has a NaN or inf value"),
    "binary: truncated": (
        "e.bin", lambda t, e: _binary_bytes(e)[:-10], load_embedding, "entry 5 (word 'x') is cut"),
    "binary: more entries than header": (
        "e.bin", lambda t, e: _binary_bytes(e).replace(b"5 4\n", b"4 4\n", 1), load_embedding,
        "header says 4 words but more data follows"),
    "binary: bad header": ("e.bin", lambda t, e: b"five 4\n" + bytes(30), read_word2vec_binary,
                           "bad header"),
}


def _npz_object_words(tmp_path, emb):
    path = tmp_path / "tmp_build.npz"
    np.savez(path, words=np.array(emb.words, dtype=object), vectors=emb.vectors)
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_files_raise_format_error_naming_the_file(tmp_path, emb, case):
    name, build, reader, fragment = BAD[case]
    path = tmp_path / name
    path.write_bytes(build(tmp_path, emb))
    with pytest.raises(EmbeddingFormatError) as info:
        reader(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert fragment in message, message
    assert "\n" not in message  # one line, for the command line


def test_byte_offset_of_an_invalid_binary_word_is_exact(tmp_path, emb):
    data = _binary_bytes(emb).replace("naïve".encode(), b"na\xefve")
    path = tmp_path / "e.bin"
    path.write_bytes(data)
    with pytest.raises(EmbeddingFormatError) as info:
        read_word2vec_binary(path)
    assert info.value.offset == data.index(b"na\xefve") + 2
    assert data[info.value.offset] == 0xEF


@pytest.mark.parametrize("writer", [write_word2vec_binary, write_word2vec_text,
                                    lambda p, e: write_word2vec_text(p, e, header=False)])
@pytest.mark.parametrize("word", ["new york", "tab\there", "line\nbreak", ""])
def test_writers_refuse_words_the_format_cannot_store(tmp_path, writer, word):
    bad = Embedding(["ok", word], np.ones((2, 3)))
    if writer is write_word2vec_text and word == "new york":
        return  # stored exactly with a header: see the round trip below
    with pytest.raises(ValueError, match=r"e\.out: word 1 .*empty or contains whitespace"):
        writer(tmp_path / "e.out", bad)


@pytest.mark.parametrize("word", [" lead", "trail ", "two  spaces"])
def test_text_writer_refuses_spaces_that_would_not_read_back(tmp_path, word):
    with pytest.raises(ValueError, match="single inner spaces only"):
        write_word2vec_text(tmp_path / "e.txt", Embedding(["ok", word], np.ones((2, 3))))


def test_text_writer_round_trips_words_with_inner_spaces(tmp_path):
    """With a header, a word with spaces (as in glove.840B) is written and read back exactly."""
    words = ["at name@domain.com", ". . ."] + [f"w{i}" for i in range(8)]  # spaced: a minority
    emb = Embedding(words, np.arange(30, dtype=np.float32).reshape(10, 3))
    write_word2vec_text(tmp_path / "e.vec", emb)
    back = load_embedding(tmp_path / "e.vec")
    assert back.words == emb.words
    np.testing.assert_array_equal(back.vectors, emb.vectors)


def test_bom_does_not_become_part_of_the_first_word(tmp_path, emb):
    path = tmp_path / "e.txt"
    path.write_bytes(_text_bytes(emb, header=False, bom=True))
    assert load_embedding(path).words[0] == "the"


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_embedding(tmp_path / "nope.txt")


def test_unknown_format_name_is_refused(tmp_path, emb):
    path = tmp_path / "e.txt"
    write_word2vec_text(path, emb)
    with pytest.raises(ValueError, match="format must be one of"):
        load_embedding(path, format="glove")


def test_zip_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "e.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(EmbeddingFormatError, match="needs arrays"):
        load_embedding(path)


# ---------------------------------------------------------------------------
# pairing: too few shared words for a split
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_shared, fractions, fragment", [
    (5, (0.1, 0.1), r"the validation and test split\(s\) would be empty"),
    (4, (0.1, 0.3), r"the validation split\(s\) would be empty"),
    (2, (0.0, 0.5), None),  # train 1, test 1: small but every split requested is non-empty
])
def test_pairing_with_too_few_shared_words(n_shared, fractions, fragment):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(n_shared)]
    src = Embedding(words + ["only_src"], rng.normal(size=(n_shared + 1, 3)))
    trg = Embedding(words + ["only_trg"], rng.normal(size=(n_shared + 1, 4)))
    val_fraction, test_fraction = fractions
    if fragment is None:
        pair = pair_embeddings(src, trg, val_fraction=val_fraction, test_fraction=test_fraction)
        assert len(pair.train) == 1 and len(pair.test) == 1
        return
    with pytest.raises(ValueError, match=fragment) as info:
        pair_embeddings(src, trg, val_fraction=val_fraction, test_fraction=test_fraction)
    assert f"{n_shared} shared" in str(info.value)
