"""The CUDA paths: training on `--device cuda` (classifier, VAE, GAN), bf16 autocast, the metrics on
the GPU, a run trained on the GPU and loaded on the CPU, and benchmarks/gpu.py. The CUDA tests run
where a GPU is present and are skipped with the reason otherwise; the CPU tests check the GPU
script's refusals and run its `--smoke` mode end to end."""

from __future__ import annotations

import importlib
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import genlab
from genlab.data import registry
from genlab.metrics.emd import exact_emd, sliced_wasserstein
from genlab.metrics.kl import knn_kl
from genlab.metrics.mmd import gaussian_mmd
from genlab.metrics.prdc import prdc
from genlab.models.classifiers import Classifier
from genlab.train import engine
from helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(
    not CUDA, reason="no CUDA GPU on this machine; these run on a GPU machine (docs/benchmarks.md, 'GPU machine')"
)
SMALL = {"data": "mnist-sample", "limit": 512, "epochs": 1, "device": "cuda", "quiet": True}
# 58 steps: enough for the default cnn to pass 90% on mnist-sample (95% on the CPU)
CLASSIFIER = {**SMALL, "limit": 1024, "epochs": 2, "batch_size": 32}
# cuDNN runs float32 convolutions in TF32 by default, so convolutional networks agree to about 1e-3
CONV_TOLERANCE = 1e-2


@pytest.fixture(scope="module")
def images():
    """Two sets of 200 MNIST-sample digits, float32 [200, 784] in [0, 1]."""
    arrays = registry.load_arrays("mnist-sample")
    a, b = arrays["train"][0][:200], arrays["test"][0][:200]
    return a.reshape(200, -1).astype(np.float32) / 255.0, b.reshape(200, -1).astype(np.float32) / 255.0


@needs_cuda
def test_a_classifier_trained_with_device_cuda_predicts_the_same_on_the_cpu(tmp_path, capsys):
    out = tmp_path / "cnn"
    args = ["train", "cnn", "--data", "mnist-sample", "--limit", "1024", "--epochs", "2", "--batch-size", "32"]
    code, _, err = run_cli([*args, "--device", "cuda", "-o", str(out)], capsys)
    assert code == 0, err
    on_gpu, on_cpu = genlab.load(out, device="cuda"), genlab.load(out, device="cpu")
    assert json.loads((out / "config.json").read_text())["device"] == "cuda"
    assert on_gpu.summary["test_accuracy"] > 0.5
    x, _ = on_cpu.examples("test", limit=100)
    np.testing.assert_allclose(on_gpu.predict_proba(x), on_cpu.predict_proba(x), atol=CONV_TOLERANCE)
    assert on_cpu.loaded.family.device.type == "cpu"


@needs_cuda
def test_a_vae_trains_on_cuda_and_encodes_the_same_on_the_cpu(tmp_path):
    run = genlab.train("vae", **SMALL, iwae_k=10, iwae_images=50, out=tmp_path / "vae")
    assert math.isfinite(run.summary["test_elbo"])
    assert run.sample(4, seed=1).shape == (4, 1, 28, 28)
    x, _ = run.examples("test", limit=50)
    on_cpu = genlab.load(run.path, device="cpu")
    np.testing.assert_allclose(run.encode(x), on_cpu.encode(x), atol=1e-4)


@needs_cuda
def test_a_gan_trains_on_cuda_and_decodes_the_same_on_the_cpu(tmp_path):
    run = genlab.train("dcgan", **SMALL, judge="none", out=tmp_path / "dcgan")
    assert run.summary["steps"] > 0
    codes = np.random.default_rng(0).standard_normal((8, run.config["z_dim"])).astype(np.float32)
    on_cpu = genlab.load(run.path, device="cpu")
    images = run.decode(codes)
    assert images.shape == (8, 1, 28, 28) and np.isfinite(images).all()
    np.testing.assert_allclose(images, on_cpu.decode(codes), atol=CONV_TOLERANCE)


@needs_cuda
def test_bf16_autocasts_matrix_products_and_trains_a_classifier(tmp_path):
    layer, x = torch.nn.Linear(8, 4).cuda(), torch.randn(2, 8, device="cuda")
    with engine.autocast(torch.device("cuda"), "bf16"):
        assert layer(x).dtype == torch.bfloat16
    with engine.autocast(torch.device("cuda"), "fp32"):
        assert layer(x).dtype == torch.float32
    run = genlab.train("cnn", **CLASSIFIER, precision="bf16", out=tmp_path / "cnn-bf16")
    assert run.config["precision"] == "bf16"
    assert run.summary["test_accuracy"] > 0.5


