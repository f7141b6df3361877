"""`Run`: a run folder as a Python object, what `genlab.train` returns and `genlab.load` opens.

The files (config.json, summary.json, metrics.jsonl) are read when asked for;
the model and its data are rebuilt from the saved weights on the first call
that needs them (`sample`, `encode`, ...). Arrays in are numpy arrays or torch
tensors; arrays out are numpy arrays:

  images   float [B, C, H, W] (or anything that reshapes to it, e.g. [B, 784]) with values in [0, 1]
           for image data; tabular rows [B, D] as the run's data stores them (standardised)
  codes    float32 [B, p], p the latent size
  labels   int64 [B], class indices of the run's dataset
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.models.base import require


# A figure drawn after each epoch or step: its number in the name, e.g. "reconstructions_epoch_003".
_SNAPSHOT = re.compile(r"(epoch|step)([_-]?)\d+")


class Run:
    """A finished run folder; `genlab.load(path)` or what `genlab.train(...)` returns."""

    def __init__(self, path: str | Path, device: str = "auto"):
        from genlab.train.runfolder import RunFolder

        self.folder = RunFolder.open(path)
        self.device = device
        self._loaded = None

    def __fspath__(self) -> str:
        """The run folder, so a Run stands wherever a path to a run does (`genlab.explore(run)`)."""
        return str(self.path)

    def __repr__(self) -> str:
        config = self.config
        return f"Run('{self.path}': {config.get('model', '?')} on {config.get('data', '?')}, {self._state()})"

    def _state(self) -> str:
        summary = self.folder.path / "summary.json"
        if not summary.is_file():
            return "unfinished"
        epochs = self.summary.get("epochs")
        return f"{epochs} epoch{'s' * (epochs != 1)}" if isinstance(epochs, int) else "finished"

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary (value and meaning of each entry, the family's headline entries
        first, as in a report) and the run's main figures inline, captioned."""
        from genlab import display
        from genlab.report.collect import load_run
        from genlab.report.document import summary_order
        from genlab.report.numbers import entry_meaning, format_entry

        seen = load_run(self.path, str(self.path))
        parts = [
            f"<div><b>genlab run</b> <code>{display.escape(self.path)}</code>: "
            f"{display.escape(seen.model)} on {display.escape(seen.data)}, {display.escape(self._state())}"
            + (f"<br><i>{display.escape(seen.description)}</i>" if seen.description else "")
        ]
        if seen.summary is None:
            parts.append(
                "<p>No summary.json: the run did not finish; continue it with "
                f"<code>{display.escape(f'genlab.train({seen.model!r}, resume={str(self.path)!r})')}</code>.</p>"
            )
        else:
            keys = summary_order(list(seen.summary), seen.headline)
            rows = [(k, format_entry(k, seen.summary[k]), entry_meaning(k)) for k in keys]
            parts.append(display.table(("entry", "value", "meaning"), rows))
        figures = [f for f in seen.figures if f.name.startswith("figures/")]

        # Of a series of per-epoch snapshots (reconstructions_epoch_001, ...) only the latest is a main figure.
        def series(figure) -> str:  # "reconstructions_epoch_#" for every epoch's snapshot
            return _SNAPSHOT.sub(r"\1\2#", figure.path.stem)

        latest = {series(f): f for f in figures if _SNAPSHOT.search(f.path.stem)}
        main = [f for f in figures if latest.get(series(f), f) is f][: display.MAIN_FIGURES]
        parts += [display.image(f.path, f.description) for f in main]
        if len(figures) > len(main):
            rest = ", ".join(f.path.name for f in figures if f not in main)
            parts.append(f"<p>More figures in <code>run.figures</code>: {display.escape(rest)}</p>")
        return "\n".join(parts) + "</div>"

    # -- the files ------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def model_name(self) -> str:
        return self.folder.model_name

    @property
    def config(self) -> dict[str, Any]:
        """The resolved settings the run was trained with (config.json's 'config')."""
        return self.folder.read_config()["config"]

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json: the final numbers (accuracies, losses, ELBO, FD, ...) and facts (seconds, epochs)."""
        return self.folder.read_summary()

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """Every logged event of metrics.jsonl, in order (training losses by step, evaluations by split)."""
        return self.folder.read_metrics()

    @property
    def figures(self) -> list[Path]:
        """The run's figure files (PNG), by name."""
        return sorted(self.folder.figures.glob("*.png"))

    # -- the model ------------------------------------------------------------------
    @property
    def loaded(self):
        """The rebuilt family, data and model (genlab.train.engine.LoadedRun), built on first use."""
        if self._loaded is None:
            from genlab.train.engine import load_run

            self._loaded = load_run(self.path, self.device)
        return self._loaded

    def _inputs(self, images) -> torch.Tensor:
        """`images` as a float tensor shaped like the run's data, on the run's device."""
        family = self.loaded.family
        x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
        shape = family.data.input_shape
        if x.numel() % int(np.prod(shape)):
            raise GenlabError(
                f"inputs of {x.numel()} values do not reshape to rows of shape "
                f"{list(shape)}; give [B, {', '.join(map(str, shape))}]"
            )
        return x.float().reshape(-1, *shape).to(family.device)

    def _capability(self, name: str):
        family = self.loaded.family
        require(family, name, f"Run.{name}")
        return getattr(family, name)

    @torch.no_grad()
    def sample(self, n: int = 64, label: int | None = None, seed: int = 0) -> np.ndarray:
        """`n` new images float32 [n, C, H, W] in [0, 1] from a VAE or GAN; `label` asks a conditional
        model for one class. The same seed gives the same images (as `genlab sample`)."""
        if n < 1:
            raise GenlabError(f"-n must be >= 1, got {n}")
        draw = self._capability("sample")
        family = self.loaded.family
        labels = None
        if label is not None:
            if not 0 <= label < len(family.data.classes):
                raise GenlabError(
                    f"--label must be in [0, {len(family.data.classes) - 1}] for {family.data.name}, got {label}"
                )
            labels = torch.full((n,), label, dtype=torch.long, device=family.device)
        torch.manual_seed(seed)
        if family.device.type == "cuda":
            torch.cuda.manual_seed_all(seed)
        images = draw(self.loaded.model, n) if labels is None else draw(self.loaded.model, n, labels=labels)
        return images.float().clamp(0, 1).cpu().numpy()

    @torch.no_grad()
    def encode(self, images) -> np.ndarray:
        """Codes float32 [B, p] of images [B, C, H, W] (a VAE's posterior mean)."""
        return self._capability("encode")(self.loaded.model, self._inputs(images)).float().cpu().numpy()

    @torch.no_grad()
    def decode(self, codes) -> np.ndarray:
        """Images float32 [B, C, H, W] in [0, 1] decoded from codes [B, p] (a GAN's generator on latents)."""
        decode = self._capability("decode")
        z = torch.as_tensor(np.asarray(codes) if not torch.is_tensor(codes) else codes)
        return decode(self.loaded.model, z.float().to(self.loaded.family.device)).float().cpu().numpy()

    @torch.no_grad()
    def reconstruct(self, images) -> np.ndarray:
        """Reconstructions float32 [B, C, H, W] of images [B, C, H, W] (autoencoders, VAEs)."""
        return self._capability("reconstruct")(self.loaded.model, self._inputs(images)).float().cpu().numpy()

    @torch.no_grad()
    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities float32 [B, K] of a classifier run."""
        return self._capability("predict_proba")(self.loaded.model, self._inputs(images)).float().cpu().numpy()

    def predict(self, images) -> np.ndarray:
        """Predicted class indices int64 [B] of a classifier run."""
        return self.predict_proba(images).argmax(1)

    def examples(self, split: str = "test", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(inputs float32 [N, C, H, W] in [0, 1] (tabular: [N, D]), labels int64 [N]): the first `limit`
        (default all) examples of the run's 'train', 'val' or 'test' split, as the model saw them."""
        chosen = self._split(split)
        rows = slice(0, len(chosen) if limit is None else limit)
        return chosen.inputs(rows).float().cpu().numpy(), chosen.y[rows].cpu().numpy()

    def _split(self, split: str):
        chosen = getattr(self.loaded.family.data, split, None) if split in ("train", "val", "test") else None
        if chosen is None:
            raise GenlabError(f"split must be train, val or test (val only when the run held one out); got '{split}'")
        return chosen

    @torch.no_grad()
    def embed(self, split: str = "test", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(codes float32 [N, p], labels int64 [N]) of the first `limit` (default all) examples of a split
        ('train', 'val' or 'test')."""
        from genlab.latent.embed import encode_split

        self._capability("encode")
        chosen = self._split(split)
        codes = encode_split(self.loaded.family, self.loaded.model, chosen, limit=limit)
        return codes.astype(np.float32), chosen.y[: len(codes)].cpu().numpy()

    def interpolate(self, a, b, steps: int = 10, spherical: bool = False) -> np.ndarray:
        """Images float32 [steps, C, H, W] decoded along the line (or, spherical, the arc) between the
        codes of images `a` and `b` (each [C, H, W]), endpoints included."""
        from genlab.latent.interpolate import lerp, slerp

        if steps < 2:
            raise GenlabError(f"--steps must be >= 2 (the two endpoints at least), got {steps}")
        ends = self.encode(
            np.stack([np.asarray(a), np.asarray(b)]) if not torch.is_tensor(a) else torch.stack([a, b])
        ).astype(np.float64)
        t = np.linspace(0.0, 1.0, steps)
        codes = (slerp if spherical else lerp)(ends[0], ends[1], t)
        return self.decode(codes.astype(np.float32))


def load(path: str | Path, device: str = "auto") -> Run:
    """The run in folder `path` (a one-line GenlabError when it is not a genlab run folder)."""
    return Run(path, device=device)
