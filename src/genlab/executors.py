"""Where the training points of sweeps and suites run: one after another here (local), or as Ray tasks.

An executor turns points (a model, a config, a run folder) into finished run folders in the
driver's output folder, with the reuse rules of `genlab.train.reuse.ensure_run`: a finished run
of the same config is reused, an interrupted one continued, anything else trained. `local` is the
default and needs no Ray; `ray` imports it only when chosen (`genlab.raycluster`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.models.base import ModelSpec

INSTALL_RAY = "pip install 'genlab[ray]'"


@dataclass(frozen=True)
class Point:
    """One training point: `config` of `spec`, trained into `run_path`."""

    spec: ModelSpec
    config: Any
    run_path: Path

    @property
    def label(self) -> str:
        return self.run_path.name


class LocalExecutor:
    """Train the points in this process, one after another (genlab's behaviour before Ray)."""

    name = "local"

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def ensure_runs(
        self, points: list[Point], retrain: bool = False, replace_other: bool = False, progress: bool = True
    ) -> list[tuple[dict[str, Any], str]]:
        """(summary, action) per point, as `ensure_run` gives them."""
        from genlab.train.engine import say
        from genlab.train.reuse import ensure_run

        results = []
        for done, p in enumerate(points, 1):
            summary, action = ensure_run(
                p.spec, p.config, p.run_path, retrain=retrain, replace_other=replace_other, progress=progress
            )
            results.append((summary, action))
            if progress and len(points) > 1:
                say(f"[{done} done of {len(points)}] {p.label}: {headline_text(p, summary, action)}")
        return results


def make_executor(cluster=None):
    """The executor that `cluster` (a `genlab.settings.Cluster`, or None for local) names."""
    if cluster is None or cluster.executor == "local":
        return LocalExecutor()
    try:
        import ray  # noqa: F401  (only to know it is there; genlab.raycluster uses it)
    except ImportError:
        raise GenlabError(f"--executor ray needs Ray, which is not installed; {INSTALL_RAY}") from None
    from genlab.raycluster import RayExecutor

    return RayExecutor(
        address=cluster.address,
        parallel=cluster.parallel,
        cpus_per_point=cluster.cpus_per_point,
        retries=cluster.retries,
        shared_output=cluster.shared_output,
    )


def headline_text(point: Point, summary: dict[str, Any], action: str) -> str:
    """'val_accuracy 0.9120, test_accuracy 0.9050 (trained, 12.3 s)': the family's headline numbers."""
    numbers = [
        f"{name} {summary[name]:.4f}" if isinstance(summary[name], float) else f"{name} {summary[name]}"
        for name in point.spec.family.headline
        if name in summary
    ]
    seconds = summary.get("seconds")
    timing = f", {seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
    return f"{', '.join(numbers) or 'finished'} ({action}{timing})"
