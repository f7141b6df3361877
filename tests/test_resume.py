"""Runs killed (SIGKILL, in a subprocess) at any point resume to the weights of an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genlab.models.registry import get_model
from genlab.train import engine

KILLER = Path(__file__).with_name("kill_run.py")
SRC = Path(__file__).resolve().parents[1] / "src"

# Each family on a few rows of mnist-sample, 2 epochs: small enough for seconds, big enough for
# several steps per epoch. The cnn is the channels-last FastCNN with fused Adam.
FAMILIES = {
    "logreg": {"limit": 100, "batch_size": 16},
    "mlp": {"limit": 100, "batch_size": 16, "hidden": [32]},
    "cnn": {"limit": 100, "batch_size": 16},
    "ae": {"limit": 100, "batch_size": 16},
    "vae": {"limit": 100, "batch_size": 16, "iwae_k": 2, "iwae_images": 10},
    "gan": {"limit": 100, "batch_size": 16, "judge": "none"},
}


def config_values(model: str) -> dict:
    return {"data": "mnist-sample", "device": "cpu", "epochs": 2, "seed": 5, **FAMILIES[model]}


def kill_run(model: str, out: Path, where: str) -> None:
    """Run `model` in a subprocess that SIGKILLs itself at `where` (see tests/kill_run.py)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, str(KILLER), model, str(out), json.dumps(config_values(model)), where],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def assert_same_weights(a: Path, b: Path) -> None:
    first, second = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    assert first.keys() == second.keys()
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, f"resumed weights differ in {different}"


@pytest.mark.parametrize("model", list(FAMILIES))
def test_a_run_killed_at_a_random_step_of_epoch_two_resumes_to_identical_weights(model, tmp_path):
    spec = get_model(model)
    config = spec.make_config(**config_values(model))
    whole = engine.train(spec, config, out=tmp_path / "whole", progress=False)
    per_epoch = whole.summary["steps"] // config.epochs
    kill_at = random.Random(f"{model}-kill").randrange(per_epoch + 1, 2 * per_epoch)  # inside epoch 2
    kill_run(model, tmp_path / "cut", f"step:{kill_at}")
    assert not (tmp_path / "cut" / "weights.safetensors").exists()
    resumed = engine.resume(tmp_path / "cut", spec, progress=False)
    assert_same_weights(whole.run.path, resumed.run.path)
