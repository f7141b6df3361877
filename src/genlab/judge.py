"""The judge: one trained CNN classifier per dataset, used to score generated samples
(class histogram, entropy, confidence) and as the feature extractor of the
sample-set metrics (Frechet distance, KID, precision/recall).

A judge is an ordinary `cnn` run folder stored under `<cache>/judges/<dataset>`
(`$GENLAB_CACHE`, else ~/.cache/genlab), with the fingerprint of the data it saw.
It is trained on randomly degraded batches (`--augment degrade`), and its summary
carries what `assess` measured when it finished: its calibration, its accuracy on
degraded test images, and the threshold below which its top probability means
"unrecognisable" (JUDGE_RECIPE stamps that recipe; older judges are refused).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from genlab.config import NOT_GIVEN
from genlab.errors import GenlabError
from genlab.userfiles import read_json

#: The recipe a judge's summary must carry: 2 = trained with --augment degrade, assessed by `assess`
#: (calibration, degraded accuracy, unrecognisable threshold, label-histogram check). Recipe 1 (no stamp)
#: was the plain CNN that labelled blurred digits "1".
JUDGE_RECIPE = 2
#: The unrecognisable threshold is this quantile of the top probability on real test images: a real
#: image falls below it 1 time in 100.
UNRECOGNISABLE_QUANTILE = 0.01
#: The degradations whose label histogram the judge check bounds. Thinning is measured and reported but not
#: checked: a 3x3 erosion takes two pixels off strokes two or three pixels wide, erasing parts of some digits
#: (a 4-epoch judge on mnist-sample misreads 24% of them, its label histogram 0.15 from the true one).
CHECKED_DEGRADATIONS = ("blur", "noise", "blur_noise", "thick", "shift")
#: Bins of the expected calibration error (equal widths over the top probability in [0, 1]).
CALIBRATION_BINS = 15


def cache_dir() -> Path:
    """Where genlab keeps what it trains for reuse (judges): $GENLAB_CACHE or ~/.cache/genlab."""
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab")


def judge_path(data: str) -> Path:
    return cache_dir() / "judges" / data


def judge_epochs(train_size: int) -> int:
    """About 300k examples seen in all (5 epochs of 60k, 15 of 20k or fewer images): with 3
    epochs (180k) the Fashion-MNIST judge stopped at 91.8% test accuracy."""
    return max(3, min(15, math.ceil(300_000 / train_size)))


def judge_settings(data: str) -> dict:
    """The config values of the judge of image dataset `data`: the judge recipe (`augment` degrade) for
    `judge_epochs` of its training split (what `genlab judge train` and a full suite's judge step use)."""
    from genlab.data import registry

    registry.get_info(data)  # a judge is for a named image dataset
    train_size = registry.status(data).get("splits", {}).get("train", 60_000)
    return {"data": data, "epochs": judge_epochs(train_size), "augment": "degrade"}


def train_judge(
    data: str,
    epochs: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
    batch_size: int | None = None,
):
    """Train the default CNN by the judge recipe (`judge_settings`) into the judge folder of `data`;
    returns the TrainResult. Its summary carries `assess`'s numbers; training fails (one line) when
    degraded test images get a label histogram further than the config's `max_label_distance` from the
    true one.

    `epochs` defaults to `judge_epochs`; `batch_size` to the CNN's default (a
    smaller one gives a small dataset more steps per epoch)."""
    from genlab.models.registry import get_model
    from genlab.train import engine

    settings = judge_settings(data)
    target = judge_path(data)
    if (target / "summary.json").exists() and not overwrite:
        raise GenlabError(f"a judge for {data} already exists in {target}; pass --overwrite to retrain it")
    spec = get_model("cnn")
    # None here means "the CNN's default"; to a config None is a value, so it is left out instead.
    config = spec.make_config(
        **{**settings, "epochs": epochs or settings["epochs"]},
        device=device,
        batch_size=NOT_GIVEN if batch_size is None else batch_size,
    )
    return engine.train(spec, config, out=target, overwrite=True, progress=progress)


UNRECOGNISABLE = -1  # the label `Judge.labels` gives an image whose top probability is below the threshold


class Judge:
    """A trained classifier with batched predictions, penultimate-layer features, and the top-probability
    threshold below which it calls an image unrecognisable.

    Inputs are float images [N, 1, 28, 28] in [0, 1] (numpy or torch, any device).
    """

    def __init__(self, loaded):
        self.loaded = loaded
        self.model = loaded.model.eval()
        self.device = loaded.family.device
        self.classes = loaded.family.data.classes
        self.data = loaded.config.data
        self.fingerprint = loaded.run.read_config()["config"].get("data_fingerprint", "")
        summary = loaded.run.read_summary()
        self.test_accuracy = summary.get("test_accuracy")
        self.threshold = summary["unrecognisable_threshold"]
        # The penultimate representation is whatever enters the last linear layer.
        self._last_linear = [m for m in self.model.modules() if isinstance(m, torch.nn.Linear)][-1]

    def _batches(self, images, batch_size: int = 1000):
        images = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        if images.dim() == 3:
            images = images.unsqueeze(1)
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size].to(self.device, torch.float32)

    @torch.no_grad()
    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities [N, K] (softmax of the logits)."""
        return torch.cat([torch.softmax(self.model(x), 1).cpu() for x in self._batches(images)]).numpy()

    def predict(self, images) -> np.ndarray:
        """Predicted class indices [N], each image forced into a class (see `labels` for the honest view)."""
        return self.predict_proba(images).argmax(1)

    def labels(self, images) -> tuple[np.ndarray, np.ndarray]:
        """(labels [N] int, top probabilities [N]): each image's class, or UNRECOGNISABLE (-1) where its
        top probability is below `threshold`."""
        probabilities = self.predict_proba(images)
        confidence = probabilities.max(1)
        return np.where(confidence >= self.threshold, probabilities.argmax(1), UNRECOGNISABLE), confidence

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
    """The judge for dataset `data` (or a path to any classifier run folder trained as a judge)."""
    from genlab.train.engine import load_run

    stored = not Path(data).is_dir()
    path = judge_path(data) if stored else Path(data)
    if not (path / "weights.safetensors").exists():
        raise GenlabError(
            f"no judge for {data} in {path}; train one with 'genlab judge train --data {data}' "
            "or give a classifier run with --judge RUN"
        )
    problem = recipe_problem(path, data if stored else None)
    if problem:
        raise GenlabError(problem)
    loaded = load_run(path, device=device)
    if not hasattr(loaded.family, "score"):
        raise GenlabError(f"{path} is a '{loaded.config.model}' run, not a classifier; a judge must be one")
    return Judge(loaded)


def recipe_problem(path: Path, data: str | None) -> str | None:
    """Why the classifier run at `path` cannot be a judge (one line, with the fix), or None when its summary
    carries the current JUDGE_RECIPE. `data` names the dataset of a stored judge (None: a run folder)."""
    summary_file = path / "summary.json"
    summary = read_json(summary_file) if summary_file.exists() else {}
    if summary.get("judge_recipe") == JUDGE_RECIPE:
        return None
    retrain = f"genlab judge train --data {data} --overwrite" if data else "genlab train cnn --augment degrade"
    return (
        f"{path} is not a judge of recipe {JUDGE_RECIPE} (degradation-trained, with an unrecognisable "
        f"threshold); retrain it with '{retrain}'"
    )


def resolve_judge(
    choice: str, data: str, classes: tuple[str, ...] | None = None, device="auto"
) -> tuple[Judge | None, str]:
    """The judge a run asked for, and how to describe it in a summary.

    `choice` is 'auto' (the stored judge of dataset `data`, or none when there is
    none yet, or none when the stored one is of an older recipe: the description
    then says how to retrain it, so a finished run is kept rather than failed),
    'none', or a classifier run folder (an error unless it is a judge). A judge
    whose classes differ from `classes` (those of the data being judged) is refused.
    """
    if choice == "none":
        return None, "none (--judge none)"
    if choice == "auto":
        if not (judge_path(data) / "summary.json").exists():  # absent, or still training
            return None, f"none found; run genlab judge train --data {data}"
        problem = recipe_problem(judge_path(data), data)
        if problem:
            return None, f"refused: {problem}, then 'genlab evaluate RUN' to judge this run"
        judge = load_judge(data, device=str(device))
    else:
        judge = load_judge(choice, device=str(device))
    if classes is not None and tuple(judge.classes) != tuple(classes):
        raise GenlabError(
            f"the judge {judge.loaded.run.path} was trained on {judge.data}, whose classes differ "
            f"from those of {data}; give a judge trained on {data}"
        )
    return judge, str(judge.loaded.run.path)


# What the entries of `label_quality`, `conditional_accuracy` and `assess` measure, as (meaning, unit):
# the families that write them into a summary describe them with these (runfolder.with_meanings).
QUALITY_MEANINGS = {
    "sample_unrecognisable_share": (
        "fraction of the judged samples whose top probability is below the judge's unrecognisable threshold "
        "(about 0.01 for real test images)",
        "",
        "lower",
    ),
    "sample_class_histogram": ("the judge's labels of the recognisable samples, counts per class", "samples"),
    "sample_class_entropy": (
        "entropy of the judge's labels of the recognisable samples (ln K: every class equally common)",
        "nats",
        "higher",
    ),
    "sample_mean_confidence": ("the judge's mean top probability over all judged samples", "", "higher"),
    "conditional_accuracy": (
        "fraction of the recognisable samples the judge labels as the class they were drawn for",
        "",
        "higher",
    ),
    "conditional_accuracy_per_class": (
        "per requested class: fraction of its recognisable samples the judge labels as that class",
        "",
    ),
}
ASSESSMENT_MEANINGS = {
    "judge_recipe": (
        "the judge recipe the classifier was trained and checked by (2: degraded batches, unrecognisable "
        "threshold, label-histogram check)",
        "",
    ),
    "test_calibration_error": (
        "expected calibration error on the test split: |accuracy - mean top probability| in "
        f"{CALIBRATION_BINS} equal-width bins of the top probability, weighted by their shares of the images "
        "(0: calibrated)",
        "",
    ),
    "unrecognisable_quantile": ("share of real test images below the unrecognisable threshold", ""),
    "unrecognisable_threshold": (
        "top probability below which the judge calls an image unrecognisable: the unrecognisable_quantile "
        "quantile of its top probability on real test images",
        "",
    ),
    "degraded_label_distance_max": (
        "largest total-variation distance between the labels of degraded test images and their true classes, "
        "over the checked degradations (the judge check)",
        "",
    ),
    "degraded_label_distance_worst": ("the checked degradation with the largest label distance", ""),
    "degraded_test_accuracy_min": ("lowest accuracy on degraded test images, over the degradations", ""),
    "degraded_test": (
        "per degradation of the test images (blur: 3x3 box blur; noise: Gaussian std 0.2, clipped; "
        "thick/thin: 3x3 dilation/erosion; shift: up to 2 pixels each way): accuracy, total-variation "
        "distance of the label histogram from the true one, unrecognisable share, calibration error and "
        "label histogram",
        "",
    ),
}


def sample_quality(judge: Judge, images) -> dict:
    """The judge's view of a sample set [N, 1, 28, 28]: `label_quality` of its `Judge.labels`."""
    return label_quality(*judge.labels(images), len(judge.classes))


