"""Find run folders and sweep folders under the paths a user gives, and read what a report needs.

A run folder is any folder with config.json; a sweep folder is any folder
with results.csv and results.md (what `genlab sweep` writes). Nothing here
knows a model family: the family of a run is looked up in the registry from
the model name in its config, and a run whose model this genlab does not know
(or that did not finish) is still reported, with what can be read.
"""

from __future__ import annotations

import csv
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.report.captions import FigureFile, Series, describe, figure_files, natural_key, thin_series
from genlab.train.runfolder import CONFIG, MEANINGS, SUMMARY, read_figure_index
from genlab.userfiles import read_json, reading

SWEEP_FILES = ("results.csv", "results.md")
SUITE_FILE = "suite.json"  # what genlab.suites.run writes: a suite's steps, settings, results and inspections
IGNORED_SETTINGS = ("model", "data_fingerprint")  # the model is in every heading; the fingerprint is a hash
NO_DEFAULT = "(none: not a setting of this model)"


@dataclass(frozen=True)
class Setting:
    """One config value of a run that differs from its model's default."""

    name: str
    value: Any
    default: Any  # NO_DEFAULT when the model (or this version of it) has no such setting
    meaning: str


@dataclass
class Run:
    """A run folder as the report sees it."""

    path: Path
    label: str  # path relative to the common folder of everything reported
    record: dict[str, Any]  # config.json: config, versions, device, created
    model: str
    data: str
    description: str  # the model's one-line description ('' when unknown)
    family: str  # the family's module, e.g. "genlab.models.classifiers"
    family_title: str  # e.g. "Classifiers"
    family_rank: int  # order of the family in the registry (unknown last)
    headline: tuple[str, ...]  # the family's most telling summary entries
    settings: list[Setting]
    summary: dict[str, Any] | None  # None: the run did not finish
    meanings: dict[str, dict[str, str]] | None  # meanings.json; None: a run written before it existed
    figures: list[FigureFile]
    series: list[Series] = field(default_factory=list)


@dataclass
class Sweep:
    """A sweep folder: one row per setting of a grid, and its figure."""

    path: Path
    label: str
    model: str | None
    varied: list[str]  # the settings the sweep varied (the columns before 'seed')
    columns: list[str]
    rows: list[dict[str, str]]
    figures: list[FigureFile]


@dataclass
class SuiteFolder:
    """A suite's folder: its suite.json (steps, settings, results table, choices, inspections)."""

    path: Path
    label: str
    record: dict[str, Any]


def discover(inputs: list[Path]) -> tuple[list[Path], list[Path]]:
    """(run folders, sweep folders) named by or found under `inputs`, each once, in input order."""
    if not inputs:
        raise GenlabError("give at least one run folder or a directory that contains run folders")
    runs: dict[Path, Path] = {}
    sweeps: dict[Path, Path] = {}
    for given in map(Path, inputs):
        if not given.exists():
            raise GenlabError(f"{given} does not exist; give run folders or directories that contain them")
        if not given.is_dir():
            raise GenlabError(f"{given} is a file; give a run folder (with {CONFIG}) or a directory of runs")
        if (given / CONFIG).is_file():
            runs.setdefault(given.resolve(), given)
            continue
        found_runs, found_sweeps = [], []
        step_order: dict[Path, dict[str, int]] = {}  # suite folder -> its steps' positions
        for folder, names, files in _walk(given):
            if SUITE_FILE in files:
                record = _read_json(folder / SUITE_FILE)
                steps = (record.get("steps") if isinstance(record, dict) else None) or []
                step_order[folder] = {str(step.get("name")): i for i, step in enumerate(steps)}
            if CONFIG in files:
                found_runs.append(folder)
                names.clear()  # a run folder holds no other runs
            if all(name in files for name in SWEEP_FILES):
                found_sweeps.append(folder)
        for folder in sorted(found_runs, key=lambda p: _order_key(p, given, step_order)):
            runs.setdefault(folder.resolve(), folder)
        for folder in sorted(found_sweeps, key=lambda p: _order_key(p, given, step_order)):
            sweeps.setdefault(folder.resolve(), folder)
    if not runs and not sweeps:
        raise GenlabError(
            f"no run folders ({CONFIG}) or sweep folders (results.csv) under "
            f"{', '.join(map(str, inputs))}; give the folders that 'genlab train' or "
            "'genlab sweep' wrote"
        )
    return list(runs.values()), list(sweeps.values())


def _order_key(folder: Path, root: Path, step_order: dict[Path, dict[str, int]]) -> list:
    """Sort key of a found folder: natural order of its path below `root`, except that the steps of a
    suite (a folder with suite.json) keep the order in which the suite ran them."""
    key, parent = [], root
    for part in folder.relative_to(root).parts:
        order = step_order.get(parent, {})
        key.append((0, order[part], []) if part in order else (1, 0, natural_key(part)))
        parent = parent / part
    return key


def _walk(root: Path):
    """os.walk without hidden folders, yielding (folder, subfolder names, file names)."""
    for folder, names, files in os.walk(root):
        names[:] = [n for n in names if not n.startswith(".")]
        yield Path(folder), names, set(files)


