"""A score must never lie: every bad input raises an error that names the argument.

One table per module (linear, neural, losses, isomorphism, diagnostics,
datasets), each row ``(id, call, exception type, message pattern)``, run by
one parametrised test. Failure classes: non-finite values, empty inputs,
wrong shapes / ndim, wrong dtypes (strings, objects, ints where floats are
needed), degenerate data (identical, parallel or all-zero rows), and
out-of-range or wrong-type hyper-parameters. Every pattern contains the
argument's name, so a message that stops naming it fails the test.

The last section checks valid edge cases (one row, k = n - 1, huge
magnitudes, ...) against known answers, so the checks did not make valid
inputs fail or change their results.
"""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest
import torch

from embmap.datasets import PairedEmbeddings, load_dataset, read_edges, split_indices
from embmap.diagnostics import (
    duplicate_rows,
    mean_with_ci,
    nearest_words,
    neighbour_overlap,
    random_pair_cosines,
    value_summary,
)
from embmap.isomorphism import (
    bottleneck_distance,
    eigenvector_similarity,
    gh_distance,
    isomorphism_table,
    knn_graph,
    laplacian_spectrum,
    largest_isomorphic_prefix,
    relational_similarity,
    rips_h0_deaths,
    spectral_distance,
    vf2_isomorphic,
)
from embmap.linear import (
    CCAMap,
    LeastSquares,
    OrthogonalProcrustes,
    RidgeHoldoutMap,
    RidgeMap,
    SelfLearning,
    VecMapMultiStep,
)
from embmap.losses import (
    LOSSES,
    log_bessel_iv,
    log_vmf_normaliser,
    sinkhorn_loss,
    sinkhorn_plan,
)
from embmap.neural import (
    KNNRegressionMap,
    MLPMap,
    MLPMapper,
    first_hidden_activations,
    resolve_device,
    train_mapper,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 5))
Y = RNG.normal(size=(30, 3))


def with_value(A, value, row=3, col=1):
    B = np.array(A, dtype=np.float64, copy=True)
    B[row, col] = value
    return B


def nan(A):
    return with_value(A, np.nan)


def inf(A):
    return with_value(A, np.inf)


def zero_row(A, row=1):
    B = np.array(A, dtype=np.float64, copy=True)
    B[row] = 0.0
    return B


STRINGS = np.full((30, 5), "a")
OBJECTS = X.astype(object)
OBJECTS[0, 0] = {"not": "a number"}
SAME = np.tile(RNG.normal(size=(1, 5)), (30, 1))  # 30 identical rows
PARALLEL = SAME * np.arange(1, 31)[:, None]  # 30 rows, one direction


def ids(cases):
    return [c[0] for c in cases]


# ---------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------

MAPS = {
    "LeastSquares": LeastSquares,
    "RidgeMap": RidgeMap,
    "RidgeHoldoutMap": RidgeHoldoutMap,
    "OrthogonalProcrustes": OrthogonalProcrustes,
    "CCAMap": CCAMap,
    "VecMapMultiStep": VecMapMultiStep,
    "SelfLearning": lambda: SelfLearning(n_iter=1),
}


def _map_cases(name, make):
    # scikit-learn's validate_data words its messages "Input X contains NaN" and
    # calls the target "y"; its estimator checks require those exact messages.
    def fitted():
        return make().fit(X, Y)

    return [
        (f"{name}-X-nan", lambda: make().fit(nan(X), Y), ValueError, "X contains NaN"),
        (f"{name}-X-inf", lambda: make().fit(inf(X), Y), ValueError, "X contains infinity"),
        (f"{name}-Y-nan", lambda: make().fit(X, nan(Y)), ValueError, "y contains NaN"),
        (f"{name}-X-empty", lambda: make().fit(X[:0], Y[:0]), ValueError, r"0 sample\(s\)"),
        (f"{name}-X-1d", lambda: make().fit(X[:, 0], Y), ValueError, "Expected 2D array"),
        (f"{name}-X-strings", lambda: make().fit(STRINGS, Y), TypeError, "X must hold numbers"),
        (f"{name}-X-objects", lambda: make().fit(OBJECTS, Y), TypeError, "X must hold numbers"),
        (f"{name}-Y-strings", lambda: make().fit(X, STRINGS), TypeError, "Y must hold numbers"),
        (f"{name}-rows", lambda: make().fit(X, Y[:-1]), ValueError, "X and Y must have the same"),
        (f"{name}-one-row", lambda: make().fit(X[:1], Y[:1]), ValueError, "minimum of 2"),
        (f"{name}-predict-nan", lambda: fitted().predict(nan(X)), ValueError, "X contains NaN"),
        (f"{name}-predict-width", lambda: fitted().predict(X[:, :4]), ValueError, "X has 4 feat"),
        (f"{name}-predict-str", lambda: fitted().predict(STRINGS), TypeError, "X must hold num"),
        (f"{name}-unfitted", lambda: make().predict(X), ValueError, "not fitted"),
    ]


