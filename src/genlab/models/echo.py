"""The echo-noise autoencoder (Brekelmans et al. 2019, "Exact Rate-Distortion in Autoencoders via
Echo Noise").

The encoder gives two functions of x: f(x) in [-M, M]^p and a diagonal S(x) with
entries in (0, r), r < 1. The code is

    z = f(x0) + S(x0) z1,   z1 = f(x1) + S(x1) z2,   ...   (x0 = x; x1, x2, ... other data)
      = f(x0) + S(x0) eps,  eps = sum_{l >= 1} S(x1) ... S(x_{l-1}) f(x_l)

so the noise eps is itself a code of other data and has the distribution of z
(the aggregate posterior q(z)). Hence h(z | x) = h(eps) + log |det S(x)| and the
mutual information is exact:

    I(x; z) = h(z) - h(z | x) = -E_x[log |det S(x)|] = -E_x[sum_i log s_i(x)]   nats.

Sampling: the x_l of a training image are other images of its batch (distinct and
never itself while the batch is large enough, otherwise drawn with replacement).
Truncation: the series stops after d terms; with |f| <= M and s_i < r every
dropped term is below M r^(l-1), so the error of every coordinate of eps is at
most M r^d / (1 - r). d is the smallest depth that puts this under
`--echo-tolerance`. docs/vae.md has the derivation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.config import check_range, option
from genlab.errors import GenlabError
from genlab.models.base import ModelSpec
from genlab.models.stochastic_ae import StochasticAEConfig, StochasticAEFamily, mlp, reconstruction_nll
from genlab.models.vae import MLPDecoder
from genlab.train.runfolder import described

#: Above this many rows, echo samples are drawn with replacement (sorting B x B keys would cost too much).
WITHOUT_REPLACEMENT_MAX_ROWS = 1024


def truncation_bound(depth: int, s_max: float, f_max: float = 1.0) -> float:
    """Largest possible error of any coordinate of eps after `depth` terms: f_max * s_max^depth / (1 - s_max)."""
    return f_max * s_max**depth / (1.0 - s_max)


def truncation_depth(tolerance: float, s_max: float, f_max: float = 1.0) -> int:
    """Smallest depth d >= 1 with truncation_bound(d, s_max, f_max) <= tolerance."""
    if not 0 < s_max < 1:
        raise ValueError(f"s_max must be in (0, 1), got {s_max}")
    depth = max(1, math.ceil(math.log(tolerance * (1.0 - s_max) / f_max) / math.log(s_max)))
    while truncation_bound(depth, s_max, f_max) > tolerance:  # guard against rounding in the logarithms
        depth += 1
    return depth


def echo_partners(batch: int, depth: int, device: torch.device) -> torch.Tensor:
    """Indices [batch, depth] of the other rows whose codes form each row's noise.

    Row i never uses itself. While depth < batch and the batch is small enough the
    partners are distinct (a random permutation of the other rows); otherwise they are
    drawn uniformly with replacement from the other rows.
    """
    if batch < 2:
        raise GenlabError("echo noise needs at least 2 examples per batch; raise --batch-size")
    rows = torch.arange(batch, device=device)
    if depth < batch and batch <= WITHOUT_REPLACEMENT_MAX_ROWS:
        keys = torch.rand(batch, batch, device=device)
        keys[rows, rows] = 2.0  # sorts last, so a row is never its own partner
        return keys.argsort(dim=1)[:, :depth]
    offsets = torch.randint(1, batch, (batch, depth), device=device)
    return (rows[:, None] + offsets) % batch


def echo_noise(f: torch.Tensor, log_s: torch.Tensor, depth: int, partners: torch.Tensor | None = None) -> torch.Tensor:
    """Truncated echo noise eps [B, p] for every row of a batch of encodings f, log_s [B, p].

    eps_i = sum_{l=1..depth} (prod_{j<l} s(x_j)) f(x_l) over the partners x_1..x_depth of row i
    (`partners` [B, >= depth], drawn by `echo_partners` unless given), the products formed as
    exponentials of cumulative sums of log s.
    """
    if partners is None:
        partners = echo_partners(f.shape[0], depth, f.device)
    partners = partners[:, :depth]
    chosen_f, chosen_log_s = f[partners], log_s[partners]  # [B, depth, p]
    # exclusive cumulative sum: the l-th term carries the scales of partners 1..l-1
    scale = torch.exp(torch.cumsum(chosen_log_s, dim=1) - chosen_log_s)
    return (scale * chosen_f).sum(dim=1)


class EchoEncoder(nn.Module):
    """x [B, D] -> (f [B, p] in [-f_max, f_max], log s [B, p] with s in (0, s_max)).

    tanh bounds f and s = s_max * sigmoid(.) bounds the scales, which is what makes the
    echo series converge (the spectral norm of the diagonal S(x) is max_i s_i < s_max < 1).
    """

    def __init__(
        self,
        input_dim: int,
        hidden: tuple[int, ...],
        latent_dim: int,
        activation: str,
        dropout: float,
        s_max: float,
        f_max: float = 1.0,
    ):
        super().__init__()
        self.trunk = mlp((input_dim, *hidden), activation, dropout)
        self.head = nn.Linear(hidden[-1] if hidden else input_dim, 2 * latent_dim)
        self.log_s_max = math.log(s_max)
        self.f_max = f_max

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f, s = self.head(self.trunk(x.flatten(1))).chunk(2, dim=1)
        return self.f_max * torch.tanh(f), self.log_s_max + F.logsigmoid(s)


class EchoAutoencoder(nn.Module):
    """Echo encoder, MLP decoder (Bernoulli logits), and a running mean of the codes (E[z] = E[eps])."""

    def __init__(
        self, encoder: EchoEncoder, decoder: nn.Module, latent_dim: int, output_shape: tuple[int, ...], depth: int
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.output_shape = tuple(output_shape)
        self.depth = depth
        self.register_buffer("code_mean", torch.zeros(latent_dim))

    def codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z [B, p], log s [B, p]): noisy codes of a batch, the noise echoing the batch's other rows."""
        f, log_s = self.encoder(x)
        z = f + torch.exp(log_s) * echo_noise(f, log_s, self.depth)
        if self.training:
            with torch.no_grad():  # E[eps] = E[z]: tracked to centre the noise-free code (see `conditional_mean`)
                self.code_mean.lerp_(z.mean(0).float(), 0.01)
        return z, log_s

    def conditional_mean(self, x: torch.Tensor) -> torch.Tensor:
        """E[z | x] = f(x) + s(x) * E[eps], with E[eps] the running mean of the codes: [B, p]."""
        f, log_s = self.encoder(x)
        return f + torch.exp(log_s) * self.code_mean


