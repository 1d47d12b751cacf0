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


# --------------------------------------------------------------------------
# words holding spaces: the word is everything before the last dim fields
# --------------------------------------------------------------------------

SPACED = {  # word -> vector; three of the words hold spaces, as in GloVe 840B
    "the": [0.1, 0.2, 0.3, 0.4],
    ". . .": [0.5, -0.6, 0.7, 0.8],
    "of": [1.0, 2.0, 3.0, 4.0],
    "at name@domain.com": [0.3, 0.25, -1.5, 2.0],
    "and": [-1.0, -2.0, -3.0, -4.0],
    "x  y": [9.0, 8.0, 7.0, 6.0],  # two spaces inside: kept as in the file
    "to": [0.0, 0.5, 0.25, 0.125],
}


def _spaced_text(header):
    lines = [f"{len(SPACED)} 4"] if header else []
    lines += [w + " " + " ".join(str(v) for v in vec) for w, vec in SPACED.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("header", [False, True], ids=["GloVe, no header", "word2vec header"])
def test_words_with_spaces_read_whole(tmp_path, header):
    """Tokens such as '. . .' and 'at name@domain.com' read as one word with the exact text
    before the last dim fields (inner spaces as in the file), with their own vectors."""
    path = _write(tmp_path, _spaced_text(header))
    for loaded in (read_word2vec_text(path), load_embedding(path)):
        assert loaded.words == list(SPACED)
        np.testing.assert_array_equal(
            loaded.vectors, np.array(list(SPACED.values()), dtype=np.float32))


def test_tab_separated_values_after_a_spaced_word(tmp_path):
    """Tabs between the values do not change the word: it is the text before the values."""
    path = _write(tmp_path, "2 2\nnew york\t1\t2\nthe\t3\t4\n")
    loaded = read_word2vec_text(path)
    assert loaded.words == ["new york", "the"]
    np.testing.assert_array_equal(loaded.vectors, [[1, 2], [3, 4]])


def test_one_longer_line_among_agreeing_lines_is_a_spaced_word(tmp_path):
    """Without a header, dim comes from the lines that agree (3 values), so the one line
    with two extra fields is the word 'a b c' with the last three values, even on line 1."""
    path = _write(tmp_path, "a b c 1 2 3\nd 4 5 6\ne 7 8 9\nf 1 1 1\n")
    loaded = read_word2vec_text(path)
    assert loaded.words == ["a b c", "d", "e", "f"]
    assert loaded.dim == 3
    np.testing.assert_array_equal(loaded.vectors[0], [1, 2, 3])


@pytest.mark.parametrize("text, line, fragment", [
    # no field count shared by most lines: the first line's count rules, as without spaces
    ("a 1 2\nb 1 2 3 4\nc 1\nd 1 2 3 4 5 6\n", 2, "word 'b' has 4 values, expected 2 (as on line 1)"),
    ("a 1 2 3\nb 1 2 3 4 5\n", 2, "word 'b' has 5 values, expected 3 (as on line 1)"),
    # most lines agree on 3 values: a shorter line is still an error
    ("a 1 2 3\nb 1 2 3\nc 1 2\nd 1 2 3\n", 3, "word 'c' has 2 values, expected 3 (as on line 1)"),
    # the agreeing lines set dim even when line 1 is the odd one out
    ("a 1 2\nb 1 2 3\nc 1 2 3\nd 1 2 3\n", 1, "word 'a' has 2 values, expected 3 (as on line 2)"),
    # a spaced word whose last dim fields are not all numbers
    ("a 1 2 3\nb 1 2 3\nc d x 2 3\n", 3, "non-numeric value 'x'"),
])
def test_headerless_lines_that_disagree_still_raise(tmp_path, text, line, fragment):
    """Lines that do not agree on a field count, or fall short of the one most lines share,
    are refused with the file, the line and the counts, never read as spaced words."""
    path = _write(tmp_path, text)
    with pytest.raises(EmbeddingFormatError) as info:
        read_word2vec_text(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert fragment in str(info.value)


def test_header_dimension_exceeded_by_most_lines_is_an_error(tmp_path):
    """A header dimension smaller than the rows' is a wrong header: refused at the first row,
    not read as words 'a 1', 'b 4' with shifted vectors."""
    path = _write(tmp_path, "3 2\na 1 2 3\nb 4 5 6\nc 7 8 9\n")
    with pytest.raises(EmbeddingFormatError, match=r"line 2: word 'a' has 3 values, expected 2 "
                                                   r"\(the header's dimension\)"):
        read_word2vec_text(path)


@pytest.mark.parametrize("header", [True, False])
def test_spaced_words_across_parse_blocks_keep_exact_vectors(tmp_path, header):
    """A few spaced words among thousands of rows (several parse blocks, past the lines that
    settle dim) come back with every word and float32 vector exactly as written."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(5000)]
    for i in (0, 1500, 2999, 4999):
        words[i] = f"spaced token {i}"
    vectors = rng.normal(size=(5000, 60)).astype(np.float32)
    lines = ["5000 60"] if header else []
    lines += [w + " " + " ".join(repr(float(v)) for v in row) for w, row in zip(words, vectors)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    loaded = read_word2vec_text(path)
    assert loaded.words == words
    np.testing.assert_array_equal(loaded.vectors, vectors)


def test_one_dimensional_file_whose_first_word_is_a_negative_number(tmp_path):
    """'-3 5' is a header only if other lines have more than one value: here it is a word."""
    path = _write(tmp_path, "-3 5\nb 2\nc 3\n")
    loaded = read_word2vec_text(path)
    assert loaded.words == ["-3", "b", "c"]
    np.testing.assert_array_equal(loaded.vectors[:, 0], [5, 2, 3])


# --------------------------------------------------------------------------
# repeated words in text files
# --------------------------------------------------------------------------


def test_repeated_words_keep_their_first_vector_and_are_reported(tmp_path, capsys):
    """A word on several lines keeps its first line's vector (gensim's convention), later
    copies are dropped, and one printed line counts and names the repeats with their lines."""
    path = _write(tmp_path, "the 1 2\ndog 1 1\ncat 2 2\nx 0 0\nsun 5 5\nfox 6 6\n"
                            "dog 9 9\ndog 8 8\ncat 7 7\n", name="words.txt")
    loaded = load_embedding(path)
    assert loaded.words == ["the", "dog", "cat", "x", "sun", "fox"]
    np.testing.assert_array_equal(loaded["dog"], [1, 1])
    np.testing.assert_array_equal(loaded["cat"], [2, 2])
    out = capsys.readouterr()
    assert out.out == (f"{path}: 2 repeated words kept their first vector (3 later lines "
                       "skipped): 'dog' (lines 2, 7), 'cat' (lines 3, 9)\n")
    assert out.err == ""


def test_repeated_words_report_names_at_most_five(tmp_path, capsys):
    """Seven repeated words (with a header): the line gives the count, names the first five
    in the order they repeat and says how many more there are."""
    words = [f"w{i}" for i in range(7)]
    body = [f"{w} {i} {i}" for i, w in enumerate(words)] + [f"{w} 0 0" for w in words]
    path = _write(tmp_path, "14 2\n" + "\n".join(body) + "\n")
    loaded = read_word2vec_text(path)
    assert loaded.words == words
    np.testing.assert_array_equal(loaded.vectors[:, 0], np.arange(7))
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: 7 repeated words kept their first vector: 'w0' (lines 2, 9), ")
    assert "'w4' (lines 6, 13), and 2 more\n" in out and "'w5'" not in out
    assert out.count("\n") == 1


def test_single_repeated_word_is_reported_in_the_singular(tmp_path, capsys):
    """One word repeated once: '1 repeated word kept its first vector'."""
    path = _write(tmp_path, "a 1 2\nb 3 4\na 5 6\n")
    assert read_word2vec_text(path).words == ["a", "b"]
    assert capsys.readouterr().out == (
        f"{path}: 1 repeated word kept its first vector: 'a' (lines 1, 3)\n")


def test_no_report_without_repeated_words(tmp_path, capsys):
    """A file without repeats reads silently."""
    path = _write(tmp_path, "2 2\na 1 2\nb 3 4\n")
    read_word2vec_text(path)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("reader", [read_word2vec_text, load_embedding])
def test_duplicates_error_refuses_a_repeated_word(tmp_path, capsys, reader):
    """duplicates='error' raises naming the file, the repeat's line and the first line."""
    path = _write(tmp_path, "3 3\na 1 2 3\nb 1 2 3\na 4 5 6\n")
    with pytest.raises(EmbeddingFormatError) as info:
        reader(path, duplicates="error")
    assert str(info.value) == f"{path}, line 4: duplicate word 'a' (first on line 2)"
    assert info.value.line == 4
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("reader", [read_word2vec_text, load_embedding])
def test_duplicates_option_is_checked(tmp_path, reader):
    """An unknown duplicates value is refused before reading."""
    path = _write(tmp_path, "a 1 2\n")
    with pytest.raises(ValueError, match=r"duplicates must be one of \['first', 'error'\]"):
        reader(path, duplicates="last")


def test_binary_and_npz_still_refuse_repeated_words(tmp_path):
    """The default duplicates='first' applies to text only: binary and .npz keep refusing."""
    vectors = np.ones((2, 3), dtype=np.float32)
    path = tmp_path / "e.bin"
    path.write_bytes(b"2 3\n" + b"".join(b"a " + row.tobytes() + b"\n" for row in vectors))
    with pytest.raises(EmbeddingFormatError, match="entry 2: duplicate word 'a'"):
        load_embedding(path)
    path = tmp_path / "e.npz"
    np.savez(path, words=np.array(["a", "a"]), vectors=vectors)
    with pytest.raises(EmbeddingFormatError, match="duplicate words: 'a' at rows 0 and 1"):
        load_embedding(path)


def test_load_pair_reads_text_files_with_spaced_and_repeated_words(tmp_path, capsys):
    """load_pair on a reader's text files: a spaced word pairs like any other, and a repeated
    word pairs with its first vector (the report goes to stdout, the pairing is unaffected)."""
    from embmap.datasets import load_pair

    words = [f"w{i}" for i in range(8)] + ["new york"]
    src = _write(tmp_path, "".join(f"{w} {i} 1 0\n" for i, w in enumerate(words))
                 + "w3 99 99 99\n", name="src.txt")
    trg = _write(tmp_path, "".join(f"{w} {i} 2\n" for i, w in enumerate(reversed(words))),
                 name="trg.txt")
    pair = load_pair(src, trg)
    assert sorted(pair.words) == sorted(words)
    row = pair.words.index("w3")
    np.testing.assert_array_equal(pair.X[row], [3, 1, 0])
    np.testing.assert_array_equal(pair.Y[pair.words.index("new york")], [0, 2])
    assert "1 repeated word kept its first vector: 'w3' (lines 4, 10)" in capsys.readouterr().out


def test_read_word_rows_one_rule_for_word_lists_dictionaries_and_edges(tmp_path):
    import gzip

    from embmap.io import read_word_rows

    path = tmp_path / "words.any"   # gzip judged from the bytes, not the suffix
    path.write_bytes(gzip.compress("\ufeffa\tb\n\nc  d\r\nb x\n".encode()))
    assert read_word_rows(path, 2) == [("a", "b"), ("c", "d"), ("b", "x")]
    index = {"a": 0, "b": 1, "c": 2, "d": 3}
    assert read_word_rows(path, 2, index=index, unknown="drop").tolist() == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match=r"line 4: 'b x' names an unknown word 'x'"):
        read_word_rows(path, 2, index=index)
    with pytest.raises(ValueError, match="line 1: expected 1 column of words, got 2"):
        read_word_rows(path)
    (tmp_path / "list.txt").write_text("dog\n\ncat\n")
    assert read_word_rows(tmp_path / "list.txt") == ["dog", "cat"]
    (tmp_path / "bad.txt").write_bytes(b"dog\nna\xefve\n")
    with pytest.raises(ValueError, match="line 2: not valid UTF-8"):
        read_word_rows(tmp_path / "bad.txt")
