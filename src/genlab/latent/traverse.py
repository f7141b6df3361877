"""Latent traversals: vary one latent dimension at a time and decode.

Works for any family with `encode(model, x) -> z [B, p]` and `decode(model, z) -> x`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.models.base import require
from genlab.plots.common import plt, save_figure_file


@torch.no_grad()
def traversal_images(
    family, model, x: torch.Tensor, dims: int = 8, steps: int = 9, span: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """(images [d, steps, H, W], values [steps]) for one image x [1, C, H, W].

    Row i sets latent dimension i to each of `steps` values evenly spaced in [-span, span]
    while the other dimensions stay at x's code (the posterior mean for VAEs);
    d = min(dims, p).
    """
    base = family.encode(model, x)[:1]
    count = min(dims, base.shape[1])
    values = torch.linspace(-span, span, steps, device=base.device)
    codes = base.repeat(count * steps, 1).view(count, steps, -1)
    for dim in range(count):
        codes[dim, :, dim] = values
    images = family.decode(model, codes.view(count * steps, -1)).float().cpu().numpy()
    return images[:, 0].reshape(count, steps, *images.shape[-2:]), values.cpu().numpy()


def traversal_figure(family, model, x: torch.Tensor, title: str, dims: int = 8, steps: int = 9, span: float = 3.0):
    """A grid: one row per latent dimension, one column per value in [-span, span]."""
    images, values = traversal_images(family, model, x, dims, steps, span)
    rows, columns, height, width = images.shape
    mosaic = np.ones((rows * (height + 2), columns * (width + 2)), dtype=np.float32)
    for r in range(rows):
        for c in range(columns):
            mosaic[r * (height + 2) : r * (height + 2) + height, c * (width + 2) : c * (width + 2) + width] = images[
                r, c
            ]
    figure, axis = plt.subplots(figsize=(0.55 * columns + 1.8, 0.55 * rows + 1.2))
    axis.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axis.set_xticks([(c + 0.5) * (width + 2) for c in range(columns)], [f"{v:+.1f}" for v in values], fontsize=7)
    axis.set_yticks([(r + 0.5) * (height + 2) for r in range(rows)], [f"z{r + 1}" for r in range(rows)], fontsize=7)
    axis.set_xlabel("value of the varied latent dimension (others fixed at the image's code)")
    axis.set_ylabel("varied dimension")
    axis.set_title(title)
    return figure


def traverse_run(run_path, out, image: int = 0, dims: int = 8, steps: int = 9, span: float = 3.0, device: str = "auto"):
    """The API behind `genlab traverse`: a traversal figure of test image `image` of a run, saved to `out`
    and closed; returns (the figure, `out`)."""
    from genlab.train.engine import load_run

    loaded = load_run(run_path, device)
    require(loaded.family, "encode", "traverse")
    require(loaded.family, "decode", "traverse")
    test = loaded.family.data.test
    if not 0 <= image < len(test):
        raise GenlabError(f"--image must be in [0, {len(test) - 1}] (a test-split index), got {image}")
    x = test.inputs(slice(image, image + 1))
    figure = traversal_figure(
        loaded.family,
        loaded.model,
        x,
        f"Latent traversal of test image {image}: {loaded.config.model} on {loaded.config.data}",
        dims,
        steps,
        span,
    )
    return figure, save_figure_file(figure, Path(out))
