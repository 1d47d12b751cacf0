"""Tests for embmap.neural: the MLP mapper, its training loop, and the sklearn wrappers."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import r2_score

from embmap.losses import LOSSES
from embmap.neural import (
    KNNRegressionMap,
    MLPMap,
    MLPMapper,
    resolve_device,
    train_mapper,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def tanh_data():
    """Y = tanh(X A) B: a smooth non-linear map that a linear fit captures only partly."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 10)).astype(np.float32)
    A = rng.normal(size=(10, 10)) * 2 / np.sqrt(10)
    B = rng.normal(size=(10, 10))
    Y = (np.tanh(X @ A) @ B).astype(np.float32)
    return X[:1500], Y[:1500], X[1500:], Y[1500:]


def _linear_r2(X_tr, Y_tr, X_te, Y_te):
    A = np.hstack([X_tr, np.ones((len(X_tr), 1))])
    coef, *_ = np.linalg.lstsq(A, Y_tr, rcond=None)
    return r2_score(Y_te, np.hstack([X_te, np.ones((len(X_te), 1))]) @ coef)


# --------------------------------------------------------------------------- learning


def test_mlp_learns_nonlinear_map_better_than_linear(tanh_data):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    linear = _linear_r2(X_tr, Y_tr, X_te, Y_te)
    mlp = MLPMap(hidden=(64,), activation="tanh", lr=3e-3, batch_size=64, max_epochs=25,
                 device="cpu").fit(X_tr, Y_tr)
    r2 = mlp.score(X_te, Y_te)
    assert linear < 0.87
    assert r2 > 0.95
    assert r2 - linear > 0.08


def test_residual_mlp_improves_on_its_linear_start(tanh_data):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    linear = _linear_r2(X_tr, Y_tr, X_te, Y_te)
    mlp = MLPMap(hidden=(64,), residual=True, lr=1e-2, batch_size=64, max_epochs=10,
                 device="cpu").fit(X_tr, Y_tr)
    assert mlp.score(X_te, Y_te) > linear + 0.08


def test_training_is_deterministic_for_a_seed(tanh_data):
    X_tr, Y_tr, X_te, _ = tanh_data
    params = {"hidden": (16,), "dropout": 0.2, "batch_size": 100, "max_epochs": 3, "device": "cpu"}
    a = MLPMap(seed=7, **params).fit(X_tr, Y_tr).predict(X_te)
    b = MLPMap(seed=7, **params).fit(X_tr, Y_tr).predict(X_te)
    c = MLPMap(seed=8, **params).fit(X_tr, Y_tr).predict(X_te)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_fit_does_not_touch_global_rng(tanh_data):
    X_tr, Y_tr, _, _ = tanh_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPMap(hidden=(8,), dropout=0.1, max_epochs=1, device="cpu").fit(X_tr[:200], Y_tr[:200])
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_named_loss_trains_towards_the_targets(tanh_data, loss):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    # Scale-free losses only fix directions, so judge all of them by cosine.
    mlp = MLPMap(hidden=(32,), loss=loss, lr=3e-3, batch_size=64, max_epochs=4, device="cpu")
    mlp.fit(X_tr[:600], Y_tr[:600])
    hist = mlp.history_
    assert np.all(np.isfinite(hist["train_loss"]))
    assert hist["val_cosine"][-1] > hist["val_cosine"][0] or max(hist["val_cosine"]) > 0.5
    pred = mlp.predict(X_te)
    cos = np.sum(pred * Y_te, 1) / np.linalg.norm(pred, axis=1) / np.linalg.norm(Y_te, axis=1)
    # The "sinkhorn" loss ignores pairing, so only require it to be finite.
    if loss != "sinkhorn":
        assert cos.mean() > 0.5, loss


# --------------------------------------------------------------------------- residual init


