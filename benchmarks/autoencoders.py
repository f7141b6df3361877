"""Autoencoder benchmarks: the numbers behind the autoencoder section of docs/benchmarks.md.

    GENLAB_DATA=../shared/datasets python benchmarks/autoencoders.py [--threads 2] [--only NAME ...]

Runs, on MNIST-5k (the 5,000-image training subset; test 10,000), Fashion-MNIST
(full) and pbmc68k-reduced:
  conv-ae-mnist-60s    conv-ae, 2-D code, the epochs that fit a 60 s (CPU) training budget
  conv-ae-mask-mnist-60s   the same budget with masking noise, batch 16 and a one-cycle schedule
  conv-ae-mnist        conv-ae, 2-D code, 30 epochs (its default)
  conv-ae-mnist-long   conv-ae, 2-D code, 90 epochs: where its accuracy levels off
  skip-ae-mnist        skip-ae at the same epochs (skip vs no skip)
  *-denoise-mnist      both again with --noise gaussian:0.3 (noise vs no noise)
  ae-mnist, ae-relu4-mnist   the two MLP baselines
  conv-ae-fashion, skip-ae-fashion   the same comparison on full Fashion-MNIST
  ae-pbmc              the MLP autoencoder's 2-D embedding vs PCA-2 on the same split
  pca-vs-linear-ae-mnist   a linear autoencoder's decoder subspace vs the top-2 PCA subspace
Each result records the wall-clock seconds of the training loop (`seconds`, as
the run reports them), and the process-CPU seconds of the whole run and of its
training loop alone (the whole run minus what re-evaluating it costs), since
the machine these numbers come from may be shared (its load average is
recorded too). Results accumulate in benchmarks/results/autoencoders.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from genlab import __version__  # noqa: E402
from genlab.models.registry import get_model  # noqa: E402
from genlab.train import engine  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "autoencoders.json"
PBMC = "pbmc68k-reduced/pbmc68k_reduced.h5ad"
KEYS = (
    "test_reconstruction_mse",
    "latent_knn_accuracy",
    "latent_silhouette",
    "seconds",
    "train_seconds",
    "epochs",
    "steps",
    "test_reconstruction_mse_vs_corrupted",
    "test_corrupted_input_mse",
)

ORDER = (
    "conv-ae-mnist-60s",
    "conv-ae-mask-mnist-60s",
    "conv-ae-mnist",
    "conv-ae-mnist-long",
    "skip-ae-mnist",
    "conv-ae-denoise-mnist",
    "skip-ae-denoise-mnist",
    "ae-mnist",
    "ae-relu4-mnist",
    "conv-ae-fashion",
    "skip-ae-fashion",
    "ae-pbmc",
    "pca-vs-linear-ae-mnist",
)

MNIST_EPOCHS = 30
# Epochs of conv-ae whose training loop took under 60 CPU seconds here (30 epochs took 72 s).
BUDGET_EPOCHS = 24
# The best 2-D embedding found for conv-ae near the budget: masking noise, small batches, one-cycle
# (1 thread: at batch 16 a second thread slows this small network down, 71 s for 36 epochs).
MASK_RECIPE = {"noise": "mask:0.3", "batch_size": 16, "lr": 5e-3, "schedule": "onecycle", "epochs": 30}
FASHION_EPOCHS = 4


def data_dir() -> Path:
    return Path(os.environ.get("GENLAB_DATA", ROOT.parent / "shared" / "datasets"))


def timed_run(model: str, folder: Path, **settings) -> dict:
    """Train one run; its summary entries plus wall and CPU seconds of the whole call."""
    spec = get_model(model)
    config = spec.make_config(**settings)
    wall, cpu = time.perf_counter(), time.process_time()
    result = engine.train(
        spec, config, out=folder / model / settings["data"].replace("/", "_")[-40:], overwrite=True, progress=False
    )
    run_wall, run_cpu = time.perf_counter() - wall, time.process_time() - cpu
    # What the run spent outside its training loop (loading the data, the final figures and
    # numbers) is what re-evaluating it costs; the rest is the training loop's CPU time.
    cpu = time.process_time()
    engine.evaluate_run(result.run.path, device="cpu")
    outside = time.process_time() - cpu
    record = {k: result.summary[k] for k in KEYS if k in result.summary}
    record.update(
        model=model,
        settings={k: v for k, v in settings.items() if k != "data"},
        data=Path(settings["data"]).name,
        run_wall_seconds=round(run_wall, 2),
        run_cpu_seconds=round(run_cpu, 2),
        training_cpu_seconds=round(run_cpu - outside, 2),
    )
    return record


def pca_knn(settings: dict) -> dict:
    """5-NN accuracy of the 2-D PCA scores on the same split and standardisation as the autoencoder."""
    from sklearn.decomposition import PCA

    from genlab.latent.embed import knn_accuracy

    spec = get_model("ae")
    bundle = engine.load_family_data(spec, spec.make_config(**settings), torch.device("cpu"))
    pca = PCA(n_components=2, random_state=0).fit(bundle.train.x.numpy())
    return {
        "pca2_knn_accuracy": knn_accuracy(
            pca.transform(bundle.train.x.numpy()),
            bundle.train.y.numpy(),
            pca.transform(bundle.test.x.numpy()),
            bundle.test.y.numpy(),
        )
    }


def pca_vs_linear(folder: Path) -> dict:
    """Principal angles and test errors of `genlab pca-vs-linear-ae --data mnist --latent-dim 2`."""
    from dataclasses import asdict

    from genlab.latent.pca_linear import compare_pca_linear_ae

    cpu = time.process_time()
    result = asdict(compare_pca_linear_ae("mnist", 2, out=folder / "pca-vs-linear-ae", progress=False))
    return {
        **{k: v for k, v in result.items() if k not in ("run", "figure")},
        "run_cpu_seconds": round(time.process_time() - cpu, 2),
        "data": "mnist",
        "epochs": 40,
    }


def experiments(folder: Path) -> dict:
    """name -> zero-argument function returning that experiment's record."""
    pbmc = {"data": str(data_dir() / PBMC), "label_key": "bulk_labels", "epochs": 60, "batch_size": 64}
    mnist = {"data": "mnist", "epochs": MNIST_EPOCHS, "evals_per_epoch": 1}
    fashion = {"data": "fashion-mnist", "epochs": FASHION_EPOCHS, "evals_per_epoch": 1}
    return {
        "conv-ae-mnist-60s": lambda: timed_run("conv-ae", folder, **{**mnist, "epochs": BUDGET_EPOCHS}),
        "conv-ae-mask-mnist-60s": lambda: timed_run("conv-ae", folder, **{**mnist, **MASK_RECIPE}),
        "conv-ae-mnist": lambda: timed_run("conv-ae", folder, **mnist),
        "conv-ae-mnist-long": lambda: timed_run("conv-ae", folder, **{**mnist, "epochs": 90}),
        "skip-ae-mnist": lambda: timed_run("skip-ae", folder, **mnist),
        "conv-ae-denoise-mnist": lambda: timed_run("conv-ae", folder, noise="gaussian:0.3", **mnist),
        "skip-ae-denoise-mnist": lambda: timed_run("skip-ae", folder, noise="gaussian:0.3", **mnist),
        "ae-mnist": lambda: timed_run("ae", folder, data="mnist", epochs=20, evals_per_epoch=1),
        "ae-relu4-mnist": lambda: timed_run("ae-relu4", folder, data="mnist", epochs=20, evals_per_epoch=1),
        "conv-ae-fashion": lambda: timed_run("conv-ae", folder, **fashion),
        "skip-ae-fashion": lambda: timed_run("skip-ae", folder, **fashion),
        "ae-pbmc": lambda: {**timed_run("ae", folder, **pbmc), **pca_knn(pbmc)},
        "pca-vs-linear-ae-mnist": lambda: pca_vs_linear(folder),
    }


