"""Runs killed (SIGKILL, in a subprocess) at any point resume to the weights of an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genlab.errors import GenlabError
from genlab.models.registry import get_model
from genlab.run import Run
from genlab.train import engine
from genlab.train.runfolder import FINISHED, TRAINED, TRAINING, RunFolder
from helpers import assert_user_error, run_cli

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


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(tmp_path):
    spec = get_model("mlp")
    whole = engine.train(spec, spec.make_config(**config_values("mlp")), out=tmp_path / "whole", progress=False)
    kill_run("mlp", tmp_path / "cut", "step:2")
    assert not (tmp_path / "cut" / "checkpoint.safetensors").exists()
    resumed = engine.resume(tmp_path / "cut", spec, progress=False)
    assert_same_weights(whole.run.path, resumed.run.path)


def without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if "seconds" not in k}


@pytest.mark.parametrize("finisher", ["evaluate", "resume"])
def test_a_run_killed_between_weights_and_summary_is_finished_by_evaluate_or_resume(finisher, tmp_path, capsys):
    spec = get_model("vae")  # its summary draws samples, so finishing must also restore the RNG
    whole = engine.train(spec, spec.make_config(**config_values("vae")), out=tmp_path / "whole", progress=False)
    cut = tmp_path / "cut"
    kill_run("vae", cut, "after:save_weights")
    assert RunFolder(cut).state() == TRAINED
    assert_user_error(["train", "vae", "--resume", str(cut), "--epochs", "1"], capsys, "already trained 2 epochs")
    with pytest.raises(GenlabError, match=re.escape(f"finish it with 'genlab evaluate {cut}'")):
        Run(cut).folder.read_summary()
    if finisher == "evaluate":
        code, _, err = run_cli(["evaluate", str(cut), "--device", "cpu"], capsys)
    else:
        code, _, err = run_cli(["train", "vae", "--resume", str(cut), "--quiet"], capsys)
    assert code == 0, err
    assert RunFolder(cut).state() == FINISHED
    assert without_timing(Run(cut).summary) == without_timing(whole.summary)
    assert_same_weights(whole.run.path, cut)


def test_each_state_refuses_with_the_one_command_that_moves_it_on(tmp_path, capsys):
    run = tmp_path / "run"
    kill_run("mlp", run, "after:save_checkpoint")  # epoch 1 of 2 done: training
    assert RunFolder(run).state() == TRAINING
    for args in (["evaluate", str(run)], ["sample", str(run), "-o", str(tmp_path / "s.npz")]):
        assert_user_error(args, capsys, f"continue it with 'genlab train mlp --resume {run}'")
    with pytest.raises(GenlabError, match="has not finished training"):
        Run(run).folder.read_summary()
    config_before = (run / "config.json").read_bytes()
    assert_user_error(["train", "mlp", "--resume", str(run), "--epochs", "0"], capsys, "--epochs")
    assert (run / "config.json").read_bytes() == config_before

    code, _, err = run_cli(["train", "mlp", "--resume", str(run), "--quiet"], capsys)
    assert code == 0, err
    assert RunFolder(run).state() == FINISHED
    assert_user_error(["train", "mlp", "--resume", str(run)], capsys, "already finished 2 epochs", "--epochs N")
    assert_user_error(["train", "mlp", "--resume", str(run), "--epochs", "2"], capsys, "already trained 2 epochs")
    config_before = (run / "config.json").read_bytes()
    assert_user_error(["train", "mlp", "--resume", str(run), "--epochs", "1"], capsys, "N > 2")
    assert (run / "config.json").read_bytes() == config_before


def test_a_run_killed_while_writing_its_checkpoint_resumes_and_leaves_no_temporary_file(tmp_path):
    spec = get_model("mlp")
    whole = engine.train(spec, spec.make_config(**config_values("mlp")), out=tmp_path / "whole", progress=False)
    cut = tmp_path / "cut"
    kill_run("mlp", cut, "writing:checkpoint")  # the first checkpoint, at the end of epoch 1
    assert not (cut / "checkpoint.safetensors").exists()
    assert [p.name for p in cut.glob(".*.tmp")]
    resumed = engine.resume(cut, spec, progress=False)
    assert_same_weights(whole.run.path, resumed.run.path)
    assert not list(cut.glob(".*.tmp"))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adamw", "adadelta"])
def test_the_channels_last_cnn_resumes_exactly_with_every_optimiser(optimizer, tmp_path, monkeypatch):
    """Adam is covered above; every other optimiser keeps per-parameter state in the
    parameter's (channels-last) layout too."""
    spec = get_model("cnn")
    config = spec.make_config(**{**config_values("cnn"), "optimizer": optimizer, "lr": 0.01})
    whole = engine.train(spec, config, out=tmp_path / "whole", progress=False)
    original = RunFolder.save_checkpoint

    def interrupt_after_first(self, model, optimizers, epoch, step):
        original(self, model, optimizers, epoch, step)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "save_checkpoint", interrupt_after_first)
    with pytest.raises(KeyboardInterrupt):
        engine.train(spec, config, out=tmp_path / "cut", progress=False)
    monkeypatch.setattr(RunFolder, "save_checkpoint", original)
    resumed = engine.resume(tmp_path / "cut", spec, progress=False)
    assert_same_weights(whole.run.path, resumed.run.path)