LINEAR_CASES = [case for name, make in MAPS.items() for case in _map_cases(name, make)]
LINEAR_CASES += [
    ("RidgeMap-alpha-negative", lambda: RidgeMap(alpha=-1.0).fit(X, Y), ValueError, "alpha must be"),
    ("RidgeMap-alpha-nan", lambda: RidgeMap(alpha=np.nan).fit(X, Y), ValueError, "alpha must be fin"),
    ("RidgeMap-alpha-str", lambda: RidgeMap(alpha="1").fit(X, Y), TypeError, "alpha must be a num"),
    ("RidgeMap-fit_intercept", lambda: RidgeMap(fit_intercept="no").fit(X, Y), TypeError,
     "fit_intercept must be True or False"),
    ("LeastSquares-fit_intercept", lambda: LeastSquares(fit_intercept=1).fit(X, Y), TypeError,
     "fit_intercept"),
    ("RidgeHoldoutMap-alphas-empty", lambda: RidgeHoldoutMap(alphas=[]).fit(X, Y), ValueError, "alphas must"),
    ("RidgeHoldoutMap-alphas-scalar", lambda: RidgeHoldoutMap(alphas=1.0).fit(X, Y), TypeError, "alphas must"),
    ("RidgeHoldoutMap-alphas-negative", lambda: RidgeHoldoutMap(alphas=(1.0, -1.0)).fit(X, Y), ValueError,
     r"alphas\[1\] must be >= 0"),
    ("RidgeHoldoutMap-fraction-0", lambda: RidgeHoldoutMap(val_fraction=0.0).fit(X, Y), ValueError,
     "val_fraction must be > 0"),
    ("RidgeHoldoutMap-fraction-1.5", lambda: RidgeHoldoutMap(val_fraction=1.5).fit(X, Y), ValueError,
     "val_fraction must be < 1"),
    ("RidgeHoldoutMap-seed", lambda: RidgeHoldoutMap(seed=-1).fit(X, Y), ValueError, "seed must be at least 0"),
    ("RidgeHoldoutMap-two-rows", lambda: RidgeHoldoutMap().fit(X[:2], Y[:2]), ValueError,
     "X has 2 rows: too few to hold out val_fraction"),
    ("RidgeHoldoutMap-X_val-alone", lambda: RidgeHoldoutMap().fit(X, Y, X_val=X), ValueError,
     "give both X_val and Y_val"),
    ("RidgeHoldoutMap-Y_val-nan", lambda: RidgeHoldoutMap().fit(X, Y, X_val=X, Y_val=nan(Y)), ValueError,
     "Y_val contains a non-finite value"),
    ("RidgeHoldoutMap-X_val-width", lambda: RidgeHoldoutMap().fit(X, Y, X_val=X[:, :4], Y_val=Y), ValueError,
     "X_val must have 5 columns"),
    ("RidgeHoldoutMap-val-rows", lambda: RidgeHoldoutMap().fit(X, Y, X_val=X, Y_val=Y[:-1]), ValueError,
     "X_val and Y_val must have the same number of rows"),
    ("RidgeHoldoutMap-X_val-empty", lambda: RidgeHoldoutMap().fit(X, Y, X_val=X[:0], Y_val=Y[:0]), ValueError,
     r"X_val must have at least 1 row"),
    ("RidgeHoldoutMap-overflow", lambda: RidgeHoldoutMap(alphas=(0.0,)).fit(X * 1e200, Y * 1e200), ValueError,
     "validation MSE of alpha=0.0 overflowed"),
    ("Procrustes-zero-X", lambda: OrthogonalProcrustes().fit(np.zeros((30, 5)), Y), ValueError,
     r"X\^T Y is all zeros"),
    ("CCAMap-n_components-float", lambda: CCAMap(n_components=2.0).fit(X, Y), TypeError,
     "n_components must be an integer"),
    ("CCAMap-n_components-0", lambda: CCAMap(n_components=0).fit(X, Y), ValueError,
     "n_components must be at least 1"),
    ("CCAMap-n_components-big", lambda: CCAMap(n_components=4).fit(X, Y), ValueError,
     "n_components must be at most 3"),
    ("CCAMap-reg-negative", lambda: CCAMap(reg=-1).fit(X, Y), ValueError, "reg must be >= 0"),
    ("CCAMap-reg-str", lambda: CCAMap(reg="small").fit(X, Y), TypeError, "reg must be a number"),
    ("VecMap-reweight-negative", lambda: VecMapMultiStep(reweight=-0.5).fit(X, Y), ValueError,
     "reweight must be >= 0"),
    ("VecMap-reweight-str", lambda: VecMapMultiStep(reweight="half").fit(X, Y), TypeError,
     "reweight must be a number"),
    ("VecMap-dim_reduction-float", lambda: VecMapMultiStep(dim_reduction=2.5).fit(X, Y),
     TypeError, "dim_reduction must be an integer"),
    ("VecMap-dim_reduction-big", lambda: VecMapMultiStep(dim_reduction=4).fit(X, Y), ValueError,
     "dim_reduction must be at most 3"),
    ("VecMap-orthogonal-reweight", lambda: VecMapMultiStep(orthogonal=False).fit(X, Y),
     ValueError, "orthogonal=True"),
    ("VecMap-whiten-str", lambda: VecMapMultiStep(whiten="yes").fit(X, Y), TypeError,
     "whiten must be True or False"),
    ("VecMap-transform_target-nan", lambda: VecMapMultiStep().fit(X, Y).transform_target(nan(Y)),
     ValueError, "Y contains NaN"),
    ("VecMap-transform_target-width",
     lambda: VecMapMultiStep().fit(X, Y).transform_target(Y[:, :2]), ValueError,
     "Y has 2 columns"),
    ("SelfLearning-dropout-1", lambda: SelfLearning(dropout=1.0).fit(X, Y), ValueError,
     "dropout must be < 1"),
    ("SelfLearning-dropout-negative", lambda: SelfLearning(dropout=-0.1).fit(X, Y), ValueError,
     "dropout must be >= 0"),
    ("SelfLearning-direction", lambda: SelfLearning(direction="both").fit(X, Y), ValueError,
     "direction must be one of"),
    ("SelfLearning-csls_k-0", lambda: SelfLearning(csls_k=0).fit(X, Y), ValueError,
     "csls_k must be at least 1"),
    ("SelfLearning-csls_k-float", lambda: SelfLearning(csls_k=2.0).fit(X, Y), TypeError,
     "csls_k must be an integer"),
    ("SelfLearning-n_iter-negative", lambda: SelfLearning(n_iter=-1).fit(X, Y), ValueError,
     "n_iter must be at least 0"),
    ("SelfLearning-n_iter-float", lambda: SelfLearning(n_iter=1.5).fit(X, Y), TypeError,
     "n_iter must be an integer"),
    ("SelfLearning-tol-nan", lambda: SelfLearning(tol=np.nan).fit(X, Y), ValueError,
     "tol must be finite"),
    ("SelfLearning-vocabulary_size", lambda: SelfLearning(vocabulary_size=1).fit(X, Y),
     ValueError, "vocabulary_size must be at least 2"),
    ("SelfLearning-estimator", lambda: SelfLearning(estimator="procrustes").fit(X, Y), TypeError,
     "estimator must have fit and predict"),
    ("SelfLearning-seed_pairs-float",
     lambda: SelfLearning(n_iter=1).fit(X, Y, seed_pairs=np.array([[0.0, 1.0], [2.0, 3.7]])),
     TypeError, "seed_pairs must hold integer row indices"),
    ("SelfLearning-seed_pairs-shape",
     lambda: SelfLearning(n_iter=1).fit(X, Y, seed_pairs=np.arange(4)), ValueError,
     r"seed_pairs must be an int array of shape"),
    ("SelfLearning-seed_pairs-range",
     lambda: SelfLearning(n_iter=1).fit(X, Y, seed_pairs=np.array([[0, 1], [2, 30]])),
     ValueError, "seed_pairs must index rows"),
]


@pytest.mark.parametrize("case", LINEAR_CASES, ids=ids(LINEAR_CASES))
def test_linear_bad_inputs(case):
    _, call, error, pattern = case
    with pytest.raises(error, match=pattern) as info:
        call()
    assert issubclass(info.type, error) and re.search(pattern, str(info.value))


# ---------------------------------------------------------------------------
# neural
# ---------------------------------------------------------------------------

X32, Y32 = X.astype(np.float32), Y.astype(np.float32)


def tiny_mlp(**params):
    defaults = {"hidden": (4,), "max_epochs": 1, "batch_size": 16, "device": "cpu", "seed": 0}
    return MLPMap(**{**defaults, **params})


_FITTED = {}


def fitted_mlp():
    if "mlp" not in _FITTED:
        _FITTED["mlp"] = tiny_mlp().fit(X32, Y32)
    return _FITTED["mlp"]


def saturated_mlp():
    """A fitted MLPMap whose weights are all 1: inputs of 3e38 must overflow float32."""
    model = tiny_mlp().fit(X32, Y32)
    with torch.no_grad():
        for parameter in model.model_.parameters():
            parameter.fill_(1.0)
    return model


def fitted_knn():
    return KNNRegressionMap(n_neighbors=3).fit(X, Y)


def train(**kwargs):
    args = {"model": MLPMapper(5, 3, hidden=(4,)), "X_train": X, "Y_train": Y, "max_epochs": 1,
            "progress": False}
    return train_mapper(**{**args, **kwargs})


