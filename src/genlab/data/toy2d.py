"""Two-dimensional toy datasets, and the corruption demo drawn on them (`genlab corrupt`).

Each dataset is a set of points exactly on a curve (no intrinsic noise), so
whatever spread the corrupted set shows comes from the corruption process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genlab.data.corruption import parse_noise
from genlab.errors import GenlabError


def _parabola(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.uniform(-1.0, 1.0, n)
    return np.column_stack([x, x**2])


def _circle(rng: np.random.Generator, n: int) -> np.ndarray:
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return np.column_stack([np.cos(angle), np.sin(angle)])


def _two_moons(rng: np.random.Generator, n: int) -> np.ndarray:
    upper = n // 2 + n % 2
    t_upper = rng.uniform(0.0, np.pi, upper)
    t_lower = rng.uniform(0.0, np.pi, n - upper)
    first = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    second = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    return np.concatenate([first, second])


#: name -> (sampler, description of the clean set for titles)
TOY_DATASETS = {
    "parabola": (_parabola, r"points on $y = x^2$, $x \sim U(-1, 1)$"),
    "circle": (_circle, r"points on the unit circle, angle $\sim U(0, 2\pi)$"),
    "two-moons": (_two_moons, "points on two interleaved half circles"),
}


def sample_toy(name: str, n: int, seed: int = 0) -> np.ndarray:
    """`n` points [n, 2] (float64) of the named toy dataset, reproducible from `seed`."""
    if name not in TOY_DATASETS:
        raise GenlabError(f"unknown 2-D dataset '{name}'; choose one of: {', '.join(TOY_DATASETS)}")
    if n < 1:
        raise GenlabError(f"-n must be >= 1, got {n}")
    sampler, _ = TOY_DATASETS[name]
    return sampler(np.random.default_rng(seed), n)


def corrupt_toy(name: str, noise: str, n: int = 1000, seed: int = 0, out: str | Path | None = None) -> Path:
    """Sample a toy dataset, corrupt it, and save the side-by-side figure; returns its path.
    The default file is runs/corrupt-NAME-KIND-LEVEL.png."""
    from genlab.plots.common import save_figure_file

    figure = corrupt_toy_figure(name, noise, n, seed)
    return save_figure_file(figure, Path(out) if out is not None else default_corrupt_path(name, noise))


def default_corrupt_path(name: str, noise: str) -> Path:
    corruption = parse_noise(noise)
    return Path("runs") / f"corrupt-{name}-{corruption.kind}-{corruption.level:g}.png"


def corrupt_toy_figure(name: str, noise: str, n: int = 1000, seed: int = 0):
    """The figure of a toy dataset beside its corrupted copy (salt-and-pepper values are each
    coordinate's minimum and maximum over the clean sample)."""
    from genlab.plots.corruption import corruption_figure

    corruption = parse_noise(noise)
    if corruption is None:
        raise GenlabError("--noise none leaves the data unchanged; name a process, e.g. --noise gaussian:0.1")
    clean = sample_toy(name, n, seed)
    points = torch.from_numpy(clean)
    generator = torch.Generator().manual_seed(seed + 1)
    corrupted = corruption.apply(
        points, low=points.min(0).values, high=points.max(0).values, generator=generator
    ).numpy()
    return corruption_figure(
        clean,
        corrupted,
        TOY_DATASETS[name][1],
        corruption.describe(),
        corruption.formula(),
        title=f"{name} ({n} points)",
    )