def label_quality(labels: np.ndarray, confidence: np.ndarray, num_classes: int) -> dict:
    """Summary entries of judged samples, the unrecognisable ones (label -1) counted apart.

    `labels` int [N] (class or UNRECOGNISABLE), `confidence` [N] the top probabilities.
    `sample_unrecognisable_share`: the fraction below the judge's threshold (about
    UNRECOGNISABLE_QUANTILE for real test images). Of the recognisable rest: `sample_class_histogram`
    (counts per class) and `sample_class_entropy` (nats, of its frequencies; ln K when every class is
    equally common; None when no sample is recognisable). `sample_mean_confidence`: the mean top
    probability over all N samples."""
    histogram = np.bincount(labels[labels != UNRECOGNISABLE], minlength=num_classes)
    return {
        "sample_class_histogram": histogram.tolist(),
        "sample_class_entropy": class_entropy(histogram),
        "sample_unrecognisable_share": float(np.mean(labels == UNRECOGNISABLE)),
        "sample_mean_confidence": float(confidence.mean()),
    }


def conditional_accuracy(
    labels: np.ndarray, requested: np.ndarray, num_classes: int
) -> tuple[float | None, list[float | None]]:
    """(overall, per requested class [K]): the fraction of the recognisable samples drawn for a class
    that the judge labels as that class. `labels` int [N] from `Judge.labels` (UNRECOGNISABLE left
    out), `requested` int [N]. None where no sample (of the class) is recognisable."""
    recognisable = labels != UNRECOGNISABLE
    hits = labels == requested

    def share(rows: np.ndarray) -> float | None:
        return float(hits[rows].mean()) if rows.any() else None

    return share(recognisable), [share(recognisable & (requested == k)) for k in range(num_classes)]


