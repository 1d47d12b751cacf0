"""The `embmap` command line, end to end through subprocess: fit -> map -> neighbours -> evaluate.

The pair is synthetic with a known answer: the 24-d target is an exact isometric embedding
(semi-orthogonal map) of the 16-d source, so Procrustes must retrieve nearly every test word
first. Source as word2vec text, target as word2vec binary, partial word overlap.
"""

import argparse
import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from embmap.app.model_file import load_model
from embmap.io import Embedding, load_embedding, write_word2vec_binary, write_word2vec_text

N, D_SRC, D_TRG = 300, 16, 24


def run(*args, check_rc=0):
    out = subprocess.run([sys.executable, "-m", "embmap.app.cli", *map(str, args)],
                         capture_output=True, text=True, timeout=300, check=False)
    if check_rc is not None:
        assert out.returncode == check_rc, out.stderr
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D_SRC)).astype(np.float32)
    Q, _ = np.linalg.qr(rng.normal(size=(D_TRG, D_SRC)))  # (24, 16), orthonormal columns
    Y = (X @ Q.T).astype(np.float32)  # an isometric embedding of the source into 24-d
    words = [f"w{i}" for i in range(N)]
    # Partial overlap: 20 source-only and 30 target-only words.
    src = Embedding(words + [f"s{i}" for i in range(20)],
                    np.vstack([X, rng.normal(size=(20, D_SRC))]))
    trg = Embedding(words + [f"t{i}" for i in range(30)],
                    np.vstack([Y, rng.normal(size=(30, D_TRG))]))
    write_word2vec_text(d / "src.txt", src)
    write_word2vec_binary(d / "trg.bin", trg)
    (d / "train.txt").write_text("".join(f"w{i} w{i}\n" for i in range(250)))
    (d / "test.txt").write_text("".join(f"w{i} w{i}\n" for i in range(250, N)))
    (d / "test_words.txt").write_text("".join(f"w{i}\n" for i in range(250, N)) + "unknown\n")
    return d


@pytest.fixture(scope="module")
def procrustes_model(files):
    run("fit", files / "src.txt", files / "trg.bin", "--dictionary", files / "train.txt",
        "--method", "procrustes", "--out", files / "model.npz")
    return files / "model.npz"


def test_fit_writes_an_open_model_file(files, procrustes_model):
    with zipfile.ZipFile(procrustes_model) as archive:
        header = json.loads(archive.read("header.json"))
        assert all(n.endswith(".npy") for n in archive.namelist() if n != "header.json")
    assert header["format"] == "embmap-model" and header["method"] == "procrustes"
    assert (header["source_dim"], header["target_dim"], header["n_pairs"]) == (D_SRC, D_TRG, 250)
    with np.load(procrustes_model, allow_pickle=False) as arrays:  # no pickles anywhere
        assert arrays["coef"].shape == (D_SRC, D_TRG)
        assert len(arrays["target_words"]) == N + 30
    # Procrustes on an exact isometry: W W^T = I (orthonormal rows, d_src < d_trg).
    W = load_model(procrustes_model).arrays["coef"]
    np.testing.assert_allclose(W @ W.T, np.eye(D_SRC), atol=1e-5)


