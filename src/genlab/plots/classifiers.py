"""Figures of classifier runs: error curves, confusion matrix, first-layer filters."""

from __future__ import annotations

import numpy as np

from genlab.plots.common import curves_figure, grid_figure, legend_outside, metric_series, plt


def error_curves_figure(events: list[dict], title: str):
    """Training error (running mean over each logging interval) and test error against iterations."""
    series = {"training error": metric_series(events, "train", "error")}
    for split, label in (("val", "validation error"), ("test", "test error")):
        steps, values = metric_series(events, "eval", "error", split)
        if steps:
            series[label] = (steps, values)
    return curves_figure(series, title, "iteration (optimisation steps)", "error rate (1 - accuracy)")


def confusion_figure(matrix: np.ndarray, classes: tuple[str, ...], title: str):
    """Confusion matrix with counts in the cells; rows are true classes, columns predictions."""
    size = max(5.0, 0.55 * len(classes) + 2.5)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis, label="number of test examples")
    ticks = range(len(classes))
    axis.set_xticks(ticks, classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right")
    axis.set_yticks(ticks, classes)
    threshold = matrix.max() / 2
    for i in ticks:
        for j in ticks:
            axis.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if matrix[i, j] > threshold else "black",
            )
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(title)
    return figure


def filters_figure(weights: np.ndarray, title: str):
    """First-layer convolution filters [F, 1, k, k], each scaled to its own [0, 1] range."""
    filters = weights[:, 0]
    low = filters.min(axis=(1, 2), keepdims=True)
    high = filters.max(axis=(1, 2), keepdims=True)
    scaled = (filters - low) / np.maximum(high - low, 1e-12)
    ncols = int(np.ceil(np.sqrt(len(filters))))
    return grid_figure(
        scaled,
        ncols,
        title,
        xlabel=f"{len(filters)} filters of {filters.shape[1]}x{filters.shape[2]} "
        "(each scaled to its own min-max; dark = negative, light = positive)",
    )


def most_confused_pairs(matrix: np.ndarray, classes: tuple[str, ...], top: int = 5) -> list[dict]:
    """The off-diagonal cells with the most test examples: (true, predicted, count)."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    pairs = []
    for flat in order:
        i, j = np.unravel_index(flat, off.shape)
        if off[i, j] > 0:
            pairs.append({"true": classes[i], "predicted": classes[j], "count": int(off[i, j])})
    return pairs


def comparison_error_figure(runs: dict[str, list[dict]], title: str):
    """Test error (solid) and training error (dotted, running mean per logging interval) against
    optimisation steps, one colour per setting; `runs` maps a setting's label to its logged events."""
    from matplotlib.lines import Line2D

    figure, axis = plt.subplots(figsize=(7, 4.5))
    colours = plt.get_cmap("tab10")
    handles = []
    for index, (label, events) in enumerate(runs.items()):
        colour = colours(index % 10)
        steps, values = metric_series(events, "eval", "error", "test")
        axis.plot(steps, values, color=colour, marker="o" if len(steps) <= 30 else None, markersize=3)
        steps, values = metric_series(events, "train", "error")
        axis.plot(steps, values, color=colour, linestyle=":", linewidth=1)
        handles.append(Line2D([], [], color=colour, label=label))
    handles += [
        Line2D([], [], color="black", label="test error"),
        Line2D([], [], color="black", linestyle=":", label="training error"),
    ]
    legend_outside(axis, handles=handles, fontsize=8)
    axis.set_yscale("log")
    axis.set_title(title)
    axis.set_xlabel("iteration (optimisation steps)")
    axis.set_ylabel("error rate (1 - accuracy), log scale")
    axis.grid(alpha=0.3, which="both")
    return figure
