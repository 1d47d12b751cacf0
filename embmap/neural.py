"""The torch maps: an MLP (:class:`MLPMap`) and kNN attention over a learned metric (:class:`AttentionMap`).

:class:`KNNRegressionMap` is re-exported from :mod:`embmap.local`.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

# Plain-text bars: they work in terminals and notebooks alike, without ipywidgets.
from tqdm.std import trange

from embmap import _search
from embmap._validation import (
    as_matrix,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_same_cols,
    check_same_rows,
    holdout_rows,
    safe_unit_rows,
)
from embmap.evaluation import evaluate
from embmap.linear import least_squares
from embmap.local import KNNRegressionMap, _check_xy, _LocalMap, neighbour_weights
from embmap.losses import LOSSES, SoftmaxOverTargets

__all__ = ["AttentionMap", "KNNRegressionMap", "MLPMap", "MLPMapper", "MetricEncoder",
           "first_hidden_activations", "resolve_device", "train_mapper"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
_OUTPUT_ACTIVATIONS = {None: nn.Identity, "tanh": nn.Tanh}

# Intra-op threads while training on the CPU (None: torch's own setting). Mini-batch
# products are too small to gain from several cores, and OpenMP's spin-waiting between
# the small ops of a step costs time on a shared machine.
TRAIN_THREADS: int | None = 1


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``, ``"cpu"`` or ``"cuda"`` as a ``torch.device``; only ``"auto"`` picks CUDA by itself."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device in ("cpu", "cuda") or str(device).startswith("cuda:"):
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} requested but CUDA is not available")
        return torch.device(device)
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")


def _check_pair_arrays(X, Y, names=("X", "Y")) -> tuple[np.ndarray, np.ndarray]:
    X, Y = as_matrix(X, names[0]), as_matrix(Y, names[1])
    check_same_rows(X, Y, *names)
    return X, Y


def _resolve_loss(loss: str | Callable) -> Callable:
    if callable(loss):
        return loss
    if loss == "softmax_all":
        return SoftmaxOverTargets()
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES) + ['softmax_all']} "
                         "or a callable")
    return LOSSES[loss]


def _batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches; a trailing single row joins the previous batch (batch losses need two)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(a, b) for a, b in zip(starts, starts[1:] + [n])]


class MLPMapper(nn.Module):
    """Multi-layer perceptron from ``in_dim`` to ``out_dim``, optionally on top of a linear map.

    With ``residual_init`` (``W``, and ``b`` from ``residual_bias``) it computes
    :math:`f(x) = x W + b + \\mathrm{mlp}(x)` with the MLP's last layer at zero, so the
    untrained network is exactly the linear map. ``hidden=()``: one linear layer.
    ``init``: ``"default"`` (PyTorch's), ``"uniform"`` (Keras' ``RandomUniform(-0.05, 0.05)``),
    ``"xavier"`` (Glorot uniform, Keras' default) or ``"kaiming"`` (He uniform; zero biases
    except with ``"default"``). ``output_activation`` applies to the MLP branch only.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: Sequence[int] = (512,),
                 activation: str = "relu", output_activation: str | None = None,
                 init: str = "default", dropout: float = 0.0,
                 residual_init: np.ndarray | None = None, residual_bias: np.ndarray | None = None,
                 residual_trainable: bool = True) -> None:
        super().__init__()
        _check_mlp_params(in_dim, out_dim, hidden, activation, output_activation, init, dropout)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        # the output activation is always last, so mlp[-2] is the output layer
        layers += [nn.Linear(width, out_dim), _OUTPUT_ACTIVATIONS[output_activation]()]
        self.mlp = nn.Sequential(*layers)
        for layer in self.mlp:
            if init != "default" and isinstance(layer, nn.Linear):
                if init == "uniform":
                    nn.init.uniform_(layer.weight, -0.05, 0.05)
                elif init == "xavier":
                    nn.init.xavier_uniform_(layer.weight)
                else:  # He's derivation assumes ReLU; for tanh/gelu a common, slightly large choice
                    nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        self.residual = None
        if residual_init is not None:
            self.residual = _linear_from_matrix(residual_init, residual_bias, in_dim, out_dim)
            self.residual.requires_grad_(residual_trainable)
            # mlp(x) = output_activation(0) = 0 for both allowed activations: f starts at x W + b
            nn.init.zeros_(self.mlp[-2].weight)
            nn.init.zeros_(self.mlp[-2].bias)
        elif residual_bias is not None:
            raise ValueError("residual_bias needs residual_init")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.mlp(x)
        return out if self.residual is None else out + self.residual(x)