@pytest.mark.parametrize("init", ["default", "uniform", "xavier", "kaiming"])
@pytest.mark.parametrize("output_activation", [None, "tanh"])
def test_residual_init_reproduces_linear_map(init, output_activation):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(10, 6)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    X = rng.normal(size=(50, 10)).astype(np.float32)
    model = MLPMapper(10, 6, hidden=(32, 16), init=init, output_activation=output_activation,
                      residual_init=W, residual_bias=b)
    with torch.no_grad():
        out = model(torch.from_numpy(X)).numpy()
    expected = X.astype(np.float64) @ W + b
    assert np.abs(out - expected).max() < 1e-5 * np.abs(expected).max()
    assert np.abs(out - expected).max() < 1e-5


def test_residual_init_without_bias_exact():
    W = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=np.float32)
    model = MLPMapper(2, 2, hidden=(4,), residual_init=W)
    x = torch.tensor([[1.0, 1.0], [0.5, -2.0]])
    with torch.no_grad():
        out = model(x).numpy()
    np.testing.assert_allclose(out, [[4.0, 1.0], [-5.5, 3.0]], atol=1e-6)


def test_mlpmap_residual_with_zero_epochs_is_least_squares(tanh_data):
    X_tr, Y_tr, X_te, _ = tanh_data
    mlp = MLPMap(hidden=(16,), residual=True, max_epochs=0, val_fraction=0.0,
                 device="cpu").fit(X_tr, Y_tr)
    A = np.hstack([X_tr, np.ones((len(X_tr), 1))]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(A, Y_tr.astype(np.float64), rcond=None)
    expected = np.hstack([X_te, np.ones((len(X_te), 1))]) @ coef
    assert np.abs(mlp.predict(X_te) - expected).max() < 1e-5
    assert mlp.history_["epoch"] == []


def test_frozen_residual_keeps_linear_weights(tanh_data):
    X_tr, Y_tr, _, _ = tanh_data
    W = np.linalg.lstsq(X_tr, Y_tr, rcond=None)[0]
    model = MLPMapper(10, 10, hidden=(8,), residual_init=W, residual_trainable=False)
    train_mapper(model, X_tr[:300], Y_tr[:300], max_epochs=2, progress=False)
    np.testing.assert_array_equal(model.residual.weight.detach().numpy(), W.T.astype(np.float32))


# --------------------------------------------------------------------------- training loop


def test_early_stopping_restores_best_weights(tanh_data):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    seen = []
    scores = iter([1.0, 3.0, 2.0, 0.5, 2.5, 1.0])  # best at epoch 2, then no new best

    def metric(pred, y):  # records each epoch's validation predictions
        seen.append(pred.copy())
        return next(scores)

    model = MLPMapper(10, 10, hidden=(16,))
    hist = train_mapper(model, X_tr[:300], Y_tr[:300], X_te, Y_te, lr=1e-2, max_epochs=6,
                        patience=10, val_metric=metric, progress=False)
    assert hist["improved"] == [True, True, False, False, False, False]
    with torch.no_grad():
        restored = model(torch.from_numpy(X_te)).numpy()
    np.testing.assert_array_equal(restored, seen[1])
    assert np.abs(seen[-1] - seen[1]).max() > 1e-3  # training did move on after epoch 2
    assert set(hist) == {"epoch", "train_loss", "val_loss", "val_cosine", "val_metric",
                         "seconds", "improved"}


def test_restored_model_has_the_minimum_validation_loss(tanh_data):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    model = MLPMapper(10, 10, hidden=(16,))
    hist = train_mapper(model, X_tr[:300], Y_tr[:300], X_te, Y_te, lr=1e-2, max_epochs=5,
                        progress=False)
    with torch.no_grad():
        val = float(((model(torch.from_numpy(X_te)) - torch.from_numpy(Y_te)) ** 2).mean())
    assert val == pytest.approx(min(hist["val_loss"]), rel=1e-5)
    assert set(hist) == {"epoch", "train_loss", "val_loss", "val_cosine", "seconds", "improved"}


def test_patience_with_constant_metric_stops_after_patience_epochs(tanh_data):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    model = MLPMapper(10, 10, hidden=(8,))
    hist = train_mapper(model, X_tr[:200], Y_tr[:200], X_te[:100], Y_te[:100], max_epochs=50,
                        patience=3, val_metric=lambda pred, y: 1.0, progress=False)
    # Epoch 1 improves on -inf; epochs 2-4 do not; stop.
    assert hist["epoch"] == [1, 2, 3, 4]
    assert hist["improved"] == [True, False, False, False]
    assert hist["val_metric"] == [1.0] * 4


def test_without_validation_monitors_training_loss(tanh_data):
    X_tr, Y_tr, _, _ = tanh_data
    hist = train_mapper(MLPMapper(10, 10, hidden=(8,)), X_tr[:201], Y_tr[:201], max_epochs=2,
                        batch_size=50, progress=False)
    assert np.isnan(hist["val_loss"]).all() and len(hist["train_loss"]) == 2


def test_train_mapper_input_errors(tanh_data):
    X_tr, Y_tr, _, _ = tanh_data
    model = MLPMapper(10, 10, hidden=(8,))
    with pytest.raises(ValueError, match="rows"):
        train_mapper(model, X_tr[:10], Y_tr[:9], progress=False)
    with pytest.raises(ValueError, match="unknown loss"):
        train_mapper(model, X_tr[:10], Y_tr[:10], loss="hinge", progress=False)
    with pytest.raises(ValueError, match="both"):
        train_mapper(model, X_tr[:10], Y_tr[:10], X_val=X_tr[:5], progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train_mapper(model, X_tr[:10], Y_tr[:10], batch_size=0, progress=False)


def test_init_schemes_match_their_definitions():
    torch.manual_seed(0)
    model = MLPMapper(200, 100, hidden=(300,), init="uniform")
    w, b_first, b_last = (t.detach() for t in (model.mlp[0].weight, model.mlp[0].bias,
                                               model.mlp[-2].bias))
    assert 0.049 < float(w.abs().max()) <= 0.05  # Keras RandomUniform(-0.05, 0.05)
    assert float(w.std()) == pytest.approx(0.05 / np.sqrt(3), rel=0.02)
    assert float(b_first.abs().max()) == 0.0 and float(b_last.abs().max()) == 0.0
    xavier = MLPMapper(200, 100, hidden=(300,), init="xavier").mlp[0].weight.detach()
    bound = np.sqrt(6 / (200 + 300))  # Glorot uniform: fan_in + fan_out
    assert float(xavier.abs().max()) <= bound and float(xavier.abs().max()) > 0.98 * bound
    kaiming = MLPMapper(200, 100, hidden=(300,), init="kaiming").mlp[0].weight.detach()
    assert float(kaiming.abs().max()) == pytest.approx(np.sqrt(6 / 200), rel=0.02)  # He: fan_in


def test_mlpmapper_parameter_errors():
    with pytest.raises(ValueError, match="activation"):
        MLPMapper(3, 2, activation="sigmoid")
    with pytest.raises(TypeError, match="hidden"):
        MLPMapper(3, 2, hidden=64)
    with pytest.raises(ValueError, match="init"):
        MLPMapper(3, 2, init="orthogonal")
    with pytest.raises(ValueError, match="shape"):
        MLPMapper(3, 2, residual_init=np.zeros((2, 3)))


def test_resolve_device_auto_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError):
        resolve_device("cuda")
    with pytest.raises(ValueError):
        resolve_device("tpu")


# --------------------------------------------------------------------------- sklearn conventions


def test_mlpmap_sklearn_conventions(tanh_data):
    X_tr, Y_tr, X_te, _ = tanh_data
    est = MLPMap(hidden=(8, 4), loss="cosine", max_epochs=2, device="cpu")
    params = est.get_params()
    assert params["hidden"] == (8, 4) and params["loss"] == "cosine"
    twin = clone(est)
    assert twin.get_params() == params and twin is not est
    assert est.set_params(lr=0.01).lr == 0.01
    assert not hasattr(est, "model_")
    est.fit(X_tr[:300], Y_tr[:300])
    pred = est.predict(X_te)
    assert pred.dtype == np.float32 and pred.shape == (len(X_te), 10)
    assert est.n_features_in_ == 10 and est.training_seconds_ > 0
    assert not hasattr(clone(est), "model_")
    with pytest.raises(ValueError, match="features"):
        est.predict(X_te[:, :5])


def test_mlpmap_explicit_validation_set(tanh_data):
    X_tr, Y_tr, X_te, Y_te = tanh_data
    est = MLPMap(hidden=(8,), max_epochs=2, device="cpu").fit(X_tr[:300], Y_tr[:300], X_val=X_te, Y_val=Y_te)
    with torch.no_grad():
        restored = est.predict(X_te)
    assert np.mean((restored - Y_te) ** 2) == pytest.approx(min(est.history_["val_loss"]), rel=1e-5)


def test_knn_one_neighbour_returns_training_targets():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(300, 8)), rng.normal(size=(300, 5))
    knn = KNNRegressionMap(n_neighbors=1, chunk_size=64).fit(X, Y)
    np.testing.assert_allclose(knn.predict(X), Y, rtol=1e-6)


