"""Joined ("meta-embedding") sources: several embeddings of the same words as one source space.

:func:`join_sources` normalises every part unit -> center -> unit with statistics of the
*training* rows that have it, weighs it and concatenates the parts; a word lacking a part gets
a zero block there (a normalised block is never zero, so :func:`part_mask` reads coverage
back). A zero block is not neutral (it shrinks the word's cosines to every word that has the
part), so :class:`PartFallbackMap` maps each word with a map fitted on exactly its parts::

    pair = embmap.load_dataset(source=("glove", "skipgram"))
    model = PartFallbackMap(SoftmaxKNNMap(), pair.source_parts.slices)
    model.fit(pair.X[pair.train], Y[pair.train])   # Y: the normalised targets

Shown in notebook 06, section 6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from embmap._validation import as_indices, as_matrix, check_choice, check_same_rows
from embmap.datasets import _as_embedding, _check_train, _check_words
from embmap.preprocess import Normaliser

__all__ = [
    "JoinedSource", "PartFallbackMap", "check_every_part", "join_sources",
    "normaliser_from_mean", "part_mask",
]

_SHOWN = 5  # words or rows named in an error message


@dataclass
class JoinedSource:
    """Several source embeddings of the same words, normalised per part and concatenated.

    Built by :func:`join_sources`. ``X[:, slices[name]]`` holds ``weights[name]`` times the
    part normalised by ``normalisers[name]`` (fitted on the ``train`` rows that have it), zero
    where ``has_part`` is False. ``raw`` (the part vectors) and ``oog_parts`` (those of further
    words) let :meth:`rejoin` refit on another split.
    """

    words: list
    X: np.ndarray
    names: tuple
    slices: dict
    has_part: np.ndarray
    weights: dict
    normalisers: dict
    train: np.ndarray
    raw: dict = field(repr=False)
    oog_parts: dict = field(default_factory=dict, repr=False)

    def __repr__(self):
        covered = ", ".join(f"{n} {int(c):,}" for n, c in zip(self.names, self.has_part.sum(0)))
        return (f"JoinedSource({len(self.words):,} words, {self.X.shape[1]}d; rows per part: "
                f"{covered}; every part: {int(self.complete.sum()):,})")

    @property
    def complete(self) -> np.ndarray:
        """Bool array (n,): the rows that have every part."""
        return self.has_part.all(axis=1)

    def coverage(self) -> dict:
        """Rows per part, rows with every part, and each part's weight (plain numbers)."""
        return {"parts": list(self.names), "rows": len(self.words),
                "rows_per_part": {n: int(c) for n, c in zip(self.names, self.has_part.sum(0))},
                "rows_with_every_part": int(self.complete.sum()), "weights": dict(self.weights)}

    def transform(self, parts, words) -> tuple[np.ndarray, np.ndarray]:
        """``(X, has_part)`` of (new) ``words`` with the fitted statistics; ``parts`` may omit some."""
        parts = _check_parts(parts, minimum=1)
        unknown = [n for n in parts if n not in self.slices]
        if unknown:
            raise ValueError(f"parts names unknown parts {unknown}; the parts are {list(self.names)}")
        words = _check_words(words)
        X = np.zeros((len(words), self.X.shape[1]), dtype=np.float32)
        has = np.zeros((len(words), len(self.names)), dtype=bool)
        for j, name in enumerate(self.names):
            if name not in parts:
                continue
            vectors, has[:, j] = _aligned_part(parts[name], name, words, self.slices[name],
                                               require_shared=False)
            X[has[:, j], self.slices[name]] = self._block(name, vectors[has[:, j]])
        _refuse_uncovered(words, has)
        return X, has

    def rejoin(self, rows, train) -> JoinedSource:
        """The same parts restricted to ``rows``, refitted on ``train`` (positions in ``rows``)."""
        rows = as_indices(rows, "rows", len(self.words), min_len=1)
        parts = {}
        for j, name in enumerate(self.names):
            covered = rows[self.has_part[rows, j]]
            parts[name] = ([self.words[i] for i in covered], self.raw[name][covered])
        joined = join_sources(parts, [self.words[i] for i in rows], train, self.weights)
        joined.oog_parts = self.oog_parts
        return joined

    def _block(self, name, vectors) -> np.ndarray:
        # float32 weight times the float32 normalised rows: exactly w * normalise(part).
        return np.float32(self.weights[name]) * self.normalisers[name].transform(vectors)


