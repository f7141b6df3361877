"""`genlab experiment divergences`: the divergence experiments of the course in one command.

1. n points of the uniform distribution on [0, 1]^3 against n of N(0, v I) for each
   variance v: every metric, its run time, and the exact KL and Frechet distance.
2. n test images of a dataset against n other (disjoint) test images: the real-vs-real
   floor of every metric, in pixels, in PCA-50 and in the judge's features.
3. The same n real images against n samples of a GAN run and of a VAE run, when given.
Writes OUT/divergences.json (every number), OUT/figures/*.png and OUT/divergences.md
(the report section: tables and figures).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from genlab.metrics.compare import METRICS, Comparison, MetricSettings, compare
from genlab.metrics.result import format_value
from genlab.metrics.sets import load_set

PCA_SPACE = "pca:50"


def _row_key(row) -> str:
    return f"{row.metric} {row.direction}" if row.direction in ("A||B", "B||A") else row.metric


def _judge_available(judge: str) -> str | None:
    """None when the judge loads, else the reason (the judge space is then skipped)."""
    from genlab.judge import judge_path, recipe_problem

    stored = not Path(judge).is_dir()
    path = judge_path(judge) if stored else Path(judge)
    if not (path / "weights.safetensors").exists():
        return (
            f"no judge for {judge} in {path}, so the judge-space rows are missing; train one with "
            f"'genlab judge train --data {judge}' and run again"
        )
    problem = recipe_problem(path, judge if stored else None)
    return f"the judge-space rows are missing: {problem}, and run again" if problem else None


class _Log:
    def __init__(self, progress: bool):
        self.progress = progress
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.progress:
            print(f"[{time.perf_counter() - self.started:7.1f} s] {message}", file=sys.stderr, flush=True)


def run_divergences(
    out,
    variances=(1, 2, 4, 8, 16),
    n: int = 1000,
    data: str = "mnist",
    gan: str | None = None,
    vae: str | None = None,
    settings: MetricSettings | None = None,
    device: str = "auto",
    judge: str = "mnist",
    progress: bool = True,
) -> Path:
    """Run the three experiments and write the JSON, figures and markdown under `out`;
    returns the markdown path."""
    from genlab.train.runfolder import atomic_write_bytes, atomic_write_json

    settings = settings or MetricSettings()
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    log = _Log(progress)
    metrics = tuple(METRICS)
    notes: list[str] = []

    # 1. uniform vs normal over variances
    synthetic: dict[float, Comparison] = {}
    for variance in variances:
        a = load_set("uniform:3", n=n, seed=settings.seed, name="A")
        b = load_set(f"normal:3:var={variance:g}", n=n, seed=settings.seed + 1, name="B")
        synthetic[variance] = compare(a, b, metrics, None, settings, device)
        log(f"uniform:3 vs normal:3:var={variance:g} done")

    # 2. real vs real, 3. real vs generated
    spaces = ["pixels", PCA_SPACE]
    missing_judge = _judge_available(judge)
    if missing_judge:
        notes.append(missing_judge)
    else:
        spaces.append("judge")
    real_a = load_set(f"{data}:test[0:{n}]", name="A")
    others = {"real vs real": load_set(f"{data}:test[{n}:{2 * n}]", name="B")}
    for label, spec in (("real vs GAN", gan), ("real vs VAE", vae)):
        if spec:
            others[label] = load_set(spec, n=n, seed=settings.seed + 1, device=device, name="B")
        else:
            notes.append(f"{label} skipped: pass --{label.split()[-1].lower()} RUN (a run folder or samples file)")
    real: dict[str, dict[str, Comparison]] = {space: {} for space in spaces}
    for label, other in others.items():
        for space in spaces:
            real[space][label] = compare(real_a, other, metrics, space, settings, device, judge)
            log(f"{label} in {space} done")

    record = {
        "n": n,
        "data": data,
        "variances": list(variances),
        "settings": settings.to_dict(),
        "notes": notes,
        "uniform_vs_normal": {f"{v:g}": c.to_dict() for v, c in synthetic.items()},
        "real": {
            space: {label: c.to_dict() for label, c in comparisons.items()} for space, comparisons in real.items()
        },
    }
    atomic_write_json(out / "divergences.json", record)
    figures = _write_figures(out, synthetic, real, n, data)
    markdown = _markdown(synthetic, real, notes, figures, n, data, settings)
    atomic_write_bytes(out / "divergences.md", markdown.encode())
    log(f"written {out / 'divergences.md'}")
    return out / "divergences.md"


def _series_label(row) -> str:
    """The row's name within its panel: 'knn A||B', 'exact B||A', 'unbiased', 'recall', ..."""
    name = row.metric
    for prefix in ("kl_", "mmd2_", "fd_"):
        name = name.replace(prefix, "")
    return name + (f" {row.direction}" if row.direction in ("A||B", "B||A") else "")


