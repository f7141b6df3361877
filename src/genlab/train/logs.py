"""Logs for other tools, made from what the run folder already logs.

metrics.jsonl stays the one log every stage reads. A TensorBoard log listens to
the same events (`RunFolder.log`), so the live `--log tensorboard` and
`genlab export RUN --to tensorboard` of a finished run write the same scalars
and images:

    event {"event": "train", "step": 50, "loss": 0.3}                -> scalar train/loss at step 50
    event {"event": "eval", "split": "val", "step": 50, "loss": 0.4}  -> scalar val/loss at step 50
    event {"event": "epoch", "epoch": 2, "step": 100, "seconds": 3.1} -> scalar epoch/seconds at step 100,
        and that epoch's grid from samples/ (a GAN's epoch_002.png as "samples", a VAE's
        reconstructions_epoch_002.npy as "reconstructions") at step 100

Steps are optimisation steps, so curves from the live log, an export and
metrics.jsonl line up.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import GenlabError

TENSORBOARD = "tensorboard"  # the event files' folder inside a run folder
METRICS_CSV = "metrics.csv"
INSTALL = "pip install 'genlab[tensorboard]'"
# Keys of an event that place it (they are the step axis or the tag), not numbers to plot.
PLACE = ("event", "split", "epoch", "step")


def scalars(event: dict[str, Any]) -> list[tuple[str, float]]:
    """(tag, value) of every number of one metrics.jsonl event: tags are "<split or event>/<name>"."""
    group = event.get("split") or event.get("event", "event")
    return [
        (f"{group}/{name}", float(value))
        for name, value in sorted(event.items())
        if name not in PLACE and isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


def epoch_images(run_path: Path, epoch: int) -> dict[str, np.ndarray]:
    """The per-epoch grids the family left in samples/ for `epoch`, as uint8 [H, W, 3] arrays by tag."""
    samples = Path(run_path) / "samples"
    found = {}
    png = samples / f"epoch_{epoch:03d}.png"
    if png.is_file():
        from PIL import Image

        with Image.open(png) as image:
            found["samples"] = np.asarray(image.convert("RGB"))
    arrays = samples / f"reconstructions_epoch_{epoch:03d}.npy"
    if arrays.is_file():
        images = np.load(arrays)
        if images.ndim == 4:  # [B, C, H, W] images; a tabular model's rows are no picture
            found["reconstructions"] = image_row(images)
    return found


def image_row(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """Images [B, C, H, W] in [0, 1] side by side, `gap` black pixels apart: uint8 [H, W', 3]."""
    count, channels, height, width = images.shape
    row = np.zeros((height, count * (width + gap) - gap, 3), dtype=np.uint8)
    pixels = np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)
    for index in range(count):
        tile = pixels[index].transpose(1, 2, 0)
        row[:, index * (width + gap) : index * (width + gap) + width] = tile if channels == 3 else tile[..., :1]
    return row


def require_tensorboard(asked_by: str = "--log tensorboard"):
    """torch's SummaryWriter, or a one-line error naming the option that needs it and the install command."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise GenlabError(f"{asked_by} needs TensorBoard, which is not installed: {INSTALL}") from None
    return SummaryWriter


class TensorBoardLog:
    """Writes the events of one run folder as TensorBoard scalars and images into `folder`.

    `resuming`: the run continues from a checkpoint, so the events logged after it before the
    interruption are logged again; TensorBoard is told to drop them (purge_step) when the first
    new event arrives.
    """

    def __init__(self, run_path: Path, folder: Path, resuming: bool = False):
        self.run_path, self.folder, self.resuming = Path(run_path), Path(folder), resuming
        self.summary_writer = require_tensorboard()
        self.writer = None

    def __call__(self, event: dict[str, Any]) -> None:
        step = event.get("step")
        if step is None:
            return
        if self.writer is None:
            self.writer = self.summary_writer(str(self.folder), purge_step=step if self.resuming else None)
        for tag, value in scalars(event):
            self.writer.add_scalar(tag, value, step)
        if event.get("event") == "epoch":
            for tag, image in epoch_images(self.run_path, event["epoch"]).items():
                self.writer.add_image(tag, image, step, dataformats="HWC")
            self.writer.flush()  # one flush an epoch: a live TensorBoard shows each epoch as it ends

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# Makers of listeners for every run trained in this process while `watching` them (genlab.raycluster:
# a Ray task streams each epoch's checkpoint to the driver, a Tune trial reports its validation metric).
_watchers: list = []


@contextlib.contextmanager
def watching(make_listener):
    """While inside, every run that `train`/`resume` fits gets the listener `make_listener(run)`."""
    _watchers.append(make_listener)
    try:
        yield
    finally:
        _watchers.remove(make_listener)


@contextlib.contextmanager
def attached(run, log: str, resuming: bool = False):
    """Send `run`'s events to the log named by `log` ("none" or "tensorboard") while training,
    and to the listeners of whoever is `watching`."""
    listeners = [make(run) for make in _watchers]
    if log != "none":
        listeners.append(TensorBoardLog(run.path, run.path / TENSORBOARD, resuming))
    run.listeners.extend(listeners)
    try:
        yield
    finally:
        for listener in listeners:
            run.listeners.remove(listener)
            if hasattr(listener, "close"):
                listener.close()


def export(run_path, to: str, overwrite: bool = False) -> Path:
    """Write run `run_path`'s metrics.jsonl as RUN/metrics.csv (`to="csv"`) or RUN/tensorboard/
    (`to="tensorboard"`); returns what was written. An existing export is refused unless
    `overwrite`, and then replaced only once the new one is complete."""
    from genlab.train.runfolder import RunFolder, atomic_write_bytes

    run = RunFolder.open(run_path)
    events = run.read_metrics()
    if not events:
        raise GenlabError(f"{run.path} has no metrics.jsonl events to export; train the run first")
    target = run.path / (METRICS_CSV if to == "csv" else TENSORBOARD)
    if target.exists() and not overwrite:
        raise GenlabError(f"{target} already exists; pass --overwrite to replace it")
    if to == "csv":
        atomic_write_bytes(target, events_csv(events).encode())
        return target
    require_tensorboard("--to tensorboard")
    building = Path(tempfile.mkdtemp(dir=run.path, prefix=f".{TENSORBOARD}."))
    try:
        listener = TensorBoardLog(run.path, building)
        for event in events:
            listener(event)
        listener.close()
        replace_folder(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return target


def replace_folder(new: Path, target: Path) -> None:
    """Put folder `new` at `target`; an old `target` is moved aside first and removed only after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old)


def events_csv(events: list[dict[str, Any]]) -> str:
    """metrics.jsonl as CSV: one row per event; columns event, split, epoch, step, then every other
    key in alphabetical order (empty where an event does not have it)."""
    others = sorted({key for event in events for key in event} - set(PLACE))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*PLACE, *others], restval="", lineterminator="\n")
    writer.writeheader()
    for event in events:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in event.items()})
    return out.getvalue()
