"""What the explorer page shows of a run, computed once when it starts: the map, the sliders' basis,
and the decoding behind every request (PNG bytes out).

Two kinds of run decode:
  encoder runs (autoencoders, VAEs, echo noise)  the map holds the codes of N examples of a split:
      the code itself for 2-D latents, else their PCA projection; a location (x, y) on a projected
      map decodes at mean + x PC1 + y PC2 (the projection's inverse around the data mean)
  generator runs (GANs)  there is no encoder, so the map holds N generated samples, placed by the
      PCA of the judge's features of them (or, without a judge, of the discriminator's own features);
      a location on the map stands for the nearest sample's noise z

A map is `points = (code - mean) @ components.T` with `components` [2, p]; the page inverts it as
`mean + [x, y] @ components`, so it needs the mean and components, never all N codes.
"""

from __future__ import annotations

import io
import threading

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.models.base import require

MAX_POINTS = 20_000  # codes embedded in the page once (as JSON): 20,000 points are ~0.5 MB
MAX_SLIDERS = 64  # one slider per latent dimension up to this; beyond it, the top principal directions
MAX_DIMS = 4096  # a decode request's code may have no more values than this (and exactly p)
MAX_STEPS = 24  # images in an interpolation strip
CODE_LIMIT = 1e4  # |value| of a requested code beyond this is refused (a decoder's output means nothing there)


