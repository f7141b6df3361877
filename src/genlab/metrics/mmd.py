"""Maximum mean discrepancy (Gretton et al. 2012) with a permutation test, and KID.

With a kernel k, A = {x_i} (n points) and B = {y_j} (m points):
    MMD^2_u = 1/(n(n-1)) sum_{i!=i'} k(x_i, x_i') + 1/(m(m-1)) sum_{j!=j'} k(y_j, y_j')
              - 2/(nm) sum_{i,j} k(x_i, y_j)                    (unbiased; may be negative)
    MMD^2_b = the same with the diagonal terms kept and 1/n^2, 1/m^2   (biased, >= 0)
The Gaussian kernel is k(x, y) = exp(-||x - y||^2 / (2 sigma^2)). The median
heuristic sets sigma = the median of the pairwise Euclidean distances ||z - z'||
over the pooled sample A u B (all pairs of distinct points; the lower median;
over a seeded subset of MEDIAN_POINTS pooled points when the pool is larger).

The pooled kernel matrix is never held whole: it is computed once, block by
block (upper-triangle blocks only: it is symmetric), and each block is
multiplied at once into every permutation's labels, so a permutation test costs
one extra matrix product per block rather than a new kernel matrix. Sums are
accumulated in float64; kernel values are float32 (the pooled sample is centred
first, which keeps the distance expansion accurate).

KID (Binkowski et al. 2018) is MMD^2_u with the cubic kernel
k(x, y) = (x.y / d + 1)^3, here over all pairs (no subsets).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.metrics.checks import check_pair, check_points
from genlab.metrics.distances import as_tensor, centre, row_blocks, squared_distances
from genlab.metrics.result import SYMMETRIC, Estimate

#: The median heuristic looks at all pairs of at most this many pooled points.
MEDIAN_POINTS = 4096
#: Rows (and columns) per kernel block: 4096^2 float32 = 64 MB.
KERNEL_BLOCK = 4096


def upper_blocks(z: torch.Tensor, norms: torch.Tensor, block: int) -> dict[tuple[int, int], torch.Tensor]:
    """Squared distances of the pooled points z [N, d] in the blocks (I, J), J >= I, of `block` rows:
    the upper half of the symmetric [N, N] matrix, keyed by (I.start, J.start)."""
    blocks = list(row_blocks(len(z), block))
    return {
        (rows.start, cols.start): squared_distances(z[rows], z[cols], norms[rows], norms[cols])
        for index, rows in enumerate(blocks)
        for cols in blocks[index:]
    }


def lower_median(values: torch.Tensor) -> float:
    """The lower median of a 1-D tensor (numpy's introselect on the CPU, kthvalue on a GPU)."""
    k = (len(values) - 1) // 2
    if values.device.type == "cpu":
        return float(np.partition(values.numpy(), k)[k])
    return float(values.kthvalue(k + 1).values)


def median_heuristic(
    z: torch.Tensor,
    seed: int = 0,
    max_points: int = MEDIAN_POINTS,
    blocks: dict[tuple[int, int], torch.Tensor] | None = None,
) -> float:
    """Median pairwise Euclidean distance of the pooled points z [N, d]: the lower median over
    the N(N-1)/2 pairs of distinct points (a seeded subset of `max_points` rows when N is
    larger). `blocks` may pass the squared distances from `upper_blocks` of all of z."""
    if blocks is None:
        if len(z) > max_points:
            generator = torch.Generator().manual_seed(seed)
            z = z[torch.randperm(len(z), generator=generator)[:max_points].to(z.device)]
        norms = (z * z).sum(1)
        blocks = upper_blocks(z, norms, len(z))
    pairs = []
    for (row, col), d2 in blocks.items():
        if row == col:  # a diagonal block: its strict upper triangle
            upper = torch.triu_indices(len(d2), len(d2), offset=1, device=d2.device)
            pairs.append(d2[upper[0], upper[1]])
        else:
            pairs.append(d2.flatten())
    return math.sqrt(max(lower_median(torch.cat(pairs)), 0.0))


def permutation_labels(n: int, m: int, permutations: int, seed: int, device) -> torch.Tensor:
    """Label matrix S [n+m, 2+P] (float32): column 0 all ones, column 1 the observed split
    (first n rows are A), columns 2.. seeded random splits with n points labelled A."""
    total = n + m
    labels = torch.zeros(total, 2 + permutations)
    labels[:, 0] = 1.0
    labels[:n, 1] = 1.0
    if permutations:
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.rand(permutations, total, generator=generator).argsort(1)[:, :n]
        labels[:, 2:].T.scatter_(1, chosen, 1.0)
    return labels.to(device)


def kernel_times_labels(
    kernel_block: Callable[[slice, slice], torch.Tensor], total: int, labels: torch.Tensor, block: int = KERNEL_BLOCK
) -> torch.Tensor:
    """U = K0 @ S [N, C] (float64), with K0 the pooled kernel matrix with its diagonal set to 0.

    `kernel_block(I, J)` returns the kernel values [|I|, |J|] of row blocks I and J; only
    blocks with J >= I are requested (K is symmetric) and each is used for every column of S.
    """
    out = torch.zeros(total, labels.shape[1], dtype=torch.float64, device=labels.device)
    blocks = list(row_blocks(total, block))
    for index, rows in enumerate(blocks):
        for cols in blocks[index:]:
            values = kernel_block(rows, cols)
            if rows == cols:
                values.fill_diagonal_(0.0)
                out[rows] += (values @ labels[cols]).double()
            else:
                out[rows] += (values @ labels[cols]).double()
                out[cols] += (values.T @ labels[rows]).double()
    return out


def split_statistics(products: torch.Tensor, labels: torch.Tensor, n: int, m: int) -> dict[str, torch.Tensor]:
    """From U = K0 @ S: for each split column c >= 1 the off-diagonal kernel sums within A (AA),
    within B (BB) and across (AB), and the unbiased MMD^2 of that split."""
    total = products[:, 0].sum()  # 1' K0 1
    within_a = (labels[:, 1:].double() * products[:, 1:]).sum(0)  # s' K0 s
    across = products[:, 1:].sum(0) - within_a  # 1' K0 s - s' K0 s
    within_b = total - within_a - 2 * across
    unbiased = within_a / (n * (n - 1)) + within_b / (m * (m - 1)) - 2 * across / (n * m)
    return {"within_a": within_a, "within_b": within_b, "across": across, "unbiased": unbiased}


def _permutation_p_value(unbiased: torch.Tensor) -> float:
    observed, null = unbiased[0], unbiased[1:]
    return float((1 + (null >= observed).sum()) / (1 + len(null)))


def gaussian_mmd(
    x,
    y,
    bandwidth: float | None = None,
    permutations: int = 0,
    seed: int = 0,
    device: str | torch.device = "cpu",
    block: int = KERNEL_BLOCK,
) -> tuple[Estimate, Estimate]:
    """Gaussian-kernel MMD^2 between A = x [n, d] and B = y [m, d]: (unbiased, biased) Estimates.

    `bandwidth` is sigma (data units); None uses the median heuristic. With
    `permutations` > 0 the unbiased estimate carries a permutation-test p-value
    (1 + #{permuted >= observed}) / (1 + P) in `extra['p_value']`.
    """
    a, b = check_pair(x, y)
    check_points(len(a), 2, "A", "the unbiased MMD^2")
    check_points(len(b), 2, "B", "the unbiased MMD^2")
    if bandwidth is not None and not bandwidth > 0:
        raise GenlabError(f"--bandwidth must be > 0, got {bandwidth}")
    if permutations < 0:
        raise GenlabError(f"--permutations must be >= 0, got {permutations}")
    n, m = len(a), len(b)
    z = torch.cat(centre(as_tensor(a, device), as_tensor(b, device)))
    norms = (z * z).sum(1)
    total = n + m
    if total <= MEDIAN_POINTS:
        # Small pools: the upper half of the distance matrix is kept (two blocks of rows, so
        # three products instead of four) and serves both the median and the kernel.
        block = (total + 1) // 2
        cached = upper_blocks(z, norms, block)
    else:
        cached = None
    if bandwidth is None:
        sigma = median_heuristic(z, seed, blocks=cached)
        rule = "median heuristic: sigma = median pairwise distance over the pooled sample" + (
            "" if total <= MEDIAN_POINTS else f" (seeded subset of {MEDIAN_POINTS} points)"
        )
    else:
        sigma, rule = float(bandwidth), "given"
    if sigma == 0:
        raise GenlabError("the median pairwise distance is 0 (most points coincide); pass --bandwidth")
    scale = -1.0 / (2.0 * sigma * sigma)

    def kernel_block(rows: slice, cols: slice) -> torch.Tensor:
        if cached is not None:
            return (cached[rows.start, cols.start] * scale).exp_()
        return squared_distances(z[rows], z[cols], norms[rows], norms[cols]).mul_(scale).exp_()

    labels = permutation_labels(n, m, permutations, seed, z.device)
    stats = split_statistics(kernel_times_labels(kernel_block, total, labels, block), labels, n, m)
    unbiased = float(stats["unbiased"][0])
    # The V-statistic adds the diagonal, k(x, x) = 1 for the Gaussian kernel.
    biased = float(
        (stats["within_a"][0] + n) / n**2 + (stats["within_b"][0] + m) / m**2 - 2 * stats["across"][0] / (n * m)
    )
    settings = {
        "kernel": "gaussian",
        "sigma": sigma,
        "bandwidth_rule": rule,
        "permutations": permutations,
        "seed": seed,
        "n_a": n,
        "n_b": m,
    }
    extra_u = {}
    notes_u = []
    if permutations:
        extra_u["p_value"] = _permutation_p_value(stats["unbiased"])
        extra_u["null_mean"] = float(stats["unbiased"][1:].mean())
        extra_u["null_std"] = float(stats["unbiased"][1:].std())
    if unbiased < 0:
        notes_u.append("negative: the unbiased estimate of a (near-)zero MMD^2 falls below 0 about half the time")
    unbiased_estimate = Estimate(
        "mmd2_unbiased",
        SYMMETRIC,
        unbiased,
        f"unbiased MMD^2 (U-statistic), Gaussian kernel sigma={sigma:.4g}",
        settings,
        notes_u,
        extra_u,
    )
    biased_estimate = Estimate(
        "mmd2_biased",
        SYMMETRIC,
        biased,
        f"biased MMD^2 (V-statistic), Gaussian kernel sigma={sigma:.4g}",
        dict(settings),
        [],
        {"mmd_biased": math.sqrt(max(biased, 0.0))},
    )
    return unbiased_estimate, biased_estimate


def kid(
    x, y, permutations: int = 0, seed: int = 0, device: str | torch.device = "cpu", block: int = KERNEL_BLOCK
) -> Estimate:
    """Kernel inception distance between feature sets x [n, d] and y [m, d]: the unbiased MMD^2
    with the cubic polynomial kernel (x.y/d + 1)^3, over all pairs."""
    a, b = check_pair(x, y)
    check_points(len(a), 2, "A", "KID")
    check_points(len(b), 2, "B", "KID")
    n, m = len(a), len(b)
    # The polynomial kernel is not translation invariant: no centring; float64 keeps the cube exact enough.
    z = torch.cat([as_tensor(a, device, torch.float64), as_tensor(b, device, torch.float64)])
    dim = z.shape[1]

    def kernel_block(rows: slice, cols: slice) -> torch.Tensor:
        return (z[rows] @ z[cols].T / dim + 1.0).pow_(3)

    labels = permutation_labels(n, m, permutations, seed, z.device).double()
    stats = split_statistics(kernel_times_labels(kernel_block, n + m, labels, block), labels, n, m)
    extra = {"p_value": _permutation_p_value(stats["unbiased"])} if permutations else {}
    return Estimate(
        "kid",
        SYMMETRIC,
        float(stats["unbiased"][0]),
        "KID: unbiased MMD^2, cubic kernel (x.y/d + 1)^3, all pairs",
        {"kernel": "polynomial degree 3", "permutations": permutations, "n_a": n, "n_b": m},
        [],
        extra,
    )
