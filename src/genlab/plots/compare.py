"""The figure of `genlab compare-runs`: loss curves overlaid, then per-run panels side by side."""

from __future__ import annotations

import numpy as np

from genlab.plots.common import image_grid, plt


_ABSENT = {
    "embedding": "encoder (family cannot encode)",
    "samples": "sampler (family cannot sample)",
    "histogram": "class histogram in its summary",
}


def compare_figure(
    labels: list[str], curves: list[tuple[str, dict]], embeddings: list, samples: list, histograms: list, title: str
):
    """One figure for several runs.

    Row 1 (full width): every run's loss curves, (steps, values) per series name,
    solid for training and dashed for validation, one colour per run. Further
    rows, one panel per run, present only when some run has them: the test
    embedding (z [N, p], labels [N], classes), a sample grid (images [n, 1, H, W]
    in [0, 1]), and class-histogram bars ({entry: counts}, class names or None).
    A run without a row's item gets an empty panel saying so.
    """
    rows = [("embedding", embeddings), ("samples", samples), ("histogram", histograms)]
    rows = [(kind, items) for kind, items in rows if any(item is not None for item in items)]
    columns = len(labels)
    figure = plt.figure(figsize=(max(7.0, 4.6 * columns), 3.8 + 4.3 * len(rows)), constrained_layout=True)
    grid = figure.add_gridspec(1 + len(rows), columns, height_ratios=[0.85] + [1.0] * len(rows))
    _loss_panel(figure.add_subplot(grid[0, :]), curves)
    for row, (kind, items) in enumerate(rows, start=1):
        for column, (label, item) in enumerate(zip(labels, items)):
            axis = figure.add_subplot(grid[row, column])
            if item is None:
                axis.axis("off")
                axis.text(0.5, 0.5, f"{label}:\nno {_ABSENT[kind]}", ha="center", va="center", fontsize=9)
            elif kind == "embedding":
                from genlab.latent.embed import embedding_figure

                z, point_labels, classes = item
                embedding_figure(z, point_labels, classes, f"{label}\ntest embedding ({len(z)} points)", axis=axis)
                axis.title.set_fontsize(9)
            elif kind == "samples":
                _samples_panel(axis, label, item)
            else:
                _histogram_panel(axis, label, *item)
    figure.suptitle(title)
    return figure


def _loss_panel(axis, curves: list[tuple[str, dict]]) -> None:
    colours = plt.get_cmap("tab10")
    values = []
    for index, (label, series) in enumerate(curves):
        styles = iter(["-", "-.", ":"])
        for name, (steps, ys) in series.items():
            style = "--" if "(validation)" in name else next(styles, "-")
            axis.plot(steps, ys, style, color=colours(index % 10), label=f"{label}: {name}", linewidth=1.3)
            values += list(ys)
    positive = [v for v in values if v > 0]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > 20:
        axis.set_yscale("log")
    axis.set_xlabel("iteration (optimisation steps)")
    axis.set_ylabel("loss (as each run logged it)")
    axis.set_title("Loss curves (solid: training, dashed: validation)")
    axis.grid(alpha=0.3)
    if values:
        axis.legend(fontsize=7, ncol=2 if len(axis.lines) > 6 else 1, loc="best")


def _samples_panel(axis, label: str, images: np.ndarray) -> None:
    columns = int(np.ceil(np.sqrt(len(images))))
    axis.imshow(image_grid(np.clip(images, 0, 1), columns), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axis.set_title(f"{label}\n{len(images)} samples (same seed for every run)", fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_xlabel("generated images")


def _histogram_panel(axis, label: str, histograms: dict[str, list[float]], classes) -> None:
    width = 0.8 / len(histograms)
    for index, (key, counts) in enumerate(histograms.items()):
        positions = np.arange(len(counts)) + (index - (len(histograms) - 1) / 2) * width
        axis.bar(positions, counts, width=width, label=key)
    count = len(next(iter(histograms.values())))
    names = list(classes) if classes is not None and len(classes) == count else [str(i) for i in range(count)]
    axis.set_xticks(range(count), names, rotation=45 if max(map(len, names)) > 2 else 0, fontsize=7)
    axis.set_xlabel("class")
    axis.set_ylabel("count")
    axis.set_title(f"{label}\nclass histogram", fontsize=9)
    axis.legend(fontsize=7)
