"""A fitted map saved as an open file: a ``.npz`` zip of ``header.json`` and ``.npy`` arrays.

What ``embmap fit`` writes and ``map`` / ``neighbours`` read; never a pickle. Besides the
map it holds the whole normalised target file with its CSLS term (for ``best`` also each
target's reverse source estimate), so ``neighbours`` needs nothing but the model. Outputs
live in the model's normalised target space, where it was fitted and retrieval is scored.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embmap import _search
from embmap._validation import safe_unit_rows
from embmap.gold import as_gold
from embmap.io import Embedding

__all__ = ["BEST_GRID", "BEST_MIN_PAIRS", "BEST_VAL_FRACTION", "CSLS_K", "CSLS_SOURCES", "FORMAT",
           "FORMAT_VERSION", "METHODS", "MapModel", "ModelFileError", "fit_model", "load_model",
           "normalise", "save_model", "select_best", "unit_mean"]

FORMAT, FORMAT_VERSION = "embmap-model", 1
METHODS = ("procrustes", "lstsq", "vecmap", "knn", "mlp", "best")
# `best` (notebook 06): softmax kNN regression with two-direction retrieval, its settings
# chosen on validation words over these grids (notebook 06's quick mode).
BEST_GRID = {"n_neighbors": (10, 20, 40), "temperature": (0.03, 0.05, 0.1),
             "reverse": ((10, 0.05), (20, 0.05)), "beta": (0, 0.5, 1, 2, 3, 4, 6)}
BEST_VAL_FRACTION, BEST_MIN_PAIRS = 0.1, 100
CSLS_K = 10
CSLS_SOURCES = 20000  # mapped source words that define each target's CSLS term


class ModelFileError(ValueError):
    """A model file that is not a readable embmap model; the message names the file."""


def normalise(X, mean) -> np.ndarray:
    """unit -> subtract ``mean`` -> unit, in float32 (zero rows stay zero)."""
    X = safe_unit_rows(np.asarray(X, dtype=np.float32))
    return safe_unit_rows(X - mean.astype(np.float32))


def unit_mean(X) -> np.ndarray:
    """Mean of the unit-length rows (the ``center`` step's mean), float64."""
    return safe_unit_rows(np.asarray(X, dtype=np.float64), np.float64).mean(axis=0)


def _progress(iterable, enabled, desc, total):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit="chunk", leave=False)