def join_sources(parts, words, train, weights=None) -> JoinedSource:
    """Join several source embeddings of ``words`` into one, normalised on the training rows.

    ``parts`` maps a name to an Embedding, path, gensim KeyedVectors or ``(words, vectors)``: at
    least two, in column order, each sharing a training word with ``words`` (every one of which
    needs some part). ``weights``: per part (a mapping, parts left out weigh 1, or a sequence),
    finite and > 0.
    """
    parts = _check_parts(parts, minimum=2)
    words = _check_words(words)
    train = _check_train(train, len(words))
    weights = _check_weights(weights, list(parts))
    names = tuple(parts)
    slices, has, raw, start = {}, np.zeros((len(words), len(names)), dtype=bool), {}, 0
    for j, name in enumerate(names):
        vectors, has[:, j] = _aligned_part(parts[name], name, words, None, require_shared=True)
        slices[name] = slice(start, start + vectors.shape[1])
        raw[name], start = vectors, start + vectors.shape[1]
    _refuse_uncovered(words, has)
    is_train = np.zeros(len(words), dtype=bool)
    is_train[train] = True
    joined = JoinedSource(list(words), np.zeros((len(words), start), dtype=np.float32), names,
                          slices, has, weights, {}, train, raw)
    for j, name in enumerate(names):
        fit_rows = is_train & has[:, j]
        if not fit_rows.any():
            raise ValueError(f"parts[{name!r}] covers no training row: its normalisation "
                             "statistics would come from test words; give it more words")
        # Statistics from the training rows that have the part: never from test words.
        joined.normalisers[name] = Normaliser().fit(raw[name][fit_rows])
        joined.X[has[:, j], slices[name]] = joined._block(name, raw[name][has[:, j]])
    return joined


def normaliser_from_mean(mean) -> Normaliser:
    """A fitted unit -> center -> unit :class:`~embmap.preprocess.Normaliser` with this mean (from a model file)."""
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1 or not np.isfinite(mean).all():
        raise ValueError(f"mean must be a finite 1-D vector, got shape {mean.shape}")
    normaliser = Normaliser()
    normaliser.means_, normaliser.n_features_in_ = [mean], len(mean)
    return normaliser


def part_mask(X, part_slices) -> np.ndarray:
    """Which parts each joined row has (a non-zero block): bool array (n, n_parts)."""
    X = as_matrix(X, "X", min_rows=0)
    slices = _check_slices(part_slices, X.shape[1])
    return np.stack([np.any(X[:, s] != 0, axis=1) for s in slices.values()], axis=1)


def check_every_part(X, part_slices, words=None) -> None:
    """Refuse joined rows that lack a part, naming the words (or rows) and the parts they lack."""
    has = part_mask(X, part_slices)
    bad = np.flatnonzero(~has.all(axis=1))
    if bad.size:
        names = list(_check_slices(part_slices, np.shape(X)[1]))
        label = (lambda i: repr(words[i])) if words is not None else (lambda i: f"row {i}")
        shown = ", ".join(f"{label(i)} (lacks {[n for n, h in zip(names, has[i]) if not h]})"
                          for i in bad[:_SHOWN])
        raise ValueError(f"{bad.size} of {len(has)} joined rows lack a part, e.g. {shown}: "
                         "a zero block is not a vector; map them with PartFallbackMap "
                         "(missing='fallback') or drop them")


