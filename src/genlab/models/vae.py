"""Variational autoencoders: auto-encoding variational Bayes (Kingma & Welling, Algorithm 1).

q(z|x) = N(mu(x), diag(exp(logvar(x)))) from the encoder, p(z) = N(0, I), and a
decoder p(x|z) of 784 independent Bernoulli units (sigmoid outputs, not a
softmax). Each step draws one z = mu + sigma * eps per image (the
reparameterisation) and minimises

    loss = reconstruction + beta * KL(q(z|x) || N(0, I))

(beta = 1: the negative ELBO; other values: the beta-VAE). The KL is in closed
form. Two architectures: `vae` (MLP, 784-200-p by default) and `conv-vae`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.config import check_range, option
from genlab.data.datasets import Split
from genlab.errors import GenlabError
from genlab.metrics.likelihood import (
    diagonal_gaussian_proposal,
    importance_weighted_bounds,
    standard_normal_log_density,
)
from genlab.models.base import ModelSpec
from genlab.models.user import EncoderDecoderOptions, build_network, check_shape, dry_run
from genlab.models.stochastic_ae import StochasticAEConfig, StochasticAEFamily, mlp, reconstruction_nll
from genlab.train.runfolder import described


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag(exp(logvar))) || N(0, I)) per row, in nats: [B, p] -> [B]."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


class MLPEncoder(nn.Module):
    """x [B, D] (flattened) -> (mean, logvar) [B, p]; `activation` and dropout after each hidden layer."""

    def __init__(self, input_dim: int, hidden: tuple[int, ...], latent_dim: int, activation: str, dropout: float):
        super().__init__()
        self.trunk = mlp((input_dim, *hidden), activation, dropout)
        self.head = nn.Linear(hidden[-1] if hidden else input_dim, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.trunk(x.flatten(1))).chunk(2, dim=1)


class MLPDecoder(nn.Module):
    """z [B, p] -> Bernoulli logits [B, D]: the encoder's widths reversed, no dropout."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], output_dim: int, activation: str):
        super().__init__()
        self.net = mlp((latent_dim, *reversed(hidden), output_dim), activation, last_activation=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def init_output_bias(self, logits: torch.Tensor) -> None:
        """Start the output units at `logits` [D] (the log-odds of the mean training image)."""
        with torch.no_grad():
            self.net[-1].bias.copy_(logits)


class ConvEncoder(nn.Module):
    """x [B, C, 28, 28] -> (mean, logvar) [B, p]: two stride-2 4x4 convolutions (28 -> 14 -> 7), then
    a hidden fully connected layer."""

    def __init__(self, channels: tuple[int, int], hidden: int, latent_dim: int, in_channels: int, dropout: float):
        super().__init__()
        first, second = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, first, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(first, second, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(second * 7 * 7, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.head = nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.features(x)).chunk(2, dim=1)


class ConvDecoder(nn.Module):
    """z [B, p] -> logits [B, C*28*28]: the encoder mirrored with stride-2 transposed convolutions."""

    def __init__(self, channels: tuple[int, int], hidden: int, latent_dim: int, out_channels: int):
        super().__init__()
        first, second = channels
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, second * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (second, 7, 7)),
            nn.ConvTranspose2d(second, first, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(first, out_channels, 4, stride=2, padding=1, bias=False),
            nn.Flatten(),
        )
        # One bias per pixel, not per channel, so the decoder can start at the mean image.
        self.pixel_bias = nn.Parameter(torch.zeros(out_channels * 28 * 28))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) + self.pixel_bias

    def init_output_bias(self, logits: torch.Tensor) -> None:
        """Start the output units at `logits` [D] (the log-odds of the mean training image)."""
        with torch.no_grad():
            self.pixel_bias.copy_(logits)


