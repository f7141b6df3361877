"""Rate-distortion points of finished runs (beta-VAE sweeps, echo-noise runs) and their figure.

A point is (rate, distortion) on the test split, in nats per image: the
distortion is `test_reconstruction`; the rate is `test_kl` for a VAE (an upper
bound on I(x; z)) and `test_rate` for echo noise (exactly I(x; z)).
"""

from __future__ import annotations

from pathlib import Path

from genlab.errors import GenlabError
from genlab.plots.vae import RatePoint, rate_distortion_figure
from genlab.train.runfolder import RunFolder
from genlab.userfiles import read_json

GROUP_NAMES = {"kl": "beta-VAE", "rate": "echo noise"}


def run_point(run_path: Path) -> RatePoint:
    """The rate-distortion point of one finished run folder."""
    run = RunFolder.open(run_path)
    summary = run.read_summary()
    config = run.read_config()["config"]
    for key, kind in (("test_rate", "rate"), ("test_kl", "kl")):
        if key in summary and "test_reconstruction" in summary:
            return RatePoint(
                group=f"{GROUP_NAMES[kind]} ({config['model']})",
                label=f"beta={config['beta']:g}",
                rate=float(summary[key]),
                distortion=float(summary["test_reconstruction"]),
            )
    raise GenlabError(
        f"{run_path} is a '{config['model']}' run with no rate in summary.json; "
        "give runs or sweeps of vae, conv-vae or echo-ae"
    )


def collect_points(paths: list[Path]) -> tuple[list[RatePoint], set[str]]:
    """Points of every run among `paths` (sweep folders, read through their results.json, or run folders),
    and the datasets they were trained on."""
    points, datasets = [], set()
    for path in map(Path, paths):
        if (path / "results.json").is_file():
            rows = read_json(path / "results.json", kind=list)
            runs = [path / row["run"] for row in rows]
        elif (path / "config.json").is_file():
            runs = [path]
        else:
            raise GenlabError(
                f"{path} is neither a sweep folder (with results.json) nor a run folder (with config.json)"
            )
        for run_path in runs:
            points.append(run_point(run_path))
            datasets.add(RunFolder.open(run_path).read_config()["config"]["data"])
    return points, datasets


def write_rate_distortion(paths: list[Path], out: Path) -> tuple[Path, list[RatePoint]]:
    """Draw every point of `paths` in one figure at `out` (PNG); returns the path and the points."""
    from genlab.plots.common import save_figure_file

    figure, points = rate_distortion_of(paths)
    return save_figure_file(figure, Path(out)), points


def rate_distortion_of(paths: list[Path]):
    """(the figure of every point of `paths`, the points)."""
    if not paths:
        raise GenlabError("give at least one sweep or run folder")
    points, datasets = collect_points(paths)
    if len(datasets) > 1:
        raise GenlabError(
            f"the runs were trained on different datasets ({', '.join(sorted(datasets))}); "
            "rates and distortions are only comparable on one"
        )
    data = datasets.pop()
    return rate_distortion_figure(points, f"Rate-distortion on the {data} test split"), points