class PartFallbackMap(RegressorMixin, BaseEstimator):
    """Map each joined row with a map fitted on exactly the parts that row has.

    A clone of ``base`` (default :class:`embmap.local.SoftmaxKNNMap`) is fitted per set of
    parts on their columns (``part_slices``, as :attr:`JoinedSource.slices`), over the
    training rows that have them; a row is predicted by the map of its own parts, so no zero
    block enters a neighbour search or a linear map. ``missing="raise"``: one joined map that
    refuses rows lacking a part. Fitted: ``maps_`` and ``train_rows_`` (per tuple of part names
    with two training rows or more), ``has_part_``, ``X_`` (the training rows).
    """

    def __init__(self, base=None, part_slices=None, missing="fallback"):
        self.base, self.part_slices, self.missing = base, part_slices, missing

    def fit(self, X, Y):
        """Fit one clone of ``base`` per set of parts."""
        from embmap.local import SoftmaxKNNMap

        check_choice(self.missing, "missing", ("fallback", "raise"))
        X, Y = as_matrix(X, "X", min_rows=2), as_matrix(Y, "Y", min_rows=2)
        check_same_rows(X, Y, "X", "Y")
        slices = _check_slices(self.part_slices, X.shape[1])
        has = self._rows_parts(X)
        names = tuple(slices)
        sets = [names] if self.missing == "raise" else [
            c for r in range(len(names), 0, -1) for c in combinations(names, r)]
        base = self.base if self.base is not None else SoftmaxKNNMap()
        self.maps_, self.train_rows_ = {}, {}
        for chosen in sets:
            rows = np.flatnonzero(has[:, [names.index(n) for n in chosen]].all(axis=1))
            if len(rows) < 2:
                continue  # too few words to fit on; a query with these parts is refused
            try:
                self.maps_[chosen] = clone(base).fit(_take(X, rows, slices, chosen), Y[rows])
            except ValueError as error:  # e.g. n_neighbors above the rows: say which map
                raise ValueError(f"the map of the parts {list(chosen)} ({len(rows)} training "
                                 f"rows) cannot be fitted: {error}") from error
            self.train_rows_[chosen] = rows
        if names not in self.maps_:
            raise ValueError("X has fewer than 2 training rows with every part: the joined map "
                             "cannot be fitted")
        self.has_part_, self.n_features_in_, self.X_ = has, X.shape[1], X
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted target vectors (float32); each row by the map of the parts it has."""
        check_is_fitted(self, "maps_")
        X = as_matrix(X, "X", min_rows=0, n_cols=self.n_features_in_)
        return self._predict_by_parts(X, self._rows_parts(X),
                                      lambda chosen, Xs, rows: self.maps_[chosen].predict(Xs))

    def predict_training(self) -> np.ndarray:
        """Leave-one-out predictions of the training rows, each by the map of its own parts.

        As :meth:`embmap.local.SoftmaxKNNMap.predict_training`; a base without it predicts them.
        """
        check_is_fitted(self, "maps_")

        def leave_one_out(chosen, Xs, rows):
            model = self.maps_[chosen]
            if not hasattr(model, "predict_training"):
                return model.predict(Xs)
            # the map of these parts was fitted on train_rows_[chosen], a superset of rows
            return np.asarray(model.predict_training())[
                np.searchsorted(self.train_rows_[chosen], rows)]

        return self._predict_by_parts(self.X_, self.has_part_, leave_one_out)

    def _rows_parts(self, X) -> np.ndarray:
        has = part_mask(X, self.part_slices)
        empty = np.flatnonzero(~has.any(axis=1))
        if empty.size:
            raise ValueError(f"X rows {empty[:_SHOWN].tolist()} ({empty.size} in all) have no "
                             "part at all (every block is zero)")
        if self.missing == "raise":
            check_every_part(X, self.part_slices)
        return has

    def _predict_by_parts(self, X, has, predict) -> np.ndarray:
        """``predict(parts, X[rows] on their columns, rows)`` for each set of parts present."""
        slices = _check_slices(self.part_slices, self.n_features_in_)
        names = tuple(slices)
        out = None
        keys = has @ (1 << np.arange(len(names)))  # one integer per set of parts
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            chosen = tuple(n for n, h in zip(names, has[rows[0]]) if h)
            if chosen not in self.maps_:
                raise ValueError(f"{rows.size} rows have only the parts {list(chosen)}, and fewer "
                                 "than 2 training rows have them: no map to predict with")
            pred = np.asarray(predict(chosen, _take(X, rows, slices, chosen), rows),
                              dtype=np.float32)
            if out is None:
                out = np.empty((len(X), pred.shape[1]), dtype=np.float32)
            out[rows] = pred
        if out is None:  # no rows at all: the output width is the full map's
            full = _take(self.X_, self.train_rows_[names][:1], slices, names)
            width = self.maps_[names].predict(full).shape[1]
            out = np.empty((0, width), dtype=np.float32)
        return out


def _check_parts(parts, minimum: int) -> dict:
    if not isinstance(parts, Mapping):
        raise TypeError(f"parts must map a part name to an embedding, got {type(parts).__name__}")
    if minimum == 2 and len(parts) == 1:
        raise ValueError(f"parts has one part only ({next(iter(parts))!r}): use it directly, "
                         "there is nothing to join")
    if len(parts) < minimum:
        raise ValueError(f"parts must hold at least {minimum} parts, got {len(parts)}")
    bad = [n for n in parts if not isinstance(n, str) or not n]
    if bad:
        raise TypeError(f"parts must be named by non-empty strings, got {bad[0]!r}")
    return dict(parts)


def _check_weights(weights, names: list) -> dict:
    if weights is None or isinstance(weights, Mapping):
        weights = weights or {}
        unknown = [n for n in weights if n not in names]
        if unknown:
            raise ValueError(f"weights names unknown parts {unknown}; the parts are {names}")
        given = {**dict.fromkeys(names, 1.0), **weights}
    else:
        given = list(weights) if not isinstance(weights, (str, bytes)) else [weights]
        if len(given) != len(names):
            raise ValueError(f"weights must give one weight per part ({len(names)}), got "
                             f"{len(given)}")
        given = dict(zip(names, given))
    out = {}
    for name, w in given.items():
        try:
            value = float(w)
        except (TypeError, ValueError):
            raise TypeError(f"weights[{name!r}] must be a number, got {w!r}") from None
        if isinstance(w, bool) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"weights[{name!r}] must be a finite number > 0, got {w!r}")
        out[name] = value
    return out


def _aligned_part(obj, name, words, columns, require_shared):
    """The part's vectors in ``words`` order (zero rows where missing) and its coverage mask."""
    emb = _as_embedding(obj, f"parts[{name!r}]")
    if columns is not None and emb.dim != columns.stop - columns.start:
        raise ValueError(f"parts[{name!r}] has {emb.dim} dimensions, the joined part has "
                         f"{columns.stop - columns.start}")
    rows = emb.rows(words)
    has = rows >= 0
    if require_shared and not has.any():
        raise ValueError(f"parts[{name!r}] shares no word with words (check casing); first "
                         f"words: {emb.words[:3]} vs {list(words[:3])}")
    vectors = np.zeros((len(words), emb.dim), dtype=np.float32)
    vectors[has] = emb.vectors[rows[has]]
    finite = np.isfinite(vectors).all(axis=1)
    zero = ~np.any(vectors != 0, axis=1) & has
    for bad, what in ((~finite, "NaN or inf values"), (zero, "an all-zero vector")):
        if bad.any():
            shown = [words[i] for i in np.flatnonzero(bad)[:_SHOWN]]
            raise ValueError(f"parts[{name!r}] gives {int(bad.sum())} word(s) {what} (no "
                             f"direction to normalise), e.g. {shown}: drop or fix them")
    return vectors, has


