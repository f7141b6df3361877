"""Figure of a 2-D dataset before and after a corruption process."""

from __future__ import annotations

import numpy as np

from genlab.plots.common import plt


def corruption_figure(
    clean: np.ndarray, corrupted: np.ndarray, clean_description: str, process: str, formula: str, title: str
):
    """Original points [N, 2] (left) and corrupted points [N, 2] (right) on shared axes.

    The right panel repeats the clean set faintly so the displacement is visible;
    the figure title carries the process's formula.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), sharex=True, sharey=True)
    left.scatter(clean[:, 0], clean[:, 1], s=5, color="tab:blue", label="original")
    left.set_title(f"original: {clean_description}", fontsize=10)
    right.scatter(clean[:, 0], clean[:, 1], s=3, color="lightgray", label="original")
    right.scatter(corrupted[:, 0], corrupted[:, 1], s=5, color="tab:red", alpha=0.8, label="corrupted")
    right.set_title(f"corrupted: {process}", fontsize=10)
    for axis in (left, right):
        axis.set_xlabel("$x_1$")
        axis.set_ylabel("$x_2$")
        axis.grid(alpha=0.3)
        axis.legend(loc="best", markerscale=2)
        axis.set_aspect("equal", adjustable="box")
    figure.suptitle(f"{title}: corruption process {formula}")
    figure.tight_layout()
    return figure