def test_knn_weights_hand_computed():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    Y = np.array([[1.0], [3.0], [100.0]])
    q = np.array([[3.0, 1.0]])  # cosines 0.949, 0.316, -0.949
    s1, s2 = 3 / np.sqrt(10), 1 / np.sqrt(10)
    uniform = KNNRegressionMap(n_neighbors=2, weights="uniform").fit(X, Y).predict(q)
    similarity = KNNRegressionMap(n_neighbors=2).fit(X, Y).predict(q)
    softmax = KNNRegressionMap(n_neighbors=2, weights="softmax", temperature=0.5).fit(X, Y)
    w = np.exp(np.array([s1, s2]) / 0.5)
    assert uniform[0, 0] == pytest.approx(2.0)
    assert similarity[0, 0] == pytest.approx((s1 * 1 + s2 * 3) / (s1 + s2), rel=1e-6)
    assert softmax.predict(q)[0, 0] == pytest.approx((w[0] + 3 * w[1]) / w.sum(), rel=1e-6)
    # The third neighbour is dissimilar: its weight is clipped to zero.
    all3 = KNNRegressionMap(n_neighbors=3).fit(X, Y).predict(q)
    assert all3[0, 0] == pytest.approx(similarity[0, 0], rel=1e-6)


def test_knn_chunking_and_clone():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(200, 6)), rng.normal(size=(200, 3))
    Q = rng.normal(size=(77, 6))
    a = KNNRegressionMap(n_neighbors=5, chunk_size=10).fit(X, Y).predict(Q)
    b = KNNRegressionMap(n_neighbors=5, chunk_size=1000).fit(X, Y).predict(Q)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    est = KNNRegressionMap(n_neighbors=4, weights="softmax", temperature=0.1)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(ValueError, match="n_neighbors"):
        KNNRegressionMap(n_neighbors=500).fit(X, Y)
    with pytest.raises(ValueError, match="weights"):
        KNNRegressionMap(weights="distance").fit(X, Y)


