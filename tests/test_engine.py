"""The training engine: determinism, resume, NaN handling, run folders."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from genlab.data.datasets import Split
from genlab.errors import GenlabError
from genlab.models.classifiers import MLPFamily
from genlab.models.registry import get_model
from genlab.train import engine
from genlab.train.runfolder import RunFolder


def small_mlp(**values):
    settings = {"data": "mnist-sample", "epochs": 2, "hidden": (32,), "batch_size": 64, **values}
    return get_model("mlp").make_config(**settings)


def weights(run_path):
    return load_file(run_path / "weights.safetensors")


def test_same_seed_gives_bit_identical_weights(tmp_path):
    spec = get_model("mlp")
    first = engine.train(spec, small_mlp(seed=3), out=tmp_path / "a", progress=False)
    second = engine.train(spec, small_mlp(seed=3), out=tmp_path / "b", progress=False)
    third = engine.train(spec, small_mlp(seed=4), out=tmp_path / "c", progress=False)
    a, b, c = weights(first.run.path), weights(second.run.path), weights(third.run.path)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_after_interruption_equals_uninterrupted(tmp_path, monkeypatch):
    spec = get_model("mlp")
    config = small_mlp(epochs=3)
    whole = engine.train(spec, config, out=tmp_path / "whole", progress=False)

    original = MLPFamily.on_epoch_end

    def interrupt_after_second(self, model, run, epoch):
        original(self, model, run, epoch)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(MLPFamily, "on_epoch_end", interrupt_after_second)
    with pytest.raises(KeyboardInterrupt):
        engine.train(spec, config, out=tmp_path / "cut", progress=False)
    monkeypatch.setattr(MLPFamily, "on_epoch_end", original)
    assert not (tmp_path / "cut" / "summary.json").exists()
    resumed = engine.resume(tmp_path / "cut", spec, progress=False)

    a, b = weights(whole.run.path), weights(resumed.run.path)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.summary["test_accuracy"] == whole.summary["test_accuracy"]
    steps = [e["step"] for e in RunFolder(tmp_path / "cut").read_metrics() if e["event"] == "train"]
    assert steps == sorted(steps) and len(steps) == len(set(steps))


def test_resume_can_extend_a_finished_run(tmp_path):
    spec = get_model("mlp")
    engine.train(spec, small_mlp(epochs=1), out=tmp_path / "run", progress=False)
    with pytest.raises(GenlabError, match="already finished 1 epochs"):
        engine.resume(tmp_path / "run", spec, progress=False)
    result = engine.resume(tmp_path / "run", spec, epochs=2, progress=False)
    assert result.summary["epochs"] == 2


def test_non_finite_loss_stops_at_its_step_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    spec = get_model("mlp")
    original = MLPFamily.train_step

    def poisoned(self, model, x, y, optimizers, step):
        values = original(self, model, x, y, optimizers, step)
        if step == 40:  # in the second epoch (mnist-sample: 29 steps of 64 per epoch)
            values["loss"] = torch.tensor(float("nan"))
        return values

    monkeypatch.setattr(MLPFamily, "train_step", poisoned)
    with pytest.raises(
        GenlabError,
        match=r"loss became nan at step 41; training stopped and the last good "
        r"checkpoint is kept",
    ):
        engine.train(spec, small_mlp(epochs=3), out=tmp_path / "run", progress=False)
    run = RunFolder(tmp_path / "run")
    assert (run.path / "checkpoint.safetensors").exists()
    events = run.read_metrics()
    assert events[-1]["event"] == "error" and events[-1]["step"] == 41
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1]


def test_run_folder_records_config_metrics_and_summary(tmp_path):
    result = engine.train(
        get_model("logreg"),
        get_model("logreg").make_config(data="mnist-sample", epochs=1),
        out=tmp_path / "run",
        progress=False,
    )
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["config"]["lr"] == 0.5 and record["config"]["seed"] == 0
    assert record["genlab_version"] and record["device"] == "cpu"
    assert record["config"]["data_fingerprint"]
    events = result.run.read_metrics()
    assert {e["event"] for e in events} >= {"train", "eval", "epoch"}
    assert {e["split"] for e in events if e["event"] == "eval"} == {"val", "test"}
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for key in ("test_accuracy", "test_loss", "train_accuracy", "epochs", "seconds"):
        assert key in summary


def test_curves_evaluate_the_first_eval_images_rows_and_the_summary_whole_splits(tmp_path):
    spec = get_model("logreg")
    result = engine.train(
        spec, spec.make_config(data="mnist-sample", epochs=1, eval_images=7), out=tmp_path / "run", progress=False
    )
    loaded = engine.load_run(result.run.path, device="cpu")
    test = loaded.family.data.test
    first = Split(test.x[:7], test.y[:7])
    events = [e for e in result.run.read_metrics() if e.get("event") == "eval" and e["split"] == "test"]
    # the same final weights: the last curve point is the first 7 rows, the summary the whole split
    assert events[-1]["accuracy"] == loaded.family.evaluate(loaded.model, first)["accuracy"]
    assert result.summary["test_accuracy"] == loaded.family.evaluate(loaded.model, test)["accuracy"]
    assert len(test) > 7


def test_existing_run_folder_is_refused_and_kept(tmp_path):
    spec = get_model("logreg")
    config = spec.make_config(data="mnist-sample", epochs=1)
    engine.train(spec, config, out=tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "summary.json").read_text()
    with pytest.raises(GenlabError, match="already exists; pass --overwrite"):
        engine.train(spec, config, out=tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "summary.json").read_text() == before
