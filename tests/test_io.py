"""Round trips and every malformed-input case of embmap.io."""

import numpy as np
import pytest

from embmap.io import (
    Embedding,
    EmbeddingFormatError,
    from_keyedvectors,
    load_embedding,
    read_npz,
    read_word2vec_binary,
    read_word2vec_text,
    to_keyedvectors,
    write_npz,
    write_word2vec_binary,
    write_word2vec_text,
)


@pytest.fixture
def emb():
    rng = np.random.default_rng(0)
    return Embedding(["the", "cat", "sat", "naïve"], rng.normal(size=(4, 5)).astype(np.float32))


def _same(a, b):
    assert a.words == b.words
    np.testing.assert_array_equal(a.vectors, b.vectors)


@pytest.mark.parametrize("header", [True, False])
def test_text_round_trip(tmp_path, emb, header):
    path = tmp_path / "e.txt"
    write_word2vec_text(path, emb, header=header)
    loaded = read_word2vec_text(path)
    assert loaded.words == emb.words
    np.testing.assert_array_equal(loaded.vectors, emb.vectors)


def test_binary_round_trip(tmp_path, emb):
    path = tmp_path / "e.bin"
    write_word2vec_binary(path, emb)
    for loaded in (read_word2vec_binary(path), load_embedding(path)):
        assert loaded.words == emb.words
        np.testing.assert_array_equal(loaded.vectors, emb.vectors)


def test_npz_round_trip_is_byte_stable(tmp_path, emb):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    write_npz(a, emb.words, emb.vectors, rank=np.arange(4))
    write_npz(b, emb.words, emb.vectors, rank=np.arange(4))
    loaded = read_npz(a)
    _same(loaded, emb)
    np.testing.assert_array_equal(loaded.extra["rank"], np.arange(4))
    assert a.read_bytes() == b.read_bytes()  # fixed timestamps: same bytes, same sha256


def test_gensim_round_trip(emb):
    pytest.importorskip("gensim")
    kv = to_keyedvectors(emb)
    np.testing.assert_array_equal(kv["cat"], emb.vectors[1])
    _same(from_keyedvectors(kv), emb)


def test_binary_readable_by_gensim(tmp_path, emb):
    gensim = pytest.importorskip("gensim")
    path = tmp_path / "e.bin"
    write_word2vec_binary(path, emb)
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=True)
    np.testing.assert_array_equal(kv["sat"], emb.vectors[2])


def _write(tmp_path, text, name="bad.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("2 3\na 1 2 3\nb 1 2\n", 3, "has 2 values, expected 3"),  # wrong column count
        ("a 1 2 3\nb 1 x 3\n", 2, "non-numeric value 'x'"),
        ("3 3\na 1 2 3\nb 1 2 3\n", 1, "header says 3 words but the file has 2"),
        ("a 1 2 3\nb 1 nan 3\n", 2, "NaN or inf"),
        ("a 1 2 3\nb 1 inf 3\n", 2, "NaN or inf"),
        ("2 4\na 1 2 3\nb 1 2 3\n", 2, "has 3 values, expected 4"),  # header dim disagrees
    ],
)
def test_malformed_text_names_file_and_line(tmp_path, text, line, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(EmbeddingFormatError) as info:
        read_word2vec_text(path)
    assert info.value.line == line
    assert str(path) in str(info.value) and f"line {line}" in str(info.value)
    assert fragment in str(info.value)


def test_empty_text_file(tmp_path):
    path = _write(tmp_path, "")
    with pytest.raises(EmbeddingFormatError, match="empty file"):
        read_word2vec_text(path)


def test_empty_binary_file(tmp_path):
    path = tmp_path / "e.bin"
    path.write_bytes(b"")
    with pytest.raises(EmbeddingFormatError, match="empty file"):
        read_word2vec_binary(path)


def test_truncated_binary_names_entry(tmp_path, emb):
    path = tmp_path / "e.bin"
    write_word2vec_binary(path, emb)
    path.write_bytes(path.read_bytes()[:-10])  # cuts into the 4th entry
    with pytest.raises(EmbeddingFormatError, match=r"byte \d+: entry 4 \(word 'naïve'\) is cut"):
        read_word2vec_binary(path)


def test_binary_with_nan_and_duplicates(tmp_path):
    path = tmp_path / "e.bin"
    vectors = np.ones((2, 3), dtype=np.float32)
    with open(path, "wb") as f:
        f.write(b"2 3\n")
        f.writelines(word.encode() + b" " + row.tobytes() + b"\n" for word, row in [("a", vectors[0]), ("a", vectors[1])])
    with pytest.raises(EmbeddingFormatError, match=r"entry 2: duplicate word 'a' \(first at entry 1\)"):
        read_word2vec_binary(path)
    vectors[1, 1] = np.nan
    with open(path, "wb") as f:
        f.write(b"2 3\n")
        f.writelines(word.encode() + b" " + row.tobytes() + b"\n" for word, row in [("a", vectors[0]), ("b", vectors[1])])
    with pytest.raises(EmbeddingFormatError, match="entry 2: word 'b' has a NaN"):
        read_word2vec_binary(path)


def test_npz_malformed(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, words=np.array(["a", "b"]), vectors=np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(EmbeddingFormatError, match="'a' has a NaN or inf"):
        read_npz(path)
    np.savez(path, words=np.array(["a"]), vectors=np.zeros((2, 2)))
    with pytest.raises(EmbeddingFormatError, match="1 words but vectors of shape"):
        read_npz(path)
    np.savez(path, foo=np.zeros(3))
    with pytest.raises(EmbeddingFormatError, match="needs arrays"):
        read_npz(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(EmbeddingFormatError, match="x.npz"):
        read_npz(path)


def test_embedding_rejects_duplicates_and_bad_shapes():
    with pytest.raises(ValueError, match="duplicate"):
        Embedding(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="2 words but 3 vectors"):
        Embedding(["a", "b"], np.zeros((3, 2)))
