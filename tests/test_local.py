"""Tests for embmap.local: known answers and brute-force references for every local map."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from embmap.evaluation import retrieve
from embmap.linear import LeastSquares
from embmap.local import (
    AttentionMap,
    GraphDiffusionKNNMap,
    ResidualKNNMap,
    SoftmaxKNNMap,
    TwoDirectionRetrieval,
    mapped_sources,
    nearest_neighbours,
    neighbour_mean_oracle,
    neighbour_weights,
    training_edges,
)
from embmap.neural import KNNRegressionMap
from embmap.retrieval import unit_rows

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    Y = np.tanh(X @ rng.normal(size=(8, 6))).astype(np.float32)
    return X, Y


def _dense_softmax_knn(Xq, Xk, Yk, k, T, exclude=None):
    S = unit_rows(Xq).astype(np.float64) @ unit_rows(Xk).T.astype(np.float64)
    if exclude is not None:
        S[np.arange(len(S)), exclude] = -np.inf
    out = np.empty((len(Xq), Yk.shape[1]))
    for i, row in enumerate(S):
        idx = np.argsort(-row)[:k]
        w = np.exp((row[idx] - row[idx].max()) / T)
        out[i] = (w / w.sum()) @ Yk[idx]
    return out


# --------------------------------------------------------------------------- neighbours, kNN


def test_nearest_neighbours_match_brute_force_and_exclude(data):
    X, _ = data
    idx, sims = nearest_neighbours(X[:50], X, 5, chunk_size=7)
    S = unit_rows(X[:50]) @ unit_rows(X).T
    np.testing.assert_array_equal(idx, np.argsort(-S, axis=1)[:, :5])
    np.testing.assert_allclose(sims, np.sort(S, axis=1)[:, ::-1][:, :5], atol=1e-6)
    assert np.all(idx[:, 0] == np.arange(50))  # each row is its own nearest
    idx_loo, _ = nearest_neighbours(X[:50], X, 5, exclude=np.arange(50))
    np.testing.assert_array_equal(idx_loo, np.argsort(-S, axis=1)[:, 1:6])


def test_softmax_knn_equals_neural_knn_and_brute_force(data):
    X, Y = data
    ours = SoftmaxKNNMap(n_neighbors=7, temperature=0.1, chunk_size=33).fit(X[:250], Y[:250])
    theirs = KNNRegressionMap(n_neighbors=7, weights="softmax", temperature=0.1).fit(X[:250], Y[:250])
    np.testing.assert_allclose(ours.predict(X[250:]), theirs.predict(X[250:]), atol=1e-5)
    np.testing.assert_allclose(ours.predict(X[250:]),
                               _dense_softmax_knn(X[250:], X[:250], Y[:250], 7, 0.1), atol=1e-5)


def test_leave_one_out_equals_refit_without_the_row(data):
    X, Y = data
    model = SoftmaxKNNMap(n_neighbors=5, temperature=0.05).fit(X, Y)
    loo = model.predict_training()
    for i in (0, 17, 299):
        keep = np.delete(np.arange(len(X)), i)
        refit = SoftmaxKNNMap(n_neighbors=5, temperature=0.05).fit(X[keep], Y[keep])
        np.testing.assert_allclose(loo[i], refit.predict(X[i : i + 1])[0], atol=1e-5)
    # mapped_sources: LOO for training rows, plain predict for the rest
    full = np.vstack([X, X[:3] + 0.01])
    src = mapped_sources(model, full, np.arange(len(X)))
    np.testing.assert_allclose(src[: len(X)], loo)
    np.testing.assert_allclose(src[len(X) :], model.predict(full[len(X) :]))


def test_refit_replaces_the_stored_keys(data):
    # fit keeps the keys transposed for speed: a second fit on other rows of the same
    # shape must predict from the new rows, exactly as a fresh model does
    X, Y = data
    model = SoftmaxKNNMap(n_neighbors=5, temperature=0.1).fit(X[:150], Y[:150])
    model.fit(X[150:], Y[150:])
    fresh = SoftmaxKNNMap(n_neighbors=5, temperature=0.1).fit(X[150:], Y[150:])
    np.testing.assert_array_equal(model.predict(X[:20]), fresh.predict(X[:20]))
    np.testing.assert_allclose(model.predict(X[:20]),
                               _dense_softmax_knn(X[:20], X[150:], Y[150:], 5, 0.1), atol=1e-5)


def test_topk_threads_follow_threadpool_limits():
    # n_workers finds the BLAS libraries once, but must read their thread count on every call
    from threadpoolctl import threadpool_limits

    from embmap._search import n_workers

    n_workers()
    with threadpool_limits(1):
        assert n_workers() == 1


def test_weights_variants():
    sims = np.array([[0.9, 0.5, -0.1]], dtype=np.float32)
    np.testing.assert_allclose(neighbour_weights(sims, "uniform"), [[1 / 3] * 3])
    np.testing.assert_allclose(neighbour_weights(sims, "similarity"), [[0.9 / 1.4, 0.5 / 1.4, 0]], atol=1e-6)
    e = np.exp(np.array([0.9, 0.5, -0.1]) / 0.1)
    np.testing.assert_allclose(neighbour_weights(sims, "softmax", 0.1), [e / e.sum()], rtol=1e-5)
    # tiny temperature: no overflow, all weight on the nearest
    np.testing.assert_allclose(neighbour_weights(sims, "softmax", 1e-6), [[1, 0, 0]])


# --------------------------------------------------------------------------- residual (InstaMap)


def test_residual_with_exact_linear_relation_is_the_linear_map(data):
    X, _ = data
    W = np.random.default_rng(1).normal(size=(8, 6)).astype(np.float32)
    Y = X @ W
    model = ResidualKNNMap(n_neighbors=10, temperature=0.05).fit(X[:250], Y[:250])
    np.testing.assert_allclose(model.predict(X[250:]), X[250:] @ W, atol=1e-4)
    np.testing.assert_allclose(model.predict_training(), Y[:250], atol=1e-4)


def test_residual_matches_formula(data):
    X, Y = data
    model = ResidualKNNMap(n_neighbors=6, temperature=0.1).fit(X[:250], Y[:250])
    base = LeastSquares().fit(X[:250], Y[:250])
    R = Y[:250] - base.predict(X[:250])
    expected = base.predict(X[250:]) + _dense_softmax_knn(X[250:], X[:250], R, 6, 0.1)
    np.testing.assert_allclose(model.predict(X[250:]), expected, atol=1e-4)


# --------------------------------------------------------------------------- attention


def test_attention_at_identity_small_temperature_is_one_nn(data):
    X, Y = data
    model = AttentionMap(n_neighbors=5, temperature=1e-7, max_epochs=0).fit(X[:250], Y[:250])
    S = np.sort(unit_rows(X[250:]) @ unit_rows(X[:250]).T, axis=1)
    assert np.all(S[:, -1] - S[:, -2] > 1e-5)  # no near-ties: the nearest is well defined
    nearest = np.argmax(unit_rows(X[250:]) @ unit_rows(X[:250]).T, axis=1)
    np.testing.assert_allclose(model.predict(X[250:]), Y[:250][nearest], atol=1e-6)


def test_attention_epoch_zero_equals_softmax_knn(data):
    X, Y = data
    att = AttentionMap(n_neighbors=8, temperature=0.07, max_epochs=0).fit(X[:250], Y[:250])
    knn = SoftmaxKNNMap(n_neighbors=8, temperature=0.07).fit(X[:250], Y[:250])
    np.testing.assert_allclose(att.predict(X[250:]), knn.predict(X[250:]), atol=1e-5)
    np.testing.assert_allclose(att.predict_training(), knn.predict_training(), atol=1e-5)


@pytest.fixture(scope="module")
def noisy_metric():
    """Targets depend on 4 source dimensions; 12 loud noise dimensions hide them from cosine."""
    rng = np.random.default_rng(3)
    signal = rng.normal(size=(700, 4))
    X = np.hstack([signal, 2.0 * rng.normal(size=(700, 12))]).astype(np.float32)
    Y = np.tanh(signal @ rng.normal(size=(4, 8))).astype(np.float32)
    return X, Y


def test_attention_learns_a_metric_that_beats_identity(noisy_metric):
    X, Y = noisy_metric
    model = AttentionMap(n_neighbors=10, temperature=0.05, nce_temperature=0.1, lr=0.02,
                         batch_size=128, max_epochs=15, patience=15, seed=0)
    model.fit(X[:500], Y[:500], X_val=X[500:600], Y_val=Y[500:600])
    h = model.history_
    assert h["epoch"][0] == 0 and np.isnan(h["train_loss"][0])
    assert max(h["val_p@10"]) > h["val_p@10"][0] + 0.1   # better than plain kNN (epoch 0)
    assert model.best_epoch_ == int(np.argmax(h["val_p@10"]))
    # the kept encoder is the best one: its val P@10 is the history's best
    assert model._val_p10(X[500:600], Y[500:600]) == pytest.approx(max(h["val_p@10"]))
    # the learned metric shrinks the noise dimensions relative to the signal ones
    A = model.encoder_.linear.weight.detach().numpy()
    assert np.linalg.norm(A[:, :4]) > 1.3 * np.linalg.norm(A[:, 4:]) / np.sqrt(3)


def test_attention_is_deterministic_per_seed(noisy_metric):
    X, Y = noisy_metric
    kw = {"n_neighbors": 5, "lr": 0.01, "batch_size": 100, "max_epochs": 2, "seed": 4}
    a = AttentionMap(**kw).fit(X[:300], Y[:300]).predict(X[600:])
    b = clone(AttentionMap(**kw)).fit(X[:300], Y[:300]).predict(X[600:])
    c = AttentionMap(**{**kw, "seed": 5}).fit(X[:300], Y[:300]).predict(X[600:])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# --------------------------------------------------------------------------- graph diffusion


@pytest.fixture(scope="module")
def graph_data(data):
    X, Y = data
    rng = np.random.default_rng(2)
    edges = rng.integers(0, len(X), size=(900, 2))
    edges = edges[edges[:, 0] != edges[:, 1]]
    return X, Y, edges, np.arange(0, 240), np.arange(240, 300)


def test_diffusion_with_zero_steps_is_plain_knn(graph_data):
    X, Y, edges, train, test = graph_data
    e = training_edges(edges, train)
    knn = SoftmaxKNNMap(9, temperature=0.05).fit(X[train], Y[train])
    for model in (GraphDiffusionKNNMap(9, temperature=0.05, n_steps=0),
                  GraphDiffusionKNNMap(9, temperature=0.05, alpha=1.0, n_steps=3)):
        model.fit(X[train], Y[train], edges=e)
        np.testing.assert_allclose(model.predict(X[test]), knn.predict(X[test]), atol=1e-5)


def test_diffusion_matches_dense_appnp(graph_data):
    X, Y, edges, train, test = graph_data
    e = training_edges(edges, train)
    model = GraphDiffusionKNNMap(9, temperature=0.05, alpha=0.3, n_steps=3).fit(X[train], Y[train], edges=e)
    n = len(train)
    A = np.zeros((n, n))
    A[e[:, 0], e[:, 1]] = A[e[:, 1], e[:, 0]] = 1
    A += np.eye(n)
    P = A / A.sum(axis=1, keepdims=True)
    idx, sims = nearest_neighbours(X[test], X[train], 9)
    w0 = np.zeros((len(test), n))
    np.put_along_axis(w0, idx, neighbour_weights(sims, "softmax", 0.05), axis=1)
    w = w0
    for _ in range(3):
        w = 0.7 * w @ P + 0.3 * w0
    np.testing.assert_allclose(model.predict(X[test]), (w / w.sum(1, keepdims=True)) @ Y[train], atol=1e-5)
    # leave-one-out: the left-out word gets no mass, even through its edges
    loo = model.predict_training()
    idx, sims = nearest_neighbours(X[train], X[train], 9, exclude=np.arange(n))
    w0 = np.zeros((n, n))
    np.put_along_axis(w0, idx, neighbour_weights(sims, "softmax", 0.05), axis=1)
    w = w0
    for _ in range(3):
        w = 0.7 * w @ P + 0.3 * w0
        np.fill_diagonal(w, 0)
    np.testing.assert_allclose(loo, (w / w.sum(1, keepdims=True)) @ Y[train], atol=1e-5)


def test_diffusion_ignores_test_words_edges(graph_data):
    X, Y, edges, train, test = graph_data
    touches_test = np.isin(edges, test).any(axis=1)
    assert touches_test.sum() > 50  # the graph does link test words
    with_all = GraphDiffusionKNNMap(9, n_steps=2).fit(X[train], Y[train], edges=training_edges(edges, train))
    without = GraphDiffusionKNNMap(9, n_steps=2).fit(
        X[train], Y[train], edges=training_edges(edges[~touches_test], train))
    np.testing.assert_array_equal(with_all.predict(X[test]), without.predict(X[test]))
    # and the diffusion does change the prediction (the test is not vacuous)
    plain = SoftmaxKNNMap(9).fit(X[train], Y[train]).predict(X[test])
    assert not np.allclose(with_all.predict(X[test]), plain, atol=1e-3)


def test_training_edges_renumbers():
    edges = np.array([[5, 7], [7, 2], [2, 9], [5, 2]])
    np.testing.assert_array_equal(training_edges(edges, np.array([7, 5, 2])), [[1, 0], [0, 2], [1, 2]])


# --------------------------------------------------------------------------- two-direction


def _dense_csls(P, T, sources, k):
    S = unit_rows(P) @ unit_rows(T).T
    r_T = np.sort(S, axis=1)[:, -k:].mean(1)
    r_S = np.sort(unit_rows(T) @ unit_rows(sources).T, axis=1)[:, -k:].mean(1)
    return 2 * S - r_T[:, None] - r_S[None, :]


def test_two_direction_beta_zero_is_forward_csls(data):
    X, Y = data
    train, test = np.arange(200), np.arange(200, 300)
    pred = mapped_sources(SoftmaxKNNMap(5).fit(X[train], Y[train]), X, train)
    scheme = TwoDirectionRetrieval(n_neighbors=5, beta=0.0, chunk_size=17).fit(X, Y, train)
    ranks, top = scheme.retrieve(X[test], pred[test], test, forward_sources=pred)
    ref_ranks, ref_top = retrieve(pred[test], Y, test, "csls", sources=pred)
    np.testing.assert_array_equal(ranks, ref_ranks)
    np.testing.assert_array_equal(top, ref_top)


def test_two_direction_matches_dense_reference(data):
    X, Y = data
    train, test = np.arange(200), np.arange(200, 300)
    pred = mapped_sources(SoftmaxKNNMap(5).fit(X[train], Y[train]), X, train)
    scheme = TwoDirectionRetrieval(n_neighbors=4, temperature=0.1, beta=2.0).fit(X, Y, train)
    # reverse estimates: softmax kNN in the target space over training words, leave-one-out
    exclude = np.full(len(Y), -1)
    exclude[train] = train
    S = unit_rows(Y) @ unit_rows(Y[train]).T
    S[train, train] = -np.inf
    est = np.empty_like(X)
    for i, row in enumerate(S):
        idx = np.argsort(-row)[:4]
        w = np.exp((row[idx] - row[idx].max()) / 0.1)
        est[i] = (w / w.sum()) @ unit_rows(X[train])[idx]
    np.testing.assert_allclose(scheme.source_estimates_, unit_rows(est), atol=1e-5)
    score = _dense_csls(pred[test], Y, pred, 10) + 2.0 * _dense_csls(X[test], est, X, 10)
    gold_score = score[np.arange(len(test)), test]
    ranks, top = scheme.retrieve(X[test], pred[test], test, forward_sources=pred)
    np.testing.assert_array_equal(ranks, (score >= gold_score[:, None] - 1e-5).sum(1))
    np.testing.assert_array_equal(top[:, 0], score.argmax(1))


def test_two_direction_select_beta_and_many_betas(data):
    X, Y = data
    train, val = np.arange(200), np.arange(200, 300)
    pred = mapped_sources(SoftmaxKNNMap(5).fit(X[train], Y[train]), X, train)
    scheme = TwoDirectionRetrieval(n_neighbors=5).fit(X, Y, train)
    scores = scheme.select_beta(X[val], pred[val], val, forward_sources=pred, betas=(0, 1, 3))
    assert scheme.beta_ == max(scores, key=lambda b: (scores[b], -b))
    assert scheme.beta == 3.0  # the constructor parameter is left alone
    chosen, _ = scheme.retrieve(X[val], pred[val], val, forward_sources=pred)
    many, _ = scheme.retrieve(X[val], pred[val], val, forward_sources=pred, betas=[1.0, scheme.beta_])
    np.testing.assert_array_equal(many[scheme.beta_], chosen)
    one, _ = clone(scheme).set_params(beta=1.0).fit(X, Y, train).retrieve(
        X[val], pred[val], val, forward_sources=pred)
    np.testing.assert_array_equal(many[1.0], one)
    assert not hasattr(scheme.fit(X, Y, train), "beta_")  # a refit forgets the selection


# --------------------------------------------------------------------------- oracle, inputs


def test_oracle_is_mean_of_true_neighbours():
    Y = np.arange(12, dtype=np.float32).reshape(4, 3)
    edges = np.array([[0, 1], [0, 2], [1, 0], [3, 3]])  # a duplicate and a self-loop
    out = neighbour_mean_oracle(Y, edges, np.array([0, 1, 3]))
    np.testing.assert_allclose(out, [(Y[1] + Y[2]) / 2, Y[0], np.zeros(3)])


@pytest.mark.parametrize("make, match", [
    (lambda X, Y: SoftmaxKNNMap(n_neighbors=0).fit(X, Y), "n_neighbors"),
    (lambda X, Y: SoftmaxKNNMap(n_neighbors=2.5).fit(X, Y), "n_neighbors"),
    (lambda X, Y: SoftmaxKNNMap(temperature=0).fit(X, Y), "temperature"),
    (lambda X, Y: SoftmaxKNNMap(weights="cosine").fit(X, Y), "weights"),
    (lambda X, Y: SoftmaxKNNMap().fit(X, Y[:-1]), "same number of rows"),
    (lambda X, Y: SoftmaxKNNMap().fit(np.where(X > 2, np.nan, X), Y), "X contains a non-finite"),
    (lambda X, Y: SoftmaxKNNMap().fit(X, Y).predict(X[:, :3]), "X must have 8 columns"),
    (lambda X, Y: GraphDiffusionKNNMap(alpha=1.5).fit(X, Y), "alpha"),
    (lambda X, Y: GraphDiffusionKNNMap().fit(X, Y, edges=np.array([[0, 999]])), "edges"),
    (lambda X, Y: AttentionMap(patience=0).fit(X, Y), "patience"),
    (lambda X, Y: TwoDirectionRetrieval(beta=-1).fit(X, Y, np.arange(50)), "beta"),
    (lambda X, Y: TwoDirectionRetrieval().fit(X, Y, np.array([0.5, 1.0])), "train"),
])
def test_bad_inputs_raise_named_errors(data, make, match):
    X, Y = data
    with pytest.raises((ValueError, TypeError), match=match):
        make(X, Y)


def test_knn_validation_grid_matches_direct_scoring(data):
    from embmap.evaluation import rank_metrics
    from embmap.local import knn_validation_grid

    X, Y = data
    train, val = np.arange(200), np.arange(200, 260)
    grid = knn_validation_grid(X, Y, train, val, n_neighbors=(3, 7), temperatures=(0.05, 0.2),
                               weights=("softmax", "uniform"))
    assert len(grid) == 2 * 2 + 2
    for (w, k, T) in (("softmax", 7, 0.2), ("uniform", 3, np.nan)):
        model = SoftmaxKNNMap(n_neighbors=k, weights=w, temperature=0.2).fit(X[train], Y[train])
        src = mapped_sources(model, X, train)
        expected = rank_metrics(retrieve(src[val], Y, val, "csls", sources=src)[0])
        row = grid[(grid.weights == w) & (grid.k == k) & ((grid["T"] == T) | np.isnan(T))].iloc[0]
        assert row["p@10"] == pytest.approx(expected["p@10"])
        assert row["mrr"] == pytest.approx(expected["mrr"])


def test_leave_one_out_attention_equals_masked_attention_values_and_gradients():
    # The training step's attention selects neighbours without autograd and recomputes the
    # k similarities with it: same output and same gradients as the dense masked version.
    from embmap.neural import _attend, _attend_leave_one_out

    gen = torch.Generator().manual_seed(0)
    keys0 = torch.randn(300, 20, generator=gen, dtype=torch.float64)
    Yk = torch.randn(300, 7, generator=gen, dtype=torch.float64)
    batch = torch.randperm(300, generator=gen)[:64]
    outs = []
    for dense in (True, False):
        keys = keys0.clone().requires_grad_(True)
        if dense:
            exclude = torch.zeros((64, 300), dtype=torch.bool)
            exclude[torch.arange(64), batch] = True
            pred = _attend(keys[batch], keys, Yk, 8, 0.1, exclude)
        else:
            pred = _attend_leave_one_out(keys[batch], keys, Yk, 8, 0.1, batch)
        (pred * torch.linspace(-1, 1, 7, dtype=torch.float64)).sum().backward()
        outs.append((pred.detach(), keys.grad))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-10, atol=1e-12)
    assert outs[0][1].abs().sum() > 0


# --------------------------------------------------------------------------- one selection recipe


def test_import_of_local_needs_no_torch():
    import subprocess
    import sys

    code = "import sys, embmap.local; assert 'torch' not in sys.modules; embmap.local.AttentionMap"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_select_two_direction_makes_the_step_by_step_choices(data):
    from embmap.local import knn_validation_grid, select_two_direction

    X, Y = data
    train, val, test = np.arange(200), np.arange(200, 250), np.arange(250, 300)
    gold = [[v] if v % 3 else [v, (v + 7) % 300] for v in np.r_[val, test]]  # some with two golds
    ks, temps, reverse, betas = (3, 7, 400), (0.05, 0.2), ((4, 0.05), (6, 0.1)), (0, 1, 3)
    sel = select_two_direction(X, Y, train, val, gold=gold, test=test, n_neighbors=ks,
                               temperatures=temps, reverse=reverse, betas=betas)
    # the step-by-step recipe of the report and of model_file.select_best
    rows, n_val = np.r_[val, test], len(val)
    grid = knn_validation_grid(X, Y, train, val, [k for k in ks if k < len(train)], temps,
                               gold=gold[:n_val])
    best = grid.loc[grid["p@10"].idxmax()]
    k, T = int(best["k"]), float(best["T"])
    knn = SoftmaxKNNMap(n_neighbors=k, weights="softmax", temperature=T).fit(X[train], Y[train])
    src = mapped_sources(knn, X, train)
    chosen = None
    for rk, rT in reverse:
        scheme = TwoDirectionRetrieval(n_neighbors=min(rk, len(train) - 1), temperature=rT)
        scheme.fit(X, Y, train)
        scores = scheme.select_beta(X[val], src[val], gold[:n_val], forward_sources=src, betas=betas)
        if chosen is None or scores[scheme.beta_] > chosen[0]:
            chosen = (scores[scheme.beta_], scheme.n_neighbors, rT, scheme.beta_, scores[0])
        ranks, _ = scheme.retrieve(X[rows], src[rows], gold, forward_sources=src, betas=betas)
        for b in betas:  # the report's and notebook 06's curves: val ranks of val + test queries
            row = sel["curves"][(sel["curves"]["reverse T"] == rT) & (sel["curves"]["beta"] == b)]
            assert row["p@10"].item() == np.mean(ranks[b][:n_val] <= 10)
    pd_testing = pytest.importorskip("pandas").testing
    pd_testing.assert_frame_equal(sel["grid"], grid)
    assert sel["knn_params"] == {"n_neighbors": k, "weights": "softmax", "temperature": T}
    np.testing.assert_array_equal(sel["sources"], src)
    p10_two, rk, rT, beta, p10_fwd = chosen
    assert (sel["scheme"].n_neighbors, sel["scheme"].temperature, sel["beta"]) == (rk, rT, beta)
    assert sel["scheme"].beta_ == beta
    assert sel["p10"] == {"knn": float(best["p@10"]), "two_direction": p10_two, "beta0": p10_fwd}
    ranks, top = sel["scheme"].retrieve(X[rows], src[rows], gold, forward_sources=src)
    np.testing.assert_array_equal(sel["ranks"], ranks)
    np.testing.assert_array_equal(sel["top"], top)
    assert np.mean(sel["ranks"][:n_val] <= 10) == p10_two
