"""Precision, recall, density and coverage of a generated set B against a reference set A.

With r_k(x) the distance from a point to its k-th nearest neighbour within its own set
(the point itself excluded, exact copies counted at distance 0), and B(x, r) the *open*
ball {y : ||y - x|| < r} (the strict `<` of the reference implementation of Naeem et al.,
github.com/clovaai/generative-evaluation-prdc; a point with k copies has an empty ball):
- precision (Kynkaanniemi et al. 2019): the fraction of B inside the union of balls
  B(x_i, r_k(x_i)) around the reference points: "how much of B looks real";
- recall (same paper): the fraction of A inside the union of balls B(y_j, r_k(y_j))
  around the generated points: "how much of A does B reach";
- density (Naeem et al. 2020): 1/(k m) sum_j #{i : y_j in B(x_i, r_k(x_i))}, the mean
  number of reference balls holding a generated point over k; 1 in expectation when
  B and A share one distribution, above 1 when B crowds into dense regions of A;
- coverage (Naeem et al. 2020): the fraction of reference points whose ball holds at
  least one generated point. For identical distributions its expectation is
  1 - prod_{i=1..k} (n - i) / (n + m - i)  (about 1 - 2^-k for m = n).
All four are in [0, 1] except density. Distances are Euclidean in the chosen space.

Ties are decided exactly: candidates come from the fast expansion ||x||^2 + ||y||^2 - 2 x.y,
but every radius, and every comparison whose expanded distance lies within the expansion's
rounding error of the radius, is recomputed by direct differences in float64 from the
given values, one arithmetic for both (`distances.pair_distances`). So y = x_j at the
k-th neighbour distance of x_i is on the boundary, never inside: prdc(x, x) has density
exactly 1 (k copies strictly inside each of the n balls).
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.metrics.checks import check_pair, check_points
from genlab.metrics.distances import (
    as_tensor,
    centre,
    expansion_error,
    kth_neighbour_distance,
    pair_distances,
    row_blocks,
    squared_distances,
)
from genlab.metrics.result import B_GIVEN_A, Estimate

DEFAULT_K = 5


def expected_coverage(n: int, m: int, k: int) -> float:
    """E[coverage] when A (n points) and B (m points) come from one distribution (Naeem et al. 2020)."""
    return 1.0 - float(np.prod([(n - i) / (n + m - i) for i in range(1, k + 1)]))


def _strictly_inside(
    d2: torch.Tensor,
    radius_fast: torch.Tensor,
    radius: torch.Tensor,
    tolerance: torch.Tensor,
    exact_rows: torch.Tensor,
    exact_cols: torch.Tensor,
    row_offset: int,
) -> torch.Tensor:
    """[rows, cols] bool: distance < radius (float64, broadcast to [rows, cols]), read from the
    expanded squared distances d2 (radius_fast: the radii in d2's dtype) except where d2 is within
    `tolerance` of radius^2: there the exact distance decides."""
    r2 = radius_fast * radius_fast
    inside = d2 < r2
    near = ((d2 - r2).abs() <= tolerance).nonzero()
    if len(near):
        exact = pair_distances(exact_rows, exact_cols, near[:, 0] + row_offset, near[:, 1])
        inside[near[:, 0], near[:, 1]] = exact < radius.expand_as(d2)[near[:, 0], near[:, 1]]
    return inside


def prdc(x, y, k: int = DEFAULT_K, device: str | torch.device = "cpu", block: int = 2048) -> list[Estimate]:
    """[precision, recall, density, coverage] of B = y [m, d] relative to the reference A = x [n, d]."""
    a, b = check_pair(x, y)
    why = f"precision/recall with k={k}"
    check_points(len(a), k + 1, "A", why)
    check_points(len(b), k + 1, "B", why)
    n, m = len(a), len(b)
    dtype = torch.float64 if a.shape[1] <= 64 else torch.float32
    exact_a, exact_b = as_tensor(a, device, torch.float64), as_tensor(b, device, torch.float64)
    ta, tb = centre(as_tensor(a, device, dtype), as_tensor(b, device, dtype))
    radius_a = kth_neighbour_distance(ta, k, exact_a)  # float64, exact
    radius_b = kth_neighbour_distance(tb, k, exact_b)
    norms_a, norms_b = (ta * ta).sum(1), (tb * tb).sum(1)
    radius_a_fast, radius_b_fast = radius_a.to(dtype), radius_b.to(dtype)
    # Comparisons closer to a radius than the expansion's rounding error are recomputed exactly.
    unit = expansion_error(dtype, a.shape[1])
    inside_count = torch.zeros(m, dtype=torch.long, device=ta.device)  # reference balls holding y_j
    covered = torch.zeros(n, dtype=torch.bool, device=ta.device)  # x_i's ball holds some y
    recalled = torch.zeros(n, dtype=torch.bool, device=ta.device)  # x_i inside some y's ball
    for rows in row_blocks(m, block):
        d2 = squared_distances(tb[rows], ta, norms_b[rows], norms_a)  # [rows, n], in dtype
        tolerance = unit * (norms_b[rows, None] + norms_a[None, :])
        in_reference_ball = _strictly_inside(
            d2, radius_a_fast[None, :], radius_a[None, :], tolerance, exact_b, exact_a, rows.start
        )
        inside_count[rows] = in_reference_ball.sum(1)
        covered |= in_reference_ball.any(0)
        recalled |= _strictly_inside(
            d2, radius_b_fast[rows, None], radius_b[rows, None], tolerance, exact_b, exact_a, rows.start
        ).any(0)
    settings = {"k": k, "reference": "A", "n_a": n, "n_b": m, "balls": "open (distance < radius)"}
    values = {
        "precision": float((inside_count > 0).double().mean()),
        "recall": float(recalled.double().mean()),
        "density": float(inside_count.double().sum() / (k * m)),
        "coverage": float(covered.double().mean()),
    }
    papers = {
        "precision": "Kynkaanniemi et al. 2019",
        "recall": "Kynkaanniemi et al. 2019",
        "density": "Naeem et al. 2020",
        "coverage": "Naeem et al. 2020",
    }
    return [
        Estimate(
            name, B_GIVEN_A, value, f"{name} of B against reference A, k={k} balls ({papers[name]})", dict(settings)
        )
        for name, value in values.items()
    ]
