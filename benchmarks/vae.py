"""Benchmark: genlab's `vae` against a reference VAE written in the canonical PyTorch idiom.

The reference is the familiar example VAE: a 784-400-20 MLP with ReLU, a
DataLoader over a TensorDataset (batch 128, shuffled), Adam at 1e-3, and the
summed binary cross-entropy plus the closed-form KL. Both train on the MNIST
training images in ../shared/datasets (5,000) and are scored on the full test
split (10,000) by the single-sample negative ELBO per image ("test loss", nats).

Timing: training time only, evaluations excluded for both (genlab's engine logs
`train_seconds` with every evaluation; the reference stops its clock around each
test pass). For each reference checkpoint (10 and 80 epochs) the question is how
many seconds genlab's `vae` needs to reach the same test loss. Runs alternate
between the two in one process, `--repeats` times, and medians are reported.

    python benchmarks/vae.py [--threads 2] [--repeats 3] [--quick]

writes benchmarks/results/vae.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from genlab.data.datasets import load_dataset  # noqa: E402
from genlab.metrics.timing import synchronize  # noqa: E402
from genlab.models.base import ModelSpec  # noqa: E402
from genlab.models.registry import get_model  # noqa: E402
from genlab.models.vae import VAEFamily  # noqa: E402
from genlab.train import engine  # noqa: E402


class ReferenceVAE(nn.Module):
    """The canonical example VAE: 784-400-20, ReLU, sigmoid decoder."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def reference_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def reference_test_loss(model, test_loader, device: str = "cpu") -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for (data,) in test_loader:
            data = data.to(device)
            recon, mu, logvar = model(data)
            total += reference_loss(recon, data, mu, logvar).item()
    model.train()
    return total / len(test_loader.dataset)