def _check_mlp_params(in_dim, out_dim, hidden, activation, output_activation, init, dropout):
    check_int(in_dim, "in_dim", minimum=1)
    check_int(out_dim, "out_dim", minimum=1)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of positive integers, got {hidden!r}")
    for i, width in enumerate(hidden):
        check_int(width, f"hidden[{i}]", minimum=1)
    check_choice(activation, "activation", sorted(_ACTIVATIONS))
    check_choice(output_activation, "output_activation", list(_OUTPUT_ACTIVATIONS))
    check_choice(init, "init", ("default", "uniform", "xavier", "kaiming"))
    check_real(dropout, "dropout", low=0.0, high=1.0, high_open=True)


def _linear_from_matrix(W, b, in_dim: int, out_dim: int) -> nn.Linear:
    """An ``nn.Linear`` computing ``x @ W + b`` for an ``(in_dim, out_dim)`` matrix ``W``."""
    W = as_matrix(W, "residual_init")
    if W.shape != (in_dim, out_dim):
        raise ValueError(f"residual_init must have shape {(in_dim, out_dim)}, got {W.shape}")
    layer = nn.Linear(in_dim, out_dim, bias=b is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(W.T.copy()))  # nn.Linear stores W transposed
        if b is not None:
            b = as_matrix(np.reshape(b, (1, -1)) if np.ndim(b) == 1 else b, "residual_bias")
            if b.shape != (1, out_dim):
                raise ValueError(f"residual_bias must have shape {(out_dim,)}, got {b.shape}")
            layer.bias.copy_(torch.from_numpy(b[0]))
    return layer


def _batch_loss(loss_fn, pred, Y, rows):
    """The loss of a batch: against its own targets, or against all of ``Y`` (:class:`SoftmaxOverTargets`)."""
    if isinstance(loss_fn, SoftmaxOverTargets):
        return loss_fn(pred, Y, rows)
    return loss_fn(pred, Y[rows])


def _evaluate(model, X, Y, loss_fn, batch_size) -> tuple[float, float, torch.Tensor]:
    """Row-weighted mean loss, mean cosine and predictions, over fixed-order batches."""
    model.eval()
    total, preds = 0.0, []
    with torch.no_grad():
        for sl in _batch_slices(len(X), batch_size):
            preds.append(model(X[sl]))
            rows = torch.arange(sl.start, sl.stop, device=X.device)
            total += float(_batch_loss(loss_fn, preds[-1], Y, rows)) * (sl.stop - sl.start)
    pred = torch.cat(preds)
    cosine = float(nn.functional.cosine_similarity(pred, Y, dim=1, eps=1e-8).mean())
    return total / len(X), cosine, pred


def _train_epoch(model, optimiser, X, Y, loss_fn, batch_size, generator) -> float:
    """One pass over shuffled mini-batches; returns the row-weighted mean training loss."""
    model.train()
    # shuffled on the CPU generator, so the order is the same on every device
    order = torch.randperm(len(X), generator=generator).to(X.device)
    total = 0.0
    for sl in _batch_slices(len(X), batch_size):
        idx = order[sl]
        optimiser.zero_grad(set_to_none=True)
        loss = _batch_loss(loss_fn, model(X[idx]), Y, idx)
        loss.backward()
        optimiser.step()
        total += float(loss.detach()) * len(idx)
    return total / len(X)


