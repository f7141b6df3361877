"""Sample sets named on the command line, read into arrays [n, d].

A spec is one of (tried in this order):
- a named distribution: `uniform:3`, `normal:3:var=2` (with -n points, seeded);
- a file: `FILE.npy` (an array [n, ...]) or `FILE.npz` (key `images`, else its only array);
- a run folder: `RUN` (its samples.npz, else n fresh samples from the model's `sample`
  step) or `RUN:FILE` (a file inside the run folder);
- a dataset slice: `NAME:SPLIT[START:STOP]`, e.g. `mnist:test[0:1000]` (images in [0, 1]).
Images are flattened to 784 values in [0, 1]; uint8 images are divided by 255.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.metrics.analytic import Distribution, parse_distribution
from genlab.metrics.checks import as_rows
from genlab.userfiles import reading

IMAGE_SHAPE = (1, 28, 28)
SLICE_SYNTAX = "NAME:SPLIT[START:STOP], e.g. mnist:test[0:1000]"
_SLICE = re.compile(r"^(?P<name>[\w.-]+):(?P<split>\w+)(\[(?P<start>\d*):(?P<stop>\d*)\])?$")
DEFAULT_SIZE = 1000
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class SampleSet:
    """A sample set: `data` float32 [n, d]; `images` says whether rows are 28x28 images in
    [0, 1]; `distribution` is set for named synthetic distributions (exact answers known)."""

    data: np.ndarray
    spec: str
    description: str
    images: bool = False
    distribution: Distribution | None = None

    def __len__(self) -> int:
        return len(self.data)

    @property
    def dim(self) -> int:
        return self.data.shape[1]

    def to_dict(self) -> dict:
        return {
            "spec": self.spec,
            "description": self.description,
            "n": len(self),
            "dimension": self.dim,
            "images": self.images,
        }


def from_array(array, spec: str, description: str | None = None, name: str = "A") -> SampleSet:
    """A SampleSet from an array [n, ...]: checked (real, finite, non-empty, within float32's
    range, which every estimator computes in), flattened, images detected."""
    label = f"{name} ({spec})"
    raw = as_rows(array, label)
    image_like = np.shape(array)[1:] in ((28, 28), IMAGE_SHAPE, (784,))
    if raw.dtype == np.uint8 and image_like:
        raw = raw.astype(np.float32) / 255.0
    largest = float(np.abs(raw).max())
    if largest > FLOAT32_MAX:
        raise GenlabError(
            f"{label} has values up to {largest:.3g}, beyond the float32 range (3.4e38) that the "
            "estimators compute in; rescale the data"
        )
    data = raw.astype(np.float32)
    images = image_like and float(data.min()) >= 0.0 and float(data.max()) <= 1.0
    return SampleSet(data, spec, description or f"{spec} ({len(data)} samples of dimension {data.shape[1]})", images)


def _first(data: np.ndarray, n: int | None, spec: str) -> np.ndarray:
    if n is None:
        return data
    if n > len(data):
        raise GenlabError(f"-n {n} asks for more samples than {spec} holds ({len(data)})")
    return data[:n]


def _read_file(path: Path) -> np.ndarray:
    """The samples array [n, ...] of a .npy/.npz file (at least one axis: rows are samples)."""
    array = _load_array(path)
    if array.ndim == 0:
        raise GenlabError(
            f"{path} holds a single number (a 0-d array), not a set of samples; "
            "save an array [n, ...] with one sample per row"
        )
    return array


def _load_array(path: Path) -> np.ndarray:
    with reading(path, "save arrays with numpy.save"):
        loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        keys = list(loaded.keys())
        key = "images" if "images" in keys else keys[0] if len(keys) == 1 else None
        if key is not None:
            try:  # members are read lazily: an object array fails here, and is never unpickled
                return loaded[key]
            except ValueError:
                raise GenlabError(
                    f"{path} holds '{key}' as an array of Python objects, which genlab does not "
                    "unpickle; save a numeric array"
                ) from None
    raise GenlabError(
        f"{path} holds arrays {', '.join(keys) or '(none)'}; name the samples 'images' or keep one array in the file"
    )


def _run_samples(path: Path, n: int | None, seed: int, device: str) -> tuple[np.ndarray, str]:
    """A run's samples.npz, else `n` fresh samples from its model."""
    import torch

    from genlab.models.base import require
    from genlab.train.engine import load_run

    stored = path / "samples.npz"
    if stored.is_file():
        return _read_file(stored), f"{stored}"
    loaded = load_run(path, device=device)
    require(loaded.family, "sample", "compare")
    count = n or DEFAULT_SIZE
    torch.manual_seed(seed)
    with torch.no_grad():
        samples = loaded.family.sample(loaded.model, count)
    return samples.detach().float().cpu().numpy(), f"{count} samples drawn from the '{loaded.config.model}' run {path}"