NEURAL_CASES = [
    ("MLPMap-X-nan", lambda: tiny_mlp().fit(nan(X), Y), ValueError, "X contains a non-finite"),
    ("MLPMap-X-inf", lambda: tiny_mlp().fit(inf(X), Y), ValueError, "X contains a non-finite"),
    ("MLPMap-X-float32-overflow", lambda: tiny_mlp().fit(with_value(X, 1e300), Y), ValueError,
     "X contains a non-finite value .* beyond the float32 range"),
    ("MLPMap-Y-nan", lambda: tiny_mlp().fit(X, nan(Y)), ValueError, "Y contains a non-finite"),
    ("MLPMap-X-empty", lambda: tiny_mlp().fit(X[:0], Y[:0]), ValueError, "X must have at least 1"),
    ("MLPMap-X-1d", lambda: tiny_mlp().fit(X[:, 0], Y), ValueError, "X must be a 2-D array"),
    ("MLPMap-X-strings", lambda: tiny_mlp().fit(STRINGS, Y), TypeError, "X must hold numbers"),
    ("MLPMap-X-objects", lambda: tiny_mlp().fit(OBJECTS, Y), TypeError, "X must hold numbers"),
    ("MLPMap-X-complex", lambda: tiny_mlp().fit(X * 1j, Y), TypeError, "X must hold real"),
    ("MLPMap-rows", lambda: tiny_mlp().fit(X, Y[:-1]), ValueError, "X and Y must have the same"),
    ("MLPMap-hidden-int", lambda: tiny_mlp(hidden=5).fit(X, Y), TypeError, "hidden must be a seq"),
    ("MLPMap-hidden-0", lambda: tiny_mlp(hidden=(0,)).fit(X, Y), ValueError,
     r"hidden\[0\] must be at least 1"),
    ("MLPMap-hidden-float", lambda: tiny_mlp(hidden=(3.0,)).fit(X, Y), TypeError,
     r"hidden\[0\] must be an integer"),
    ("MLPMap-activation", lambda: tiny_mlp(activation="sigmoid").fit(X, Y), ValueError,
     "activation must be one of"),
    ("MLPMap-output_activation", lambda: tiny_mlp(output_activation="relu").fit(X, Y),
     ValueError, "output_activation must be one of"),
    ("MLPMap-init", lambda: tiny_mlp(init="orthogonal").fit(X, Y), ValueError,
     "init must be one of"),
    ("MLPMap-dropout-1", lambda: tiny_mlp(dropout=1.0).fit(X, Y), ValueError,
     "dropout must be < 1"),
    ("MLPMap-dropout-str", lambda: tiny_mlp(dropout="0.1").fit(X, Y), TypeError,
     "dropout must be a number"),
    ("MLPMap-loss", lambda: tiny_mlp(loss="hinge").fit(X, Y), ValueError, "unknown loss 'hinge'"),
    ("MLPMap-lr-0", lambda: tiny_mlp(lr=0).fit(X, Y), ValueError, "lr must be > 0"),
    ("MLPMap-lr-nan", lambda: tiny_mlp(lr=np.nan).fit(X, Y), ValueError, "lr must be finite"),
    ("MLPMap-batch_size-0", lambda: tiny_mlp(batch_size=0).fit(X, Y), ValueError,
     "batch_size must be at least 1"),
    ("MLPMap-batch_size-float", lambda: tiny_mlp(batch_size=16.0).fit(X, Y), TypeError,
     "batch_size must be an integer"),
    ("MLPMap-max_epochs", lambda: tiny_mlp(max_epochs=-1).fit(X, Y), ValueError,
     "max_epochs must be at least 0"),
    ("MLPMap-patience", lambda: tiny_mlp(patience=0).fit(X, Y), ValueError,
     "patience must be at least 1"),
    ("MLPMap-seed", lambda: tiny_mlp(seed=1.5).fit(X, Y), TypeError, "seed must be an integer"),
    ("MLPMap-val_fraction", lambda: tiny_mlp(val_fraction=1.0).fit(X, Y),
     ValueError, "val_fraction must be < 1"),
    ("MLPMap-residual", lambda: tiny_mlp(residual="yes").fit(X, Y), TypeError,
     "residual must be True or False"),
    ("MLPMap-device", lambda: tiny_mlp(device="tpu").fit(X, Y), ValueError, "device must be"),
    ("MLPMap-X_val-alone", lambda: tiny_mlp().fit(X, Y, X_val=X), ValueError,
     "give both X_val and Y_val"),
    ("MLPMap-X_val-width", lambda: tiny_mlp().fit(X, Y, X_val=X[:, :4], Y_val=Y), ValueError,
     "X_train has 5 columns but X_val has 4"),
    ("MLPMap-Y_val-nan", lambda: tiny_mlp().fit(X, Y, X_val=X, Y_val=nan(Y)), ValueError,
     "Y_val contains a non-finite"),
    ("MLPMap-predict-nan", lambda: fitted_mlp().predict(nan(X)), ValueError,
     "X contains a non-finite"),
    ("MLPMap-predict-width", lambda: fitted_mlp().predict(X[:, :4]), ValueError,
     "X has 4 features"),
    ("MLPMap-predict-strings", lambda: fitted_mlp().predict(STRINGS), TypeError,
     "X must hold numbers"),
    ("MLPMap-predict-1d", lambda: fitted_mlp().predict(X[0]), ValueError, "X must be a 2-D"),
    ("MLPMap-predict-overflow", lambda: saturated_mlp().predict(np.full((2, 5), 3e38)), ValueError,
     "X maps to non-finite predictions"),
    ("MLPMap-unfitted", lambda: tiny_mlp().predict(X), ValueError, "not fitted"),
    ("KNN-n_neighbors-float", lambda: KNNRegressionMap(n_neighbors=3.0).fit(X, Y), TypeError,
     "n_neighbors must be an integer"),
    ("KNN-n_neighbors-str", lambda: KNNRegressionMap(n_neighbors="3").fit(X, Y), TypeError,
     "n_neighbors must be an integer"),
    ("KNN-n_neighbors-0", lambda: KNNRegressionMap(n_neighbors=0).fit(X, Y), ValueError,
     "n_neighbors must be at least 1"),
    ("KNN-n_neighbors-big", lambda: KNNRegressionMap(n_neighbors=31).fit(X, Y), ValueError,
     "n_neighbors must be at most 30"),
    ("KNN-weights", lambda: KNNRegressionMap(weights="distance").fit(X, Y), ValueError,
     "weights must be one of"),
    ("KNN-temperature-0", lambda: KNNRegressionMap(temperature=0).fit(X, Y), ValueError,
     "temperature must be > 0"),
    ("KNN-chunk_size-0", lambda: KNNRegressionMap(chunk_size=0).fit(X, Y), ValueError,
     "chunk_size must be at least 1"),
    ("KNN-chunk_size-float", lambda: KNNRegressionMap(chunk_size=2.5).fit(X, Y), TypeError,
     "chunk_size must be an integer"),
    ("KNN-X-nan", lambda: KNNRegressionMap().fit(nan(X), Y), ValueError, "X contains a non-fin"),
    ("KNN-Y-inf", lambda: KNNRegressionMap().fit(X, inf(Y)), ValueError, "Y contains a non-fin"),
    ("KNN-X-zero-row", lambda: KNNRegressionMap().fit(zero_row(X), Y), ValueError,
     "row 1 of X is all zeros"),
    ("KNN-rows", lambda: KNNRegressionMap().fit(X, Y[:-1]), ValueError, "X and Y must have"),
    ("KNN-predict-nan", lambda: fitted_knn().predict(nan(X)), ValueError, "X contains a non-fin"),
    ("KNN-predict-zero-row", lambda: fitted_knn().predict(zero_row(X)), ValueError,
     "row 1 of X is all zeros"),
    ("KNN-predict-width", lambda: fitted_knn().predict(X[:, :4]), ValueError, "X must have 5 columns"),
    ("KNN-predict-empty", lambda: fitted_knn().predict(X[:0]), ValueError, "X must have at least"),
    ("MLPMapper-in_dim-0", lambda: MLPMapper(0, 3), ValueError, "in_dim must be at least 1"),
    ("MLPMapper-in_dim-float", lambda: MLPMapper(2.5, 3), TypeError, "in_dim must be an integer"),
    ("MLPMapper-out_dim-0", lambda: MLPMapper(5, 0), ValueError, "out_dim must be at least 1"),
    ("MLPMapper-hidden-str", lambda: MLPMapper(5, 3, hidden="64"), TypeError, "hidden must be"),
    ("MLPMapper-dropout", lambda: MLPMapper(5, 3, dropout=1.5), ValueError, "dropout must be"),
    ("MLPMapper-residual_init-shape", lambda: MLPMapper(5, 3, residual_init=np.zeros((3, 5))),
     ValueError, "residual_init must have shape"),
    ("MLPMapper-residual_init-nan", lambda: MLPMapper(5, 3, residual_init=nan(np.ones((5, 3)))),
     ValueError, "residual_init contains a non-finite"),
    ("MLPMapper-residual_bias-alone", lambda: MLPMapper(5, 3, residual_bias=np.zeros(3)),
     ValueError, "residual_bias needs residual_init"),
    ("MLPMapper-residual_bias-shape",
     lambda: MLPMapper(5, 3, residual_init=np.zeros((5, 3)), residual_bias=np.zeros(4)),
     ValueError, "residual_bias must have shape"),
    ("train_mapper-model", lambda: train(model="mlp"), TypeError, "model must be a torch.nn"),
    ("train_mapper-X_train-nan", lambda: train(X_train=nan(X)), ValueError,
     "X_train contains a non-finite"),
    ("train_mapper-X_train-empty", lambda: train(X_train=X[:0], Y_train=Y[:0]), ValueError,
     "X_train must have at least 1"),
    ("train_mapper-rows", lambda: train(Y_train=Y[:-1]), ValueError,
     "X_train and Y_train must have the same number of rows"),
    ("train_mapper-loss", lambda: train(loss=3), ValueError, "unknown loss 3"),
    ("train_mapper-Y_val-alone", lambda: train(Y_val=Y), ValueError, "give both X_val and Y_val"),
    ("train_mapper-Y_val-width", lambda: train(X_val=X, Y_val=Y[:, :2]), ValueError,
     "Y_train has 3 columns but Y_val has 2"),
    ("train_mapper-val_metric-type", lambda: train(X_val=X, Y_val=Y, val_metric="p@1"),
     TypeError, "val_metric must be callable"),
    ("train_mapper-val_metric-alone", lambda: train(val_metric=lambda p, t: 0.0), ValueError,
     "val_metric needs X_val and Y_val"),
    ("train_mapper-lr", lambda: train(lr=-1e-3), ValueError, "lr must be > 0"),
    ("train_mapper-max_epochs", lambda: train(max_epochs=1.5), TypeError,
     "max_epochs must be an integer"),
    ("train_mapper-seed", lambda: train(seed=-1), ValueError, "seed must be at least 0"),
    ("train_mapper-progress", lambda: train(progress="no"), TypeError,
     "progress must be True or False"),
    ("train_mapper-device", lambda: train(device="tpu"), ValueError, "device must be"),
    ("resolve_device", lambda: resolve_device(3), ValueError, "device must be"),
    ("first_hidden_activations-width", lambda: first_hidden_activations(fitted_mlp(), X[:, :4]),
     ValueError, "X must have 5 columns"),
    ("first_hidden_activations-nan", lambda: first_hidden_activations(fitted_mlp(), nan(X)),
     ValueError, "X contains a non-finite"),
]


