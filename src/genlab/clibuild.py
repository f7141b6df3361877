"""The one builder that turns a settings dataclass into click parameters, and flags back into settings.

Every CLI-visible field becomes one parameter: an option `--field-name VALUE`
(or the field's declared flags), a `--x/--no-x` switch for a bool, a positional
argument when declared `argument=True`, a repeatable option when a tuple of
strings has a metavar with '=' (KEY=VALUE), and nested groups (`Device`,
`DataSelection`, `MetricSettings`) contribute their fields flattened. Values
arrive as strings and are parsed by the field's type (`genlab.config.parse_value`):
click's None means "not given", and the literal text "none" is a value.
Settings files (`--config FILE`: JSON, YAML or a run's config.json) are read
and typed here too (`read_settings_file`, `file_values`), with the same checks.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any, Callable, NamedTuple

import click

from genlab.config import NOT_GIVEN, field_type, flag_name, item_type, parse_value
from genlab.errors import GenlabError


def is_group(spec: dataclasses.Field) -> bool:
    return spec.metadata.get("group", False)


def leaves(cls, cli_only: bool = True) -> list[tuple[type, dataclasses.Field]]:
    """(owning class, field) for every CLI-visible leaf field of `cls` (every leaf field with
    `cli_only=False`), groups flattened in order."""
    found = []
    for spec in dataclasses.fields(cls):
        if is_group(spec):
            found.extend(leaves(spec.default_factory, cli_only))
        elif spec.metadata.get("cli", True) or not cli_only:
            found.append((cls, spec))
    names = [spec.name for _, spec in found]
    duplicate = {name for name in names if names.count(name) > 1}
    assert not duplicate, f"{cls.__name__}: settings {duplicate} appear twice once groups are flattened"
    return found


def _default_of(spec: dataclasses.Field):
    return spec.default if spec.default is not dataclasses.MISSING else NOT_GIVEN


def _show(value) -> str:
    """A default as a user would type it."""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def repeatable(owner, spec) -> bool:
    """A tuple option whose items are KEY=VALUE strings (with their own commas) is given once per item."""
    return "=" in (spec.metadata.get("metavar") or "") and field_type(owner, spec.name) is tuple


def click_params(cls, defaults=None) -> list[click.Parameter]:
    """One click parameter per CLI-visible leaf field of settings class `cls`.

    `defaults` (an instance) supplies the defaults shown in --help, e.g. a model preset's.
    """
    params = []
    for owner, spec in leaves(cls):
        meta, name = spec.metadata, spec.name
        default = getattr(defaults, name, NOT_GIVEN) if defaults is not None else _default_of(spec)
        kind = field_type(owner, name)
        if meta.get("argument"):
            variadic = kind is tuple
            params.append(
                click.Argument(
                    [name],
                    nargs=-1 if variadic else 1,
                    required=default is NOT_GIVEN,
                    metavar=meta.get("metavar") or name.upper() + ("..." if variadic else ""),
                )
            )
            continue
        help_text = meta.get("help", "")
        if meta.get("choices"):
            help_text += f" ({'|'.join(meta['choices'])})"
        if default is NOT_GIVEN:
            help_text += "  [required]"
        elif "[default:" not in help_text:
            help_text += f"  [default: {_show(default)}]"
        flags = list(meta.get("flags") or (f"--{flag_name(name)}",))
        if kind is bool:
            long, *short = flags
            switch = f"{long}/--no-{long.lstrip('-')}"
            params.append(click.Option([switch, *short, name], default=None, help=help_text))
        else:
            params.append(
                click.Option(
                    [*flags, name],
                    type=str,
                    default=None,
                    help=help_text,
                    required=default is NOT_GIVEN,
                    multiple=repeatable(owner, spec),
                    metavar=meta.get("metavar") or "VALUE",
                )
            )
    return params


def given_values(cls, raw: dict[str, Any]) -> dict[str, Any]:
    """The typed values of the flags a user gave (click's None / empty tuple = not given), by leaf name."""
    owners = {spec.name: (owner, spec) for owner, spec in leaves(cls)}
    values = {}
    for name, text in raw.items():
        owner, spec = owners[name]
        if text is None or text == ():
            continue
        if isinstance(text, bool):
            values[name] = text
        elif repeatable(owner, spec):  # KEY=VALUE items, each with its own commas: kept as given
            values[name] = text
        elif isinstance(text, tuple):  # a variadic argument: one string per item
            values[name] = tuple(_parse_item(owner, name, item) for item in text)
        else:
            values[name] = parse_value(owner, name, text)
    return values


def _parse_item(owner, name: str, text: str):
    """One item of a variadic argument, parsed as the tuple's element type."""
    kind = item_type(owner, name)
    try:
        return kind(text)
    except ValueError:
        raise GenlabError(f"{name.upper()} expects {kind.__name__}, got '{text}'") from None


def build(cls, /, **values):
    """Settings of class `cls` from flat keyword values: a group's fields may be given by their own
    names (device="cpu") or the group as one object (device=Device(device="cpu")). NOT_GIVEN is skipped.
    """
    values = {k: v for k, v in values.items() if v is not NOT_GIVEN}
    kwargs = {}
    for spec in dataclasses.fields(cls):
        if spec.name in values and not (is_group(spec) and not dataclasses.is_dataclass(values[spec.name])):
            kwargs[spec.name] = values.pop(spec.name)
        elif is_group(spec):
            inner = {f.name for f in dataclasses.fields(spec.default_factory)}
            mine = {k: values.pop(k) for k in list(values) if k in inner}
            if mine:
                kwargs[spec.name] = build(spec.default_factory, **mine)
    if values:
        name = next(iter(values))
        raise GenlabError(
            f"'{name}' is not a setting of {cls.__name__}; settings are "
            f"{', '.join(spec.name for _, spec in leaves(cls))}"
        )
    # click (>= 8.2) reads an option's explicit default of None as a value, so it lets a required
    # option through unset; the one-line error comes from here, for the CLI and Python alike.
    for spec in dataclasses.fields(cls):
        if (
            spec.name not in kwargs
            and spec.default is dataclasses.MISSING
            and spec.default_factory is dataclasses.MISSING
        ):
            meta = spec.metadata
            flag = (
                spec.name.upper() if meta.get("argument") else (meta.get("flags") or (f"--{flag_name(spec.name)}",))[0]
            )
            raise GenlabError(f"{flag} is required ({spec.name}=... from Python): {meta.get('help', '')}")
    return cls(**kwargs)


class SettingsFile(NamedTuple):
    """The settings a file holds, by field name, and whether the file is a run's config.json."""

    values: dict[str, Any]
    run_record: bool


def read_settings_file(path) -> SettingsFile:
    """The mapping of settings in a JSON or YAML (.yaml, .yml) file.

    A run's config.json (the record `genlab train` writes) gives its "config" entry, without the
    data fingerprint (a fact about the data read, not a setting). Keys may be field names
    (batch_size) or flag names (batch-size). A missing or unreadable file, or one that is not a
    mapping, is a one-line GenlabError.
    """
    path = Path(path)
    if not path.is_file():
        raise GenlabError(
            f"settings file {path} not found; give a run's config.json or a JSON or YAML file of settings"
        )
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise GenlabError(
                f"reading {path} needs PyYAML: pip install 'genlab[yaml]', or give the settings as JSON"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            where = getattr(error, "problem_mark", None)
            line = f" (line {where.line + 1})" if where is not None else ""
            raise GenlabError(f"{path} is not valid YAML{line}; fix the file") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise GenlabError(f"{path} is not valid JSON (line {error.lineno}: {error.msg}); fix the file") from None
    if not isinstance(data, dict):
        raise GenlabError(f"{path} must hold a mapping of settings (name: value), not {type(data).__name__}")
    run_record = isinstance(data.get("config"), dict) and "genlab_version" in data
    if run_record:
        data = {k: v for k, v in data["config"].items() if k != "data_fingerprint"}
    return SettingsFile({str(key).replace("-", "_"): value for key, value in data.items()}, run_record)


def file_values(cls, values: dict[str, Any], source) -> dict[str, Any]:
    """`values` read from file `source`, typed as the fields of settings class `cls` (any leaf field,
    also those the command line does not show); an unknown name or a value of the wrong type is a
    one-line GenlabError naming the file. Strings are parsed as on the command line, so YAML's
    `lr: 1e-3` (a string to YAML) is the number it means."""
    owners = {spec.name: owner for owner, spec in leaves(cls, cli_only=False)}
    typed = {}
    for name, value in values.items():
        if name not in owners:
            raise GenlabError(f"{source}: '{name}' is not a setting of {cls.__name__}; remove it or correct its name")
        try:
            typed[name] = _file_value(owners[name], name, value)
        except GenlabError as error:
            raise GenlabError(f"{source}: {error}") from None
    return typed


def _file_value(owner, name: str, value):
    """One value from a settings file as the field's type (GenlabError naming the flag otherwise)."""
    kind = field_type(owner, name)
    if value is None or (isinstance(value, str) and kind not in (str, Path)):
        return value if value is None else parse_value(owner, name, value)
    if kind is tuple and isinstance(value, list):
        return tuple(_file_scalar(item_type(owner, name), name, item) for item in value)
    return _file_scalar(kind, name, value)


def _file_scalar(kind, name: str, value):
    if kind is Path and isinstance(value, str):
        return Path(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    shown = json.dumps(value) if not isinstance(value, str) else f"'{value}'"
    raise GenlabError(f"--{flag_name(name)} expects {getattr(kind, '__name__', kind)}, got {shown}")


def signature(cls) -> inspect.Signature:
    """A Python signature listing the settings (positional ones first), for help() and editors."""
    params = []
    for _, spec in leaves(cls):
        default = _default_of(spec)
        kind = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD if spec.metadata.get("argument") else inspect.Parameter.KEYWORD_ONLY
        )
        params.append(
            inspect.Parameter(spec.name, kind, default=inspect.Parameter.empty if default is NOT_GIVEN else default)
        )
    params.sort(key=lambda p: p.kind)
    return inspect.Signature(params)


def positional_values(cls, args: tuple) -> dict[str, Any]:
    """Positional API arguments mapped onto the settings' argument fields, in declaration order."""
    names = [spec.name for _, spec in leaves(cls) if spec.metadata.get("argument")]
    if len(args) > len(names):
        raise GenlabError(
            f"{cls.__name__} takes {len(names)} positional setting(s) ({', '.join(names)}), got {len(args)}"
        )
    return dict(zip(names, args))


class SettingsCommand(click.Command):
    """A click command generated from an API function's settings class; it calls
    `show(api(settings), settings)`. The settings class's docstring is the command's help."""

    def __init__(self, name: str, api: Callable, show: Callable[[Any, Any], None]):
        self.settings_cls, self.api, self.show = api.settings_cls, api, show
        doc = inspect.cleandoc(self.settings_cls.__doc__ or "")
        super().__init__(
            name, callback=self.run, params=click_params(self.settings_cls), help=doc, short_help=doc.split("\n\n")[0]
        )

    def run(self, **raw) -> None:
        settings = self.settings_from(raw)
        self.show(self.api(settings), settings)

    def settings_from(self, raw: dict[str, Any]):
        """The settings object for click's parsed parameters."""
        return build(self.settings_cls, **given_values(self.settings_cls, raw))

    def parse_settings(self, args: list[str]):
        """The settings object `genlab NAME ARGS` would run with (without running it)."""
        with self.make_context(self.name, list(args)) as ctx:
            return self.settings_from(ctx.params)
