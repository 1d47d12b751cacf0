"""A fitted map saved as an open file: a ``.npz`` zip holding ``header.json`` and arrays.

This is what ``embmap fit`` writes and ``embmap map`` / ``neighbours`` read.
It is never a pickle: every entry is a plain ``.npy`` array (readable with
``numpy.load(path, allow_pickle=False)``) or the JSON header, readable with
``unzip -p MODEL header.json``.

Layout (format ``embmap-model``, ``format_version`` 1)
------------------------------------------------------
``header.json``
    ``format``, ``format_version``, ``embmap_version``, ``method``,
    ``params`` (the estimator's parameters), ``normalise`` (the steps,
    ``["unit", "center", "unit"]``), ``source_dim``, ``target_dim``,
    ``n_pairs`` (pairs it was fitted on), ``source_path`` / ``target_path``
    (absolute paths of the files it was fitted on, used to look up the
    vectors of a plain word list), ``retrieval`` (``"csls"``; ``"two-direction"``
    for ``best``), ``csls_k``, ``csls_sources`` (how the CSLS hubness term was
    computed).
``source_mean``, ``target_mean`` : (d_x,), (d_y,)
    Means of the unit-normalised training rows (the ``center`` step).
Linear methods (``procrustes``, ``lstsq``, ``vecmap``): ``coef`` (d_x, d_y), ``intercept`` (d_y,).
kNN methods (``knn``, ``best``): ``train_sources`` (n, d_x), ``train_targets`` (n, d_y),
    the normalised training pairs.
``best`` (softmax kNN + two-direction retrieval, notebook 06): ``params`` holds the
    forward ``n_neighbors`` / ``temperature``, the reverse ``reverse_n_neighbors`` /
    ``reverse_temperature`` and ``beta``, all chosen on validation words drawn from the
    given pairs (``params["selection"]`` records the split and the validation scores);
    ``retrieval`` is ``"two-direction"``. Arrays ``reverse_source_estimates`` (m, d_x):
    each target word's source vector estimated by softmax kNN over the training
    words' targets (a training word leaves itself out); ``reverse_csls_r`` (m,): the
    reverse CSLS hubness term of each estimate (mean cosine to its ``csls_k`` nearest
    training source vectors). A query ``q`` scores target ``c`` by
    ``CSLS(y_q, y_c) + beta * CSLS(x_q, x_c)`` (:class:`embmap.local.TwoDirectionRetrieval`).
``mlp``: ``mlp.<name>`` for each tensor of the network's ``state_dict``.
Retrieval (all methods): ``target_words`` (m,), ``target_vectors`` (m, d_y),
    every word of the target file, normalised; ``target_csls_r`` (m,): each
    target's mean cosine to its ``csls_k`` nearest mapped source words.

Design choice: the model carries the whole (normalised) target vocabulary,
so ``embmap neighbours`` needs nothing but the model file; it costs
``m x d_y x 4`` bytes (13 MB for 33,518 x 100).

All vectors a model outputs live in its *normalised* target space (unit
length, centred with the training mean, unit length again): the space in
which it was fitted and in which retrieval is scored.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embmap._checks import safe_unit_rows
from embmap.gold import as_gold
from embmap.io import Embedding
from embmap.retrieval import topk_rows

FORMAT, FORMAT_VERSION = "embmap-model", 1
METHODS = ("procrustes", "lstsq", "vecmap", "knn", "mlp", "best")
# The tutorial's recommendation (notebook 06): softmax kNN regression with two-direction
# retrieval; k and T (forward), the reverse k and T, and beta are chosen on validation words
# drawn from the given pairs, over these grids (those of notebook 06's quick mode).
BEST_GRID = {"n_neighbors": (10, 20, 40), "temperature": (0.03, 0.05, 0.1),
             "reverse": ((10, 0.05), (20, 0.05)), "beta": (0, 0.5, 1, 2, 3, 4, 6)}
BEST_VAL_FRACTION, BEST_MIN_PAIRS = 0.1, 100
CSLS_K = 10
CSLS_SOURCES = 20000  # mapped source words that define each target's CSLS hubness term


class ModelFileError(ValueError):
    """A model file that is not a readable embmap model; the message names the file."""


def _normalise(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """unit -> subtract ``mean`` -> unit, in float32 (zero rows stay zero)."""
    X = safe_unit_rows(np.asarray(X, dtype=np.float32))
    return safe_unit_rows(X - mean.astype(np.float32))


def _unit_mean(X: np.ndarray) -> np.ndarray:
    """Mean of the unit-normalised rows (the ``center`` step's mean)."""
    return safe_unit_rows(np.asarray(X, dtype=np.float64), np.float64).mean(axis=0)


@dataclass
class MapModel:
    """A fitted map with everything ``map`` and ``neighbours`` need."""

    header: dict
    arrays: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.header["method"]

    def normalise_source(self, X) -> np.ndarray:
        return _normalise(X, self.arrays["source_mean"])

    def normalise_target(self, Y) -> np.ndarray:
        return _normalise(Y, self.arrays["target_mean"])

    def predict(self, X_raw, progress=False) -> np.ndarray:
        """Raw source vectors -> predictions in the normalised target space (float32)."""
        X = self.normalise_source(X_raw)
        if X.shape[1] != self.header["source_dim"]:
            raise ValueError(f"source vectors have {X.shape[1]} dimensions, the model expects "
                             f"{self.header['source_dim']}")
        out = np.empty((len(X), self.header["target_dim"]), dtype=np.float32)
        predict = self._predictor()
        step = 4096
        for lo in _progress(range(0, len(X), step), progress, "mapping", len(X), step):
            out[lo : lo + step] = predict(X[lo : lo + step])
        return out

    def _predictor(self):
        a, method = self.arrays, self.method
        if method in ("procrustes", "lstsq", "vecmap"):
            coef, intercept = a["coef"].astype(np.float32), a["intercept"].astype(np.float32)
            return lambda X: X @ coef + intercept
        if method in ("knn", "best"):
            from embmap.neural import KNNRegressionMap

            p = self.header["params"]
            knn = KNNRegressionMap(n_neighbors=p["n_neighbors"], weights=p["weights"],
                                   temperature=p["temperature"])
            knn.fit(a["train_sources"], a["train_targets"])
            return knn.predict
        if method == "mlp":
            return self._mlp_predictor()
        raise ModelFileError(f"unknown method {method!r}")  # pragma: no cover

    def _mlp_predictor(self):
        import torch

        from embmap.neural import MLPMapper

        p = self.header["params"]
        d_x, d_y = self.header["source_dim"], self.header["target_dim"]
        residual = np.zeros((d_x, d_y), dtype=np.float32) if p["residual"] else None
        net = MLPMapper(d_x, d_y, tuple(p["hidden"]), p["activation"], p["output_activation"],
                        "default", p["dropout"], residual_init=residual,
                        residual_bias=None if residual is None else np.zeros(d_y))
        state = {k[len("mlp."):]: torch.from_numpy(np.array(v)) for k, v in self.arrays.items()
                 if k.startswith("mlp.")}
        net.load_state_dict(state)
        net.eval()

        def predict(X):
            with torch.no_grad():
                return net(torch.from_numpy(np.ascontiguousarray(X))).numpy()
        return predict

    def neighbours(self, pred: np.ndarray, k: int = 10, progress=False, sources=None):
        """The ``k`` best target rows of each prediction under the model's retrieval scheme.

        CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y); ``r_S`` is stored in the
        model (``target_csls_r``), ``r_T`` is each query's mean cosine to its
        ``csls_k`` nearest targets. A ``two-direction`` model (method ``best``)
        adds ``beta`` times the reverse CSLS between the query's normalised
        source vector (``sources``, from :meth:`normalise_source`; required)
        and each target's stored source estimate. Returns ``(indices, scores)``.
        """
        T = self.arrays["target_vectors"]
        two = self.header.get("retrieval") == "two-direction"
        if two:
            if sources is None:
                raise ValueError("sources must be given: this model retrieves in two directions "
                                 "and needs each query's normalised source vector")
            Xq = _unit(sources)
            if Xq.shape != (len(pred), self.header["source_dim"]):
                raise ValueError(f"sources must have shape ({len(pred)}, "
                                 f"{self.header['source_dim']}), got {Xq.shape}")
            E = self.arrays["reverse_source_estimates"].astype(np.float32)
            rev_r_S = self.arrays["reverse_csls_r"].astype(np.float32)
            beta = np.float32(self.header["params"]["beta"])
        r_S = self.arrays["target_csls_r"].astype(np.float32)
        P = _unit(pred)
        k = min(k, len(T))
        csls_k = min(self.header["csls_k"], len(T))
        idx = np.empty((len(P), k), dtype=np.int64)
        scores = np.empty((len(P), k), dtype=np.float32)
        step = max(1, (1 << 24) // max(len(T), 1))
        for lo in _progress(range(0, len(P), step), progress, "neighbours", len(P), step):
            S = P[lo : lo + step] @ T.T
            r_T = np.partition(S, S.shape[1] - csls_k, axis=1)[:, -csls_k:].mean(axis=1)
            C = 2 * S - r_T[:, None] - r_S[None, :]
            if two and beta:
                R = Xq[lo : lo + step] @ E.T
                rev_r_T = np.partition(R, R.shape[1] - csls_k, axis=1)[:, -csls_k:].mean(axis=1)
                C += beta * (2 * R - rev_r_T[:, None] - rev_r_S[None, :])
            scores[lo : lo + step], idx[lo : lo + step] = topk_rows(C, k)
        return idx, scores


def _unit(X) -> np.ndarray:
    return safe_unit_rows(np.asarray(X, dtype=np.float32))


def _progress(iterable, enabled, desc, total_items, step):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=-(-total_items // step), unit="chunk", leave=False)


def fit_model(src: Embedding, trg: Embedding, pairs: list, method: str, *, seed: int = 0,
              progress: bool = False, source_path=None, target_path=None,
              gold_sets=None) -> MapModel:
    """Fit ``method`` on the given ``(source word, target word)`` pairs.

    Both sides are normalised unit -> center -> unit with means of the paired
    rows; the map is fitted in that space. ``best`` is :func:`select_best` (notebook 06).
    ``gold_sets`` (optional, one int array per pair: the pairs whose target is
    also right for it, :func:`embmap.datasets.dictionary_gold_sets`) lets the
    validation scoring of ``best`` count a hit on any gold.
    """
    from embmap import __version__

    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    s_index, t_index = src.index, trg.index
    X_raw = src.vectors[[s_index[s] for s, _ in pairs]]
    Y_raw = trg.vectors[[t_index[t] for _, t in pairs]]
    arrays = {"source_mean": _unit_mean(X_raw), "target_mean": _unit_mean(Y_raw)}
    X, Y = _normalise(X_raw, arrays["source_mean"]), _normalise(Y_raw, arrays["target_mean"])
    params, fitted = _fit_arrays(method, X, Y, seed, progress, gold_sets)
    arrays.update(fitted)
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "embmap_version": __version__,
        "method": method, "params": params, "normalise": ["unit", "center", "unit"],
        "source_dim": int(src.dim), "target_dim": int(trg.dim), "n_pairs": len(pairs),
        "source_path": str(Path(source_path).resolve()) if source_path else None,
        "target_path": str(Path(target_path).resolve()) if target_path else None,
        "retrieval": "two-direction" if method == "best" else "csls", "csls_k": CSLS_K,
    }
    model = MapModel(header, arrays)
    model.arrays["target_words"] = np.array(trg.words, dtype=str)
    model.arrays["target_vectors"] = model.normalise_target(trg.vectors)
    model.arrays["target_csls_r"], header["csls_sources"] = _csls_target_terms(
        model, src, {s for s, _ in pairs}, seed, progress)
    if method == "best":
        train_rows = np.array([t_index[t] for _, t in pairs], dtype=np.int64)
        model.arrays.update(_reverse_arrays(model, train_rows))
    return model


def _reverse_arrays(model: MapModel, train_rows: np.ndarray) -> dict:
    """Reverse-direction arrays of two-direction retrieval for *every* target word.

    The same estimate as :meth:`embmap.local.TwoDirectionRetrieval.fit` with all given pairs
    as training words, extended to target words without a source vector.
    """
    from embmap.local import nearest_neighbours, neighbour_weights
    from embmap.retrieval import csls_penalties

    p, a = model.header["params"], model.arrays
    T_all, Xtr, Ytr = a["target_vectors"], _unit(a["train_sources"]), a["train_targets"]
    exclude = np.full(len(T_all), -1, dtype=np.int64)
    exclude[train_rows] = np.arange(len(train_rows))  # a training word leaves itself out
    idx, sims = nearest_neighbours(T_all, Ytr, p["reverse_n_neighbors"], exclude=exclude)
    w = neighbour_weights(sims, "softmax", p["reverse_temperature"])
    est = np.empty((len(T_all), Xtr.shape[1]), dtype=np.float32)
    for lo in range(0, len(T_all), 4096):
        est[lo : lo + 4096] = np.einsum("qk,qkd->qd", w[lo : lo + 4096], Xtr[idx[lo : lo + 4096]])
    est = _unit(est)
    r_S = csls_penalties(est, est, Xtr, model.header["csls_k"])[1].astype(np.float32)
    return {"reverse_source_estimates": est, "reverse_csls_r": r_S}


def select_best(X, Y, seed: int = 0, gold_sets=None) -> dict:
    """Notebook 06's recipe on normalised pairs: choose k, T, reverse k, T and beta on validation.

    A seeded :data:`BEST_VAL_FRACTION` of the pairs are validation words; the others are the
    training words. Forward k and T: best validation P@10 (CSLS, all pairs as candidates)
    of softmax kNN (:func:`embmap.local.knn_validation_grid`); then reverse k, T and beta:
    best validation P@10 of two-direction retrieval on top of that kNN (ties: the first
    grid value, the smaller beta). Returns the chosen parameters and a ``selection`` record.
    With ``gold_sets`` (one int array of pair rows per pair, as
    ``PairedEmbeddings.gold_sets``) a validation word is a hit when any of its golds is.
    """
    from embmap.datasets import split_indices
    from embmap.local import (
        SoftmaxKNNMap,
        TwoDirectionRetrieval,
        knn_validation_grid,
        mapped_sources,
    )

    n = len(X)
    if n < BEST_MIN_PAIRS:
        raise ValueError(f"method 'best' chooses its settings on validation words and needs at "
                         f"least {BEST_MIN_PAIRS} word pairs, got {n}")
    train, _, val = split_indices(n, seed, 0.0, BEST_VAL_FRACTION)  # the "test" part validates
    gold = val
    if gold_sets is not None:
        if len(gold_sets) != n:
            raise ValueError(f"gold_sets must have one entry per pair ({n}), got {len(gold_sets)}")
        gold = as_gold([gold_sets[v] for v in val], n, name="gold_sets")
    ks = [k for k in BEST_GRID["n_neighbors"] if k < len(train)]
    grid = knn_validation_grid(X, Y, train, val, ks, BEST_GRID["temperature"],
                               weights=("softmax",), gold=gold)
    best = grid.loc[grid["p@10"].idxmax()]
    k, T = int(best["k"]), float(best["T"])
    knn = SoftmaxKNNMap(n_neighbors=k, weights="softmax", temperature=T).fit(X[train], Y[train])
    mapped = mapped_sources(knn, X, train)
    chosen = None
    for rk, rT in BEST_GRID["reverse"]:
        scheme = TwoDirectionRetrieval(n_neighbors=min(rk, len(train) - 1), temperature=rT)
        scheme.fit(X, Y, train)
        scores = scheme.select_beta(X[val], mapped[val], gold, forward_sources=mapped,
                                    betas=BEST_GRID["beta"])
        if chosen is None or scores[scheme.beta] > chosen[0]:
            chosen = (scores[scheme.beta], scheme.n_neighbors, rT, scheme.beta, scores[0])
    p10_two, rk, rT, beta, p10_fwd = chosen
    return {"n_neighbors": k, "weights": "softmax", "temperature": T,
            "reverse_n_neighbors": int(rk), "reverse_temperature": float(rT), "beta": float(beta),
            "selection": {"n_train": len(train), "n_validation": len(val),
                          "candidates": int(n), "split_seed": int(seed),
                          "validation_p@10_knn_csls": float(best["p@10"]),
                          "validation_p@10_two_direction": float(p10_two),
                          "validation_p@10_beta0": float(p10_fwd)}}


def _fit_arrays(method, X, Y, seed, progress, gold_sets=None):
    from embmap.linear import LeastSquares, OrthogonalProcrustes, VecMapMultiStep

    if method in ("procrustes", "lstsq", "vecmap"):
        estimator = {"procrustes": OrthogonalProcrustes(), "lstsq": LeastSquares(),
                     "vecmap": VecMapMultiStep()}[method].fit(X, Y)
        params = {k: v for k, v in estimator.get_params().items()}
        return params, {"coef": estimator.coef_.astype(np.float32),
                        "intercept": estimator.intercept_.astype(np.float32)}
    if method in ("knn", "best"):
        params = (select_best(X, Y, seed, gold_sets) if method == "best"
                  else {"n_neighbors": 10, "weights": "softmax", "temperature": 0.05})
        if len(X) < params["n_neighbors"]:
            raise ValueError(f"method {method!r} averages {params['n_neighbors']} neighbours but "
                             f"only {len(X)} word pairs were given")
        return params, {"train_sources": X, "train_targets": Y}
    from embmap.neural import MLPMap

    mlp = MLPMap(hidden=(512,), loss="cosine", residual=True, seed=seed, device="cpu",
                 progress=progress).fit(X, Y)
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in mlp.get_params().items()}
    state = {f"mlp.{k}": v.detach().cpu().numpy() for k, v in mlp.model_.state_dict().items()}
    return params, state


def _csls_target_terms(model: MapModel, src: Embedding, paired: set, seed: int, progress):
    """Each target's mean cosine to its k nearest mapped source words (CSLS's r_S).

    Sources are up to :data:`CSLS_SOURCES` source words *outside* the training
    pairs (the words a user will query; a training word maps close to its own
    target and would inflate r_S), topped up with training words if there are
    too few. Returns the terms and a description for the header.
    """
    rng = np.random.default_rng(seed)
    index = np.arange(len(src))
    unpaired = np.array([i for i, w in enumerate(src.words) if w not in paired], dtype=np.int64)
    chosen = rng.permutation(unpaired)[:CSLS_SOURCES]
    if len(chosen) < 10 * CSLS_K:
        rest = np.setdiff1d(index, chosen)
        chosen = np.concatenate([chosen, rng.permutation(rest)[: CSLS_SOURCES - len(chosen)]])
    mapped = _unit(model.predict(src.vectors[np.sort(chosen)], progress=progress))
    T = model.arrays["target_vectors"]
    k = min(CSLS_K, len(mapped))
    r = np.empty(len(T), dtype=np.float32)
    step = max(1, (1 << 24) // max(len(mapped), 1))
    for lo in range(0, len(T), step):
        S = T[lo : lo + step] @ mapped.T
        r[lo : lo + step] = np.partition(S, S.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
    n_unpaired = min(len(unpaired), CSLS_SOURCES)
    return r, (f"{len(mapped)} mapped source words ({n_unpaired} outside the training pairs), "
               f"k={k}")


def save_model(path, model: MapModel) -> None:
    """Write ``header.json`` and every array (``allow_pickle=False``) into one zip."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("header.json", date_time=(1980, 1, 1, 0, 0, 0)),
                         json.dumps(model.header, indent=2, sort_keys=True))
        for name, array in model.arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


_REQUIRED = {
    "procrustes": ("coef", "intercept"), "lstsq": ("coef", "intercept"),
    "vecmap": ("coef", "intercept"), "knn": ("train_sources", "train_targets"),
    "best": ("train_sources", "train_targets", "reverse_source_estimates", "reverse_csls_r"),
    "mlp": (),
}


def load_model(path) -> MapModel:
    """Read a model written by :func:`save_model`, checking its header first."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "header.json" not in names:
                raise ModelFileError(f"{path}: not an embmap model (no header.json inside)")
            header = json.loads(archive.read("header.json").decode("utf-8"))
            _check_header(path, header)
            arrays = {}
            for name in sorted(names - {"header.json"}):
                with archive.open(name) as handle:
                    arrays[name.removesuffix(".npy")] = np.lib.format.read_array(
                        io.BytesIO(handle.read()), allow_pickle=False)
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError) as error:
        raise ModelFileError(f"{path}: not a readable embmap model ({error})") from None
    except ValueError as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{path}: not a readable embmap model ({error})") from None
    needed = ("source_mean", "target_mean", "target_words", "target_vectors", "target_csls_r")
    missing = [n for n in needed + _REQUIRED[header["method"]] if n not in arrays]
    if missing:
        raise ModelFileError(f"{path}: model file lacks arrays {missing}")
    return MapModel(header, arrays)


def _check_header(path, header) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: header.json does not say format {FORMAT!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format version {header.get('format_version')!r}; "
                             f"this embmap reads version {FORMAT_VERSION}")
    if header.get("method") not in METHODS:
        raise ModelFileError(f"{path}: unknown method {header.get('method')!r}")
    for key in ("source_dim", "target_dim", "csls_k", "params"):
        if key not in header:
            raise ModelFileError(f"{path}: header.json lacks {key!r}")
