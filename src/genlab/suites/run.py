"""Run a suite: each step into OUT/<suite>/<step>/, finished work reused, then suite.json and one report.

A training run is reused when its folder holds a finished run of the same
config and continued when it holds an interrupted one; a reused run whose
settings point at another step's run (a judge) that has been retrained since
is re-evaluated from its weights (its summary and figures redrawn, as
`genlab evaluate` does), not retrained; an inspection is reused
when its record (inspection.json) was written from the same inputs (the
settings, summaries and choices of the runs it reads) and its figures are
there. So a suite stopped half-way and started again with the same OUT picks
up where it stopped, and a finished one only rewrites its report.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from genlab.errors import GenlabError
from genlab.models.registry import get_model
from genlab.suites.steps import (
    BestOf,
    ByMode,
    FolderOf,
    Inspect,
    InspectContext,
    Inspection,
    Outcome,
    RunOutcome,
    Sweep,
    Train,
    best_run,
    resolve,
)
from genlab.train.runfolder import SUMMARY, atomic_write_json
from genlab.userfiles import read_json

SUITE_FILE = "suite.json"
INSPECTION_FILE = "inspection.json"
RERUN = "delete the folder of that step and run the suite again"  # the fix for a damaged file of a suite
MODE_TEXT = {
    "quick": "quick settings (--quick): fewer epochs and a subset of the training data, to check the whole "
    "pipeline in minutes; its numbers are below what the full settings reach",
    "full": "full settings: the epochs and data that give good results",
}


@dataclass(frozen=True)
class Suite:
    """A named topic run end to end. `build(datasets)` returns its steps for those datasets."""

    name: str
    title: str
    description: str  # what it runs, in a sentence or two
    data: tuple[str, ...]  # default datasets; `--data NAME` replaces them
    build: Callable[[tuple[str, ...]], list]
    # (name, what they are) of its settings when they are not the usual quick / full ones (the demo's)
    settings_note: tuple[str, str] | None = None

    def steps(self, data: tuple[str, ...] | None = None) -> list:
        steps = self.build(tuple(data or self.data))
        names = [step.name for step in steps]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise GenlabError(f"suite {self.name} has two steps named '{duplicate}'")
        return steps


@dataclass
class StepClock:
    """Numbers the steps of one invocation (every suite in it) and estimates the time left: the mean
    time of the steps that did work (reused ones take no time) times the steps still to come."""

    total: int
    done: int = 0
    worked: int = 0
    worked_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def begin(self) -> str:
        """'[3/12]', then where the whole invocation stands once a step has done work."""
        from genlab.train.engine import duration

        position = f"[{self.done + 1}/{self.total}]"
        if not self.worked:
            return position
        left = self.worked_seconds / self.worked * (self.total - self.done)
        return f"{position} {duration(time.perf_counter() - self.started)} elapsed, about {duration(left)} left;"

    def end(self, seconds: float, action: str) -> None:
        self.done += 1
        if not action.endswith("reused") or "," in action:  # "run reused", "2 runs: 2 reused": no work done
            self.worked += 1
            self.worked_seconds += seconds


@dataclass
class SuiteResult:
    folder: Path
    html: Path
    pdf: Path
    outcomes: dict[str, dict[str, Outcome]]  # suite name -> step name -> outcome
    seconds: float


def run_suites(
    suites: list[Suite],
    out: Path,
    quick: bool = False,
    data: tuple[str, ...] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    title: str | None = None,
    executor=None,
) -> SuiteResult:
    """Run `suites` into `out/<suite>/` and write one report about them into `out/report.html` and `.pdf`;
    `executor` (genlab.executors, entered by the caller) trains the runs, by default here one by one."""
    from genlab.report import write_report

    mode = "quick" if quick else "full"
    out = Path(out)
    for suite in suites:  # every setting is checked before any training
        validate(suite, mode, data)
    started = time.perf_counter()
    outcomes = {}
    clock = StepClock(sum(len(suite.steps(data)) for suite in suites))
    for suite in suites:
        outcomes[suite.name] = run_suite(suite, out / suite.name, mode, data, progress, log, clock, executor)
    seconds = time.perf_counter() - started
    names = ", ".join(s.name for s in suites)
    log(f"suite {names}: steps done in {seconds:.0f} s; writing the report")
    report = write_report([out / s.name for s in suites], out, title=title or f"genlab suite {names} ({mode} settings)")
    return SuiteResult(out, report.html, report.pdf, outcomes, seconds)


def run_suite(
    suite: Suite,
    folder: Path,
    mode: str,
    data: tuple[str, ...] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    clock: StepClock | None = None,
    executor=None,
) -> dict[str, Outcome]:
    """Run (or reuse) every step of `suite` into `folder`; write `folder/suite.json`. Each step is logged
    as it starts ('[3/12] ... about 2 min left; demo ae: ...', numbered by `clock` across the invocation)
    and as it ends (what was done, its seconds, and any floor its result falls short of)."""
    steps = suite.steps(data)
    clock = clock or StepClock(len(steps))
    outcomes: dict[str, Outcome] = {}
    for step in steps:
        log(f"{clock.begin()} {suite.name} {step.name}: {step.what}")
        started = time.perf_counter()
        if isinstance(step, Train):
            outcome = _train(step, folder / step.name, mode, outcomes, progress, executor)
        elif isinstance(step, Sweep):
            outcome = _sweep(step, folder / step.name, mode, outcomes, progress, executor)
        else:
            outcome = _inspect(step, folder, mode, outcomes, progress)
        outcomes[step.name] = outcome
        seconds = time.perf_counter() - started
        clock.end(seconds, outcome.action)
        log(f"    {outcome.action} ({seconds:.1f} s)")
        for warning in floor_warnings(outcome):
            log(f"    warning, below the floor: {warning}")
    atomic_write_json(folder / SUITE_FILE, suite_record(suite, mode, tuple(data or suite.data), outcomes))
    return outcomes


def validate(suite: Suite, mode: str, data: tuple[str, ...] | None = None) -> None:
    """Build every training config of `suite` (a choice made by an earlier sweep stands in as that
    sweep's first point), so a bad setting fails with its one-line error before any work."""
    firsts: dict[str, dict] = {}
    for step in suite.steps(data):
        if isinstance(step, Inspect):
            missing = [name for name in step.uses if name not in firsts]
            if missing:
                raise GenlabError(
                    f"suite {suite.name}: inspection {step.name} uses step '{missing[0]}', which does not run before it"
                )
            _placeholders(step.settings, mode, firsts)
            firsts[step.name] = {}
            continue
        settings = _placeholders(step.settings, mode, firsts)
        points = _placeholders(step.points, mode, firsts) if isinstance(step, Sweep) else [{}]
        if not points:
            raise GenlabError(f"suite {suite.name}: step {step.name} has no settings to run in {mode} mode")
        spec = get_model(step.model)
        for point in points:
            spec.make_config(**given({**settings, **point}))
        firsts[step.name] = points[0]


def given(settings: dict[str, Any]) -> dict[str, Any]:
    """A step's model settings less those it leaves to the model: suites write None for "the
    model's default" (ByMode(quick=3, full=None)), whereas to a config None is a value."""
    return {k: v for k, v in settings.items() if v is not None}


def _placeholders(value: Any, mode: str, firsts: dict[str, dict]) -> Any:
    if isinstance(value, ByMode):
        return _placeholders(getattr(value, mode), mode, firsts)
    if isinstance(value, BestOf):
        missing = [s for s in value.steps if value.key not in firsts.get(s, {})]
        if missing:
            raise GenlabError(
                f"a suite setting refers to the choice of '{value.key}' by step '{missing[0]}', "
                f"which is not an earlier sweep over {value.key}; list it earlier"
            )
        return firsts[value.steps[0]][value.key]
    if isinstance(value, FolderOf):
        if value.step not in firsts:
            raise GenlabError(
                f"a suite setting refers to the folder of step '{value.step}', which does not run "
                "before it; list it earlier"
            )
        return f"<folder of step {value.step}>"
    if isinstance(value, dict):
        return {k: _placeholders(v, mode, firsts) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, mode, firsts) for v in value]
    return value


