"""`genlab tune`: a random or grid search on Ray Tune, poor trials stopped early by ASHA.

The trials' configurations are drawn here, from the search's own seed, before Tune starts (Tune
then walks through them by index), so the same command draws the same trials. Each trial trains a
run folder as a sweep point does on Ray (`genlab.raycluster`): its epochs' folders go to the driver's
output folder, and a trial whose worker died resumes from its last one. The engine logs the
validation metric at every evaluation; the trial reports the last one of each epoch to Tune when
the epoch's `epoch` event is logged (after its checkpoint), so ASHA's rungs are epochs. The best
configuration is chosen on that validation number (the last one each trial reported); the test
split is never used for selection.
"""

from __future__ import annotations

import datetime
import itertools
import math
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.config import parse_value
from genlab.errors import GenlabError
from genlab.models.registry import get_model
from genlab.sweep import markdown_table, parse_assignments, write_table
from genlab.train.runfolder import atomic_write_json, checkpoint_epoch

RANGES = ("log", "uniform")


@dataclass
class TuneResult:
    folder: Path
    rows: list[dict[str, Any]]  # one per trial, in trial order
    markdown: str
    best: dict[str, Any]  # the row of the best trial
    stopped_early: int


def parse_space(model: str, items: tuple[str, ...]) -> dict[str, tuple]:
    """'lr=log:1e-4:1e-2' -> ("log", 1e-4, 1e-2); 'hidden=64,128' -> ("values", [(64,), (128,)])."""
    spec = get_model(model)
    space: dict[str, tuple] = {}
    for item in items:
        key, _, text = item.partition("=")
        kind, _, rest = text.partition(":")
        if kind in RANGES:
            name = key.strip().replace("-", "_")
            low_text, sep, high_text = rest.partition(":")
            if not sep:
                raise GenlabError(f"cannot parse '{item}'; write KEY={kind}:LOW:HIGH")
            parse_assignments(model, (f"{name}={low_text}",), multiple=False)  # names a setting of the model
            low, high = (float(parse_value(spec.config_cls, name, t)) for t in (low_text, high_text))
            if not low < high or (kind == "log" and low <= 0):
                raise GenlabError(f"'{item}' needs 0 < LOW < HIGH for log, LOW < HIGH for uniform")
            space[name] = (kind, low, high)
        else:
            space.update({k: ("values", v) for k, v in parse_assignments(model, (item,), multiple=True).items()})
    if not space:
        raise GenlabError("a search needs at least one --space KEY=SPACE (e.g. lr=log:1e-4:1e-2)")
    return space


def draw_trials(space: dict[str, tuple], search: str, trials: int | None, seed: int) -> list[dict[str, Any]]:
    """The trials' settings: every combination (grid) or `trials` draws seeded by `seed` (random)."""
    if search == "grid":
        ranges = [key for key, dimension in space.items() if dimension[0] != "values"]
        if ranges:
            raise GenlabError(f"--search grid needs listed values; --space {ranges[0]}=... is a range")
        return [dict(zip(space, values)) for values in itertools.product(*(d[1] for d in space.values()))]
    generator = random.Random(seed)
    drawn = []
    for _ in range(trials or 8):
        point = {}
        for key, dimension in space.items():
            if dimension[0] == "values":
                point[key] = generator.choice(dimension[1])
            elif dimension[0] == "log":
                point[key] = float(f"{math.exp(generator.uniform(math.log(dimension[1]), math.log(dimension[2]))):.4g}")
            else:
                point[key] = float(f"{generator.uniform(dimension[1], dimension[2]):.4g}")
        drawn.append(point)
    return drawn


def evaluated_metrics(spec, config) -> list[str]:
    """The val_NAME numbers `config`'s family logs: what its `evaluate` gives on the validation split
    (asked of an untrained model, so a misspelt --metric fails before any trial)."""
    import torch

    from genlab.train.engine import load_family_data, resolve_device

    device = resolve_device("cpu")
    family = spec.family(config, load_family_data(spec, config, device), device)
    torch.manual_seed(config.seed)
    model = family.build().to(device).eval()
    with torch.no_grad():
        return [f"val_{name}" for name in family.evaluate(model, family.data.val) or {}]


