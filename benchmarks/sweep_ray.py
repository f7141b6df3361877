"""Benchmark: an 8-point sweep run here one point after another (`--executor local`) against the same
sweep on a local Ray cluster with 2 workers (`--executor ray --parallel 2`), and Ray's own overhead.

Both sweeps run as the user would start them, `genlab sweep ...` in a fresh process and a fresh output
folder, so the Ray time includes starting the cluster and its worker processes (which import torch).
Ray's overhead is measured apart, in this process: the time to start a local cluster, the first task
(a worker process starting) and the round trip of a no-op task once workers are up. Each point is the
default CNN on MNIST-5k for a few epochs (seconds of training each, so that the sweep measures what a
user's sweep spends: training, not start-up); the local sweep uses every core through torch's threads,
each Ray task one thread (`--cpus-per-point 1`).

    python benchmarks/sweep_ray.py [--epochs 3] [--keep DIR]

writes benchmarks/results/sweep_ray.json and the 'Sweeps on Ray' section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import suites
from _docs import write_docs_section

ROOT = Path(__file__).resolve().parents[1]
MODEL, DATA = "cnn", "mnist"
GRID = ["lr=0.003,0.001,0.0003,0.0001", "seed=0,1"]  # 8 points


def sweep(out: Path, epochs: int, executor: list[str]) -> dict:
    """Run one sweep as a fresh `genlab sweep` process; its wall time and the points' own seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAY_USAGE_STATS_ENABLED": "0"}
    args = ["sweep", MODEL, *(f"--grid={g}" for g in GRID), f"--set=data={DATA}", f"--set=epochs={epochs}"]
    args += ["-o", str(out), "-q", *executor]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "genlab.cli", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"genlab {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    rows = json.loads((out / "results.json").read_text())
    return {
        "command": "genlab " + " ".join(args),
        "wall_seconds": round(wall, 2),
        "points_seconds": round(sum(row["seconds"] for row in rows), 2),  # training time inside the points
        "val_accuracy": [row["val_accuracy"] for row in rows],
    }


def ray_overhead(tasks: int = 50) -> dict:
    """Seconds to start a 2-CPU local cluster, of the first task (a worker process starting) and the
    median round trip of a no-op task on a warm worker."""
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    init = time.perf_counter() - started

    @ray.remote(num_cpus=1)
    def noop():
        return None

    try:
        first = time.perf_counter()
        ray.get(noop.remote())
        first = time.perf_counter() - first
        trips = []
        for _ in range(tasks):
            begun = time.perf_counter()
            ray.get(noop.remote())
            trips.append(time.perf_counter() - begun)
    finally:
        ray.shutdown()
    return {
        "cluster_start_seconds": round(init, 2),
        "first_task_seconds": round(first, 3),
        "task_round_trip_ms": round(1000 * statistics.median(trips), 2),
        "tasks_timed": tasks,
    }


def environment() -> dict:
    """suites.environment's record (date, machine, versions) with Ray's version and the load average."""
    import ray
    import torch

    record = suites.environment(torch.get_num_threads())
    record["versions"]["ray"] = ray.__version__
    return {**record, "load_average": round(os.getloadavg()[0], 2)}


def render(result: dict) -> str:
    """The docs section about one measurement (`result` as written to the JSON)."""
    machine, versions, local, distributed, overhead = (
        result[k] for k in ("machine", "versions", "local", "ray", "overhead")
    )
    busy = result["load_average"] > machine["cpus"]
    return f"""
`benchmarks/sweep_ray.py`: an 8-point sweep (`{MODEL}` on {DATA}, {result["epochs"]} epochs, grid
{" x ".join(GRID)}) as one `genlab sweep` process: local (one point after another, torch using
every core) against `--executor ray --parallel 2` (a local Ray cluster started by the command, two
workers of one torch thread each). The Ray wall time includes starting the cluster and its worker
processes, which import torch. Measured {result["date"]} on {machine["processor"]}, {machine["cpus"]} CPUs,
load average {result["load_average"]}{" (a busy shared machine: these times are not representative)" if busy else ""};
genlab {versions["genlab"]}, torch {versions["torch"]}, Ray {versions["ray"]}.

| | local | Ray, 2 workers |
|---|---|---|
| wall time of the command (s) | {local["wall_seconds"]} | {distributed["wall_seconds"]} |
| training time inside the points, summed (s) | {local["points_seconds"]} | {distributed["points_seconds"]} |
| same validation accuracies | | {"yes" if local["val_accuracy"] == distributed["val_accuracy"] else "no"} |

Wall-time ratio Ray / local: **{result["wall_ratio_ray_to_local"]}**. Ray's own overhead, measured
apart: starting a 2-CPU local cluster {overhead["cluster_start_seconds"]} s, the first task (a worker
process starting) {overhead["first_task_seconds"]} s, then {overhead["task_round_trip_ms"]} ms per
no-op task (median of {overhead["tasks_timed"]}).

On one machine whose cores the local sweep already keeps busy through torch's threads, Ray can only add
its start-up and its workers' imports; it pays where there are more cores than one point uses, or more
machines. The validation accuracies agree exactly only at equal torch thread counts (a local sweep with
`OMP_NUM_THREADS=1` against Ray's one thread per task, as tests/test_ray.py checks); here the local points
ran on every core, so the last bits of their weights differ.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the sweeps here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        local = sweep(folder / "local", args.epochs, [])
        distributed = sweep(folder / "ray", args.epochs, ["--executor", "ray", "--parallel", "2"])
    overhead = ray_overhead()
    result = {
        **environment(),
        "points": 8,
        "epochs": args.epochs,
        "local": local,
        "ray": distributed,
        "wall_ratio_ray_to_local": round(distributed["wall_seconds"] / local["wall_seconds"], 2),
        "overhead": overhead,
    }
    out = ROOT / "benchmarks" / "results" / "sweep_ray.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    write_docs_section("Sweeps on Ray", render(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
