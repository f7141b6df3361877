"""What a suite is made of: a declarative list of steps, and values that depend on the mode or on earlier steps.

A step is one of
  Train    one training run                      -> OUT/<suite>/<step>/ is its run folder
  Sweep    one run per setting, plus a table      -> OUT/<suite>/<step>/<setting>/ and results.*
  Inspect  a function that reads earlier runs and writes figures, tables and notes
                                                  -> OUT/<suite>/<step>/*.png and inspection.json
Any setting (or a sweep's list of points) may be written `ByMode(quick=..., full=...)`,
`BestOf(step, key)`: the value of `key` in the setting a sweep chose by its selection entry
(a validation number, never a test one), so a later step can build on an earlier choice, or
`FolderOf(step)`: the absolute path of an earlier step's folder (a run used as a judge, say).

A step may declare `floors`: the least its result must reach (a summary entry of each of its runs, or a
value its inspection reports) before the report draws conclusions from it. A result below its floor is
reported with a warning at that result, never silently presented as a finding.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from genlab.errors import GenlabError

MODES = ("quick", "full")


@dataclass(frozen=True)
class ByMode:
    """A value that differs between `--quick` and the full settings."""

    quick: Any
    full: Any


@dataclass(frozen=True)
class BestOf:
    """The value of setting `key` in the best point of the sweep(s) `steps`, by their selection entry.

    Several sweeps of the same model with the same selection entry (linear and sigmoid first, then
    four other activations) are compared as one: the best of all their points wins, the first on a tie.
    """

    steps: tuple[str, ...]
    key: str

    def __init__(self, steps: str | tuple[str, ...], key: str):
        object.__setattr__(self, "steps", (steps,) if isinstance(steps, str) else tuple(steps))
        object.__setattr__(self, "key", key)


@dataclass(frozen=True)
class FolderOf:
    """The absolute path (a string) of the folder of earlier step `step`, e.g. a classifier run as a judge."""

    step: str


@dataclass(frozen=True)
class Floor:
    """The least a result must reach to be read as a finding: `entry` >= `at_least` or <= `at_most`.

    `entry` names a summary entry of each run of a Train or Sweep step, or a value in an inspection's
    `values`; `meaning` says in words what the number measures, for the warning."""

    entry: str
    meaning: str
    at_least: float | None = None
    at_most: float | None = None

    def __post_init__(self):
        if (self.at_least is None) == (self.at_most is None):
            raise GenlabError(f"the floor on {self.entry} needs exactly one of at_least and at_most")

    def describe(self) -> str:
        """'latent_knn_accuracy >= 0.6'."""
        return (
            f"{self.entry} {'>=' if self.at_most is None else '<='} "
            f"{self.at_least if self.at_most is None else self.at_most:g}"
        )

    def missed(self, value: Any, where: str) -> str | None:
        """The warning when `value` (the result of `where`) falls short of the floor, else None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return (
                f"{where}: {self.meaning} ({self.entry}) was not measured, so the floor "
                f"{self.describe()} could not be checked; read its results with care."
            )
        if value >= self.at_least if self.at_most is None else value <= self.at_most:
            return None
        return (
            f"{where}: {self.meaning} ({self.entry}) is {value:.4g}, short of the floor {self.describe()} "
            "under which the model has not learned enough; its results show an unfinished model, not a finding."
        )


@dataclass(frozen=True)
class Train:
    """One training run of `model` with `settings` (its model's defaults for the rest)."""

    name: str
    model: str
    what: str  # one sentence: what this run is for
    settings: dict[str, Any] = field(default_factory=dict)
    floors: tuple[Floor, ...] = ()


@dataclass(frozen=True)
class Sweep:
    """One run of `model` per point; `select` names the summary entry (higher is better) by which
    the best point is chosen for later steps. Selection must use validation numbers: choosing by
    test accuracy would make the reported test accuracy an optimistic, selected number."""

    name: str
    model: str
    what: str
    points: Any  # list of dicts with the same keys (or ByMode of two lists)
    settings: dict[str, Any] = field(default_factory=dict)
    select: str | None = None
    floors: tuple[Floor, ...] = ()

    def __post_init__(self):
        if self.select and not self.select.startswith("val_"):
            raise GenlabError(
                f"suite step {self.name} selects by '{self.select}'; select by a validation "
                "entry (val_...), never a test one"
            )