class GaussianVAE(nn.Module):
    """An encoder giving q(z|x) and a decoder giving Bernoulli (or Gaussian-mean) logits.

    `output_shape` is the image shape (C, H, W) the flat decoder output is folded back into.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, output_shape: tuple[int, ...]):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.output_shape = tuple(output_shape)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, logvar) of q(z|x), each [B, p]."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One reparameterised pass: (logits [B, D], mean [B, p], logvar [B, p])."""
        mean, logvar = self.encoder(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.decoder(z), mean, logvar


class UserEncoder(nn.Module):
    """A user's encoder (`body`) with the output the VAE reads: (mean, logvar), each [B, p]."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.body(x)
        mean, logvar = out if isinstance(out, (tuple, list)) else out.chunk(2, dim=1)
        return mean.flatten(1), logvar.flatten(1)


class UserDecoder(nn.Module):
    """A user's decoder (`body`) with the output the VAE reads: flat logits [B, D]."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).flatten(1)


@dataclass(frozen=True)
class VAEConfig(StochasticAEConfig, EncoderDecoderOptions):
    """Options of the VAE family. `arch` is set by the model name."""

    arch: str = option("mlp", "architecture", choices=("mlp", "conv"), cli=False)
    kl_warmup: int = option(0, "epochs over which the KL weight rises linearly from 0 to --beta (0: none)")
    iwae_k: int = option(100, "importance samples per test image for the IWAE bound on -log p(x)")
    iwae_images: int | None = option(500, "test images the IWAE bound averages over (none: the whole split)")
    epochs: int = option(20, "passes over the training split")
    batch_size: int = option(128, "examples per optimisation step")

    def __post_init__(self):
        super().__post_init__()
        self.check_encoder_decoder()
        check_range(self, "kl_warmup", low=0)
        check_range(self, "iwae_k", low=1)
        check_range(self, "iwae_images", low=1)


@dataclass(frozen=True)
class ConvVAEConfig(VAEConfig):
    arch: str = option("conv", "architecture", choices=("conv",), cli=False)
    hidden: tuple[int, ...] = option((256,), "width of the fully connected layer between the convolutions and the code")
    channels: tuple[int, ...] = option((32, 64), "channels of the two stride-2 convolutions")
    activation: str = option("relu", "hidden activation (the convolutions use ReLU)", choices=("relu",))
    dropout: float = option(0.0, "dropout before the encoder's output layer")
    lr: float = option(2e-3, "peak learning rate")
    batch_size: int = option(64, "examples per optimisation step")
    schedule: str = option(
        "onecycle",
        "learning-rate schedule: constant, or onecycle (linear warm-up over the "
        "first 20% of steps, then linear decay to zero)",
        choices=("constant", "onecycle"),
    )

    def __post_init__(self):
        super().__post_init__()
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise GenlabError(
                f"--channels takes two positive counts, e.g. 32,64; got {','.join(map(str, self.channels))}"
            )
        if len(self.hidden) != 1:
            raise GenlabError(f"conv-vae takes one --hidden width, e.g. 256; got {','.join(map(str, self.hidden))}")


class VAEFamily(StochasticAEFamily):
    """The VAE and beta-VAE: trains on the (beta-weighted) negative ELBO, reports the ELBO, the
    IWAE bound on the test log-likelihood and the number of active latent units."""

    config_cls = VAEConfig
    rate_name = "kl"
    headline = ("test_elbo", "test_kl", "test_reconstruction")

    def build(self) -> nn.Module:
        self.check_data()
        config, data = self.config, self.data
        if config.encoder:
            return self.user_networks()
        if config.arch == "conv":
            if data.kind != "image" or data.input_shape[1:] != (28, 28):
                raise GenlabError(
                    f"conv-vae needs 28x28 images; {data.name} has inputs of shape {data.input_shape}; use vae"
                )
            channels = data.input_shape[0]
            encoder = ConvEncoder(config.channels, config.hidden[0], config.latent_dim, channels, config.dropout)
            decoder = ConvDecoder(config.channels, config.hidden[0], config.latent_dim, channels)
        else:
            encoder = MLPEncoder(data.input_dim, config.hidden, config.latent_dim, config.activation, config.dropout)
            decoder = MLPDecoder(config.latent_dim, config.hidden, data.input_dim, config.activation)
        decoder.init_output_bias(self.mean_image_logits())
        return GaussianVAE(encoder, decoder, data.input_shape)

    def user_networks(self) -> nn.Module:
        """The user's encoder and decoder (--encoder, --decoder), checked on two training inputs."""
        c, data = self.config, self.data
        encoder = UserEncoder(build_network(c.encoder, c.encoder_args, "--encoder"))
        decoder = UserDecoder(build_network(c.decoder, c.decoder_args, "--decoder"))
        x, p = data.train.inputs(slice(0, 2)), c.latent_dim
        codes = dry_run(encoder.body, x, c.encoder, "--encoder")
        if isinstance(codes, (tuple, list)):
            for part in codes:
                check_shape(
                    part,
                    2 * p,
                    f"a (mean, logvar) pair of [2, {p}] for inputs {list(x.shape)} (p = --latent-dim {p})",
                    c.encoder,
                    "--encoder",
                )
        else:
            check_shape(
                codes,
                4 * p,
                f"[2, {2 * p}] (means, then log-variances) for inputs {list(x.shape)} (p = --latent-dim {p})",
                c.encoder,
                "--encoder",
            )
        logits = dry_run(decoder, torch.zeros(2, p, device=x.device), c.decoder, "--decoder")
        check_shape(
            logits,
            2 * data.input_dim,
            f"[2, {', '.join(map(str, data.input_shape))}] for codes [2, {p}]",
            c.decoder,
            "--decoder",
        )
        return GaussianVAE(encoder, decoder, data.input_shape)

    def rate_weight(self, step: int) -> float:
        """beta, ramped linearly from 0 over the first `kl_warmup` epochs when asked."""
        warmup_steps = self.config.kl_warmup * self.steps_per_epoch
        if warmup_steps == 0:
            return self.config.beta
        return self.config.beta * min(1.0, (step + 1) / warmup_steps)

    def terms(self, model, x):
        logits, mean, logvar = model(x)
        return reconstruction_nll(logits, x.flatten(1), self.config.recon), gaussian_kl(mean, logvar)

    # -- capabilities --------------------------------------------------------------
    def encode(self, model, x: torch.Tensor) -> torch.Tensor:
        """Posterior means [B, p] of images x [B, C, H, W]."""
        return model.posterior(x)[0]

    def decode(self, model, z: torch.Tensor) -> torch.Tensor:
        """Decoder means in [0, 1], shape [B, C, H, W], of codes z [B, p]."""
        return torch.sigmoid(model.decoder(z)).view(-1, *model.output_shape)

    @torch.no_grad()
    def sample(self, model, n: int, labels=None) -> torch.Tensor:
        """n new images [n, C, H, W] in [0, 1]: decoder means of z ~ N(0, I)."""
        if labels is not None:
            raise GenlabError(f"'{self.config.model}' runs are unconditional; drop --label")
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        return torch.cat([self.decode(model, chunk) for chunk in z.split(1000)])

    # -- likelihood ----------------------------------------------------------------
    def log_likelihood(self, model, x: torch.Tensor, k: int) -> torch.Tensor:
        """IWAE estimate of log p(x) per image [B] (float64, nats) with k importance samples from q(z|x)."""
        return self.likelihood_bounds(model, x, k)[0]

    def likelihood_bounds(self, model, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(IWAE bound L_k, ELBO averaged over the same k draws) per image, float64 [B] in nats."""
        recon = self.config.recon

        def log_joint(images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            samples, batch = z.shape[:2]
            # Per-pixel terms in float32, their sum over pixels in float64: within 1e-5 nats of an all-float64
            # computation at half its time (copying [samples * batch, 784] logits and targets to float64 cost
            # more than the decoder).
            logits = model.decoder(z.reshape(samples * batch, -1).float()).view(samples, batch, -1)
            log_px = -reconstruction_nll(logits, images.flatten(1).float(), recon, dtype=torch.float64)
            return log_px + standard_normal_log_density(z)

        return importance_weighted_bounds(
            x, diagonal_gaussian_proposal(model.posterior), log_joint, k, values_per_sample=self.data.input_dim
        )

    def summary_extras(self, model, run) -> dict[str, Any]:
        config = self.config
        count = len(self.data.test) if config.iwae_images is None else min(config.iwae_images, len(self.data.test))
        bounds = [
            self.likelihood_bounds(model, x, config.iwae_k)
            for x, _ in Split(self.data.test.x[:count], self.data.test.y[:count]).batches(500)
        ]
        iwae, elbo = (torch.cat(parts) for parts in zip(*bounds))
        # test_nll_elbo is -ELBO on the same images and draws, so test_nll_iwae <= test_nll_elbo always.
        return {
            "test_nll_iwae": described(
                -float(iwae.mean()),
                f"negative log-likelihood bound of {config.iwae_k}-sample importance weighting (IWAE) on the "
                f"first {count} test images",
                "nats per image",
                "lower",
            ),
            "test_nll_elbo": described(
                -float(elbo.mean()),
                "-ELBO on the same images and draws as test_nll_iwae (never below it)",
                "nats per image",
                "lower",
            ),
            "iwae_k": described(config.iwae_k, "importance samples per image of the IWAE bound"),
            "iwae_images": described(count, "test images the IWAE bound was computed on"),
        }


class ConvVAEFamily(VAEFamily):
    config_cls = ConvVAEConfig


MODELS = [
    ModelSpec(
        "vae",
        VAEFamily,
        "variational autoencoder (MLP 784-200-p, tanh, dropout; Bernoulli decoder); --beta for the beta-VAE",
    ),
    ModelSpec("conv-vae", ConvVAEFamily, "convolutional variational autoencoder for 28x28 images"),
]
