"""Non-linear maps between embedding spaces: an MLP (torch) and a k-NN baseline.

* :class:`MLPMapper` is the ``torch.nn.Module``: a multi-layer perceptron,
  optionally added to a fixed or trainable linear map so that training starts
  at a fitted linear solution and only learns a correction.
* :func:`train_mapper` trains any such module with Adam, mini-batches and
  early stopping, and returns a per-epoch history.
* :class:`MLPMap` wraps both as a scikit-learn regressor (``fit``/``predict``,
  ``get_params``/``set_params``, ``clone``).
* :class:`KNNRegressionMap` is the simplest non-linear baseline: average the
  targets of a word's nearest training words in the source space.
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

from embmap._checks import (
    as_matrix,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_same_cols,
    check_same_rows,
    holdout_rows,
)
from embmap.linear import least_squares
from embmap.local import SoftmaxKNNMap
from embmap.losses import LOSSES

__all__ = ["KNNRegressionMap", "MLPMap", "MLPMapper", "resolve_device", "train_mapper"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
_OUTPUT_ACTIVATIONS = {None: nn.Identity, "tanh": nn.Tanh}
_INITS = ("default", "uniform", "xavier", "kaiming")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``"auto"``, ``"cpu"`` or ``"cuda"`` into a ``torch.device``.

    Only ``"auto"`` picks CUDA on its own, so results are reproducible on CPU
    unless a GPU is asked for.
    """
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
    """Two finite 2-D float32 arrays with the same number of rows (row i = the same word)."""
    X, Y = as_matrix(X, names[0]), as_matrix(Y, names[1])
    check_same_rows(X, Y, *names)
    return X, Y


def _resolve_loss(loss: str | Callable) -> Callable:
    if callable(loss):
        return loss
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)} or a callable")
    return LOSSES[loss]


def _batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of ``batch_size`` rows; a trailing single row joins the previous batch.

    Batch losses (InfoNCE, CSLS, Sinkhorn) are undefined or trivial on one
    row, so we never produce a batch of one unless ``n == 1``.
    """
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    ends = starts[1:] + [n]
    return [slice(a, b) for a, b in zip(starts, ends)]


def _mean_cosine(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float(nn.functional.cosine_similarity(pred, target, dim=1, eps=1e-8).mean())


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------


class MLPMapper(nn.Module):
    """Multi-layer perceptron from ``in_dim`` to ``out_dim``, optionally on top of a linear map.

    Without ``residual_init`` the forward pass is ``mlp(x)``.  With it,

    .. math:: f(x) = x W + b + \\mathrm{mlp}(x),

    where ``W`` (and ``b``) start at a fitted linear map and the MLP's last
    layer starts at zero, so the untrained network reproduces the linear map
    exactly and training learns a non-linear correction.

    Parameters
    ----------
    in_dim, out_dim : int
        Source and target dimensions.
    hidden : sequence of int
        Hidden layer widths; ``()`` gives a single linear layer.
    activation : {"relu", "tanh", "gelu"}
        Hidden-layer non-linearity.
    output_activation : {None, "tanh"}
        Applied to the MLP output (not to the linear branch).  ``"tanh"``
        bounds outputs to ``(-1, 1)``, which suits targets scaled that way.
    init : {"default", "uniform", "xavier", "kaiming"}
        Weight initialisation.  ``"default"`` is PyTorch's; ``"uniform"`` is
        Keras' ``RandomUniform(-0.05, 0.05)``; ``"xavier"`` is Glorot uniform
        (Keras' ``Dense`` default); ``"kaiming"`` is He uniform.  Biases are
        zero for all but ``"default"``, as in Keras.
    dropout : float
        Dropout probability after each hidden activation.
    residual_init : array of shape (in_dim, out_dim), optional
        Linear map ``W`` to start from (e.g. a least-squares fit).
    residual_bias : array of shape (out_dim,), optional
        Intercept ``b`` of that linear map; only with ``residual_init``.
    residual_trainable : bool
        Whether ``W`` and ``b`` are trained along with the MLP.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: Sequence[int] = (512,),
        activation: str = "relu",
        output_activation: str | None = None,
        init: str = "default",
        dropout: float = 0.0,
        residual_init: np.ndarray | None = None,
        residual_bias: np.ndarray | None = None,
        residual_trainable: bool = True,
    ) -> None:
        super().__init__()
        _check_mlp_params(in_dim, out_dim, hidden, activation, output_activation, init, dropout)
        self.mlp = self._build_mlp(in_dim, out_dim, hidden, activation, output_activation, dropout)
        self._init_weights(init, activation)
        self.residual = None
        if residual_init is not None:
            self.residual = _linear_from_matrix(residual_init, residual_bias, in_dim, out_dim)
            self.residual.requires_grad_(residual_trainable)
            # Zero last layer => mlp(x) == output_activation(0) == 0 for both
            # allowed output activations, so f(x) starts exactly at x W + b.
            nn.init.zeros_(self.mlp[-2].weight)
            nn.init.zeros_(self.mlp[-2].bias)
        elif residual_bias is not None:
            raise ValueError("residual_bias needs residual_init")

    @staticmethod
    def _build_mlp(in_dim, out_dim, hidden, activation, output_activation, dropout):
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        # The output activation is always the last module, so mlp[-2] is the
        # output layer whatever the depth.
        layers += [nn.Linear(width, out_dim), _OUTPUT_ACTIVATIONS[output_activation]()]
        return nn.Sequential(*layers)

    def _init_weights(self, init: str, activation: str) -> None:
        if init == "default":
            return  # keep PyTorch's own (Kaiming-uniform with a=sqrt(5)) initialisation
        for layer in self.mlp:
            if not isinstance(layer, nn.Linear):
                continue
            if init == "uniform":
                nn.init.uniform_(layer.weight, -0.05, 0.05)
            elif init == "xavier":
                nn.init.xavier_uniform_(layer.weight)
            else:
                # He initialisation is derived for ReLU; for tanh/gelu it is a
                # slightly-too-large but common choice.
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.mlp(x)
        if self.residual is not None:
            out = out + self.residual(x)
        return out


