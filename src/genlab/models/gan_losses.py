"""The objectives of a GAN's two players, and the regularisers of each.

Discriminator outputs are logits (or, for a Wasserstein critic, unbounded
scores) [B]; D(x) = sigmoid(logit). The binary cross-entropy terms are written
with softplus, which is log(1 + e^t) computed stably:
    -log D(x)       = softplus(-logit)
    -log(1 - D(x))  = softplus(logit)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("non-saturating", "minimax", "wasserstein-gp")


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss from its outputs on real [B] and generated [B'] images.

    Binary losses: L_D = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))).
    wasserstein-gp: L_C = E C(G(z)) - E C(x) (the gradient penalty is added by the caller).
    """
    if kind == "wasserstein-gp":
        return fake.mean() - real.mean()
    return 0.5 * F.softplus(-real).mean() + 0.5 * F.softplus(fake).mean()


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss from the discriminator's outputs on generated images [B].

    non-saturating: L_G = -1/2 E log D(G(z))     (strong gradients while D wins)
    minimax:        L_G = +1/2 E log(1 - D(G(z))) (the zero-sum game; weak gradients early)
    wasserstein-gp: L_G = -E C(G(z))
    """
    if kind == "wasserstein-gp":
        return -fake.mean()
    if kind == "minimax":
        return -0.5 * F.softplus(fake).mean()
    return 0.5 * F.softplus(-fake).mean()


def gradient_penalty(
    critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """E (||grad_x C(x_hat)||_2 - 1)^2 at x_hat = eps x + (1 - eps) G(z), one eps ~ U(0, 1) per sample.

    `real` and `fake` are [B, ...] (fake detached); the norm is over every
    dimension but the batch. The graph is kept so the penalty can be minimised.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(mixed, labels) if labels is not None else critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def path_speed_penalty(generator, n: int, labels: torch.Tensor | None = None, delta: float = 1e-2) -> torch.Tensor:
    """Mean squared image-space speed of the generator along random straight latent lines.

    For latents w1, w2 (from z ~ N(0, I) and, when conditional, `labels` [n]) and
    t ~ U(0, 1), the speed of t -> G(w1 + t (w2 - w1)) is estimated by a forward
    difference of step `delta` and measured as the per-pixel mean of squares:
    E_t ||dG/dt||^2 / D (D = pixels). Its integral over t bounds the squared
    image-space length of the decoded line from above, so penalising it makes
    decoded latent paths short and evenly paced. Both points go through the
    generator in one batch, so batch norm treats them alike.
    """
    device = next(generator.parameters()).device
    z = torch.randn(2, n, generator.z_dim, device=device)
    shuffled = None if labels is None else labels[torch.randperm(n, device=device)]
    start, end = generator.latent(z[0], labels), generator.latent(z[1], shuffled)
    t = torch.rand(n, 1, device=device)
    here = start + t * (end - start)
    images = generator.decode(torch.cat([here, here + delta * (end - start)]))
    step = (images[n:] - images[:n]).flatten(1)
    return step.pow(2).mean() / delta**2


def mode_seeking_penalty(generator, n: int, labels: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """1 / (ratio + eps) for the mode-seeking ratio of Mao et al. (2019), MSGAN:
    ratio = mean |G(z1, y) - G(z2, y)| / mean |z1 - z2| over n pairs of noises
    drawn for the same labels `y` [n] (none for unconditional generators).

    A generator that ignores its noise (one image per class) has a ratio near 0
    and so a large penalty; minimising it pushes distinct noises to distinct
    images. Both halves go through the generator in one batch, so batch norm
    treats them alike.
    """
    device = next(generator.parameters()).device
    z = torch.randn(2 * n, generator.z_dim, device=device)
    images = generator(z, None if labels is None else torch.cat([labels, labels]))
    image_gap = (images[:n] - images[n:]).abs().flatten(1).mean(1)
    noise_gap = (z[:n] - z[n:]).abs().mean(1)
    return 1.0 / ((image_gap / noise_gap).mean() + eps)
