"""The whole command against its training loop: what `genlab train MODEL` costs beyond the optimisation steps.

A user waits for the command, not for the loop. For each model's defaults on MNIST-5k, `genlab train MODEL
--data mnist -q` runs as its own process (one thread, a fresh run folder) and is timed from outside (wall and
CPU seconds); its summary gives the engine's own clocks: `train_seconds` (the optimisation steps alone) and
`seconds` (training with its per-epoch evaluations). The rest of the wall time is start-up (imports, data),
the final evaluation of the family (test numbers, IWAE bound, kNN of codes, judged samples) and figures.
The GANs are judged by a stored MNIST judge, trained first into this benchmark's private cache; its own
command is timed too, as the once-per-dataset cost a user pays before judged GAN runs. Beside each command,
benchmarks/fair_loop.py MODEL is timed the same way: a standalone script that trains the same network for the
same epochs (its own interpreter start, torch import and data loading, no evaluation, no figures). Where the
steps take a second or two, start-up alone exceeds 1.5x of them; whole / script is then the fair ratio.

    GENLAB_DATA=../shared/datasets python benchmarks/whole_command.py [--models logreg mlp ...] [--threads 1]
    (a smoke check: --models logreg --results /tmp/whole.json --no-docs)

writes benchmarks/results/whole_command.json and the 'Whole command' section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from _docs import write_docs_section
from suites import environment, timed

ROOT = Path(__file__).resolve().parents[1]
FAIR_LOOP = Path(__file__).resolve().parent / "fair_loop.py"
MODELS = ["logreg", "mlp", "cnn", "ae", "vae", "gan", "dcgan"]
TARGET = 1.5  # issue 19: the whole command within 1.5x its training loop


def measure(model: str, scratch: Path, threads: int) -> dict:
    out = scratch / model
    result = timed(["train", model, "--data", "mnist", "--device", "cpu", "-q", "-o", str(out)], threads)
    summary = json.loads((out / "summary.json").read_text())
    script = timed([model, "--data", "mnist"], threads, script=FAIR_LOOP)
    return {
        "model": model,
        "wall_seconds": result["wall_seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "train_seconds": round(summary["train_seconds"], 1),
        "training_seconds": round(summary["seconds"], 1),
        "ratio": round(result["wall_seconds"] / summary["train_seconds"], 2),
        "script_wall_seconds": script["wall_seconds"],
        "script_cpu_seconds": script["cpu_seconds"],
        "script_ratio": round(result["wall_seconds"] / script["wall_seconds"], 2),
        "load_average_before": result["load_average_before"],
        "load_average_after": result["load_average_after"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of the measured commands")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "whole_command.json")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=True, help="rewrite the docs section")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        os.environ["GENLAB_CACHE"] = str(scratch / "cache")  # a private judge, trained here, read by the GANs
        judge = None
        if any(m in ("gan", "gan-leaky", "dcgan", "wgan-gp", "cgan") for m in args.models):
            judge = timed(["judge", "train", "--data", "mnist", "-q"], args.threads)
            print(json.dumps(judge))
        results = []
        for model in args.models:
            results.append(measure(model, scratch, args.threads))
            print(json.dumps(results[-1]))
    record = {
        **environment(args.threads),
        "judge": judge,
        "results": results,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(record, indent=2) + "\n")
    if args.docs:
        write_docs_section("Whole command", markdown(record))
    print(f"wrote {args.results}" + (" and the 'Whole command' section of docs/benchmarks.md" if args.docs else ""))


def markdown(record: dict) -> str:
    machine, versions = record["machine"], record["versions"]
    lines = [
        "`GENLAB_DATA=../shared/datasets python benchmarks/whole_command.py` times `genlab train MODEL --data "
        "mnist` with each model's defaults (MNIST-5k: 4,500 training and 500 validation images, the 10,000 test "
        "images) as its own process, beside the engine's clocks from the run's summary: the optimisation steps "
        "alone (`train_seconds`) and training with its per-epoch evaluations (`seconds`). The rest of the wall "
        "time is start-up, the family's final evaluation and its figures. Issue 19's target: the whole command "
        f"within {TARGET}x its training loop. Beside it, `benchmarks/fair_loop.py MODEL` as its own process: "
        "a standalone script that trains the same network for the same epochs and nothing else (interpreter "
        "start, importing torch, reading the data, building the network and the optimiser, the steps). Where the "
        "steps take a few seconds or less, that start-up alone exceeds half the steps and no command can be "
        f"within {TARGET}x of them; whole / script is then the fair ratio.",
        "",
        f"Machine: {machine['processor']}, {machine['cpus']} cores, `OMP_NUM_THREADS={machine['threads']}`; "
        f"genlab {versions['genlab']}, torch {versions['torch']}, Python {versions['python']}; {record['date']}.",
        "",
        "| model | whole command, wall s | CPU s | optimisation steps s | training with evaluations s "
        f"| whole / steps | within {TARGET}x | standalone script, wall s | its CPU s | whole / script | "
        "load before / after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in record["results"]:
        met = "yes" if r["ratio"] <= TARGET else "**no**"
        lines.append(
            f"| {r['model']} | {r['wall_seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['train_seconds']:.1f} | "
            f"{r['training_seconds']:.1f} | {r['ratio']:.2f} | {met} | {r['script_wall_seconds']:.1f} | "
            f"{r['script_cpu_seconds']:.1f} | "
            f"{r['script_ratio']:.2f} | "
            f"{r['load_average_before']:.1f} / {r['load_average_after']:.1f} |"
        )
    over = [r for r in record["results"] if r["script_ratio"] > TARGET]
    lines += [
        "",
        f"Against the standalone script {len(record['results']) - len(over)} of {len(record['results'])} commands "
        f"are within {TARGET}x"
        + (": not " + ", ".join(f"{r['model']} ({r['script_ratio']:.2f}x)" for r in over) if over else "")
        + "; against the optimisation steps alone: "
        + (", ".join(r["model"] for r in record["results"] if r["ratio"] <= TARGET) or "none")
        + " (the runs long enough to hide start-up, about 2 s of importing, and the final evaluation).",
        "",
        "What the defaults do beyond the steps, and the flags for the full versions (issue 19, from profiles of "
        "each whole command): the validation/test curves during training evaluate the first 2,000 rows of each "
        "split (`--eval-images none`: whole splits; MNIST's 10,000 test images every epoch had cost as much as "
        "training on MNIST-5k), the final summaries still evaluate whole splits; autoencoders evaluate once per "
        "epoch (was twice); the VAE's IWAE bound uses K = 100 on 500 test images (`--iwae-k 1000 --iwae-images "
        "none` for the full version; section 'VAE: IWAE samples and images' measures the choice) with float32 "
        "pixel terms summed in float64, and draws at most 3 per-epoch reconstruction figures (`--epoch-figures "
        "none`: every epoch); the latent kNN accuracy, silhouette and PCA run in torch and numpy instead of "
        "importing scikit-learn. Left as they are: importing torch (about 1.3 s) and torch.optim's import of "
        "torch._dynamo when the first optimiser is built (both paid by the standalone script too), writing a "
        "checkpoint every epoch, and matplotlib (its import, about 1.2 s, and 0.1-0.25 s to save each figure: the "
        "default VAE's seven figures take about 1.7 s of its 15.8 s, which is what keeps it above 1.5x).",
    ]
    if record["judge"]:
        lines += [
            "",
            f"The GANs were judged by a stored MNIST judge; training it (`genlab judge train --data mnist`, once "
            f"per dataset) took {record['judge']['wall_seconds']:.0f} s wall, {record['judge']['cpu_seconds']:.0f} "
            "s CPU, not counted above.",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