def _check_mlp_params(in_dim, out_dim, hidden, activation, output_activation, init, dropout):
    check_int(in_dim, "in_dim", minimum=1)
    check_int(out_dim, "out_dim", minimum=1)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of positive integers, got {hidden!r}")
    for i, width in enumerate(hidden):
        check_int(width, f"hidden[{i}]", minimum=1)
    check_choice(activation, "activation", sorted(_ACTIVATIONS))
    check_choice(output_activation, "output_activation", list(_OUTPUT_ACTIVATIONS))
    check_choice(init, "init", _INITS)
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
            b = b[0]
            layer.bias.copy_(torch.from_numpy(b))
    return layer


# ---------------------------------------------------------------------------
# training loop
# ---------------------------------------------------------------------------


def _evaluate(model, X, Y, loss_fn, batch_size) -> tuple[float, float, torch.Tensor]:
    """Row-weighted mean loss, mean cosine and predictions, over fixed-order batches."""
    model.eval()
    total, preds = 0.0, []
    with torch.no_grad():
        for sl in _batch_slices(len(X), batch_size):
            pred = model(X[sl])
            total += float(loss_fn(pred, Y[sl])) * (sl.stop - sl.start)
            preds.append(pred)
    pred = torch.cat(preds)
    return total / len(X), _mean_cosine(pred, Y), pred


def _train_epoch(model, optimiser, X, Y, loss_fn, batch_size, generator) -> float:
    """One pass over shuffled mini-batches; returns the row-weighted mean training loss."""
    model.train()
    # Shuffle on the CPU generator so the order is identical on every device.
    order = torch.randperm(len(X), generator=generator).to(X.device)
    total = 0.0
    for sl in _batch_slices(len(X), batch_size):
        idx = order[sl]
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), Y[idx])
        loss.backward()
        optimiser.step()
        total += float(loss.detach()) * len(idx)
    return total / len(X)