def test_map_neighbours_evaluate_recover_the_isometry(files, procrustes_model):
    run("map", procrustes_model, files / "test_words.txt", "--out", files / "mapped.vec")
    mapped = load_embedding(files / "mapped.vec")
    assert mapped.words == [f"w{i}" for i in range(250, N)]  # 'unknown' skipped
    assert mapped.dim == D_TRG
    model = load_model(procrustes_model)
    trg = load_embedding(files / "trg.bin")
    gold = model.normalise_target(trg.vectors[250:N])
    cos = np.sum(mapped.vectors * gold, axis=1)
    assert cos.min() > 0.95  # the map is (nearly) exact on held-out words

    out = run("neighbours", procrustes_model, files / "test_words.txt", "--k", 5,
              "--out", files / "nb.tsv")
    assert "1 of 51 words not in " in out.stderr and "skipped: unknown" in out.stderr
    comment, header, *lines = (files / "nb.tsv").read_text().splitlines()
    assert comment.startswith("# score: CSLS = 2 cos(mapped word, target)")
    assert header.split("\t") == ["word", "neighbour_1", "score_1", "neighbour_2", "score_2",
                                   "neighbour_3", "score_3", "neighbour_4", "score_4",
                                   "neighbour_5", "score_5"]
    assert len(lines) == N - 250
    cells = [line.split("\t") for line in lines]
    assert all(len(c) == 1 + 2 * 5 for c in cells)
    scores = np.array([[float(x) for x in c[2::2]] for c in cells])
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    top1 = np.mean([c[0] == c[1] for c in cells])
    assert top1 >= 0.9

    out = run("evaluate", files / "mapped.vec", files / "trg.bin", "--dictionary",
              files / "test.txt", "--model", procrustes_model, "--json")
    result = json.loads(out.stdout)
    assert result["n_queries"] == N - 250 and result["n_candidates"] == N + 30
    assert result["p@1"] == pytest.approx(top1)  # same CSLS scheme, same answer
    assert result["p@1"] >= 0.9 and result["p@10_ci95"][0] <= result["p@10"]


def test_map_a_whole_embedding_file_and_the_best_method(files):
    run("fit", files / "src.txt", files / "trg.bin", "--method", "best", "--out",
        files / "best.npz")
    header = load_model(files / "best.npz").header
    p = header["params"]
    assert header["retrieval"] == "two-direction" and p["weights"] == "softmax"
    assert p["n_neighbors"] in (10, 20, 40) and p["temperature"] in (0.03, 0.05, 0.1)
    assert p["beta"] in (0, 0.5, 1, 2, 3, 4, 6)
    assert p["selection"]["n_validation"] == N // 10 and p["selection"]["candidates"] == N
    assert header["n_pairs"] == N  # default: all shared words
    run("map", files / "best.npz", files / "src.txt", "--out", files / "all.vec")
    mapped = load_embedding(files / "all.vec")
    assert len(mapped) == N + 20 and mapped.dim == D_TRG
    # kNN regression on training words: T = 0.05 puts nearly all weight on the word
    # itself (cosine 1), so a training word maps onto its own target.
    model = load_model(files / "best.npz")
    trg = load_embedding(files / "trg.bin")
    cos = np.sum(mapped.vectors[:N] * model.normalise_target(trg.vectors[:N]), axis=1)
    assert np.median(cos) > 0.9


