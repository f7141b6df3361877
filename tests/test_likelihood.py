"""The IWAE estimator and the Gaussian KL against closed-form answers (float64, CPU, no training)."""

import math

import pytest
import torch

from genlab.metrics.likelihood import (
    diagonal_gaussian_proposal,
    importance_weighted_log_likelihood,
    standard_normal_log_density,
)
from genlab.models.vae import gaussian_kl


def linear_gaussian(seed=0, d=5, p=3, noise=0.5):
    """p(z) = N(0, I_p), p(x|z) = N(W z + b, noise^2 I_d): log p(x) and the posterior are closed form."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, p, generator=g, dtype=torch.float64)
    b = torch.randn(d, generator=g, dtype=torch.float64)
    x = torch.randn(8, d, generator=g, dtype=torch.float64) * 2
    marginal = torch.distributions.MultivariateNormal(b, w @ w.T + noise**2 * torch.eye(d, dtype=torch.float64))
    post_cov = torch.linalg.inv(torch.eye(p, dtype=torch.float64) + w.T @ w / noise**2)
    post_mean = (x - b) @ w @ post_cov.T / noise**2  # [N, p]

    def log_joint(xs, z):  # z [m, N, p]
        mean = z @ w.T + b
        log_px = -0.5 * (((xs - mean) / noise) ** 2).sum(-1) - d * math.log(noise) - 0.5 * d * math.log(2 * math.pi)
        return log_px + standard_normal_log_density(z)

    return x, marginal.log_prob(x), post_mean, post_cov, log_joint


def test_iwae_with_the_exact_posterior_is_exact_for_any_k():
    x, log_px, post_mean, post_cov, log_joint = linear_gaussian()

    def propose(xs, m):
        posterior = torch.distributions.MultivariateNormal(post_mean, post_cov)
        z = posterior.sample((m,))
        return z, posterior.log_prob(z)

    for k in (1, 7, 300):
        estimate = importance_weighted_log_likelihood(x, propose, log_joint, k, max_values=50)
        assert estimate.dtype == torch.float64
        torch.testing.assert_close(estimate, log_px, rtol=0, atol=1e-9)


def test_iwae_bound_tightens_with_k_towards_log_px():
    torch.manual_seed(0)
    x, log_px, post_mean, post_cov, log_joint = linear_gaussian()
    # A deliberately poor diagonal proposal: the right mean, twice the posterior's spread.
    variances = torch.diagonal(post_cov).expand_as(post_mean) * 4
    propose = diagonal_gaussian_proposal(lambda xs: (post_mean, variances.log()))
    bounds = {
        k: torch.stack([importance_weighted_log_likelihood(x, propose, log_joint, k) for _ in range(20)]).mean(0)
        for k in (1, 10, 2000)
    }
    gap = {k: (log_px - bound).mean().item() for k, bound in bounds.items()}
    assert gap[1] > gap[10] > gap[2000] > -0.01  # L_1 <= L_10 <= L_2000 <= log p(x), up to Monte Carlo noise
    assert gap[1] > 0.2 and gap[2000] < 0.02


def test_iwae_chunking_does_not_change_the_estimate():
    x, _, post_mean, post_cov, log_joint = linear_gaussian()
    k = 64
    torch.manual_seed(3)
    eps = torch.randn(k, *post_mean.shape, dtype=torch.float64)
    spread = torch.diagonal(post_cov).sqrt() * 1.5
    posterior = torch.distributions.Normal(post_mean, spread)

    def replay(chunk_sizes):
        """A proposal that hands out the same k pre-drawn samples in order, whatever the chunk size."""
        used = []

        def propose(xs, m):
            z = post_mean + eps[len(used) : len(used) + m] * spread
            used.extend(range(m))
            chunk_sizes.append(m)
            return z, posterior.log_prob(z).sum(-1)

        return propose

    whole_sizes, chunked_sizes = [], []
    whole = importance_weighted_log_likelihood(x, replay(whole_sizes), log_joint, k)
    chunked = importance_weighted_log_likelihood(x, replay(chunked_sizes), log_joint, k, max_values=8 * 5)
    assert whole_sizes == [64] and chunked_sizes == [5] * 12 + [4]
    torch.testing.assert_close(whole, chunked, rtol=0, atol=1e-12)


def test_gaussian_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mean = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, -1.5, 0.7], [1.0, -0.3, 0.0]], dtype=torch.float64)
    n = 200_000
    eps = torch.randn(n, *mean.shape, dtype=torch.float64)
    z = mean + eps * torch.exp(0.5 * logvar)
    log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
    samples = log_q - standard_normal_log_density(z)  # [n, 2]
    monte_carlo, stderr = samples.mean(0), samples.std(0) / math.sqrt(n)
    closed = gaussian_kl(mean, logvar)
    assert torch.all((closed - monte_carlo).abs() < 4 * stderr), (closed, monte_carlo, stderr)
    assert gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4)).item() == pytest.approx(0.0)
