"""Against the limit: each model's training step in FLOPs and GFLOP/s, beside this machine's measured peak.

For cnn, mlp, vae, the MLP GAN (`gan`) and dcgan with their default settings on MNIST-5k: the FLOPs of one
full training step (torch.utils.flop_counter.FlopCounterMode over forward, backward and the optimiser; it
counts matrix products and convolutions, the work a peak is measured in, not elementwise operations), the
achieved GFLOP/s over the timed loop (up to `--steps` steps after warm-up, each model's own batches), on one
thread and on all threads, and the fraction of the peak: a 2048 x 2048 x 2048 float32 matmul on the same
threads, measured in the same run. A short torch.profiler profile of each model splits a step's time into
matrix kernels (matmul, convolution), other operators (elementwise, reductions, optimiser updates: memory
bound) and time outside any operator (Python, dispatch), which says why a model sits below the peak.

    GENLAB_DATA=../shared/datasets python benchmarks/roofline.py [--models cnn mlp ...] [--steps 300]

writes benchmarks/results/roofline.json and the 'Against the limit' section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from _docs import write_docs_section
from suites import environment
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from genlab.models.registry import get_model
from genlab.train.engine import epoch_order, load_family_data

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["cnn", "mlp", "vae", "gan", "dcgan"]
#: operators that do the matrix work FlopCounterMode counts (their self time is "matrix kernels")
MATRIX_OPS = ("mm", "addmm", "bmm", "baddbmm", "matmul", "linear", "conv", "convolution", "mkldnn")
WARMUP = 5


def peak_gflops(repeats: int = 5, n: int = 2048) -> float:
    """Best of `repeats` float32 n x n x n matmuls on the current threads, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


class Stepper:
    """A model's default family, network and optimisers on MNIST-5k, stepping through its own batches."""

    def __init__(self, model: str, data: str):
        spec = get_model(model)
        self.config = spec.make_config(data=data, device="cpu")
        device = torch.device("cpu")
        self.family = spec.family(self.config, load_family_data(spec, self.config, device), device)
        torch.manual_seed(self.config.seed)
        self.model = self.family.build().to(device)
        self.optimizers = self.family.optimizers(self.model)
        self.model.train()
        train = self.family.data.train
        self.batch = min(self.config.batch_size, len(train))
        self.order = epoch_order(len(train), self.config.seed, 0, device)
        self.batches = len(train) // self.batch
        self.step_index = 0

    def step(self) -> None:
        train = self.family.data.train
        rows = self.order[(self.step_index % self.batches) * self.batch :][: self.batch]
        self.family.train_step(self.model, train.inputs(rows), train.y[rows], self.optimizers, self.step_index)
        self.step_index += 1

    def flops(self) -> int:
        with FlopCounterMode(display=False) as counter:
            self.step()
        return counter.get_total_flops()

    def timed(self, steps: int, seconds: float) -> tuple[int, float]:
        """(steps run, seconds per step): up to `steps` steps, stopping early after `seconds`."""
        for _ in range(WARMUP):
            self.step()
        done, started = 0, time.perf_counter()
        while done < steps and (done < 10 or time.perf_counter() - started < seconds):
            self.step()
            done += 1
        return done, (time.perf_counter() - started) / done

    def profiled(self, steps: int = 10) -> dict:
        """Shares of a step's wall time: matrix kernels, other operators, outside operators; the top operators."""
        for _ in range(2):
            self.step()
        started = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                self.step()
        wall_us = (time.perf_counter() - started) * 1e6
        # aten:: operators only: the self time of annotations such as "Optimizer.step#Adam.step" is the
        # Python around the operators, counted with the rest of the time outside operators
        events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0 and e.key.startswith("aten::")]
        matrix = sum(e.self_cpu_time_total for e in events if any(op in e.key[6:] for op in MATRIX_OPS))
        total = sum(e.self_cpu_time_total for e in events)
        top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:5]
        return {
            "step_ms": round(wall_us / steps / 1e3, 3),
            "matrix_share": round(matrix / wall_us, 3),
            "other_ops_share": round((total - matrix) / wall_us, 3),
            "outside_ops_share": round(max(0.0, 1 - total / wall_us), 3),
            "top_ops": [
                {"op": e.key, "self_cpu_share": round(e.self_cpu_time_total / wall_us, 3), "calls": e.count}
                for e in top
            ],
        }


