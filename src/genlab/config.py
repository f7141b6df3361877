"""Run configurations: frozen dataclasses validated when built.

Every model family extends `TrainConfig` with its own fields. A field's
metadata carries its help text (and choices), from which the CLI builds its
flags, so a hyperparameter is declared once. A bad value fails in
`__post_init__` with a message that names the field and the allowed range.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from genlab.errors import GenlabError


class _NotGiven:
    """The type of NOT_GIVEN."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


#: "The user did not give this setting": distinct from None, which is a value ("--judge none",
#: "--iwae-images none" for the whole split).
NOT_GIVEN: Any = _NotGiven()


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    choices: tuple[str, ...] | None = None,
    cli: bool = True,
    flags: tuple[str, ...] = (),
    argument: bool = False,
    metavar: str | None = None,
    network: bool = False,
    arguments: bool = False,
):
    """A settings field with help text (and allowed values), from which the CLI builds its parameter.

    `default` left out makes the setting required. `flags` replaces the generated `--field-name`
    (e.g. ("--from",) or ("--out", "-o")); `argument` makes it positional (a tuple-typed one takes
    any number of values). `cli=False` keeps a field out of the command line. `network` lets the value
    also name a user's network ("module:Class", or the class itself from Python) besides the choices;
    `arguments` marks a JSON object of keyword arguments (a dict from Python) for such a network.
    """
    metadata = {
        "help": help,
        "choices": choices,
        "cli": cli,
        "flags": flags,
        "argument": argument,
        "metavar": metavar,
        "network": network,
        "arguments": arguments,
    }
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable (use a tuple)")
    return field(default=default, metadata=metadata)


def check_range(config, name: str, low=None, high=None, low_open=False, high_open=False) -> None:
    """Fail with a one-line message unless `low <= config.name <= high` (or open ends)."""
    value = getattr(config, name)
    if value is None:
        return
    ok = isinstance(value, (int, float)) and not math.isnan(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise GenlabError(f"--{flag_name(name)} must be in {span}, got {value}")


def check_choice(config, name: str) -> None:
    """Fail unless the field's value is one of its declared choices."""
    meta = config.__dataclass_fields__[name].metadata
    choices, value = meta.get("choices"), getattr(config, name)
    if meta.get("network") and ":" in value:
        return  # a user's network, checked when it is built
    if choices and value not in choices:
        raise GenlabError(f"--{flag_name(name)} must be one of {', '.join(choices)}; got '{value}'")


def flag_name(name: str) -> str:
    return name.replace("_", "-")


SEED_MAX = 2**32 - 1  # seeds are offset (seed + 7919, ...) for numpy and torch generators: keep them far from 2**64


def check_types(config) -> None:
    """Fail when a field that does not take None holds None, naming the flag and the expected type
    (the API's counterpart of the CLI's "--epochs expects int, got 'none'"), and a seed outside
    [0, SEED_MAX], which the random generators would refuse (negative) or overflow on."""
    for spec in dataclasses.fields(config):
        if getattr(config, spec.name) is None and not is_optional(type(config), spec.name):
            kind = field_type(type(config), spec.name)
            raise GenlabError(f"--{flag_name(spec.name)} expects {getattr(kind, '__name__', kind)}, got none")
    if "seed" in config.__dataclass_fields__:
        check_range(config, "seed", low=0, high=SEED_MAX)


def check_finite(config) -> None:
    """Fail when a number (or a number in a tuple) is inf or nan: no setting means anything at
    infinity, and a run trained with one ends in non-finite weights."""
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, float) and not math.isfinite(item):
                raise GenlabError(f"--{flag_name(spec.name)} must be a finite number, got {item}")


