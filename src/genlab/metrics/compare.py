"""`genlab compare A B`: every requested metric between two sample sets, each timed alone,
as a table and a JSON record. The API behind the command and the divergences experiment."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from genlab.config import SEED_MAX, check_choice, check_finite, check_range, option
from genlab.errors import GenlabError
from genlab.metrics import emd, kl, mmd, prdc
from genlab.metrics.analytic import exact_frechet, exact_kl
from genlab.metrics.frechet import frechet_distance
from genlab.metrics.result import A_TO_B, B_TO_A, SYMMETRIC, Estimate, format_value, jsonable
from genlab.metrics.sets import SampleSet
from genlab.metrics.spaces import Featurizer, Space, default_space, parse_space
from genlab.metrics.timing import WARMUP_ROWS, timed

#: Metric names for --metrics, with the rows each produces.
METRICS = {
    "kl": "KL divergence both ways: kNN estimator, plus a histogram estimator for dimension <= 3",
    "emd": "exact earth mover's distance (W1, Euclidean cost)",
    "swd": "sliced W1 (approximation for large n)",
    "sinkhorn": "debiased Sinkhorn divergence (approximation of W1 for large n)",
    "mmd": "Gaussian-kernel MMD^2, unbiased and biased, with a permutation p-value",
    "fd": "Frechet distance of Gaussian fits",
    "kid": "kernel inception distance (cubic-kernel unbiased MMD^2)",
    "prdc": "precision, recall, density and coverage of B against reference A",
}
DEFAULT_METRICS = ("kl", "emd", "mmd", "fd", "kid", "prdc")
#: Estimators in plain numpy/LAPACK: nothing to warm up (no CUDA, no lazy kernels), and a
#: warm-up call would cost as much as the real one (FD's eigendecompositions do not shrink with n).
NUMPY_ONLY = ("fd", "kl_histogram")


@dataclass(frozen=True)
class MetricSettings:
    """Every estimator setting that changes a number (each is a `genlab compare` flag)."""

    kl_estimator: str = option(
        kl.DEFAULT_ESTIMATOR,
        "kNN KL: 'ensemble' of k = 1..20 (smaller errors than one k "
        "in docs/metrics.md), one k ('knn', --k), the adaptive-k correction ('adaptive', "
        "Wang et al. eq. 29), or 'auto': ensemble up to 10 dimensions, knn above",
        choices=kl.ESTIMATORS,
    )
    k: int = option(kl.DEFAULT_K, "neighbours of the kNN KL estimator 'knn' and 'adaptive', and of its support check")
    bins: int | None = option(None, "histogram KL: bins per axis [default: max(2, floor((n/10)^(1/d)))]")
    pseudo_count: float = option(kl.DEFAULT_PSEUDO_COUNT, "histogram KL: count added to every cell of both sets")
    support_tolerance: float = option(
        kl.DEFAULT_SUPPORT_TOLERANCE,
        "kNN KL is reported infinite when more than this fraction of a set lies outside the other set's sample support",
    )
    bandwidth: float | None = option(None, "Gaussian kernel sigma for MMD [default: median pairwise distance]")
    permutations: int = option(200, "MMD permutation test: random relabellings (0: no p-value)")
    projections: int = option(emd.DEFAULT_PROJECTIONS, "sliced W1: random directions")
    sinkhorn_epsilon: float = option(
        emd.DEFAULT_SINKHORN_EPSILON, "Sinkhorn: entropic regularisation, as a fraction of the std of A-B distances"
    )
    prdc_k: int = option(prdc.DEFAULT_K, "precision/recall/density/coverage: neighbours defining the balls")
    seed: int = option(0, "seed of synthetic samples, projections, permutations and subsets")

    def __post_init__(self):
        check_finite(self)
        check_choice(self, "kl_estimator")
        check_range(self, "k", low=1)
        check_range(self, "bins", low=1)
        check_range(self, "pseudo_count", low=0)
        check_range(self, "support_tolerance", low=0, high=1)
        check_range(self, "bandwidth", low=0, low_open=True)
        check_range(self, "permutations", low=0)
        check_range(self, "projections", low=1)
        check_range(self, "sinkhorn_epsilon", low=0, low_open=True)
        check_range(self, "prdc_k", low=1)
        check_range(self, "seed", low=0, high=SEED_MAX)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_metrics(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'kl,emd,mmd' -> ('kl', 'emd', 'mmd'); 'all' -> every metric; unknown names are an error."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if names == ["all"]:
        return tuple(METRICS)
    for name in names:
        if name not in METRICS:
            raise GenlabError(f"unknown metric '{name}'; choose from {', '.join(METRICS)} (or all)")
    if not names:
        raise GenlabError(f"--metrics is empty; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


@dataclass
class Comparison:
    """The result of `compare`: both sets, every estimate (timed), the spaces used and warnings."""

    a: SampleSet
    b: SampleSet
    settings: MetricSettings
    device: str
    rows: list[Estimate] = field(default_factory=list)
    spaces: dict[str, dict] = field(default_factory=dict)

    def get(self, metric: str, direction: str | None = None, space: str | None = None) -> Estimate:
        """The first row of `metric` (and direction / space when given)."""
        for row in self.rows:
            if row.metric == metric and direction in (None, row.direction) and space in (None, row.space):
                return row
        raise KeyError(f"no {metric} {direction or ''} row")

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "settings": self.settings.to_dict(),
            "device": self.device,
            "spaces": jsonable(self.spaces),
            "rows": [r.to_dict() for r in self.rows],
        }

    def __repr__(self) -> str:
        values = ", ".join(f"{r.metric} {r.direction} = {format_value(r.value)}" for r in self.rows)
        return f"Comparison(A: {self.a.description}; B: {self.b.description}; {values})"

    def _cells(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """The header and one row of text cells per estimate, shared by `table()` and the notebook view."""
        header = ("metric", "direction", "value", "seconds", "space", "estimator and settings")
        rows = [
            (
                r.metric,
                r.direction,
                format_value(r.value),
                "-" if r.seconds is None else f"{r.seconds:.3f}",
                r.space,
                describe(r),
            )
            for r in self.rows
        ]
        return header, rows

    def _repr_html_(self) -> str:
        """Jupyter's view: the two sets, one row per estimate (as `table()`), then the notes."""
        from genlab import display

        header, rows = self._cells()
        notes = dict.fromkeys(f"{r.metric} {r.direction} [{r.space}]: {note}" for r in self.rows for note in r.notes)
        return (
            f"<div><b>A</b>: {display.escape(self.a.description)}<br><b>B</b>: {display.escape(self.b.description)}"
            + display.table(header, rows)
            + "".join(f"<p>note ({display.escape(note)})</p>" for note in notes)
            + "</div>"
        )

    def table(self) -> str:
        """A plain-text table (metric, direction, value, seconds, space, estimator and settings) with notes."""
        header, lines = self._cells()
        widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(5)]
        out = [f"A: {self.a.description}", f"B: {self.b.description}", ""]
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  " + header[5])
        out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[5] for line in lines]
        notes = [(f"{r.metric} {r.direction} [{r.space}]", note) for r in self.rows for note in r.notes]
        if notes:
            out.append("")
            seen = set()
            for where, note in notes:
                if note not in seen:
                    out.append(f"note ({where}): {note}")
                    seen.add(note)
        for name, info in self.spaces.items():
            if info.get("seconds", 0) > 0.001:
                out.append(f"space {name}: features computed in {info['seconds']:.3f} s (not in the metric times)")
        return "\n".join(out)


