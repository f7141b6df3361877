"""Nothing a run holds is lost or silently changed: checksums, fingerprints, finite settings and values."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from genlab.config import field_type
from genlab.errors import GenlabError
from genlab.metrics.compare import MetricSettings
from genlab.models.classifiers import MLPFamily
from genlab.models.registry import all_models, get_model
from genlab.train import engine
from genlab.train.runfolder import RunFolder, checkpoint_epoch
from helpers import assert_user_error, run_cli


def small_mlp(**values):
    settings = {"data": "mnist-sample", "device": "cpu", "limit": 100, "batch_size": 16, "hidden": (16,), **values}
    return get_model("mlp").make_config(**{"epochs": 2, **settings})


@pytest.fixture(scope="module")
def finished_mlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("finished") / "run"
    engine.train(get_model("mlp"), small_mlp(), out=path, progress=False)
    return path


def copy_run(source, target):
    import shutil

    shutil.copytree(source, target)
    return target


def flip_last_byte(path):
    """Damage the tensor data (the end of a safetensors file), leaving its header readable."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["weights.safetensors", "checkpoint.safetensors"])
def test_flipped_bytes_in_weights_or_checkpoint_are_refused_naming_the_file(name, finished_mlp, tmp_path, capsys):
    run = copy_run(finished_mlp, tmp_path / "run")
    summary = (run / "summary.json").read_bytes()
    flip_last_byte(run / name)
    if name == "weights.safetensors":
        assert_user_error(["evaluate", str(run)], capsys, str(run / name), "SHA-256")
    else:
        assert_user_error(["train", "mlp", "--resume", str(run), "--epochs", "3"], capsys, str(run / name), "SHA-256")
    assert (run / "summary.json").read_bytes() == summary


def test_weights_written_before_checksums_still_load(finished_mlp, tmp_path, capsys):
    run = copy_run(finished_mlp, tmp_path / "run")
    save_file(load_file(run / "weights.safetensors"), run / "weights.safetensors")  # no metadata
    code, out, err = run_cli(["evaluate", str(run)], capsys)
    assert code == 0, err
    assert "test_accuracy" in out


def test_evaluate_refuses_changed_data_as_resume_does(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 4)) + np.repeat([[0.0], [3.0]], 60, 0), np.repeat([0, 1], 60)
    table = tmp_path / "table.csv"
    table.write_text("a,b,c,d,label\n" + "".join(f"{','.join(map(str, r))},{c}\n" for r, c in zip(x, y)))
    run = tmp_path / "run"
    code, _, err = run_cli(
        ["train", "logreg", "--data", str(table), "--label-column", "label", "--epochs", "1", "-o", str(run), "-q"],
        capsys,
    )
    assert code == 0, err
    summary = (run / "summary.json").read_bytes()
    table.write_text(table.read_text().replace("0.", "1.", 5))
    for args in (["evaluate", str(run)], ["train", "logreg", "--resume", str(run), "--epochs", "2"]):
        assert_user_error(args, capsys, "fingerprint mismatch", str(run))
    assert (run / "summary.json").read_bytes() == summary


def float_fields(cls):
    return [f.name for f in dataclasses.fields(cls) if field_type(cls, f.name) is float]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_every_float_option_of_every_model_refuses_non_finite_values(value):
    for name in all_models():
        spec = get_model(name)
        for field in float_fields(spec.config_cls):
            with pytest.raises(GenlabError, match=f"--{field.replace('_', '-')} must be"):
                spec.make_config(**{field: value})
    for field in float_fields(MetricSettings):
        with pytest.raises(GenlabError, match=f"--{field.replace('_', '-')} must be a finite number"):
            MetricSettings(**{field: value})


def test_float_options_on_the_command_line_refuse_inf_and_nan(capsys, tmp_path):
    assert_user_error(["train", "mlp", "--lr", "inf"], capsys, "--lr must be a finite number, got inf")
    assert_user_error(["train", "vae", "--beta", "nan"], capsys, "--beta must be a finite number, got nan")
    assert_user_error(
        ["traverse", str(tmp_path), "-o", str(tmp_path / "t.png"), "--span", "inf"],
        capsys,
        "--span must be a finite number",
    )