@needs_cuda
def test_the_metrics_give_the_cpu_numbers_on_the_gpu(images):
    a, b = images
    pairs = {
        "mmd": lambda device: [gaussian_mmd(a, b, permutations=50, device=device)[0]],
        "emd": lambda device: [exact_emd(a, b, device=device)],
        "sliced": lambda device: [sliced_wasserstein(a, b, projections=100, device=device)],
        "kl": lambda device: list(knn_kl(a, b, device=device, method="brute")),
        "prdc": lambda device: prdc(a, b, device=device),
    }
    for name, estimate in pairs.items():
        on_cpu, on_gpu = estimate("cpu"), estimate("cuda")
        # precision/recall/density/coverage count points inside kNN radii: rounding may move one of 200
        tolerance = {"abs": 0.011} if name == "prdc" else {"rel": 1e-3, "abs": 1e-5}
        for cpu, gpu in zip(on_cpu, on_gpu, strict=True):
            assert gpu.value == pytest.approx(cpu.value, **tolerance), (name, cpu.metric)


def gpu_script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """benchmarks/gpu.py run as a script with this checkout's genlab, on one CPU thread (the smoke
    run is a check of the code paths; oversubscribed threads only make it slower)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_a_time_guard_cuts_a_run_and_keeps_the_epochs_it_finished(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    gpu = importlib.import_module("gpu")
    finish_epoch = Classifier.on_epoch_end

    def expire_soon(self, model, run, epoch):
        finish_epoch(self, model, run, epoch)
        if epoch == 2:  # the guard's own timer, brought forward: the test must not hang on how busy the CPU is
            signal.setitimer(signal.ITIMER_REAL, 0.05)

    monkeypatch.setattr(Classifier, "on_epoch_end", expire_soon)
    record = []
    with pytest.raises(gpu.OutOfTime), gpu.time_guard(600):
        gpu.genlab_run("mlp", tmp_path, record, data="mnist-sample", limit=256, epochs=50, device="cpu")
    (run,) = record
    assert run["finished"] is False and 2 <= len(run["test"]) < 50
    assert 2 <= len(run["epoch_train_seconds"]) <= len(run["test"])
    assert all(0 < t["accuracy"] <= 1 for t in run["test"])
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # the guard leaves no timer behind


@pytest.mark.skipif(CUDA, reason="this machine has a GPU, so the script does not refuse")
def test_the_gpu_script_refuses_without_cuda_in_one_line():
    done = gpu_script()
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr
    assert "no CUDA GPU here" in lines[0] and "--device cpu" in lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "cpu", "--smoke"], "--smoke needs --results and --docs"),  # the measured numbers stay
        (["--docs-only", "--results", "no-such-results.json"], "no-such-results.json does not exist"),
    ],
)
def test_the_gpu_script_refuses_what_it_cannot_do_in_one_line(args, message):
    done = gpu_script(*args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_the_gpu_scripts_smoke_run_measures_everything(device, tmp_path):
    repo_files = [ROOT / "docs" / "benchmarks.md", ROOT / "benchmarks" / "results" / "gpu.json"]
    before = [path.read_bytes() if path.exists() else None for path in repo_files]
    docs = tmp_path / "benchmarks.md"
    results_path = tmp_path / "gpu.json"
    done = gpu_script("--device", device, "--smoke", "--results", str(results_path), "--docs", str(docs))
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(results_path.read_text())
    seconds = [
        *(target["seconds"] for target in results["cnn"]["targets"]),
        results["mlp"]["step_microseconds"],
        results["mmd"]["seconds"],
        *(
            results[name][key]
            for name in ("dcgan", "vae")
            for key in ("genlab_epoch_seconds", "reference_epoch_seconds")
        ),
    ]
    assert all(isinstance(t, float) and math.isfinite(t) and t > 0 for t in seconds), seconds
    assert math.isfinite(results["mmd"]["value"]) and 0 < results["mmd"]["p_value"] <= 1
    assert all(results[name]["status"] == "done" for name in ("cnn", "mlp", "mmd", "dcgan", "vae"))
    assert results["mmd"]["permutations"] == 20 and results["device"] == device and results["smoke"]
    text = docs.read_text()
    assert "## GPU" in text and "Smoke run" in text and "not measured" not in text
    assert [path.read_bytes() if path.exists() else None for path in repo_files] == before