def describe(row: Estimate) -> str:
    """The estimator with its deciding extras (p-value, standard error) on one line."""
    text = row.estimator
    if "p_value" in row.extra:
        text += f"; permutation p = {row.extra['p_value']:.3g} ({row.settings.get('permutations')} permutations)"
    if "monte_carlo_standard_error" in row.extra:
        text += f"; MC standard error {row.extra['monte_carlo_standard_error']:.2g}"
    return text


def _warmup_rows(x: np.ndarray, settings: MetricSettings) -> np.ndarray:
    """The first rows of a set, enough for every estimator's minimum (k + 1 neighbours)."""
    return x[: max(WARMUP_ROWS, 2 * max(settings.k, settings.prdc_k) + 2)]


def _estimators(settings: MetricSettings, device: torch.device) -> dict[str, Callable]:
    """metric -> the estimator call it makes: (features A, features B) -> list[Estimate]."""
    s = settings
    return {
        "kl": lambda x, y: list(kl.knn_kl(x, y, s.k, s.kl_estimator, s.support_tolerance, device)),
        "emd": lambda x, y: [emd.exact_emd(x, y, device=device)],
        "swd": lambda x, y: [emd.sliced_wasserstein(x, y, s.projections, s.seed, device)],
        "sinkhorn": lambda x, y: [emd.sinkhorn_divergence(x, y, s.sinkhorn_epsilon, device=device)],
        "mmd": lambda x, y: list(mmd.gaussian_mmd(x, y, s.bandwidth, s.permutations, s.seed, device)),
        "fd": lambda x, y: [frechet_distance(x, y)],
        "kid": lambda x, y: [mmd.kid(x, y, device=device)],
        "prdc": lambda x, y: prdc.prdc(x, y, s.prdc_k, device),
        "kl_histogram": lambda x, y: list(kl.histogram_kl(x, y, s.bins, s.pseudo_count)),
    }