def test_non_finite_evaluation_stops_the_run_keeping_the_last_good_checkpoint(tmp_path, monkeypatch):
    original = MLPFamily.evaluate
    calls = []

    def poisoned(self, model, split):
        calls.append(split)
        metrics = original(self, model, split)
        return {**metrics, "loss": math.nan} if len(calls) > 2 else metrics  # epoch 2's validation

    monkeypatch.setattr(MLPFamily, "evaluate", poisoned)
    with pytest.raises(GenlabError, match="val loss became nan at step .*the last good checkpoint is kept"):
        engine.train(get_model("mlp"), small_mlp(), out=tmp_path / "run", progress=False)
    assert checkpoint_epoch(tmp_path / "run") == 1
    assert not (tmp_path / "run" / "weights.safetensors").exists()


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_non_finite_final_weights_stop_the_run_and_are_never_saved(bad, tmp_path, monkeypatch):
    original = MLPFamily.on_epoch_end

    def poison(self, model, run, epoch):
        original(self, model, run, epoch)
        if epoch == 2:
            with torch.no_grad():
                next(model.parameters())[0, 0] = bad

    monkeypatch.setattr(MLPFamily, "on_epoch_end", poison)
    with pytest.raises(GenlabError, match="is no longer finite .*the last good checkpoint is kept"):
        engine.train(get_model("mlp"), small_mlp(), out=tmp_path / "run", progress=False)
    assert checkpoint_epoch(tmp_path / "run") == 1
    assert not (tmp_path / "run" / "weights.safetensors").exists()
    assert RunFolder(tmp_path / "run").read_metrics()[-1]["event"] == "error"


def test_resume_refuses_an_output_folder_of_its_own(finished_mlp, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    assert_user_error(
        ["train", "mlp", "--resume", str(finished_mlp), "--epochs", "3", "-o", str(elsewhere)], capsys, "leave out -o"
    )
    assert not elsewhere.exists()
    # -o naming the run itself, or --overwrite, is no less a contradiction of "continue in place"
    assert_user_error(
        ["train", "mlp", "--resume", str(finished_mlp), "--epochs", "3", "-o", str(finished_mlp)],
        capsys,
        "leave out -o",
    )
    assert_user_error(
        ["train", "mlp", "--resume", str(finished_mlp), "--epochs", "3", "--overwrite"], capsys, "leave out --overwrite"
    )


def hidden_leftovers(run):
    return sorted(p.name for p in run.parent.iterdir() if p.name.startswith(f".{run.name}."))


def test_overwrite_keeps_the_old_run_until_the_new_one_has_started(finished_mlp, tmp_path, monkeypatch):
    run = copy_run(finished_mlp, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    original = MLPFamily.train_step

    def failing(self, model, x, y, optimizers, step):
        values = original(self, model, x, y, optimizers, step)
        return {**values, "loss": torch.tensor(math.nan)} if step == 3 else values

    monkeypatch.setattr(MLPFamily, "train_step", failing)
    with pytest.raises(GenlabError, match=f"the run it was to replace is kept as it was in {run}"):
        engine.train(get_model("mlp"), small_mlp(seed=1), out=run, overwrite=True, progress=False)

    def interrupted(self, model, x, y, optimizers, step):
        raise KeyboardInterrupt

    monkeypatch.setattr(MLPFamily, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        engine.train(get_model("mlp"), small_mlp(seed=1), out=run, overwrite=True, progress=False)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert hidden_leftovers(run) == []

    monkeypatch.setattr(MLPFamily, "train_step", original)
    result = engine.train(get_model("mlp"), small_mlp(seed=1), out=run, overwrite=True, progress=False)
    assert result.run.path == run and RunFolder(run).read_config()["config"]["seed"] == 1
    assert (run / "summary.json").read_bytes() != before["summary.json"]
    assert hidden_leftovers(run) == []


def test_a_replacing_run_killed_before_its_first_epoch_ends_leaves_the_old_run(finished_mlp, tmp_path):
    from test_resume import kill_run

    run = copy_run(finished_mlp, tmp_path / "run")
    before = (run / "weights.safetensors").read_bytes()
    kill_run("mlp", run, "step:2")
    assert (run / "weights.safetensors").read_bytes() == before
    assert RunFolder(run).read_summary()["epochs"] == 2
    # The killed process's staging folder is removed by the next replacement.
    assert len(hidden_leftovers(run)) == 1
    engine.train(get_model("mlp"), small_mlp(epochs=1), out=run, overwrite=True, progress=False)
    assert hidden_leftovers(run) == [] and RunFolder(run).read_summary()["epochs"] == 1


@pytest.mark.parametrize("inside", [".", "figures"])
def test_overwrite_refuses_an_out_folder_that_holds_the_working_directory(
    inside, finished_mlp, tmp_path, monkeypatch, capsys
):
    run = copy_run(finished_mlp, tmp_path / "run")
    (run / "figures").mkdir(exist_ok=True)
    monkeypatch.chdir(run / inside)
    out = "." if inside == "." else ".."
    assert_user_error(
        ["train", "mlp", "--data", "mnist-sample", "-o", out, "--overwrite"], capsys, "contains the current directory"
    )
    assert (run / "summary.json").is_file() and (run / "weights.safetensors").is_file()
