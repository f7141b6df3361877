"""Hyperparameter sweeps: one run folder per grid point, a results table and a figure."""

from __future__ import annotations

import csv
import datetime
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.config import parse_value
from genlab.errors import GenlabError
from genlab.models.registry import get_model
from genlab.train.runfolder import RunFolder, atomic_write_bytes, record_caption


@dataclass
class SweepResult:
    folder: Path
    rows: list[dict[str, Any]]
    markdown: str
    actions: list[str]  # per row: "reused", "resumed" or "trained" (genlab.train.reuse.ensure_run)


def parse_assignments(model: str, items: tuple[str, ...], multiple: bool) -> dict[str, list | Any]:
    """Parse 'key=v1,v2' (grid) or 'key=value' (fixed) into typed config values.

    In a grid, values are comma-separated; a tuple-valued field (hidden widths)
    writes its layers with '-' ("hidden=64,256-128" is two settings).
    """
    spec = get_model(model)
    fields = spec.config_cls.__dataclass_fields__
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not text:
            raise GenlabError(f"cannot parse '{item}'; write KEY=VALUE{',VALUE...' if multiple else ''}")
        if key not in fields or key == "model":
            raise GenlabError(f"'{key}' is not a setting of {model}; see 'genlab train {model} --help'")
        texts = text.split(",") if multiple else [text]
        values = [
            parse_value(spec.config_cls, key, t.replace("-", ",") if isinstance(fields[key].default, tuple) else t)
            for t in texts
        ]
        parsed[key] = values if multiple else values[0]
    return parsed


def setting_name(setting: dict[str, Any]) -> str:
    def show(value):
        return "-".join(map(str, value)) if isinstance(value, tuple) else str(value)

    return "_".join(f"{key}={show(value)}" for key, value in setting.items()) or "default"


def run_sweep(
    model: str,
    grid: dict[str, list],
    fixed: dict[str, Any],
    out=None,
    overwrite: bool = False,
    progress: bool = True,
    executor=None,
) -> SweepResult:
    """Train every point of `grid` (with `fixed` settings) and tabulate the headline metrics.

    A point whose run folder already holds a finished run with the same config is
    reused, and an interrupted one is continued, so a stopped sweep goes on where it stopped.
    `executor` (genlab.executors, entered by the caller) trains the points; default: here, one by one.
    """
    if not grid:
        raise GenlabError("a sweep needs at least one --grid KEY=V1,V2")
    keys = list(grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*grid.values())]
    return run_points(model, points, fixed, out=out, overwrite=overwrite, progress=progress, executor=executor)


def run_points(
    model: str,
    points: list[dict[str, Any]],
    fixed: dict[str, Any],
    out=None,
    overwrite: bool = False,
    progress: bool = True,
    replace_other: bool = False,
    executor=None,
) -> SweepResult:
    """Train `model` once per setting in `points` (dicts with the same keys, each on top of `fixed`).

    For comparisons that are not a full grid (sgd at 0.1 and adam at 0.001, not adam at 0.1). Writes
    the same folder as `run_sweep`: one run folder per point, results.csv/.md/.json and results.png.
    A run folder of another config is replaced only with `replace_other` (or `overwrite`).
    """
    from genlab.executors import LocalExecutor, Point

    spec = get_model(model)
    if not points:
        raise GenlabError(f"a sweep of {model} needs at least one setting")
    keys = list(points[0])
    if any(list(point) != keys for point in points):
        raise GenlabError(f"every setting of a sweep of {model} must name the same keys ({', '.join(keys)})")
    folder = Path(out) if out else Path("runs") / f"sweep-{model}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    # Validate every point before training any, so a bad value fails before any work.
    configs = [spec.make_config(**{**fixed, **point}) for point in points]
    paths = [folder / setting_name(point) for point in points]
    done = (executor or LocalExecutor()).ensure_runs(
        [Point(spec, config, path) for config, path in zip(configs, paths)],
        retrain=overwrite,
        replace_other=replace_other,
        progress=progress,
    )
    rows, actions = [], []
    for point, config, run_path, (summary, action) in zip(points, configs, paths, done):
        row = {**{k: _cell(v) for k, v in point.items()}, "seed": config.seed}
        row.update({name: summary.get(name) for name in spec.family.headline if name in summary})
        row["seconds"] = summary.get("seconds")
        row["run"] = run_path.name
        rows.append(row)
        actions.append(action)
    markdown = markdown_table(rows)
    _write_outputs(folder, model, keys, rows, markdown, spec.family.headline)
    return SweepResult(folder, rows, markdown, actions)


def _cell(value):
    return "-".join(map(str, value)) if isinstance(value, tuple) else value


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(rows[0])

    def fmt(value):
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_table(folder: Path, rows: list[dict], markdown: str) -> None:
    """`folder`/results.csv (one row per point) and results.md (`markdown`, the same table for reading)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_bytes(folder / "results.md", (markdown + "\n").encode())


def _write_outputs(
    folder: Path, model: str, keys: list[str], rows: list[dict], markdown: str, headline: tuple[str, ...]
) -> None:
    from genlab.plots.common import plt

    write_table(folder, rows, markdown)
    atomic_write_bytes(folder / "results.json", json.dumps(rows, indent=2).encode())
    metric = next((name for name in reversed(headline) if rows[0].get(name) is not None), "seconds")
    # The run that computed the number says what it is, in which unit, and which way is better.
    meaning = RunFolder(folder / rows[0]["run"]).read_meanings().get(metric, {})
    unit, better = meaning.get("unit", ""), meaning.get("better", "")
    labels = [", ".join(f"{k}={row[k]}" for k in keys) for row in rows]
    values = [row.get(metric) or 0.0 for row in rows]
    figure, axis = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.5))
    bars = axis.barh(range(len(rows)), values, color="tab:blue")
    axis.bar_label(bars, labels=[f"{v:.4g}" for v in values], padding=3, fontsize=8)
    axis.set_yticks(range(len(rows)), labels)
    axis.invert_yaxis()
    axis.set_xlabel(
        metric.replace("_", " ") + (f" ({unit})" if unit else "") + (f"; {better} is better" if better else "")
    )
    axis.set_ylabel("setting")
    axis.set_title(f"Sweep of {model}: {metric.replace('_', ' ')} per setting")
    figure.savefig(folder / "results.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    record_caption(
        folder / "results.png",
        f"{meaning.get('meaning') or metric.replace('_', ' ')} ({metric}"
        + (f", {unit}" if unit else "")
        + (f"; {better} is better" if better else "")
        + ") of each setting of the sweep",
    )
