"""Gradient checks: autograd against a closed form, and against finite differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch


@dataclass
class GradientReport:
    autograd_norm: float
    closed_form_norm: float
    max_abs_diff: float
    max_rel_diff: float
    tolerance: float

    @property
    def agree(self) -> bool:
        return self.max_rel_diff <= self.tolerance


def least_squares_check(n: int = 50, d: int = 10, seed: int = 0, tolerance: float = 1e-10) -> GradientReport:
    """Compare autograd's gradient of L(w) = ||Xw - y||^2 at a random w with the closed
    form 2 X^T X w - 2 X^T y, in float64. X [n, d], y [n], w [d]."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    y = torch.randn(n, generator=generator, dtype=torch.float64)
    w = torch.randn(d, generator=generator, dtype=torch.float64, requires_grad=True)
    loss = (X @ w - y).pow(2).sum()
    (autograd,) = torch.autograd.grad(loss, w)
    closed = 2 * X.T @ X @ w.detach() - 2 * X.T @ y
    diff = (autograd - closed).abs()
    relative = diff / closed.abs().clamp_min(torch.finfo(torch.float64).tiny)
    return GradientReport(
        autograd.norm().item(), closed.norm().item(), diff.max().item(), relative.max().item(), tolerance
    )


def check_gradients(
    f: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> float:
    """Compare autograd gradients of the scalar `f()` w.r.t. `params` with central finite
    differences (f(p + eps) - f(p - eps)) / 2 eps, element by element.

    Use float64 parameters. Returns the largest absolute difference; raises
    AssertionError naming the parameter and element where |difference| exceeds
    atol + rtol * |finite difference|.
    """
    grads = torch.autograd.grad(f(), list(params))
    worst = 0.0
    with torch.no_grad():
        for index, (param, grad) in enumerate(zip(params, grads)):
            flat, flat_grad = param.view(-1), grad.reshape(-1)
            for i in range(flat.numel()):
                original = flat[i].item()
                flat[i] = original + eps
                upper = f().item()
                flat[i] = original - eps
                lower = f().item()
                flat[i] = original
                numeric = (upper - lower) / (2 * eps)
                analytic = flat_grad[i].item()
                error = abs(numeric - analytic)
                if error > atol + rtol * abs(numeric):
                    raise AssertionError(
                        f"parameter {index} element {i}: autograd {analytic:.10g} vs finite difference {numeric:.10g}"
                    )
                worst = max(worst, error)
    return worst