def _dataset_slice(spec: str, match: re.Match) -> tuple[np.ndarray, str]:
    from genlab.data import registry

    name, split = match["name"], match["split"]
    arrays = registry.load_arrays(name)
    if split not in arrays:
        raise GenlabError(f"{name} has splits {', '.join(arrays)}, not '{split}' (in '{spec}')")
    images = arrays[split][0]
    start = int(match["start"]) if match["start"] else 0
    stop = int(match["stop"]) if match["stop"] else len(images)
    if not start < stop <= len(images):
        raise GenlabError(
            f"'{spec}': need START < STOP <= {len(images)} (the {name} {split} split has {len(images)} images)"
        )
    return images[start:stop], f"{name} {split}[{start}:{stop}]"


def load_set(spec: str, n: int | None = None, seed: int = 0, device: str = "auto", name: str = "A") -> SampleSet:
    """Read the sample set `spec` (see the module docstring). `n` is the size of synthetic and
    generated sets (default 1,000) and keeps the first n rows of files and slices."""
    if n is not None and n < 1:
        raise GenlabError(f"-n must be at least 1, got {n}")
    head = spec.split(":", 1)[0]
    if head in ("uniform", "normal") and not Path(spec).exists():
        distribution = parse_distribution(spec)
        count = n or DEFAULT_SIZE
        data = distribution.sample(count, np.random.default_rng(seed))
        result = from_array(data, spec, f"{count} points of {distribution.describe()} (seed {seed})", name)
        result.distribution = distribution
        return result
    path = Path(spec)
    if path.is_file():
        data = _first(_read_file(path), n, spec)
        return from_array(data, spec, f"{path} ({len(data)} samples)", name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise GenlabError(f"{path} is a folder but not a genlab run folder (no config.json)")
        data, description = _run_samples(path, n, seed, device)
        if (path / "samples.npz").is_file():
            data = _first(data, n, spec)
        return from_array(data, spec, description, name)
    folder, _, member = spec.rpartition(":")
    if folder and Path(folder).is_dir():
        inside = Path(folder) / member
        if not inside.is_file():
            raise GenlabError(f"no file {member} in run folder {folder}")
        data = _first(_read_file(inside), n, spec)
        return from_array(data, spec, f"{inside} ({len(data)} samples)", name)
    from genlab.data import registry

    if head in registry.dataset_names():
        match = _SLICE.match(spec)
        if not match:
            raise GenlabError(f"malformed dataset slice '{spec}'; expected {SLICE_SYNTAX}")
        images, description = _dataset_slice(spec, match)
        data = _first(images, n, spec)
        return from_array(data, spec, f"{description} ({len(data)} images)", name)
    raise GenlabError(
        f"cannot read sample set '{spec}': not a .npy/.npz file, a run folder, a dataset slice "
        f"({SLICE_SYNTAX}) or a distribution ({'uniform:D or normal:D[:var=V]'})"
    )
