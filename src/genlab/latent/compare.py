"""`genlab compare-runs`: several run folders in one figure and one table.

Works for runs of any family, by what each has: the loss curves of whatever
was logged (a family's loss keys, e.g. one autoencoder loss or a GAN's two
players), the test embeddings of runs whose family can `encode`, sample grids
of runs whose family can `sample`, bar charts of class-histogram summary
entries (`*_histogram`: one count per class), and a table of every scalar
summary entry.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genlab.errors import GenlabError
from genlab.train.runfolder import RunFolder, atomic_write_bytes, atomic_write_json

_NOT_CURVES = {"event", "epoch", "step", "split", "seconds"}


@dataclass
class CompareResult:
    """Where the comparison went: the figure, the markdown table, the JSON of summaries; and the table text."""

    figure: Path
    table: Path
    summaries: Path
    markdown: str

    def __repr__(self) -> str:
        return f"CompareResult(figure '{self.figure}', table '{self.table}')"

    def _repr_html_(self) -> str:
        """Jupyter's view: the summaries side by side and the comparison figure."""
        from genlab import display

        lines = [line.strip("|").split("|") for line in self.markdown.strip().splitlines()]
        header, rows = lines[0], lines[2:]  # lines[1] is the markdown rule
        return (
            "<div>"
            + display.table([c.strip() for c in header], [[c.strip() for c in row] for row in rows])
            + display.image(
                self.figure, "loss curves, embeddings and samples of the runs side by side", 2 * display.FIGURE_WIDTH
            )
            + "</div>"
        )


def loss_keys(events: list[dict]) -> list[str]:
    """The logged training values to plot: 'loss' when a family logs one, else every key
    naming a loss (e.g. a GAN's two players), else the first logged value."""
    keys: list[str] = []
    for event in events:
        if event.get("event") == "train":
            keys += [
                k for k, v in event.items() if k not in _NOT_CURVES and isinstance(v, (int, float)) and k not in keys
            ]
    if "loss" in keys:
        return ["loss"]
    named = sorted(k for k in keys if "loss" in k)
    return named or sorted(keys)[:1]


def histogram_entries(summary: dict[str, Any]) -> dict[str, list[float]]:
    """Summary entries that are class histograms: keys ending in '_histogram' holding a list of counts."""
    return {
        key: list(value)
        for key, value in summary.items()
        if key.endswith("_histogram")
        and isinstance(value, list)
        and value
        and all(isinstance(v, (int, float)) for v in value)
    }


def scalar_entries(summary: dict[str, Any]) -> dict[str, float | int | str]:
    """Summary entries fit for a table cell: numbers and short strings."""
    return {
        key: value
        for key, value in summary.items()
        if isinstance(value, (int, float, str)) and not isinstance(value, bool) and len(str(value)) <= 60
    }


def markdown_table(labels: list[str], summaries: list[dict[str, Any]]) -> str:
    """One row per summary entry, one column per run; '-' where a run lacks the entry."""
    rows: list[str] = []
    for summary in summaries:
        rows += [k for k in scalar_entries(summary) if k not in rows]
    lines = ["| entry | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for key in rows:
        cells = []
        for summary in summaries:
            value = scalar_entries(summary).get(key, "-")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_labels(runs: list[RunFolder]) -> list[str]:
    """Folder names, or parent/name where two runs share a name."""
    names = [run.path.name for run in runs]
    return [
        f"{run.path.parent.name}/{run.path.name}" if names.count(run.path.name) > 1 else run.path.name for run in runs
    ]


def compare_runs(
    paths: list, out=None, device: str = "auto", embedding_points: int = 2000, sample_count: int = 64, seed: int = 0
) -> CompareResult:
    """Compare finished runs (see the module docstring); writes compare.png, compare.md and
    compare.json into `out` (default runs/compare-TIMESTAMP)."""
    from genlab.latent.embed import encode_split
    from genlab.models.registry import get_model
    from genlab.plots.common import save_figure_file
    from genlab.plots.compare import compare_figure
    from genlab.train.engine import load_run

    if len(paths) < 1:
        raise GenlabError("compare-runs needs at least one run folder")
    runs = [RunFolder.open(path) for path in paths]
    labels = run_labels(runs)
    summaries = [run.read_summary() for run in runs]
    curves, embeddings, samples, histograms = [], [], [], []
    for run, label, summary in zip(runs, labels, summaries):
        events = run.read_metrics()
        series = {}
        for key in loss_keys(events):
            steps = [e["step"] for e in events if e.get("event") == "train" and key in e]
            series[f"{key} (training)"] = (steps, [e[key] for e in events if e.get("event") == "train" and key in e])
            val = [e for e in events if e.get("event") == "eval" and e.get("split") == "val" and key in e]
            if val:
                series[f"{key} (validation)"] = ([e["step"] for e in val], [e[key] for e in val])
        curves.append((label, series))
        family_cls = get_model(run.model_name).family
        encodes = callable(getattr(family_cls, "encode", None))
        samples_ = callable(getattr(family_cls, "sample", None))
        embedding = sample = None
        if encodes or samples_:
            loaded = load_run(run.path, device)
            data = loaded.family.data
            with torch.no_grad():
                if encodes:
                    z = encode_split(loaded.family, loaded.model, data.test, limit=embedding_points)
                    embedding = (z, data.test.y[: len(z)].cpu().numpy(), data.classes)
                if samples_:
                    # The same seed for every run, so their grids differ by model only.
                    devices = [loaded.family.device] if loaded.family.device.type == "cuda" else []
                    with torch.random.fork_rng(devices=devices):
                        torch.manual_seed(seed)
                        sample = loaded.family.sample(loaded.model, sample_count).float().cpu().numpy()
        embeddings.append(embedding)
        samples.append(sample)
        histogram = histogram_entries(summary)
        classes = _classes_of(run) if histogram else None
        histograms.append((histogram, classes) if histogram else None)

    figure = compare_figure(labels, curves, embeddings, samples, histograms, f"Comparison of {len(runs)} run(s)")
    folder = (
        Path(out) if out is not None else Path("runs") / f"compare-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    )
    figure_path = save_figure_file(figure, folder / "compare.png")
    markdown = markdown_table(labels, summaries)
    atomic_write_bytes(folder / "compare.md", markdown.encode())
    atomic_write_json(
        folder / "compare.json",
        {label: {"path": str(run.path), "summary": summary} for label, run, summary in zip(labels, runs, summaries)},
    )
    return CompareResult(figure_path, folder / "compare.md", folder / "compare.json", markdown)


def _classes_of(run: RunFolder) -> tuple[str, ...] | None:
    """Class names of a run's dataset without loading it (registered datasets only)."""
    from genlab.data import registry

    name = run.read_config()["config"].get("data", "")
    try:
        return tuple(registry.get_info(name).classes)
    except GenlabError:
        return None