@pytest.mark.parametrize("case", NEURAL_CASES, ids=ids(NEURAL_CASES))
def test_neural_bad_inputs(case):
    _, call, error, pattern = case
    with pytest.raises(error, match=pattern) as info:
        call()
    assert issubclass(info.type, error) and re.search(pattern, str(info.value))


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------

P = torch.from_numpy(RNG.normal(size=(6, 4)))
T = torch.from_numpy(RNG.normal(size=(6, 4)))


def t_with(A, value, row=2, col=1):
    B = A.clone()
    B[row, col] = value
    return B


def _loss_cases(name, loss):
    cases = [
        (f"{name}-numpy", lambda: loss(P.numpy(), T), TypeError, "pred and target must be torch"),
        (f"{name}-int", lambda: loss(P.long(), T.long()), TypeError,
         "pred must hold floating-point"),
        (f"{name}-1d", lambda: loss(P[0], T[0]), ValueError, "pred (and target )?must be 2-D"),
        (f"{name}-columns", lambda: loss(P, T[:, :3]), ValueError, "pred and target"),
        (f"{name}-no-columns", lambda: loss(P[:, :0], T[:, :0]), ValueError,
         "pred must have at least one column"),
        (f"{name}-empty", lambda: loss(P[:0], T[:0]), ValueError, "pred and target .*at least"),
        (f"{name}-pred-nan", lambda: loss(t_with(P, float("nan")), T), ValueError,
         "pred contains NaN or inf"),
        (f"{name}-target-inf", lambda: loss(P, t_with(T, float("inf"))), ValueError,
         "target contains NaN or inf"),
        (f"{name}-dtypes", lambda: loss(P.float(), T), TypeError, "pred and target dtypes differ"),
    ]
    if name != "sinkhorn":  # sinkhorn compares clouds: row counts may differ
        cases.append((f"{name}-rows", lambda: loss(P, T[:5]), ValueError,
                      "pred and target shapes differ"))
    if name not in ("mse", "mae"):  # the cosine-based losses need directions
        cases.append((f"{name}-zero-target-row", lambda: loss(P, t_with(T, 0.0, col=slice(None))),
                      ValueError, "target row 2 is all zeros"))
    return cases