def train_mapper(
    model: nn.Module,
    X_train,
    Y_train,
    X_val=None,
    Y_val=None,
    loss: str | Callable = "mse",
    lr: float = 1e-3,
    batch_size: int = 256,
    max_epochs: int = 200,
    patience: int = 10,
    seed: int = 0,
    device: str | torch.device = "cpu",
    val_metric: Callable[[np.ndarray, np.ndarray], float] | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Train ``model`` with Adam and early stopping; restore the best weights.

    Shown in notebook 04, section 1 (the loop written out and checked against this function).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, d_in)`` float32 tensors to ``(n, d_out)``; moved to ``device``.
    X_train, Y_train : array_like of shape (n, d_in) and (n, d_out)
    X_val, Y_val : array_like, optional
        Validation pair used for early stopping.  Without it, the training
        loss is monitored instead (and the ``val_*`` columns are NaN).
    loss : str or callable
        A key of :data:`embmap.losses.LOSSES` or a ``(pred, target) -> scalar``
        function.
    lr : float
        Adam learning rate.
    batch_size : int
        Mini-batch size.  Batch losses (``"infonce"``, ``"csls_margin"``,
        ``"sinkhorn"``) use the other rows of a batch as negatives, so it
        also sets their difficulty.
    max_epochs : int
        Upper limit on passes over the training data (0 leaves the model as is).
    patience : int
        Stop after this many epochs without improvement.
    seed : int
        Seeds the shuffling and dropout; on CPU two runs with the same seed
        and the same starting weights give identical results.
    device : {"cpu", "cuda", "auto"} or torch.device
    val_metric : callable, optional
        ``val_metric(Y_val_pred, Y_val) -> float`` on numpy arrays, *higher is
        better*; if given it drives early stopping instead of the validation
        loss, and is recorded in the ``val_metric`` column.
    progress : bool
        Show a tqdm progress bar over epochs.

    Returns
    -------
    dict of lists
        One entry per epoch under ``epoch``, ``train_loss``, ``val_loss``,
        ``val_cosine``, ``val_metric`` (if given), ``seconds`` and
        ``improved`` (True where the monitored quantity hit a new best; the
        weights of the last such epoch are the ones restored).  Pass it to
        ``pandas.DataFrame`` for a table.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X_train, Y_train = _check_pair_arrays(X_train, Y_train, ("X_train", "Y_train"))
    has_val = X_val is not None or Y_val is not None
    if has_val:
        if X_val is None or Y_val is None:
            raise ValueError("give both X_val and Y_val, or neither")
        X_val, Y_val = _check_pair_arrays(X_val, Y_val, ("X_val", "Y_val"))
        check_same_cols(X_train, X_val, "X_train", "X_val")
        check_same_cols(Y_train, Y_val, "Y_train", "Y_val")
    if val_metric is not None and not callable(val_metric):
        raise TypeError(f"val_metric must be callable or None, got {val_metric!r}")
    if val_metric is not None and not has_val:
        raise ValueError("val_metric needs X_val and Y_val")
    _check_training_params(lr, batch_size, max_epochs, patience)
    check_int(seed, "seed", minimum=0)
    check_bool(progress, "progress")
    loss_fn = _resolve_loss(loss)
    device = resolve_device(device)

    model.to(device)
    # The whole data set lives on the device: 33k x 50 float32 is 7 MB.
    Xt, Yt = torch.from_numpy(X_train).to(device), torch.from_numpy(Y_train).to(device)
    Xv = torch.from_numpy(X_val).to(device) if has_val else None
    Yv = torch.from_numpy(Y_val).to(device) if has_val else None

    # fork_rng keeps the caller's global RNG untouched while seeding dropout.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
            _cpu_threads(TRAIN_THREADS if device.type == "cpu" else None):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        # fused: one kernel updates every parameter (the same Adam update); on these small
        # networks the per-tensor path cost as much as the forward and backward passes
        # (ReLU 512, batch 256, one thread: 0.42 -> 0.25 s per epoch).
        optimiser = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
        history = _fit_loop(
            model, optimiser, Xt, Yt, Xv, Yv, loss_fn, batch_size, max_epochs, patience,
            generator, val_metric, progress,
        )
    model.eval()
    return history


# Intra-op threads while training on the CPU. A mini-batch step multiplies
# matrices of a few hundred rows: too small to gain from splitting across
# cores, while OpenMP's spin-waiting between the ~10 ops of each step costs
# more than it saves, and on a busy machine it is ruinous (measured on the
# bundled pair, 2 cores shared with other jobs, ReLU 512, batch 256, 5 epochs:
# 1 thread 15.5 s wall / 4.0 s CPU, 2 threads 162 s wall / 40 s CPU, the
# same validation cosine). None keeps torch's own setting.
TRAIN_THREADS: int | None = 1


