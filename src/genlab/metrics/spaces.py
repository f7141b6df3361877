"""The feature space a metric is computed in.

- `pixels` (alias `raw`): the values as given (784 pixels for images, the coordinates
  of synthetic points);
- `pca:K`: the top K principal components of the pooled sample A u B (one fit on both
  sets, so neither is favoured; centred, not whitened: distances shrink, not stretch);
- `judge`: the penultimate-layer features of the judge classifier (28x28 images only):
  the judge of `--judge-data NAME` (default mnist) or the classifier run `--judge RUN`.
By default the distribution distances (KL, EMD, MMD, sliced W1, Sinkhorn) use `pixels`
and the feature metrics (FD, KID, precision/recall) use `judge` for images, `pixels` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.errors import GenlabError
from genlab.metrics.distances import single_threaded_lapack
from genlab.metrics.sets import SampleSet

SPACE_SYNTAX = "pixels, raw, pca:K or judge"
FEATURE_METRICS = ("fd", "kid", "prdc")


@dataclass(frozen=True)
class Space:
    """A parsed space: kind is 'pixels', 'pca' or 'judge'; `components` for pca."""

    kind: str
    components: int = 0

    @property
    def name(self) -> str:
        return f"pca:{self.components}" if self.kind == "pca" else self.kind


def parse_space(text: str) -> Space:
    """'pixels' | 'raw' | 'pca:K' | 'judge' -> Space; anything else is a one-line error."""
    text = text.strip()
    if text in ("pixels", "raw"):
        return Space("pixels")
    if text == "judge":
        return Space("judge")
    if text.startswith("pca:"):
        try:
            components = int(text[4:])
        except ValueError:
            components = 0
        if components >= 1:
            return Space("pca", components)
        raise GenlabError(f"malformed space '{text}'; pca needs a positive number of components, e.g. pca:50")
    raise GenlabError(f"unknown space '{text}'; choose {SPACE_SYNTAX}")


def default_space(metric: str, a: SampleSet, b: SampleSet) -> Space:
    """Judge features for the feature metrics on images, the values as given otherwise."""
    if metric in FEATURE_METRICS and a.images and b.images:
        return Space("judge")
    return Space("pixels")


def pca_features(a: np.ndarray, b: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Project a [n, d] and b [m, d] on the top `components` principal axes of the pooled sample."""
    pooled = np.concatenate([a, b]).astype(np.float64)
    limit = min(pooled.shape[1], len(pooled) - 1)
    if components > limit:
        raise GenlabError(
            f"pca:{components} asks for more components than the pooled sample has "
            f"({limit} = min(dimension, points - 1)); use pca:{limit} or fewer"
        )
    mean = pooled.mean(0)
    centred = pooled - mean
    # Eigenvectors of the d x d scatter matrix: cheaper than an SVD of [n + m, d] when n + m > d.
    with single_threaded_lapack():
        values, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(values)[::-1][:components]
    axes = vectors[:, order]
    explained = float(values[order].sum() / max(values.sum(), 1e-300))
    project = lambda x: ((x - mean) @ axes).astype(np.float32)  # noqa: E731
    return project(a), project(b), {"explained_variance": explained}


class Featurizer:
    """Turns both sample sets into features of a space, once per space, and remembers them."""

    def __init__(self, a: SampleSet, b: SampleSet, judge_source: str = "mnist", device: str = "auto"):
        self.a, self.b = a, b
        self.judge_source = judge_source
        self.device = device
        self.cache: dict[str, tuple[np.ndarray, np.ndarray, dict]] = {}

    def label(self, space: Space) -> str:
        if space.kind == "pixels":
            return "pixels" if self.a.images and self.b.images else "raw"
        if space.kind == "judge":
            return f"judge({self.judge_source})"
        return space.name

    def features(self, space: Space) -> tuple[np.ndarray, np.ndarray, dict]:
        """(features of A, features of B, info) in `space`; info has 'seconds' of the transform."""
        import time

        if space.name not in self.cache:
            started = time.perf_counter()
            if space.kind == "pixels":
                fa, fb, info = self.a.data, self.b.data, {}
            elif space.kind == "pca":
                fa, fb, info = pca_features(self.a.data, self.b.data, space.components)
            else:
                fa, fb, info = self._judge_features()
            info = {**info, "dimension": fa.shape[1], "seconds": time.perf_counter() - started}
            self.cache[space.name] = (fa, fb, info)
        return self.cache[space.name]

    def _judge_features(self) -> tuple[np.ndarray, np.ndarray, dict]:
        from genlab.judge import load_judge

        for item in (self.a, self.b):
            if not item.images:
                raise GenlabError(
                    f"--space judge needs 28x28 images with values in [0, 1]; {item.spec} has "
                    f"{item.dim} values per sample; use --space pixels or pca:K"
                )
        try:
            judge = load_judge(self.judge_source, device=self.device)
        except GenlabError as error:
            raise GenlabError(f"{error}; or choose another space (--space pixels or pca:K)") from None
        shape = (-1, 1, 28, 28)
        info = {"judge": str(self.judge_source), "judge_test_accuracy": judge.test_accuracy}
        return judge.features(self.a.data.reshape(shape)), judge.features(self.b.data.reshape(shape)), info