LOSS_CASES = [case for name, loss in LOSSES.items() for case in _loss_cases(name, loss)]
LOSS_CASES += [
    ("vmf-reg", lambda: LOSSES["vmf"](P, T, reg="l2"), ValueError, "reg must be one of"),
    ("vmf-lam-negative", lambda: LOSSES["vmf"](P, T, reg="kappa", lam=-1.0), ValueError,
     "lam must be >= 0"),
    ("vmf-lam-without-reg", lambda: LOSSES["vmf"](P, T, lam=0.1), ValueError, "lam is only used"),
    ("sinkhorn-epsilon-0", lambda: sinkhorn_loss(P, T, epsilon=0), ValueError,
     "epsilon must be > 0"),
    ("sinkhorn-epsilon-str", lambda: sinkhorn_loss(P, T, epsilon="0.1"), TypeError,
     "epsilon must be a number"),
    ("sinkhorn-n_iter-0", lambda: sinkhorn_loss(P, T, n_iter=0), ValueError,
     "n_iter must be at least 1"),
    ("sinkhorn-n_iter-float", lambda: sinkhorn_loss(P, T, n_iter=2.5), TypeError,
     "n_iter must be an integer"),
    ("sinkhorn-paired_weight", lambda: sinkhorn_loss(P, T, paired_weight=-1), ValueError,
     "paired_weight must be >= 0"),
    ("sinkhorn_plan-epsilon", lambda: sinkhorn_plan(P, T, epsilon=-1.0), ValueError,
     "epsilon must be > 0"),
    ("sinkhorn_plan-target-nan", lambda: sinkhorn_plan(P, t_with(T, float("nan"))), ValueError,
     "target contains NaN"),
    ("infonce-temperature-0", lambda: LOSSES["infonce"](P, T, temperature=0.0), ValueError,
     "temperature must be > 0"),
    ("infonce-temperature-str", lambda: LOSSES["infonce"](P, T, temperature="hot"), TypeError,
     "temperature must be a number"),
    ("csls-k-0", lambda: LOSSES["csls_margin"](P, T, csls_k=0), ValueError, "csls_k must be at least 1"),
    ("csls-k-float", lambda: LOSSES["csls_margin"](P, T, csls_k=2.5), TypeError,
     "csls_k must be an integer"),
    ("csls-margin-nan", lambda: LOSSES["csls_margin"](P, T, margin=float("nan")), ValueError,
     "margin must be finite"),
    ("csls-hardest", lambda: LOSSES["csls_margin"](P, T, hardest="yes"), TypeError,
     "hardest must be True or False"),
    ("csls-one-row", lambda: LOSSES["csls_margin"](P[:1], T[:1]), ValueError,
     "at least 2 rows"),
    ("log_bessel_iv-v-nan", lambda: log_bessel_iv(np.nan, 1.0), ValueError, "v must be finite"),
    ("log_bessel_iv-v-inf", lambda: log_bessel_iv(np.inf, 1.0), ValueError, "v must be finite"),
    ("log_bessel_iv-x-negative", lambda: log_bessel_iv(1.0, -1.0), ValueError, "x must be >= 0"),
    ("log_bessel_iv-x-str", lambda: log_bessel_iv(1.0, "2"), TypeError, "x must hold numbers"),
    ("log_bessel_iv-x-complex", lambda: log_bessel_iv(1.0, 1j), TypeError, "x must hold real"),
    ("log_bessel_iv-broadcast", lambda: log_bessel_iv(np.ones(2), np.ones(3)), ValueError,
     "v and x must broadcast"),
    ("log_vmf_normaliser-numpy", lambda: log_vmf_normaliser(np.ones(3), 4), TypeError,
     "kappa must be a torch tensor"),
    ("log_vmf_normaliser-int", lambda: log_vmf_normaliser(torch.ones(3, dtype=torch.long), 4),
     TypeError, "kappa must hold floating-point"),
    ("log_vmf_normaliser-m-1", lambda: log_vmf_normaliser(torch.ones(3), 1), ValueError,
     "m must be at least 2"),
    ("log_vmf_normaliser-m-float", lambda: log_vmf_normaliser(torch.ones(3), 2.5), TypeError,
     "m must be an integer"),
    ("log_vmf_normaliser-negative", lambda: log_vmf_normaliser(-torch.ones(3), 4), ValueError,
     "kappa must be finite and >= 0"),
    ("log_vmf_normaliser-nan", lambda: log_vmf_normaliser(torch.full((3,), float("nan")), 4),
     ValueError, "kappa must be finite"),
]


@pytest.mark.parametrize("case", LOSS_CASES, ids=ids(LOSS_CASES))
def test_loss_bad_inputs(case):
    _, call, error, pattern = case
    with pytest.raises(error, match=pattern) as info:
        call()
    assert issubclass(info.type, error) and re.search(pattern, str(info.value))


# ---------------------------------------------------------------------------
# isomorphism
# ---------------------------------------------------------------------------

G = nx.path_graph(5)

