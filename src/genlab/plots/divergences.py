"""Figures of sample-set distances: metric against a parameter, metric per comparison, run times.

Infinite values (KL under a support mismatch) cannot be drawn as heights; they are
marked with a triangle at the top of the panel and the label "inf".
"""

from __future__ import annotations

import math

import numpy as np

from genlab.plots.common import plt


def _grid(count: int, columns: int = 4):
    columns = min(columns, count)
    rows = int(math.ceil(count / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.9 * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat[:count])


def _top(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return max(finite) * 1.15 if finite and max(finite) > 0 else 1.0


def metric_against_parameter_figure(
    panels: dict[str, dict[str, tuple[list[float], list[float]]]], title: str, xlabel: str, logx: bool = True
):
    """One panel per metric; each panel draws named series (x values, metric values)."""
    figure, axes = _grid(len(panels))
    for axis, (metric, series) in zip(axes, panels.items()):
        top = _top([v for _, ys in series.values() for v in ys])
        for label, (xs, ys) in series.items():
            finite = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
            line = axis.plot(*zip(*finite), marker="o", markersize=3, label=label)[0] if finite else None
            infinite = [x for x, y in zip(xs, ys) if not math.isfinite(y)]
            if infinite:
                color = line.get_color() if line else None
                axis.plot(
                    infinite,
                    [top] * len(infinite),
                    linestyle="none",
                    marker="^",
                    color=color,
                    label=f"{label}: inf" if line is None else None,
                )
                for x in infinite:
                    axis.annotate(
                        "inf", (x, top), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7, color=color
                    )
        if logx:
            axis.set_xscale("log", base=2)
        axis.set_title(metric, fontsize=10)
        axis.set_xlabel(xlabel)
        axis.set_ylabel("value")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def metric_per_comparison_figure(panels: dict[str, dict[str, dict[str, float]]], title: str):
    """One panel per metric family; in each, groups of bars (one group per row of the family,
    e.g. KL A||B and B||A) with one bar per comparison (real vs real, real vs GAN, ...)."""
    figure, axes = _grid(len(panels))
    comparisons = list(dict.fromkeys(c for rows in panels.values() for bars in rows.values() for c in bars))
    colors = dict(zip(comparisons, plt.cm.tab10(np.arange(len(comparisons)) % 10)))
    width = 0.8 / max(1, len(comparisons))
    for axis, (family, rows) in zip(axes, panels.items()):
        top = _top([v for bars in rows.values() for v in bars.values()])
        for group, (_, bars) in enumerate(rows.items()):
            for index, comparison in enumerate(comparisons):
                if comparison not in bars:
                    continue
                value = bars[comparison]
                x = group + (index - (len(comparisons) - 1) / 2) * width
                bar = axis.bar(
                    x,
                    value if math.isfinite(value) else top,
                    width,
                    color=colors[comparison],
                    label=comparison if group == 0 else None,
                )[0]
                if not math.isfinite(value):
                    bar.set_hatch("//")
                    bar.set_alpha(0.5)
                    axis.annotate("inf", (x, top), ha="center", va="bottom", fontsize=7)
        axis.set_xticks(range(len(rows)), list(rows), rotation=20, ha="right", fontsize=8)
        axis.axhline(0.0, color="black", linewidth=0.6)
        axis.set_title(family, fontsize=10)
        axis.set_ylabel("value")
        axis.grid(alpha=0.3, axis="y")
        axis.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def run_time_figure(seconds: dict[str, dict[str, list[float]]], title: str):
    """Horizontal bars of the median run time per metric (log scale), one colour per group
    (e.g. feature space), with the range over repeats as error bars."""
    groups = list(seconds)
    metrics = list(dict.fromkeys(m for per_metric in seconds.values() for m in per_metric))
    height = 0.8 / len(groups)
    figure, axis = plt.subplots(figsize=(6.5, 0.3 * len(metrics) * max(1, len(groups) * 0.7) + 1.4))
    for index, group in enumerate(groups):
        rows = [i for i, m in enumerate(metrics) if m in seconds[group]]
        values = [seconds[group][metrics[i]] for i in rows]
        medians = [float(np.median(v)) for v in values]
        spread = [[m - min(v) for m, v in zip(medians, values)], [max(v) - m for m, v in zip(medians, values)]]
        positions = [i + (index - (len(groups) - 1) / 2) * height for i in rows]
        axis.barh(positions, medians, height, xerr=spread, label=group)
    axis.set_yticks(range(len(metrics)), metrics)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("seconds (log scale; bars: median, whiskers: min to max)")
    axis.set_ylabel("metric")
    axis.set_title(title)
    axis.grid(alpha=0.3, axis="x")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def metric_family(metric: str) -> str:
    """The panel a metric row belongs to: related rows share one panel."""
    if metric.startswith("kl_"):
        return "KL divergence (nats)"
    if metric.startswith("mmd2_"):
        return "MMD^2 (Gaussian kernel)"
    if metric.startswith("fd"):
        return "Frechet distance"
    if metric in ("precision", "recall", "density", "coverage"):
        return "precision / recall / density / coverage"
    return {"emd": "EMD (exact W1)", "swd": "sliced W1", "sinkhorn": "Sinkhorn divergence", "kid": "KID"}.get(
        metric, metric
    )
