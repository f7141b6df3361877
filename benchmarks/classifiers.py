"""Classifier speed: genlab against the canonical PyTorch training loop, side by side.

The reference is the idiom of the pytorch/examples MNIST script: the data as
float tensors in a TensorDataset, a DataLoader that shuffles batches of 64, the
two-convolution network with dropout, Adadelta (lr 1.0) and StepLR (gamma 0.7),
and the test set evaluated at each epoch end. genlab runs through its Python API
(`genlab.train.engine.train` with `spec.make_config`) in the same process, on
the same 2 CPU threads. Measured:

- CNN, Fashion-MNIST: the reference's seconds per epoch and the training seconds
  until its test accuracy first reaches 90.7%, against the seconds genlab's
  default `cnn` needs to reach 91% (its engine's own clock, which also counts
  the validation/test evaluations at every epoch end) and the wall-clock of the
  whole `train()` call (data loading, final evaluation and figures included).
- MLP 784-128-10 (ReLU), Fashion-MNIST: the reference loop's epoch against a
  genlab `mlp` epoch at its default batch size (256), both over the full
  60,000-image training split (genlab with --val-fraction 0 for this one).
- Logistic regression, MNIST-5k: the default `logreg` (SGD, lr 0.5, batch 128)
  reaches >= 85% test accuracy; its accuracy after each epoch is recorded.

Usage: GENLAB_DATA=... python benchmarks/classifiers.py [--repeats 3] [--reference-epochs 3]
Writes benchmarks/results/classifiers.json and the "Classifiers" section of docs/benchmarks.md
(`--docs-only` rewrites that section from the saved JSON without measuring again).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

from _docs import DOCS, write_docs_section

import genlab
from genlab.data import registry
from genlab.models.registry import get_model
from genlab.train.engine import train

THREADS = 2
RESULTS = Path(__file__).parent / "results" / "classifiers.json"
REFERENCE_TARGET = 0.907
GENLAB_TARGET = 0.91
LOGREG_TARGET = 0.85
# Fashion-MNIST pixel statistics of the training split, the reference's input normalisation.
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


class ReferenceCNN(nn.Module):
    """The pytorch/examples MNIST network, unchanged."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


