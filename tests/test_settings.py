"""The CLI and the Python API build equal settings objects, for every command and every setting.

Each command's flags are generated from its settings class; here, for every
command in the CLI tree (and every model of `genlab train`) and every setting,
the literal texts "none", "0", "" (an empty list), "3" and "0.5" given on the
command line must build the same settings object as the API given the value a
reader expects from the field's type (worked out below independently of the
parser), or both must fail with the same one-line GenlabError.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
import pytest

from genlab import api
from genlab.cli import TrainCommand, cli
from genlab.clibuild import SettingsCommand, build, leaves, repeatable
from genlab.config import field_type, is_optional, item_type
from genlab.errors import GenlabError
from genlab.metrics.compare import METRICS
from genlab.models.registry import all_models, get_model
from helpers import assert_user_error, run_cli

TEXTS = ("none", "0", "", "3", "0.5")
ERROR = object()  # "no value of the field's type reads like this text"


def settings_commands(group: click.Group = cli, prefix: str = "") -> dict[str, SettingsCommand]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, SettingsCommand):
            found[f"{prefix}{name}"] = command
        elif isinstance(command, click.Group):
            found.update(settings_commands(command, f"{prefix}{name} "))
    return found


COMMANDS = settings_commands()


def expected(owner, name: str, text: str):
    """What a user means by `text` for this field, from its declared type alone."""
    kind = field_type(owner, name)
    if text == "none" and is_optional(owner, name):
        return None
    if kind is tuple:  # "none" for a field that takes no None is read as any other text
        item = item_type(owner, name)
        parts = [part for part in text.split(",") if part]
        try:
            return tuple(item(part) for part in parts)
        except ValueError:
            return ERROR
    try:
        return kind(text)
    except ValueError:
        return ERROR


def required_values(cls) -> tuple[list[str], dict]:
    """CLI arguments and API values for the settings a command cannot run without."""
    args, values = [], {}
    for owner, spec in leaves(cls):
        if spec.default is not dataclasses.MISSING:
            continue
        kind = field_type(owner, spec.name)
        single = {int: 1, Path: Path("x.npz"), str: "3"}
        value = (single[item_type(owner, spec.name)],) if kind is tuple else single[kind]
        texts = [str(v) for v in value] if kind is tuple else [str(value)]
        args += (
            texts
            if spec.metadata.get("argument")
            else [
                spec.metadata.get("flags", ())[0] if spec.metadata.get("flags") else f"--{spec.name.replace('_', '-')}",
                texts[0],
            ]
        )
        values[spec.name] = value
    return args, values


def outcome(make):
    """The settings object `make()` builds, or the message of the GenlabError it raises."""
    try:
        return make()
    except GenlabError as error:
        return f"error: {error}"


def flag(spec) -> str:
    return (spec.metadata.get("flags") or (f"--{spec.name.replace('_', '-')}",))[0]


def cases(cls):
    """(field, CLI words, API value) for every setting of `cls` and every literal text."""
    for owner, spec in leaves(cls):
        kind = field_type(owner, spec.name)
        if spec.metadata.get("argument"):
            continue  # positional settings are given in every case (required_values) and below
        if kind is bool:
            yield spec.name, [flag(spec)], True
            yield spec.name, [f"--no-{flag(spec).lstrip('-')}"], False
        elif repeatable(owner, spec):
            yield spec.name, [flag(spec), "a=1", flag(spec), "b=2,3"], ("a=1", "b=2,3")
        else:
            for text in TEXTS:
                yield spec.name, [flag(spec), text], expected(owner, spec.name, text)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_and_api_build_equal_settings(name):
    command = COMMANDS[name]
    cls = command.settings_cls
    args, values = required_values(cls)
    assert outcome(lambda: command.parse_settings(args)) == build(cls, **values)
    checked = 0
    for field_name, words, value in cases(cls):
        from_cli = outcome(lambda: command.parse_settings(args + words))
        if value is ERROR:
            assert isinstance(from_cli, str) and "--" in from_cli, (field_name, words, from_cli)
            continue
        from_api = outcome(lambda: build(cls, **{**values, field_name: value}))
        assert from_cli == from_api, (field_name, words)
        if not isinstance(from_api, str):
            found = dataclasses.asdict(from_api)
            groups = [v for v in found.values() if isinstance(v, dict)]
            assert value in [found.get(field_name), *[g.get(field_name) for g in groups]]
        checked += 1
    assert checked >= len([s for s in leaves(cls) if not s[1].metadata.get("argument")])


@pytest.mark.parametrize("model", all_models())
def test_train_cli_and_api_build_equal_configs(model):
    spec = get_model(model)
    command = TrainCommand(spec)
    for owner, field_spec in leaves(spec.config_cls):
        for _, words, value in cases_of_field(owner, field_spec):
            from_cli = outcome(lambda: command.parse_settings(words)[1])
            if value is ERROR:
                assert isinstance(from_cli, str) and flag(field_spec) in from_cli, (words, from_cli)
                continue
            assert from_cli == outcome(lambda: spec.make_config(**{field_spec.name: value})), words


def cases_of_field(owner, spec):
    if field_type(owner, spec.name) is bool:
        yield spec.name, [flag(spec)], True
        yield spec.name, [f"--no-{flag(spec).lstrip('-')}"], False
    else:
        for text in TEXTS:
            yield spec.name, [flag(spec), text], expected(owner, spec.name, text)


def test_none_is_a_value_not_a_missing_flag():
    gan = TrainCommand(get_model("gan")).parse_settings(["--judge", "none"])[1]
    assert gan.judge == "none"
    vae = TrainCommand(get_model("vae")).parse_settings(["--iwae-images", "none"])[1]
    assert vae.iwae_images is None
    assert TrainCommand(get_model("vae")).parse_settings([])[1].iwae_images == 500
    compare = COMMANDS["compare"].parse_settings(["a", "b", "-m", "all", "--bandwidth", "none"])
    assert compare.metrics == tuple(METRICS) and compare.estimators.bandwidth is None


def test_epochs_none_is_a_one_line_error(capsys):
    assert_user_error(["train", "mlp", "--epochs", "none"], capsys, "--epochs expects int, got 'none'")
    assert_user_error(["invert", "r", "--restarts", "0"], capsys, "--restarts must be >= 1, got 0")
    assert_user_error(["compare", "a", "b", "-m", ""], capsys, "--metrics is empty")
    with pytest.raises(GenlabError, match="--epochs expects int, got none"):
        get_model("mlp").make_config(epochs=None)
    with pytest.raises(GenlabError, match="'steps_count' is not a setting of InvertSettings"):
        api.invert("r", steps_count=3)


def test_judge_none_trains_without_a_judge(capsys, tmp_path):
    code, out, err = run_cli(
        [
            "train",
            "gan",
            "--data",
            "mnist-sample",
            "--limit",
            "200",
            "--epochs",
            "1",
            "--batch-size",
            "100",
            "--g-hidden",
            "32",
            "--d-hidden",
            "32",
            "--judge",
            "none",
            "--device",
            "cpu",
            "-q",
            "-o",
            str(tmp_path / "gan"),
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "gan" / "summary.json").read_text())
    assert summary["judge"] == "none (--judge none)"
    assert "judge_test_accuracy" not in summary


def test_api_takes_a_settings_object_or_its_values():
    from genlab.settings import Device, InvertSettings

    by_values = build(InvertSettings, run="r", images="0:2", device="cpu")
    assert by_values == InvertSettings(run=Path("r"), images="0:2", device=Device(device="cpu"))
    assert by_values == build(InvertSettings, run=Path("r"), images="0:2", device=Device(device="cpu"))
    with pytest.raises(GenlabError, match="--device must be one of auto, cpu, cuda; got 'gpu'"):
        build(InvertSettings, run="r", device="gpu")


def test_a_sweep_grid_may_be_a_dict_in_python():
    from_cli = COMMANDS["sweep"].parse_settings(
        ["mlp", "--grid", "lr=0.1,0.01", "--grid", "hidden=64,256-128", "--set", "epochs=2"]
    )
    assert from_cli == build(
        from_cli.__class__, model="mlp", grid={"lr": [0.1, 0.01], "hidden": [(64,), (256, 128)]}, fixed={"epochs": 2}
    )