def train_mapper(model: nn.Module, X_train, Y_train, X_val=None, Y_val=None, *,
                 loss: str | Callable = "mse", lr: float = 1e-3, weight_decay: float = 0.0,
                 batch_size: int = 256, max_epochs: int = 200, patience: int = 10, seed: int = 0,
                 device: str | torch.device = "cpu",
                 val_metric: Callable[[np.ndarray, np.ndarray], float] | None = None,
                 progress: bool = True) -> dict[str, list]:
    """Train ``model`` with Adam and early stopping; restore the best weights.

    Shown in notebook 04, section 1 (the loop written out and checked against this function).

    ``loss``: a key of :data:`embmap.losses.LOSSES`, a ``(pred, target) -> scalar``
    function (batch losses take the batch's other rows as negatives), or
    ``"softmax_all"`` / a :class:`~embmap.losses.SoftmaxOverTargets`, which scores
    each batch against every training target (validation: every validation target).
    ``weight_decay > 0`` trains with AdamW (decoupled weight decay). Early stopping
    watches ``val_metric(Y_val_pred, Y_val)`` (numpy, higher is better), else the
    validation loss, else the training loss. ``seed`` seeds shuffling and dropout, leaving
    the global RNG untouched.

    Returns
    -------
    dict of lists
        Per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_cosine`` (NaN without
        validation), ``val_metric`` (if given), ``seconds``, ``improved`` (a new best:
        the weights of the last such epoch are restored).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X_train, Y_train = _check_pair_arrays(X_train, Y_train, ("X_train", "Y_train"))
    if (X_val is None) != (Y_val is None):
        raise ValueError("give both X_val and Y_val, or neither")
    has_val = X_val is not None
    if has_val:
        X_val, Y_val = _check_pair_arrays(X_val, Y_val, ("X_val", "Y_val"))
        check_same_cols(X_train, X_val, "X_train", "X_val")
        check_same_cols(Y_train, Y_val, "Y_train", "Y_val")
    if val_metric is not None and not callable(val_metric):
        raise TypeError(f"val_metric must be callable or None, got {val_metric!r}")
    if val_metric is not None and not has_val:
        raise ValueError("val_metric needs X_val and Y_val")
    _check_training_params(lr, batch_size, max_epochs, patience)
    check_real(weight_decay, "weight_decay", low=0.0)
    check_int(seed, "seed", minimum=0)
    check_bool(progress, "progress")
    loss_fn = _resolve_loss(loss)
    device = resolve_device(device)

    model.to(device)
    # torch refuses to share memory with a read-only array (a memmap, a broadcast): copy those.
    tensor = lambda A: torch.from_numpy(np.require(A, requirements="W")).to(device)
    Xt, Yt = tensor(X_train), tensor(Y_train)
    Xv, Yv = (tensor(A) if has_val else None for A in (X_val, Y_val))
    keys = ["epoch", "train_loss", "val_loss", "val_cosine"] + ["val_metric"] * (val_metric is not None)
    history: dict[str, list] = {key: [] for key in keys + ["seconds", "improved"]}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
            _cpu_threads(TRAIN_THREADS if device.type == "cpu" else None):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        # fused: one kernel updates every parameter (the same Adam update); on small
        # networks the per-tensor path costs about as much as the forward and backward.
        # Without weight decay plain Adam, so fits without it keep their exact numbers.
        optimiser = (torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay,
                                       fused=True)
                     if weight_decay else torch.optim.Adam(model.parameters(), lr=lr, fused=True))
        best_score, best_state, stale = -np.inf, copy.deepcopy(model.state_dict()), 0
        bar = trange(max_epochs, disable=not progress, desc="epochs", leave=False)
        for epoch in bar:
            start = time.perf_counter()
            train_loss = _train_epoch(model, optimiser, Xt, Yt, loss_fn, batch_size, generator)
            row = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": np.nan, "val_cosine": np.nan}
            if has_val:
                row["val_loss"], row["val_cosine"], pred = _evaluate(model, Xv, Yv, loss_fn, batch_size)
                if val_metric is not None:
                    row["val_metric"] = float(val_metric(pred.cpu().numpy(), Yv.cpu().numpy()))
            # one "higher is better" score: the metric if given, else minus a loss
            score = row["val_metric"] if val_metric is not None else -(row["val_loss"] if has_val
                                                                      else train_loss)
            if not np.isfinite(score):
                raise ValueError(f"non-finite loss or metric at epoch {epoch + 1}: try a smaller lr")
            row["improved"] = bool(score > best_score)
            stale = 0 if row["improved"] else stale + 1
            if row["improved"]:
                best_score, best_state = score, copy.deepcopy(model.state_dict())
            row["seconds"] = time.perf_counter() - start
            for key, column in history.items():
                column.append(row[key])
            bar.set_postfix(train=f"{train_loss:.4g}", val=f"{row['val_loss']:.4g}")
            if stale >= patience:
                break
        bar.close()
        model.load_state_dict(best_state)
    model.eval()
    return history


@contextlib.contextmanager
def _cpu_threads(n):
    """``torch.set_num_threads(n)`` inside the block (no-op for None)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n is not None:
            torch.set_num_threads(before)


def _check_training_params(lr, batch_size, max_epochs, patience) -> None:
    check_real(lr, "lr", low=0.0, low_open=True)
    check_int(batch_size, "batch_size", minimum=1)
    check_int(max_epochs, "max_epochs", minimum=0)
    check_int(patience, "patience", minimum=1)


