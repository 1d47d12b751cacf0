"""Losses ``loss(pred, target) -> scalar`` on ``(n, d)`` batches, averaged over the batch.

Pointwise losses (mse, mae, cosine, vmf) compare each prediction with its own target;
batch losses (sinkhorn, infonce, csls_margin) with every target of the batch.
:class:`SoftmaxOverTargets` compares each prediction with *every training target*,
so it is called ``loss(pred, targets, rows)`` with the gold rows.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special

from embmap._validation import check_bool, check_choice, check_int, check_real

__all__ = ["LOSSES", "SoftmaxOverTargets", "cosine_loss", "csls_margin_loss", "info_nce_loss",
           "log_bessel_iv", "log_vmf_normaliser", "mae_loss", "mse_loss", "sinkhorn_loss",
           "sinkhorn_plan", "vmf_loss"]

# Kumar & Tsvetkov (2019), "Von Mises-Fisher loss for training sequence to
# sequence models with continuous outputs", section 4: default strengths.
VMF_DEFAULT_LAMBDA = {"kappa": 0.02, "scale": 0.1}


def _check_pair(pred, target, *, min_rows: int = 1, directions: bool = False,
                paired: bool = True) -> None:
    """Matching, finite 2-D float batches; ``paired=False`` lets the row counts differ."""
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError(f"pred and target must be torch tensors, got {type(pred).__name__} and "
                        f"{type(target).__name__}")
    for t, name in ((pred, "pred"), (target, "target")):
        if not t.is_floating_point():
            raise TypeError(f"{name} must hold floating-point values, got {t.dtype}")
        if t.ndim != 2:
            raise ValueError(f"{name} must be 2-D (batch, dim), got shape {tuple(t.shape)}")
        if t.shape[1] == 0:
            raise ValueError(f"{name} must have at least one column, got shape {tuple(t.shape)}")
    if pred.shape[1] != target.shape[1] or (paired and len(pred) != len(target)):
        raise ValueError(f"pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    if pred.dtype != target.dtype:
        raise TypeError(f"pred and target dtypes differ: {pred.dtype} vs {target.dtype}")
    if min(len(pred), len(target)) < min_rows:
        raise ValueError(f"pred and target must hold at least {min_rows} rows for this loss, "
                         f"got {len(pred)} and {len(target)}")
    # One host sync per batch: a sum is finite only if every entry is, so only a
    # non-finite sum needs the element-wise test.
    flags = [pred.detach().sum(), target.detach().sum()]
    if directions:
        flags.append((target != 0).any(dim=1).all().to(pred.dtype))
    sum_pred, sum_target, *rest = torch.stack(flags).tolist()
    if not (math.isfinite(sum_pred) or bool(torch.isfinite(pred).all())):
        raise ValueError("pred contains NaN or inf (a diverging network? try a smaller lr)")
    if not (math.isfinite(sum_target) or bool(torch.isfinite(target).all())):
        raise ValueError("target contains NaN or inf")
    if rest and not rest[0]:
        row = int(torch.nonzero(~(target != 0).any(dim=1))[0, 0])
        raise ValueError(f"target row {row} is all zeros: it has no direction, so this cosine-based "
                         "loss is undefined for it")


def _cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # eps: an all-zero row gets cosine 0 rather than NaN
    return F.normalize(a, dim=1, eps=1e-12) @ F.normalize(b, dim=1, eps=1e-12).T


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error, over rows and dimensions (Keras' ``mean_squared_error``).

    .. math:: L = \frac{1}{n d} \sum_{i=1}^{n} \sum_{k=1}^{d} (\hat y_{ik} - y_{ik})^2
    """
    _check_pair(pred, target)
    return ((pred - target) ** 2).mean()


