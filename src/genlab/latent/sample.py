"""`genlab sample`: new images from any run whose family can sample (VAEs, GANs).

The family's `sample(model, n, labels=None)` capability does the drawing; this
module seeds it, checks the request, and writes the images (and the labels of a
conditional model) to an .npz file, optionally with a labelled grid figure.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.models.base import require
from genlab.plots.common import grid_figure, plt
from genlab.train.runfolder import atomic_write_bytes


@dataclass
class SampleResult:
    images: np.ndarray  # float32 [n, C, H, W] in [0, 1]
    labels: np.ndarray | None  # int64 [n], for conditional models
    npz: Path
    grid: Path | None

    def __repr__(self) -> str:  # the arrays are what the .npz holds; the dataclass repr would print them
        grid = f", grid '{self.grid}'" if self.grid else ""
        return f"SampleResult({len(self.images)} images {list(self.images.shape[1:])} in '{self.npz}'{grid})"

    def _repr_html_(self) -> str:
        """Jupyter's view: the grid of the samples (when one was drawn)."""
        from genlab import display

        if self.grid is None:
            return f"<p>{display.escape(repr(self))}</p>"
        return display.image(self.grid, f"{len(self.images)} samples ({self.npz.name})")


def sample_run(
    run_path, n: int, out, grid=None, label: int | None = None, seed: int = 0, device: str = "auto"
) -> SampleResult:
    """Draw `n` images from the run at `run_path` and write `out` (.npz: `images`, and `labels` when given).

    `label` asks a conditional model for images of one class; `seed` makes the draw repeatable.
    """
    from genlab.train.engine import load_run

    out = Path(out)
    loaded = load_run(run_path, device)
    family = loaded.family
    require(family, "sample", "sample")
    labels = None
    if label is not None:
        classes = family.data.classes
        if not 0 <= label < len(classes):
            raise GenlabError(f"--label must be in [0, {len(classes) - 1}] for {family.data.name}, got {label}")
        labels = torch.full((n,), label, dtype=torch.long, device=family.device)
    torch.manual_seed(seed)
    if family.device.type == "cuda":
        torch.cuda.manual_seed_all(seed)
    with torch.no_grad():
        images = family.sample(loaded.model, n) if labels is None else family.sample(loaded.model, n, labels=labels)
    images_np = images.detach().float().clamp(0, 1).cpu().numpy()
    arrays = {"images": images_np}
    labels_np = None
    if labels is not None:
        labels_np = labels.cpu().numpy()
        arrays["labels"] = labels_np
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(out, buffer.getvalue())

    grid_path = None
    if grid is not None:
        grid_path = Path(grid)
        what = f"class {family.data.classes[label]}" if label is not None else "unconditional"
        shown = images_np[:256]
        figure = grid_figure(
            shown,
            int(math.ceil(math.sqrt(len(shown)))),
            f"{len(shown)} samples ({what}): {loaded.config.model} on {loaded.config.data}",
            xlabel=f"seed {seed}; values in [0, 1]",
        )
        grid_path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(grid_path, dpi=110, bbox_inches="tight")
        plt.close(figure)
    return SampleResult(images_np, labels_np, out, grid_path)
