"""Input checks shared by the estimators: one-line GenlabErrors that say what to fix."""

from __future__ import annotations

import numpy as np
import torch

from genlab.errors import GenlabError


def as_rows(x, name: str) -> np.ndarray:
    """x as a real array [n, d] (each sample flattened); refuses 0-d, empty, complex, NaN and infinite input."""
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if np.iscomplexobj(array):
        raise GenlabError(
            f"{name} holds complex values; distances here are between real vectors: "
            "give the real and imaginary parts as separate columns, or the magnitudes"
        )
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise GenlabError(f"{name} holds {array.dtype} values, not numbers")
    if array.ndim == 0:
        raise GenlabError(
            f"{name} is a single number (a 0-d array), not a set of samples; "
            "give an array [n, ...] with one sample per row"
        )
    if len(array) == 0:
        raise GenlabError(f"{name} is empty; give at least one sample per set")
    array = array.reshape(len(array), -1)
    if array.shape[1] == 0:
        raise GenlabError(f"{name} has samples of dimension 0")
    bad = ~np.isfinite(array) if np.issubdtype(array.dtype, np.floating) else np.zeros(array.shape, bool)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise GenlabError(
            f"{name} contains {int(bad.sum())} NaN or infinite values (first in sample {row}); remove or replace them"
        )
    return array


def check_pair(x, y, names: tuple[str, str] = ("A", "B")) -> tuple[np.ndarray, np.ndarray]:
    """Both sets as finite float arrays [n, d] and [m, d] of the same dimension."""
    a, b = as_rows(x, names[0]), as_rows(y, names[1])
    if a.shape[1] != b.shape[1]:
        raise GenlabError(
            f"{names[0]} has dimension {a.shape[1]} but {names[1]} has {b.shape[1]}; compare sets of the same dimension"
        )
    return a, b


def check_points(n: int, need: int, name: str, why: str) -> None:
    """Fail unless a set has at least `need` points (`why` names the estimator and its setting)."""
    if n < need:
        raise GenlabError(f"{why} needs at least {need} points in each set; {name} has {n}")