def mae_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Mean absolute error.

    .. math:: L = \frac{1}{n d} \sum_{i=1}^{n} \sum_{k=1}^{d} |\hat y_{ik} - y_{ik}|
    """
    _check_pair(pred, target)
    return (pred - target).abs().mean()


def cosine_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Cosine distance, averaged over the batch (Keras' ``cosine_proximity`` plus 1).

    .. math:: L = \frac{1}{n} \sum_{i=1}^{n}
              \left(1 - \frac{\hat y_i \cdot y_i}{\|\hat y_i\| \|y_i\|}\right)
    """
    _check_pair(pred, target, directions=True)
    return (1.0 - F.cosine_similarity(pred, target, dim=1, eps=1e-8)).mean()


# Below this, scipy's scaled ive(v, x) = I_v(x) e^{-x} is subnormal or 0.
_IVE_TINY = 1e-300
# Past this many series terms (orders in the tens of thousands) the Debye expansion
# takes over; there it is accurate to float64 anyway.
_MAX_SERIES_TERMS = 200_000
# Cap on the (rows x terms) work array of the series.
_SERIES_CHUNK = 1 << 22


def _series_terms(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    # Terms peak at j (v + j) = x^2 / 4 and then shrink faster than geometrically:
    # 12 widths sqrt(j*) past the peak (plus 30) is far beyond the last significant one.
    peak = 0.5 * (np.sqrt(v * v + x * x) - v)
    return (peak + 12.0 * np.sqrt(peak + 1.0) + 30.0).astype(np.int64)


def _log_iv_series(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""``log I_v(x)`` (``x > 0``) from :math:`I_v(x) = \sum_{j \ge 0} \frac{(x/2)^{v + 2j}}{j!\, \Gamma(v + j + 1)}`, in log space."""
    out = np.empty_like(v)
    if v.size == 0:
        return out
    j = np.arange(_series_terms(v, x).max(), dtype=np.float64)
    log_j_factorial = special.gammaln(j + 1.0)
    rows = max(1, _SERIES_CHUNK // j.size)
    for lo in range(0, v.size, rows):
        vc, xc = v[lo : lo + rows, None], x[lo : lo + rows, None]
        log_terms = (vc + 2.0 * j) * np.log(xc / 2.0) - log_j_factorial - special.gammaln(vc + j + 1.0)
        out[lo : lo + rows] = special.logsumexp(log_terms, axis=1)  # positive terms: no cancellation
    return out


def _log_iv_debye(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""``log I_v(x)`` (``v, x > 0``) from the uniform asymptotic (Debye) expansion, DLMF 10.41.3.

    With :math:`z = x / v`, :math:`t = 1/\sqrt{1+z^2}`, :math:`\eta = \sqrt{1+z^2} + \log\frac{z}{1+\sqrt{1+z^2}}`:

    .. math:: I_v(vz) \sim \frac{e^{v\eta}}{\sqrt{2\pi v}\,(1+z^2)^{1/4}} \sum_{k \ge 0} \frac{u_k(t)}{v^k};

    with u_1..u_4 (DLMF 10.41.10) the relative error is of order ``v**-5``.
    """
    root = np.sqrt(v * v + x * x)  # v sqrt(1 + z^2), written without z
    v_eta = root + v * (np.log(x) - np.log(v + root))
    t = v / root
    t2 = t * t
    u = [
        t * (3.0 - 5.0 * t2) / 24.0,
        t2 * (81.0 - 462.0 * t2 + 385.0 * t2**2) / 1152.0,
        t**3 * (30375.0 - 369603.0 * t2 + 765765.0 * t2**2 - 425425.0 * t2**3) / 414720.0,
        t2**2 * (4465125.0 - 94121676.0 * t2 + 349922430.0 * t2**2 - 446185740.0 * t2**3
                 + 185910725.0 * t2**4) / 39813120.0,
    ]
    correction = 1.0 + sum(uk / v ** (k + 1) for k, uk in enumerate(u))
    return v_eta - 0.5 * np.log(2.0 * np.pi * v) + 0.5 * np.log(t) + np.log(correction)


def log_bessel_iv(v, x) -> np.ndarray:
    r""":math:`\log I_v(x)`, the modified Bessel function of the first kind, in float64.

    For ``v >= 0`` and ``x >= 0`` (broadcast together), also where :math:`I_v(x)` over- or
    underflows: :math:`\log(\mathrm{ive}(v, x)) + x` where scipy's scaled ``ive`` is
    representable and ``x >= 1``, else the power series in log space, or the Debye
    expansion for orders in the tens of thousands.
    """
    v, x = _real_array(v, "v"), _real_array(x, "x")
    try:
        v, x = np.broadcast_arrays(v, x)
    except ValueError:
        raise ValueError(f"v and x must broadcast together, got shapes {v.shape} and {x.shape}")
    shape = v.shape
    v, x = v.ravel(), x.ravel()  # boolean masks then give 1-D selections
    with np.errstate(divide="ignore", under="ignore"):
        ive = special.ive(v, x)
    out = np.empty(v.shape, dtype=np.float64)
    # x < 1 goes to the series: log(ive) + x ~ (-x + x^2/4) + x cancels badly there.
    fine = np.isfinite(ive) & (ive > _IVE_TINY) & (x >= 1.0)
    out[fine] = np.log(ive[fine]) + x[fine]
    zero = x == 0.0
    out[zero] = np.where(v[zero] == 0.0, 0.0, -np.inf)  # I_0(0) = 1, I_v(0) = 0 for v > 0
    rest = np.flatnonzero(~fine & ~zero)
    debye = _series_terms(v[rest], x[rest]) > _MAX_SERIES_TERMS
    out[rest[~debye]] = _log_iv_series(v[rest[~debye]], x[rest[~debye]])
    out[rest[debye]] = _log_iv_debye(v[rest[debye]], x[rest[debye]])
    return out.reshape(shape)


def _real_array(a, name: str) -> np.ndarray:
    """float64 array of finite values >= 0, or an error naming ``name``."""
    raw = np.asarray(a)
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {raw.dtype}")
    if np.iscomplexobj(raw):
        raise TypeError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    out = raw.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite, got a NaN or inf")
    if np.any(out < 0):
        raise ValueError(f"{name} must be >= 0, got a minimum of {out.min()}")
    return out


def _log_iv_common(v: float, x: np.ndarray) -> np.ndarray | None:
    """:func:`log_bessel_iv` when every ``x`` is in its ``ive`` regime (the vMF loss's usual case), else None."""
    with np.errstate(divide="ignore", under="ignore"):
        ive = special.ive(v, x)
    if x.size == 0 or not (np.all(x >= 1.0) and np.all(np.isfinite(ive) & (ive > _IVE_TINY))):
        return None
    return np.log(ive) + x


def _log_iv(v: float, x: np.ndarray) -> np.ndarray:
    out = _log_iv_common(v, x)
    return log_bessel_iv(v, x) if out is None else out


def _log_vmf_normaliser_np(kappa: np.ndarray, m: int) -> np.ndarray:
    """float64 ``log C_m(kappa)``, with the finite limit at ``kappa = 0``."""
    v = m / 2.0 - 1.0
    out = np.empty_like(kappa)
    zero = kappa == 0.0
    # As kappa -> 0, kappa^v / I_v(kappa) -> 2^v Gamma(v + 1): C_m(0) = 1 / area(S^{m-1}).
    out[zero] = v * np.log(2.0) + special.gammaln(v + 1.0) - (m / 2.0) * np.log(2.0 * np.pi)
    k = kappa[~zero]
    out[~zero] = v * np.log(k) - (m / 2.0) * np.log(2.0 * np.pi) - _log_iv(v, k)
    return out


def _bessel_ratio_np(kappa: np.ndarray, m: int) -> np.ndarray:
    """``I_{m/2}(kappa) / I_{m/2-1}(kappa)`` as the exp of a difference of logs (no overflow)."""
    v = m / 2.0 - 1.0
    out = np.zeros_like(kappa)  # the ratio tends to kappa / m -> 0 at kappa = 0
    pos = kappa > 0.0
    out[pos] = np.exp(_log_iv(v + 1.0, kappa[pos]) - _log_iv(v, kappa[pos]))
    return out


class _LogVMFNormaliser(torch.autograd.Function):
    """Forward and backward in float64 numpy."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, m: int) -> torch.Tensor:
        ctx.m = m
        ctx.save_for_backward(kappa)
        value = _log_vmf_normaliser_np(kappa.detach().to("cpu", torch.float64).numpy(), m)
        return torch.from_numpy(value).to(device=kappa.device, dtype=kappa.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output: torch.Tensor):
        (kappa,) = ctx.saved_tensors
        k64 = kappa.detach().to("cpu", torch.float64).numpy()
        ratio = torch.from_numpy(_bessel_ratio_np(k64, ctx.m)).to(kappa.device, kappa.dtype)
        return -ratio * grad_output, None


def log_vmf_normaliser(kappa: torch.Tensor, m: int) -> torch.Tensor:
    r"""Log normalising constant of the von Mises-Fisher distribution on :math:`S^{m-1}`.

    .. math:: \log C_m(\kappa) = \left(\frac{m}{2} - 1\right)\log\kappa
              - \frac{m}{2}\log(2\pi) - \log I_{m/2-1}(\kappa), \qquad
              \frac{d}{d\kappa}\log C_m(\kappa) = -\frac{I_{m/2}(\kappa)}{I_{m/2-1}(\kappa)}

    Differentiable in ``kappa >= 0`` (any shape), finite where the Bessel functions over- or
    underflow; at ``kappa = 0`` the limit :math:`-\log|S^{m-1}|`. Computed on the CPU.
    """
    if not isinstance(kappa, torch.Tensor):
        raise TypeError(f"kappa must be a torch tensor, got {type(kappa).__name__}")
    if not kappa.is_floating_point():
        raise TypeError(f"kappa must hold floating-point values, got {kappa.dtype}")
    check_int(m, "m", minimum=2)
    if kappa.numel() and (not torch.isfinite(kappa).all() or (kappa < 0).any()):
        raise ValueError("kappa must be finite and >= 0")
    return _LogVMFNormaliser.apply(kappa, int(m))


def vmf_loss(pred: torch.Tensor, target: torch.Tensor, *, reg: str | None = None,
             lam: float | None = None) -> torch.Tensor:
    r"""Negative log-likelihood of a von Mises-Fisher distribution (Kumar & Tsvetkov, 2019).

    The output :math:`\hat e` is a vMF with mean direction :math:`\hat e / \|\hat e\|` and
    concentration :math:`\kappa = \|\hat e\|`; the target :math:`e` is normalised; :math:`m`
    is the dimension.

    ``reg=None``
        :math:`-\log C_m(\kappa) - \hat e^\top e`
    ``reg="kappa"`` (NLLvMF\ :sub:`reg1`, default ``lam=0.02``)
        :math:`-\log C_m(\kappa) - \hat e^\top e + \lambda_1 \kappa`
    ``reg="scale"`` (NLLvMF\ :sub:`reg2`, default ``lam=0.1``)
        :math:`-\log C_m(\kappa) - \lambda_2\, \hat e^\top e`

    In :math:`\kappa` the plain NLL has derivative :math:`A_m(\kappa) - \cos\theta`, with
    :math:`A_m = I_{m/2} / I_{m/2-1}` rising from 0 to 1: the optimal :math:`\kappa` is finite.
    """
    check_choice(reg, "reg", (None, "kappa", "scale"))
    if reg is None and lam is not None:
        raise ValueError("lam is only used with reg='kappa' or reg='scale'")
    if reg is not None:  # a negative strength would reward growing kappa
        lam = check_real(VMF_DEFAULT_LAMBDA[reg] if lam is None else lam, "lam", low=0.0)
    _check_pair(pred, target, directions=True)
    e = F.normalize(target, dim=1, eps=1e-12)
    kappa = torch.linalg.vector_norm(pred, dim=1)
    dot = (pred * e).sum(dim=1)
    nll = -log_vmf_normaliser(kappa, pred.shape[1]) - (lam if reg == "scale" else 1.0) * dot
    if reg == "kappa":
        nll = nll + lam * kappa
    return nll.mean()


def _sinkhorn_log_plan(cost: torch.Tensor, epsilon: float, n_iter: int) -> torch.Tensor:
    """Log of the entropic plan between uniform marginals, by log-domain Sinkhorn (the reference)."""
    n, k = cost.shape
    log_a = torch.full((n,), -np.log(n), dtype=cost.dtype, device=cost.device)
    log_b = torch.full((k,), -np.log(k), dtype=cost.dtype, device=cost.device)
    f = torch.zeros_like(log_a)
    g = torch.zeros_like(log_b)
    # logsumexp instead of K = exp(-C / eps): a small epsilon cannot underflow K
    for _ in range(n_iter):
        f = -epsilon * torch.logsumexp((g[None, :] - cost) / epsilon + log_b[None, :], dim=1)
        g = -epsilon * torch.logsumexp((f[:, None] - cost) / epsilon + log_a[:, None], dim=0)
    return (f[:, None] + g[None, :] - cost) / epsilon + log_a[:, None] + log_b[None, :]


# Largest cost range / epsilon for the scaling form (float64): K >= exp(-limit), the
# scalings <= ~n exp(limit), and autograd squares them (d(1/x) = -dx / x^2), so
# 2 * limit must stay well inside exp(709).
_SCALING_LIMIT = 200.0


class _SinkhornScalings(torch.autograd.Function):
    """Scalings after ``n_iter`` updates ``s_t = K v_{t-1}``, ``u_t = a / s_t``, ``r_t = K^T u_t``, ``v_t = b / r_t``.

    The hand-written backward gathers the gradient of ``K`` as two ``(n x T) (T x k)``
    products instead of ``2T`` outer products.
    """

    @staticmethod
    def forward(ctx, K, a, b, n_iter):
        us, vs_prev, ss, rs, vs = [], [], [], [], []
        v = b
        for _ in range(n_iter):
            s = K @ v
            u = a / s
            r = K.T @ u
            vs_prev.append(v)
            v = b / r
            us.append(u), ss.append(s), rs.append(r), vs.append(v)
        ctx.save_for_backward(K, *(torch.stack(x) for x in (us, vs_prev, ss, rs, vs)))
        return u, v

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_u, grad_v):
        K, us, vs_prev, ss, rs, vs = ctx.saved_tensors
        r_bar, s_bar = torch.empty_like(rs), torch.empty_like(ss)
        u_bar = grad_u if grad_u is not None else torch.zeros_like(us[0])
        v_bar = grad_v if grad_v is not None else torch.zeros_like(vs[0])
        for t in range(len(us) - 1, -1, -1):
            r_bar[t] = -v_bar * vs[t] / rs[t]                 # v_t = b / r_t
            u_bar = u_bar + K @ r_bar[t]                      # r_t = K^T u_t
            s_bar[t] = -u_bar * us[t] / ss[t]                 # u_t = a / s_t
            v_bar = K.T @ s_bar[t]                            # s_t = K v_{t-1}
            u_bar = torch.zeros_like(u_bar)                   # u_{t-1} feeds nothing else
        return us.T @ r_bar + s_bar.T @ vs_prev, None, None, None


def _sinkhorn_scaling_plan(cost: torch.Tensor, epsilon: float, n_iter: int) -> torch.Tensor:
    """:func:`_sinkhorn_log_plan`'s iterates as ``u = a / (K v)``, ``v = b / (K^T u)``, in float64."""
    n, k = cost.shape
    c64 = cost.to(torch.float64)
    # Shifting C rescales K, u and v but not the plan; it bounds K to (exp(-range / eps), 1].
    K = torch.exp(-(c64 - c64.detach().min()) / epsilon)
    a = torch.full((n,), 1.0 / n, dtype=torch.float64, device=cost.device)
    b = torch.full((k,), 1.0 / k, dtype=torch.float64, device=cost.device)
    u, v = _SinkhornScalings.apply(K, a, b, n_iter)  # v_0 = b: g = 0 at the start
    return (u[:, None] * K * v[None, :]).to(cost.dtype)


def _sinkhorn_transport_plan(cost: torch.Tensor, epsilon: float, n_iter: int) -> torch.Tensor:
    """The scaling form (faster) when the cost range allows, else the log domain."""
    spread = float((cost.detach().max() - cost.detach().min()) / epsilon)
    if spread <= _SCALING_LIMIT:
        return _sinkhorn_scaling_plan(cost, epsilon, n_iter)
    return _sinkhorn_log_plan(cost, epsilon, n_iter).exp()


def _sinkhorn_cost(pred, target, epsilon, n_iter) -> torch.Tensor:
    _check_pair(pred, target, directions=True, paired=False)
    check_real(epsilon, "epsilon", low=0.0, low_open=True)
    check_int(n_iter, "n_iter", minimum=1)
    return 1.0 - _cosine_matrix(pred, target)


def sinkhorn_plan(pred: torch.Tensor, target: torch.Tensor, *, epsilon: float = 0.05,
                  n_iter: int = 50) -> torch.Tensor:
    """Entropic transport plan ``(n, k)`` of :func:`sinkhorn_loss` between ``pred`` (n, d) and ``target`` (k, d).

    Rows sum to ``1/n`` (up to convergence), columns to ``1/k`` (exactly, after the last update).
    """
    return _sinkhorn_transport_plan(_sinkhorn_cost(pred, target, epsilon, n_iter), epsilon, n_iter)


def sinkhorn_loss(pred: torch.Tensor, target: torch.Tensor, *, epsilon: float = 0.05,
                  n_iter: int = 50, paired_weight: float = 0.0) -> torch.Tensor:
    r"""Entropic optimal-transport cost between the predicted and the target batch.

    Sinkhorn iterations between equally weighted clouds, cost :math:`C_{ij} = 1 - \cos(\hat y_i, y_j)`:

    .. math:: P^\star = \arg\min_{P \in U(a, b)} \langle P, C \rangle
              - \varepsilon H(P), \qquad a = \tfrac{1}{n}\mathbf 1,\ b = \tfrac1k \mathbf 1,

    and the loss is :math:`\langle P^\star, C\rangle`. Smaller ``epsilon`` (the cost lies in
    ``[0, 2]``) is closer to exact transport but converges more slowly. **It matches
    distributions, not pairs**: ``paired_weight > 0`` adds ``paired_weight *
    cosine_loss(pred, target)`` to anchor each prediction to its own target.
    """
    cost = _sinkhorn_cost(pred, target, epsilon, n_iter)
    check_real(paired_weight, "paired_weight", low=0.0)
    loss = (_sinkhorn_transport_plan(cost, epsilon, n_iter) * cost).sum()
    if paired_weight:
        loss = loss + paired_weight * cosine_loss(pred, target)
    return loss


def info_nce_loss(pred: torch.Tensor, target: torch.Tensor, *, temperature: float = 0.1) -> torch.Tensor:
    r"""InfoNCE (contrastive) loss with the other targets in the batch as negatives.

    Shown in notebook 05, section 1 (written out and checked against this function).

    .. math:: L = -\frac{1}{n} \sum_{i=1}^{n} \log
              \frac{\exp(\cos(\hat y_i, y_i) / T)}{\sum_{j=1}^{n} \exp(\cos(\hat y_i, y_j) / T)}

    It rewards ranking the true target first, as retrieval measures.
    """
    check_real(temperature, "temperature", low=0.0, low_open=True)
    _check_pair(pred, target, directions=True)
    logits = _cosine_matrix(pred, target) / temperature
    return F.cross_entropy(logits, torch.arange(pred.shape[0], device=pred.device))


def csls_margin_loss(pred: torch.Tensor, target: torch.Tensor, *, margin: float = 0.2,
                     csls_k: int = 10, hardest: bool = False) -> torch.Tensor:
    r"""Margin ranking loss on CSLS scores within the batch (Conneau et al., 2018).

    With :math:`S_{ij} = \cos(\hat y_i, y_j)` over the batch and :math:`K` = ``csls_k``
    clipped to ``n - 1`` (neighbourhoods within the batch, positive included),

    .. math::
        r_T(\hat y_i) = \tfrac1K \textstyle\sum_{\text{top-}K\ j} S_{ij}, \quad
        r_S(y_j) = \tfrac1K \textstyle\sum_{\text{top-}K\ i} S_{ij}, \quad
        s_{ij} = 2 S_{ij} - r_T(\hat y_i) - r_S(y_j),

    .. math:: L = \frac{1}{n(n-1)} \sum_i \sum_{j \ne i} \max(0,\ \text{margin} - s_{ii} + s_{ij}),

    or with ``hardest=True`` only the largest :math:`s_{ij}` per row,
    :math:`L = \frac1n \sum_i \max(0, \text{margin} - s_{ii} + \max_{j\ne i} s_{ij})`.
    """
    _check_pair(pred, target, min_rows=2, directions=True)
    check_real(margin, "margin")
    check_int(csls_k, "csls_k", minimum=1)
    check_bool(hardest, "hardest")
    n = pred.shape[0]
    k = min(int(csls_k), n - 1)
    sim = _cosine_matrix(pred, target)
    r_target = sim.topk(k, dim=1).values.mean(dim=1)
    r_source = sim.topk(k, dim=0).values.mean(dim=0)
    score = 2.0 * sim - r_target[:, None] - r_source[None, :]
    hinge = (margin - score.diagonal()[:, None] + score).clamp(min=0.0)
    off_diag = ~torch.eye(n, dtype=torch.bool, device=pred.device)
    if hardest:
        return hinge.masked_fill(~off_diag, float("-inf")).max(dim=1).values.mean()
    return hinge[off_diag].mean()


class SoftmaxOverTargets:
    r"""Cross entropy of a softmax over every training target: retrieval as the loss.

    Shown in notebook 05, section 5.

    .. math:: L = -\frac{1}{n} \sum_{i=1}^{n} \log
              \frac{\exp(\cos(\hat y_i, y_{g_i}) / T)}{\sum_{j=1}^{N} \exp(\cos(\hat y_i, y_j) / T)}

    over all :math:`N` rows of ``targets`` (``rows`` holds the gold rows
    :math:`g_i`), not only the batch's as :func:`info_nce_loss` does: the
    training objective is the test (find the gold among all candidates), at
    the cost of an ``n x N`` product per batch. :func:`~embmap.neural.train_mapper`
    passes the training targets and the batch's rows.
    """

    def __init__(self, temperature: float = 0.05):
        self.temperature = check_real(temperature, "temperature", low=0.0, low_open=True)

    def __repr__(self) -> str:
        return f"SoftmaxOverTargets(temperature={self.temperature:g})"

    def __call__(self, pred: torch.Tensor, targets: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, targets, directions=True, paired=False)
        rows = torch.as_tensor(rows, device=pred.device)
        if rows.shape != (pred.shape[0],) or rows.dtype not in (torch.int32, torch.int64):
            raise ValueError(f"rows must be {pred.shape[0]} integer row numbers of targets, "
                             f"got shape {tuple(rows.shape)} and dtype {rows.dtype}")
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= targets.shape[0]):
            raise ValueError(f"rows must lie in [0, {targets.shape[0]}), got values from "
                             f"{int(rows.min())} to {int(rows.max())}")
        logits = _cosine_matrix(pred, targets) / self.temperature
        return F.cross_entropy(logits, rows)


LOSSES = {"mse": mse_loss, "mae": mae_loss, "cosine": cosine_loss, "vmf": vmf_loss,
          "sinkhorn": sinkhorn_loss, "infonce": info_nce_loss, "csls_margin": csls_margin_loss}
"""Loss functions by name, for ``train_mapper(loss="...")`` and ``MLPMap(loss="...")``."""
