"""Figures that compare several runs of a suite at once."""

from __future__ import annotations

import math

import numpy as np

from genlab.plots.common import plt


def class_frequencies_figure(
    histograms: dict[str, list[int]],
    classes: tuple[str, ...],
    title: str,
    unrecognisable: dict[str, float | None] | None = None,
):
    """Grouped bars: for each model (colour), the fraction of its recognisable samples the judge put in
    each class.

    `histograms` maps a model's label to its counts per class [K]; `unrecognisable` (optional) maps it
    to the share of its samples the judge could not recognise, given in the legend. The dashed line is
    1/K, where every class would sit if the model drew them all equally often."""
    figure, axis = plt.subplots(figsize=(max(6.0, 0.75 * len(classes) + 2), 4))
    width = 0.8 / max(1, len(histograms))
    positions = np.arange(len(classes))
    for index, (label, counts) in enumerate(histograms.items()):
        counts = np.asarray(counts, dtype=float)
        frequencies = counts / max(1.0, counts.sum())
        entropy = -sum(f * math.log(f) for f in frequencies if f > 0)
        share = (unrecognisable or {}).get(label)
        apart = "" if share is None else f", unrecognisable share {share:.2f}"
        axis.bar(
            positions + (index - (len(histograms) - 1) / 2) * width,
            frequencies,
            width,
            label=f"{label} (entropy {entropy + 0.0:.2f} nats{apart})",
        )
    axis.axhline(
        1 / len(classes),
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"uniform: 1/{len(classes)} (entropy {math.log(len(classes)):.2f} nats)",
    )
    axis.set_xticks(positions, classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right")
    axis.set_xlabel("class the judge assigned")
    axis.set_ylabel("fraction of recognisable samples")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return figure


def neighbour_classes_figure(matrices: dict[str, np.ndarray], classes: tuple[str, ...], k: int, title: str):
    """One heat map per model: row i, column j is the share of the k nearest training codes of class-i test
    codes that are of class j (`genlab.latent.embed.neighbour_classes`), on one colour scale from 0 to 1."""
    count = len(matrices)
    columns = min(3, count)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 4.0 * rows + 0.6), squeeze=False, layout="constrained"
    )
    image = None
    for axis, (label, matrix) in zip(axes.flat, matrices.items()):
        image = axis.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        axis.set_title(label, fontsize=9)
        axis.set_xticks(range(len(classes)), classes, rotation=90 if max(map(len, classes)) > 2 else 0, fontsize=7)
        axis.set_yticks(range(len(classes)), classes, fontsize=7)
        axis.set_xlabel(f"class of its {k} nearest training codes")
        axis.set_ylabel("class of the test code")
    for axis in list(axes.flat)[count:]:
        axis.set_visible(False)
    figure.suptitle(title)
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of the neighbours")
    return figure