ISO_CASES = [
    ("knn_graph-one-row", lambda: knn_graph(X[:1], k=1), ValueError,
     "X must have at least 2 rows for a k-NN graph"),
    ("knn_graph-k-0", lambda: knn_graph(X, k=0), ValueError, "k must be at least 1"),
    ("knn_graph-k-big", lambda: knn_graph(X[:4], k=4), ValueError,
     r"k=4 is larger than the number of other rows \(3\) of X"),
    ("knn_graph-k-float", lambda: knn_graph(X, k=1.5), TypeError, "k must be an integer"),
    ("knn_graph-nan", lambda: knn_graph(nan(X)), ValueError, "X contains a non-finite"),
    ("knn_graph-zero-row", lambda: knn_graph(zero_row(X)), ValueError, "row 1 of X is all zeros"),
    ("knn_graph-1d", lambda: knn_graph(X[:, 0]), ValueError, "X must be a 2-D array"),
    ("knn_graph-strings", lambda: knn_graph(STRINGS), TypeError, "X must hold numbers"),
    ("knn_graph-empty", lambda: knn_graph(X[:0]), ValueError, "X must have at least 1 row"),
    ("knn_graph-chunk_size-0", lambda: knn_graph(X, chunk_size=0), ValueError,
     "chunk_size must be at least 1"),
    ("knn_graph-chunk_size-float", lambda: knn_graph(X, chunk_size=1.5), TypeError,
     "chunk_size must be an integer"),
    ("vf2-not-a-graph", lambda: vf2_isomorphic(G, np.eye(5)), TypeError,
     "G2 must be a networkx.Graph"),
    ("vf2-directed", lambda: vf2_isomorphic(nx.DiGraph([(0, 1)]), G), ValueError,
     "G1 must be an undirected simple"),
    ("vf2-timeout-0", lambda: vf2_isomorphic(G, G, timeout=0), ValueError, "timeout must be > 0"),
    ("vf2-timeout-str", lambda: vf2_isomorphic(G, G, timeout="1s"), TypeError,
     "timeout must be a number"),
    ("vf2-timeout-nan", lambda: vf2_isomorphic(G, G, timeout=np.nan), ValueError,
     "timeout must be finite"),
    ("prefix-rows", lambda: largest_isomorphic_prefix(X, Y[:-1], [10]), ValueError,
     "X and Y must have the same number of rows"),
    ("prefix-sizes-empty", lambda: largest_isomorphic_prefix(X, Y, []), ValueError,
     "sizes must contain at least one"),
    ("prefix-sizes-int", lambda: largest_isomorphic_prefix(X, Y, 10), TypeError,
     "sizes must be an iterable"),
    ("prefix-size-big", lambda: largest_isomorphic_prefix(X, Y, [31]), ValueError,
     r"size=31 is larger than the number of rows \(30\)"),
    ("prefix-size-float", lambda: largest_isomorphic_prefix(X, Y, [10.0]), TypeError,
     "size must be an integer"),
    ("prefix-k-0", lambda: largest_isomorphic_prefix(X, Y, [10], k=0), ValueError,
     "k must be at least 1"),
    ("prefix-timeout", lambda: largest_isomorphic_prefix(X, Y, [10], timeout=-1), ValueError,
     "timeout must be > 0"),
    ("prefix-Y-nan", lambda: largest_isomorphic_prefix(X, nan(Y), [10]), ValueError,
     "Y contains a non-finite"),
    ("laplacian-not-a-graph", lambda: laplacian_spectrum(np.eye(3)), TypeError,
     "graph must be a networkx.Graph"),
    ("laplacian-multigraph", lambda: laplacian_spectrum(nx.MultiGraph([(0, 1)])), ValueError,
     "graph must be an undirected simple"),
    ("spectral-k_fraction-0", lambda: spectral_distance(G, G, k_fraction=0), ValueError,
     "k_fraction must be > 0"),
    ("spectral-k_fraction-big", lambda: spectral_distance(G, G, k_fraction=1.5), ValueError,
     "k_fraction must be <= 1"),
    ("spectral-k_fraction-str", lambda: spectral_distance(G, G, k_fraction="all"), TypeError,
     "k_fraction must be a number"),
    ("spectral-nodes", lambda: spectral_distance(G, nx.path_graph(4)), ValueError,
     "graphs must have the same number of nodes"),
    ("spectral-no-edges", lambda: spectral_distance(G, nx.empty_graph(5)), ValueError,
     "both graphs need at least one edge"),
    ("spectral-not-a-graph", lambda: spectral_distance([(0, 1)], G), TypeError,
     "G1 must be a networkx.Graph"),
    ("spectral-return_k", lambda: spectral_distance(G, G, return_k="yes"), TypeError,
     "return_k must be True or False"),
    ("eigen-identical-rows", lambda: eigenvector_similarity(SAME, Y, n=10), ValueError,
     "row 0 of X points along the mean direction of X"),
    ("eigen-parallel-rows-Y", lambda: eigenvector_similarity(X, PARALLEL, n=10), ValueError,
     "row 0 of Y points along the mean direction of Y"),
    ("eigen-n-big", lambda: eigenvector_similarity(X, Y, n=31), ValueError,
     r"n=31 is larger than the number of rows"),
    ("eigen-n-1", lambda: eigenvector_similarity(X, Y, n=1), ValueError, "n must be at least 2"),
    ("eigen-n-float", lambda: eigenvector_similarity(X, Y, n=10.0), TypeError,
     "n must be an integer"),
    ("eigen-k_fraction", lambda: eigenvector_similarity(X, Y, n=10, k_fraction=1.5), ValueError,
     "k_fraction must be <= 1"),
    ("eigen-X-nan", lambda: eigenvector_similarity(nan(X), Y, n=10), ValueError,
     "X contains a non-finite"),
    ("eigen-zero-row", lambda: eigenvector_similarity(X, zero_row(Y), n=10), ValueError,
     "row 1 of Y is all zeros"),
    ("relational-identical-rows", lambda: relational_similarity(SAME, Y, n=10), ValueError,
     "all cosines between the first 10 rows of X are equal"),
    ("relational-parallel-rows", lambda: relational_similarity(X, PARALLEL, n=10), ValueError,
     "all cosines between the first 10 rows of Y are equal"),
    ("relational-constant-rows", lambda: relational_similarity(np.full((30, 5), 0.3), Y, n=10),
     ValueError, "rows of X are equal"),
    ("relational-n-2", lambda: relational_similarity(X, Y, n=2), ValueError,
     "n must be at least 3"),
    ("relational-zero-row", lambda: relational_similarity(zero_row(X), Y, n=10), ValueError,
     "row 1 of X is all zeros"),
    ("relational-Y-inf", lambda: relational_similarity(X, inf(Y), n=10), ValueError,
     "Y contains a non-finite"),
    ("rips-nan", lambda: rips_h0_deaths(nan(X)), ValueError, "X contains a non-finite"),
    ("rips-zero-row", lambda: rips_h0_deaths(zero_row(X)), ValueError, "row 1 of X is all zeros"),
    ("rips-1d", lambda: rips_h0_deaths(X[:, 0]), ValueError, "X must be a 2-D array"),
    ("rips-empty", lambda: rips_h0_deaths(X[:0]), ValueError, "X must have at least 1 row"),
    ("bottleneck-nan", lambda: bottleneck_distance([0.1, np.nan], [0.2]), ValueError,
     "deaths1 contains non-finite"),
    ("bottleneck-inf", lambda: bottleneck_distance([0.1], [np.inf]), ValueError,
     "deaths2 contains non-finite"),
    ("bottleneck-negative", lambda: bottleneck_distance([0.1], [-0.2]), ValueError,
     "deaths2 contains negative"),
    ("bottleneck-2d", lambda: bottleneck_distance(np.ones((2, 2)), [0.1]), ValueError,
     "deaths1 must be a 1-D array"),
    ("bottleneck-strings", lambda: bottleneck_distance(["0.1"], [0.2]), TypeError,
     "deaths1 must hold numbers"),
    ("gh-rows", lambda: gh_distance(X, Y[:-1], n=5), ValueError, "X and Y must have the same"),
    ("gh-n-big", lambda: gh_distance(X, Y, n=31), ValueError, "n=31 is larger than"),
    ("gh-n-1", lambda: gh_distance(X, Y, n=1), ValueError, "n must be at least 2"),
    ("gh-X-nan", lambda: gh_distance(nan(X), Y, n=5), ValueError, "X contains a non-finite"),
    ("table-pairs-list", lambda: isomorphism_table([(X, Y)]), TypeError,
     "pairs must be a non-empty dict"),
    ("table-pairs-empty", lambda: isomorphism_table({}), TypeError,
     "pairs must be a non-empty dict"),
    ("table-pair-not-tuple", lambda: isomorphism_table({"a": X}), TypeError,
     r"pairs\['a'\] must be a tuple \(X, Y\)"),
    ("table-n_eigen-0", lambda: isomorphism_table({"a": (X, Y)}, n_eigen=0), ValueError,
     "n_eigen must be at least 1"),
    ("table-k-float", lambda: isomorphism_table({"a": (X, Y)}, k=1.0), TypeError,
     "k must be an integer"),
    ("table-n_vf2_sizes-int", lambda: isomorphism_table({"a": (X, Y)}, n_vf2_sizes=10),
     TypeError, "n_vf2_sizes must be an iterable"),
]


@pytest.mark.parametrize("case", ISO_CASES, ids=ids(ISO_CASES))
def test_isomorphism_bad_inputs(case):
    _, call, error, pattern = case
    with pytest.raises(error, match=pattern) as info:
        call()
    assert issubclass(info.type, error) and re.search(pattern, str(info.value))


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------

WORDS = [f"w{i}" for i in range(30)]

