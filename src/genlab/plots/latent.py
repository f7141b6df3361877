"""Figures of latent-space inspection: interpolation strips and paths over an embedding."""

from __future__ import annotations

import numpy as np

from genlab.plots.common import image_grid, legend_outside, plt


def interpolation_strip_figure(decoded: np.ndarray, originals: np.ndarray, t: np.ndarray, title: str):
    """The two original images [2, 1, H, W] at the ends and the decoded path [S, 1, H, W] between them."""
    images = np.concatenate([originals[:1], np.clip(decoded, 0, 1), originals[1:]])
    grid = image_grid(images, len(images))
    figure, axis = plt.subplots(figsize=(max(4.0, 0.8 * len(images) + 0.5), 2.2))
    axis.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    cell = grid.shape[1] / len(images)
    labels = ["A\n(data)"] + [f"{value:.2f}" for value in t] + ["B\n(data)"]
    axis.set_xticks([cell * (i + 0.5) for i in range(len(images))], labels, fontsize=7)
    axis.set_yticks([])
    axis.set_xlabel("position t along the path (decoded), between the two data images")
    axis.set_title(title, fontsize=9)
    return figure


def interpolation_heatmap_figure(decoded: np.ndarray, originals: np.ndarray, t: np.ndarray, title: str):
    """Real-valued data: rows are endpoint A [D], the decoded path [S, D], endpoint B, as a heatmap."""
    rows = np.concatenate([originals[:1], decoded, originals[1:]])
    figure, axis = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.8))
    limit = float(np.percentile(np.abs(rows), 99)) or 1.0
    image = axis.imshow(rows, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    figure.colorbar(image, ax=axis, label="standardised feature value")
    labels = ["A (data)"] + [f"t = {value:.2f}" for value in t] + ["B (data)"]
    axis.set_yticks(range(len(rows)), labels, fontsize=7)
    axis.set_xlabel(f"feature (all {rows.shape[1]})")
    axis.set_ylabel("position along the path")
    axis.set_title(title, fontsize=9)
    return figure


def path_figure(
    backdrop: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    path: np.ndarray,
    ends: np.ndarray,
    end_names: tuple[str, str],
    title: str,
):
    """The test embedding backdrop [N, p] coloured by label, with the path's codes [S, p] (the
    fabricated points) and the two endpoint codes [2, p] marked; PCA to 2-D when p > 2."""
    from genlab.latent.embed import embedding_figure, projector_2d

    # The same plane as the embedding figure, whose title says how it was obtained.
    project, _ = projector_2d(backdrop)
    figure = embedding_figure(backdrop, labels, classes, title)
    axis = figure.axes[0]
    points, tips = project(path), project(ends)
    axis.plot(points[:, 0], points[:, 1], color="black", linewidth=1.2, zorder=3)
    axis.scatter(
        points[:, 0],
        points[:, 1],
        marker="X",
        s=55,
        color="black",
        edgecolor="white",
        linewidth=0.6,
        zorder=4,
        label="decoded points on the path",
    )
    for tip, name, marker in zip(tips, end_names, ("o", "s")):
        axis.scatter(
            tip[0],
            tip[1],
            marker=marker,
            s=110,
            facecolor="none",
            edgecolor="black",
            linewidth=2,
            zorder=5,
            label=f"endpoint {'A' if marker == 'o' else 'B'}: {name}",
        )
    legend_outside(axis, title="label", markerscale=1.0, fontsize=7)
    return figure


def pca_vs_linear_ae_figure(
    angles_deg: np.ndarray,
    pca_train_mse: float,
    pca_test_mse: float,
    ae_test_mse: float,
    events: list[dict],
    components: np.ndarray,
    aligned: np.ndarray,
    image_shape: tuple[int, ...] | None,
    title: str,
):
    """Principal angles [K] (degrees) between the two subspaces; the autoencoder's loss against
    iterations beside PCA's error; and, for images, the K PCA components [K, D] above the
    decoder's basis rotated onto them [K, D] (at most 10 of each)."""
    from genlab.plots.common import metric_series

    shown = min(len(components), 10) if image_shape is not None else 0
    figure = plt.figure(figsize=(11, 4.2 + (2.6 if shown else 0)), constrained_layout=True)
    grid = figure.add_gridspec(2 if shown else 1, 2, height_ratios=[1.0, 0.75] if shown else [1.0])
    angles_axis = figure.add_subplot(grid[0, 0])
    angles_axis.bar(np.arange(1, len(angles_deg) + 1), angles_deg, color="tab:purple")
    angles_axis.set_xticks(np.arange(1, len(angles_deg) + 1))
    angles_axis.set_xlabel("principal angle (largest first)")
    angles_axis.set_ylabel("angle (degrees)")
    angles_axis.set_title(f"Principal angles between the subspaces (largest {angles_deg.max():.2f} deg)", fontsize=10)
    angles_axis.grid(alpha=0.3, axis="y")

    loss_axis = figure.add_subplot(grid[0, 1])
    steps, values = metric_series(events, "train", "loss")
    loss_axis.plot(steps, values, label="linear AE, training loss")
    test_steps, test_values = metric_series(events, "eval", "loss", "test")
    if test_steps:
        loss_axis.plot(test_steps, test_values, marker="o", markersize=3, label="linear AE, test loss")
    loss_axis.axhline(pca_train_mse, color="black", linestyle="--", label=f"PCA, training ({pca_train_mse:.4g})")
    loss_axis.axhline(pca_test_mse, color="gray", linestyle=":", label=f"PCA, test ({pca_test_mse:.4g})")
    loss_axis.set_yscale("log")
    loss_axis.set_xlabel("iteration (optimisation steps)")
    loss_axis.set_ylabel("squared error per coordinate")
    loss_axis.set_title(f"Reconstruction error (linear AE test {ae_test_mse:.4g})", fontsize=10)
    loss_axis.grid(alpha=0.3)
    loss_axis.legend(fontsize=8)

    if shown:
        bases_axis = figure.add_subplot(grid[1, :])
        height, width = image_shape[-2:]
        rows = np.concatenate([components[:shown], aligned[:shown]]).reshape(2 * shown, height, width)
        limit = np.abs(rows).max(axis=(1, 2), keepdims=True)
        tiles = image_grid(0.5 + 0.5 * rows / np.maximum(limit, 1e-12), shown, pad_value=0.5)
        image = bases_axis.imshow(tiles, cmap="RdBu_r", vmin=0, vmax=1, interpolation="nearest")
        colour_bar = figure.colorbar(image, ax=bases_axis, ticks=[0, 0.5, 1], shrink=0.8)
        colour_bar.ax.set_yticklabels(["-max", "0", "+max"])
        colour_bar.set_label("weight (each image scaled to its own max)")
        cell = tiles.shape[0] / 2
        bases_axis.set_yticks([cell * 0.5, cell * 1.5], ["PCA\ncomponents", "linear AE basis\n(rotated onto PCA)"])
        bases_axis.set_xticks([])
        bases_axis.set_xlabel("component")
    figure.suptitle(title)
    return figure