# Validation numbers where lower is better: losses, errors and divergences (every other one, an
# accuracy or an ELBO, is better higher).
LOWER_IS_BETTER = ("loss", "error", "mse", "bce", "nll", "kl", "distance", "bits_per_dim")


def better_direction(metric: str) -> str:
    """'min' for a validation loss, error or divergence, else 'max': what --mode auto chooses."""
    name = metric.removeprefix("val_")
    return "min" if any(name == word or name.endswith("_" + word) for word in LOWER_IS_BETTER) else "max"


def run_tune(
    model: str,
    space_items: tuple[str, ...],
    fixed: dict[str, Any],
    trials: int | None = None,
    metric: str = "val_accuracy",
    mode: str = "auto",
    scheduler: str = "asha",
    search: str = "random",
    seed: int = 0,
    out=None,
    progress: bool = True,
    address: str | None = None,
    parallel: int | None = None,
    cpus_per_point: int = 1,
    retries: int = 3,
) -> TuneResult:
    """Train the trials of a search on Ray Tune into `out`/trial-NNN_... run folders; write results.csv,
    .md and .json (with the best trial) and return them."""
    from genlab.executors import INSTALL_RAY, Point
    from genlab.sweep import setting_name

    spec = get_model(model)
    if not metric.startswith("val_"):
        raise GenlabError(
            f"--metric {metric} is not a validation number; trials are compared on the validation split only "
            "(val_NAME, e.g. val_accuracy)"
        )
    points = draw_trials(parse_space(model, space_items), search, trials, seed)
    configs = [spec.make_config(**{**fixed, **point}) for point in points]
    if configs[0].val_fraction <= 0:
        raise GenlabError("tuning compares trials on the validation split; set --set val_fraction above 0")
    logged = evaluated_metrics(spec, configs[0])
    if metric not in logged:
        raise GenlabError(f"{model} does not log --metric {metric}; it logs {', '.join(logged) or 'nothing'}")
    if mode == "auto":
        mode = better_direction(metric)
    folder = Path(out) if out else Path("runs") / f"tune-{model}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    if folder.exists() and any(folder.iterdir()):
        raise GenlabError(f"{folder} already exists and is not empty; choose another --out")
    # Tune's newer console output prints its own tables whatever `verbose` says; the older one is
    # silent at verbose=0, and genlab prints a line per trial itself (trial_lines).
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    try:
        import ray  # noqa: F401
        from ray import tune
    except ImportError:
        raise GenlabError(f"genlab tune needs Ray Tune, which is not installed; {INSTALL_RAY}") from None
    from genlab import raycluster

    names = [f"trial-{i:03d}_{setting_name(p)}" for i, p in enumerate(points)]
    trial_points = [Point(spec, config, (folder / name).resolve()) for config, name in zip(configs, names)]
    started = raycluster.connect(address)
    try:
        courier = raycluster.start_courier()
        for point in trial_points:
            ray.get(courier.register.remote(str(point.run_path), True))
        trainable = tune.with_resources(
            make_trainable(trial_points, courier, metric, cpus_per_point),
            {"cpu": cpus_per_point, "gpu": 1 if configs[0].device == "cuda" else 0},
        )
        epochs = max(c.epochs for c in configs)
        asha = None
        if scheduler == "asha":
            from ray.tune.schedulers import ASHAScheduler

            asha = ASHAScheduler(time_attr="training_iteration", max_t=epochs, grace_period=1, reduction_factor=2)
        with tempfile.TemporaryDirectory(prefix="genlab-tune-") as storage:
            tuner = tune.Tuner(
                trainable,
                param_space={"trial": tune.grid_search(list(range(len(points))))},
                tune_config=tune.TuneConfig(
                    metric=metric, mode=mode, scheduler=asha, num_samples=1, max_concurrent_trials=parallel
                ),
                run_config=tune.RunConfig(
                    name="tune",
                    storage_path=storage,
                    verbose=0,
                    failure_config=tune.FailureConfig(max_failures=retries),
                    callbacks=[trial_lines(names, metric, progress)],
                ),
            )
            grid = tuner.fit()
            reported = {r.config["trial"]: r for r in grid}
    finally:
        if started:
            ray.shutdown()
    rows = []
    for index, (point, settings) in enumerate(zip(trial_points, points)):
        result = reported.get(index)
        value = (result.metrics or {}).get(metric) if result is not None else None
        done = checkpoint_epoch(point.run_path) if point.run_path.exists() else 0
        status = "failed" if result is None or result.error else "finished"
        if status == "finished" and done < point.config.epochs:
            status = "stopped early"
        row = {**{k: _cell(v) for k, v in settings.items()}, metric: value, "epochs": done, "status": status}
        row["run"] = names[index]
        rows.append(row)
    candidates = [row for row in rows if isinstance(row[metric], float)]
    if not candidates:
        raise GenlabError(f"no trial reported {metric}; see the trial run folders in {folder}")
    best = (max if mode == "max" else min)(candidates, key=lambda row: row[metric])
    # Drawn values are shown as drawn (1e-05, not the sweep table's 0.0000).
    markdown = markdown_table([{k: str(v) if k in points[0] else v for k, v in row.items()} for row in rows])
    write_table(folder, rows, markdown)
    atomic_write_json(
        folder / "results.json",
        {
            "metric": metric,
            "mode": mode,
            "scheduler": scheduler,
            "search": search,
            "seed": seed,
            "best": best,
            "trials": rows,
        },
    )
    stopped = sum(row["status"] == "stopped early" for row in rows)
    return TuneResult(folder, rows, markdown, best, stopped)