DIAG_CASES = [
    ("value_summary-nan", lambda: value_summary(nan(X)), ValueError, "M contains a non-finite"),
    ("value_summary-empty", lambda: value_summary(X[:0]), ValueError, "M must have at least 1"),
    ("value_summary-1d", lambda: value_summary(X[:, 0]), ValueError, "M must be a 2-D array"),
    ("value_summary-strings", lambda: value_summary(STRINGS), TypeError, "M must hold numbers"),
    ("value_summary-name", lambda: value_summary(X, name=3), TypeError, "name must be a string"),
    ("random_pair_cosines-one-row", lambda: random_pair_cosines(X[:1]), ValueError,
     "M must have at least 2 row"),
    ("random_pair_cosines-zero-row", lambda: random_pair_cosines(zero_row(X)), ValueError,
     "row 1 of M is all zeros"),
    ("random_pair_cosines-nan", lambda: random_pair_cosines(nan(X)), ValueError,
     "M contains a non-finite"),
    ("random_pair_cosines-n_pairs-0", lambda: random_pair_cosines(X, n_pairs=0), ValueError,
     "n_pairs must be at least 1"),
    ("random_pair_cosines-n_pairs-float", lambda: random_pair_cosines(X, n_pairs=1e4), TypeError,
     "n_pairs must be an integer"),
    ("random_pair_cosines-seed", lambda: random_pair_cosines(X, seed=-1), ValueError,
     "seed must be at least 0"),
    ("nearest_words-words-length", lambda: nearest_words(X, WORDS[:-1], ["w0"]), ValueError,
     "words must be a list with one word per row of M"),
    ("nearest_words-queries-str", lambda: nearest_words(X, WORDS, "w0"), TypeError,
     "queries must be a list of words"),
    ("nearest_words-queries-empty", lambda: nearest_words(X, WORDS, []), ValueError,
     "queries must hold at least one word"),
    ("nearest_words-unknown", lambda: nearest_words(X, WORDS, ["zzz"]), KeyError, "zzz"),
    ("nearest_words-k-0", lambda: nearest_words(X, WORDS, ["w0"], k=0), ValueError,
     "k must be at least 1"),
    ("nearest_words-k-big", lambda: nearest_words(X, WORDS, ["w0"], k=30), ValueError,
     "k must be at most 29"),
    ("nearest_words-nan", lambda: nearest_words(nan(X), WORDS, ["w0"]), ValueError,
     "M contains a non-finite"),
    ("nearest_words-zero-row", lambda: nearest_words(zero_row(X), WORDS, ["w0"]), ValueError,
     "row 1 of M is all zeros"),
    ("overlap-rows", lambda: neighbour_overlap(X, Y[:-1], [0]), ValueError,
     "X and Y must have the same number of rows"),
    ("overlap-queries-float", lambda: neighbour_overlap(X, Y, [0.0, 1.5]), TypeError,
     "queries must hold integer row indices"),
    ("overlap-queries-range", lambda: neighbour_overlap(X, Y, [0, 30]), ValueError,
     r"queries must lie in \[0, 30\)"),
    ("overlap-queries-empty", lambda: neighbour_overlap(X, Y, []), ValueError,
     "queries must hold at least 1"),
    ("overlap-k-0", lambda: neighbour_overlap(X, Y, [0], k=0), ValueError, "k must be at least 1"),
    ("overlap-k-big", lambda: neighbour_overlap(X, Y, [0], k=30), ValueError,
     "k must be at most 29"),
    ("overlap-Y-nan", lambda: neighbour_overlap(X, nan(Y), [0]), ValueError,
     "Y contains a non-finite"),
    ("overlap-zero-row", lambda: neighbour_overlap(zero_row(X), Y, [0]), ValueError,
     "row 1 of X is all zeros"),
    ("mean_with_ci-empty", lambda: mean_with_ci([]), ValueError, "values must have at least 1"),
    ("mean_with_ci-nan", lambda: mean_with_ci([0.1, np.nan]), ValueError,
     "values contains a non-finite"),
    ("mean_with_ci-2d", lambda: mean_with_ci(X), ValueError, "values must be a 1-D sample"),
    ("mean_with_ci-strings", lambda: mean_with_ci(["a", "b"]), TypeError,
     "values must hold numbers"),
    ("mean_with_ci-n_boot", lambda: mean_with_ci([0.1, 0.2], n_boot=0), ValueError,
     "n_boot must be at least 1"),
    ("mean_with_ci-level-1", lambda: mean_with_ci([0.1, 0.2], level=1.0), ValueError,
     "level must be < 1"),
    ("mean_with_ci-level-95", lambda: mean_with_ci([0.1, 0.2], level=95), ValueError,
     "level must be < 1"),
    ("mean_with_ci-seed", lambda: mean_with_ci([0.1, 0.2], seed=1.5), TypeError,
     "seed must be an integer"),
    ("duplicate_rows-nan", lambda: duplicate_rows(nan(Y)), ValueError, "M contains a non-finite"),
    ("duplicate_rows-inf", lambda: duplicate_rows(np.full((3, 2), np.inf)), ValueError,
     "M contains a non-finite"),
    ("duplicate_rows-empty", lambda: duplicate_rows(Y[:0]), ValueError, "M must have at least 1"),
    ("duplicate_rows-1d", lambda: duplicate_rows(Y[:, 0]), ValueError, "M must be a 2-D array"),
    ("duplicate_rows-gold-range", lambda: duplicate_rows(Y, gold=[0, 30]), ValueError,
     r"gold must lie in \[0, 30\)"),
    ("duplicate_rows-gold-float", lambda: duplicate_rows(Y, gold=[0.5]), TypeError,
     "gold must hold integer row indices"),
    ("duplicate_rows-gold-empty", lambda: duplicate_rows(Y, gold=[]), ValueError,
     "gold must hold at least one row"),
]


@pytest.mark.parametrize("case", DIAG_CASES, ids=ids(DIAG_CASES))
def test_diagnostics_bad_inputs(case):
    _, call, error, pattern = case
    with pytest.raises(error, match=pattern) as info:
        call()
    assert issubclass(info.type, error) and re.search(pattern, str(info.value))


# ---------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------


def paired(**changes):
    """A valid 30-word pair, with some fields replaced."""
    fields = {"words": list(WORDS), "X": X.astype(np.float32), "Y": Y.astype(np.float32),
              "train": np.arange(20), "val": np.arange(20, 25), "test": np.arange(25, 30),
              "edges": np.array([[0, 1], [1, 2]])}
    return PairedEmbeddings(**{**fields, **changes})


def reassigned_float_edges():
    pair = paired()
    pair.edges = np.array([[0.0, 1.7]])
    return pair.graph


