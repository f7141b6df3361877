"""Latent embeddings of a split, their quality numbers and their figure.

Shared by every family with an encoder (autoencoders, VAEs, echo noise): a
family exposes `encode(model, x) -> z [B, p]` and `decode(model, z) -> x`, and
these functions do the rest.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.data.datasets import Split
from genlab.plots.common import legend_outside, plt


@torch.no_grad()
def encode_split(family, model, split: Split, batch_size: int = 2000, limit: int | None = None) -> np.ndarray:
    """Latent codes [N, p] (float32, numpy) of the first `limit` rows of `split`."""
    n = len(split) if limit is None else min(limit, len(split))
    codes = [
        family.encode(model, split.inputs(slice(start, min(start + batch_size, n))))
        for start in range(0, n, batch_size)
    ]
    return torch.cat(codes).float().cpu().numpy()


def projector_2d(z: np.ndarray):
    """(project, how) for codes like z [N, p]: `project(codes [M, p]) -> [M, 2]` maps codes into the plane
    of `embedding_figure` (identity for p = 2, a line for p = 1, else the PCA of z), so further
    points (an interpolation path) land where the figure draws them."""
    if z.shape[1] == 2:
        return (lambda codes: np.asarray(codes)), ""
    if z.shape[1] == 1:
        return (
            lambda codes: np.column_stack([np.asarray(codes)[:, 0], np.zeros(len(codes))])
        ), " (1-D latent, plotted on a line)"
    # PCA by one SVD of the centred codes (importing scikit-learn for it took a second of `genlab train`); each
    # component's sign makes its largest-magnitude loading positive, as scikit-learn's PCA does.
    mean = np.asarray(z, dtype=np.float64).mean(0)
    components = np.linalg.svd(np.asarray(z, dtype=np.float64) - mean, full_matrices=False)[2][:2]
    components *= np.sign(components[np.arange(2), np.abs(components).argmax(1)])[:, None]
    return (
        lambda codes: (np.asarray(codes, dtype=np.float64) - mean) @ components.T
    ), f" (PCA projection of the {z.shape[1]}-D latent)"


def project_2d(z: np.ndarray) -> tuple[np.ndarray, str]:
    """(points [N, 2], how they were obtained): identity for 2-D codes, else PCA to 2-D."""
    project, how = projector_2d(z)
    return project(z), how


def embedding_figure(
    z: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], title: str, axis=None, legend: bool = True
):
    """Scatter of codes [N, p] coloured by label with a legend; PCA to 2-D (said in the title) when p > 2.

    Draws into `axis` when given (for side-by-side comparisons) and returns the figure.
    """
    points, how = project_2d(z)
    figure = None
    if axis is None:
        figure, axis = plt.subplots(figsize=(6.5, 5.5))
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for index, name in enumerate(classes):
        mask = labels == index
        if mask.any():
            axis.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.7, color=colours(index % colours.N), label=name)
    axis.set_title(title + how)
    axis.set_xlabel("latent dimension 1" if not how else "principal component 1")
    axis.set_ylabel("latent dimension 2" if not how else "principal component 2")
    if legend:
        legend_outside(axis, title="label", markerscale=2.5, fontsize=7)
    return figure if figure is not None else axis.figure


@torch.no_grad()
def knn_accuracy(train_z: np.ndarray, train_y: np.ndarray, test_z: np.ndarray, test_y: np.ndarray, k: int = 5) -> float:
    """Accuracy of a k-NN classifier fitted on train codes [N, p], predicting test labels of codes [M, p].

    A plain majority vote of the k nearest training codes (Euclidean), a tie going to the smallest
    class index, as scikit-learn's KNeighborsClassifier votes. Exact distances in torch, 1,000 test
    codes at a time: 5,000 x 5,000 codes take a tenth of a second, where importing scikit-learn
    alone took a second of the whole `genlab train` command."""
    train = torch.as_tensor(np.asarray(train_z), dtype=torch.float64)
    labels = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    test = torch.as_tensor(np.asarray(test_z), dtype=torch.float64)
    truth = torch.as_tensor(np.asarray(test_y), dtype=torch.long)
    classes = int(max(labels.max(), truth.max())) + 1
    correct = 0
    for start in range(0, len(test), 1000):
        distances = torch.cdist(test[start : start + 1000], train)
        nearest = distances.topk(min(k, len(train)), largest=False).indices  # [B, k]
        votes = torch.zeros(len(nearest), classes, dtype=torch.long).scatter_add_(
            1, labels[nearest], torch.ones_like(nearest)
        )
        correct += int((votes.argmax(1) == truth[start : start + 1000]).sum())
    return correct / len(test)


@torch.no_grad()
def silhouette(z: np.ndarray, labels: np.ndarray, max_points: int = 5000, seed: int = 0) -> float:
    """Silhouette score of the codes under the true labels (Euclidean; subsampled to `max_points`).

    scikit-learn's silhouette_score computed in torch, the same subsample included (the first
    `max_points` of a RandomState(seed) permutation): s = (b - a) / max(a, b) per point, a its mean
    distance to the rest of its class, b the smallest mean distance to another class, 0 for a class of one."""
    rows = np.random.RandomState(seed).permutation(len(z))[: min(max_points, len(z))]
    points = torch.as_tensor(np.asarray(z)[rows], dtype=torch.float64)
    _, classes = np.unique(np.asarray(labels)[rows], return_inverse=True)
    members = torch.nn.functional.one_hot(torch.as_tensor(classes), int(classes.max()) + 1).double()  # [N, K]
    sizes = members.sum(0)
    own = torch.as_tensor(classes)
    scores = []
    for start in range(0, len(points), 1000):
        sums = torch.cdist(points[start : start + 1000], points) @ members  # [B, K] distance sums per class
        mine = own[start : start + 1000]
        same = sizes[mine] - 1
        a = sums.gather(1, mine[:, None])[:, 0] / same.clamp(min=1)
        means = sums / sizes
        means.scatter_(1, mine[:, None], torch.inf)
        b = means.min(1).values
        scores.append(torch.where(same > 0, (b - a) / torch.maximum(a, b), torch.zeros_like(a)))
    return float(torch.cat(scores).nan_to_num(0.0).mean())


def neighbour_classes(
    train_z: np.ndarray, train_y: np.ndarray, test_z: np.ndarray, test_y: np.ndarray, num_classes: int, k: int = 5
) -> np.ndarray:
    """Which classes embed close together: M [K, K], M[i, j] the share of the k nearest training codes of
    class-i test codes that are of class j (each row sums to 1; a class absent from the test codes gets a
    row of zeros). The diagonal is how often a class's neighbours share its class; the same neighbours
    as `knn_accuracy`'s, so the two agree on which pairs a k-NN classifier mixes up.

    train_z [N, p], train_y [N] and test_z [M, p], test_y [M] (int class indices)."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k).fit(train_z).kneighbors(test_z, return_distance=False)  # [M, k]
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (np.repeat(np.asarray(test_y), k), np.asarray(train_y)[index].reshape(-1)), 1)
    totals = counts.sum(1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def closest_class_pairs(matrix: np.ndarray, count: int = 5) -> list[tuple[int, int, float]]:
    """The `count` class pairs (i < j) whose codes are most often each other's neighbours, by the mean of
    M[i, j] and M[j, i] of a `neighbour_classes` matrix, highest first: [(i, j, share)]."""
    mixed = (matrix + matrix.T) / 2
    pairs = [(i, j, float(mixed[i, j])) for i in range(len(matrix)) for j in range(i + 1, len(matrix))]
    return sorted(pairs, key=lambda pair: -pair[2])[:count]