def _train(
    step: Train, folder: Path, mode: str, outcomes: dict[str, Outcome], progress: bool, executor=None
) -> Outcome:
    from genlab.executors import LocalExecutor, Point

    settings = resolve(step.settings, mode, outcomes)
    spec = get_model(step.model)
    point = Point(spec, spec.make_config(**given(settings)), folder)
    [(summary, action)] = (executor or LocalExecutor()).ensure_runs([point], replace_other=True, progress=progress)
    if action == "reused" and _stale(folder, step.settings, outcomes):
        summary, action = _reevaluate(folder), "re-evaluated"
    run = RunOutcome(folder, step.model, {}, settings, summary, action)
    return Outcome(step, folder, settings, runs=[run], action=f"run {action}")


def _sweep(
    step: Sweep, folder: Path, mode: str, outcomes: dict[str, Outcome], progress: bool, executor=None
) -> Outcome:
    from genlab.sweep import run_points

    settings = given(resolve(step.settings, mode, outcomes))
    points = resolve(step.points, mode, outcomes)
    result = run_points(
        step.model, points, settings, out=folder, replace_other=True, progress=progress, executor=executor
    )
    actions = list(result.actions)
    stale = [
        i
        for i, (row, action) in enumerate(zip(result.rows, actions))
        if action == "reused" and _stale(folder / row["run"], step.settings, outcomes)
    ]
    if stale:
        for index in stale:
            _reevaluate(folder / result.rows[index]["run"])
            actions[index] = "re-evaluated"
        # Every point is finished now: this only rewrites the sweep's table from the fresh summaries.
        result = run_points(step.model, points, settings, out=folder, replace_other=True, progress=progress)
    runs = []
    for point, row, action in zip(points, result.rows, actions):
        summary = read_json(folder / row["run"] / SUMMARY, RERUN)
        runs.append(RunOutcome(folder / row["run"], step.model, point, {**settings, **point}, summary, action))
    outcome = Outcome(step, folder, settings, runs=runs)
    counts = {a: actions.count(a) for a in ("reused", "re-evaluated", "resumed", "trained") if a in actions}
    outcome.action = f"{len(runs)} runs: " + ", ".join(f"{n} {a}" for a, n in counts.items())
    if step.select:
        outcome.best = best_run((step.name,), {**outcomes, step.name: outcome})
    return outcome


