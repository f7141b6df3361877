"""Inversion and latent paths of MLP GANs on MNIST-5k, with and without the path-speed regulariser.

    GENLAB_DATA=../shared/datasets python benchmarks/gan_paths.py [--epochs N] [--path-reg W]

Trains `gan` twice (path_reg 0 and W, same seed and epochs), then for each run:
inverts 8 test images and 8 of its own samples (5 restarts), and optimises the
latent path between PAIRS of test images. Writes benchmarks/results/gan_paths.json and the
'GAN inversion and latent paths' section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from _docs import write_docs_section
from genlab import __version__
from genlab.latent.invert import invert_run
from genlab.latent.paths import path_run
from genlab.models.registry import get_model
from genlab.train import engine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "gan_paths.json"
RUNS = HERE / ".runs"
# Test-set index pairs: (7, 2), (2, 1), (1, 0), (0, 4), (4, 1) are the digits of the first test images.
PAIRS = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5))


def measure(run: Path) -> dict:
    test, _, _ = invert_run(run, "0:8", restarts=5, steps=500, device="cpu")
    own, _, _ = invert_run(run, "0:8", restarts=5, steps=500, generated=True, device="cpu")
    paths = [path_run(run, a, b, points=8, steps=300, restarts=4, device="cpu")[0] for a, b in PAIRS]

    def mean(path: str, key: str) -> float:
        return float(np.mean([p[path][key] for p in paths]))

    return {
        "inversion": {
            "test_median_best_loss": test["median_best_loss"],
            "generated_median_best_loss": own["median_best_loss"],
            "ratio": test["median_best_loss"] / max(own["median_best_loss"], 1e-12),
            "test_targets_with_unique_minimiser": test["targets_with_unique_minimiser"],
            "generated_true_latent_relative_error": float(
                np.median([t["true_latent_relative_error"] for t in own["targets"]])
            ),
        },
        "paths": {
            "pairs": [list(p) for p in PAIRS],
            **{
                f"{path}_{key}": mean(path, key)
                for path in ("straight", "optimised")
                for key in ("U", "U_refined", "image_length", "latent_length")
            },
            "mean_U_ratio_optimised_to_straight": float(np.mean([p["U_ratio_optimised_to_straight"] for p in paths])),
        },
    }


def markdown(results: dict) -> str:
    """The 'GAN inversion and latent paths' section of docs/benchmarks.md."""
    runs = results["runs"]
    lines = [
        f"`GENLAB_DATA=../shared/datasets python benchmarks/gan_paths.py` trains the MLP `gan` on MNIST-5k for "
        f"{results['epochs']} epochs twice, without and with the path-speed regulariser (`--path-reg`), then "
        "inverts 8 test images and 8 of the GAN's own samples (5 restarts of 500 steps each) and optimises the "
        "latent path (8 interior points, 4 restarts) between the test-image pairs "
        + ", ".join(f"({a}, {b})" for a, b in results["runs"][next(iter(runs))]["paths"]["pairs"])
        + f". {results['machine']['torch_threads']} torch thread, {results['machine']['cpu_count']}-core machine, "
        f"genlab {results['versions']['genlab']}, torch {results['versions']['torch']}, {results['date']}; "
        f"{results['total_seconds']:.0f} s in all. U is the discretised energy of docs/gan.md, lengths are "
        "summed over the path's segments; means over the pairs.",
        "",
        "| run | class entropy | inversion: median best loss, test images | own samples | ratio | "
        "own samples: distance of the found z from the true z (relative) | straight U | optimised U | "
        "optimised / straight U | straight image length | optimised image length |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, run in runs.items():
        inv, paths = run["inversion"], run["paths"]
        lines.append(
            f"| `{name}` | {run['sample_class_entropy']:.3f} | {inv['test_median_best_loss']:.2f} | "
            f"{inv['generated_median_best_loss']:.4f} | {inv['ratio']:.0f}x | "
            f"{inv['generated_true_latent_relative_error']:.2f} | {paths['straight_U']:.0f} | "
            f"{paths['optimised_U']:.0f} | {paths['mean_U_ratio_optimised_to_straight']:.2f} | "
            f"{paths['straight_image_length']:.2f} | {paths['optimised_image_length']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--path-reg", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--docs-only", action="store_true", help="rewrite the docs section from the saved JSON")
    args = parser.parse_args()
    if args.docs_only:
        write_docs_section("GAN inversion and latent paths", markdown(json.loads(RESULTS.read_text())))
        return
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    results = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        "versions": {"genlab": __version__, "torch": torch.__version__},
        "date": datetime.date.today().isoformat(),
        "epochs": args.epochs,
        "runs": {},
    }
    spec = get_model("gan")
    for weight in (0.0, args.path_reg):
        config = spec.make_config(data="mnist", epochs=args.epochs, path_reg=weight, device="cpu")
        result = engine.train(spec, config, out=RUNS / f"gan-mnist-path-reg-{weight:g}", overwrite=True, progress=False)
        entry = {
            "train_seconds": result.summary["seconds"],
            **{k: result.summary.get(k) for k in ("sample_class_entropy", "sample_mean_confidence")},
            **measure(result.run.path),
        }
        results["runs"][f"path_reg={weight:g}"] = entry
        print(json.dumps({f"path_reg={weight:g}": entry}), flush=True)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    write_docs_section("GAN inversion and latent paths", markdown(results))
    print(f"wrote {RESULTS} and its section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
