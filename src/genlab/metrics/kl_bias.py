"""The measured bias of the kNN KL estimators, and the note genlab prints from it.

Measured by benchmarks/kl_bias.py on Gaussian pairs with a known KL: N(0, vI) against N(0, I)
for variance ratios v = 2 and 4 (both directions), and N(0, I) against N(e_1, diag(2, 0.5, 2,
...)) (both directions), two seeds per cell, n points in each set. A cell holds the smallest
and largest relative error, estimate / truth - 1 (-0.5: half the true value; below -1: a
negative estimate). The tables in docs/metrics.md are these numbers.
"""

from __future__ import annotations

#: estimator -> {(d, n): (lowest, highest relative error)}; 'knn' measured at k = 5.
RELATIVE_ERROR = {
    "ensemble": {
        (1, 500): (-0.73, 0.59),
        (1, 2000): (-0.34, 0.19),
        (1, 8000): (-0.24, 0.05),
        (2, 500): (-0.61, 0.22),
        (2, 2000): (-0.48, 0.01),
        (2, 8000): (-0.33, 0.01),
        (3, 500): (-0.76, 0.05),
        (3, 2000): (-0.55, 0.12),
        (3, 8000): (-0.45, 0.01),
        (5, 500): (-0.93, 0.14),
        (5, 2000): (-0.66, 0.31),
        (5, 8000): (-0.54, 0.08),
        (10, 500): (-0.87, 0.04),
        (10, 2000): (-0.82, 0.23),
        (10, 8000): (-0.71, 0.17),
        (20, 500): (-1.02, 1.09),
        (20, 2000): (-0.95, 0.22),
        (50, 500): (-1.02, 0.65),
        (50, 2000): (-0.96, 0.15),
    },
    "knn": {
        (1, 500): (-1.02, 1.27),
        (1, 2000): (-0.37, 0.19),
        (1, 8000): (-0.25, 0.03),
        (2, 500): (-0.71, 0.27),
        (2, 2000): (-0.56, 0.01),
        (2, 8000): (-0.42, 0.01),
        (3, 500): (-1.06, 0.12),
        (3, 2000): (-0.73, 0.04),
        (3, 8000): (-0.58, 0.10),
        (5, 500): (-1.22, 0.48),
        (5, 2000): (-0.98, 0.47),
        (5, 8000): (-0.77, 0.22),
        (10, 500): (-1.41, 0.65),
        (10, 2000): (-1.28, 0.56),
        (10, 8000): (-1.15, 0.43),
        (20, 500): (-1.62, 1.01),
        (20, 2000): (-1.52, 0.76),
        (50, 500): (-1.77, 1.04),
        (50, 2000): (-1.69, 0.90),
    },
    "adaptive": {
        (1, 500): (-0.88, 0.82),
        (1, 2000): (-0.33, 0.19),
        (1, 8000): (-0.23, 0.04),
        (2, 500): (-0.68, 0.19),
        (2, 2000): (-0.53, -0.00),
        (2, 8000): (-0.38, 0.01),
        (3, 500): (-1.00, 0.11),
        (3, 2000): (-0.66, 0.03),
        (3, 8000): (-0.55, 0.09),
        (5, 500): (-1.16, 0.39),
        (5, 2000): (-0.93, 0.42),
        (5, 8000): (-0.72, 0.19),
        (10, 500): (-1.37, 0.35),
        (10, 2000): (-1.27, 0.38),
        (10, 8000): (-1.14, 0.32),
        (20, 500): (-1.48, 0.26),
        (20, 2000): (-1.44, 0.26),
        (50, 500): (-1.38, -0.24),
        (50, 2000): (-1.41, -0.13),
    },
}
#: A cell whose worst relative error exceeds this gets the bias note.
WARN_ABOVE = 0.25


def measured_cell(estimator: str, d: int, n: int) -> tuple[int, int]:
    """The table cell that speaks for (d, n): the smallest measured dimension >= d (else the
    largest) and the largest measured size <= n (else the smallest). Bias grows with d and
    shrinks with n, so the cell errs on the side of more bias."""
    table = RELATIVE_ERROR[estimator]
    dims = sorted({cell[0] for cell in table})
    dim = next((m for m in dims if m >= d), dims[-1])
    sizes = sorted(cell[1] for cell in table if cell[0] == dim)
    size = max((s for s in sizes if s <= n), default=sizes[0])
    return dim, size


def bias_note(estimator: str, d: int, n: int, k: int) -> str | None:
    """The one-line caveat for an estimate from `estimator` with d dimensions and n points in the
    smaller set, or None where its measured error stays within WARN_ABOVE."""
    dim, size = measured_cell(estimator, d, n)
    low, high = RELATIVE_ERROR[estimator][(dim, size)]
    if max(-low, high) <= WARN_ABOVE:
        return None
    where = f"d = {dim}, n = {size}" + (f" (d = {d} is beyond the measured dimensions)" if d > dim else "")
    at_k = " at k = 5" if estimator != "ensemble" and k != 5 else ""
    return (
        f"bias: on Gaussian pairs with known KL at {where} this estimator{at_k} read between {-low:.0%} below "
        f"and {high:.0%} above the truth (docs/metrics.md), lowest for KL(A||B) when A is wider than B: "
        "compare only estimates of equal n and d, as relative scores"
    )