def _folder_references(value: Any) -> list[str]:
    """The steps named by FolderOf anywhere in a step's (unresolved) settings."""
    if isinstance(value, FolderOf):
        return [value.step]
    if isinstance(value, ByMode):
        return _folder_references(value.quick) + _folder_references(value.full)
    if isinstance(value, dict):
        return [name for v in value.values() for name in _folder_references(v)]
    if isinstance(value, list):
        return [name for v in value for name in _folder_references(v)]
    return []


def _stale(run_path: Path, settings: dict, outcomes: dict[str, Outcome]) -> bool:
    """Whether a reused run's summary predates a run its settings point to (a judge retrained since):
    its config is unchanged, the path in it is the same, but what that path holds is newer."""
    summary = run_path / SUMMARY
    for name in _folder_references(settings):
        referenced = outcomes[name].folder / SUMMARY
        if referenced.is_file() and referenced.stat().st_mtime > summary.stat().st_mtime:
            return True
    return False


def _reevaluate(run_path: Path) -> dict[str, Any]:
    """Recompute a finished run's summary and figures from its weights (genlab evaluate)."""
    from genlab.train.engine import evaluate_run

    return evaluate_run(run_path)


def _inspect(step: Inspect, suite_folder: Path, mode: str, outcomes: dict[str, Outcome], progress: bool) -> Outcome:
    folder = suite_folder / step.name
    settings = resolve(step.settings, mode, outcomes)
    signature = _signature(step, suite_folder, mode, settings, outcomes)
    record_path = folder / INSPECTION_FILE
    outcome = Outcome(step, folder, settings)
    if record_path.is_file():
        record = read_json(record_path, RERUN)
        previous = Inspection.from_dict(record)
        if record.get("signature") == signature and all((folder / f).is_file() for f, _ in previous.figures):
            outcome.inspection, outcome.action = previous, "reused"
            return outcome
        for name, _ in previous.figures:  # figures of the old inputs must not linger beside the new ones
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    inspection = step.function(InspectContext(folder, mode, settings, outcomes, progress))
    atomic_write_json(record_path, {"signature": signature, **inspection.to_dict()})
    outcome.inspection, outcome.action = inspection, "written"
    return outcome


