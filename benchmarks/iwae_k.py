"""How many importance samples K and test images the VAE's IWAE bound needs: bias and standard errors.

The final summary of `genlab train vae` reports test_nll_iwae, -L_K averaged over test images. Its cost is
K x images decoder passes, and two errors shrink with them: the bias of L_K below log p(x) (falls with K;
measured here against L_5000 on the same images) and the standard error of the mean, from the Monte Carlo
draws (repeat the bound with fresh draws) and from which test images are averaged (the spread of per-image
bounds over sqrt(images)). A default VAE is trained on MNIST-5k first (or `--run` names one).

    GENLAB_DATA=../shared/datasets python benchmarks/iwae_k.py [--run RUN] [--images 200] [--threads 1]

writes benchmarks/results/iwae_k.json and the 'VAE: IWAE samples and images' section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import torch
from _docs import write_docs_section
from suites import environment

import genlab

ROOT = Path(__file__).resolve().parents[1]
KS = [1, 10, 50, 100, 200, 500, 1000]
REFERENCE_K = 5000
REPEATS = 2  # independent draws of every K (K < REFERENCE_K): their spread is the Monte Carlo error


def bounds(family, model, x: torch.Tensor, k: int) -> torch.Tensor:
    """L_K per image [N] (float64), in batches of 100 images."""
    return torch.cat([family.likelihood_bounds(model, x[i : i + 100], k)[0] for i in range(0, len(x), 100)])


def measure(run: genlab.Run, images: int) -> dict:
    loaded = run.loaded
    family, model = loaded.family, loaded.model
    model.eval()
    x = family.data.test.inputs(slice(0, images))
    torch.manual_seed(0)
    started = time.perf_counter()
    reference = bounds(family, model, x, REFERENCE_K)
    rows = []
    for k in KS:
        draws = []
        seconds = time.process_time()  # CPU time: robust on a shared machine, equal to wall time on one thread
        for _ in range(REPEATS):
            draws.append(bounds(family, model, x, k))
        seconds = (time.process_time() - seconds) / REPEATS
        draws = torch.stack(draws)  # [repeats, N]
        means = draws.mean(1)  # the reported number of each repeat: mean over images
        rows.append(
            {
                "k": k,
                "nll": round(-float(means.mean()), 3),
                "bias_vs_reference": round(float((reference - draws.mean(0)).mean()), 3),
                # Monte Carlo standard error of the image mean, from the per-image spread of the repeats
                "mc_standard_error": round(float(draws.std(0).pow(2).mean().sqrt() / math.sqrt(images)), 4),
                # which images: the spread of per-image bounds over sqrt(N), for N = images, 1,000 and 10,000
                "image_sd": round(float(draws[0].std()), 2),
                "cpu_seconds_per_1000_images": round(seconds * 1000 / images, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return {
        "images": images,
        "reference_k": REFERENCE_K,
        "reference_nll": round(-float(reference.mean()), 3),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained VAE run folder (default: train the default VAE on MNIST-5k)")
    parser.add_argument("--images", type=int, default=200, help="test images of the study (the first N)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.run or genlab.train("vae", data="mnist", out=f"{scratch}/vae", quiet=True, device="cpu").path
        result = measure(genlab.load(folder), args.images)
    record = {**environment(args.threads), "run": str(args.run or "default vae, MNIST-5k"), **result}
    target = ROOT / "benchmarks" / "results" / "iwae_k.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2) + "\n")
    write_docs_section("VAE: IWAE samples and images", markdown(record))
    print(f"wrote {target} and the 'VAE: IWAE samples and images' section of docs/benchmarks.md")


def markdown(record: dict) -> str:
    machine, versions = record["machine"], record["versions"]
    n = record["images"]
    lines = [
        "`GENLAB_DATA=../shared/datasets python benchmarks/iwae_k.py` computes the IWAE bound L_K of a default "
        f"`vae` trained on MNIST-5k on the first {n} test images for each K, {REPEATS} independent draws each, "
        f"against L_{record['reference_k']} on the same images (-L_{record['reference_k']} = "
        f"{record['reference_nll']:.2f} nats). Bias: how far -L_K lies above -L_{record['reference_k']}. "
        "Monte Carlo error: the standard error of the image mean from the draws alone. Image error: the "
        "spread of per-image bounds over sqrt(N), the error of averaging N test images instead of all.",
        "",
        f"Machine: {machine['processor']}, {machine['cpus']} cores, `OMP_NUM_THREADS={machine['threads']}`; "
        f"genlab {versions['genlab']}, torch {versions['torch']}, Python {versions['python']}; {record['date']}.",
        "",
        "| K | -L_K, nats | bias, nats | Monte Carlo SE, nats (N = 1,000) | image SE N = 1,000 | image SE "
        "N = 10,000 | CPU s per 1,000 images |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in record["rows"]:
        mc_1000 = r["mc_standard_error"] * math.sqrt(n / 1000)
        lines.append(
            f"| {r['k']} | {r['nll']:.2f} | {r['bias_vs_reference']:.2f} | {mc_1000:.3f} | "
            f"{r['image_sd'] / math.sqrt(1000):.2f} | {r['image_sd'] / math.sqrt(10000):.2f} | "
            f"{r['cpu_seconds_per_1000_images']:.2f} |"
        )
    lines += [
        "",
        "`genlab train vae` bounds with K = 100 on the first 500 test images by default (docs/vae.md says why); "
        "`--iwae-k 1000 --iwae-images none` is the full version.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
