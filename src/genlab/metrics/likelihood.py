"""Importance-weighted estimates of log p(x) for latent-variable models (Burda et al., IWAE).

    log p(x) >= L_K(x) = E[ log (1/K) sum_k p(x, z_k) / q(z_k | x) ],   z_k ~ q(. | x)

L_1 is the ELBO, L_K grows with K and tends to log p(x). The estimator here is
model-agnostic: it takes a proposal (draw z and return log q) and the log joint
density, so any encoder/decoder pair fits. The log weights and their log-mean-
exp are accumulated in float64 (a sum of 784 per-pixel terms of ~0.1 nats and a
log-sum-exp over 1000 weights lose digits in float32); the networks run in their
own precision. Work is batched over images and over the K samples, so memory is
bounded whatever K is.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

#: (x [B, ...], m) -> (z [m, B, p], log q(z | x) [m, B] float64)
Proposal = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]
#: (x [B, ...], z [m, B, p]) -> log p(x, z) [m, B] float64
LogJoint = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOG_2PI = math.log(2.0 * math.pi)


@torch.no_grad()
def importance_weighted_log_likelihood(
    x: torch.Tensor,
    propose: Proposal,
    log_joint: LogJoint,
    k: int,
    values_per_sample: int = 1,
    max_values: int = 4_000_000,
) -> torch.Tensor:
    """L_K(x) per row of x [N, ...]: log (1/k) sum_i exp(log p(x, z_i) - log q(z_i | x)); float64 [N], nats.

    The k samples are drawn in chunks of m so that m * N * values_per_sample stays
    under `max_values` (values_per_sample: the size of one decoder output, e.g. 784),
    and combined with a running log-sum-exp.
    """
    return importance_weighted_bounds(x, propose, log_joint, k, values_per_sample, max_values)[0]


@torch.no_grad()
def importance_weighted_bounds(
    x: torch.Tensor,
    propose: Proposal,
    log_joint: LogJoint,
    k: int,
    values_per_sample: int = 1,
    max_values: int = 4_000_000,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_K(x), ELBO(x)) per row, both float64 [N] in nats, from the same k draws.

    The ELBO is the mean of the k log weights (a k-sample average of L_1), so
    L_K >= ELBO holds row by row (Jensen), not only in expectation.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = x.shape[0]
    chunk = max(1, min(k, max_values // max(1, n * values_per_sample)))
    total = torch.full((n,), -math.inf, dtype=torch.float64, device=x.device)
    weight_sum = torch.zeros(n, dtype=torch.float64, device=x.device)
    drawn = 0
    while drawn < k:
        m = min(chunk, k - drawn)
        z, log_q = propose(x, m)
        log_weights = log_joint(x, z).double() - log_q.double()
        total = torch.logaddexp(total, torch.logsumexp(log_weights, dim=0))
        weight_sum += log_weights.sum(0)
        drawn += m
    return total - math.log(k), weight_sum / k


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dimension, in float64: [..., p] -> [...]."""
    z = z.double()
    return -0.5 * (z.pow(2).sum(-1) + z.shape[-1] * LOG_2PI)


def diagonal_gaussian_proposal(posterior: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> Proposal:
    """A proposal q(z|x) = N(mean(x), diag(exp(logvar(x)))) from `posterior(x) -> (mean, logvar)` [B, p].

    Samples and their log densities are formed in float64 from the encoder's outputs.
    """

    def propose(x: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = (t.double() for t in posterior(x))
        eps = torch.randn((m, *mean.shape), dtype=torch.float64, device=mean.device)
        z = mean + eps * torch.exp(0.5 * logvar)
        log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)
        return z, log_q

    return propose