@contextlib.contextmanager
def _cpu_threads(n):
    """Temporarily set ``torch.set_num_threads(n)`` (no-op for None); restore on exit."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_training_params(lr, batch_size, max_epochs, patience) -> None:
    check_real(lr, "lr", low=0.0, low_open=True)
    check_int(batch_size, "batch_size", minimum=1)
    check_int(max_epochs, "max_epochs", minimum=0)
    check_int(patience, "patience", minimum=1)


def _fit_loop(model, optimiser, Xt, Yt, Xv, Yv, loss_fn, batch_size, max_epochs, patience,
              generator, val_metric, progress) -> dict[str, list]:
    history: dict[str, list] = {"epoch": [], "train_loss": [], "val_loss": [], "val_cosine": []}
    if val_metric is not None:
        history["val_metric"] = []
    history.update(seconds=[], improved=[])

    best_score, best_state, stale = -np.inf, copy.deepcopy(model.state_dict()), 0
    bar = trange(max_epochs, disable=not progress, desc="epochs", leave=False)
    for epoch in bar:
        start = time.perf_counter()
        train_loss = _train_epoch(model, optimiser, Xt, Yt, loss_fn, batch_size, generator)
        row = {"epoch": epoch + 1, "train_loss": train_loss,
               "val_loss": np.nan, "val_cosine": np.nan}
        if Xv is not None:
            row["val_loss"], row["val_cosine"], pred = _evaluate(model, Xv, Yv, loss_fn, batch_size)
            if val_metric is not None:
                row["val_metric"] = float(val_metric(pred.cpu().numpy(), Yv.cpu().numpy()))
        # One "higher is better" score: the metric if given, else minus a loss.
        if val_metric is not None:
            score = row["val_metric"]
        else:
            score = -(row["val_loss"] if Xv is not None else train_loss)
        if not np.isfinite(score):
            raise ValueError(f"non-finite loss or metric at epoch {epoch + 1}: try a smaller lr")
        row["improved"] = bool(score > best_score)
        if row["improved"]:
            best_score, best_state, stale = score, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
        row["seconds"] = time.perf_counter() - start
        for key, column in history.items():
            column.append(row[key])
        bar.set_postfix(train=f"{train_loss:.4g}", val=f"{row['val_loss']:.4g}")
        if stale >= patience:
            break
    bar.close()
    model.load_state_dict(best_state)
    return history


# ---------------------------------------------------------------------------
# scikit-learn wrappers
# ---------------------------------------------------------------------------


class MLPMap(RegressorMixin, BaseEstimator):
    """Scikit-learn regressor that fits an :class:`MLPMapper` with :func:`train_mapper`.

    Parameters
    ----------
    hidden, activation, output_activation, init, dropout
        Network shape, as in :class:`MLPMapper`.
    loss, lr, batch_size, max_epochs, patience, seed
        Training, as in :func:`train_mapper`.
    val_fraction : float
        Share of the training rows held out (at random, seeded) for early
        stopping when ``fit`` gets no explicit ``X_val, Y_val``.  With 0 and no
        validation set the training loss is monitored.
    residual : bool
        If True, first fit ``Y ~ X W + b`` by ordinary least squares
        (``numpy.linalg.lstsq``) on the training rows and let the MLP learn a
        correction to it (see ``MLPMapper(residual_init=...)``).
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when available.
    progress : bool
        Show a progress bar during ``fit``.

    Attributes
    ----------
    model_ : MLPMapper
        The trained network (best epoch), in eval mode.
    history_ : dict of lists
        Per-epoch history returned by :func:`train_mapper`.
    n_features_in_ : int
    n_outputs_ : int
    training_seconds_ : float
        Wall time of the training loop.
    device_ : torch.device
    residual_coef_, residual_intercept_ : ndarray or None
        The least-squares map used when ``residual=True``.
    """

    def __init__(
        self,
        hidden=(512,),
        activation="relu",
        output_activation=None,
        init="default",
        dropout=0.0,
        loss="mse",
        lr=1e-3,
        batch_size=256,
        max_epochs=200,
        patience=10,
        seed=0,
        val_fraction=0.1,
        residual=False,
        device="auto",
        progress=False,
    ):
        self.hidden = hidden
        self.activation = activation
        self.output_activation = output_activation
        self.init = init
        self.dropout = dropout
        self.loss = loss
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.seed = seed
        self.val_fraction = val_fraction
        self.residual = residual
        self.device = device
        self.progress = progress

    def fit(self, X, Y, X_val=None, Y_val=None):
        """Fit the network on ``X -> Y``.

        Parameters
        ----------
        X : array_like of shape (n, d_in)
        Y : array_like of shape (n, d_out)
        X_val, Y_val : array_like, optional
            Explicit validation pair; otherwise ``val_fraction`` of the
            rows is held out.

        Returns
        -------
        self
        """
        X, Y = _check_pair_arrays(X, Y)
        self._check_params()
        X_tr, Y_tr, X_val, Y_val = self._split(X, Y, X_val, Y_val)
        self.n_features_in_, self.n_outputs_ = X.shape[1], Y.shape[1]
        self.device_ = resolve_device(self.device)

        if self.residual:
            self.residual_coef_, self.residual_intercept_ = least_squares(X_tr, Y_tr, True)
        else:
            self.residual_coef_ = self.residual_intercept_ = None
        # Seed the weight initialisation (train_mapper seeds the rest) without
        # disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.model_ = MLPMapper(
                X.shape[1], Y.shape[1], self.hidden, self.activation,
                self.output_activation, self.init, self.dropout,
                residual_init=self.residual_coef_, residual_bias=self.residual_intercept_,
            )
        start = time.perf_counter()
        self.history_ = train_mapper(
            self.model_, X_tr, Y_tr, X_val, Y_val, loss=self.loss, lr=self.lr,
            batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience,
            seed=self.seed, device=self.device_, progress=self.progress,
        )
        self.training_seconds_ = time.perf_counter() - start
        return self

    def _check_params(self):
        """Every hyper-parameter, before any work (as scikit-learn estimators do in fit)."""
        _check_mlp_params(1, 1, self.hidden, self.activation, self.output_activation,
                          self.init, self.dropout)
        _resolve_loss(self.loss)
        _check_training_params(self.lr, self.batch_size, self.max_epochs, self.patience)
        check_int(self.seed, "seed", minimum=0)
        check_real(self.val_fraction, "val_fraction", low=0.0, high=1.0,
                   high_open=True)
        check_bool(self.residual, "residual")
        check_bool(self.progress, "progress")
        resolve_device(self.device)

    def _split(self, X, Y, X_val, Y_val):
        """Training rows plus a validation pair (explicit, held out, or None)."""
        if X_val is not None or Y_val is not None:
            return X, Y, X_val, Y_val  # train_mapper validates them
        n_val = round(self.val_fraction * len(X))
        if n_val == 0:
            return X, Y, None, None
        if len(X) - n_val < 2:
            raise ValueError("too few rows to hold out a validation set")
        tr, val = holdout_rows(len(X), n_val, self.seed)
        return X[tr], Y[tr], X[val], Y[val]

    def predict(self, X) -> np.ndarray:
        """Map ``X`` into the target space.

        Returns
        -------
        numpy.ndarray of shape (n, d_out), float32
        """
        check_is_fitted(self, "model_")
        X = as_matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MLPMap was fitted with "
                             f"{self.n_features_in_}")
        self.model_.eval()
        out = []
        with torch.no_grad():
            for sl in _batch_slices(len(X), 8192):
                out.append(self.model_(torch.from_numpy(X[sl]).to(self.device_)).cpu())
        pred = torch.cat(out).numpy().astype(np.float32, copy=False)
        if not np.all(np.isfinite(pred)):
            # Finite inputs far outside the training range can overflow float32.
            raise ValueError("X maps to non-finite predictions: its values are too large "
                             "for the network (rescale X as the training data was)")
        return pred


class KNNRegressionMap(SoftmaxKNNMap):
    """Predict a target vector as a weighted mean of the targets of the k nearest training words.

    :class:`embmap.local.SoftmaxKNNMap` with the defaults notebooks 04 and 05
    use (``n_neighbors=10``, ``weights="similarity"``): one implementation,
    two starting points.  Neighbours are found by cosine similarity in the
    source space; with similarities :math:`s_1 \\ge \\dots \\ge s_k`,

    * ``"uniform"``: :math:`w_j = 1/k`;
    * ``"similarity"``: :math:`w_j \\propto \\max(s_j, 0)` (uniform if all are <= 0);
    * ``"softmax"``: :math:`w_j \\propto \\exp(s_j / T)`.

    It needs no training and makes a strong, non-linear baseline when the
    two spaces agree locally.  Parameters, attributes, ``predict`` and the
    leave-one-out ``predict_training`` are those of ``SoftmaxKNNMap``.
    """

    def __init__(self, n_neighbors=10, weights="similarity", temperature=0.05, chunk_size=1024):
        super().__init__(n_neighbors=n_neighbors, weights=weights, temperature=temperature,
                         chunk_size=chunk_size)


def first_hidden_activations(mlp_map, X) -> np.ndarray:
    """Outputs of the first hidden layer (after its activation) of a fitted :class:`MLPMap`.

    Shown in notebook 04, section 3 (the saturation probe written out and checked).

    Used to diagnose saturation: with ``tanh``, units whose absolute output
    is near 1 pass almost no gradient (the derivative is ``1 - tanh^2``).
    """
    check_is_fitted(mlp_map, "model_")
    layers = mlp_map.model_.mlp
    if len(layers) < 4:
        raise ValueError("mlp_map's network has no hidden layer")
    X = as_matrix(X, "X", n_cols=mlp_map.n_features_in_)
    X = torch.as_tensor(X, device=next(layers.parameters()).device)
    with torch.no_grad():
        return layers[1](layers[0](X)).cpu().numpy()