def _cell(value):
    return "-".join(map(str, value)) if isinstance(value, tuple) else value


def make_trainable(points: list, courier, metric: str, threads: int):
    """Tune's function for trial `config["trial"]`: train that point, reporting `metric` per epoch."""

    def trainable(config):
        import ray
        import torch
        from ray import tune

        from genlab.raycluster import pack, unpack
        from genlab.train.logs import watching
        from genlab.train.reuse import ensure_run

        point = points[config["trial"]]
        key = str(point.run_path)
        torch.set_num_threads(threads)
        name = metric.removeprefix("val_")
        latest = ray.get(courier.latest.remote(key))  # a retry after a lost worker resumes from it

        def make(run):
            last: dict[str, Any] = {}

            def listener(event):
                if event.get("event") == "eval" and event.get("split") == "val" and name in event:
                    last[metric] = event[name]
                elif event.get("event") == "epoch":
                    ray.get(courier.deliver.remote(key, pack(run.path), False))
                    tune.report({metric: last.get(metric), "epoch": event["epoch"]})

            return listener

        with tempfile.TemporaryDirectory(prefix="genlab-trial-") as scratch:
            run_path = Path(scratch) / point.label
            if latest:
                unpack(latest, run_path)
            with watching(make):
                ensure_run(point.spec, point.config, run_path, progress=False)
            ray.get(courier.deliver.remote(key, pack(run_path), True))

    return trainable


def trial_lines(names: list[str], metric: str, progress: bool):
    """A Tune callback: one line per ended trial with its last validation number, and the counts
    (defined here, not at module level, because Ray is imported only when a search runs)."""
    from ray.tune import Callback

    class Lines(Callback):
        def __init__(self):
            self.done = self.failed = 0

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.done += 1
            self.say(trials, trial, "")

        def on_trial_error(self, iteration, trials, trial, **info):
            self.failed += 1
            self.say(trials, trial, " failed")

        def say(self, trials, trial, what):
            if not progress:
                return
            from genlab.train.engine import say

            result = trial.last_result or {}
            value, epochs = result.get(metric), result.get("epoch", 0)
            running = sum(t.status == "RUNNING" and t is not trial for t in trials)
            shown = f"{metric} {value:.4f}" if isinstance(value, float) else f"no {metric}"
            say(
                f"[{self.done} done, {running} running, {self.failed} failed of {len(names)}] "
                f"{names[trial.config['trial']]}{what}: {shown} after {epochs} epoch(s)"
            )

    return Lines()