class ReferenceMLP(nn.Module):
    """784-128-10 with ReLU, the same network as genlab's default `mlp`."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)


def fashion_tensors() -> dict[str, TensorDataset]:
    """Fashion-MNIST as the example prepares it: float [N, 1, 28, 28], normalised."""
    arrays = registry.load_arrays("fashion-mnist")
    out = {}
    for split, (images, labels) in arrays.items():
        x = (torch.from_numpy(images).float().div(255.0).unsqueeze(1) - FASHION_MEAN) / FASHION_STD
        out[split] = TensorDataset(x, torch.from_numpy(labels))
    return out


def reference_loop(
    model: nn.Module, data: dict[str, TensorDataset], epochs: int, target: float | None, seed: int = 1
) -> dict:
    """Train like the example; return per-epoch training seconds and test accuracies.

    Stops early once test accuracy reaches `target`. Only the training loop is timed
    (the example's per-step loss printing is left out, it would only slow it down).
    """
    torch.manual_seed(seed)
    train_loader = DataLoader(data["train"], batch_size=64, shuffle=True)
    test_loader = DataLoader(data["test"], batch_size=1000)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    seconds, cpu_seconds, accuracies = [], [], []
    for _ in range(epochs):
        model.train()
        started, cpu_started = time.perf_counter(), time.process_time()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
        scheduler.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        accuracies.append(correct / len(data["test"]))
        if target is not None and accuracies[-1] >= target:
            break
    reached = next((i for i, a in enumerate(accuracies) if target is not None and a >= target), None)
    return {
        "epoch_seconds": seconds,
        "epoch_cpu_seconds": cpu_seconds,
        "test_accuracy": accuracies,
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else sum(seconds[: reached + 1]),
        "cpu_seconds_to_target": None if reached is None else sum(cpu_seconds[: reached + 1]),
    }


def genlab_run(model: str, target: float | None = None, **overrides) -> dict:
    """Train a genlab model through the API; read its epoch clock and test curve from metrics.jsonl."""
    spec = get_model(model)
    # the test curve on the whole test split (not the first 2,000 rows of a plain run): it is the measurement
    config = spec.make_config(**{"eval_images": None, **overrides})
    with tempfile.TemporaryDirectory() as folder:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = train(spec, config, out=Path(folder) / "run", progress=False)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        events = result.run.read_metrics()
    clock = [e["seconds"] for e in events if e.get("event") == "epoch"]
    accuracies = [e["accuracy"] for e in events if e.get("event") == "eval" and e["split"] == "test"]
    reached = next((i for i, a in enumerate(accuracies) if target is not None and a >= target), None)
    return {
        "config": {
            k: v
            for k, v in config.to_dict().items()
            if k in overrides or k in ("epochs", "batch_size", "lr", "optimizer", "schedule", "val_fraction")
        },
        "epoch_seconds": [b - a for a, b in zip([0.0, *clock[:-1]], clock)],
        "train_seconds": clock[-1],
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "test_accuracy": accuracies,
        "final_test_accuracy": result.summary["test_accuracy"],
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else clock[reached],
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "genlab": genlab.__version__,
        "date": datetime.date.today().isoformat(),
        "gpu": "none (CPU-only machine)",
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each cheap measurement (medians reported)")
    parser.add_argument(
        "--reference-epochs",
        type=int,
        default=3,
        help="most epochs of the reference CNN (it stops once it reaches 90.7%%)",
    )
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help=f"rewrite the section of {DOCS.name} from {RESULTS.name} without measuring",
    )
    args = parser.parse_args(argv)
    if args.docs_only:
        results = json.loads(RESULTS.read_text())
        write_docs_section("Classifiers", markdown(results))
        return results
    torch.set_num_threads(THREADS)
    data = fashion_tensors()
    results: dict = {"machine": machine()}

    # One genlab run before the (single, expensive) reference run and the others after it,
    # so that a change in the machine's load during the benchmark shows up in the spread.
    runs = [genlab_run("cnn", GENLAB_TARGET, data="fashion-mnist", seed=0)]
    print(f"genlab cnn: {runs[0]}", flush=True)
    reference = reference_loop(ReferenceCNN(), data, args.reference_epochs, REFERENCE_TARGET)
    print(f"reference CNN: {reference}", flush=True)
    for seed in range(1, args.repeats):
        runs.append(genlab_run("cnn", GENLAB_TARGET, data="fashion-mnist", seed=seed))
        print(f"genlab cnn: {runs[-1]}", flush=True)
    cnn = {
        "reference": reference,
        "genlab": runs,
        "reference_epoch_seconds": median(reference["epoch_seconds"]),
        "reference_seconds_to_target": reference["seconds_to_target"],
        "genlab_epoch_seconds": median([s for run in runs for s in run["epoch_seconds"]]),
        "genlab_seconds_to_target": median([run["seconds_to_target"] for run in runs]),
        "genlab_wall_seconds": median([run["wall_seconds"] for run in runs]),
        "reference_cpu_seconds_to_target": reference["cpu_seconds_to_target"],
        "genlab_cpu_seconds": median([run["cpu_seconds"] for run in runs]),
        "genlab_final_test_accuracy": median([run["final_test_accuracy"] for run in runs]),
        "genlab_runs_reaching_target": sum(run["seconds_to_target"] is not None for run in runs),
    }
    if cnn["reference_seconds_to_target"] and cnn["genlab_seconds_to_target"]:
        cnn["time_to_target_ratio"] = cnn["genlab_seconds_to_target"] / cnn["reference_seconds_to_target"]
        cnn["wall_to_target_ratio"] = cnn["genlab_wall_seconds"] / cnn["reference_seconds_to_target"]
        cnn["cpu_to_target_ratio"] = cnn["genlab_cpu_seconds"] / cnn["reference_cpu_seconds_to_target"]
    results["cnn"] = cnn

    mlp_reference = reference_loop(ReferenceMLP(), data, args.repeats, None)
    print(f"reference MLP: {mlp_reference}", flush=True)
    mlp_runs = [
        genlab_run("mlp", data="fashion-mnist", val_fraction=0.0, epochs=2, seed=seed) for seed in range(args.repeats)
    ]
    for run in mlp_runs:
        print(f"genlab mlp: {run}", flush=True)
    mlp = {
        "reference": mlp_reference,
        "genlab": mlp_runs,
        "reference_epoch_seconds": median(mlp_reference["epoch_seconds"]),
        "genlab_epoch_seconds": median([s for run in mlp_runs for s in run["epoch_seconds"]]),
    }
    mlp["speedup"] = mlp["reference_epoch_seconds"] / mlp["genlab_epoch_seconds"]
    results["mlp"] = mlp

    logreg_runs = [genlab_run("logreg", LOGREG_TARGET, data="mnist", seed=seed) for seed in range(args.repeats)]
    for run in logreg_runs:
        print(f"genlab logreg: {run}", flush=True)
    results["logreg"] = {
        "genlab": logreg_runs,
        "final_test_accuracy": median([run["final_test_accuracy"] for run in logreg_runs]),
        "epochs_to_target": median([run["epochs_to_target"] for run in logreg_runs]),
        "seconds_to_target": median([run["seconds_to_target"] for run in logreg_runs]),
        "wall_seconds": median([run["wall_seconds"] for run in logreg_runs]),
    }

    results["machine"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    section = markdown(results)
    write_docs_section("Classifiers", section)
    print(section)
    return results


def markdown(results: dict) -> str:
    """The "Classifiers" section of docs/benchmarks.md: setup, machine, table and notes, from the results."""
    machine_, cnn, mlp, logreg = results["machine"], results["cnn"], results["mlp"], results["logreg"]
    ref, runs = cnn["reference"], cnn["genlab"]
    config = runs[0]["config"]
    genlab_curves = "; ".join(", ".join(f"{a:.2%}" for a in run["test_accuracy"]) for run in runs)
    logreg_curve = ", ".join(f"{a:.1%}" for a in logreg["genlab"][0]["test_accuracy"])
    lines = [
        "`benchmarks/classifiers.py` times genlab against the canonical PyTorch loop, side by side in one "
        f"process with `torch.set_num_threads({THREADS})`. The reference is the pytorch/examples MNIST idiom: "
        "normalised float tensors in a `TensorDataset`, a shuffling `DataLoader` with batch 64, the two-conv "
        "network (conv 32, conv 64, max-pool, dropout, fc 9216-128, dropout, fc 128-10, log-softmax), "
        "Adadelta (lr 1.0) with StepLR (gamma 0.7), test accuracy evaluated at every epoch end; only its "
        "training loops are timed. genlab runs through `genlab.train.engine.train(spec, spec.make_config(...))`.",
        "",
        f"Machine: {machine_['cpu']}, {machine_['threads']} threads, {machine_['gpu']}; Python "
        f"{machine_['python']}, torch {machine_['torch']}, genlab {machine_['genlab']}; {machine_['date']}. "
        f"1-minute load average {machine_['load_average_1min']} at the start and "
        f"{machine_.get('load_average_1min_at_end', 'n/a')} at the end"
        + (
            " (the benchmark's own 2 threads: nothing else ran)."
            if machine_["load_average_1min"] < 1
            else ": other jobs shared the 2 cores, so absolute seconds are inflated and noisy; the ratios compare "
            "runs made in the same conditions."
        ),
        "",
        "| measurement | reference loop | genlab | genlab / reference |",
        "| --- | --- | --- | --- |",
        f"| CNN, Fashion-MNIST: seconds per epoch (median) | {cnn['reference_epoch_seconds']:.1f} | "
        f"{cnn['genlab_epoch_seconds']:.1f} | {cnn['genlab_epoch_seconds'] / cnn['reference_epoch_seconds']:.2f} |",
        f"| CNN: seconds to target (reference 90.7%, genlab 91%) | {_seconds(cnn['reference_seconds_to_target'])} "
        f"(after epoch {ref['epochs_to_target']}) | {_seconds(cnn['genlab_seconds_to_target'])} "
        f"(after epoch {runs[0]['epochs_to_target']} of {config['epochs']}) | "
        f"**{_ratio(cnn.get('time_to_target_ratio'))}** |",
        f"| CNN: genlab's whole `train()` call (data loading, training, final evaluation of train/val/test, "
        f"figures) | | {cnn['genlab_wall_seconds']:.1f} s | {_ratio(cnn.get('wall_to_target_ratio'))} |",
        f"| CNN: CPU seconds (reference: training to target; genlab: whole `train()` call) | "
        f"{_seconds(cnn['reference_cpu_seconds_to_target'])} | {cnn['genlab_cpu_seconds']:.1f} s "
        f"| {_ratio(cnn.get('cpu_to_target_ratio'))} |",
        f"| CNN: test accuracy after each epoch | {', '.join(f'{a:.2%}' for a in ref['test_accuracy'])} | "
        f"{genlab_curves} ({len(runs)} seeds) | |",
        f"| MLP 784-128-10 (ReLU), Fashion-MNIST: seconds per 60,000-image epoch (median) | "
        f"{mlp['reference_epoch_seconds']:.2f} (batch 64) | {mlp['genlab_epoch_seconds']:.2f} (batch 256) | "
        f"**{1 / mlp['speedup']:.2f}** ({mlp['speedup']:.1f}x faster) |",
        f"| logreg, MNIST-5k: test accuracy after each epoch (seed 0) | | {logreg_curve} | |",
        "",
        f"- genlab's `cnn` runs with its defaults: {config['epochs']} epochs, batch {config['batch_size']}, "
        f"{config['optimizer']} at peak lr {config['lr']:g}, {config['schedule']} schedule, 10% of the training "
        "split held out for validation (so it trains on 54,000 images; the reference trains on all 60,000). Its "
        "seconds are the engine's own epoch clock, which also counts the validation and test evaluations at "
        "every epoch end; both sides are scored on the same 10,000 test images. Medians over "
        f"{len(runs)} seeds (one run before the reference, the others after); the reference ran once "
        f"(median epoch of {len(ref['epoch_seconds'])}). {cnn['genlab_runs_reaching_target']} of {len(runs)} "
        f"genlab runs reached 91%.",
        "- MLP: the reference loop with a 784-128-10 network against `genlab train mlp` at its default batch "
        "size 256 (Adam), both over all 60,000 training images (genlab with `val_fraction=0`); genlab's epoch "
        "includes its test evaluation. Medians over "
        f"{len(mlp['reference']['epoch_seconds'])} reference epochs and {len(mlp['genlab'])} x 2 genlab epochs.",
        f"- logreg: the default (SGD, lr 0.5, batch 128, {logreg['genlab'][0]['config']['epochs']} epochs) on the "
        "5,000-image MNIST training subset (4,500 after the validation hold-out) reaches "
        f"{logreg['final_test_accuracy']:.1%} test accuracy; >= 85% after {logreg['epochs_to_target']:.0f} "
        f"epoch(s) ({_seconds(logreg['seconds_to_target'])}, median of {len(logreg['genlab'])} seeds).",
        "- GPU: none on this machine; the GPU numbers (time to 92.5% and 94% on Fashion-MNIST, the MLP step) "
        "are in the GPU section (`benchmarks/gpu.py`).",
    ]
    return "\n".join(lines)


def _seconds(value) -> str:
    return "not reached" if value is None else f"{value:.1f} s"


def _ratio(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
