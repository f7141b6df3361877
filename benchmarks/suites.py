"""Benchmark: wall-clock and CPU time of `genlab demo` and `genlab suite NAME --quick`, end to end.

The promises measured: `genlab demo` under 3 minutes and `genlab suite all --quick`
under 15 minutes on 2 CPU cores. Each command runs as its own process in a fresh
output folder (nothing to reuse), exactly as a user would start it; the child's
CPU time (user + system, from getrusage) is recorded beside the wall time, and
so is the load average before and after, because on a shared machine other
processes stretch the wall time but not the CPU time. A second run of each
suite into the same folder measures what reusing finished work costs.

    python benchmarks/suites.py [--suites all] [--threads 2] [--skip-demo] [--keep DIR]

writes benchmarks/results/suites.json and the 'Demo and suites' section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _docs import write_docs_section

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str], threads: int, script: Path | None = None) -> dict:
    """Run `python -m genlab.cli ARGS` (or `python SCRIPT ARGS`) and measure it."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    program = ["-m", "genlab.cli"] if script is None else [str(script)]
    done = subprocess.run([sys.executable, *program, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(program + args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return {
        "command": ("genlab " if script is None else f"python {script.name} ") + " ".join(args),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "steps": [line for line in done.stdout.splitlines() if line.startswith(("[", "    "))],
    }


def environment(threads: int) -> dict:
    """Date, machine and versions of a measurement, as the benchmarks' JSON records state them."""
    import torch

    from genlab import __version__

    return {
        "date": datetime.date.today().isoformat(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "threads": threads,
        },
        "versions": {"genlab": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=["all"])
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of the measured commands")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="run into DIR and keep it (e.g. for scripts/guide_numbers.py), "
        "instead of a temporary folder; DIR must not exist yet, so nothing is reused",
    )
    args = parser.parse_args()

    results = []
    if args.keep is not None and args.keep.exists():
        raise SystemExit(f"--keep {args.keep}: the folder exists; give a new one, so that nothing is reused")
    with tempfile.TemporaryDirectory() as temporary:
        scratch = str(args.keep or temporary)
        if not args.skip_demo:
            results.append(timed(["demo", "-q", "-o", f"{scratch}/demo"], args.threads))
            print(json.dumps(results[-1]))
        for name in args.suites:
            out = f"{scratch}/suite-{name}"
            first = timed(["suite", name, "--quick", "-q", "-o", out], args.threads)
            again = timed(["suite", name, "--quick", "-q", "-o", out], args.threads)
            results += [first, {**again, "note": "second run into the same folder: everything reused"}]
            print(json.dumps(first))
            print(json.dumps(results[-1]))
    record = {
        **environment(args.threads),
        "data": os.environ.get("GENLAB_DATA", "~/.cache/genlab"),
        "results": results,
    }
    target = ROOT / "benchmarks" / "results" / "suites.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2) + "\n")
    write_docs_section("Demo and suites", markdown(record))
    print(f"wrote {target} and the suites section of docs/benchmarks.md")


PROMISES = {"genlab demo": 180, "genlab suite all --quick": 900}  # seconds on 2 CPU cores


def markdown(record: dict) -> str:
    """The 'Demo and suites' section of docs/benchmarks.md."""
    machine, versions = record["machine"], record["versions"]
    lines = [
        "`GENLAB_DATA=../shared/datasets python benchmarks/suites.py` runs each command as a user would, "
        "as its own process into a fresh folder, and records the wall-clock time, the child's CPU time and "
        "the load average around it; a second run into the same folder measures what reusing finished runs "
        "costs.",
        "",
        f"Machine: {machine['processor']}, {machine['cpus']} cores, `OMP_NUM_THREADS={machine['threads']}`; "
        f"genlab {versions['genlab']}, torch {versions['torch']}, Python {versions['python']}; {record['date']}.",
        "",
        "| command | wall s | CPU s | load before / after | promise | met |",
        "| --- | ---: | ---: | --- | ---: | --- |",
    ]
    for result in record["results"]:
        command = result["command"].replace(" -q", "").split(" -o ")[0]
        reused = "note" in result
        promise = None if reused else next((v for k, v in PROMISES.items() if command.startswith(k)), None)
        name = f"{command} (again, same folder: reused)" if reused else command
        met = "-" if promise is None else ("yes" if result["wall_seconds"] < promise else "**no**")
        lines.append(
            f"| `{name}` | {result['wall_seconds']:.0f} | {result['cpu_seconds']:.0f} | "
            f"{result['load_average_before']:.1f} / {result['load_average_after']:.1f} | "
            f"{'-' if promise is None else f'< {promise} s'} | {met} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