class MLPMap(RegressorMixin, BaseEstimator):
    """Scikit-learn regressor that fits an :class:`MLPMapper` with :func:`train_mapper`.

    Network parameters as in :class:`MLPMapper`, training ones as in :func:`train_mapper`.
    ``val_fraction``: rows held out (seeded) for early stopping when ``fit`` gets no
    ``X_val, Y_val``. ``residual``: the MLP learns a correction to least squares.
    ``early_stopping``: watch the validation ``"loss"``, or ``"p@10"``: validation
    P@10 (cosine) with every training and validation target as a candidate.

    Fitted: ``model_`` (best epoch, eval mode), ``history_``, ``n_features_in_``,
    ``n_outputs_``, ``training_seconds_``, ``device_``, ``residual_coef_`` and
    ``residual_intercept_`` (None without ``residual``).
    """

    def __init__(self, hidden=(512,), activation="relu", output_activation=None, init="default",
                 dropout=0.0, loss="mse", lr=1e-3, weight_decay=0.0, batch_size=256, max_epochs=200,
                 patience=10, early_stopping="loss", seed=0, val_fraction=0.1, residual=False,
                 device="auto", progress=False):
        self.hidden, self.activation, self.output_activation = hidden, activation, output_activation
        self.init, self.dropout, self.loss, self.lr = init, dropout, loss, lr
        self.weight_decay, self.early_stopping = weight_decay, early_stopping
        self.batch_size, self.max_epochs, self.patience = batch_size, max_epochs, patience
        self.seed, self.val_fraction, self.residual = seed, val_fraction, residual
        self.device, self.progress = device, progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # targets are vectors: Y is always 2-D
        tags.target_tags.single_output = False
        return tags

    def fit(self, X, Y, *, X_val=None, Y_val=None):
        """Fit the network on ``X -> Y`` (validation: ``X_val, Y_val``, else ``val_fraction``)."""
        X, Y = _check_pair_arrays(X, Y)
        # checked before use here; MLPMapper and train_mapper check the rest
        check_int(self.seed, "seed", minimum=0)
        check_real(self.val_fraction, "val_fraction", low=0.0, high=1.0, high_open=True)
        check_bool(self.residual, "residual")
        check_choice(self.early_stopping, "early_stopping", ["loss", "p@10"])
        device = resolve_device(self.device)
        X_tr, Y_tr = X, Y
        n_val = round(self.val_fraction * len(X)) if X_val is None and Y_val is None else 0
        if n_val:
            if len(X) - n_val < 2:
                raise ValueError("too few rows to hold out a validation set")
            tr, val = holdout_rows(len(X), n_val, self.seed)
            X_tr, Y_tr, X_val, Y_val = X[tr], Y[tr], X[val], Y[val]
        if self.early_stopping == "p@10" and X_val is None:
            raise ValueError("early_stopping='p@10' needs validation rows: pass X_val and Y_val "
                             "or set val_fraction > 0")
        coef, intercept = least_squares(X_tr, Y_tr, True) if self.residual else (None, None)
        # seeds the initialisation (train_mapper seeds the rest) without touching the global RNG
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = MLPMapper(X.shape[1], Y.shape[1], self.hidden, self.activation,
                              self.output_activation, self.init, self.dropout,
                              residual_init=coef, residual_bias=intercept)
        val_metric = _val_p_at_10(Y_tr, Y_val) if self.early_stopping == "p@10" else None
        start = time.perf_counter()
        history = train_mapper(
            model, X_tr, Y_tr, X_val, Y_val, loss=self.loss, lr=self.lr,
            weight_decay=self.weight_decay, batch_size=self.batch_size,
            max_epochs=self.max_epochs, patience=self.patience, seed=self.seed, device=device,
            val_metric=val_metric, progress=self.progress,
        )
        self.training_seconds_ = time.perf_counter() - start
        self.model_, self.history_, self.device_ = model, history, device
        self.n_features_in_, self.n_outputs_ = X.shape[1], Y.shape[1]
        self.residual_coef_, self.residual_intercept_ = coef, intercept
        return self

    def predict(self, X) -> np.ndarray:
        """Map ``X`` into the target space (float32)."""
        check_is_fitted(self, "model_")
        X = as_matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MLPMap was fitted with "
                             f"{self.n_features_in_}")
        self.model_.eval()
        with torch.no_grad():
            X = np.require(X, requirements="W")  # torch cannot share a read-only array
            out = [self.model_(torch.from_numpy(X[sl]).to(self.device_)).cpu()
                   for sl in _batch_slices(len(X), 8192)]
        pred = torch.cat(out).numpy().astype(np.float32, copy=False)
        if not np.all(np.isfinite(pred)):
            # finite inputs far outside the training range can overflow float32
            raise ValueError("X maps to non-finite predictions: its values are too large "
                             "for the network (rescale X as the training data was)")
        return pred