def test_bad_file_exits_1_with_one_line_naming_file_and_line(files, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("3 2\na 1 2\nb 1 x\nc 0 1\n")
    out = run("fit", bad, files / "trg.bin", "--out", tmp_path / "m.npz", check_rc=1)
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"{bad}, line 3" in out.stderr and "non-numeric value 'x'" in out.stderr
    debug = run("fit", bad, files / "trg.bin", "--out", tmp_path / "m.npz", "--debug",
                check_rc=1)
    assert "Traceback" in debug.stderr


def test_not_a_model_exits_1(files, tmp_path):
    fake = tmp_path / "fake.npz"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("header.json", json.dumps({"format": "embmap-model",
                                                    "format_version": 99, "method": "lstsq"}))
    out = run("map", fake, files / "test_words.txt", "--out", tmp_path / "x.vec", check_rc=1)
    assert "format version 99" in out.stderr and out.stderr.count("\n") == 1


def test_load_model_refuses_other_files(files):
    from embmap.app.model_file import ModelFileError

    with pytest.raises(ModelFileError, match="not a readable embmap model"):
        load_model(files / "src.txt")


@pytest.mark.parametrize("args", [
    ["fit", "a.txt", "b.txt"],                               # --out missing
    ["fit", "a.txt", "b.txt", "--out", "m", "--method", "magic"],
    ["neighbours", "m.npz", "w.txt", "--out", "o", "--k", "0"],
])
def test_usage_errors_exit_2(args):
    out = run(*args, check_rc=2)
    assert "usage: embmap" in out.stderr


def test_help_shows_examples():
    out = run("--help")
    assert "embmap fit" in out.stdout and "examples:" in out.stdout
    assert out.stdout.count("examples:") == 1 and out.stdout.count("methods (") == 1


@pytest.mark.parametrize("command", ["split", "fit", "map", "neighbours", "evaluate", "report"])
def test_subcommand_help_is_its_own_options_with_help_and_defaults(command):
    from embmap.app.cli import build_parser

    text = run(command, "--help").stdout
    assert "examples:" not in text and "methods (" not in text
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        assert action.help, (command, action.dest)  # every option explained
        if not any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            assert f"(default: {action.default})" in " ".join(text.split()), action.dest


@pytest.mark.parametrize("method", ["procrustes", "lstsq", "vecmap", "knn", "mlp", "best"])
def test_saved_model_predicts_exactly_like_the_fitted_one(tmp_path, method):
    from embmap.app.model_file import fit_model, save_model

    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(120)]
    src = Embedding(words, rng.normal(size=(120, 6)))
    trg = Embedding(words, rng.normal(size=(120, 9)))
    model = fit_model(src, trg, [(w, w) for w in words[:100]], method)
    save_model(tmp_path / "m.npz", model)
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.header == json.loads(json.dumps(model.header))
    queries = src.vectors[100:]
    np.testing.assert_allclose(loaded.predict(queries), model.predict(queries), atol=1e-6)
    idx, scores = loaded.neighbours(loaded.predict(queries), k=3,
                                    sources=loaded.normalise_source(queries))
    assert idx.shape == (20, 3) and np.all(np.diff(scores, axis=1) <= 0)
    if method == "lstsq":  # known answer: the least-squares solution in the normalised spaces
        X = model.normalise_source(src.vectors[:100])
        Y = model.normalise_target(trg.vectors[:100])
        W, *_ = np.linalg.lstsq(X.astype(np.float64), Y.astype(np.float64), rcond=None)
        np.testing.assert_allclose(loaded.arrays["coef"], W, atol=1e-4)


def test_best_neighbours_use_two_direction_scores(files, tmp_path):
    """`neighbours` with a best model: forward CSLS + beta x reverse CSLS, brute force."""
    run("fit", files / "src.txt", files / "trg.bin", "--dictionary", files / "train.txt",
        "--method", "best", "--out", tmp_path / "best.npz")
    model = load_model(tmp_path / "best.npz")
    beta = np.float64(model.header["params"]["beta"])
    run("neighbours", tmp_path / "best.npz", files / "test_words.txt", "--k", 3,
        "--out", tmp_path / "nb.tsv")
    comment, _, *lines = (tmp_path / "nb.tsv").read_text().splitlines()
    assert comment.startswith("# score: forward CSLS + beta x reverse CSLS, beta = ")
    cells = [line.split("\t") for line in lines]
    # brute-force reference in float64
    src = load_embedding(files / "src.txt")
    Xq = model.normalise_source(src.vectors[250:N]).astype(np.float64)
    P = model.predict(src.vectors[250:N]).astype(np.float64)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    T = model.arrays["target_vectors"].astype(np.float64)
    E = model.arrays["reverse_source_estimates"].astype(np.float64)
    top = lambda S: np.sort(S, axis=1)[:, -10:].mean(axis=1)
    S, R = P @ T.T, Xq @ E.T
    score = (2 * S - top(S)[:, None] - model.arrays["target_csls_r"][None, :]
             + beta * (2 * R - top(R)[:, None] - model.arrays["reverse_csls_r"][None, :]))
    best3 = np.argsort(-score, axis=1)[:, :3]
    words = model.arrays["target_words"]
    assert [c[0] for c in cells] == [f"w{i}" for i in range(250, N)]
    assert [[c[1], c[3], c[5]] for c in cells] == [[words[j] for j in row] for row in best3]
    np.testing.assert_allclose([float(c[2]) for c in cells],
                               np.take_along_axis(score, best3[:, :1], axis=1).ravel(), atol=1e-4)