def _synthetic_panels(synthetic: dict[float, Comparison]) -> dict[str, dict[str, tuple[list, list]]]:
    """metric family panel -> series label -> (variances, values)."""
    from genlab.plots.divergences import metric_family

    variances = list(synthetic)
    panels: dict[str, dict[str, tuple[list, list]]] = {}
    for row in next(iter(synthetic.values())).rows:
        values = [c.get(row.metric, row.direction).value for c in synthetic.values()]
        panels.setdefault(metric_family(row.metric), {})[_series_label(row)] = (variances, values)
    return panels


def _write_figures(out: Path, synthetic, real, n: int, data: str) -> dict[str, str]:
    from genlab.plots.common import plt
    from genlab.plots.divergences import (
        metric_against_parameter_figure,
        metric_family,
        metric_per_comparison_figure,
        run_time_figure,
    )

    from genlab.train.runfolder import record_caption

    figures = {}

    def save(figure, name: str, caption: str) -> None:
        """Save and close `figure`, its caption in figures/index.json (which a report reads)."""
        path = out / "figures" / name
        figure.savefig(path, dpi=100)
        plt.close(figure)
        record_caption(path, caption)
        figures[name] = f"figures/{name}"

    save(
        metric_against_parameter_figure(
            _synthetic_panels(synthetic),
            f"{n} points of uniform [0,1]^3 (A) vs {n} of N(0, v I) in 3-D (B)",
            "variance v of the normal set (log scale)",
        ),
        "uniform_vs_normal.png",
        f"every metric between {n} points of the uniform distribution on [0, 1]^3 and {n} of a normal N(0, v I) "
        "in 3-D, against the variance v (exact KL and FD drawn where known)",
    )
    save(
        run_time_figure(
            _seconds({"3-D": list(synthetic.values())}),
            f"Run time per metric, uniform vs normal, n = {n} (over {len(synthetic)} variances)",
        ),
        "uniform_vs_normal_seconds.png",
        "the run time of each metric on the uniform-against-normal sets",
    )
    for space, comparisons in real.items():
        panels: dict[str, dict[str, dict[str, float]]] = {}
        for label, comparison in comparisons.items():
            for row in comparison.rows:
                panels.setdefault(metric_family(row.metric), {}).setdefault(_series_label(row), {})[label] = row.value
        save(
            metric_per_comparison_figure(panels, f"{data}: {n} test images (A) against B (feature space: {space})"),
            f"{data}_{space.replace(':', '')}.png",
            f"each metric for {data} test images against other test images, GAN and VAE samples ({space} features)",
        )
    save(
        run_time_figure(
            _seconds({space: list(c.values()) for space, c in real.items()}),
            f"Run time per metric, {data} sets of {n}, by feature space",
        ),
        f"{data}_seconds.png",
        "the run time of each metric on the image sets, by feature space",
    )
    return figures


