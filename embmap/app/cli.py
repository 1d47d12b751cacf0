"""The ``embmap`` command line: split your pair, fit a map, apply it, retrieve, evaluate.

Exit status: 0 success, 1 failure (one line naming the file and line; ``--debug`` shows the
traceback), 2 usage error. Progress bars (tqdm, stderr) show when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

EXAMPLES = """\
examples:
  # hold out validation and test words (by source word): train.txt, validation.txt, test.txt
  embmap split glove.txt node2vec.bin --out pairs/
  # fit the recommended map on the words both files share, save it
  embmap fit glove.txt node2vec.bin --method best --out model.npz
  # or on a dictionary of (source word, target word) pairs
  embmap fit de.vec en.vec --dictionary de-en.train.txt --method procrustes --out model.npz
  # map words (a word list, one per line, or a whole source embedding file)
  embmap map model.npz new_words.txt --out mapped.vec
  # the 10 best target words of each input word, with scores (CSLS; two-direction for best)
  embmap neighbours model.npz new_words.txt --k 10 --out neighbours.tsv
  # score mapped vectors against every target vector (--source: a best model's two directions)
  embmap fit glove.txt node2vec.bin --dictionary pairs/train.txt --out model.npz
  embmap map model.npz glove.txt --out mapped.vec
  embmap evaluate mapped.vec node2vec.bin --dictionary pairs/test.txt --model model.npz \\
      --source glove.txt
  # run the notebooks that accept a pair on yours: executed notebooks, HTML, summary
  embmap report glove.txt node2vec.bin --graph edges.tsv --out report/ --quick
  # several source files of the same words, joined into one source (normalised per file
  # on the training pairs, concatenated; only words every file has); then map word lists
  embmap fit glove.txt skipgram.vec node2vec.bin --source-weight 1 --source-weight 0.5 \\
      --out joined.npz

methods (fitted in unit-center-unit normalised spaces):
  procrustes  orthogonal Procrustes (semi-orthogonal when the dimensions differ)
  lstsq       least squares
  vecmap      VecMap's multi-step framework (whiten, orthogonal, re-weight, de-whiten)
  knn         kNN regression, 10 neighbours, softmax weights (T = 0.05)
  mlp         an MLP (one hidden layer of 512) on top of least squares, cosine loss
  best        the tutorial's recommendation (notebook 06): softmax kNN regression with
              two-direction retrieval, k, T, reverse k, T and beta chosen on validation
              words (10% of the pairs, seeded by --seed), then refitted on all pairs
