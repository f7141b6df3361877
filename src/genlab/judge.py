"""The judge: one trained CNN classifier per dataset, used to score generated samples
(class histogram, entropy, confidence) and as the feature extractor of the
sample-set metrics (Frechet distance, KID, precision/recall).

A judge is an ordinary `cnn` run folder stored under `<cache>/judges/<dataset>`
(`$GENLAB_CACHE`, else ~/.cache/genlab), with the fingerprint of the data it saw.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from genlab.errors import GenlabError


def cache_dir() -> Path:
    """Where genlab keeps what it trains for reuse (judges): $GENLAB_CACHE or ~/.cache/genlab."""
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab")


def judge_path(data: str) -> Path:
    return cache_dir() / "judges" / data


def judge_epochs(train_size: int) -> int:
    """About 300k examples seen in all (5 epochs of 60k, 15 of 20k or fewer images): with 3
    epochs (180k) the Fashion-MNIST judge stopped at 91.8% test accuracy."""
    return max(3, min(15, math.ceil(300_000 / train_size)))


def train_judge(data: str, epochs: int | None = None, device: str = "auto", overwrite: bool = False,
                progress: bool = True, batch_size: int | None = None):
    """Train the default CNN on `data` into the judge folder; returns the TrainResult.

    `epochs` defaults to `judge_epochs`; `batch_size` to the CNN's default (a
    smaller one gives a small dataset more steps per epoch)."""
    from genlab.data import registry
    from genlab.models.registry import get_model
    from genlab.train import engine

    registry.get_info(data)  # a judge is for a named image dataset
    target = judge_path(data)
    if (target / "summary.json").exists() and not overwrite:
        raise GenlabError(f"a judge for {data} already exists in {target}; pass --overwrite to retrain it")
    train_size = registry.status(data).get("splits", {}).get("train", 60_000)
    spec = get_model("cnn")
    config = spec.make_config(data=data, epochs=epochs or judge_epochs(train_size), device=device,
                              batch_size=batch_size)
    return engine.train(spec, config, out=target, overwrite=True, progress=progress)


class Judge:
    """A trained classifier with batched predictions and penultimate-layer features.

    Inputs are float images [N, 1, 28, 28] in [0, 1] (numpy or torch, any device).
    """

    def __init__(self, loaded):
        self.loaded = loaded
        self.model = loaded.model.eval()
        self.device = loaded.family.device
        self.classes = loaded.family.data.classes
        self.data = loaded.config.data
        self.fingerprint = loaded.run.read_config()["config"].get("data_fingerprint", "")
        self.test_accuracy = loaded.run.read_summary().get("test_accuracy")
        # The penultimate representation is whatever enters the last linear layer.
        self._last_linear = [m for m in self.model.modules() if isinstance(m, torch.nn.Linear)][-1]

    def _batches(self, images, batch_size: int = 1000):
        images = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        if images.dim() == 3:
            images = images.unsqueeze(1)
        for start in range(0, len(images), batch_size):
            yield images[start:start + batch_size].to(self.device, torch.float32)

    @torch.no_grad()
    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities [N, K] (softmax of the logits)."""
        return torch.cat([torch.softmax(self.model(x), 1).cpu() for x in self._batches(images)]).numpy()

    def predict(self, images) -> np.ndarray:
        """Predicted class indices [N]."""
        return self.predict_proba(images).argmax(1)

    @torch.no_grad()
    def features(self, images) -> np.ndarray:
        """Penultimate-layer features [N, F] (float32): the input of the final linear layer."""
        captured = []
        hook = self._last_linear.register_forward_hook(lambda module, args, out: captured.append(args[0].cpu()))
        try:
            for x in self._batches(images):
                self.model(x)
        finally:
            hook.remove()
        return torch.cat(captured).flatten(1).numpy()


def load_judge(data: str, device: str = "auto") -> Judge:
    """The judge for dataset `data` (or a path to any classifier run folder)."""
    from genlab.train.engine import load_run

    path = Path(data) if Path(data).is_dir() else judge_path(data)
    if not (path / "weights.safetensors").exists():
        raise GenlabError(f"no judge for {data} in {path}; train one with 'genlab judge train --data {data}' "
                          "or give a classifier run with --judge RUN")
    loaded = load_run(path, device=device)
    if not hasattr(loaded.family, "score"):
        raise GenlabError(f"{path} is a '{loaded.config.model}' run, not a classifier; a judge must be one")
    return Judge(loaded)


def resolve_judge(choice: str, data: str, classes: tuple[str, ...] | None = None,
                  device="auto") -> tuple[Judge | None, str]:
    """The judge a run asked for, and how to describe it in a summary.

    `choice` is 'auto' (the stored judge of dataset `data`, or none when there is
    none yet), 'none', or a classifier run folder. A judge whose classes differ
    from `classes` (those of the data being judged) is refused.
    """
    if choice == "none":
        return None, "none (--judge none)"
    if choice == "auto":
        if not (judge_path(data) / "summary.json").exists():  # absent, or still training
            return None, f"none found; run genlab judge train --data {data}"
        judge = load_judge(data, device=str(device))
    else:
        judge = load_judge(choice, device=str(device))
    if classes is not None and tuple(judge.classes) != tuple(classes):
        raise GenlabError(f"the judge {judge.loaded.run.path} was trained on {judge.data}, whose classes differ "
                          f"from those of {data}; give a judge trained on {data}")
    return judge, str(judge.loaded.run.path)


def sample_quality(judge: Judge, images) -> dict:
    """The judge's view of a sample set: class histogram, entropy of the predicted-label
    distribution (nats; ln K when every class is equally common) and mean confidence."""
    probabilities = judge.predict_proba(images)
    labels = probabilities.argmax(1)
    histogram = np.bincount(labels, minlength=len(judge.classes))
    frequencies = histogram / histogram.sum()
    nonzero = frequencies[frequencies > 0]
    return {
        "sample_class_histogram": histogram.tolist(),
        "sample_class_entropy": float(-(nonzero * np.log(nonzero)).sum()),
        "sample_mean_confidence": float(probabilities.max(1).mean()),
    }
