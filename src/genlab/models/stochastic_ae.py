"""What VAEs and the echo-noise autoencoder share: loss = distortion + beta * rate.

Both encode an image into a noisy code and decode it back; they differ in the
noise and in how the rate (the cost of the code, in nats) is measured. This
module holds the common parts: the MLP encoder trunk and decoder, the
reconstruction term, the training step, evaluation, and the figures every run
writes. A subclass supplies `terms(model, x) -> (reconstruction, rate)` and the
capabilities `encode` / `decode` / `sample`.

Units: every logged term is per image, in nats (the reconstruction is a negative
log-likelihood summed over the pixels, the rate a KL divergence or a mutual
information).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genlab.config import TrainConfig, check_range, option
from genlab.data.datasets import Split
from genlab.errors import GenlabError
from genlab.models.base import Family
from genlab.train.runfolder import described, on_split

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus}

#: Fixed test inputs of the per-epoch reconstruction figures.
RECONSTRUCTION_INPUTS = 8


def mlp(widths: tuple[int, ...], activation: str, dropout: float = 0.0, last_activation: bool = True) -> nn.Sequential:
    """Linear layers widths[0] -> ... -> widths[-1] with `activation` (and dropout) after each hidden layer."""
    layers: list[nn.Module] = []
    pairs = list(zip(widths[:-1], widths[1:]))
    for index, (fan_in, fan_out) in enumerate(pairs):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(pairs) - 1 or last_activation:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def reconstruction_nll(
    logits: torch.Tensor, x: torch.Tensor, kind: str, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """-log p(x | z) per row, in nats: [..., D] decoder logits and targets in [0, 1] (broadcast against
    the logits) -> [...].

    bce: D independent Bernoulli units with means sigmoid(logits) (the cross-entropy
         summed over pixels; targets may be grey levels).
    mse: D independent Gaussians N(sigmoid(logits), 1/2), i.e. the summed squared
         error plus the normaliser (D/2) log(pi), so that it is a density in nats too.
    dtype: the precision of the sum over the D pixels (default: the logits'); the IWAE
         bound sums float32 per-pixel terms in float64 without copying them to float64.
    """
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1, dtype=dtype)
    squared = (torch.sigmoid(logits) - x).pow(2).sum(-1, dtype=dtype)
    return squared + 0.5 * x.shape[-1] * math.log(math.pi)


def figure_epochs(epochs: list[int], count: int | None) -> list[int]:
    """Which of the (sorted) `epochs` get a figure: all of them, or `count` spaced geometrically from the
    first to the last (1, 4, 20 of 20 for 3; 1, 2, 4, 9, 20 for 5): reconstructions change most in the first
    epochs, and each figure costs a tenth of a second of matplotlib, as much as an epoch of the default VAE
    on MNIST-5k. Three is what a report shows of a longer series anyway (its first, middle and last)."""
    if count is None or len(epochs) <= count:
        return epochs
    if count == 1:
        return epochs[-1:]
    positions = np.unique(np.round(np.geomspace(1, len(epochs), count)).astype(int) - 1)
    return [epochs[i] for i in positions]


@dataclass(frozen=True)
class StochasticAEConfig(TrainConfig):
    """Options shared by the VAE family and the echo-noise autoencoder."""

    latent_dim: int = option(20, "dimension p of the latent code (2 also draws the latent manifold)")
    hidden: tuple[int, ...] = option(
        (200,), "hidden widths of the MLP encoder, comma-separated; the decoder mirrors them"
    )
    activation: str = option("tanh", "hidden activation", choices=tuple(ACTIVATIONS))
    dropout: float = option(0.1, "dropout after each encoder hidden layer (the decoder has none)")
    recon: str = option(
        "bce",
        "reconstruction term: bce (Bernoulli, summed over pixels) or mse (Gaussian with variance 1/2)",
        choices=("bce", "mse"),
    )
    beta: float = option(1.0, "weight of the rate term (beta = 1 is the ELBO; 0 drops the rate)")
    lr: float = option(3e-3, "learning rate")
    epoch_figures: int | None = option(
        3,
        "per-epoch reconstruction figures: at most N epochs, spaced geometrically from the first to the last "
        "(none: every epoch); samples/ keeps the arrays of every epoch",
    )

    def __post_init__(self):
        super().__post_init__()
        check_range(self, "latent_dim", low=1)
        check_range(self, "epoch_figures", low=1)
        check_range(self, "dropout", low=0, high=1, high_open=True)
        check_range(self, "beta", low=0)
        if any(width < 1 for width in self.hidden):
            raise GenlabError(f"--hidden widths must be >= 1, got {','.join(map(str, self.hidden))}")


class StochasticAEFamily(Family):
    """Training, evaluation and figures of a loss `reconstruction + weight * rate`.

    Subclasses set `rate_name` ("kl" or "rate") and implement `terms`, `encode`,
    `decode` and `sample`; they may extend `summary_extras`.
    """

    rate_name = "rate"
    headline = ("test_loss", "test_rate", "test_reconstruction")
    epoch_entries = ("elbo",)  # the echo autoencoder has none: its line shows the loss

    def check_data(self) -> None:
        if self.config.recon == "bce" and self.data.kind != "image":
            raise GenlabError("--recon bce needs values in [0, 1] (images); use --recon mse for tabular data")

    @torch.no_grad()
    def mean_image_logits(self) -> torch.Tensor:
        """Log-odds of the mean training input [D], clamped to [1e-3, 1 - 1e-3] first.

        The decoder's output biases start here (Burda et al. do the same): the first
        steps then refine the mean image instead of learning it, which saves about
        50 nats of reconstruction in the first epoch on MNIST."""
        train = self.data.train
        total = torch.zeros(self.data.input_dim, dtype=torch.float64, device=self.device)
        for start in range(0, len(train), 10_000):
            total += train.inputs(slice(start, start + 10_000)).flatten(1).double().sum(0)
        mean = (total / len(train)).clamp(1e-3, 1 - 1e-3)
        return torch.logit(mean).float()

    @property
    def steps_per_epoch(self) -> int:
        n = len(self.data.train)
        return math.ceil(n / min(self.config.batch_size, n))

    def rate_weight(self, step: int) -> float:
        """The weight of the rate term at optimisation step `step` (0-based)."""
        return self.config.beta

    def terms(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction [B], rate [B]) in nats for images x [B, C, H, W]; samples the code noise."""
        raise NotImplementedError

    # -- engine hooks --------------------------------------------------------------
    def train_step(self, model, x, y, optimizers, step):
        optimizer = optimizers["model"]
        reconstruction, rate = self.terms(model, x)
        weight = self.rate_weight(step)
        recon_mean, rate_mean = reconstruction.mean(), rate.mean()
        loss = recon_mean + weight * rate_mean
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        values = {"loss": loss.detach(), "reconstruction": recon_mean.detach(), self.rate_name: rate_mean.detach()}
        if self.rate_name == "kl":
            values["elbo"] = -(recon_mean + rate_mean).detach()
        return values

    @torch.no_grad()
    def evaluate(self, model, split: Split) -> dict[str, float]:
        """Per-image means over the split: loss, reconstruction, rate (and the ELBO for VAEs).

        One noise draw per image, so the ELBO is a single-sample (unbiased) estimate."""
        totals = torch.zeros(2, dtype=torch.float64, device=self.device)
        for x, _ in split.batches(1000):
            reconstruction, rate = self.terms(model, x)
            totals += torch.stack([reconstruction.double().sum(), rate.double().sum()])
        reconstruction, rate = (totals / len(split)).tolist()
        metrics = {
            "loss": reconstruction + self.config.beta * rate,
            "reconstruction": reconstruction,
            self.rate_name: rate,
        }
        if self.rate_name == "kl":
            metrics["elbo"] = -(reconstruction + rate)
        return metrics

    def evaluation_meanings(self) -> dict[str, tuple[str, ...]]:
        """What `evaluate` measures, as (meaning, unit, better); summary entries name the split too. The rate
        is neither better high nor low by itself: it is what a code spends on reconstruction."""
        rate = (
            "KL(q(z|x) || p(z)), the rate term"
            if self.rate_name == "kl"
            else "rate I(x; z) = -E log|det S(x)| of the code"
        )
        return {
            "loss": (
                f"mean training objective, reconstruction + beta * rate (beta {self.config.beta:g})",
                "nats per image",
                "lower",
            ),
            "reconstruction": ("mean reconstruction term -log p(x|z)", "nats per image", "lower"),
            self.rate_name: (f"mean {rate}", "nats per image"),
            "elbo": ("mean evidence lower bound, single-sample estimate", "nats per image", "higher"),
        }

    def reconstruction_rows(self) -> torch.Tensor:
        """Indices of the fixed test inputs of the per-epoch figures: the first image of each of 8 classes
        (the first 8 images when there are fewer classes)."""
        labels = self.data.test.y.cpu().numpy()
        firsts = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)][:RECONSTRUCTION_INPUTS]
        if len(firsts) < RECONSTRUCTION_INPUTS:
            firsts = list(range(min(RECONSTRUCTION_INPUTS, len(labels))))
        return torch.tensor(firsts)

    @torch.no_grad()
    def reconstruct(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """P(Q(x)): decode the code's deterministic part (the posterior mean); [B, C, H, W] in [0, 1]."""
        return self.decode(model, self.encode(model, x))

    def on_epoch_end(self, model, run, epoch: int) -> None:
        """Store this epoch's reconstructions of the fixed inputs; `finish` draws one figure per epoch.

        Saving 8 small images costs a millisecond, a matplotlib figure a tenth of a
        second, so drawing waits until training is over (a resumed run keeps the
        arrays of the epochs before the interruption)."""
        was_training = model.training
        model.eval()
        images = self.reconstruct(model, self.data.test.inputs(self.reconstruction_rows().to(self.device)))
        model.train(was_training)
        np.save(run.samples / f"reconstructions_epoch_{epoch:03d}.npy", images.float().cpu().numpy())

    # -- the finished run ----------------------------------------------------------
    def summary_extras(self, model, run) -> dict[str, Any]:
        """Family-specific entries of summary.json (IWAE bound, ...)."""
        return {}

    def finish(self, model, run) -> dict[str, Any]:
        """Numbers (summary.json entries) and every figure of a finished run."""
        devices = [self.device] if self.device.type == "cuda" else []
        # Seeded noise: re-running `genlab evaluate` gives the same numbers and figures.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed + 2)
            summary, test_codes = self.summary(model, run)
            self.draw_figures(model, run, test_codes)
        return summary

    def summary(self, model, run) -> tuple[dict[str, Any], np.ndarray]:
        """(summary entries, posterior means of the whole test split [N, p])."""
        from genlab.latent.embed import encode_split, knn_accuracy

        data, meanings = self.data, self.evaluation_meanings()
        summary: dict[str, Any] = on_split(self.evaluate(model, data.test), "test", meanings)
        for split, name in (("train", data.train), ("val", data.val)):
            if name is not None:
                values = self.evaluate(model, name)
                summary.update(on_split({k: v for k, v in values.items() if k in ("loss", "elbo")}, split, meanings))
        test_codes = encode_split(self, model, data.test)
        summary["active_units"] = described(
            int((test_codes.var(axis=0) > 0.01).sum()),
            "latent coordinates whose posterior mean varies across test images (variance above 0.01)",
            "coordinates",
        )
        train_codes = encode_split(self, model, data.train, limit=5000)
        summary["latent_knn_accuracy"] = described(
            knn_accuracy(
                train_codes,
                data.train.y[: len(train_codes)].cpu().numpy(),
                test_codes[:5000],
                data.test.y[:5000].cpu().numpy(),
            ),
            "fraction of test posterior means whose 5 nearest training posterior means vote for their own class",
            better="higher",
        )
        summary.update(self.summary_extras(model, run))
        return summary, test_codes

    def draw_figures(self, model, run, test_codes: np.ndarray) -> None:
        """Curves, per-epoch reconstructions, existing/reconstructed/new, embedding, traversal (and manifold),
        in the order a report shows them."""
        from genlab.latent.embed import embedding_figure
        from genlab.latent.traverse import traversal_figure
        from genlab.plots import vae as plots
        from genlab.plots.common import joined, logged_splits

        data, config = self.data, self.config
        name = f"{config.model} on {data.name}"
        inputs = data.test.inputs(self.reconstruction_rows().to(self.device))
        events = run.read_metrics()
        objective = "ELBO" if self.rate_name == "kl" else "loss"
        rate = "KL(q(z|x) || p(z))" if self.rate_name == "kl" else "rate I(x; z)"
        run.save_figure(
            plots.loss_curves_figure(events, self.rate_name, f"Training curves: {name}"),
            "loss.png",
            caption=f"three panels against optimisation steps, each with the {joined(logged_splits(events, 'loss'))} "
            f"curves (training: running mean over batches): the {objective}, the reconstruction term -log p(x|z) "
            f"and the {rate}, in nats per image",
        )
        arrays = {int(p.stem.rsplit("_", 1)[1]): p for p in run.samples.glob("reconstructions_epoch_*.npy")}
        for epoch in figure_epochs(sorted(arrays), config.epoch_figures):
            path = arrays[epoch]
            run.save_figure(
                plots.reconstructions_figure(inputs, np.load(path), f"Reconstructions after epoch {epoch}: {name}"),
                f"reconstructions_epoch_{epoch:03d}.png",
                caption=f"{len(inputs)} fixed test images (top) and their reconstructions after epoch {epoch}",
            )
        shown = data.test.inputs(slice(0, 16))
        run.save_figure(
            plots.existing_reconstructed_new_figure(
                shown,
                self.reconstruct(model, shown),
                self.sample(model, 16),
                f"Existing, reconstructed and new images: {name}",
            ),
            "existing_reconstructed_new.png",
            caption="existing test images, their reconstructions, and new images decoded from latent codes "
            "drawn from the prior",
        )
        run.save_figure(
            embedding_figure(
                test_codes[:5000],
                data.test.y[:5000].cpu().numpy(),
                data.classes,
                f"Posterior means on the {data.name} test split: {config.model}",
            ),
            "embedding.png",
            caption=f"posterior means of {min(len(test_codes), 5000)} test images, coloured by class",
        )
        run.save_figure(
            traversal_figure(self, model, shown[:1], f"Latent traversal of the first test image: {name}"),
            "traversal.png",
            caption="images decoded from the first test image's code while one latent coordinate at a time is varied",
        )
        if config.latent_dim == 2:
            run.save_figure(
                plots.manifold_figure(
                    lambda z: self.decode(model, z),
                    *self.manifold_grid(model),
                    f"Decoder outputs over the latent plane: {name}",
                ),
                "manifold.png",
                caption="images decoded from a regular grid of the 2-D latent plane (prior quantiles 0.03 to 0.97)",
            )

    def manifold_grid(self, model, size: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent values of the manifold figure along z1 and z2 ([size] each): quantiles 0.03..0.97 of N(0, 1)."""
        values = torch.special.ndtri(torch.linspace(0.03, 0.97, size, device=self.device))
        return values, values
