"""Figures that compare several runs of a suite at once."""

from __future__ import annotations

import math

import numpy as np

from genlab.plots.common import plt


def class_frequencies_figure(histograms: dict[str, list[int]], classes: tuple[str, ...], title: str,
                             unrecognisable: dict[str, float | None] | None = None):
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
        apart = "" if share is None else f", {share:.0%} unrecognisable"
        axis.bar(positions + (index - (len(histograms) - 1) / 2) * width, frequencies, width,
                 label=f"{label} (entropy {entropy + 0.0:.2f} nats{apart})")
    axis.axhline(1 / len(classes), color="black", linestyle="--", linewidth=1,
                 label=f"uniform: 1/{len(classes)} (entropy {math.log(len(classes)):.2f} nats)")
    axis.set_xticks(positions, classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right")
    axis.set_xlabel("class the judge assigned")
    axis.set_ylabel("fraction of recognisable samples")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return figure