def run_reference(train_x, test_x, checkpoints: list[int], seed: int, device: str = "cpu") -> list[dict]:
    """Train the reference to max(checkpoints) epochs; test loss and training time at each checkpoint
    (`seconds`: wall clock, `cpu_seconds`: CPU time of this process). On a GPU the batches of the CPU
    DataLoader are moved with `.to(device)`, the example's idiom."""
    torch.manual_seed(seed)
    model = ReferenceVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(TensorDataset(train_x), batch_size=128, shuffle=True)
    test_loader = DataLoader(TensorDataset(test_x), batch_size=128, shuffle=False)
    seconds, cpu_seconds, results = 0.0, 0.0, []
    model.train()
    for epoch in range(1, max(checkpoints) + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        for (data,) in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = reference_loss(recon, data, mu, logvar)
            loss.backward()
            optimizer.step()
        synchronize(device)  # queued GPU work belongs to this epoch
        seconds += time.perf_counter() - started
        cpu_seconds += time.process_time() - cpu_started
        if epoch in checkpoints:
            results.append(
                {
                    "epoch": epoch,
                    "seconds": seconds,
                    "cpu_seconds": cpu_seconds,
                    "test_loss": reference_test_loss(model, test_loader, device),
                }
            )
    return results


class CPUTimedVAE(VAEFamily):
    """genlab's VAE family, unchanged, plus a record of the CPU time spent training before each evaluation.

    On a shared machine wall-clock time measures the neighbours as much as the code;
    the CPU time of the process does not. The clock runs from the first step after an
    evaluation to the next evaluation, so evaluations, figures and checkpoints are left out.
    """

    #: every instance the engine builds, newest last (the benchmark reads the CPU marks back from it)
    built: list[CPUTimedVAE] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cpu_seconds, self.cpu_marks, self._running_since = 0.0, [], None
        CPUTimedVAE.built.append(self)

    def train_step(self, model, x, y, optimizers, step):
        if self._running_since is None:
            self._running_since = time.process_time()
        return super().train_step(model, x, y, optimizers, step)

    @torch.no_grad()
    def evaluate(self, model, split):
        if self._running_since is not None and split is self.data.test:
            self.cpu_seconds += time.process_time() - self._running_since
            self._running_since = None
            self.cpu_marks.append(self.cpu_seconds)
        return super().evaluate(model, split)


def run_genlab(settings: dict, seed: int) -> list[dict[str, Any]]:
    """Train genlab's `vae` with `settings` through the engine; at every evaluation: training wall seconds
    (the engine's `train_seconds`), training CPU seconds, and the test loss."""
    spec = get_model("vae")
    timed = ModelSpec(spec.name, CPUTimedVAE, spec.description, spec.defaults)
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    config = spec.make_config(
        data="mnist",
        val_fraction=0.0,
        seed=seed,
        device="cpu",
        iwae_k=1,
        iwae_images=1,
        eval_images=None,  # the test curve on the whole test split: it is the measurement
        **settings,
    )
    with tempfile.TemporaryDirectory() as folder:
        result = engine.train(timed, config, out=Path(folder) / "run", progress=False)
        events = result.run.read_metrics()
    evaluations = [e for e in events if e.get("event") == "eval" and e.get("split") == "test"]
    marks = CPUTimedVAE.built[-1].cpu_marks
    assert len(marks) == len(evaluations)
    return [
        {
            "step": e["step"],
            "epoch": e["epoch"],
            "seconds": e["train_seconds"],
            "cpu_seconds": cpu,
            "test_loss": e["loss"],
        }
        for e, cpu in zip(evaluations, marks)
    ]


def time_to_reach(curve: list[dict], target: float, clock: str = "seconds") -> float | None:
    """Training time (`clock`: "seconds" wall or "cpu_seconds") at the first evaluation whose test loss
    is <= target (None if never)."""
    return next((point[clock] for point in curve if point["test_loss"] <= target), None)


#: genlab `vae` settings timed against the reference (any settings may be used; each is stated in the results).
CANDIDATES = {
    # Aims at the reference's 10-epoch loss: half the hidden units, a higher learning rate.
    "vae-relu200-lr3e-3": {"hidden": (200,), "activation": "relu", "dropout": 0.0, "lr": 3e-3, "epochs": 8},
    # Aims at the reference's 80-epoch loss: the reference's width, smaller batches, one-cycle schedule.
    "vae-relu400-bs64-onecycle": {
        "hidden": (400,),
        "activation": "relu",
        "dropout": 0.0,
        "lr": 2e-3,
        "batch_size": 64,
        "schedule": "onecycle",
        "epochs": 30,
    },
}


def machine() -> dict:
    import os

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average_1min_at_start": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-epochs", type=int, default=80)
    parser.add_argument(
        "--candidates",
        type=json.loads,
        default=None,
        help='JSON {"name": {settings}} replacing the built-in candidates',
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vae.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    candidates = args.candidates or CANDIDATES
    checkpoints = sorted({10, args.reference_epochs})
    data = load_dataset("mnist", val_fraction=0.0)
    train_x, test_x = data.train.inputs(), data.test.inputs()
    info = machine()
    print(json.dumps(info), flush=True)

    reference_runs, genlab_runs = [], {name: [] for name in candidates}
    for repeat in range(args.repeats):
        reference_runs.append(run_reference(train_x, test_x, checkpoints, seed=repeat))
        print("reference", reference_runs[-1], flush=True)
        for name, settings in candidates.items():
            genlab_runs[name].append(run_genlab(settings, seed=repeat))
            last = genlab_runs[name][-1][-1]
            print(name, f"{last['seconds']:.2f} s -> {last['test_loss']:.2f}", flush=True)

    targets = []
    for index, epochs in enumerate(checkpoints):
        loss = statistics.median(run[index]["test_loss"] for run in reference_runs)
        row = {"reference_epochs": epochs, "reference_test_loss": loss, "genlab": {}}
        for clock in ("seconds", "cpu_seconds"):
            row[f"reference_{clock}"] = statistics.median(run[index][clock] for run in reference_runs)
        for name, curves in genlab_runs.items():
            entry = {}
            for clock in ("seconds", "cpu_seconds"):
                times = [time_to_reach(curve, loss, clock) for curve in curves]
                # A repeat that never reaches the target counts as infinitely slow in the median.
                median = statistics.median([math.inf if t is None else t for t in times])
                entry[f"{clock}_to_reach"] = None if math.isinf(median) else median
                entry[f"{clock}_per_repeat"] = times
                entry[f"{clock}_ratio"] = None if math.isinf(median) else median / row[f"reference_{clock}"]
            row["genlab"][name] = entry
        targets.append(row)
        print(json.dumps(row), flush=True)

    info["load_average_1min_at_end"] = __import__("os").getloadavg()[0]
    result = {
        "machine": info,
        "candidates": {k: {**v, "hidden": list(v.get("hidden", ()))} for k, v in candidates.items()},
        "targets": targets,
        "reference_runs": reference_runs,
        "genlab_runs": genlab_runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