def test_best_reverse_arrays_match_two_direction_retrieval():
    """With every target word paired, the stored reverse estimates are TwoDirectionRetrieval's."""
    from embmap.app.model_file import fit_model
    from embmap.local import TwoDirectionRetrieval

    rng = np.random.default_rng(2)
    words = [f"w{i}" for i in range(150)]
    src = Embedding(words, rng.normal(size=(150, 8)))
    trg = Embedding(words, np.tanh(src.vectors @ rng.normal(size=(8, 12))))
    model = fit_model(src, trg, [(w, w) for w in words], "best")
    p = model.header["params"]
    scheme = TwoDirectionRetrieval(n_neighbors=p["reverse_n_neighbors"],
                                   temperature=p["reverse_temperature"])
    scheme.fit(model.arrays["train_sources"], model.arrays["train_targets"], np.arange(150))
    np.testing.assert_allclose(model.arrays["reverse_source_estimates"],
                               scheme.source_estimates_, atol=1e-5)
    np.testing.assert_allclose(model.arrays["reverse_csls_r"], scheme.reverse_r_S_, atol=1e-5)
    with pytest.raises(ValueError, match="sources must be given"):
        model.neighbours(model.predict(src.vectors[:3]))
    with pytest.raises(ValueError, match=r"sources must have shape \(3, 8\)"):
        model.neighbours(model.predict(src.vectors[:3]), sources=np.ones((3, 5)))


def test_best_needs_enough_pairs_for_validation():
    from embmap.app.model_file import fit_model

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    src = Embedding(words, rng.normal(size=(60, 4)))
    trg = Embedding(words, rng.normal(size=(60, 5)))
    with pytest.raises(ValueError, match="needs at least 100 word pairs, got 60"):
        fit_model(src, trg, [(w, w) for w in words], "best")


@pytest.fixture(scope="module")
def several_gold_files(tmp_path_factory):
    """Target words T_w0..T_w119 (+ a twin of T_w0); predictions for w80..w119.

    Predictions w80..w99 lie near their own target T_w<i>; w100..w119 lie near
    another word's target T_w<i-100>, listed as their second gold.
    """
    d = tmp_path_factory.mktemp("golds")
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(120, 12)).astype(np.float32)
    trg = Embedding([f"T_w{i}" for i in range(120)] + ["T_twin"], np.vstack([Y, Y[:1]]))
    near = [i if i < 100 else i - 100 for i in range(80, 120)]
    pred = Y[near] + 0.6 * rng.normal(size=(40, 12)).astype(np.float32)
    write_word2vec_text(d / "trg.txt", trg)
    write_word2vec_text(d / "pred.vec", Embedding([f"w{i}" for i in range(80, 120)], pred))
    own = [f"w{i} T_w{i}\n" for i in range(80, 120)]
    second = [f"w{i} T_w{i - 100}\n" for i in range(100, 120)]
    (d / "own_first.txt").write_text("".join(own + second))
    (d / "second_first.txt").write_text("".join(second[::-1] + own[::-1]))
    (d / "own_only.txt").write_text("".join(own))
    return d


