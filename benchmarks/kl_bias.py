"""Bias of the kNN KL estimators and false infinities of their support check, on pairs with a known KL.

    python benchmarks/kl_bias.py [--quick]

For d in 1, 2, 3, 5, 10, 20, 50 and n in 500, 2,000, 8,000 points per set (8,000 only up to
d = 10), two seeds per cell, each of genlab's estimators ('ensemble', 'knn' with k = 5,
'adaptive') on:
- N(0, vI) against N(0, I), variance ratios v = 2 and 4 (both directions; exact KL known);
- N(0, I) against N(e_1, diag(2, 0.5, 2, ...)) (both directions);
- N(0, I) against an independent N(0, I) (truth 0);
and the fraction of A that the support check puts outside B (at v = 2, 4, 16 and on two pairs
whose KL is infinite: N(0, I) against the uniform cube [0, 1]^d, and against N(0, I)
truncated to the ball holding 90% of its mass). Writes benchmarks/results/kl_bias.json and
prints the relative-error table that src/genlab/metrics/kl_bias.py holds. Takes about 30
minutes on one core (the 10-D, 8,000-point adaptive runs dominate).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from scipy.stats import chi2

from genlab.metrics.kl import knn_kl

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "kl_bias.json"
ESTIMATORS = ("ensemble", "knn", "adaptive")


def gaussian_kl(mean_p, var_p, mean_q, var_q) -> float:
    """KL(N(mean_p, diag var_p) || N(mean_q, diag var_q)) in nats."""
    return 0.5 * float(np.sum(var_p / var_q + (mean_q - mean_p) ** 2 / var_q - 1 + np.log(var_q / var_p)))


def pairs(d: int):
    """(case, mean and variance of P, of Q) for every measured pair of Gaussians."""
    zero, one = np.zeros(d), np.ones(d)
    shifted = np.eye(1, d)[0]
    mixed = np.where(np.arange(d) % 2 == 0, 2.0, 0.5)
    yield "same", (zero, one), (zero, one)
    for v in (2.0, 4.0, 16.0):
        yield f"var{v:g}", (zero, one * v), (zero, one)
    yield "shiftcov", (zero, one), (shifted, mixed)


def infinite_pairs(d: int, n: int, rng):
    """Pairs (name, A, B) whose KL(A||B) is infinite."""
    normal = rng.normal(size=(n, d))
    pool = rng.normal(size=(4 * n, d))
    inside = pool[np.linalg.norm(pool, axis=1) < np.sqrt(chi2.ppf(0.9, d))][:n]
    return [("normal||cube", normal, rng.uniform(size=(n, d))), ("normal||trunc90", normal, inside)]


def run(quick: bool) -> list[dict]:
    dims, sizes, seeds = ((1, 3), (500,), 1) if quick else ((1, 2, 3, 5, 10, 20, 50), (500, 2000, 8000), 2)
    rows = []
    for d in dims:
        for n in sizes:
            if n > 2000 and d > 10:
                continue
            for case, (mp, vp), (mq, vq) in pairs(d):
                if case == "var16" and n != 2000:
                    continue
                for seed in range(seeds):
                    rng = np.random.default_rng(1000 * seed + d + n)
                    x = mp + np.sqrt(vp) * rng.normal(size=(n, d))
                    y = mq + np.sqrt(vq) * rng.normal(size=(n, d))
                    truth = {"A||B": gaussian_kl(mp, vp, mq, vq), "B||A": gaussian_kl(mq, vq, mp, vp)}
                    for estimator in ESTIMATORS:
                        if case == "var16" and estimator != "ensemble":
                            continue
                        for e in knn_kl(x, y, estimator=estimator, support_tolerance=1.0):
                            rows.append(
                                {
                                    "d": d,
                                    "n": n,
                                    "case": case,
                                    "seed": seed,
                                    "estimator": estimator,
                                    "direction": e.direction,
                                    "truth": truth[e.direction],
                                    "value": e.value,
                                    "outside": e.extra["outside_support_fraction"],
                                }
                            )
                print(f"d={d} n={n} {case}", flush=True)
            for name, a, b in infinite_pairs(d, n, np.random.default_rng(d + n)):
                e = knn_kl(a, b, support_tolerance=1.0)[0]
                rows.append(
                    {
                        "d": d,
                        "n": n,
                        "case": name,
                        "estimator": e.settings["estimator"],
                        "direction": "A||B",
                        "truth": float("inf"),
                        "value": e.value,
                        "outside": e.extra["outside_support_fraction"],
                    }
                )
    return rows


def relative_error_table(rows: list[dict]) -> dict:
    """estimator -> {(d, n): (lowest, highest estimate / truth - 1)} over the variance-ratio 2 and 4
    and shifted-mean pairs, both directions (the table of src/genlab/metrics/kl_bias.py)."""
    cells = defaultdict(list)
    for r in rows:
        if r["case"] in ("var2", "var4", "shiftcov"):
            cells[(r["estimator"], r["d"], r["n"])].append(r["value"] / r["truth"] - 1)
    table = defaultdict(dict)
    for (estimator, d, n), errors in sorted(cells.items()):
        table[estimator][(d, n)] = (round(min(errors), 2), round(max(errors), 2))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two dimensions, 500 points, one seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = run(args.quick)
    for estimator, cells in relative_error_table(rows).items():
        print(f'"{estimator}": {{' + ", ".join(f"{cell}: {span}" for cell, span in cells.items()) + "},")
    outside = defaultdict(list)
    for r in rows:
        if r["direction"] == "A||B" and r["case"] != "shiftcov":
            outside[(r["case"], r["d"], r["n"])].append(r["outside"])
    for (case, d, n), fractions in sorted(outside.items()):
        print(f"outside support, {case:16s} d={d:<3} n={n:<5} {max(fractions):.3f}")
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