def class_entropy(histogram: np.ndarray) -> float | None:
    """Entropy (nats) of the class frequencies of `histogram` [K] (counts); None for an empty histogram.
    A single class gives 0.0 (never -0.0)."""
    if histogram.sum() == 0:
        return None
    frequencies = histogram[histogram > 0] / histogram.sum()
    return float(-(frequencies * np.log(frequencies)).sum()) + 0.0


def calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: the gap |accuracy - mean top probability| within each of `bins`
    equal-width bins of the top probability, averaged with weights = the bins' shares of the N images.

    `probabilities` [N, K] (rows sum to 1), `labels` int [N]. 0 for a perfectly calibrated classifier."""
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, correct, bins) - np.bincount(which, confidence, bins))
    return float(gap.sum() / count.sum())


def label_distance(predicted: np.ndarray, true: np.ndarray, num_classes: int) -> float:
    """Total-variation distance between the histograms of predicted and true labels (int [N] each):
    half the summed absolute difference of the class frequencies, in [0, 1]; 0 when every class gets as
    many labels as it has images (even if individual images are mislabelled)."""
    predicted_share = np.bincount(predicted, minlength=num_classes) / len(predicted)
    true_share = np.bincount(true, minlength=num_classes) / len(true)
    return float(np.abs(predicted_share - true_share).sum() / 2)


@torch.no_grad()
def assess(probabilities_of, test, num_classes: int, seed: int = 0) -> dict:
    """How far a classifier can be trusted as a judge, measured on the real test split `test` (a Split of
    images) and on degraded copies of it (genlab.data.degrade.TEST_DEGRADATIONS, drawn with `seed`).

    `probabilities_of(x [B, C, H, W] float in [0, 1]) -> [B, K]` class probabilities. Returns summary
    entries: `judge_recipe`, `test_calibration_error` (ECE, see `calibration_error`),
    `unrecognisable_threshold` (the UNRECOGNISABLE_QUANTILE quantile of the top probability on the
    clean test images) and its quantile, and `degraded_test`: one record per degradation with its name
    (`degradation`), the accuracy, the total-variation `label_distance` of the label histogram from the
    true one, the share of images below the threshold, the ECE and the label histogram;
    `degraded_label_distance_max` is the largest distance over CHECKED_DEGRADATIONS (what the judge check
    bounds), `degraded_label_distance_worst` the degradation that has it, `degraded_test_accuracy_min` the
    lowest accuracy over all of them."""
    from genlab.data.degrade import TEST_DEGRADATIONS

    generator = torch.Generator(device=test.x.device).manual_seed(seed)
    true = test.y.cpu().numpy()
    transforms = {"clean": lambda x, g: x, **TEST_DEGRADATIONS}
    probabilities = {name: [] for name in transforms}
    # 500 rows a batch, as the classifier's evaluation: a CNN's activations stay near the CPU caches.
    for x, _ in test.batches(500):
        for name, transform in transforms.items():
            probabilities[name].append(probabilities_of(transform(x, generator)).float().cpu())
    probabilities = {name: torch.cat(parts).numpy() for name, parts in probabilities.items()}
    threshold = float(np.quantile(probabilities["clean"].max(1), UNRECOGNISABLE_QUANTILE))
    degraded = []
    for name in TEST_DEGRADATIONS:
        p = probabilities[name]
        labels = p.argmax(1)
        degraded.append(
            {
                "degradation": name,
                "accuracy": float((labels == true).mean()),
                "label_distance": label_distance(labels, true, num_classes),
                "unrecognisable_share": float((p.max(1) < threshold).mean()),
                "calibration_error": calibration_error(p, true),
                "label_histogram": np.bincount(labels, minlength=num_classes).tolist(),
            }
        )
    checked = [d for d in degraded if d["degradation"] in CHECKED_DEGRADATIONS]
    return {
        "judge_recipe": JUDGE_RECIPE,
        "test_calibration_error": calibration_error(probabilities["clean"], true),
        "unrecognisable_quantile": UNRECOGNISABLE_QUANTILE,
        "unrecognisable_threshold": threshold,
        "degraded_label_distance_max": max(d["label_distance"] for d in checked),
        "degraded_label_distance_worst": max(checked, key=lambda d: d["label_distance"])["degradation"],
        "degraded_test_accuracy_min": min(d["accuracy"] for d in degraded),
        "degraded_test": degraded,
    }
