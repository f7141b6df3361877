"""Within-class diversity of generated images, relative to real images of the same class.

The judge's class entropy sees whether a generator draws every class; it cannot see a
generator that draws one image per class (a conditional generator that ignores its
noise scores a perfect entropy and conditional accuracy). For each class k this
measures the mean pairwise Euclidean distance between generated images of class k
divided by that between real images of class k: about 1 when the samples vary as
much as real ones, near 0 when they collapse to a few images.
"""

from __future__ import annotations

import torch

REAL_PER_CLASS = 200  # real images per class for the reference spread


def mean_pairwise_distance(points: torch.Tensor) -> float:
    """Mean Euclidean distance over all pairs of rows of [n, d] (n >= 2)."""
    return torch.pdist(points.double()).mean().item()


def within_class_diversity(
    samples: torch.Tensor, labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor, num_classes: int
) -> tuple[float | None, list[float | None]]:
    """(mean over classes, per-class ratios) of generated to real within-class spread.

    `samples` [n, ...] carry `labels` (the class asked for, or the judge's label); `real`
    [m, ...] with `real_labels`. A class with fewer than two images on either side has no
    ratio (None) and is left out of the mean."""
    samples, real = samples.flatten(1).float().cpu(), real.flatten(1).float().cpu()
    labels, real_labels = labels.cpu(), real_labels.cpu()
    ratios: list[float | None] = []
    for k in range(num_classes):
        mine, theirs = samples[labels == k], real[real_labels == k][:REAL_PER_CLASS]
        if len(mine) < 2 or len(theirs) < 2:
            ratios.append(None)
            continue
        ratios.append(mean_pairwise_distance(mine) / mean_pairwise_distance(theirs))
    present = [r for r in ratios if r is not None]
    return (sum(present) / len(present) if present else None), ratios
