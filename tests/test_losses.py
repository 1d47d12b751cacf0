"""Tests for embmap.losses: every loss against an independent reference value."""

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy import special

from embmap.losses import (
    LOSSES,
    SoftmaxOverTargets,
    cosine_loss,
    csls_margin_loss,
    info_nce_loss,
    log_bessel_iv,
    log_vmf_normaliser,
    mae_loss,
    mse_loss,
    sinkhorn_loss,
    sinkhorn_plan,
    vmf_loss,
)

DIMS = (2, 50, 300)  # vMF dimensions m -> Bessel orders m/2 - 1 = 0, 24, 149
KAPPAS = (0.1, 1.0, 10.0, 100.0, 1000.0)
GRID = [(m, k) for m in DIMS for k in KAPPAS]


def _mp_log_iv(v, x):
    with mpmath.workdps(50):
        return mpmath.log(mpmath.besseli(v, x))


def _mp_log_cm(m, kappa):
    with mpmath.workdps(50):
        v = mpmath.mpf(m) / 2 - 1
        k = mpmath.mpf(kappa)
        return float(v * mpmath.log(k) - mpmath.mpf(m) / 2 * mpmath.log(2 * mpmath.pi)
                     - _mp_log_iv(v, k))


def _mp_ratio(m, kappa):
    """I_{m/2}(kappa) / I_{m/2-1}(kappa) in 50-digit arithmetic."""
    with mpmath.workdps(50):
        v = mpmath.mpf(m) / 2 - 1
        return float(mpmath.besseli(v + 1, kappa) / mpmath.besseli(v, kappa))