DATA_CASES = [
    ("pair-edges-float", lambda: paired(edges=np.array([[0.0, 1.7], [2.0, 3.0]])), TypeError,
     "edges must hold integer row indices"),
    ("pair-edges-range", lambda: paired(edges=np.array([[0, 30]])), ValueError,
     r"edges must lie in \[0, 30\)"),
    ("pair-edges-shape", lambda: paired(edges=np.array([[0, 1, 2]])), ValueError,
     r"edges must be an array of shape \(m, 2\)"),
    ("pair-graph-reassigned-float-edges", reassigned_float_edges, TypeError,
     "edges must hold integer"),
    ("pair-words-duplicate", lambda: paired(words=WORDS[:-1] + ["w0"]), ValueError,
     "words must be unique.*'w0' appears twice"),
    ("pair-words-str", lambda: paired(words="abc"), TypeError, "words must be a list of strings"),
    ("pair-words-not-str", lambda: paired(words=list(range(30))), TypeError,
     "words must be strings"),
    ("pair-words-empty", lambda: paired(words=[]), ValueError, "words must hold at least one"),
    ("pair-X-rows", lambda: paired(X=X[:-1]), ValueError, r"X must have one row per word \(30\)"),
    ("pair-Y-nan", lambda: paired(Y=nan(Y)), ValueError, "Y contains a non-finite"),
    ("pair-X-strings", lambda: paired(X=STRINGS), TypeError, "X must hold numbers"),
    ("pair-Y_alt-rows", lambda: paired(Y_alt=Y[:5]), ValueError, "Y_alt must have one row per"),
    ("pair-train-test-overlap", lambda: paired(test=np.arange(15, 30)), ValueError,
     "train and test must be disjoint"),
    ("pair-train-range", lambda: paired(train=np.arange(25, 31)), ValueError,
     r"train must lie in \[0, 30\)"),
    ("pair-val-float", lambda: paired(val=np.array([20.0, 21.0])), TypeError,
     "val must hold integer row indices"),
    ("pair-freq_rank", lambda: paired(freq_rank=np.arange(5)), ValueError,
     "freq_rank must be an integer array of shape"),
    ("pair-X_oog-width", lambda: paired(oog_words=["z"], X_oog=np.ones((1, 4))), ValueError,
     "X_oog must have X's 5 columns"),
    ("pair-X_oog-rows", lambda: paired(oog_words=["z"], X_oog=np.ones((2, 5))), ValueError,
     r"X_oog must have one row per word \(1\)"),
    ("pair-seed", lambda: paired(seed=-1), ValueError, "seed must be at least 0"),
    ("resplit-seed-float", lambda: paired().resplit(1.5), TypeError, "seed must be an integer"),
    ("resplit-val_fraction-1", lambda: paired().resplit(1, val_fraction=1.0), ValueError,
     "val_fraction must be < 1"),
    ("resplit-test_fraction-0", lambda: paired().resplit(1, test_fraction=0.0), ValueError,
     "test_fraction must be > 0"),
    ("resplit-test_fraction-str", lambda: paired().resplit(1, test_fraction="0.1"), TypeError,
     "test_fraction must be a number"),
    ("resplit-sum", lambda: paired().resplit(1, val_fraction=0.5, test_fraction=0.5), ValueError,
     "val_fraction \\+ test_fraction must be < 1"),
    ("head-small", lambda: paired().head(5), ValueError, "n must be at least 10"),
    ("head-big", lambda: paired().head(31), ValueError, "n must be at most 30"),
    ("head-float", lambda: paired().head(20.0), TypeError, "n must be an integer"),
    ("split-n-0", lambda: split_indices(0), ValueError, "n must be at least 2"),
    ("split-n-float", lambda: split_indices(10.0), TypeError, "n must be an integer"),
    ("split-no-test-rows", lambda: split_indices(4, test_fraction=0.1), ValueError,
     "test_fraction=0.1 of n=4 rows rounds to 0 test rows"),
    ("split-seed", lambda: split_indices(10, seed=-3), ValueError, "seed must be at least 0"),
    ("split-no-train-rows", lambda: split_indices(3, val_fraction=0.4, test_fraction=0.5),
     ValueError, "leave no training rows"),
    ("load_dataset-data_dir-int", lambda: load_dataset(data_dir=3), TypeError,
     "data_dir must be a path"),
]


@pytest.mark.parametrize("case", DATA_CASES, ids=ids(DATA_CASES))
def test_datasets_bad_inputs(case):
    _, call, error, pattern = case
    with pytest.raises(error, match=pattern) as info:
        call()
    assert issubclass(info.type, error) and re.search(pattern, str(info.value))


def test_load_dataset_bad_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir .* does not exist"):
        load_dataset(data_dir=tmp_path / "nowhere")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match="data_dir .* is a file, not a folder"):
        load_dataset(data_dir=a_file)
    with pytest.raises(FileNotFoundError, match="lacks"):
        load_dataset(data_dir=tmp_path)


def test_read_edges_bad_line(tmp_path):
    path = tmp_path / "edges.tsv"
    path.write_text("w0\tw1\nw2 w3 w4\n")
    with pytest.raises(ValueError, match="line 2: expected 2 columns of words, got 3"):
        read_edges(path, {w: i for i, w in enumerate(WORDS)})
    path.write_text("w0\tw1\nw2 nowhere\n")
    with pytest.raises(ValueError, match="line 2: 'w2 nowhere' names an unknown word 'nowhere'"):
        read_edges(path, {w: i for i, w in enumerate(WORDS)})


# ---------------------------------------------------------------------------
# valid edge cases: still accepted, still right
# ---------------------------------------------------------------------------


def test_knn_graph_of_two_rows_is_one_edge():
    graph = knn_graph(X[:2], k=1)
    assert sorted(graph.edges()) == [(0, 1)]


def test_identical_spaces_score_exactly():
    # Distinct rows: identical spaces have Delta = 0, r = 1 and GH proxy 0.
    assert eigenvector_similarity(X, X, n=30) == 0.0
    assert relational_similarity(X, 3.0 * X, n=30) == pytest.approx(1.0, abs=1e-12)
    assert gh_distance(X, X, n=30) == 0.0


def test_a_few_duplicated_rows_are_still_fine():
    # Duplicates among distinct rows are data, not degeneracy: only a space whose
    # rows all point one way is refused.
    Z = X.copy()
    Z[1] = Z[0]
    r = relational_similarity(Z, Z, n=30)
    assert r == pytest.approx(1.0, abs=1e-12)


def test_knn_with_k_equal_to_n_and_uniform_weights_is_the_mean():
    model = KNNRegressionMap(n_neighbors=30, weights="uniform").fit(X, Y)
    np.testing.assert_allclose(model.predict(X[:3]), np.tile(Y.mean(axis=0), (3, 1)), atol=1e-6)


def test_knn_on_huge_float32_rows_keeps_their_direction():
    # ||x|| overflows float32 at |x| ~ 1e20; the direction must survive.
    model = KNNRegressionMap(n_neighbors=3).fit(X, Y)
    big = X[:4].astype(np.float32) * np.float32(1e20)
    np.testing.assert_allclose(model.predict(big), model.predict(X[:4]), rtol=1e-5)


def test_random_pair_cosines_on_huge_rows_match_scaled_rows():
    small = random_pair_cosines(X, n_pairs=50)
    huge = random_pair_cosines(X * 1e25, n_pairs=50)
    np.testing.assert_allclose(huge, small, atol=1e-6)


def test_ridgecv_with_three_rows_and_one_dimensional_y_val():
    model = RidgeHoldoutMap(alphas=(0.1, 1.0)).fit(X[:3], Y[:3, 0])
    assert model.alpha_ in (0.1, 1.0) and model.predict(X[:2]).shape == (2,)
    # An explicit 1-D validation target for a 1-D Y is accepted too.
    model = RidgeHoldoutMap(alphas=(1e-6, 1e6)).fit(X, X @ np.ones(5), X_val=X, Y_val=X @ np.ones(5))
    assert model.alpha_ == 1e-6  # the exact linear relation needs no penalty


def test_split_indices_smallest_valid_split():
    train, val, test = split_indices(2, val_fraction=0.0, test_fraction=0.5)
    assert len(train) == 1 and len(val) == 0 and len(test) == 1
    assert sorted(np.concatenate([train, test]).tolist()) == [0, 1]


def test_paired_embeddings_keeps_int_edges_and_float64_values():
    pair = paired(X=X)  # float64 stays float64: no rounding of valid input
    assert pair.X.dtype == np.float64 and np.array_equal(pair.X, X)
    assert sorted(pair.graph.edges()) == [(0, 1), (1, 2)]
    assert paired(edges=np.zeros((0, 2))).edges.shape == (0, 2)  # no edges is fine


def test_losses_on_a_single_row_batch():
    pred, target = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 2.0]])
    assert float(LOSSES["mse"](pred, target)) == pytest.approx(0.5)
    assert float(LOSSES["cosine"](pred, target)) == pytest.approx(1 - 2 / np.sqrt(5))
    # A zero *prediction* is allowed (a network can output one): cosine 0.
    assert float(LOSSES["cosine"](torch.zeros(1, 2), target)) == pytest.approx(1.0)


def test_log_bessel_iv_accepts_integer_arrays():
    np.testing.assert_allclose(log_bessel_iv(np.array([0, 1]), 2), np.log([2.2795853, 1.5906369]),
                               rtol=1e-6)