def why(profile_: dict, gflop_per_step: float, peak: float) -> str:
    """One sentence from the profile: what holds the step below the peak."""
    matrix, other, outside = profile_["matrix_share"], profile_["other_ops_share"], profile_["outside_ops_share"]
    # the rate of the matrix kernels alone: the counted FLOPs over the time spent in them
    kernel_rate = gflop_per_step / max(matrix * profile_["step_ms"] / 1e3, 1e-9)
    if outside >= max(matrix, other):
        reason = "Python and dispatch overhead: the kernels are small and most of a step passes between operators"
    elif other >= matrix:
        reason = "memory bound: elementwise operators, reductions and optimiser updates outweigh the matrix work"
    else:
        reason = f"the matrix kernels themselves reach only {kernel_rate / peak:.0%} of the peak on these small shapes"
    return (
        f"{matrix:.0%} of a step in matrix kernels (at {kernel_rate:.0f} GFLOP/s), {other:.0%} in other "
        f"operators, {outside:.0%} outside operators; {reason}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per model and thread count (at most)")
    parser.add_argument("--seconds", type=float, default=6.0, help="stop a timed loop early after this long")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "roofline.json")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    all_threads = os.cpu_count() or 1
    thread_counts = sorted({1, all_threads})
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    peaks = {}
    for threads in thread_counts:
        torch.set_num_threads(threads)
        peaks[threads] = round(peak_gflops(), 1)
    print(json.dumps({"peak_gflops": peaks}), flush=True)
    results = []
    for name in args.models:
        stepper = Stepper(name, args.data)
        torch.set_num_threads(1)
        flops = stepper.flops()
        row = {"model": name, "batch_size": stepper.batch, "gflop_per_step": round(flops / 1e9, 4), "runs": {}}
        for threads in thread_counts:
            torch.set_num_threads(threads)
            steps, seconds = stepper.timed(args.steps, args.seconds)
            gflops = flops / seconds / 1e9
            row["runs"][str(threads)] = {
                "steps": steps,
                "ms_per_step": round(seconds * 1e3, 3),
                "gflops": round(gflops, 2),
                "fraction_of_peak": round(gflops / peaks[threads], 4),
            }
        torch.set_num_threads(1)
        row["profile"] = stepper.profiled()
        row["why"] = why(row["profile"], row["gflop_per_step"], peaks[1])
        results.append(row)
        print(json.dumps(row), flush=True)
    record = {
        **environment(1),
        "thread_counts": thread_counts,
        "steps_limit": args.steps,
        "seconds_limit": args.seconds,
        "peak_gflops": {str(k): v for k, v in peaks.items()},
        "seconds": round(time.perf_counter() - started, 1),
        # another process on the cores lowers every number here: a quiet machine reads near 0 before and after
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "results": results,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(record, indent=2) + "\n")
    if args.docs:
        write_docs_section("Against the limit", markdown(record))
    print(f"wrote {args.results}" + (" and the 'Against the limit' section of docs/benchmarks.md" if args.docs else ""))


def markdown(record: dict) -> str:
    machine, versions = record["machine"], record["versions"]
    counts = record["thread_counts"]
    header = "| model | batch | GFLOP per step |"
    rule = "| --- | ---: | ---: |"
    for threads in counts:
        header += f" ms per step ({threads} thr) | GFLOP/s ({threads} thr) | of peak ({threads} thr) |"
        rule += " ---: | ---: | ---: |"
    lines = [
        "`GENLAB_DATA=../shared/datasets python benchmarks/roofline.py` (about 3 minutes) measures, for each "
        "model's default settings on MNIST-5k, the FLOPs of one full training step (torch's FlopCounterMode over "
        "forward, backward and the optimiser: matrix products and convolutions, not elementwise work), the "
        f"GFLOP/s achieved over a timed loop of the model's own batches (up to {record.get('steps_limit', 300)} "
        f"steps after {WARMUP} of warm-up, stopping after {record.get('seconds_limit', 8):g} s), and the "
        "fraction of this machine's peak, a 2048^3 float32 matmul on the same threads in the same run: "
        + ", ".join(f"{record['peak_gflops'][str(t)]:.0f} GFLOP/s on {t} thread{'s' if t > 1 else ''}" for t in counts)
        + ".",
        "",
        f"Machine: {machine['processor']}, {machine['cpus']} cores; genlab {versions['genlab']}, torch "
        f"{versions['torch']}, Python {versions['python']}; {record['date']}; the whole run took "
        f"{record['seconds']:.0f} s; load average {record['load_average_before']:.1f} before, "
        f"{record['load_average_after']:.1f} after.",
        "",
        header,
        rule,
    ]
    for r in record["results"]:
        line = f"| {r['model']} | {r['batch_size']} | {r['gflop_per_step']:.3f} |"
        for threads in counts:
            run = r["runs"][str(threads)]
            line += f" {run['ms_per_step']:.2f} | {run['gflops']:.1f} | {run['fraction_of_peak']:.0%} |"
        lines.append(line)
    lines += [
        "",
        "Why each sits below the peak (torch.profiler, 10 steps on one thread, shares of the step's time):",
        "",
    ]
    for r in record["results"]:
        tops = ", ".join(f"{t['op']} {t['self_cpu_share']:.0%}" for t in r["profile"]["top_ops"][:3])
        lines.append(f"- {r['model']}: {r['why']}. Top operators by self time: {tops}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