def _cos_np(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    return pred, target, torch.from_numpy(pred), torch.from_numpy(target)


# --------------------------------------------------------------------------- pointwise


def test_mse_and_mae_match_numpy(pair):
    p, t, tp, tt = pair
    assert float(mse_loss(tp, tt)) == pytest.approx(np.mean((p - t) ** 2), rel=1e-12)
    assert float(mae_loss(tp, tt)) == pytest.approx(np.mean(np.abs(p - t)), rel=1e-12)


def test_mse_hand_computed():
    pred = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert float(mse_loss(pred, target)) == pytest.approx((1 + 4 + 9 + 0) / 4)
    assert float(mae_loss(pred, target)) == pytest.approx((1 + 2 + 3 + 0) / 4)


def test_cosine_loss_matches_numpy_and_keras_convention(pair):
    p, t, tp, tt = pair
    cos = np.diag(_cos_np(p, t))
    assert float(cosine_loss(tp, tt)) == pytest.approx(np.mean(1 - cos), rel=1e-12)
    # Keras' cosine_proximity is -cos: the two differ by exactly 1.
    assert float(cosine_loss(tp, tt)) - 1.0 == pytest.approx(np.mean(-cos), rel=1e-12)
    # Opposite vectors: maximal loss 2; same direction, any length: 0.
    x = torch.tensor([[1.0, 2.0]])
    assert float(cosine_loss(x, -3 * x)) == pytest.approx(2.0)
    assert float(cosine_loss(x, 5 * x)) == pytest.approx(0.0, abs=1e-7)


def test_shape_errors_are_value_errors():
    with pytest.raises(ValueError, match="shapes differ"):
        mse_loss(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="2-D"):
        cosine_loss(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="at least 2"):
        csls_margin_loss(torch.ones(1, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(torch.ones(2, 3), torch.ones(2, 3), temperature=0)
    with pytest.raises(TypeError, match="torch tensors"):
        mse_loss(np.zeros((2, 3)), torch.zeros(2, 3))


# --------------------------------------------------------------------------- Bessel / vMF


@pytest.mark.parametrize("m, kappa", GRID)
def test_log_bessel_iv_matches_mpmath(m, kappa):
    v = m / 2 - 1
    ref = float(_mp_log_iv(v, kappa))
    got = float(log_bessel_iv(v, kappa))
    assert math.isfinite(got)
    assert got == pytest.approx(ref, rel=1e-8, abs=0)


def test_log_bessel_iv_beyond_the_grid():
    # Tiny argument (cancellation in log(ive) + x) and large orders (ive == 0).
    for v, x in [(0, 1e-5), (0.5, 1e-3), (499, 10.0), (1000, 1000.0), (5000, 100.0)]:
        # abs=0: approx would otherwise accept any error below 1e-12 (log I_0(1e-5) ~ 2.5e-11).
        ref = float(_mp_log_iv(v, x))
        assert float(log_bessel_iv(v, x)) == pytest.approx(ref, rel=1e-10, abs=0)


def test_log_bessel_iv_agrees_with_scipy_where_scipy_is_fine():
    v = np.array([0.0, 24.0, 149.0, 0.5, 3.0])[:, None]
    x = np.array([1.0, 10.0, 100.0, 1000.0])[None, :]
    with np.errstate(divide="ignore"):
        naive = np.log(special.ive(v, x)) + x
    ok = np.isfinite(naive)
    assert ok.sum() >= 15
    np.testing.assert_allclose(log_bessel_iv(v, x)[ok], naive[ok], rtol=1e-12)


def test_log_bessel_iv_where_scipy_underflows():
    # I_149(0.1) e^-0.1 ~ 3e-455 is below the float64 range: the naive log is -inf.
    with np.errstate(divide="ignore"):
        assert np.log(special.ive(149, 0.1)) == -np.inf
    assert float(log_bessel_iv(149, 0.1)) == pytest.approx(float(_mp_log_iv(149, 0.1)), rel=1e-12)


def test_log_bessel_iv_edges_and_errors():
    assert float(log_bessel_iv(0, 0.0)) == 0.0
    assert float(log_bessel_iv(3, 0.0)) == -np.inf
    assert log_bessel_iv([[0.0, 1.0]], [[1.0], [2.0]]).shape == (2, 2)
    with pytest.raises(ValueError):
        log_bessel_iv(-1, 1.0)
    with pytest.raises(ValueError):
        log_bessel_iv(1, np.nan)


@pytest.mark.parametrize("m", DIMS)
def test_log_vmf_normaliser_values_and_gradients_match_mpmath(m):
    kappa = torch.tensor(KAPPAS, dtype=torch.float64, requires_grad=True)
    value = log_vmf_normaliser(kappa, m)
    (grad,) = torch.autograd.grad(value.sum(), kappa)
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
    ref_value = [_mp_log_cm(m, k) for k in KAPPAS]
    ref_grad = [-_mp_ratio(m, k) for k in KAPPAS]  # d/dk log C_m = -I_{m/2} / I_{m/2-1}
    np.testing.assert_allclose(value.detach().numpy(), ref_value, rtol=1e-8)
    np.testing.assert_allclose(grad.numpy(), ref_grad, rtol=1e-8)


@pytest.mark.parametrize("m", DIMS)
def test_log_vmf_normaliser_gradcheck(m):
    # Finite differences against the analytic backward (independent of the Bessel ratio formula).
    kappa = torch.tensor([0.3, 4.0, 60.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda k: log_vmf_normaliser(k, m), (kappa,))


def test_log_vmf_normaliser_closed_form_m3():
    # On S^2: C_3(kappa) = kappa / (4 pi sinh kappa).
    kappa = np.array([0.05, 0.5, 5.0, 50.0])
    expected = np.log(kappa) - np.log(4 * np.pi) - np.log(np.sinh(kappa))
    got = log_vmf_normaliser(torch.from_numpy(kappa), 3).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("m", DIMS)
def test_log_vmf_normaliser_at_zero_is_uniform_density(m):
    # C_m(0) = 1 / area(S^{m-1}) = Gamma(m/2) / (2 pi^{m/2}); gradient 0.
    kappa = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    value = log_vmf_normaliser(kappa, m)
    value.sum().backward()
    expected = math.lgamma(m / 2) - math.log(2) - m / 2 * math.log(math.pi)
    assert float(value.detach()) == pytest.approx(expected, rel=1e-12)
    assert float(kappa.grad) == 0.0


def test_vmf_loss_value_for_aligned_prediction():
    m, kappa = 50, 7.0
    e = np.random.default_rng(1).normal(size=(1, m))
    e /= np.linalg.norm(e)
    pred = torch.from_numpy(kappa * e)
    target = torch.from_numpy(3.0 * e)  # the loss normalises targets itself
    nll = -_mp_log_cm(m, kappa) - kappa
    assert float(vmf_loss(pred, target)) == pytest.approx(nll, rel=1e-10)
    kappa_reg = nll + 0.02 * kappa
    assert float(vmf_loss(pred, target, reg="kappa")) == pytest.approx(kappa_reg, rel=1e-10)
    scale = -_mp_log_cm(m, kappa) - 0.1 * kappa
    assert float(vmf_loss(pred, target, reg="scale")) == pytest.approx(scale, rel=1e-10)
    assert float(vmf_loss(pred, target, reg="kappa", lam=0.5)) == pytest.approx(
        nll + 0.5 * kappa, rel=1e-10
    )


@pytest.mark.parametrize("m", DIMS)
def test_vmf_loss_gradient_along_target(m):
    # For pred = kappa e: d loss / d pred = (A_m(kappa) - 1 + lam) e with A_m = I_{m/2}/I_{m/2-1}.
    e = torch.zeros(1, m, dtype=torch.float64)
    e[0, 0] = 1.0
    for kappa in (0.1, 10.0, 1000.0):
        pred = (kappa * e).requires_grad_(True)
        vmf_loss(pred, e, reg="kappa").backward()
        expected = _mp_ratio(m, kappa) - 1 + 0.02
        assert torch.isfinite(pred.grad).all()
        assert float(pred.grad[0, 0]) == pytest.approx(expected, rel=1e-8)
        assert float(pred.grad[0, 1:].abs().max()) == 0.0


def test_vmf_loss_finite_gradient_at_zero_prediction():
    pred = torch.zeros(3, 50, requires_grad=True)
    loss = vmf_loss(pred, torch.randn(3, 50))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()


def test_vmf_loss_bad_reg():
    with pytest.raises(ValueError, match="reg"):
        vmf_loss(torch.ones(2, 3), torch.ones(2, 3), reg="l2")


# --------------------------------------------------------------------------- batch losses


def test_info_nce_matches_numpy_log_softmax(pair):
    p, t, tp, tt = pair
    logits = _cos_np(p, t) / 0.1
    log_softmax = logits - special.logsumexp(logits, axis=1, keepdims=True)
    expected = -np.mean(np.diag(log_softmax))
    assert float(info_nce_loss(tp, tt, temperature=0.1)) == pytest.approx(expected, rel=1e-10)


def test_info_nce_uninformative_is_log_n():
    x = torch.ones(5, 3)
    assert float(info_nce_loss(x, x)) == pytest.approx(math.log(5), rel=1e-6)


def test_softmax_over_targets_matches_numpy_over_every_target():
    rng = np.random.default_rng(1)
    pred, targets = rng.normal(size=(4, 5)), rng.normal(size=(9, 5))
    rows = np.array([7, 0, 3, 3])
    logits = _cos_np(pred, targets) / 0.05
    expected = -np.mean((logits - special.logsumexp(logits, axis=1, keepdims=True))[np.arange(4), rows])
    got = SoftmaxOverTargets(0.05)(torch.from_numpy(pred), torch.from_numpy(targets),
                                   torch.from_numpy(rows))
    assert float(got) == pytest.approx(expected, rel=1e-10)


def test_softmax_over_targets_on_the_batch_is_info_nce(pair):
    _, _, tp, tt = pair
    rows = torch.arange(len(tp))
    assert float(SoftmaxOverTargets(0.1)(tp, tt, rows)) == pytest.approx(
        float(info_nce_loss(tp, tt, temperature=0.1)), rel=1e-12)


def test_softmax_over_targets_uninformative_is_log_n_targets():
    pred, targets = torch.ones(3, 2), torch.ones(8, 2)
    loss = SoftmaxOverTargets()(pred, targets, torch.tensor([0, 4, 7]))
    assert float(loss) == pytest.approx(math.log(8), rel=1e-6)


def test_softmax_over_targets_bad_inputs():
    loss, pred, targets = SoftmaxOverTargets(), torch.ones(2, 3), torch.ones(5, 3)
    with pytest.raises(ValueError, match="temperature"):
        SoftmaxOverTargets(temperature=0)
    with pytest.raises(ValueError, match="rows must lie"):
        loss(pred, targets, torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="rows must lie"):
        loss(pred, targets, torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match="rows must be 2 integer"):
        loss(pred, targets, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="rows must be 2 integer"):
        loss(pred, targets, torch.tensor([0]))
    with pytest.raises(ValueError, match="shapes differ"):
        loss(pred, torch.ones(5, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="pred contains NaN"):
        loss(torch.tensor([[np.nan, 1.0, 1.0], [1.0, 1.0, 1.0]]), targets, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="target row 2 is all zeros"):
        loss(pred, torch.ones(5, 3).index_fill_(0, torch.tensor([2]), 0.0), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="at least 1 rows"):
        loss(pred, torch.ones(0, 3), torch.tensor([0, 1]))


def test_sinkhorn_identical_sets_zero_cost_diagonal_plan():
    x = torch.eye(4, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0, 4.0])[:, None]
    plan = sinkhorn_plan(x, x, epsilon=0.01)
    np.testing.assert_allclose(plan.numpy(), np.eye(4) / 4, atol=1e-10)
    assert float(sinkhorn_loss(x, x, epsilon=0.01)) == pytest.approx(0.0, abs=1e-10)


def test_sinkhorn_2x2_matches_closed_form():
    # Uniform 2x2 plans are [[p, 1/2 - p], [1/2 - p, p]]; minimising
    # <P, C> - eps H(P) gives p / (1/2 - p) = exp(-(c11 + c22 - c12 - c21) / (2 eps)).
    pred = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)
    target = torch.tensor([[0.0, 1.0], [1.0, 0.2]], dtype=torch.float64)
    C = 1 - _cos_np(pred.numpy(), target.numpy())
    delta = C[0, 0] + C[1, 1] - C[0, 1] - C[1, 0]
    for eps in (0.5, 0.2):
        r = math.exp(-delta / (2 * eps))
        p = r / (2 * (1 + r))
        expected = p * (C[0, 0] + C[1, 1]) + (0.5 - p) * (C[0, 1] + C[1, 0])
        # This lopsided cost matrix converges slowly (rate ~ exp(-|delta| / eps)), so iterate long.
        got = float(sinkhorn_loss(pred, target, epsilon=eps, n_iter=200))
        assert got == pytest.approx(expected, rel=1e-9)


def test_sinkhorn_small_epsilon_is_exact_ot():
    # Symmetric costs (c11 = c22, c12 = c21): the cheaper assignment (the swap) wins as eps -> 0.
    t = 0.3
    pred = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    target = torch.tensor([[math.sin(t), math.cos(t)], [math.cos(t), math.sin(t)]],
                          dtype=torch.float64)
    swap_cost = 1 - math.cos(t)  # cos(pred_1, target_2) = cos t
    assert float(sinkhorn_loss(pred, target, epsilon=0.005)) == pytest.approx(swap_cost, rel=1e-9)
    plan = sinkhorn_plan(pred, target, epsilon=0.005).numpy()
    np.testing.assert_allclose(plan, [[0, 0.5], [0.5, 0]], atol=1e-12)


def test_sinkhorn_ignores_pairing_unless_paired_weight(pair):
    _, _, tp, tt = pair
    perm = torch.tensor([3, 0, 5, 1, 2, 4])
    a = sinkhorn_loss(tp, tt, n_iter=300)
    b = sinkhorn_loss(tp, tt[perm], n_iter=300)
    assert float(a) == pytest.approx(float(b), rel=1e-6)
    with_pairs = sinkhorn_loss(tp, tt, n_iter=300, paired_weight=0.5)
    assert float(with_pairs) == pytest.approx(float(a) + 0.5 * float(cosine_loss(tp, tt)), rel=1e-9)


def test_sinkhorn_has_gradients(pair):
    _, _, tp, tt = pair
    tp = tp.clone().requires_grad_(True)
    sinkhorn_loss(tp, tt).backward()
    assert torch.isfinite(tp.grad).all() and tp.grad.abs().sum() > 0


def _csls_reference(p, t, margin, k, hardest):
    """Loop-based numpy CSLS margin loss, written independently of the torch one."""
    n = len(p)
    k = min(k, n - 1)
    S = _cos_np(p, t)
    r_t = np.array([np.mean(np.sort(S[i])[::-1][:k]) for i in range(n)])
    r_s = np.array([np.mean(np.sort(S[:, j])[::-1][:k]) for j in range(n)])
    score = 2 * S - r_t[:, None] - r_s[None, :]
    rows = []
    for i in range(n):
        hinges = [max(0.0, margin - score[i, i] + score[i, j]) for j in range(n) if j != i]
        rows.append(max(hinges) if hardest else hinges)
    return float(np.mean(rows)) if hardest else float(np.mean(np.concatenate(rows)))


@pytest.mark.parametrize("hardest", [False, True])
@pytest.mark.parametrize("k", [2, 10])
def test_csls_margin_matches_reference(pair, hardest, k):
    p, t, tp, tt = pair
    expected = _csls_reference(p, t, margin=0.3, k=k, hardest=hardest)
    assert expected > 0
    got = float(csls_margin_loss(tp, tt, margin=0.3, csls_k=k, hardest=hardest))
    assert got == pytest.approx(expected, rel=1e-10)


def test_csls_margin_known_values():
    # Perfectly aligned, well separated: s_ii = 4/3, s_ij = -2/3 -> zero loss.
    x = torch.eye(4)
    assert float(csls_margin_loss(x, x)) == 0.0
    # Collapsed batch: every score equal, so the loss is exactly the margin.
    ones = torch.ones(4, 3)
    assert float(csls_margin_loss(ones, ones, margin=0.2)) == pytest.approx(0.2)
    assert float(csls_margin_loss(ones, ones, margin=0.2, hardest=True)) == pytest.approx(0.2)


def test_losses_registry():
    assert set(LOSSES) == {"mse", "mae", "cosine", "vmf", "sinkhorn", "infonce", "csls_margin"}
    x = torch.randn(8, 5)
    y = torch.randn(8, 5)
    for name, fn in LOSSES.items():
        value = fn(x, y)
        assert value.ndim == 0 and torch.isfinite(value), name


@pytest.mark.parametrize("reg, expected_equation", [
    (None, lambda A, c: A - c),             # dNLL/dkappa = A_m(kappa) - cos
    ("kappa", lambda A, c: A - c + 0.02),   # + lambda1
    ("scale", lambda A, c: A - 0.1 * c),    # lambda2 scales the dot product
])
def test_vmf_optimal_kappa_is_finite_and_solves_the_derivative(reg, expected_equation):
    from scipy.optimize import brentq
    from scipy.special import ive

    m, cos = 50, 0.35
    A = lambda k: ive(m / 2, k) / ive(m / 2 - 1, k)
    kappa_star = brentq(lambda k: expected_equation(A(k), cos), 1e-6, 1e4)
    e = torch.zeros(1, m, dtype=torch.float64)
    e[0, 0] = 1.0
    direction = torch.zeros(1, m, dtype=torch.float64)
    direction[0, 0], direction[0, 1] = cos, (1 - cos**2) ** 0.5
    grid = np.linspace(0.05, 60, 1200)
    values = [vmf_loss(direction * k, e, reg=reg).item() for k in grid]
    assert grid[int(np.argmin(values))] == pytest.approx(kappa_star, abs=0.05)
    assert kappa_star < 30  # finite optimum (the plain loss does not reward unbounded kappa)
    if reg == "scale":
        assert kappa_star == pytest.approx(1.75, abs=0.01)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("epsilon, n_iter", [(0.05, 20), (0.05, 50), (0.2, 5), (0.02, 30)])
def test_sinkhorn_scaling_form_equals_log_domain(dtype, epsilon, n_iter):
    # The fast scaling form must reproduce the log-domain iterations (the reference):
    # the plan, the loss and its gradient, on a batch shaped like training batches.
    from embmap.losses import _sinkhorn_log_plan, _sinkhorn_scaling_plan

    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(128, 50, generator=gen, dtype=torch.float64)
    target = pred[torch.randperm(128, generator=gen)] + torch.randn(128, 50, generator=gen,
                                                                      dtype=torch.float64)
    cost = 1 - torch.nn.functional.normalize(pred, dim=1) @ torch.nn.functional.normalize(
        target, dim=1).T
    results = []
    for plan_fn in (lambda c: _sinkhorn_log_plan(c, epsilon, n_iter).exp(),
                    lambda c: _sinkhorn_scaling_plan(c, epsilon, n_iter)):
        c = cost.to(dtype).clone().requires_grad_(True)
        plan = plan_fn(c)
        loss = (plan * c).sum()
        loss.backward()
        results.append((plan.detach().double(), float(loss.detach()), c.grad.double()))
    (plan_log, loss_log, grad_log), (plan_fast, loss_fast, grad_fast) = results
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert loss_fast == pytest.approx(loss_log, abs=tol)
    np.testing.assert_allclose(plan_fast * 128, plan_log * 128, atol=tol)  # entries ~1/128
    np.testing.assert_allclose(grad_fast, grad_log, atol=tol * 10, rtol=tol)


def test_sinkhorn_small_epsilon_falls_back_to_log_domain():
    # cost range / epsilon = 2 / 1e-3 = 2000: the scaling form would underflow,
    # the dispatcher must use the log domain and still give the exact OT plan.
    pred = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    target = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    plan = sinkhorn_plan(pred, target, epsilon=1e-3)
    np.testing.assert_allclose(plan.numpy(), [[0, 0.5], [0.5, 0]], atol=1e-12)
    assert float(sinkhorn_loss(pred, target, epsilon=1e-3)) == pytest.approx(0.0, abs=1e-12)


def test_vmf_fast_bessel_path_equals_general_and_falls_back():
    # The vMF loss's shortcut must give log_bessel_iv's values exactly where it applies
    # (x >= 1, ive representable) and decline (None) elsewhere, leaving those to the general path.
    from embmap.losses import _bessel_ratio_np, _log_iv_common, _log_vmf_normaliser_np

    for v, low in ((0.0, 1.0), (24.0, 1.0), (149.0, 100.0)):
        x = np.geomspace(low, 2000.0, 97)
        np.testing.assert_array_equal(_log_iv_common(v, x), log_bessel_iv(v, x))
    assert _log_iv_common(24.0, np.array([0.5, 3.0])) is None      # x < 1: series regime
    assert _log_iv_common(149.0, np.array([1.0, 3.0])) is None     # ive underflows to 0
    kappa = np.array([0.0, 0.3, 5.0, 40.0])                         # mixed regimes: general path
    expected = [_mp_log_cm(50, k) if k > 0 else None for k in kappa]
    got = _log_vmf_normaliser_np(kappa, 50)
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-12)
    ratio = _bessel_ratio_np(np.array([0.3, 5.0, 40.0]), 50)
    ref = [float(mpmath.besseli(25, k) / mpmath.besseli(24, k)) for k in (0.3, 5.0, 40.0)]
    np.testing.assert_allclose(ratio, ref, rtol=1e-12)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses_refuse_non_finite_and_accept_huge_finite_values(loss):
    # The per-batch finiteness test works on sums: it must still catch a single NaN or inf,
    # and must not mistake finite values whose sum overflows float32 for inf.
    fn = LOSSES[loss]
    gen = torch.Generator().manual_seed(0)
    pred, target = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen)
    for bad in (float("nan"), float("inf"), float("-inf")):
        for which in ("pred", "target"):
            p, t = pred.clone(), target.clone()
            (p if which == "pred" else t)[2, 1] = bad
            with pytest.raises(ValueError, match=f"{which} contains NaN or inf"):
                fn(p, t)
    huge = torch.full((6, 4), 3e38)  # finite, but the sum overflows to inf
    huge[::2] *= -1
    huge[:, 1] = 3e38
    assert not torch.isfinite(huge.sum())
    # A finite-valued batch passes the check (the loss value itself may be inf or NaN).
    try:
        fn(huge, target)
    except ValueError as err:
        assert "NaN or inf" not in str(err)
