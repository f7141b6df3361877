"""Figures of autoencoder runs: reconstructions per class, and loss curves."""

from __future__ import annotations

import torch

from genlab.plots.common import curves_figure, image_grid, metric_series, plt


def reconstructions_figure(
    originals: torch.Tensor,
    reconstructions: torch.Tensor,
    class_names: list[str],
    title: str,
    corrupted: torch.Tensor | None = None,
):
    """One column per class: the original [K, 1, H, W] above (its corrupted copy and) its reconstruction.

    Values are in [0, 1]; a corrupted copy (which Gaussian noise takes outside
    [0, 1]) is clipped for display only.
    """
    rows = [("original", originals)]
    if corrupted is not None:
        rows.append(("corrupted input\n(clipped to [0, 1])", corrupted.clamp(0, 1)))
    rows.append(("reconstruction", reconstructions))
    images = torch.cat([images.detach().float().cpu() for _, images in rows])
    columns = len(class_names)
    grid = image_grid(images, columns)
    figure, axis = plt.subplots(figsize=(0.75 * columns + 1.8, 0.8 * len(rows) + 1.0))
    axis.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    cell_w, cell_h = grid.shape[1] / columns, grid.shape[0] / len(rows)
    axis.set_xticks(
        [cell_w * (i + 0.5) for i in range(columns)],
        class_names,
        rotation=45 if max(map(len, class_names)) > 2 else 0,
        ha="center",
        fontsize=8,
    )
    axis.set_yticks([cell_h * (i + 0.5) for i in range(len(rows))], [label for label, _ in rows], fontsize=8)
    axis.set_xlabel("class (first test image of each)")
    axis.set_title(title, fontsize=10)
    return figure


def loss_figure(events: list[dict], title: str, ylabel: str):
    """Training loss (mean over each logging interval) and validation loss against iterations.

    Falls back to the test curve when a run kept no validation split.
    """
    series = {"training": metric_series(events, "train", "loss")}
    for split, label in (("val", "validation"), ("test", "test")):
        steps, values = metric_series(events, "eval", "loss", split)
        if steps:
            series[label] = (steps, values)
            break
    return curves_figure(series, title, "iteration (optimisation steps)", ylabel, logy=True)