def _signature(step: Inspect, suite_folder: Path, mode: str, settings: dict, outcomes: dict[str, Outcome]) -> str:
    """A hash of everything an inspection reads: its settings and the runs (settings, summaries) of its inputs."""
    inputs = []
    for name in step.uses:
        if name not in outcomes:
            raise GenlabError(f"inspection {step.name} uses step '{name}', which does not run before it")
        inputs += [[str(r.path.relative_to(suite_folder)), r.settings, r.summary] for r in outcomes[name].runs]
    text = json.dumps(
        {"step": step.name, "mode": mode, "settings": settings, "inputs": inputs}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def suite_record(suite: Suite, mode: str, data: tuple[str, ...], outcomes: dict[str, Outcome]) -> dict[str, Any]:
    """What the report says about a suite: its steps and settings, one results row per run, choices, inspections."""
    steps, notes, inspections = [], [], []
    warnings = {name: floor_warnings(outcome) for name, outcome in outcomes.items()}
    for outcome in outcomes.values():
        step = outcome.step
        entry = {
            "name": step.name,
            "kind": type(step).__name__.lower(),
            "what": step.what,
            "settings": outcome.settings,
            "floors": [floor.describe() for floor in step.floors],
            "warnings": warnings[step.name],
        }
        if isinstance(step, (Train, Sweep)):
            entry["model"] = step.model
        if isinstance(step, Sweep):
            entry["points"] = [run.point for run in outcome.runs]
            entry["select"] = step.select
        steps.append(entry)
        if outcome.best is not None:
            chosen = ", ".join(f"{k}={_show(v)}" for k, v in outcome.best.point.items())
            notes.append(
                f"{step.name}: the best setting by {step.select} is {chosen} "
                f"({step.select} {outcome.best.summary[step.select]:.4f})."
            )
        if outcome.inspection is not None:
            # An inspection of runs below their floors inherits their warnings: its tables read those runs.
            inherited = [text for name in step.uses for text in warnings[name]]
            inspections.append(
                {
                    "step": step.name,
                    "what": step.what,
                    **outcome.inspection.to_dict(),
                    "figures": [{"file": f"{step.name}/{f}", "caption": c} for f, c in outcome.inspection.figures],
                    "warnings": warnings[step.name] + inherited,
                }
            )
    label, text = suite.settings_note or (mode, MODE_TEXT[mode])
    return {
        "suite": suite.name,
        "title": suite.title,
        "description": suite.description,
        "mode": label,
        "mode_text": text,
        "data": list(data),
        "steps": steps,
        "results": results_table(outcomes),
        "notes": notes,
        "inspections": inspections,
        "warnings": [{"step": name, "text": text} for name, texts in warnings.items() for text in texts],
    }


def floor_warnings(outcome: Outcome) -> list[str]:
    """One warning per result of `outcome` that falls short of a floor of its step (none when all reach it)."""
    step, found = outcome.step, []
    for floor in step.floors:
        if outcome.inspection is not None:
            found.append(floor.missed(outcome.inspection.values.get(floor.entry), f"step {step.name}"))
        for run in outcome.runs:
            setting = ", ".join(f"{k}={_show(v)}" for k, v in run.point.items())
            where = f"step {step.name}" + (f" ({setting})" if setting else "")
            found.append(floor.missed(run.summary.get(floor.entry), where))
    return [text for text in found if text]


def results_table(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    """One row per training run: step, the setting it varied (its folder is step/setting), model, the
    family's headline numbers, training time, and whether its comparison selected it."""
    runs = [(o, r) for o in outcomes.values() for r in o.runs]
    headline: list[str] = []
    for _, run in runs:
        headline += [k for k in get_model(run.model).family.headline if k not in headline]
    columns = ["step", "setting", "model", *headline, "seconds", "selected"]
    rows = []
    for outcome, run in runs:
        setting = ", ".join(f"{k}={_show(v)}" for k, v in run.point.items()) or "-"
        selected = "yes" if outcome.best is run else ""
        rows.append(
            [
                outcome.step.name,
                setting,
                run.model,
                *[run.summary.get(k) for k in headline],
                run.summary.get("seconds"),
                selected,
            ]
        )
    return {"columns": columns, "rows": rows}


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
