"""Inspection helpers shared by suites: pick test examples, interpolate, compare runs, tabulate summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genlab.suites.steps import InspectContext, Inspection, RunOutcome


def test_examples(data: str, label: int, count: int) -> list[int]:
    """Indices of the first `count` test examples of class `label` in dataset `data`."""
    from genlab.data.datasets import load_dataset

    labels = load_dataset(data, val_fraction=0.0, device="cpu").test.y.numpy()
    return [int(i) for i in (labels == label).nonzero()[0][:count]]


def interpolations(context: InspectContext, run: RunOutcome, steps: int = 10) -> Inspection:
    """Straight-line interpolations through `run`'s latent space between two test images of one class
    (the first two 7s) and between two classes (the first 1 and the first 0), decoded and drawn on the
    test embedding. `genlab interpolate` writes into the run folder; the figures move to the step folder."""
    from genlab.latent.interpolate import interpolate_run

    data = run.settings["data"]
    within = test_examples(data, 7, 2)
    pairs = [("within class 7", str(within[0]), str(within[1])), ("between classes 1 and 0", "class:1", "class:0")]
    inspection = Inspection()
    model = run.path.name
    for what, start, end in pairs:
        result = interpolate_run(run.path, start, end, steps=steps)
        strip, embedding = (context.adopt(path) for path in result.figures)
        inspection.figures.append((strip, f"{model}: images decoded along the straight line between the latent "
                                          f"codes of test images {result.start} and {result.end} ({what}); the "
                                          "outer images are the originals"))
        inspection.figures.append((embedding, f"{model}: the same path ({what}) drawn over the test embedding"))
    return inspection


def compare(context: InspectContext, runs: list[RunOutcome], name: str, title: str) -> tuple[str, str]:
    """`genlab compare-runs` of `runs` into the subfolder `name`; returns (figure file, caption)."""
    from genlab.latent.compare import compare_runs

    result = compare_runs([run.path for run in runs], out=context.folder / name)
    return str(Path(result.figure).relative_to(context.folder)), title


def summary_table(runs: list[tuple[str, RunOutcome]], entries: list[str], caption: str) -> dict[str, Any]:
    """A table of summary entries, one row per (label, run); entries a run lacks are left empty."""
    return {"caption": caption, "columns": ["run", *entries],
            "rows": [[label, *[run.summary.get(entry) for entry in entries]] for label, run in runs]}