@dataclass
class Inspection:
    """What an inspection step wrote: figures (file, what it shows), tables, notes, and the numbers it
    measured (`values`: JSON, kept in suite.json for scripts and checked against the step's floors)."""

    figures: list[tuple[str, str]] = field(default_factory=list)  # (file name in the step folder, caption)
    tables: list[dict[str, Any]] = field(default_factory=list)  # {"caption", "columns", "rows"}
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "figures": [{"file": f, "caption": c} for f, c in self.figures],
            "tables": self.tables,
            "notes": self.notes,
            "values": self.values,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inspection:
        return cls(
            [(f["file"], f["caption"]) for f in data.get("figures", [])],
            list(data.get("tables", [])),
            list(data.get("notes", [])),
            dict(data.get("values", {})),
        )


@dataclass(frozen=True)
class Inspect:
    """A function of the finished runs of the steps in `uses`, writing into its own folder."""

    name: str
    what: str
    function: Callable[[InspectContext], Inspection]
    uses: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # its own parameters (ByMode allowed)
    floors: tuple[Floor, ...] = ()  # on entries of its Inspection.values


Step = Train | Sweep | Inspect


@dataclass
class RunOutcome:
    """One finished training run of a suite."""

    path: Path
    model: str
    point: dict[str, Any]  # the setting that varied within its sweep ({} for a Train step)
    settings: dict[str, Any]  # every setting the suite gave it
    summary: dict[str, Any]
    action: str  # reused, resumed or trained


@dataclass
class Outcome:
    """What one step produced."""

    step: Step
    folder: Path
    settings: dict[str, Any]  # the step's settings as resolved (mode and earlier choices applied)
    runs: list[RunOutcome] = field(default_factory=list)
    best: RunOutcome | None = None
    inspection: Inspection | None = None
    action: str = ""


@dataclass
class InspectContext:
    """What an inspection function gets: its folder, the mode, its settings and the earlier outcomes."""

    folder: Path
    mode: str
    settings: dict[str, Any]
    outcomes: dict[str, Outcome]
    progress: bool = True

    def runs(self, step: str) -> list[RunOutcome]:
        return self.outcomes[step].runs

    def adopt(self, path: Path) -> str:
        """Move a file that a command wrote elsewhere (e.g. into a run folder) into the step folder;
        returns its name there. Inspections keep their output in their own folder, so a run folder
        stays as its training left it (a figure leaves its caption behind in the run folder's index: the
        inspection gives the figure its own caption)."""
        import os

        from genlab.train.runfolder import forget_caption

        self.folder.mkdir(parents=True, exist_ok=True)
        os.replace(path, self.folder / Path(path).name)
        forget_caption(Path(path))
        return Path(path).name

    def save_figure(self, figure, name: str, caption: str) -> tuple[str, str]:
        """Save a matplotlib figure as `name` in the step folder (atomically) and close it; returns
        (name, caption), the entry of `Inspection.figures` that shows it in the report."""
        import os

        from genlab.plots.common import plt

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{Path(name).stem}.tmp.png"
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, self.folder / name)
        plt.close(figure)
        return name, caption


def grid(**values: list) -> list[dict[str, Any]]:
    """The points of a full grid: grid(a=[1, 2], b=[3]) -> [{a: 1, b: 3}, {a: 2, b: 3}]."""
    keys = list(values)
    return [dict(zip(keys, combo)) for combo in itertools.product(*values.values())]


def resolve(value: Any, mode: str, outcomes: dict[str, Outcome]) -> Any:
    """`value` with every ByMode and BestOf inside it replaced by what it stands for."""
    if isinstance(value, ByMode):
        return resolve(getattr(value, mode), mode, outcomes)
    if isinstance(value, BestOf):
        return best_run(value.steps, outcomes).point[value.key]
    if isinstance(value, FolderOf):
        if value.step not in outcomes:
            raise GenlabError(
                f"a suite setting refers to the folder of step '{value.step}', which has not run; list it earlier"
            )
        return str(outcomes[value.step].folder.resolve())
    if isinstance(value, dict):
        return {k: resolve(v, mode, outcomes) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, mode, outcomes) for v in value]
    return value


def best_run(steps: tuple[str, ...], outcomes: dict[str, Outcome]) -> RunOutcome:
    """The run with the highest selection entry among the runs of sweeps `steps` (first on a tie)."""
    candidates: list[tuple[float, RunOutcome]] = []
    for name in steps:
        outcome = outcomes.get(name)
        if outcome is None or not isinstance(outcome.step, Sweep) or not outcome.step.select:
            raise GenlabError(
                f"a suite setting refers to the choice of step '{name}', which is not an earlier "
                "sweep with select=...; list it earlier"
            )
        entry = outcome.step.select
        for run in outcome.runs:
            value = run.summary.get(entry)
            if value is None:
                raise GenlabError(
                    f"run {run.path} has no '{entry}' in its summary to select by; "
                    "give the sweep a validation split (val_fraction > 0)"
                )
            candidates.append((value, run))
    best = max(value for value, _ in candidates)
    return next(run for value, run in candidates if value == best)