def test_evaluate_counts_a_hit_on_any_gold_whatever_the_line_order(several_gold_files):
    d = several_gold_files

    def scores(dictionary, *extra):
        out = run("evaluate", d / "pred.vec", d / "trg.txt", "--dictionary", d / dictionary,
                  "--retrieval", "nn", "--json", *extra)
        return json.loads(out.stdout)

    a, b, own = scores("own_first.txt"), scores("second_first.txt"), scores("own_only.txt")
    assert a["queries_with_several_golds"] == 20 and own["queries_with_several_golds"] == 0
    assert a["n_queries"] == b["n_queries"] == 40
    for key in ("p@1", "p@5", "p@10", "mrr", "mean_cos", "p@10_ci95"):
        assert a[key] == b[key]  # listing the golds in either order gives the same scores
    # the second golds are where w100..w119 point: the first-gold-only score misses them
    assert a["p@10"] > own["p@10"] and a["p@10"] >= 0.9 and own["p@10"] <= 0.6
    assert a["mean_cos"] > own["mean_cos"]
    text = run("evaluate", d / "pred.vec", d / "trg.txt", "--dictionary",
               d / "second_first.txt", "--retrieval", "nn").stdout
    assert "20 of 40 queries have several gold targets" in text


def test_evaluate_identical_targets_one_counts_twin_vectors_once(several_gold_files):
    d = several_gold_files
    base = ["evaluate", d / "pred.vec", d / "trg.txt", "--dictionary", d / "own_only.txt",
            "--retrieval", "csls", "--json"]
    sep = json.loads(run(*base).stdout)
    one = json.loads(run(*base, "--identical-targets", "one").stdout)
    assert sep["identical_targets"] == "separate" and "n_distinct_candidates" not in sep
    assert one["n_candidates"] == 121 and one["n_distinct_candidates"] == 120
    assert one["mrr"] > sep["mrr"]  # T_twin no longer counts against queries that rank T_w0
    bad = run(*base, "--identical-targets", "merged", check_rc=2)
    assert "--identical-targets" in bad.stderr


def test_split_then_fit_and_evaluate_with_no_hand_written_file(files, tmp_path):
    """`split` writes the pair files `--dictionary` reads; a word's golds stay in one split."""
    from embmap.datasets import pair_words, split_indices

    # w0 also has the gold w1: a word with several golds keeps them all in one split
    (tmp_path / "dict.txt").write_text("w0 w1\n" + "".join(f"w{i} w{i}\n" for i in range(N)))
    out = run("split", files / "src.txt", files / "trg.bin", "--dictionary",
              tmp_path / "dict.txt", "--out", tmp_path / "pairs", "--seed", 3)
    assert "train: 240 source words" in out.stdout and "test: 30 source words" in out.stdout
    assert "compare methods with `embmap evaluate` on" in out.stderr and "validation.txt" in out.stderr
    parts = {name: [line.split() for line in (tmp_path / "pairs" / f"{name}.txt")
                    .read_text().splitlines()] for name in ("train", "validation", "test")}
    words = {name: {s for s, _ in rows} for name, rows in parts.items()}
    assert sum(map(len, words.values())) == N
    assert not (words["train"] & words["test"] or words["train"] & words["validation"]
                or words["validation"] & words["test"])
    home = next(name for name in parts if "w0" in words[name])
    assert sorted(t for s, t in parts[home] if s == "w0") == ["w0", "w1"]
    pairs, _, _ = pair_words(load_embedding(files / "src.txt").words,
                             load_embedding(files / "trg.bin").words, tmp_path / "dict.txt")
    test_rows = split_indices(len(pairs), 3, 0.1, 0.1)[2]  # the package's split, by source word
    assert words["test"] == {pairs[i][0] for i in test_rows}

    out = run("fit", files / "src.txt", files / "trg.bin", "--dictionary",
              tmp_path / "pairs" / "train.txt", "--method", "procrustes", "--out",
              tmp_path / "m.npz")
    assert re.search(r"left unpaired \(no pair in the other file or the dictionary\): "
                     r"80 of 320 words of \S+src.txt, 90 of 330 words of", out.stderr)
    # a pair file is not a word list: map names what it got and what it reads
    bad = run("map", tmp_path / "m.npz", tmp_path / "pairs" / "test.txt", "--out",
              tmp_path / "x.vec", check_rc=1)
    assert "test.txt holds word pairs ('source_word target_word' per line)" in bad.stderr
    run("map", tmp_path / "m.npz", files / "src.txt", "--out", tmp_path / "mapped.vec")
    text = run("evaluate", tmp_path / "mapped.vec", files / "trg.bin", "--dictionary",
               tmp_path / "pairs" / "test.txt", "--model", tmp_path / "m.npz").stdout
    n = N + 30
    assert re.search(rf"p@10 +[01]\.\d{{4}}  \(chance {10 / n:.4f}, {n} candidates\)", text)
    assert re.search(rf"p@1 +[01]\.\d{{4}}  \(chance {1 / n:.4f}, {n} candidates\)", text)


