"""Figures of VAE and echo-noise runs: reconstructions, samples, training curves, the latent
manifold and the rate-distortion plane. Pure functions returning labelled figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from genlab.plots.common import grid_figure, legend_below, metric_series, plt


def _numpy(images) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        return images.detach().float().cpu().numpy()
    return np.asarray(images, dtype=np.float32)


def reconstructions_figure(inputs, reconstructions, title: str):
    """Two rows: inputs [n, 1, H, W] above their reconstructions [n, 1, H, W] (values in [0, 1])."""
    images = np.concatenate([_numpy(inputs), _numpy(reconstructions)])
    return grid_figure(
        images,
        len(inputs),
        title,
        row_labels=["input", "reconstruction"],
        xlabel="fixed test images (the same in every epoch)",
    )


def existing_reconstructed_new_figure(existing, reconstructed, new, title: str):
    """Three rows of n images: test images x, their reconstructions P(Q(x)), and decoded samples z ~ prior."""
    images = np.concatenate([_numpy(existing), _numpy(reconstructed), _numpy(new)])
    return grid_figure(
        images,
        len(existing),
        title,
        row_labels=["existing", "reconstructed", "new"],
        xlabel="columns: independent images (rows 1-2 share an input; row 3 decodes z ~ prior)",
    )


def loss_curves_figure(events: list[dict], rate_name: str, title: str):
    """Three panels against iterations, for training batches, validation and test (per image, nats):
    the ELBO (or, for models without one, the loss), the reconstruction term and the rate term."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    objective = "elbo" if rate_name == "kl" else "loss"
    panels = (
        (
            objective,
            "ELBO" if objective == "elbo" else "loss = reconstruction + beta * rate",
            "ELBO (nats per image, higher is better)" if objective == "elbo" else "loss (nats per image)",
        ),
        ("reconstruction", "reconstruction -log p(x|z)", "nats per image"),
        (rate_name, "KL(q(z|x) || p(z))" if rate_name == "kl" else "rate I(x; z) = -E log|det S(x)|", "nats per image"),
    )
    for axis, (key, subtitle, ylabel) in zip(axes, panels):
        _plot_splits(axis, events, key)
        axis.set_title(subtitle)
        axis.set_xlabel("iteration (optimisation steps)")
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        legend_below(axis, fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def _plot_splits(axis, events, key: str) -> None:
    steps, values = metric_series(events, "train", key)
    if steps:
        axis.plot(steps, values, alpha=0.6, label="training batches (running mean)")
    for split, name in (("val", "validation"), ("test", "test")):
        steps, values = metric_series(events, "eval", key, split)
        if steps:
            axis.plot(steps, values, marker="o", markersize=3, label=name)


@torch.no_grad()
def manifold_figure(
    decode: Callable[[torch.Tensor], torch.Tensor], z1_values: torch.Tensor, z2_values: torch.Tensor, title: str
):
    """Decoder outputs over a grid of 2-D latent values: z1_values [m] across, z2_values [k] upwards.

    Row r, column c of the k x m mosaic shows decode([z1_values[c], z2_values[k - 1 - r]]).
    """
    across, upwards = z1_values.float(), z2_values.float().flip(0)
    m, k = len(across), len(upwards)
    z2, z1 = torch.meshgrid(upwards, across, indexing="ij")
    images = _numpy(decode(torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)))[:, 0]
    height, width = images.shape[1:]
    mosaic = images.reshape(k, m, height, width).transpose(0, 2, 1, 3).reshape(k * height, m * width)
    figure, axis = plt.subplots(figsize=(7.5, 7.5 * k / m))
    axis.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    x_labels, y_labels = across.cpu().numpy(), upwards.cpu().numpy()
    x_ticks, y_ticks = range(0, m, max(1, m // 5)), range(0, k, max(1, k // 5))
    axis.set_xticks([(t + 0.5) * width for t in x_ticks], [f"{x_labels[t]:.2f}" for t in x_ticks])
    axis.set_yticks([(t + 0.5) * height for t in y_ticks], [f"{y_labels[t]:.2f}" for t in y_ticks])
    axis.set_xlabel("latent dimension 1 (z1)")
    axis.set_ylabel("latent dimension 2 (z2)")
    axis.set_title(title)
    return figure


@dataclass(frozen=True)
class RatePoint:
    """One trained model in the rate-distortion plane (nats per test image)."""

    group: str  # e.g. "beta-VAE (vae)" or "echo noise (echo-ae)"
    label: str  # e.g. "beta=0.5"
    rate: float
    distortion: float


def rate_distortion_figure(points: list[RatePoint], title: str):
    """Distortion (test reconstruction) against rate, one line and marker style per group, each point labelled."""
    figure, axis = plt.subplots(figsize=(7, 5))
    markers = "osD^v<>"
    groups = list(dict.fromkeys(point.group for point in points))
    for index, group in enumerate(groups):
        members = sorted((p for p in points if p.group == group), key=lambda p: p.rate)
        axis.plot(
            [p.rate for p in members],
            [p.distortion for p in members],
            marker=markers[index % len(markers)],
            label=group,
        )
        for point in members:
            axis.annotate(
                point.label, (point.rate, point.distortion), textcoords="offset points", xytext=(5, 4), fontsize=8
            )
    axis.set_xlabel("rate (test KL(q(z|x) || p(z)), or exact I(x; z) for echo noise; nats per image)")
    axis.set_ylabel("distortion (test reconstruction -log p(x|z), nats per image)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(title="model")
    return figure
