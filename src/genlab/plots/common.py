"""Pure plotting helpers shared by every family: each returns a labelled figure.

Nothing here writes files; `RunFolder.save_figure` does. Every figure gets a
title, axis labels, and a legend or colour bar where colours mean something.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib

# Headless: figures are files, never windows. In a Jupyter kernel its inline backend stays: it
# draws figures into the notebook (never windows), and the figures the API returns display there.
if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def save_figure_file(figure, path: str | Path) -> Path:
    """Save `figure` as a PNG at `path` atomically (parent folders created) and close it."""
    from genlab.train.runfolder import atomic_write_bytes

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def image_grid(images: np.ndarray | torch.Tensor, ncols: int, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile images [N, H, W] or [N, 1, H, W] (values in [0, 1]) into one [rows*H', cols*W'] array."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[:, 0]
    n, height, width = images.shape
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (height + pad) + pad, ncols * (width + pad) + pad), pad_value, dtype=np.float32)
    for index in range(n):
        r, c = divmod(index, ncols)
        top, left = pad + r * (height + pad), pad + c * (width + pad)
        grid[top : top + height, left : left + width] = images[index]
    return grid


def grid_figure(
    images, ncols: int, title: str, row_labels: list[str] | None = None, xlabel: str = "", cmap: str = "gray"
):
    """A figure of an image grid with a title and (optionally) one label per row."""
    grid = image_grid(images, ncols)
    n = len(images)
    nrows = int(np.ceil(n / max(1, min(ncols, n))))
    figure, axis = plt.subplots(figsize=(max(3.0, 0.45 * min(ncols, n) + 1.2), max(1.6, 0.45 * nrows + 0.8)))
    axis.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_title(title)
    axis.set_xticks([])
    axis.set_xlabel(xlabel)
    if row_labels:
        cell = grid.shape[0] / len(row_labels)
        axis.set_yticks([cell * (i + 0.5) for i in range(len(row_labels))], row_labels)
    else:
        axis.set_yticks([])
    return figure


def curves_figure(
    series: dict[str, tuple[list[float], list[float]]], title: str, xlabel: str, ylabel: str, logy: bool = False
):
    """Line plot of named (x, y) series with a legend."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, (xs, ys) in series.items():
        marker = "o" if len(xs) <= 30 else None
        axis.plot(xs, ys, label=label, marker=marker, markersize=3)
    if logy:
        axis.set_yscale("log")
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    legend_outside(axis)
    return figure


def metric_series(events: list[dict], event: str, key: str, split: str | None = None) -> tuple[list, list]:
    """(steps, values) of `key` in logged events of one kind (and split)."""
    rows = [e for e in events if e.get("event") == event and key in e and (split is None or e.get("split") == split)]
    return [e["step"] for e in rows], [e[key] for e in rows]


def legend_outside(axis, **options) -> None:
    """The axis's legend to the right of it, where it covers no curve, path or point (`loc="best"`
    still covers data when every corner has some); saving with bbox_inches="tight" keeps it in the image."""
    axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **options)


def legend_below(axis, **options) -> None:
    """The axis's legend under its x label: for panels side by side, where a legend at the right would
    cover the next panel. Placed half an inch below the axis, past the tick labels and the x label, however
    tall the axis ends up after tight_layout."""
    from matplotlib.transforms import ScaledTranslation

    below = axis.transAxes + ScaledTranslation(0.0, -0.5, axis.figure.dpi_scale_trans)
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, borderaxespad=0.0, **options)


def logged_splits(events: list[dict], key: str) -> list[str]:
    """The splits whose curves of `key` a figure of `events` draws, as a caption names them: 'training'
    (train events), then 'validation' and 'test' (eval events) when logged."""
    names = ["training"] if metric_series(events, "train", key)[0] else []
    return names + [
        name
        for split, name in (("val", "validation"), ("test", "test"))
        if metric_series(events, "eval", key, split)[0]
    ]


def joined(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1] if words else ""]))
