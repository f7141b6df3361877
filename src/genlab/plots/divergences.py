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


def metric_against_parameter_figure(panels: dict[str, dict[str, tuple[list[float], list[float]]]],
                                    title: str, xlabel: str, logx: bool = True):
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
                axis.plot(infinite, [top] * len(infinite), linestyle="none", marker="^", color=color,
                          label=f"{label}: inf" if line is None else None)
                for x in infinite:
                    axis.annotate("inf", (x, top), textcoords="offset points", xytext=(0, 4), ha="center",
                                  fontsize=7, color=color)
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


def metric_per_comparison_figure(panels: dict[str, dict[str, float]], title: str):
    """One panel per metric, one bar per comparison (e.g. real vs real, real vs GAN)."""
    figure, axes = _grid(len(panels))
    for axis, (metric, bars) in zip(axes, panels.items()):
        labels, values = list(bars), list(bars.values())
        top = _top(values)
        colors = plt.cm.tab10(np.arange(len(labels)) % 10)
        heights = [v if math.isfinite(v) else top for v in values]
        drawn = axis.bar(range(len(labels)), heights, color=colors)
        for bar, value in zip(drawn, values):
            if not math.isfinite(value):
                bar.set_hatch("//")
                bar.set_alpha(0.5)
                axis.annotate("inf", (bar.get_x() + bar.get_width() / 2, top), ha="center", va="bottom", fontsize=8)
        axis.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
        axis.axhline(0.0, color="black", linewidth=0.6)
        axis.set_title(metric, fontsize=10)
        axis.set_xlabel("comparison")
        axis.set_ylabel("value")
        axis.grid(alpha=0.3, axis="y")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def run_time_figure(seconds: dict[str, list[float]], title: str):
    """Horizontal bars of the median run time per metric (log scale), with the range as error bars."""
    names = list(seconds)
    medians = [float(np.median(s)) for s in seconds.values()]
    low = [m - min(s) for m, s in zip(medians, seconds.values())]
    high = [max(s) - m for m, s in zip(medians, seconds.values())]
    figure, axis = plt.subplots(figsize=(6.5, 0.35 * len(names) + 1.4))
    axis.barh(range(len(names)), medians, xerr=[low, high], color="tab:blue", label="median (bars: min to max)")
    axis.set_yticks(range(len(names)), names)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("seconds (log scale)")
    axis.set_ylabel("metric")
    axis.set_title(title)
    axis.grid(alpha=0.3, axis="x")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
