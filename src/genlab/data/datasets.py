"""Datasets as tensor pairs on the training device, with seeded splits.

Images stay uint8 on the device ([N, 1, 28, 28]) and are converted to float
per batch, so even the full Fashion-MNIST costs 47 MB of device memory.
Batches are index slices; there is no DataLoader.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genlab.errors import GenlabError


@dataclass
class Split:
    """One split: `x` is uint8 [N, C, H, W] (images) or float32 [N, D] (tabular); `y` int64 [N]."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def inputs(self, index: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Float inputs for the given rows: images scaled to [0, 1], tabular as stored."""
        x = self.x if index is None else self.x[index]
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x

    def batches(self, batch_size: int):
        """Yield (float inputs, labels) in order, for evaluation."""
        for start in range(0, len(self), batch_size):
            rows = slice(start, start + batch_size)
            yield self.inputs(rows), self.y[rows]


@dataclass
class DataBundle:
    """Train, validation and test splits on one device, plus what they are."""

    name: str
    train: Split
    val: Split | None
    test: Split
    classes: tuple[str, ...]
    kind: str = "image"  # "image" or "tabular"
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def selection_split(self) -> Split:
        """The split used for model selection: validation when there is one, never test."""
        return self.val if self.val is not None else self.train


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a class-balanced subset of size `n` (proportional to class frequency), sorted."""
    if n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    # Hand out the remainder to the classes with the largest fractional share.
    remainder = n - quota.sum()
    order = np.argsort(-(counts / counts.sum() * n - quota), kind="stable")
    quota[order[:remainder]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=q, replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(chosen))


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train indices, validation indices) of a split of `n` rows."""
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng(seed + 7919)
    order = rng.permutation(n)
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise GenlabError(
            f"--val-fraction {fraction:g} of {n} training example(s) leaves none to train on; "
            "lower --val-fraction or raise --limit"
        )
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def fingerprint(*arrays: np.ndarray) -> str:
    """A short SHA-256 of the arrays' bytes: tells whether two runs saw the same data."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; 'cuda' without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GenlabError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    return torch.device(name)


def load_dataset(
    name: str,
    limit: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    device: torch.device | str = "cpu",
    label_column: str | None = None,
    labels: str | None = None,
    label_key: str | None = None,
    test_fraction: float = 0.2,
) -> DataBundle:
    """Load a named image dataset, or a tabular file (.csv, .npy, .h5ad), as a DataBundle on `device`.

    `limit` keeps a stratified subset of the train split; `val_fraction` holds a
    seeded validation split out of what remains. The test split of an image
    dataset is untouched. A tabular file (see genlab.data.tabular; the label
    options say where its labels are) is split into train and test by a seeded
    stratified `test_fraction` hold-out, and every feature is standardised with
    the mean and standard deviation of the rows trained on.
    """
    from genlab.data import registry
    from genlab.data.tabular import check_label_options, is_tabular

    device = torch.device(device)
    check_label_options(name, label_column, labels, label_key)
    if is_tabular(name):
        return load_tabular(name, limit, val_fraction, seed, device, label_column, labels, label_key, test_fraction)
    info = registry.get_info(name)
    arrays = registry.load_arrays(name)
    train_x, train_y = arrays["train"]
    test_x, test_y = arrays["test"]
    if limit is not None:
        keep = stratified_subset(train_y, limit, seed)
        train_x, train_y = train_x[keep], train_y[keep]
    fit_rows, val_rows = validation_split(len(train_y), val_fraction, seed)

    def to_split(images: np.ndarray, labels: np.ndarray) -> Split:
        x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).to(device)
        return Split(x, torch.from_numpy(labels.astype(np.int64)).to(device))

    return DataBundle(
        name=name,
        train=to_split(train_x[fit_rows], train_y[fit_rows]),
        val=to_split(train_x[val_rows], train_y[val_rows]) if len(val_rows) else None,
        test=to_split(test_x, test_y),
        classes=tuple(info.classes),
        kind="image",
        fingerprint=fingerprint(train_x[fit_rows], train_y[fit_rows], test_x, test_y),
    )


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (kept, held-out) indices holding out round(`fraction` * count) rows of every class,
    so that even a small class appears in both parts when it has two rows or more."""
    rng = np.random.default_rng(seed + 104729)
    kept, held = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_held = int(round(len(rows) * fraction))
        n_held = min(max(n_held, 1 if len(rows) > 1 else 0), len(rows) - 1)
        held.append(rows[:n_held])
        kept.append(rows[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def load_tabular(
    path: str,
    limit: int | None,
    val_fraction: float,
    seed: int,
    device: torch.device,
    label_column: str | None,
    labels: str | None,
    label_key: str | None,
    test_fraction: float,
) -> DataBundle:
    """A tabular file as a DataBundle (kind "tabular", x float32 [N, D], standardised with training statistics)."""
    from genlab.data.tabular import read_table

    table = read_table(path, label_column=label_column, labels=labels, label_key=label_key)
    train_rows, test_rows = stratified_holdout(table.y, test_fraction, seed)
    if not len(test_rows):
        raise GenlabError(
            f"{Path(path).name}: no class has two rows, so nothing can be held out for testing; "
            "give at least two rows of some class"
        )
    if limit is not None:
        train_rows = train_rows[stratified_subset(table.y[train_rows], limit, seed)]
    fit_local, val_local = validation_split(len(train_rows), val_fraction, seed)
    fit_rows, val_rows = train_rows[fit_local], train_rows[val_local]
    # In float64: the squares of a float32 feature near 1e30 overflow, and its std would be inf (x -> 0).
    mean = table.x[fit_rows].astype(np.float64).mean(axis=0)
    std = table.x[fit_rows].astype(np.float64).std(axis=0)
    # A feature constant on the training rows carries no information; leave it centred, unscaled.
    std = np.where(std > 1e-8, std, 1.0)
    x = ((table.x - mean) / std).astype(np.float32)
    mean, std = mean.astype(np.float32), std.astype(np.float32)

    def to_split(rows: np.ndarray) -> Split:
        return Split(
            torch.from_numpy(np.ascontiguousarray(x[rows])).to(device), torch.from_numpy(table.y[rows]).to(device)
        )

    return DataBundle(
        name=Path(path).name,
        train=to_split(fit_rows),
        val=to_split(val_rows) if len(val_rows) else None,
        test=to_split(test_rows),
        classes=table.classes,
        kind="tabular",
        fingerprint=fingerprint(table.x, table.y, fit_rows, test_rows),
        extra={"features": table.features, "mean": mean, "std": std, "source": str(path)},
    )