def labels_for(paths: list[Path]) -> dict[Path, str]:
    """Each path relative to the folder that contains them all ('logreg', 'sweep/hidden=16')."""
    if not paths:
        return {}
    absolute = [p.resolve() for p in paths]
    root = Path(os.path.commonpath(absolute))
    if root in absolute:
        root = root.parent
    return {p: str(a.relative_to(root)) for p, a in zip(paths, absolute)}


def load_run(path: Path, label: str) -> Run:
    """Read a run folder: its config, non-default settings, summary and figures."""
    from genlab.models.registry import FAMILY_MODULES, get_model

    record = _read_json(path / CONFIG)
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise GenlabError(
            f"{path / CONFIG} is not a genlab run config (no 'config' object); "
            "leave that folder out of the report's inputs"
        )
    config = dict(record["config"])
    model, data = str(config.get("model", "?")), str(config.get("data", "?"))
    try:
        spec = get_model(model)
    except GenlabError:
        spec = None  # a run of a model this genlab does not know: report its settings as saved
    summary = _read_json(path / SUMMARY) if (path / SUMMARY).is_file() else None
    meanings = _read_json(path / MEANINGS) if (path / MEANINGS).is_file() else None
    figures, series = thin_series(figure_files(path))
    if spec is None:
        family, title, rank, headline, description = "", "Other runs", len(FAMILY_MODULES), (), ""
        settings = [Setting(k, v, NO_DEFAULT, "") for k, v in sorted(config.items()) if k not in IGNORED_SETTINGS]
    else:
        family = spec.family.__module__
        title = _family_title(family)
        rank = FAMILY_MODULES.index(family) if family in FAMILY_MODULES else len(FAMILY_MODULES)
        headline, description = tuple(spec.family.headline), spec.description
        settings = non_default_settings(spec, config)
    return Run(
        path,
        label,
        record,
        model,
        data,
        description,
        family,
        title,
        rank,
        headline,
        settings,
        summary,
        meanings,
        figures,
        series,
    )


def non_default_settings(spec, config: dict[str, Any]) -> list[Setting]:
    """The saved settings that differ from the model's defaults, with each setting's help text."""
    defaults = spec.default_config().to_dict()
    fields = spec.config_cls.__dataclass_fields__
    settings = []
    for name, value in config.items():
        if name in IGNORED_SETTINGS or defaults.get(name, object()) == value:
            continue
        meaning = fields[name].metadata.get("help", "") if name in fields else "not a setting of this version"
        settings.append(Setting(name, value, defaults.get(name, NO_DEFAULT), meaning))
    order = list(fields)
    return sorted(settings, key=lambda s: order.index(s.name) if s.name in order else len(order))


def _read_json(path: Path):
    return read_json(path, "leave its folder out of the report's inputs or recreate it", kind=object)


def _family_title(module_name: str) -> str:
    """'Classifiers' from the family module's docstring ('Classifiers: ...'), else its name."""
    first_line = ((importlib.import_module(module_name).__doc__ or "").strip().splitlines() or [""])[0]
    head = first_line.split(":", 1)[0].strip() if ":" in first_line else ""
    if head and len(head) <= 40:
        return head
    return module_name.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def load_sweep(path: Path, label: str) -> Sweep:
    """Read a sweep folder's results.csv, the model it swept (from a run's config) and its figure."""
    with reading(path / "results.csv", "run the sweep again"), open(path / "results.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    varied = columns[: columns.index("seed")] if "seed" in columns else []
    model = None
    for row in rows:
        config = path / row.get("run", "") / CONFIG
        if row.get("run") and config.is_file():
            model = (_read_json(config).get("config") or {}).get("model")
            break
    figures = []
    if (path / "results.png").is_file():
        # The caption the sweep recorded (index.json beside results.png), or for an older sweep the table's.
        description, rank = read_figure_index(path).get("results.png", {}).get("caption"), 0
        if description is None:
            description, rank = describe("results")
        figures.append(FigureFile(path / "results.png", "results", description, rank))
    return Sweep(path, label, model, varied, columns, rows, figures)


def collect(inputs: list[Path]) -> tuple[list[Run], list[Sweep]]:
    """Every run and sweep under `inputs`: runs grouped by family (in registry order), and within a
    family in the order found (inputs as given, each directory's folders in natural order)."""
    run_paths, sweep_paths = discover(inputs)
    labels = labels_for(run_paths + sweep_paths)
    runs = sorted((load_run(p, labels[p]) for p in run_paths), key=lambda r: r.family_rank)
    return runs, [load_sweep(p, labels[p]) for p in sweep_paths]


def collect_suites(inputs: list[Path]) -> list[SuiteFolder]:
    """Every suite folder (one with suite.json) named by or found under `inputs`, each once, in input order."""
    found: dict[Path, Path] = {}
    for given in map(Path, inputs):
        if not given.is_dir():
            continue
        for folder, names, files in _walk(given):
            if SUITE_FILE in files:
                found.setdefault(folder.resolve(), folder)
            if CONFIG in files:
                names.clear()  # a run folder holds no suites
    labels = labels_for(list(found.values()))
    suites = []
    for path in found.values():
        record = _read_json(path / SUITE_FILE)
        if not isinstance(record, dict) or "steps" not in record:
            raise GenlabError(
                f"{path / SUITE_FILE} is not a genlab suite record (no 'steps'); "
                "leave that folder out of the report's inputs or run the suite again"
            )
        suites.append(SuiteFolder(path, labels[path], record))
    return suites
