"""Figures of GAN runs: sample grids, training curves, the judge's class histogram,
inversions and latent paths. Pure functions returning labelled figures."""

from __future__ import annotations

import numpy as np

from genlab.plots.common import grid_figure, image_grid, legend_below, metric_series, plt


def samples_figure(images, columns: int, title: str, row_labels: list[str] | None = None):
    """A grid of generated images [N, C, H, W] in [0, 1]; conditional grids label each row by class."""
    xlabel = "one class per row, the same noise in every column" if row_labels else "fixed noise z ~ N(0, I)"
    return grid_figure(images, columns, title, row_labels=row_labels, xlabel=xlabel)


def loss_figure(events: list[dict], loss: str, title: str):
    """Two panels against iterations: the players' losses, and what the discriminator says.

    The left panel adds the regularisers that are on (path speed, the mode-seeking
    penalty, the auxiliary classifier's loss on generated images).
    Binary losses: D(x) on training batches and held-out images, D(G(z)).
    wasserstein-gp: the critic's estimate E C(x) - E C(G(z)) of the Wasserstein
    distance (training and held-out) and the gradient penalty.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    wasserstein = loss == "wasserstein-gp"
    for key, label in (
        ("d_loss", "critic loss (with penalty)" if wasserstein else "discriminator loss"),
        ("g_loss", "generator loss"),
        ("path_speed", "path speed (regulariser)"),
        ("mode_seeking", "mode-seeking penalty (unweighted)"),
        ("g_aux", "generator's class loss (auxiliary classifier)"),
    ):
        steps, values = metric_series(events, "train", key)
        if steps:
            left.plot(steps, values, label=label)
    left.set_title(f"Losses ({loss})")
    left.set_xlabel("iteration")
    left.set_ylabel("loss")
    left.grid(alpha=0.3)
    legend_below(left, fontsize=8, ncol=2)
    if wasserstein:
        series = (
            ("train", "wasserstein", None, "E C(x) - E C(G(z)), training batches"),
            ("eval", "wasserstein", "val", "E C(x) - E C(G(z)), held-out images"),
            ("train", "gradient_penalty", None, "gradient penalty E(||grad C|| - 1)^2"),
        )
        right.set_ylabel("critic score difference / penalty")
        right.set_title("Critic estimate of the Wasserstein distance")
    else:
        series = (
            ("train", "d_real", None, "D(x), training batches"),
            ("eval", "d_real", "val", "D(x), held-out images"),
            ("train", "d_fake", None, "D(G(z))"),
        )
        right.set_ylabel("mean discriminator output (probability real)")
        right.set_title("Discriminator outputs")
        right.set_ylim(-0.02, 1.02)
    for event, key, split, label in series:
        steps, values = metric_series(events, event, key, split)
        if steps:
            right.plot(
                steps,
                values,
                label=label,
                marker="o" if event == "eval" else None,
                markersize=3,
                linestyle="--" if event == "eval" else "-",
            )
    right.set_xlabel("iteration")
    right.grid(alpha=0.3)
    legend_below(right, fontsize=8, ncol=2)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def progress_figure(progress: dict[int, np.ndarray], title: str, max_rows: int = 10):
    """Rows of the same fixed-noise samples at (up to `max_rows` evenly spaced) epochs; uint8 images."""
    epochs = sorted(progress)
    if len(epochs) > max_rows:
        epochs = [epochs[i] for i in np.linspace(0, len(epochs) - 1, max_rows).round().astype(int)]
    columns = max(len(progress[e]) for e in epochs)
    images = np.concatenate([progress[e] for e in epochs]).astype(np.float32) / 255.0
    return grid_figure(
        images, columns, title, row_labels=[f"epoch {e}" for e in epochs], xlabel="the same noise in every row"
    )


def class_histogram_figure(quality: dict, classes: tuple[str, ...], accuracy: list[float] | None, title: str):
    """Bar chart of the judge's labels for the recognisable samples (mode coverage), with the uniform
    level and the unrecognisable share in the title; for conditional models a second panel of per-class
    conditional accuracy (on the recognisable samples; a class with none is left empty)."""
    panels = 2 if accuracy is not None else 1
    figure, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    counts = np.asarray(quality["sample_class_histogram"])
    axis = axes[0, 0]
    positions = np.arange(len(classes))
    axis.bar(positions, counts, color="tab:blue", label="recognisable samples per predicted class")
    axis.axhline(counts.sum() / len(classes), color="tab:red", linestyle="--", label="every class equally")
    axis.set_xticks(
        positions,
        classes,
        rotation=45 if max(map(len, classes)) > 2 else 0,
        ha="right" if max(map(len, classes)) > 2 else "center",
    )
    axis.set_xlabel("class assigned by the judge")
    axis.set_ylabel("number of samples")
    entropy = quality["sample_class_entropy"]
    axis.set_title(
        f"unrecognisable share {quality['sample_unrecognisable_share']:.3f}; of the rest: entropy "
        f"{'none' if entropy is None else f'{entropy:.3f}'} nats (max {np.log(len(classes)):.3f}); "
        f"mean confidence {quality['sample_mean_confidence']:.3f}",
        fontsize=9,
    )
    axis.legend(fontsize=8)
    if accuracy is not None:
        axis = axes[0, 1]
        accuracy = np.array([np.nan if a is None else a for a in accuracy])
        axis.bar(positions, accuracy, color="tab:green", label="judge agrees with the requested class")
        axis.set_xticks(
            positions,
            classes,
            rotation=45 if max(map(len, classes)) > 2 else 0,
            ha="right" if max(map(len, classes)) > 2 else "center",
        )
        axis.set_ylim(0, 1.05)
        axis.set_xlabel("requested class")
        axis.set_ylabel("conditional accuracy")
        axis.set_title(
            f"conditional accuracy of the recognisable samples, per class; mean {np.nanmean(accuracy):.3f}", fontsize=9
        )
        axis.legend(fontsize=8, loc="lower right")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def inversion_figure(
    targets: np.ndarray, reconstructions: np.ndarray, losses: np.ndarray, title: str, names: list[str] | None = None
):
    """One row per target: the target, then the reconstruction of each restart with its loss.

    targets [N, C, H, W], reconstructions [N, R, C, H, W], losses [N, R] (squared error, summed over
    pixels); `names` label the rows (default "target i").
    """
    n, restarts = losses.shape
    figure, axes = plt.subplots(n, restarts + 1, figsize=(1.25 * (restarts + 1) + 0.6, 1.35 * n + 0.8), squeeze=False)
    best = losses.argmin(1)
    for row in range(n):
        for column in range(restarts + 1):
            axis = axes[row, column]
            image = targets[row] if column == 0 else reconstructions[row, column - 1]
            axis.imshow(image[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(names[row] if names else f"target {row}", fontsize=8)
                if row == 0:
                    axis.set_title("target", fontsize=8)
            else:
                marker = " *" if column - 1 == best[row] else ""
                axis.set_xlabel(f"{losses[row, column - 1]:.2f}{marker}", fontsize=7)
                if row == 0:
                    axis.set_title(f"restart {column}", fontsize=8)
    figure.suptitle(f"{title}\nbelow each reconstruction: ||G(z) - x||^2 (* = best restart)", fontsize=9)
    figure.tight_layout()
    return figure


def path_figure(
    straight_images: np.ndarray,
    optimised_images: np.ndarray,
    straight_2d: np.ndarray,
    optimised_2d: np.ndarray,
    history: list[float],
    numbers: dict,
    title: str,
    axis_labels,
):
    """Decoded strips of the straight and the optimised path, both paths projected to 2-D, and
    the energy U during optimisation. Images [K+2, C, H, W]; 2-D points [K+2, 2]."""
    figure = plt.figure(figsize=(12, 6.4))
    grid = figure.add_gridspec(2, 2, height_ratios=(1, 1.5))
    axis = figure.add_subplot(grid[0, :])
    strip = np.concatenate(
        [image_grid(straight_images, len(straight_images)), image_grid(optimised_images, len(optimised_images))]
    )
    axis.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axis.set_xticks([])
    quarter = strip.shape[0] / 4
    axis.set_yticks(
        [quarter, 3 * quarter],
        [
            f"{name}\nU={numbers[name]['U']:.1f}\nlength {numbers[name]['image_length']:.1f}"
            for name in ("straight", "optimised")
        ],
        fontsize=8,
    )
    axis.set_xlabel("path node, from A (left) to B (right)")
    axis.set_title("Decoded paths G(Z_k); length = sum of ||G(Z_k+1) - G(Z_k)|| in pixel space")
    axis = figure.add_subplot(grid[1, 0])
    axis.plot(straight_2d[:, 0], straight_2d[:, 1], "o-", color="tab:gray", label="straight line", markersize=4)
    axis.plot(optimised_2d[:, 0], optimised_2d[:, 1], "o-", color="tab:orange", label="optimised path", markersize=4)
    for point, name in ((straight_2d[0], "A"), (straight_2d[-1], "B")):
        axis.annotate(name, point, textcoords="offset points", xytext=(4, 6), fontweight="bold")
    axis.set_xlabel(axis_labels[0])
    axis.set_ylabel(axis_labels[1])
    axis.set_title("Both paths in latent space (2-D projection)")
    axis.grid(alpha=0.3)
    legend_below(axis, fontsize=8, ncol=2)
    axis = figure.add_subplot(grid[1, 1])
    axis.plot(np.arange(len(history)), history, color="tab:orange", label="optimised path")
    axis.axhline(numbers["straight"]["U"], color="tab:gray", linestyle="--", label="straight line")
    axis.set_xlabel("optimisation step")
    axis.set_ylabel("discretised energy U")
    axis.set_title("Energy during optimisation")
    axis.grid(alpha=0.3)
    legend_below(axis, fontsize=8, ncol=2)
    figure.suptitle(title)
    figure.tight_layout()
    return figure
