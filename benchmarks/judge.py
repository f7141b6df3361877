"""Judge benchmark: the judge recipe (cnn --augment degrade) against the plain CNN, on MNIST-5k and
Fashion-MNIST, with the settings of `genlab judge train`: training seconds, test accuracy clean and on each
degraded test set, the label-histogram distance the judge check bounds, calibration, and the threshold.

    GENLAB_DATA=../shared/datasets python benchmarks/judge.py

Writes benchmarks/results/judge.json and the "Judge" section of docs/benchmarks.md. Run it on a quiet
machine: the seconds are the point of running it there (the accuracies match a loaded machine's).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

import torch

from _docs import write_docs_section
from genlab import __version__
from genlab.judge import CHECKED_DEGRADATIONS, assess, judge_settings
from genlab.models.registry import get_model
from genlab.train import engine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "judge.json"
DATASETS = ("mnist", "fashion-mnist")


def measure(data: str, augment: str, folder: Path) -> dict:
    """Train one judge-sized CNN (plain or by the recipe) and assess it as a judge."""
    spec = get_model("cnn")
    config = spec.make_config(**{**judge_settings(data), "augment": augment}, device="cpu", max_label_distance=1.0)
    result = engine.train(spec, config, out=folder / f"{data}-{augment}", progress=False)
    report = (
        result.summary
        if augment == "degrade"
        else assess(
            lambda x: torch.softmax(result.model(x), 1),
            engine.load_family_data(spec, config, torch.device("cpu")).test,
            10,
            config.seed,
        )
    )
    degraded = {record["degradation"]: record for record in report["degraded_test"]}
    return {
        "data": data,
        "augment": augment,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "train_seconds": result.summary["train_seconds"],
        "test_accuracy": result.summary["test_accuracy"],
        "test_calibration_error": report["test_calibration_error"],
        "unrecognisable_threshold": report["unrecognisable_threshold"],
        "label_distance_max": max(degraded[name]["label_distance"] for name in CHECKED_DEGRADATIONS),
        "degraded_test": degraded,
    }


def markdown(results: dict) -> str:
    machine, versions = results["machine"], results["versions"]
    names = list(results["runs"][0]["degraded_test"])
    lines = [
        "`GENLAB_DATA=../shared/datasets python benchmarks/judge.py` trains the judge of `genlab judge train` "
        "(the fast CNN on randomly blurred, noised, thickened, thinned and shifted batches, docs/gan.md) and "
        "the same CNN on clean batches, with the judge's settings (MNIST-5k: 15 epochs; Fashion-MNIST: 5; batch "
        "256; seed 0), and assesses both on the test images, clean and degraded. `max TV` is the largest "
        "total-variation distance between the label histogram of a checked degradation and the true one (the "
        "judge check fails above 0.1); ECE is the expected calibration error on clean test images.",
        "",
        f"Machine: {machine['processor']}, {machine['cpu_count']} cores, {machine['torch_threads']} torch threads; "
        f"genlab {versions['genlab']}, torch {versions['torch']}, Python {versions['python']}; {results['date']}.",
        "",
        "| data | batches | train s | clean | " + " | ".join(names) + " | max TV | ECE | threshold |",
        "| --- | --- | ---: | ---: | " + " | ".join("---:" for _ in names) + " | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        cells = " | ".join(f"{run['degraded_test'][name]['accuracy']:.3f}" for name in names)
        lines.append(
            f"| {run['data']} | {'degraded' if run['augment'] == 'degrade' else 'clean'} | "
            f"{run['train_seconds']:.0f} | {run['test_accuracy']:.3f} | {cells} | "
            f"{run['label_distance_max']:.3f} | {run['test_calibration_error']:.4f} | "
            f"{run['unrecognisable_threshold']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        runs = [measure(data, augment, Path(folder)) for data in DATASETS for augment in ("none", "degrade")]
    results = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        "versions": {"genlab": __version__, "torch": torch.__version__, "python": platform.python_version()},
        "date": datetime.date.today().isoformat(),
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    write_docs_section("Judge", markdown(results))
    print(f"wrote {RESULTS} and the Judge section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