def test_evaluate_names_skipped_words(files, procrustes_model, tmp_path):
    run("map", procrustes_model, files / "test_words.txt", "--out", tmp_path / "mapped.vec")
    (tmp_path / "d.txt").write_text("w260 w260\nfoo w1\nw261 bar\nw262 w262\n")
    out = run("evaluate", tmp_path / "mapped.vec", files / "trg.bin", "--dictionary",
              tmp_path / "d.txt", "--json")
    assert f"2 of 4 words not in {tmp_path / 'mapped.vec'} with a target in" in out.stderr
    assert out.stderr.rstrip().endswith("skipped: foo, w261")
    result = json.loads(out.stdout)
    assert result["n_queries"] == 2 and result["chance_p@10"] == pytest.approx(10 / (N + 30))


def test_evaluate_two_directions_gives_the_neighbours_ranks(files, tmp_path):
    """`evaluate --source` on a best model: P@1 / P@10 are `neighbours`' top-1 / top-10 hits."""
    run("fit", files / "src.txt", files / "trg.bin", "--dictionary", files / "train.txt",
        "--method", "best", "--out", tmp_path / "best.npz")
    run("map", tmp_path / "best.npz", files / "test_words.txt", "--out", tmp_path / "mapped.vec")
    run("neighbours", tmp_path / "best.npz", files / "test_words.txt", "--k", 10,
        "--out", tmp_path / "nb.tsv")
    cells = [line.split("\t") for line in (tmp_path / "nb.tsv").read_text().splitlines()[2:]]
    top = {c[0]: c[1::2] for c in cells}
    base = ["evaluate", tmp_path / "mapped.vec", files / "trg.bin", "--dictionary",
            files / "test.txt", "--model", tmp_path / "best.npz", "--json"]
    two = json.loads(run(*base, "--source", files / "src.txt").stdout)
    assert two["retrieval"] == "two-direction" and two["n_queries"] == N - 250
    assert two["p@1"] == pytest.approx(np.mean([top[w][0] == w for w in top]))
    assert two["p@10"] == pytest.approx(np.mean([w in top[w] for w in top]))
    fwd = run(*base)
    assert json.loads(fwd.stdout)["retrieval"] == "csls" and "give --source SRC" in fwd.stderr
    # options that do not go together are usage errors (exit 2), named in one line
    bad = run(*base, "--source", files / "src.txt", "--identical-targets", "one", check_rc=2)
    assert "--identical-targets one does not apply" in bad.stderr
    no_model = [a for a in base if a not in ("--model", tmp_path / "best.npz")]
    bad = run(*no_model, "--source", files / "src.txt", check_rc=2)
    assert "--source applies to a two-direction model" in bad.stderr
    model = load_model(tmp_path / "best.npz")
    src = load_embedding(files / "src.txt")
    X = src.vectors[250:N]
    idx, _ = model.neighbours(model.predict(X), k=5, sources=model.normalise_source(X))
    ranks = model.gold_ranks(model.predict(X), np.arange(250, N),
                             sources=model.normalise_source(X))
    assert np.all((ranks == 1) == (idx[:, 0] == np.arange(250, N)))


def test_fit_best_names_the_validation_candidates(files, tmp_path):
    out = run("fit", files / "src.txt", files / "trg.bin", "--method", "best", "--out",
              tmp_path / "b.npz")
    assert re.search(r"validation P@10 \d+\.\d\d% .*on 30 validation words, 300 candidates",
                     out.stderr)