@dataclass
class MapModel:
    """A fitted map with everything ``map`` and ``neighbours`` need."""

    header: dict
    arrays: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.header["method"]

    def normalise_source(self, X) -> np.ndarray:
        return normalise(X, self.arrays["source_mean"])

    def normalise_target(self, Y) -> np.ndarray:
        return normalise(Y, self.arrays["target_mean"])

    def predict(self, X_raw, progress=False) -> np.ndarray:
        """Raw source vectors -> predictions in the normalised target space (float32)."""
        X = self.normalise_source(X_raw)
        if X.shape[1] != self.header["source_dim"]:
            raise ValueError(f"source vectors have {X.shape[1]} dimensions, the model expects "
                             f"{self.header['source_dim']}")
        out = np.empty((len(X), self.header["target_dim"]), dtype=np.float32)
        predict, step = self._predictor(), 4096
        for lo in _progress(range(0, len(X), step), progress, "mapping", -(-len(X) // step)):
            out[lo : lo + step] = predict(X[lo : lo + step])
        return out

    def _predictor(self):
        a, method, p = self.arrays, self.method, self.header["params"]
        if method in ("procrustes", "lstsq", "vecmap"):
            coef, intercept = a["coef"].astype(np.float32), a["intercept"].astype(np.float32)
            return lambda X: X @ coef + intercept
        if method in ("knn", "best"):
            from embmap.neural import KNNRegressionMap

            return KNNRegressionMap(n_neighbors=p["n_neighbors"], weights=p["weights"],
                                    temperature=p["temperature"]).fit(
                a["train_sources"], a["train_targets"]).predict
        import torch

        from embmap.neural import MLPMapper

        d_x, d_y = self.header["source_dim"], self.header["target_dim"]
        residual = np.zeros((d_x, d_y), dtype=np.float32) if p["residual"] else None
        net = MLPMapper(d_x, d_y, tuple(p["hidden"]), p["activation"], p["output_activation"],
                        "default", p["dropout"], residual_init=residual,
                        residual_bias=None if residual is None else np.zeros(d_y))
        net.load_state_dict({k[len("mlp."):]: torch.from_numpy(np.array(v))
                             for k, v in a.items() if k.startswith("mlp.")})
        net.eval()

        def predict(X):
            with torch.no_grad():
                return net(torch.from_numpy(np.ascontiguousarray(X))).numpy()
        return predict

    def score_blocks(self, pred: np.ndarray, sources=None, progress=False):
        """Yield ``(start, C)``: CSLS scores of predictions ``start:start+len(C)`` (reused buffer).

        A ``two-direction`` model adds ``beta`` times the reverse CSLS between each query's
        normalised source vector (``sources``, required) and each target's source estimate.
        """
        a, T = self.arrays, self.arrays["target_vectors"]
        beta = 0
        if self.header.get("retrieval") == "two-direction":
            if sources is None:
                raise ValueError("sources must be given: this model retrieves in two directions "
                                 "and needs each query's normalised source vector")
            Xq = safe_unit_rows(np.asarray(sources, dtype=np.float32))
            if Xq.shape != (len(pred), self.header["source_dim"]):
                raise ValueError(f"sources must have shape ({len(pred)}, "
                                 f"{self.header['source_dim']}), got {Xq.shape}")
            E = a["reverse_source_estimates"].astype(np.float32).T
            beta = self.header["params"]["beta"]
        P, csls_k = safe_unit_rows(np.asarray(pred, dtype=np.float32)), self.header["csls_k"]
        total = -(-len(P) // _search.chunk_rows(len(P), len(T)))
        for lo, S in _progress(_search.blocks(P, T), progress, "scoring", total):
            C = _search.csls_block(S, _search.query_term(S, csls_k), a["target_csls_r"])
            if beta:
                R = Xq[lo : lo + len(S)] @ E
                C += np.float32(beta) * _search.csls_block(R, _search.query_term(R, csls_k),
                                                           a["reverse_csls_r"])
            yield lo, C

    def neighbours(self, pred: np.ndarray, k: int = 10, progress=False, sources=None):
        """``(indices, scores)`` of the ``k`` best target rows by :meth:`score_blocks`."""
        k = min(k, len(self.arrays["target_vectors"]))
        idx = np.empty((len(pred), k), dtype=np.int64)
        scores = np.empty((len(pred), k), dtype=np.float32)
        for lo, C in self.score_blocks(pred, sources, progress):
            scores[lo : lo + len(C)], idx[lo : lo + len(C)] = _search.topk(C, k)
        return idx, scores

    def gold_ranks(self, pred: np.ndarray, gold, sources=None) -> np.ndarray:
        """Rank of each prediction's best gold row by :meth:`score_blocks` (ties count against)."""
        gold = as_gold(gold, len(self.arrays["target_vectors"]), len(pred))
        ranks = np.empty(len(pred), dtype=np.int64)
        for lo, C in self.score_blocks(pred, sources):
            ranks[lo : lo + len(C)] = _search.gold_rank(C, gold[lo : lo + len(C)])
        return ranks


def fit_model(src: Embedding, trg: Embedding, pairs: list, method: str, *, seed: int = 0,
              progress: bool = False, source_path=None, target_path=None,
              gold_sets=None) -> MapModel:
    """Fit ``method`` on ``(source word, target word)`` pairs, in unit-center-unit spaces.

    The means are those of the paired rows. ``gold_sets``: see :func:`select_best`.
    """
    from embmap import __version__

    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    X_raw = src.vectors[[src.index[s] for s, _ in pairs]]
    Y_raw = trg.vectors[[trg.index[t] for _, t in pairs]]
    arrays = {"source_mean": unit_mean(X_raw), "target_mean": unit_mean(Y_raw)}
    X, Y = normalise(X_raw, arrays["source_mean"]), normalise(Y_raw, arrays["target_mean"])
    params, fitted = _fit_arrays(method, X, Y, seed, progress, gold_sets)
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "embmap_version": __version__,
        "method": method, "params": params, "normalise": ["unit", "center", "unit"],
        "source_dim": int(src.dim), "target_dim": int(trg.dim), "n_pairs": len(pairs),
        "source_path": str(Path(source_path).resolve()) if source_path else None,
        "target_path": str(Path(target_path).resolve()) if target_path else None,
        "retrieval": "two-direction" if method == "best" else "csls", "csls_k": CSLS_K,
    }
    model = MapModel(header, {**arrays, **fitted})
    model.arrays["target_words"] = np.array(trg.words, dtype=str)
    model.arrays["target_vectors"] = model.normalise_target(trg.vectors)
    model.arrays["target_csls_r"], header["csls_sources"] = _csls_target_terms(
        model, src, {s for s, _ in pairs}, seed, progress)
    if method == "best":
        model.arrays.update(_reverse_arrays(model, np.array([trg.index[t] for _, t in pairs],
                                                            dtype=np.int64)))
    return model


def _reverse_arrays(model: MapModel, train_rows: np.ndarray) -> dict:
    """``TwoDirectionRetrieval.fit``'s reverse arrays, extended to every target word."""
    from embmap.local import nearest_neighbours, neighbour_weights
    from embmap.retrieval import target_penalty

    p, a = model.header["params"], model.arrays
    T_all, Xtr = a["target_vectors"], safe_unit_rows(a["train_sources"])
    exclude = np.full(len(T_all), -1, dtype=np.int64)
    exclude[train_rows] = np.arange(len(train_rows))  # a training word leaves itself out
    idx, sims = nearest_neighbours(T_all, a["train_targets"], p["reverse_n_neighbors"],
                                   exclude=exclude)
    w = neighbour_weights(sims, "softmax", p["reverse_temperature"])
    est = np.empty((len(T_all), Xtr.shape[1]), dtype=np.float32)
    for lo in range(0, len(T_all), 4096):
        est[lo : lo + 4096] = np.einsum("qk,qkd->qd", w[lo : lo + 4096], Xtr[idx[lo : lo + 4096]])
    est = safe_unit_rows(est)
    return {"reverse_source_estimates": est,
            "reverse_csls_r": target_penalty(est, Xtr, model.header["csls_k"])}


def select_best(X, Y, seed: int = 0, gold_sets=None) -> dict:
    """Notebook 06's recipe on normalised pairs: choose k, T, reverse k, T and beta on validation.

    A seeded :data:`BEST_VAL_FRACTION` of the pairs validate (all pairs are candidates),
    :func:`embmap.local.select_two_direction` chooses. ``gold_sets`` (one int array of pair
    rows per pair) makes a hit on any gold count. Returns the parameters and a ``selection``.
    """
    from embmap.datasets import split_indices
    from embmap.local import select_two_direction

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
    sel = select_two_direction(X, Y, train, val, gold=gold, n_neighbors=BEST_GRID["n_neighbors"],
                               temperatures=BEST_GRID["temperature"], reverse=BEST_GRID["reverse"],
                               betas=BEST_GRID["beta"])
    knn, scheme, p10 = sel["knn_params"], sel["scheme"], sel["p10"]
    return {"n_neighbors": knn["n_neighbors"], "weights": "softmax",
            "temperature": knn["temperature"], "reverse_n_neighbors": int(scheme.n_neighbors),
            "reverse_temperature": float(scheme.temperature), "beta": float(sel["beta"]),
            "selection": {"n_train": len(train), "n_validation": len(val), "candidates": int(n),
                          "split_seed": int(seed), "validation_p@10_knn_csls": p10["knn"],
                          "validation_p@10_two_direction": p10["two_direction"],
                          "validation_p@10_beta0": p10["beta0"]}}


def _fit_arrays(method, X, Y, seed, progress, gold_sets=None):
    from embmap.linear import LeastSquares, OrthogonalProcrustes, VecMapMultiStep

    if method in ("procrustes", "lstsq", "vecmap"):
        estimator = {"procrustes": OrthogonalProcrustes(), "lstsq": LeastSquares(),
                     "vecmap": VecMapMultiStep()}[method].fit(X, Y)
        return estimator.get_params(), {"coef": estimator.coef_.astype(np.float32),
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
    state = mlp.model_.state_dict()
    return params, {f"mlp.{k}": v.detach().cpu().numpy() for k, v in state.items()}


def _csls_target_terms(model: MapModel, src: Embedding, paired: set, seed: int, progress):
    """``target_csls_r`` and its header description.

    From mapped source words outside the training pairs (a training word maps close to
    its own target and would inflate the term), topped up with training words if too few.
    """
    rng = np.random.default_rng(seed)
    unpaired = np.array([i for i, w in enumerate(src.words) if w not in paired], dtype=np.int64)
    chosen = rng.permutation(unpaired)[:CSLS_SOURCES]
    if len(chosen) < 10 * CSLS_K:
        rest = np.setdiff1d(np.arange(len(src)), chosen)
        chosen = np.concatenate([chosen, rng.permutation(rest)[: CSLS_SOURCES - len(chosen)]])
    mapped = safe_unit_rows(model.predict(src.vectors[np.sort(chosen)], progress=progress))
    r = _search.target_term(model.arrays["target_vectors"], mapped, CSLS_K)
    return r, (f"{len(mapped)} mapped source words ({min(len(unpaired), CSLS_SOURCES)} outside "
               f"the training pairs), k={min(CSLS_K, len(mapped))}")


def save_model(path, model: MapModel) -> None:
    """Write ``header.json`` and every array (``allow_pickle=False``) into one zip."""
    stamp = (1980, 1, 1, 0, 0, 0)  # fixed: the same model gives the same bytes
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("header.json", date_time=stamp),
                         json.dumps(model.header, indent=2, sort_keys=True))
        for name, array in model.arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=stamp), buffer.getvalue(),
                             zipfile.ZIP_DEFLATED)


_KNN = ("train_sources", "train_targets")
_REQUIRED = {**dict.fromkeys(("procrustes", "lstsq", "vecmap"), ("coef", "intercept")),
             "knn": _KNN, "best": (*_KNN, "reverse_source_estimates", "reverse_csls_r"), "mlp": ()}


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
            arrays = {name.removesuffix(".npy"): np.lib.format.read_array(
                io.BytesIO(archive.read(name)), allow_pickle=False)
                for name in sorted(names - {"header.json"})}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError,
            ValueError) as error:
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