@dataclass(frozen=True)
class TrainConfig:
    """What every training run needs, whatever the model family."""

    # Options added after runs were saved without them, with the value that reproduces those runs
    # (the behaviour before the option existed); a new default applies to new runs only.
    before_added: ClassVar[dict[str, Any]] = {}

    model: str = option("", "model name (set by the command)", cli=False)
    data: str = option("mnist", "dataset name (see 'genlab data list') or a tabular file (.csv, .npy, .h5ad)")
    label_column: str | None = option(None, "CSV data: the column that holds the labels")
    labels: str | None = option(None, ".npy data: a .npy file with one label per row")
    label_key: str | None = option(None, ".h5ad data: the obs column that holds the labels")
    test_fraction: float = option(
        0.2, "tabular data: fraction of rows held out as the test split (seeded, stratified by label)"
    )
    limit: int | None = option(None, "use a stratified subset of N training examples")
    val_fraction: float = option(0.1, "fraction of the training split held out for validation (0 disables it)")
    epochs: int = option(5, "passes over the training split")
    batch_size: int = option(128, "examples per optimisation step")
    lr: float = option(1e-3, "learning rate")
    optimizer: str = option("adam", "optimiser", choices=("sgd", "momentum", "adam", "adamw", "adadelta"))
    weight_decay: float = option(0.0, "L2 weight decay")
    schedule: str = option(
        "constant",
        "learning-rate schedule: constant, or onecycle (linear warm-up over the "
        "first 20% of steps, then linear decay to zero)",
        choices=("constant", "onecycle"),
    )
    evals_per_epoch: int = option(1, "evaluations of the validation/test curves per epoch")
    eval_images: int | None = option(
        2000,
        "rows of each split the validation/test curves evaluate during training, the first N (none: the "
        "whole split); the final summary always evaluates whole splits",
    )
    seed: int = option(0, "seed for initialisation, shuffling and splits")
    device: str = option("auto", "where to train", choices=("auto", "cpu", "cuda"))
    precision: str = option("fp32", "arithmetic precision (bf16 autocast on CUDA only)", choices=("fp32", "bf16"))

    def __post_init__(self):
        self._network_references()
        check_types(self)
        check_finite(self)
        for name, spec in self.__dataclass_fields__.items():
            if spec.metadata.get("choices"):
                check_choice(self, name)
        check_range(self, "limit", low=10)
        check_range(self, "val_fraction", low=0, high=1, high_open=True)
        check_range(self, "epochs", low=1)
        check_range(self, "batch_size", low=1)
        check_range(self, "lr", low=0, low_open=True)
        check_range(self, "weight_decay", low=0)
        check_range(self, "evals_per_epoch", low=1)
        check_range(self, "eval_images", low=1)
        check_range(self, "test_fraction", low=0, high=1, low_open=True, high_open=True)
        self._absolute_data_paths()

    def _network_references(self) -> None:
        """A user's network class (and its dict of arguments) given from Python, stored as the
        importable "module:Class" (and JSON) that config.json keeps."""
        from genlab.models.user import arguments_json, reference

        for name, spec in self.__dataclass_fields__.items():
            value, flag = getattr(self, name), f"--{flag_name(name)}"
            if spec.metadata.get("network") and value is not None and not isinstance(value, str):
                object.__setattr__(self, name, reference(value, flag))
            elif spec.metadata.get("arguments"):
                object.__setattr__(self, name, arguments_json(value, flag))

    def _absolute_data_paths(self) -> None:
        """Store tabular file paths absolute, so a run folder can be reopened from any directory."""
        from genlab.data.tabular import check_label_options, is_tabular

        check_label_options(self.data, self.label_column, self.labels, self.label_key)
        if is_tabular(self.data):
            object.__setattr__(self, "data", str(Path(self.data).expanduser().absolute()))
        if self.labels:
            object.__setattr__(self, "labels", str(Path(self.labels).expanduser().absolute()))

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in dataclasses.asdict(self).items()}

    def non_defaults(self, defaults: TrainConfig) -> dict[str, Any]:
        """The fields whose values differ from `defaults` (for reports)."""
        mine, theirs = self.to_dict(), defaults.to_dict()
        return {k: v for k, v in mine.items() if theirs.get(k) != v}

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """The config saved as `values` (config.json); options it predates get `before_added`."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = dict(cls.before_added)
        for name, value in values.items():
            if name in known:
                kwargs[name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _hint(config_cls, name: str):
    return typing.get_type_hints(config_cls)[name]


def is_optional(config_cls, name: str) -> bool:
    """Whether the field's type admits None (`int | None`)."""
    return type(None) in typing.get_args(_hint(config_cls, name))


def field_type(config_cls, name: str):
    """The base Python type of a config field: int, float, str, bool, Path or tuple."""
    hint = _hint(config_cls, name)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    return tuple if origin is tuple else hint


def item_type(config_cls, name: str):
    """The type of one element of a tuple field (`tuple[int, ...]` -> int)."""
    hint = _hint(config_cls, name)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.get_args(hint)[0]


def _parse_scalar(kind, text: str):
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    return kind(text)


def parse_value(config_cls, name: str, text: str):
    """Parse a command-line string into the type of a config field.

    Tuples are comma-separated ("256,128"; "" is the empty tuple). "none" is None for a field that
    admits None, the string "none" for a string field, and an error otherwise.
    """
    kind = field_type(config_cls, name)
    try:
        if text.lower() == "none" and is_optional(config_cls, name):
            return None
        if kind is tuple:
            item = item_type(config_cls, name)
            return tuple(_parse_scalar(item, part.strip()) for part in text.split(",") if part.strip())
        return _parse_scalar(kind, text)
    except ValueError:
        what = (
            f"comma-separated {item_type(config_cls, name).__name__} values"
            if kind is tuple
            else getattr(kind, "__name__", kind)
        )
        raise GenlabError(f"--{flag_name(name)} expects {what}, got '{text}'") from None


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)