def _refuse_uncovered(words, has) -> None:
    none = np.flatnonzero(~has.any(axis=1))
    if none.size:
        raise ValueError(f"words holds {none.size} word(s) that no part covers, e.g. "
                         f"{[words[i] for i in none[:_SHOWN]]}: drop them or add a part")


def _check_slices(part_slices, n_cols: int) -> dict:
    if not isinstance(part_slices, Mapping) or len(part_slices) < 1:
        raise TypeError("part_slices must map each part name to its columns (a slice), e.g. "
                        "JoinedSource.slices")
    out, end = {}, 0
    for name, s in part_slices.items():
        if not isinstance(s, slice) or s.start != end or s.stop is None or s.stop <= s.start \
                or s.step not in (None, 1):
            raise ValueError(f"part_slices[{name!r}] must be the slice of columns that follows "
                             f"the previous part's (from {end}), got {s!r}")
        out[name], end = s, s.stop
    if end != n_cols:
        raise ValueError(f"part_slices cover {end} columns but X has {n_cols}")
    return out


def _take(X, rows, slices, names) -> np.ndarray:
    """``X[rows]`` on the columns of ``names``, C-ordered: row norms summed in Fortran order
    would differ in the last bit from those of a map fitted directly."""
    columns = np.concatenate([np.arange(slices[n].start, slices[n].stop) for n in names])
    return np.ascontiguousarray(X[rows][:, columns])