def compare(
    a: SampleSet,
    b: SampleSet,
    metrics=DEFAULT_METRICS,
    space: str | None = None,
    settings: MetricSettings | None = None,
    device: str = "auto",
    judge: str = "mnist",
) -> Comparison:
    """Compute `metrics` between A and B, each timed separately (warm-up on WARMUP_ROWS rows
    first, CUDA synchronised). `space` applies to every metric; None uses each metric's
    default (judge features for fd/kid/prdc on images, the given values otherwise).
    `judge` is a dataset name or a classifier run folder (for the judge space)."""
    from genlab.data.datasets import resolve_device

    settings = settings or MetricSettings()
    metrics = parse_metrics(metrics)
    if a.dim != b.dim:
        raise GenlabError(f"A has dimension {a.dim} but B has {b.dim}; compare sets of the same dimension")
    chosen = parse_space(space) if space else None
    torch_device = resolve_device(device)
    featurizer = Featurizer(a, b, judge, str(torch_device))
    result = Comparison(a, b, settings, str(torch_device))
    estimators = _estimators(settings, torch_device)
    for metric in metrics:
        metric_space = chosen or default_space(metric, a, b)
        fa, fb, info = featurizer.features(metric_space)
        label = featurizer.label(metric_space)
        result.spaces[label] = info
        names = [metric] + (["kl_histogram"] if metric == "kl" and fa.shape[1] <= 3 else [])
        for name in names:
            call = estimators[name]
            warmup = (
                None if name in NUMPY_ONLY else (lambda: call(_warmup_rows(fa, settings), _warmup_rows(fb, settings)))
            )
            rows, seconds = timed(lambda: call(fa, fb), torch_device, warmup=warmup)
            for row in rows:
                row.metric = {"kl": "kl_knn", "kl_histogram": "kl_histogram"}.get(name, row.metric)
                row.seconds, row.space = seconds, label
                if len(rows) > 1:
                    row.extra["rows_timed_together"] = len(rows)
            result.rows += rows
    _add_exact_answers(result, metrics, chosen)
    return result


def _add_exact_answers(result: Comparison, metrics: tuple[str, ...], chosen: Space | None) -> None:
    """For two named distributions compared in their own coordinates: the true KL (which also
    settles whether a support mismatch is real) and the population Frechet distance."""
    p, q = result.a.distribution, result.b.distribution
    if p is None or q is None or (chosen is not None and chosen.kind != "pixels"):
        return
    if "kl" in metrics:
        truth = {A_TO_B: exact_kl(p, q), B_TO_A: exact_kl(q, p)}
        for row in result.rows:
            if row.metric in ("kl_knn", "kl_histogram"):
                _settle_support(row, truth[row.direction])
        for direction, value in truth.items():
            result.rows.append(
                Estimate(
                    "kl_exact",
                    direction,
                    value,
                    "closed form for the named distributions",
                    {"a": p.describe(), "b": q.describe()},
                    space="raw",
                )
            )
    if "fd" in metrics:
        result.rows.append(
            Estimate(
                "fd_exact",
                SYMMETRIC,
                exact_frechet(p, q),
                "population value for the named distributions",
                {"a": p.describe(), "b": q.describe()},
                space="raw",
            )
        )


def _settle_support(row: Estimate, truth: float) -> None:
    """Replace the sample-based support verdict with the known one."""
    flagged = math.isinf(row.value)
    if math.isinf(truth) and not flagged:
        row.extra["finite_estimate"] = row.value
        row.value = math.inf
        row.notes.append(
            f"exact KL is infinite (the supports differ); the sample estimate "
            f"{row.extra['finite_estimate']:.4g} is kept in finite_estimate"
        )
    elif flagged and math.isfinite(truth):
        row.value = row.extra["finite_estimate"]
        row.notes = [note for note in row.notes if not note.startswith("support mismatch")]
        row.notes.append(
            f"the support is known to cover the other set (exact KL {truth:.4g} is finite): "
            "the sample support check was overruled"
        )
