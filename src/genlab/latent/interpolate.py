"""Interpolation in a latent space: decode the path between the codes of two test examples.

Works for any run whose family has the `encode` and `decode` capabilities
(autoencoders, VAEs with their posterior mean): the two endpoints are encoded,
`steps` points on the straight line (or, with `spherical`, the great-circle arc
of slerp) between the codes are decoded, and two figures go to the run's
figures/ folder: the decoded strip, and the path on the 2-D test embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.models.base import require


@dataclass
class Interpolation:
    """The result: endpoint test indices, t [S] in [0, 1], codes [S, p], decoded [S, ...], figure paths."""

    start: int
    end: int
    t: np.ndarray
    codes: np.ndarray
    decoded: np.ndarray
    figures: list[Path]

    def __repr__(self) -> str:  # the arrays would fill a notebook cell
        return (
            f"Interpolation(test #{self.start} -> test #{self.end}, {len(self.t)} steps, "
            f"codes {list(self.codes.shape)}, figures {[str(p) for p in self.figures]})"
        )

    def _repr_html_(self) -> str:
        """Jupyter's view: the interpolation's figures."""
        from genlab import display

        return "".join(
            display.image(path, f"test #{self.start} to test #{self.end}: {path.stem}") for path in self.figures
        )


def parse_endpoint(text: str, labels: np.ndarray, classes: tuple[str, ...], flag: str) -> int:
    """A test-set row from 'N' (an index) or 'class:K' (the first test example of class K,
    K a class index or a class name)."""
    text = str(text).strip()
    n = len(labels)
    if text.lower().startswith("class:"):
        wanted = text.split(":", 1)[1].strip()
        if wanted in classes:
            index = classes.index(wanted)
        else:
            try:
                index = int(wanted)
            except ValueError:
                raise GenlabError(f"{flag} {text}: no class '{wanted}'; classes are {', '.join(classes)}") from None
            if not 0 <= index < len(classes):
                raise GenlabError(f"{flag} {text}: class index out of range; use 0..{len(classes) - 1} or a class name")
        rows = np.flatnonzero(labels == index)
        if not len(rows):
            raise GenlabError(f"{flag} {text}: the test set holds no example of class '{classes[index]}'")
        return int(rows[0])
    try:
        row = int(text)
    except ValueError:
        raise GenlabError(f"{flag} '{text}' is neither a test-set index nor class:K") from None
    if not 0 <= row < n:
        raise GenlabError(f"{flag} {row} is out of range: the test set has {n} examples (indices 0..{n - 1})")
    return row


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points (1 - t) a + t b [len(t), p] on the straight line from code a [p] to code b [p]."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return (1.0 - t) * a[None] + t * b[None]


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation [len(t), p] from a [p] to b [p].

    sin((1-t) w)/sin w * a + sin(t w)/sin w * b, with w the angle between a and b:
    the path sweeps the angle uniformly, and for codes of equal norm it stays on
    their sphere (the typical set of a Gaussian prior, where straight lines cut
    through the low-density interior). Falls back to `lerp` when a and b are
    (anti)parallel or one of them is zero, where the arc is undefined.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms < 1e-12:
        return lerp(a, b, t)
    cosine = np.clip(np.dot(a, b) / norms, -1.0, 1.0)
    omega = np.arccos(cosine)
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    t = np.asarray(t, dtype=np.float64)[:, None]
    return (np.sin((1.0 - t) * omega) * a[None] + np.sin(t * omega) * b[None]) / np.sin(omega)


def interpolate_run(
    run_path,
    start: str,
    end: str,
    steps: int = 10,
    spherical: bool = False,
    device: str = "auto",
    embedding_points: int = 5000,
) -> Interpolation:
    """Interpolate between two test examples of a finished run (see the module docstring).

    `start`/`end` are test indices or 'class:K'. Writes
    figures/interpolation-A-B[-slerp].png (decoded strip) and
    figures/interpolation-A-B[-slerp]-embedding.png (the path on the embedding).
    """
    from genlab.latent.embed import encode_split
    from genlab.plots.latent import interpolation_heatmap_figure, interpolation_strip_figure, path_figure
    from genlab.train.engine import load_run

    loaded = load_run(run_path, device)
    family, model, data = loaded.family, loaded.model, loaded.family.data
    require(family, "encode", "interpolate")
    require(family, "decode", "interpolate")
    labels = data.test.y.cpu().numpy()
    a = parse_endpoint(start, labels, data.classes, "--from")
    b = parse_endpoint(end, labels, data.classes, "--to")

    with torch.no_grad():
        ends = data.test.inputs(torch.tensor([a, b], device=family.device))
        end_codes = family.encode(model, ends).float().cpu().numpy().astype(np.float64)
        t = np.linspace(0.0, 1.0, steps)
        codes = (slerp if spherical else lerp)(end_codes[0], end_codes[1], t)
        z = torch.as_tensor(codes, dtype=torch.float32, device=family.device)
        decoded = family.decode(model, z).float().cpu().numpy()
        backdrop = encode_split(family, model, data.test, limit=embedding_points)

    how = "spherical (slerp)" if spherical else "linear"
    name = f"{loaded.config.model} on {data.name}"
    describe = (f"test #{a} ({data.classes[labels[a]]})", f"test #{b} ({data.classes[labels[b]]})")
    title = f"{how.capitalize()} interpolation, {describe[0]} to {describe[1]}: {name}"
    originals = ends.float().cpu().numpy()
    if decoded.ndim == 4:
        strip = interpolation_strip_figure(decoded, originals, t, title)
    else:
        strip = interpolation_heatmap_figure(decoded.reshape(len(decoded), -1), originals.reshape(2, -1), t, title)
    stem = f"interpolation-{a}-{b}{'-slerp' if spherical else ''}"
    paths = [
        loaded.run.save_figure(
            strip,
            f"{stem}.png",
            caption=f"images decoded along a {how} path between the latent codes of {describe[0]} and {describe[1]}",
        )
    ]
    path = path_figure(
        backdrop,
        labels[: len(backdrop)],
        data.classes,
        codes,
        end_codes,
        describe,
        f"{how.capitalize()} path over the test embedding: {name}",
    )
    paths.append(
        loaded.run.save_figure(
            path,
            f"{stem}-embedding.png",
            caption=f"the {how} interpolation path (decoded points on the path and its endpoints A, {describe[0]}, "
            f"and B, {describe[1]}) drawn over the test embedding, coloured by label",
        )
    )
    return Interpolation(a, b, t, codes, decoded, paths)