def test_first_hidden_activations_show_tanh_saturation():
    import numpy as np

    from embmap.neural import MLPMap, first_hidden_activations

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    Y = X[:, :2].copy()
    model = MLPMap(hidden=(16,), activation="tanh", max_epochs=1, device="cpu").fit(X, Y)
    small = first_hidden_activations(model, X * 0.01)
    large = first_hidden_activations(model, X * 100)
    assert small.shape == (200, 16)
    # tiny inputs stay in tanh's linear range, huge inputs saturate at +-1
    assert np.mean(np.abs(small) > 0.99) == 0.0
    assert np.mean(np.abs(large) > 0.99) > 0.8


# --------------------------------------------------------------------------- training for retrieval


def test_softmax_over_all_targets_learns_to_retrieve():
    """A linear map trained with the all-target softmax finds a hidden rotation's targets."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 8)).astype(np.float32)
    Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    Y = (X @ Q).astype(np.float32)
    model = MLPMapper(8, 8, hidden=())
    train_mapper(model, X[:500], Y[:500], loss="softmax_all", lr=1e-2, batch_size=100,
                 max_epochs=60, progress=False)
    with torch.no_grad():
        pred = model(torch.from_numpy(X[500:])).numpy()
    unit = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)
    nearest = np.argmax(unit(pred) @ unit(Y[500:]).T, axis=1)
    assert np.mean(nearest == np.arange(100)) > 0.95


def test_weight_decay_shrinks_weights_by_adamw_factor(tanh_data):
    """With a zero gradient Adam does not move; AdamW multiplies by (1 - lr * wd) each step."""
    X_tr, Y_tr, _, _ = tanh_data
    torch.manual_seed(0)
    model = MLPMapper(10, 10, hidden=(4,))
    before = [p.detach().clone() for p in model.parameters()]
    zero = lambda pred, target: (pred * 0.0).sum()
    train_mapper(model, X_tr[:300], Y_tr[:300], loss=zero, lr=0.1, weight_decay=0.5,
                 batch_size=100, max_epochs=1, progress=False)
    factor = (1 - 0.1 * 0.5) ** 3  # 3 batches in one epoch (more epochs restore the first: no gain)
    for b, a in zip(before, model.parameters()):
        torch.testing.assert_close(a.detach(), b * factor, rtol=1e-5, atol=1e-7)
    untouched = MLPMapper(10, 10, hidden=(4,))
    start = [p.detach().clone() for p in untouched.parameters()]
    train_mapper(untouched, X_tr[:300], Y_tr[:300], loss=zero, lr=0.1, batch_size=100,
                 max_epochs=1, progress=False)
    for b, a in zip(start, untouched.parameters()):
        torch.testing.assert_close(a.detach(), b)


def test_early_stopping_on_p_at_10_records_the_restored_models_score(tanh_data):
    X_tr, Y_tr, X_va, Y_va = tanh_data
    mlp = MLPMap(hidden=(32,), loss="softmax_all", early_stopping="p@10", lr=3e-3,
                 batch_size=100, max_epochs=6, patience=2, device="cpu")
    mlp.fit(X_tr, Y_tr, X_val=X_va, Y_val=Y_va)
    # candidates: every training and validation target; gold: the validation word's own
    candidates = np.vstack([Y_tr, Y_va])
    unit = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)
    S = unit(mlp.predict(X_va)) @ unit(candidates).T
    gold = S[np.arange(len(Y_va)), len(Y_tr) + np.arange(len(Y_va))]
    p10 = np.mean((S >= gold[:, None]).sum(axis=1) <= 10)
    assert max(mlp.history_["val_metric"]) == pytest.approx(p10, abs=1e-12)
    assert 0.05 < p10  # chance is 10 / 2000


def test_retrieval_training_parameter_errors(tanh_data):
    X_tr, Y_tr, _, _ = tanh_data
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        train_mapper(MLPMapper(10, 10, hidden=(4,)), X_tr[:20], Y_tr[:20], weight_decay=-1.0,
                     progress=False)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPMap(early_stopping="p@5", max_epochs=1).fit(X_tr[:20], Y_tr[:20])
    with pytest.raises(ValueError, match="early_stopping='p@10' needs validation rows"):
        MLPMap(early_stopping="p@10", val_fraction=0.0, max_epochs=1).fit(X_tr[:20], Y_tr[:20])
    with pytest.raises(ValueError, match="softmax_all"):
        train_mapper(MLPMapper(10, 10, hidden=(4,)), X_tr[:20], Y_tr[:20], loss="softmax",
                     progress=False)
