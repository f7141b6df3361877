"""Runs made from a settings file (`genlab train --config`), TensorBoard logs read back with
TensorBoard's own reader, and `genlab export` of old runs."""

from __future__ import annotations

import csv
import hashlib
import json
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab.api import train_config
from genlab.cli import TrainCommand
from genlab.models.registry import get_model
from helpers import assert_user_error, run_cli

TINY_MLP = ["--data", "mnist-sample", "--limit", "200", "--epochs", "2", "--hidden", "32", "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """A two-epoch MLP on 200 images of the embedded MNIST sample, trained from the command line."""
    out = tmp_path_factory.mktemp("mlp") / "run"
    run = genlab.train(
        "mlp", data="mnist-sample", limit=200, epochs=2, hidden=(32,), device="cpu", seed=5, quiet=True, out=out
    )
    return run.path


def weights(path):
    return load_file(path / "weights.safetensors")


def saved_config(path) -> dict:
    return json.loads((path / "config.json").read_text())


def test_config_json_reruns_to_bit_identical_weights(mlp_run, tmp_path, capsys):
    code, out, err = run_cli(
        ["train", "--config", str(mlp_run / "config.json"), "-q", "-o", str(tmp_path / "a")], capsys
    )
    assert code == 0, err
    first, again = weights(mlp_run), weights(tmp_path / "a")
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    record = saved_config(tmp_path / "a")
    assert record["config"] == saved_config(mlp_run)["config"]
    source = mlp_run / "config.json"
    assert record["config_source"] == {
        "path": str(source.absolute()),
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "overrides": {},
    }


def test_a_setting_given_with_the_file_overrides_only_itself_and_is_recorded(mlp_run, tmp_path):
    out = tmp_path / "b"
    run = genlab.train(config=mlp_run / "config.json", lr=3e-3, quiet=True, out=out)  # the model from the file
    assert run.path == out
    before, after = saved_config(mlp_run)["config"], saved_config(out)["config"]
    assert {k for k in before if before[k] != after[k]} == {"lr"} and after["lr"] == 3e-3
    assert saved_config(out)["config_source"]["overrides"] == {"lr": 3e-3}
    assert not all(torch.equal(a, b) for a, b in zip(weights(mlp_run).values(), weights(out).values()))


def test_a_yaml_or_json_file_of_settings_names_the_model_and_the_api_takes_it(tmp_path):
    yaml_file = tmp_path / "settings.yaml"
    # flag-style names, and 1e-3 (a string to YAML 1.1) read as the number it means
    yaml_file.write_text("model: vae\ndata: mnist-sample\nlatent-dim: 2\nlr: 1e-3\nhidden: [64, 32]\n")
    spec, config, source = train_config(None, yaml_file, {"epochs": 3})
    assert spec.name == "vae"
    assert (config.latent_dim, config.lr, config.hidden, config.epochs) == (2, 1e-3, (64, 32), 3)
    assert source["path"] == str(yaml_file.absolute()) and source["overrides"] == {"epochs": 3}
    # defaults the file leaves out are the model preset's, as without a file
    assert config.batch_size == get_model("vae").make_config().batch_size
    json_file = tmp_path / "settings.json"
    json_file.write_text(json.dumps({"data": "mnist-sample", "epochs": 2, "hidden": [32]}))
    options, from_cli = TrainCommand(get_model("mlp")).parse_settings(["--config", str(json_file), "--seed", "4"])
    assert options.config == json_file
    assert from_cli == get_model("mlp").make_config(data="mnist-sample", epochs=2, hidden=(32,), seed=4)


def test_bad_settings_files_are_one_line_errors(mlp_run, tmp_path, capsys):
    bad = {
        "unknown.json": ('{"model": "mlp", "epochz": 3}', "'epochz' is not a setting of"),
        "type.json": ('{"model": "mlp", "epochs": "five"}', "--epochs expects int, got 'five'"),
        "float.json": ('{"model": "mlp", "epochs": 2.5}', "--epochs expects int, got 2.5"),
        "list.json": ("[1, 2]", "must hold a mapping of settings"),
        "broken.json": ('{"model": "mlp",', "is not valid JSON"),
        "broken.yaml": ("model: [mlp\n", "is not valid YAML"),
        "range.json": ('{"model": "mlp", "lr": -1}', "--lr must be in (0, inf]"),
        "nomodel.json": ('{"epochs": 2}', "names no model"),
        "badmodel.json": ('{"model": 3}', "names no model"),
    }
    for name, (text, fragment) in bad.items():
        (tmp_path / name).write_text(text)
        line = assert_user_error(["train", "--config", str(tmp_path / name)], capsys, fragment)
        assert name in line
    assert_user_error(["train", "--config", str(tmp_path / "absent.json")], capsys, "absent.json not found")
    assert_user_error(
        ["train", "vae", "--config", str(mlp_run / "config.json")], capsys, "holds settings of 'mlp', not 'vae'"
    )
    assert_user_error(
        ["train", "mlp", "--config", str(mlp_run / "config.json"), "--resume", str(mlp_run)],
        capsys,
        "give one of them",
    )
    assert not (tmp_path / "runs").exists()


def scalars_of(folder):
    """(scalars by tag as (step, value) lists, the reader) of the event files in `folder`, read by
    TensorBoard's own reader."""
    pytest.importorskip("tensorboard", reason="TensorBoard is an optional extra: pip install 'genlab[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    reader = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    reader.Reload()
    return {tag: [(e.step, e.value) for e in reader.Scalars(tag)] for tag in reader.Tags()["scalars"]}, reader


def expected_scalars(run_path) -> dict[str, list[tuple[int, float]]]:
    """metrics.jsonl's numbers by tag "<split or event>/<name>", as float32 (TensorBoard's precision)."""
    found: dict[str, list] = {}
    for line in (run_path / "metrics.jsonl").read_text().splitlines():
        event = json.loads(line)
        group = event.get("split", event["event"])
        for name, value in event.items():
            if name not in ("event", "split", "epoch", "step") and isinstance(value, (int, float)):
                found.setdefault(f"{group}/{name}", []).append((event["step"], float(np.float32(value))))
    return found


def epoch_steps(run_path) -> list[int]:
    events = [json.loads(line) for line in (run_path / "metrics.jsonl").read_text().splitlines()]
    return [e["step"] for e in events if e["event"] == "epoch"]


@pytest.mark.parametrize(
    ("model", "flags", "image"),
    [
        ("vae", ["--latent-dim", "2", "--iwae-k", "5", "--iwae-images", "50"], "reconstructions"),
        ("gan", ["--g-hidden", "64,64", "--d-hidden", "64", "--judge", "none"], "samples"),
    ],
)
def test_tensorboard_events_equal_metrics_jsonl_and_hold_each_epochs_grid(model, flags, image, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", model, "--data", "mnist-sample", "--limit", "200", "--epochs", "2", "--device", "cpu", "-q"]
    code, _, err = run_cli([*args, *flags, "--log", "tensorboard", "-o", str(out)], capsys)
    assert code == 0, err
    live, reader = scalars_of(out / "tensorboard")
    expected = expected_scalars(out)
    assert {
        "train/loss" if model == "vae" else "train/d_loss",
        "test/elbo" if model == "vae" else "epoch/seconds",
    } <= set(expected)
    assert live == expected
    images = reader.Images(image)
    assert [e.step for e in images] == epoch_steps(out) and len(images) == 2
    assert all(e.width > 28 and e.height >= 28 and e.encoded_image_string.startswith(b"\x89PNG") for e in images)

    # The export of the finished run writes the same scalars and images; it keeps an existing export.
    assert_user_error(["export", str(out), "--to", "tensorboard"], capsys, "already exists", "--overwrite")
    code, _, err = run_cli(["export", str(out), "--to", "tensorboard", "--overwrite"], capsys)
    assert code == 0, err
    exported, exported_reader = scalars_of(out / "tensorboard")
    assert exported == expected
    assert [e.encoded_image_string for e in exported_reader.Images(image)] == [e.encoded_image_string for e in images]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_a_resumed_run_continues_its_tensorboard_log_without_duplicates(tmp_path):
    cut = tmp_path / "cut"
    common = {"data": "mnist-sample", "limit": 200, "hidden": (32,), "device": "cpu", "quiet": True}
    genlab.train("mlp", **common, epochs=3, log="tensorboard", out=cut)
    # as if interrupted during epoch 3: its checkpoint is that of epoch 2, its log runs on
    from genlab.train import engine
    from genlab.train.runfolder import RunFolder

    whole = RunFolder(cut).read_metrics()
    spec = get_model("mlp")
    settings = {k: v for k, v in common.items() if k != "quiet"}
    engine.train(spec, spec.make_config(**settings, epochs=2), out=tmp_path / "two", progress=False)
    (cut / "checkpoint.safetensors").write_bytes((tmp_path / "two" / "checkpoint.safetensors").read_bytes())
    (cut / "weights.safetensors").unlink()
    genlab.train("mlp", resume=cut, quiet=True)  # no --log: the run's tensorboard/ folder says to keep logging
    assert [e["step"] for e in RunFolder(cut).read_metrics()] == [e["step"] for e in whole]
    resumed, _ = scalars_of(cut / "tensorboard")
    assert resumed == expected_scalars(cut)


def test_export_csv_has_one_row_per_event(mlp_run, capsys):
    code, out, err = run_cli(["export", str(mlp_run), "--to", "csv"], capsys)
    assert code == 0 and out.strip() == f"written: {mlp_run / 'metrics.csv'}", err
    rows = list(csv.DictReader((mlp_run / "metrics.csv").open()))
    events = [json.loads(line) for line in (mlp_run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == len(events)
    assert [r["event"] for r in rows] == [e["event"] for e in events]
    assert all(float(r["loss"]) == e["loss"] for r, e in zip(rows, events) if "loss" in e)
    before = (mlp_run / "metrics.csv").read_bytes()
    assert_user_error(["export", str(mlp_run), "--to", "csv"], capsys, "metrics.csv already exists", "--overwrite")
    assert (mlp_run / "metrics.csv").read_bytes() == before


def test_without_tensorboard_the_log_option_names_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    assert_user_error(
        ["train", "mlp", *TINY_MLP, "--log", "tensorboard", "-o", str(tmp_path / "run")],
        capsys,
        "pip install 'genlab[tensorboard]'",
    )
    assert not (tmp_path / "run").exists()
    assert_user_error(["export", str(tmp_path), "--to", "tensorboard"], capsys, "is not a genlab run folder")


def test_export_without_tensorboard_names_the_install_command(mlp_run, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert_user_error(
        ["export", str(mlp_run), "--to", "tensorboard"], capsys, "--to tensorboard needs TensorBoard", "pip install"
    )
    assert not (mlp_run / "tensorboard").exists()