def machine() -> dict:
    import matplotlib
    import sklearn

    cpu = "unknown"
    if Path("/proc/cpuinfo").is_file():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            cpu,
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "genlab": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
    }


def markdown(stored: dict) -> str:
    """The autoencoder runs as the markdown table of docs/benchmarks.md (the PCA comparison is quoted in its text)."""
    columns = (
        "latent_knn_accuracy",
        "test_reconstruction_mse",
        "test_reconstruction_mse_vs_corrupted",
        "latent_silhouette",
        "epochs",
        "seconds",
        "train_seconds",
        "run_cpu_seconds",
        "training_cpu_seconds",
    )
    lines = ["| experiment | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    done = {name: record for name, record in stored["experiments"].items() if "latent_knn_accuracy" in record}
    for name in sorted(done, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        record = done[name]
        cells = [f"{record[c]:.4g}" if isinstance(record.get(c), float) else str(record.get(c, "-")) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--only", nargs="*", default=None, help="run only these experiments")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--markdown", action="store_true", help="print the stored results as a table and stop")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.out.read_text())))
        return
    torch.set_num_threads(args.threads)
    stored = json.loads(args.out.read_text()) if args.out.is_file() else {}
    stored.setdefault("experiments", {})
    with tempfile.TemporaryDirectory(prefix="genlab-bench-") as tmp:
        todo = experiments(Path(tmp))
        for name in args.only or list(todo):
            if name not in todo:
                raise SystemExit(f"unknown experiment {name!r}; choose from {', '.join(todo)}")
            load_before = os.getloadavg()[0]
            record = todo[name]()
            record.update(
                date=datetime.date.today().isoformat(),
                load_average_before=round(load_before, 2),
                load_average_after=round(os.getloadavg()[0], 2),
                machine=machine(),
            )
            stored["experiments"][name] = record
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
            print(name, json.dumps({k: v for k, v in record.items() if k != "machine"}), flush=True)


if __name__ == "__main__":
    main()