"""


__all__ = ["CliError", "UsageError", "build_parser", "cmd_evaluate", "cmd_fit", "cmd_map",
           "cmd_neighbours", "cmd_report", "cmd_split", "main"]


class CliError(Exception):
    """A failure to report in one line (exit status 1)."""


class UsageError(CliError):
    """Options that do not go together (exit status 2, as argparse's usage errors)."""


def _progress_enabled(args) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _say(args, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _say_skipped(args, skipped: list, total: int, where: str) -> None:
    """One line: how many words were skipped, and the first five of them."""
    if skipped:
        more = ", ..." if len(skipped) > 5 else ""
        _say(args, f"embmap: {len(skipped)} of {total} words not {where}, skipped: "
                   f"{', '.join(skipped[:5])}{more}")


def _load(path, role: str):
    from embmap.io import load_embedding

    if not Path(path).is_file():
        raise CliError(f"{path}: no such file ({role})")
    return load_embedding(path)


def _read_word_list(path) -> list:
    words = []
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                fields = raw.decode("utf-8").removeprefix("\ufeff").split()
            except UnicodeDecodeError:
                raise CliError(f"{path}, line {line_no}: not valid UTF-8") from None
            if len(fields) > 1:
                raise CliError(f"{path}, line {line_no}: expected one word per line, got "
                               f"{len(fields)} fields")
            words += fields
    if not words:
        raise CliError(f"{path}: no words")
    return words


def _first_fields(path) -> list:
    """The fields of the first non-blank line of a text file ([] for a binary one)."""
    from embmap.io import sniff_format

    if sniff_format(path) != "text":
        return []
    with open(path, "rb") as handle:
        return next((f for f in (raw.removeprefix(b"\xef\xbb\xbf").split() for raw in handle)
                     if f), [])


def _is_word_list(path) -> bool:
    """A word list has one field on its first non-blank line; an embedding has more."""
    return len(_first_fields(path)) == 1


def _is_pair_file(path) -> bool:
    """Two words on the first line, the second not a number: a dictionary, not vectors."""
    first = _first_fields(path)
    if len(first) != 2:
        return False
    try:
        float(first[1])
    except ValueError:
        return True
    return False


def _source_vectors(args, model, path):
    """``(words, raw source vectors)`` of INPUT: a word list or a source embedding file.

    A model fitted on several source files maps word lists only (joined with its part means).
    """
    from embmap.joined import normaliser_from_mean

    if not Path(path).is_file():
        raise CliError(f"{path}: no such file (input)")
    parts = model.header.get("source_parts")
    if _is_pair_file(path):
        raise CliError(f"{path} holds word pairs ('source_word target_word' per line), like a "
                       "--dictionary file: give a word list (one word per line) or an embedding "
                       "file (e.g. the source file, to map every word)")
    if not _is_word_list(path):
        if parts:
            raise CliError(f"{path}: a model fitted on several source files maps a word list "
                           "(each word is looked up in every source file), not an embedding file")
        emb = _load(path, "input embedding")
        return emb.words, emb.vectors
    if parts and args.source:
        raise UsageError("--source does not apply to a model fitted on several source files: "
                         "it reads the files named in the model")
    words = _read_word_list(path)
    if parts:
        embeddings = [_load(p["path"], f"source part {p['name']} (named in the model)")
                      for p in parts]
        where = "every source file"
    else:
        source = args.source or model.header.get("source_path")
        if not source:
            raise CliError(f"{path} is a word list: give --source SRC to look up its vectors")
        embeddings = [_load(source, "source embedding (--source or the model's source_path)")]
        where = source
    indexes = [e.index for e in embeddings]
    found = [w for w in words if all(w in ix for ix in indexes)]
    if not found:
        raise CliError(f"{path}: none of its {len(words)} words is in {where}")
    kept = set(found)
    _say_skipped(args, [w for w in words if w not in kept], len(words), f"in {where}")
    X = [e.vectors[[ix[w] for w in found]] for e, ix in zip(embeddings, indexes)]
    return found, X[0] if not parts else np.hstack([
        np.float32(part["weight"]) * normaliser_from_mean(model.arrays[f"source_part_mean_{i}"])
        .transform(x) for i, (part, x) in enumerate(zip(parts, X))])


def _source_parts(args):
    """``(names, embeddings, words every file has)`` of several SRC files, or None for one.

    Only words every source has are paired: a joined map never meets a word lacking a part.
    """
    paths, weights = args.src, args.source_weight
    if weights is not None and len(weights) != len(paths):
        raise UsageError(f"--source-weight given {len(weights)} time(s) for {len(paths)} source "
                         "file(s): give one per source file, in order")
    if len(paths) == 1:
        return None
    embeddings = [_load(p, f"source {i}") for i, p in enumerate(paths, start=1)]
    others = [set(e.words) for e in embeddings[1:]]
    common = [w for w in embeddings[0].words if all(w in o for o in others)]
    if not common:
        raise CliError(f"the source files {', '.join(map(str, paths))} share no word")
    union = len(set().union(*(e.words for e in embeddings)))
    _say(args, f"embmap: joining {len(paths)} source files on the {len(common)} words they all "
               f"have ({union - len(common)} words lack some file and are left out)")
    # a readable, distinct name per file: its file name, numbered if two clash
    names = [Path(p).name for p in paths]
    names = [n if names.count(n) == 1 else f"{i}:{n}" for i, n in enumerate(names, start=1)]
    return names, embeddings, common


def _join_on(args, parts, train_words):
    """The joined source embedding, normalised per part on ``train_words``."""
    from embmap.io import Embedding
    from embmap.joined import join_sources

    names, embeddings, common = parts
    index = {w: i for i, w in enumerate(common)}
    train = np.array(sorted(index[w] for w in train_words), dtype=np.int64)
    joined = join_sources(dict(zip(names, embeddings)), common, train, args.source_weight)
    return joined, Embedding(common, joined.X)


def _joined_report_source(args) -> str:
    """Write the joined source of several SRC files (normalised per part on the training
    words of the split ``load_pair`` draws) for the report's notebooks; its path."""
    from embmap.datasets import pair_embeddings
    from embmap.io import Embedding, write_npz

    names, embeddings, common = parts = _source_parts(args)
    # The pairing and split depend on the words only: any vectors of the same words give them.
    stand_in = Embedding(common, embeddings[0].vectors[embeddings[0].rows(common)])
    pair = pair_embeddings(stand_in, _load(args.trg, "target"), dictionary=args.dictionary,
                           seed=args.seed)
    joined, _ = _join_on(args, parts, [pair.words[i] for i in pair.train])
    Path(args.out).mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "joined_source.npz"
    write_npz(path, common, joined.X)
    _say(args, f"embmap: wrote the joined source ({', '.join(names)}; "
               f"{joined.X.shape[1]}d) to {path}")
    return str(path)


def _pairs(args, src_words, trg_words):
    """``(pairs, gold_sets, golds)`` of the files; says how many words are left unpaired."""
    from embmap.datasets import dictionary_gold_sets, pair_words, several_golds_message

    pairs, golds, dropped = pair_words(src_words, trg_words, args.dictionary)
    gold_sets, counts = dictionary_gold_sets(pairs, golds, dropped)
    if counts["source_words_with_several_targets"]:
        _say(args, f"embmap: {several_golds_message(len(pairs), counts)}")
    what = f"dictionary {args.dictionary}" if args.dictionary else "shared words"
    if len(pairs) < 2:
        raise CliError(f"only {len(pairs)} usable word pairs ({what}) between "
                       f"{' + '.join(map(str, args.src))} and {args.trg}: check the dictionary "
                       "and casing")
    paired_src = {s for s, _ in pairs}
    paired_trg = {t for s in paired_src for t in golds[s]}
    _say(args, f"embmap: {len(pairs)} pairs ({what}); left unpaired (no pair in the other "
               "file or the dictionary): "
               f"{len(set(src_words) - paired_src)} of {len(src_words)} words of "
               f"{' + '.join(map(str, args.src))}, {len(set(trg_words) - paired_trg)} of "
               f"{len(trg_words)} words of {args.trg}")
    return pairs, gold_sets, golds


def cmd_fit(args) -> int:
    from embmap.app.model_file import fit_model, save_model
    from embmap.io import Embedding

    parts = _source_parts(args)
    if parts is None:
        src = _load(args.src[0], "source")
    else:  # pairing needs the words only; the joined vectors need the pairs (training rows)
        src = Embedding(parts[2], np.zeros((len(parts[2]), 1), dtype=np.float32))
    trg = _load(args.trg, "target")
    pairs, gold_sets, _ = _pairs(args, src.words, trg.words)
    if parts is not None:
        joined, src = _join_on(args, parts, [s for s, _ in pairs])
    _say(args, f"embmap: fitting {args.method} on {len(pairs)} pairs ({src.dim}d -> {trg.dim}d)")
    model = fit_model(src, trg, pairs, args.method, seed=args.seed,
                      progress=_progress_enabled(args), source_path=args.src[0],
                      target_path=args.trg, gold_sets=gold_sets)
    if parts is not None:  # each part's file, weight and mean: `map` rebuilds the vectors
        model.header["source_path"] = None
        model.header["source_parts"] = [
            {"name": name, "path": str(Path(path).resolve()), "dim": int(sl.stop - sl.start),
             "weight": joined.weights[name]}
            for (name, sl), path in zip(joined.slices.items(), args.src)]
        for i, name in enumerate(joined.names):
            model.arrays[f"source_part_mean_{i}"] = joined.normalisers[name].means_[0]
    save_model(args.out, model)
    if args.method == "best":
        p, sel = model.header["params"], model.header["params"]["selection"]
        _say(args, f"embmap: chosen on validation: k={p['n_neighbors']}, T={p['temperature']}, "
                   f"reverse k={p['reverse_n_neighbors']}, reverse T={p['reverse_temperature']}, "
                   f"beta={p['beta']}; validation P@10 {sel['validation_p@10_two_direction']:.2%}"
                   f" (forward CSLS only {sel['validation_p@10_beta0']:.2%}; chance "
                   f"{10 / sel['candidates']:.2%}) on {sel['n_validation']} validation words, "
                   f"{sel['candidates']} candidates")
    _say(args, f"embmap: wrote {args.out}")
    return 0


def _mapped(args):
    """``(model, words, raw source vectors, predictions)`` of INPUT."""
    from embmap.app.model_file import load_model

    model = load_model(args.model)
    words, X = _source_vectors(args, model, args.input)
    return model, words, X, model.predict(X, progress=_progress_enabled(args))


def cmd_map(args) -> int:
    from embmap.io import Embedding, write_word2vec_text

    _, words, _, pred = _mapped(args)
    write_word2vec_text(args.out, Embedding(words, pred))
    _say(args, f"embmap: wrote {len(words)} mapped vectors ({pred.shape[1]}d, normalised target "
               f"space) to {args.out}")
    return 0


def cmd_neighbours(args) -> int:
    model, words, X, pred = _mapped(args)
    idx, scores = model.neighbours(pred, k=args.k, progress=_progress_enabled(args),
                                   sources=model.normalise_source(X))
    targets = model.arrays["target_words"]
    k = model.header["csls_k"]
    rule = (f"CSLS = 2 cos(mapped word, target) - mean cos of the mapped word's {k} nearest "
            f"targets - mean cos of the target's {k} nearest mapped source words")
    if model.header.get("retrieval") == "two-direction":
        rule = (f"forward CSLS + beta x reverse CSLS, beta = {model.header['params']['beta']} "
                f"(forward: {rule}; reverse: the same between the word's source vector and "
                "each target's estimated source vector)")
    header = ["word"] + [f"{c}_{i}" for i in range(1, idx.shape[1] + 1)
                         for c in ("neighbour", "score")]
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(f"# score: {rule}; higher is better, best first\n" + "\t".join(header) + "\n")
        handle.writelines(
            "\t".join([word, *(f"{targets[j]}\t{s:.4f}" for j, s in zip(row, score))]) + "\n"
            for word, row, score in zip(words, idx, scores))
    _say(args, f"embmap: wrote the {idx.shape[1]} best target words "
               f"({model.header.get('retrieval', 'csls')}) of {len(words)} words to {args.out}")
    return 0


def cmd_split(args) -> int:
    from embmap.datasets import pair_words, split_indices

    src, trg = _load(args.src, "source"), _load(args.trg, "target")
    pairs, golds, _ = pair_words(src.words, trg.words, args.dictionary)
    if len(pairs) < 2:
        raise CliError(f"only {len(pairs)} usable word pairs between {args.src} and {args.trg}")
    # By source word, as embmap.load_pair splits: a word's golds all go where it goes.
    rows = dict(zip(("train", "validation", "test"),
                    split_indices(len(pairs), args.seed, args.val_fraction, args.test_fraction)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in rows.items():
        words = [pairs[i][0] for i in part]
        (out / f"{name}.txt").write_text("".join(f"{w} {t}\n" for w in words for t in golds[w]),
                                         encoding="utf-8")
        print(f"{name}: {len(words)} source words, {sum(len(golds[w]) for w in words)} pairs "
              f"-> {out / f'{name}.txt'}")
    _say(args, f"embmap: fit on {out / 'train.txt'} (--dictionary); compare methods with "
               f"`embmap evaluate` on {out / 'validation.txt'}; score {out / 'test.txt'} once, "
               "for the method you chose ('best' also holds out its own validation words from "
               "the pairs it is given)")
    return 0


def cmd_evaluate(args) -> int:
    from embmap.app.model_file import load_model, normalise, unit_mean
    from embmap.datasets import dictionary_pairs, read_dictionary
    from embmap.evaluation import bootstrap_ci, evaluate, gold_ranks, mean_cosine, rank_metrics

    pred_emb, trg = _load(args.pred, "predictions"), _load(args.trg, "target")
    if pred_emb.dim != trg.dim:
        raise CliError(f"{args.pred} has {pred_emb.dim} dimensions but {args.trg} has "
                       f"{trg.dim}: map the sources into the target space first (embmap map)")
    model = load_model(args.model) if args.model else None
    if model is not None:
        targets, how = model.normalise_target(trg.vectors), f"normalised as in {args.model}"
    else:
        targets = normalise(trg.vectors, unit_mean(trg.vectors))
        how = "unit-center-unit with the mean of all target words"
    p_index, t_index = pred_emb.index, trg.index
    entries = read_dictionary(args.dictionary)
    # One query per source word, in the predictions file's order; its golds are all its
    # listed target words (a hit on any counts), so line order is irrelevant.
    grouped = dictionary_pairs(pred_emb.words, trg.words, entries)[1]
    listed = list(dict.fromkeys(s for s, _ in entries))
    _say_skipped(args, [w for w in listed if w not in grouped], len(listed),
                 f"in {args.pred} with a target in {args.trg}")
    if not grouped:
        raise CliError(f"{args.dictionary}: no pair has its source word in {args.pred} and its "
                       f"target word in {args.trg}")
    words = sorted(grouped, key=p_index.__getitem__)
    golds = [[t_index[t] for t in grouped[w]] for w in words]
    several = sum(len(g) > 1 for g in golds)
    gold = golds if several else np.array([g[0] for g in golds])
    pred = pred_emb.vectors[[p_index[w] for w in words]]
    two_direction = model is not None and model.header.get("retrieval") == "two-direction"
    if args.source and not two_direction:
        raise UsageError("--source applies to a two-direction model ('best', given with --model) "
                         "only")
    if args.source:
        if args.identical_targets != "separate":
            raise UsageError("--identical-targets one does not apply to two-direction retrieval")
        if trg.words != model.arrays["target_words"].tolist():
            raise CliError(f"{args.trg} is not the target file {args.model} was fitted on")
        src = _load(args.source, "source embedding (--source)")
        missing = [w for w in words if w not in src.index]
        if missing:
            raise CliError(f"{args.source} lacks {len(missing)} query words (e.g. "
                           f"{', '.join(missing[:5])}): give the source file the model maps")
        how_scored = {"retrieval": "two-direction", "identical_targets": "separate"}
        ranks = model.gold_ranks(pred, gold,
                                 sources=model.normalise_source(src.vectors[src.rows(words)]))
        result = {**rank_metrics(ranks), "mean_cos": mean_cosine(pred, targets, gold),
                  "n_queries": len(words), "n_candidates": len(targets)}
    else:
        how_scored = {"retrieval": args.retrieval, "identical_targets": args.identical_targets}
        result = evaluate(pred, targets, gold, **how_scored)
        ranks = gold_ranks(pred, targets, gold, **how_scored)
        if two_direction:
            _say(args, f"embmap: {args.model} retrieves in two directions; scored by "
                       f"{args.retrieval} only (give --source SRC to score it as `neighbours` "
                       "ranks)")
    _, low, high = bootstrap_ci(ranks, "p@10", seed=0)
    n = result.get("n_distinct_candidates", result["n_candidates"])
    chance = {"p@1": 1 / n, "p@5": min(5 / n, 1.0), "p@10": min(10 / n, 1.0)}
    result.update({"p@10_ci95": [low, high], **how_scored, "queries_with_several_golds": several,
                   "dictionary_entries": len(entries), "dictionary_source_words": len(listed),
                   "targets": how, "chance_p@1": chance["p@1"], "chance_p@10": chance["p@10"]})
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['n_queries']} queries of {result['dictionary_source_words']} dictionary "
          f"source words; {result['n_candidates']} candidates (all target words, {how}); "
          f"retrieval {how_scored['retrieval']}")
    if several:
        print(f"{several} of {result['n_queries']} queries have several gold targets "
              "(a hit on any counts; the rank is the best gold's)")
    if args.identical_targets == "one":
        print(f"identical target vectors count as one candidate "
              f"({result['n_distinct_candidates']} distinct)")
    for key in ("p@1", "p@5", "p@10", "mrr", "mean_cos"):
        tail = f"  (chance {chance[key]:.4f}, {n} candidates)" if key in chance else ""
        print(f"{key:9s} {result[key]:.4f}{tail}")
    print(f"p@10 95% bootstrap CI over queries: {low:.4f} - {high:.4f}")
    return 0


def cmd_report(args) -> int:
    from embmap.app.report import run_report

    if args.source_weight is not None and len(args.src) == 1:
        raise UsageError("--source-weight applies to several source files only")
    src = args.src[0] if len(args.src) == 1 else _joined_report_source(args)
    result = run_report(src, args.trg, args.dictionary, args.graph, out=args.out,
                        quick=args.quick, seed=args.seed, notebooks=args.notebooks,
                        progress=_progress_enabled(args))
    failed = [r["notebook"] for r in result["notebooks"] if r["status"] != "ok"]
    for r in result["notebooks"]:
        _say(args, f"embmap: {r['notebook']}: {r['status']} ({r['seconds']:.0f} s)")
    _say(args, f"embmap: wrote {result['summary']} and summary.html")
    if failed:
        raise CliError(f"{len(failed)} notebook(s) failed: {', '.join(failed)} "
                       f"(see {args.out})")
    return 0


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; each option's default shown (when it has a value)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not any(action.default is v for v in (None, False, argparse.SUPPRESS)) \
                and "default" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    from embmap import __version__
    from embmap.app.model_file import METHODS

    # SUPPRESS: a flag given before or after the sub-command is kept (argparse would
    # otherwise let the sub-parser's default overwrite the main parser's value).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress or status lines")
    parser = argparse.ArgumentParser(
        prog="embmap", parents=[common], formatter_class=_HelpFormatter,
        description="Map one embedding space onto another (word vectors -> graph vectors, "
                    "language -> language). Files: word2vec text or binary, fastText .vec, "
                    "GloVe .txt or .npz, optionally gzipped; the format is detected.",
        epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"embmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, help_text, func):
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                           formatter_class=_HelpFormatter)
        p.set_defaults(func=func)
        return p

    seed_help = "seed of the validation/test split"
    p = add("split", "split the word pairs of SRC and TRG by source word into train, validation "
            "and test pair files (the format --dictionary reads)", cmd_split)
    p.add_argument("src", metavar="SRC", help="source embedding file")
    p.add_argument("trg", metavar="TRG", help="target embedding file")
    p.add_argument("--dictionary", help="word pairs 'source_word target_word' per line "
                   "(default: the words both files share)")
    p.add_argument("--out", required=True, help="folder for train.txt, validation.txt, test.txt")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of validation words")
    p.add_argument("--test-fraction", type=float, default=0.1, help="share of test words")
    p.add_argument("--seed", type=int, default=0, help=seed_help)

    p = add("fit", "fit a map from SRC to TRG and save it as an open model file (npz + JSON)",
            cmd_fit)
    _add_sources(p)
    p.add_argument("--dictionary", help="training pairs, 'source_word target_word' per line "
                   "(default: the words both files share)")
    p.add_argument("--method", choices=METHODS, default="best",
                   help="the map (see `embmap --help`)")
    p.add_argument("--out", required=True, help="model file to write (e.g. model.npz)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of best's validation words, the MLP and the CSLS sample")

    for name, func, help_text in (
            ("map", cmd_map, "map words into the target space; writes word2vec text"),
            ("neighbours", cmd_neighbours,
             ("the k best target words of each input word (CSLS; two-direction for a "
              "'best' model), one line per word"))):
        p = add(name, help_text, func)
        p.add_argument("model", help="model file written by `embmap fit`")
        p.add_argument("input", help="a word list (one word per line) or a source embedding file")
        p.add_argument("--source", help="source embedding for a word list (default: the file "
                       "the model was fitted on)")
        if name == "map":
            p.add_argument("--out", required=True, help="mapped vectors to write (word2vec text)")
        else:
            p.add_argument("--out", required=True, help="table to write (tab-separated, with a "
                           "header line and a '# score:' line)")
            p.add_argument("--k", type=_positive(int), default=10,
                           help="target words per input word")

    p = add("evaluate", "score mapped vectors against all target vectors (P@k, MRR)", cmd_evaluate)
    p.add_argument("pred", help="mapped vectors (output of `embmap map`)")
    p.add_argument("trg", help="target embedding file (all its words are candidates)")
    p.add_argument("--dictionary", required=True, help="gold pairs 'source_word target_word'; "
                   "a source word listed with several targets is a hit when any is retrieved")
    p.add_argument("--retrieval", choices=("nn", "csls"), default="csls",
                   help="nearest cosine, or CSLS (its target term from the mapped vectors)")
    p.add_argument("--model", help="normalise the targets as this model does (recommended)")
    p.add_argument("--source", help="with a 'best' --model: the source embedding, to score in "
                   "two directions with the ranks `embmap neighbours` gives")
    p.add_argument("--identical-targets", choices=("separate", "one"), default="separate",
                   help="'separate': every target row is its own candidate; 'one': "
                        "exactly equal target vectors count as one candidate")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")

    p = add("report", "run the notebooks that accept a pair (parameters cell defines "
            "source_path) on SRC -> TRG; executed notebooks, HTML and a summary", cmd_report)
    _add_sources(p)
    p.add_argument("--dictionary", help="word pairs 'source_word target_word'")
    p.add_argument("--graph", help="edges between target words, two words per line")
    p.add_argument("--out", default="report", help="output folder")
    p.add_argument("--quick", action="store_true", help="the notebooks' quick mode")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--notebooks", help="folder of the notebooks (default: the repository's)")
    return parser


def _add_sources(p) -> None:
    p.add_argument("src", nargs="+", metavar="SRC",
                   help="source embedding file; several files of the same words are joined: "
                        "each normalised on the training pairs, weighted, concatenated; only "
                        "words every file has are paired (and mapped later)")
    p.add_argument("trg", metavar="TRG", help="target embedding file")
    p.add_argument("--source-weight", type=_positive(float), action="append",
                   help="weight of one SRC file in the join (give it once per SRC, in order; "
                        "default 1 each)")


def _positive(kind):
    """An argparse type: a finite ``kind`` > 0."""
    what = "positive integer" if kind is int else "finite number > 0"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}")
        return value
    return parse


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 on a usage error
    args.debug, args.quiet = getattr(args, "debug", False), getattr(args, "quiet", False)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("embmap: interrupted", file=sys.stderr)
        return 1
    except Exception as error:  # one line, unless --debug
        if args.debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        if isinstance(error, (MemoryError, ImportError)) or not str(error):
            message = f"{type(error).__name__}: {message}"
        print(f"embmap: error: {message}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


if __name__ == "__main__":
    sys.exit(main())