def _val_p_at_10(Y_train, Y_val):
    """Validation P@10 (cosine) among every training and validation target, for early stopping."""
    candidates = np.vstack([Y_train, as_matrix(Y_val, "Y_val")])
    gold = np.arange(len(Y_train), len(candidates))
    return lambda pred, _: evaluate(pred, candidates, gold)["p@10"]


def first_hidden_activations(mlp_map, X) -> np.ndarray:
    """Outputs of the first hidden layer (after its activation) of a fitted :class:`MLPMap`.

    Shown in notebook 04, section 3 (the saturation probe written out and checked).

    With ``tanh``, units near +-1 pass almost no gradient (``1 - tanh^2``).
    """
    check_is_fitted(mlp_map, "model_")
    layers = mlp_map.model_.mlp
    if len(layers) < 4:
        raise ValueError("mlp_map's network has no hidden layer")
    X = as_matrix(X, "X", n_cols=mlp_map.n_features_in_)
    X = torch.as_tensor(X, device=next(layers.parameters()).device)
    with torch.no_grad():
        return layers[1](layers[0](X)).cpu().numpy()


class MetricEncoder(nn.Module):
    """``f(x) = x A + b`` (+ a residual ``ReLU`` layer of width ``hidden``), the identity at initialisation."""

    def __init__(self, dim: int, hidden: int | None = None):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(dim))
            self.linear.bias.zero_()
        self.mlp = None
        if hidden:
            out = nn.Linear(hidden, dim)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        return z if self.mlp is None else z + self.mlp(x)


def _attend(fq, fk, Yk, k, temperature, exclude=None):
    """Softmax attention of encoded queries over their k most similar encoded keys (the reference)."""
    S = nn.functional.normalize(fq, dim=1) @ nn.functional.normalize(fk, dim=1).T
    if exclude is not None:
        S = S.masked_fill(exclude, float("-inf"))
    vals, idx = torch.topk(S, k, dim=1)
    w = torch.softmax(vals / temperature, dim=1)
    return torch.einsum("qk,qkd->qd", w, Yk[idx])


def _attend_leave_one_out(fq, fk, Yk, k, temperature, query_rows):
    """:func:`_attend` without each query's own key (``query_rows``), for training.

    The same values and gradients; autograd sees only the k chosen similarities (a dense
    backward through the ``(q, n)`` matrix would dominate a step).
    """
    q_unit = nn.functional.normalize(fq, dim=1)
    k_unit = nn.functional.normalize(fk, dim=1)
    with torch.no_grad():
        S = q_unit @ k_unit.T
        S[torch.arange(len(S)), query_rows] = float("-inf")
        idx = torch.topk(S, k, dim=1).indices
    vals = torch.einsum("qd,qkd->qk", q_unit, k_unit[idx])
    w = torch.softmax(vals / temperature, dim=1)
    return torch.einsum("qk,qkd->qd", w, Yk[idx])