def _seconds(groups: dict[str, list[Comparison]]) -> dict[str, dict[str, list[float]]]:
    """group -> metric -> seconds over the comparisons (rows timed together count once)."""
    out: dict[str, dict[str, list[float]]] = {}
    for group, comparisons in groups.items():
        for comparison in comparisons:
            timed = {}
            for row in comparison.rows:
                if row.seconds is not None:
                    timed.setdefault(_timing_name(row.metric), row.seconds)
            for metric, seconds in timed.items():
                out.setdefault(group, {}).setdefault(metric, []).append(seconds)
    return out


def _timing_name(metric: str) -> str:
    """Rows computed in one call share a time: name the call."""
    if metric in ("precision", "recall", "density", "coverage"):
        return "prdc"
    return "mmd" if metric.startswith("mmd2_") else metric


def _cell(value: float) -> str:
    return "inf" if isinstance(value, float) and math.isinf(value) else format_value(value)


def _md(text: str) -> str:
    """A table cell's text with its pipes escaped (directions are written A||B)."""
    return text.replace("|", "\\|")


def _markdown(synthetic, real, notes, figures, n, data, settings: MetricSettings) -> str:
    lines = [
        "## Distances between sample sets",
        "",
        f"Every metric between sets of n = {n}; KL in nats; seconds exclude a warm-up call. "
        f"Settings: kNN k = {settings.k}, MMD permutations = {settings.permutations}, sliced W1 "
        f"{settings.projections} projections, Sinkhorn eps = {settings.sinkhorn_epsilon} x std of A-B "
        f"distances, seed {settings.seed}. See docs/metrics.md for what each estimator estimates.",
        "",
    ]
    lines += ["### Uniform [0, 1]^3 (A) against N(0, v I) in 3-D (B)", ""]
    variances = list(synthetic)
    first = next(iter(synthetic.values()))
    lines.append("| metric | direction | " + " | ".join(f"v = {v:g}" for v in variances) + " | seconds (median) |")
    lines.append("|---|---|" + "---|" * len(variances) + "---|")
    for row in first.rows:
        cells = [_cell(c.get(row.metric, row.direction).value) for c in synthetic.values()]
        times = sorted(c.get(row.metric, row.direction).seconds or 0.0 for c in synthetic.values())
        time_cell = f"{times[len(times) // 2]:.3f}" if row.seconds is not None else "-"
        lines.append(f"| {row.metric} | {_md(row.direction)} | " + " | ".join(cells) + f" | {time_cell} |")
    lines += [
        "",
        f"![uniform vs normal]({figures['uniform_vs_normal.png']})",
        "",
        f"![run times]({figures['uniform_vs_normal_seconds.png']})",
        "",
    ]
    lines += [f"### {data}: {n} test images (A) against {n} other test images and generated samples (B)", ""]
    for space, comparisons in real.items():
        labels = list(comparisons)
        lines += [f"#### {space} space", ""]
        lines.append("| metric | direction | " + " | ".join(labels) + " | seconds |")
        lines.append("|---|---|" + "---|" * len(labels) + "---|")
        reference = comparisons[labels[0]]
        for row in reference.rows:
            cells = [_cell(c.get(row.metric, row.direction).value) for c in comparisons.values()]
            lines.append(f"| {row.metric} | {_md(row.direction)} | " + " | ".join(cells) + f" | {row.seconds:.3f} |")
        lines += ["", f"![{space}]({figures[data + '_' + space.replace(':', '') + '.png']})", ""]
    lines += [f"![run times]({figures[data + '_seconds.png']})", ""]
    caveats = sorted(
        {
            note
            for c in [*synthetic.values(), *(c for s in real.values() for c in s.values())]
            for row in c.rows
            for note in row.notes
            if not note.startswith(("support mismatch", "exact KL"))
        }
    )
    if notes or caveats:
        lines += ["### Notes", ""] + [f"- {note}" for note in notes + caveats] + [""]
    return "\n".join(lines)