def png(image: np.ndarray) -> bytes:
    """PNG bytes of one image [C, H, W] (C = 1 or 3) with values in [0, 1], at its own size (the page
    scales it up without smoothing)."""
    from PIL import Image  # matplotlib's own dependency, which genlab's figures already use

    pixels = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    picture = Image.fromarray(pixels[0]) if pixels.shape[0] == 1 else Image.fromarray(pixels.transpose(1, 2, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def pca_plane(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [p], top principal directions [min(p, N), p]) of values [N, p], largest variance first."""
    mean = values.mean(0)
    _, _, directions = np.linalg.svd(values - mean, full_matrices=False)
    return mean, directions


class LatentSpace:
    """A run's latent space as the explorer shows it (see the module docstring).

    `split` and `points` choose the mapped examples of an encoder run (the first `points` of the
    split); a generator run maps `points` samples drawn with `seed`.
    """

    def __init__(self, run_path, split: str = "test", points: int = 2000, seed: int = 0, device: str = "auto"):
        from genlab.train.engine import load_run

        loaded = load_run(run_path, device)
        self.family, self.model = loaded.family, loaded.model.eval()
        self.config = loaded.config
        self.run_path = loaded.run.path
        family = self.family
        require(family, "decode", "genlab explore")
        self.generator = not callable(getattr(family, "encode", None))
        if self.generator and not callable(getattr(family, "latent", None)):
            raise GenlabError(
                f"'{self.config.model}' runs have a decoder but no encoder and no generator noise, and "
                "'genlab explore' maps one of them; give an autoencoder, VAE or GAN run"
            )
        shape = family.data.input_shape
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise GenlabError(
                f"'genlab explore' draws images, and {family.data.name} holds rows of {list(shape)} values; "
                "give a run trained on image data"
            )
        self.classes = tuple(family.data.classes)
        self.device = family.device
        self.lock = threading.Lock()  # one decode at a time: the server answers requests in threads
        self.seed = seed
        from genlab.models.gan import GANFamily
        from genlab.models.vae import VAEFamily

        # A Gaussian prior's typical set is a sphere shell; a straight line between two codes cuts inside it.
        self.spherical = isinstance(family, (VAEFamily, GANFamily))
        self.conditional = self.generator and bool(getattr(self.config, "conditional", False))
        with torch.no_grad():
            if self.generator:
                self._map_samples(points, seed)
            else:
                self._map_codes(split, points)

    # -- the map ----------------------------------------------------------------------------------
    def _map_codes(self, split: str, points: int) -> None:
        from genlab.latent.embed import encode_split

        chosen = getattr(self.family.data, split, None) if split in ("train", "val", "test") else None
        if chosen is None:
            raise GenlabError(f"--split must be train, val or test (val only when the run held one out); got '{split}'")
        self.split = chosen
        codes = encode_split(self.family, self.model, chosen, limit=min(points, MAX_POINTS)).astype(np.float64)
        self.labels = chosen.y[: len(codes)].cpu().numpy()
        self.label_names = self.classes
        self.dim = codes.shape[1]
        mean, directions = pca_plane(codes)
        if self.dim <= 2:
            # The code itself (a 1-D code on a line): the map is exact, not a projection.
            self.mean, self.components = np.zeros(self.dim), np.eye(2, self.dim)
            self.map_method = f"the {self.dim}-D code itself"
            self.map_axes = ["z1", "z2"] if self.dim == 2 else ["z1", "(none: a 1-D code)"]
            self.map_note = "a click decodes the code at that location"
        else:
            self.mean, self.components = mean, directions[:2]
            self.map_method = f"PCA projection of the {self.dim}-D codes"
            self.map_axes = ["PC1 of the codes", "PC2 of the codes"]
            self.map_note = (
                "a click decodes mean + x PC1 + y PC2: the projection's inverse around the data mean "
                "(the other directions at the mean)"
            )
        self.codes = codes
        self.map_source = f"codes of the first {len(codes)} {split} examples"
        self._sliders(codes, mean, directions)

    def _map_samples(self, points: int, seed: int) -> None:
        family, n = self.family, min(points, MAX_POINTS)
        z = self.noise(n, seed)
        self.sample_labels = family.balanced_labels(n) if self.conditional else None
        images = self._generate(z, self.sample_labels)
        self.features_of, source, judge = self._feature_function()
        features = self.features_of(images, self.sample_labels)
        judged = judge.labels(images)[0] if judge is not None else None
        self.dim = z.shape[1]
        self.mean, self.components = pca_plane(features)
        self.components = self.components[:2]
        self.codes = z.cpu().numpy().astype(np.float64)
        self.images = images
        if self.conditional:
            self.labels, self.label_names = self.sample_labels.cpu().numpy(), self.classes
            colours = "the class each sample was drawn for"
        elif judged is not None:
            # The judge's label, or "unrecognisable" (the last class) below its confidence threshold.
            self.labels = np.where(judged < 0, len(self.classes), judged)
            self.label_names = (*self.classes, "unrecognisable")
            colours = "the judge's label of each sample"
        else:
            self.labels, self.label_names = np.zeros(n, dtype=np.int64), ("generated sample",)
            colours = "one colour (no judge to label the samples)"
        self.features = features
        self.map_method = f"PCA projection of {source} of {n} generated samples (seed {seed}), coloured by {colours}"
        self.map_axes = ["PC1 of the features", "PC2 of the features"]
        self.map_note = "the generator has no encoder: a click picks the nearest sample and decodes its noise z"
        self.map_source = f"{n} samples of noise z ~ N(0, I), seed {seed}"
        # z ~ N(0, I) has no principal directions: the sliders are z's own coordinates (the first 64).
        count = min(self.dim, MAX_SLIDERS)
        self.basis, self.origin = np.eye(count, self.dim), np.zeros(self.dim)
        self.slider_ranges = [(-3.0, 3.0)] * count
        self.slider_names = [f"z{i + 1}" for i in range(count)]
        self.slider_note = (
            f"one slider per noise dimension, {count} of {self.dim}" if count < self.dim else "one per noise dimension"
        )

    def _feature_function(self):
        """(features(images [N, C, H, W], labels [N] or None) -> [N, F], what they are, the judge or None):
        the judge's penultimate features when the run's judge is available, else the discriminator's
        (the input of its last linear layer), else the pixels."""
        from genlab.judge import resolve_judge

        choice = getattr(self.config, "judge", "none")
        if choice != "none":
            try:
                judge, _ = resolve_judge(choice, self.config.data, self.classes, device=str(self.device))
            except GenlabError:
                judge = None  # a judge that cannot judge this data: the run's own features serve
            if judge is not None:
                return (lambda images, labels: judge.features(images).astype(np.float64)), "the judge's features", judge
        discriminator = self.model["discriminator"]
        linear = [m for m in discriminator.modules() if isinstance(m, torch.nn.Linear)]
        if not linear:
            return (lambda images, labels: images.flatten(1).cpu().numpy().astype(np.float64)), "the pixels", None

        def features(images: torch.Tensor, labels: torch.Tensor | None) -> np.ndarray:
            captured = []
            hook = linear[-1].register_forward_hook(lambda module, args, out: captured.append(args[0].cpu()))
            try:
                for start in range(0, len(images), 1000):
                    rows = slice(start, start + 1000)
                    discriminator(images[rows], None if labels is None else labels[rows])
            finally:
                hook.remove()
            return torch.cat(captured).flatten(1).numpy().astype(np.float64)

        return features, "the discriminator's own features (no judge)", None

    def _sliders(self, codes: np.ndarray, mean: np.ndarray, directions: np.ndarray) -> None:
        if self.dim <= MAX_SLIDERS:
            self.basis, self.origin = np.eye(self.dim), np.zeros(self.dim)
            self.slider_names = [f"z{i + 1}" for i in range(self.dim)]
            self.slider_note = "one slider per latent dimension"
        else:
            self.basis, self.origin = directions[:MAX_SLIDERS], mean
            self.slider_names = [f"PC{i + 1}" for i in range(len(self.basis))]
            self.slider_note = (
                f"the top {len(self.basis)} principal directions of the {self.dim}-D codes, around their mean"
            )
        coefficients = (codes - self.origin) @ self.basis.T
        low, high = coefficients.min(0), coefficients.max(0)
        pad = np.maximum(0.1 * (high - low), 1e-3)  # as the map pads its bounds: a 2-D code stays on it
        self.slider_ranges = list(zip((low - pad).tolist(), (high + pad).tolist()))

    # -- what the page asks for -------------------------------------------------------------------
    def state(self) -> dict:
        """Everything the page needs once: the map, its legend, the projection and the sliders (JSON)."""
        points = (self.codes if not self.generator else self.features) - self.mean
        mapped = points @ self.components.T
        data = self.family.data
        return {
            "run": str(self.run_path),
            "model": self.config.model,
            "data": data.name,
            "kind": "generator" if self.generator else "encoder",
            "dim": self.dim,
            "map": {
                "points": np.round(mapped, 4).tolist(),
                "labels": self.labels.astype(int).tolist(),
                "names": list(self.label_names),
                "method": self.map_method,
                "axes": self.map_axes,
                "note": self.map_note,
                "source": self.map_source,
                "mean": self.mean.tolist() if not self.generator else None,
                "components": self.components.tolist() if not self.generator else None,
            },
            "sliders": {
                "names": self.slider_names,
                "basis": self.basis.tolist(),
                "origin": self.origin.tolist(),
                "ranges": self.slider_ranges,
                "note": self.slider_note,
            },
            "spherical": self.spherical,
            "seed": self.seed,
            "classes": list(self.classes) if self.conditional else None,
            "image_shape": list(data.input_shape),
            "max_steps": MAX_STEPS,
        }

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        family = self.family
        latent = family.latent(self.model, z, labels) if self.conditional else family.latent(self.model, z)
        return family.decode(self.model, latent).float()

    def noise(self, n: int, seed: int) -> torch.Tensor:
        """Noise z [n, z_dim] ~ N(0, I) of a generator seeded by `seed` alone (the same on every machine)."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.config.z_dim, generator=generator).to(self.device)

    def start(self, seed: int) -> list[float]:
        """A random starting z of a generator run, drawn from `seed`."""
        return self.noise(1, seed)[0].cpu().tolist()

    def code_of(self, index: int) -> dict:
        """The code (generator runs: the noise z and the class) of map point `index`."""
        self._check_index(index)
        label = int(self.sample_labels[index]) if self.conditional else None
        return {"z": self.codes[index].tolist(), "label": label}

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.codes):
            raise ValueError(f"point index must be in [0, {len(self.codes) - 1}], got {index}")

    def code_tensor(self, values, name: str = "z") -> torch.Tensor:
        """`values` (a JSON list) as a code [1, p], or ValueError with what is wrong."""
        if not isinstance(values, list) or len(values) > MAX_DIMS:
            raise ValueError(f"{name} must be a list of {self.dim} numbers")
        if len(values) != self.dim or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{name} must be a list of {self.dim} numbers, got {len(values)} values")
        array = np.asarray(values, dtype=np.float64)
        if not np.isfinite(array).all() or np.abs(array).max(initial=0) > CODE_LIMIT:
            raise ValueError(f"{name} must hold finite numbers within +-{CODE_LIMIT:g}")
        return torch.as_tensor(array, dtype=torch.float32, device=self.device)[None]

    def label_tensor(self, label, n: int = 1) -> torch.Tensor | None:
        """The class of a conditional generator's request as labels [n] (None for other runs)."""
        if not self.conditional:
            return None
        if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(self.classes):
            raise ValueError(f"label must be a class index in [0, {len(self.classes) - 1}]")
        return torch.full((n,), label, dtype=torch.long, device=self.device)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> np.ndarray:
        """Images [B, C, H, W] in [0, 1] of codes z [B, p] (a generator run: noise z and its labels)."""
        with self.lock:
            images = self._generate(z, labels) if self.generator else self.family.decode(self.model, z).float()
        return images.clamp(0, 1).cpu().numpy()

    @torch.no_grad()
    def example(self, index: int, kind: str) -> bytes:
        """PNG of map point `index`: its image (a generator run: the sample) or the reconstruction of it."""
        self._check_index(index)
        if self.generator:
            if kind != "image":
                raise ValueError("a generator run has no reconstructions: ask for kind=image")
            return png(self.images[index].clamp(0, 1).cpu().numpy())
        x = self.split.inputs(slice(index, index + 1))
        if kind == "image":
            return png(x[0].float().cpu().numpy())
        if kind != "reconstruction":
            raise ValueError("kind must be image or reconstruction")
        with self.lock:
            reconstruct = getattr(self.family, "reconstruct", None)
            if callable(reconstruct):
                out = reconstruct(self.model, x)
            else:
                out = self.family.decode(self.model, self.family.encode(self.model, x))
        return png(out[0].float().clamp(0, 1).cpu().numpy())

    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int, labels=None) -> dict:
        """`steps` images (PNG bytes) along the line, or for a Gaussian latent the great circle, from code
        a [1, p] to b [1, p], and the path's points on the map [steps, 2]."""
        from genlab.latent.interpolate import lerp, slerp

        steps = int(min(max(steps, 2), MAX_STEPS))
        t = np.linspace(0.0, 1.0, steps)
        ends = a[0].double().cpu().numpy(), b[0].double().cpu().numpy()
        codes = (slerp if self.spherical else lerp)(*ends, t)
        z = torch.as_tensor(codes, dtype=torch.float32, device=self.device)
        repeated = None if labels is None else labels.repeat(steps)
        images = self.decode(z, repeated)
        if self.generator:
            with self.lock, torch.no_grad():
                located = self.features_of(torch.as_tensor(images, device=self.device), repeated)
        else:
            located = codes
        path = (located - self.mean) @ self.components.T
        return {
            "images": [png(image) for image in images],
            "path": np.round(path, 4).tolist(),
            "spherical": self.spherical,
        }