class AttentionMap(_LocalMap):
    """Softmax attention over training words in a learned metric, trained with InfoNCE.

    .. math:: \\hat y = \\sum_{j \\in N_k(f(x))} \\mathrm{softmax}_j
              \\big(\\cos(f(x), f(x_j)) / T\\big) \\, y_j

    ``f`` (:class:`MetricEncoder`) starts at the identity, so at epoch 0 this is
    :class:`embmap.local.SoftmaxKNNMap` with the same k and T. Training predicts each
    training word from the others and minimises InfoNCE (``nce_temperature``) against all
    training targets. With ``X_val, Y_val`` the encoder of the best validation P@10
    (epoch 0 included) is kept. ``hidden``: width of the encoder's residual layer.

    Fitted: ``encoder_``, ``history_`` (``epoch``, ``train_loss``, ``val_p@10``; epoch 0
    is before training), ``best_epoch_``, ``stopped_early_``.
    """

    weights = "softmax"

    def __init__(self, n_neighbors=20, temperature=0.05, nce_temperature=0.05, hidden=None, lr=1e-3,
                 batch_size=512, max_epochs=20, patience=3, seed=0, chunk_size=None):
        self.n_neighbors, self.temperature, self.nce_temperature = n_neighbors, temperature, nce_temperature
        self.hidden, self.lr, self.batch_size = hidden, lr, batch_size
        self.max_epochs, self.patience, self.seed, self.chunk_size = max_epochs, patience, seed, chunk_size

    def fit(self, X, Y, *, X_val=None, Y_val=None):
        """Train the encoder (early stopping needs ``X_val, Y_val``; without them all epochs run)."""
        X, Y = _check_xy(X, Y)
        self._validate_common(len(X))
        check_real(self.nce_temperature, "nce_temperature", low=0, low_open=True)
        _check_training_params(self.lr, self.batch_size, self.max_epochs, self.patience)
        check_int(self.seed, "seed")
        if self.hidden is not None:
            check_int(self.hidden, "hidden", minimum=1)
        has_val = X_val is not None
        if has_val:
            X_val = as_matrix(X_val, "X_val", n_cols=X.shape[1])
            Y_val = as_matrix(Y_val, "Y_val", n_cols=Y.shape[1])
            check_same_rows(X_val, Y_val, "X_val", "Y_val")
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        encoder = MetricEncoder(X.shape[1], self.hidden)
        optimiser = torch.optim.Adam(encoder.parameters(), lr=self.lr, fused=True)
        Xt, Yt = torch.from_numpy(safe_unit_rows(X)), torch.from_numpy(np.require(Y, requirements="W"))
        Yt_unit = nn.functional.normalize(Yt, dim=1)
        self._store(X, Y)
        history = {"epoch": [], "train_loss": [], "val_p@10": []}
        best, best_state, best_epoch, bad = -1.0, None, 0, 0
        self.stopped_early_, self.encoder_ = False, encoder  # _val_p10 predicts with encoder_
        for epoch in range(self.max_epochs + 1):
            loss = self._train_epoch(encoder, optimiser, Xt, Yt, Yt_unit, generator) if epoch else np.nan
            score = self._val_p10(X_val, Y_val) if has_val else np.nan
            for key, value in zip(history, (epoch, loss, score)):
                history[key].append(value)
            if has_val and score > best:
                best, best_state, best_epoch, bad = score, copy.deepcopy(encoder.state_dict()), epoch, 0
            elif has_val and (bad := bad + 1) >= self.patience:
                self.stopped_early_ = True
                break
        if best_state is not None:
            encoder.load_state_dict(best_state)
        self.best_epoch_ = best_epoch if has_val else self.max_epochs
        self.history_ = history
        return self

    def _train_epoch(self, encoder, optimiser, Xt, Yt, Yt_unit, generator):
        order = torch.randperm(len(Xt), generator=generator)
        total = 0.0
        encoder.train()
        for lo in range(0, len(Xt), self.batch_size):
            batch = order[lo : lo + self.batch_size]
            keys = encoder(Xt)
            pred = _attend_leave_one_out(keys[batch], keys, Yt, self.n_neighbors, self.temperature,
                                         batch)
            logits = nn.functional.normalize(pred, dim=1) @ Yt_unit.T / self.nce_temperature
            loss = nn.functional.cross_entropy(logits, batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        return total / len(Xt)

    def _val_p10(self, X_val, Y_val):
        P = safe_unit_rows(self.predict(X_val))
        candidates = safe_unit_rows(np.vstack([self.Y_, Y_val]))
        gold = len(self.Y_) + np.arange(len(Y_val))
        hits = 0
        for lo, S in _search.blocks(P, candidates, self.chunk_size):
            hits += int(np.sum(_search.gold_rank(S, gold[lo : lo + len(S)]) <= 10))
        return hits / len(P)

    def _encode(self, X):
        with torch.no_grad():
            self.encoder_.eval()
            return safe_unit_rows(self.encoder_(torch.from_numpy(safe_unit_rows(X))).numpy())

    def _predict(self, X, exclude):
        # encode all rows at once: the encoder's float result may depend on the batch size
        idx, sims = self._nearest(self._encode(X), self._encode(self.X_unit_), exclude)
        w = neighbour_weights(sims, "softmax", self.temperature)
        out = np.empty((len(X), self.Y_.shape[1]), dtype=np.float32)
        step = _search.chunk_rows(len(X), len(self.Y_), self.chunk_size)
        for lo in range(0, len(X), step):  # (step, k, d) gathered at a time
            out[lo : lo + step] = np.einsum("qk,qkd->qd", w[lo : lo + step], self.Y_[idx[lo : lo + step]])
        return out