@dataclass(frozen=True)
class EchoConfig(StochasticAEConfig):
    """Options of the echo-noise autoencoder."""

    s_max: float = option(0.8, "bound r < 1 on the entries of the diagonal S(x) (its spectral norm)")
    echo_tolerance: float = option(
        1e-4, "largest allowed truncation error of the echo noise, per coordinate; sets the depth of the series"
    )
    epochs: int = option(20, "passes over the training split")

    def __post_init__(self):
        super().__post_init__()
        check_range(self, "s_max", low=0, high=1, low_open=True, high_open=True)
        check_range(self, "echo_tolerance", low=0, low_open=True)
        if self.batch_size < 2:
            raise GenlabError(
                f"--batch-size must be >= 2 for echo noise (the noise comes from other examples "
                f"of the batch), got {self.batch_size}"
            )

    @property
    def depth(self) -> int:
        return truncation_depth(self.echo_tolerance, self.s_max)


class EchoFamily(StochasticAEFamily):
    """Trains reconstruction + beta * I(x; z) with the exact echo-noise rate."""

    config_cls = EchoConfig
    rate_name = "rate"
    headline = ("test_loss", "test_rate", "test_reconstruction")

    def build(self) -> nn.Module:
        self.check_data()
        config, data = self.config, self.data
        encoder = EchoEncoder(
            data.input_dim, config.hidden, config.latent_dim, config.activation, config.dropout, config.s_max
        )
        decoder = MLPDecoder(config.latent_dim, config.hidden, data.input_dim, config.activation)
        decoder.init_output_bias(self.mean_image_logits())
        return EchoAutoencoder(encoder, decoder, config.latent_dim, data.input_shape, config.depth)

    def terms(self, model, x):
        z, log_s = model.codes(x)
        return reconstruction_nll(model.decoder(z), x.flatten(1), self.config.recon), -log_s.sum(1)

    # -- capabilities --------------------------------------------------------------
    def encode(self, model, x: torch.Tensor) -> torch.Tensor:
        """E[z | x] [B, p] for images x [B, C, H, W]."""
        return model.conditional_mean(x)

    def decode(self, model, z: torch.Tensor) -> torch.Tensor:
        """Decoder means in [0, 1], shape [B, C, H, W]."""
        return torch.sigmoid(model.decoder(z)).view(-1, *model.output_shape)

    @torch.no_grad()
    def prior_codes(self, model, n: int) -> torch.Tensor:
        """n codes z ~ q(z), the aggregate posterior, which is the echo model's prior: the codes of random
        training images, each with echo noise from other random training images. [n, p]"""
        pool = max(n, 2 * model.depth + 2)
        rows = torch.randint(0, len(self.data.train), (pool,), device=self.device)
        z, _ = model.codes(self.data.train.inputs(rows))
        return z[:n]

    @torch.no_grad()
    def sample(self, model, n: int, labels=None) -> torch.Tensor:
        """n new images [n, C, H, W] in [0, 1]: decoder means of z ~ q(z)."""
        if labels is not None:
            raise GenlabError(f"'{self.config.model}' runs are unconditional; drop --label")
        return torch.cat([self.decode(model, self.prior_codes(model, m)) for m in _chunks(n, 1000)])

    def manifold_grid(self, model, size: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-axis quantiles 0.03..0.97 of codes drawn from q(z) (its scale is not that of N(0, I))."""
        z = self.prior_codes(model, 4000).float()
        levels = torch.linspace(0.03, 0.97, size, device=z.device)
        return torch.quantile(z[:, 0], levels), torch.quantile(z[:, 1], levels)

    def summary_extras(self, model, run) -> dict[str, Any]:
        return {
            "echo_depth": described(model.depth, "terms of the echo-noise series kept (its truncation depth)"),
            "echo_truncation_bound": described(
                truncation_bound(model.depth, self.config.s_max),
                "largest possible error of any noise coordinate from truncating the series",
            ),
            "echo_min_rate": described(
                -self.config.latent_dim * math.log(self.config.s_max),
                "smallest rate the encoder can reach, -latent_dim * ln s_max",
                "nats per image",
            ),
        }


def _chunks(n: int, size: int):
    while n > 0:
        yield min(n, size)
        n -= size


MODELS = [
    ModelSpec(
        "echo-ae",
        EchoFamily,
        "autoencoder with echo noise: exact rate I(x; z) = -E log|det S(x)| (Brekelmans et al. 2019)",
    ),
]
