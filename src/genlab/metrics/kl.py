"""Kullback-Leibler divergence between two sample sets, in both directions.

KL(P||Q) = E_P[log p(x)/q(x)] needs the two densities; samples give neither, so
the estimators here estimate the density ratio at each sample point:

* `knn_kl`: the k-nearest-neighbour estimator of Wang, Kulkarni & Verdu (2009,
  IEEE Trans. Inf. Theory 55(5), eq. 5): with rho_k(i) the distance from x_i to
  its k-th nearest neighbour among the other points of A (n points) and nu_k(i)
  to its k-th nearest point of B (m points), in d dimensions,
      T_k = d/n sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)).
  It is consistent for continuous densities and biased (mostly low) at finite n,
  more so as d grows. Estimators: 'ensemble' (sum_k w_k T_k over k = 1..20, weights
  cancelling the leading bias term; Moon & Hero 2014, Berrett, Samworth & Yuan 2019),
  'knn' (T_k), 'adaptive' (the paper's eq. 29: radius eps_i = max(rho_k(i), nu_k(i)),
  l_i and k_i the numbers of A and B points within it,
      d/n sum_i log(nu_{k_i}(i) / rho_{l_i}(i)) + 1/n sum_i [psi(l_i) - psi(k_i)] + log(m / (n - 1))),
  and 'auto' (ensemble up to d = 10, knn above), the default. Their measured bias
  (kl_bias.py, docs/metrics.md) is stated in a note on each estimate.
* `histogram_kl` (dimension <= 3): both sets binned on shared edges, a stated
  pseudo-count added to every cell of both histograms, then the discrete KL.
  It estimates the KL between the *binned* distributions, which is never more
  than the true KL (data-processing inequality) and approaches it as bins shrink;
  so it is never reported inf (a note says when A falls in B's empty cells).

Copies. Under a continuous density two equal points have probability 0, so a value
that occurs more than once in the pooled sample (quantised data, a collapsed
generator) is an atom: its points get the discrete plug-in term, the log-ratio of the
value's frequencies in the two sets; the other points get the kNN term among the
points without copies (the rule of Gao, Kannan, Oh & Viswanath 2017 for
discrete-continuous mixtures). A set against its own copy gives exactly 0, discrete
data their plug-in discrete KL, and a collapsed sample inf.

Support mismatch. KL(P||Q) is infinite when P puts mass where Q has none
(KL(normal||uniform)); a density-ratio estimator would still print a finite number.
The kNN estimator therefore looks for points of A outside the support of B as B's
sample shows it, and reports inf (keeping the finite extrapolation in
`extra['finite_estimate']`) when more than `support_tolerance` of A lies there:
farther from every point of B than SUPPORT_RADIUS_FACTOR x the largest within-B k-th
neighbour distance (a union-of-balls support estimate, Devroye & Wise 1980; the
factor is calibrated in docs/metrics.md), or on a value A repeats that B never
takes, beyond chance (4 standard deviations of the count under one distribution).
A sample cannot tell an empty region from one of very low density, so a
flagged KL means "infinite, or dominated by regions B's sample never reached".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.metrics.checks import check_pair, check_points
from genlab.metrics.distances import (
    as_tensor,
    centre,
    duplicate_groups,
    exact_distances,
    row_blocks,
    squared_distances,
    varying_columns,
)
from genlab.metrics.kl_bias import bias_note
from genlab.metrics.result import A_TO_B, B_TO_A, Estimate

DEFAULT_K = 5
#: kNN KL estimators: 'auto' (the default: the ensemble up to ENSEMBLE_MAX_DIM dimensions, one k
#: above), the weighted ensemble of k = 1..ENSEMBLE_NEIGHBOURS, one k, the adaptive-k correction.
ESTIMATORS = ("auto", "ensemble", "knn", "adaptive")
DEFAULT_ESTIMATOR = "auto"
ENSEMBLE_NEIGHBOURS = 20
#: Above this dimension the ensemble's weights (which grow about linearly with d) amplify noise
#: more than they cancel bias: measured on identical distributions it read up to 0.25 nats at
#: d = 20 and 0.7 at d = 50 (n = 2,000; k = 5: 0.07 and 0.2), and -118 nats on MNIST pixels.
ENSEMBLE_MAX_DIM = 10
#: The support check's radius, in units of Q's largest within-set k-NN distance: at 2 no
#: Gaussian pair with variance ratio <= 4 (d <= 50, n >= 500) was flagged (docs/metrics.md).
SUPPORT_RADIUS_FACTOR = 2.0
DEFAULT_PSEUDO_COUNT = 0.5
DEFAULT_SUPPORT_TOLERANCE = 0.05
#: Up to this dimension (on the CPU) neighbours come from k-d trees, beyond it from matrix products.
KD_TREE_MAX_DIM = 10
#: Query rows per block: the blocks are memory-bound, and small ones stay in cache.
KL_BLOCK_ROWS = 1024
#: Cross-distance matrices up to this many entries are computed once and shared by both directions.
CROSS_CACHE_ENTRIES = 1 << 25


@dataclass
class _Side:
    """Per-point neighbour statistics of one set (the query) against itself and the other set.
    Exact copies count as neighbours at distance 0, each copy once (they carry mass)."""

    rho: torch.Tensor  # [n, K] 1st..K-th neighbour distances within the own set (itself excluded)
    nu: torch.Tensor  # [n, K] 1st..K-th neighbour distances in the other set
    rho_adaptive: torch.Tensor | None = None  # bias correction: distances and counts within eps_i
    nu_adaptive: torch.Tensor | None = None
    count_own: torch.Tensor | None = None
    count_other: torch.Tensor | None = None


def _nearest(query: torch.Tensor, reference: torch.Tensor, d2: torch.Tensor, k: int) -> torch.Tensor:
    """Exact 1st..k-th smallest distances [rows, k] per row of a (self-masked: inf = excluded)
    squared-distance block."""
    candidates = min(k + 2, d2.shape[1])
    approx, index = d2.topk(candidates, dim=1, largest=False)
    exact = exact_distances(query, reference, index)
    exact[torch.isinf(approx)] = float("inf")  # the point itself stays excluded
    return exact.sort(1).values[:, :k]


def _within(d2: torch.Tensor, radius: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(count, largest distance) of the points of a masked block within radius [rows] of each row."""
    inside = d2 <= (radius * radius * (1 + 1e-9))[:, None]
    largest = torch.where(inside, d2, torch.zeros((), dtype=d2.dtype, device=d2.device)).amax(1).sqrt()
    return inside.sum(1), largest


def _side(query, other, k, neighbours, adaptive, cross_rows, block) -> _Side:
    """Statistics of the query points [n, d] (1st..`neighbours`-th distances; the adaptive
    correction's around eps_i = max of the k-th ones) from blocked matrix products."""
    n, device = len(query), query.device
    norms, other_norms = (query * query).sum(1), (other * other).sum(1)
    stats = {name: torch.empty(n, dtype=torch.float64, device=device) for name in ("rho_adaptive", "nu_adaptive")}
    stats["rho"] = torch.empty(n, neighbours, dtype=torch.float64, device=device)
    stats["nu"] = torch.empty(n, neighbours, dtype=torch.float64, device=device)
    stats["count_own"] = torch.empty(n, dtype=torch.long, device=device)
    stats["count_other"] = torch.empty(n, dtype=torch.long, device=device)
    for rows in row_blocks(n, block):
        own = squared_distances(query[rows], query, norms[rows], norms)
        own[torch.arange(len(own), device=device), torch.arange(rows.start, rows.stop, device=device)] = float("inf")
        cross = (
            cross_rows(rows)
            if cross_rows is not None
            else squared_distances(query[rows], other, norms[rows], other_norms)
        )
        stats["rho"][rows] = rho = _nearest(query[rows], query, own, neighbours)
        stats["nu"][rows] = nu = _nearest(query[rows], other, cross, neighbours)
        if adaptive:
            eps = torch.maximum(rho[:, k - 1], nu[:, k - 1]).to(own.dtype)
            stats["count_own"][rows], stats["rho_adaptive"][rows] = _within(own, eps)
            stats["count_other"][rows], stats["nu_adaptive"][rows] = _within(cross, eps)
    if not adaptive:
        return _Side(stats["rho"], stats["nu"])
    return _Side(**stats)


def _tree_distances(tree, points: np.ndarray, count: int) -> np.ndarray:
    """Sorted distances [n, count] from each point to its `count` nearest tree points (inf past the end)."""
    distances = tree.query(points, k=count)[0]
    return distances.reshape(len(points), count)


def _tree_ranked(tree, points: np.ndarray, rank: np.ndarray, block: int = 1024) -> np.ndarray:
    """Distance from each point to its rank[i]-th nearest tree point (1-based), in row blocks."""
    out = np.empty(len(points))
    for rows in row_blocks(len(points), block):
        distances = _tree_distances(tree, points[rows], int(rank[rows].max()))
        out[rows] = distances[np.arange(rows.stop - rows.start), rank[rows] - 1]
    return out


def _side_tree(query: np.ndarray, other: np.ndarray, k: int, neighbours: int, adaptive: bool) -> _Side:
    """The statistics of `_side` from k-d trees (exact distances; fast in low dimensions). The
    point itself is one of the zero distances of its own set, so the j-th other point is rank j + 1."""
    from scipy.spatial import cKDTree

    tree_query, tree_other = cKDTree(query), cKDTree(other)
    rho = _tree_distances(tree_query, query, neighbours + 1)[:, 1:].copy()
    nu = _tree_distances(tree_other, query, neighbours)
    as_torch = torch.from_numpy
    if not adaptive:
        return _Side(as_torch(rho), as_torch(nu))
    eps = np.maximum(rho[:, k - 1], nu[:, k - 1]) * (1 + 1e-12)
    count_own = tree_query.query_ball_point(query, eps, return_length=True) - 1
    count_other = tree_other.query_ball_point(query, eps, return_length=True)
    rho_adaptive = _tree_ranked(tree_query, query, 1 + count_own)
    nu_adaptive = _tree_ranked(tree_other, query, count_other)
    return _Side(
        as_torch(rho),
        as_torch(nu),
        as_torch(rho_adaptive),
        as_torch(nu_adaptive),
        as_torch(count_own),
        as_torch(count_other),
    )


@dataclass
class _Copies:
    """Exact copies of each point of one set (P) within P and in the other set (Q)."""

    group: np.ndarray  # [n] id of the point's value, shared with equal points of either set
    own: np.ndarray  # [n] other points of P equal to it
    other: np.ndarray  # [n] points of Q equal to it

    @property
    def atom(self) -> np.ndarray:
        """[n] bool: the point's value occurs more than once in the pooled sample."""
        return (self.own + self.other) > 0


def _copies(group_p: np.ndarray, group_q: np.ndarray) -> _Copies:
    size = int(max(group_p.max(), group_q.max())) + 1
    return _Copies(
        group_p, np.bincount(group_p, minlength=size)[group_p] - 1, np.bincount(group_q, minlength=size)[group_p]
    )


def _atom_mismatch(copies: _Copies, n: int, m: int) -> tuple[int, float, float]:
    """(points of P on values repeated in P that Q never takes, and the mean and standard deviation
    of that count when both sets come from one distribution): given a value's pooled count t, all
    t copies fall in P with probability (n / (n + m))^t (the histogram estimator's check)."""
    missing = int((copies.atom & (copies.other == 0)).sum())
    first = np.unique(copies.group[copies.atom], return_index=True)[1]  # one point per repeated value
    pooled = (copies.own + copies.other + 1)[copies.atom][first]
    chance = (n / (n + m)) ** pooled
    return missing, float((pooled * chance).sum()), float(np.sqrt((pooled**2 * chance * (1 - chance)).sum()))


def ensemble_weights(d: int, neighbours: int) -> np.ndarray:
    """Weights w [neighbours] over k = 1..neighbours with sum 1 and sum_k w_k Gamma(k + 2/d) / Gamma(k)
    = 0, of least norm: the weighted sum of the k-NN estimates cancels their leading bias term,
    of order (k/n)^(2/d) (Moon & Hero 2014; Berrett, Samworth & Yuan 2019). One neighbour: [1]."""
    from scipy.special import gammaln

    if neighbours == 1:
        return np.ones(1)
    ks = np.arange(1, neighbours + 1)
    constraints = np.stack([np.ones(neighbours), np.exp(gammaln(ks + 2 / d) - gammaln(ks))])
    return constraints.T @ np.linalg.solve(constraints @ constraints.T, np.array([1.0, 0.0]))


def _continuous_terms(p: _Side, n: int, m: int, n_c: int, m_c: int, d: int, k: int, estimator: str) -> np.ndarray:
    """kNN estimates [n_c] of log(p(x_i) / q(x_i)) at P's points without copies, from neighbours
    among the points without copies of both sets: log(p_c/q_c) (Wang et al.) plus the log-ratio
    of the continuous parts' masses, (n_c/n) / (m_c/m)."""
    from scipy.special import digamma

    correction = math.log(m_c / (n_c - 1)) + math.log((n_c / n) / (m_c / m))
    if estimator == "adaptive":
        return (
            d * (p.nu_adaptive.log() - p.rho_adaptive.log()).numpy()
            + digamma(p.count_own.numpy())
            - digamma(p.count_other.numpy())
            + correction
        )
    log_ratios = (p.nu.log() - p.rho.log()).numpy()  # [n_c, K]: the k-NN log ratios for k = 1..K
    if estimator == "ensemble":
        return d * log_ratios @ ensemble_weights(d, log_ratios.shape[1]) + correction
    return d * log_ratios[:, k - 1] + correction


def _direction(
    p: _Side | None,
    q: _Side | None,
    copies: _Copies,
    n: int,
    m: int,
    m_c: int,
    d: int,
    k: int,
    estimator: str,
    tolerance: float,
    direction: str,
    settings: dict,
    notes: list[str],
) -> Estimate:
    """KL(P||Q) from the neighbour statistics of P's points without copies (p; None when either
    set has k or fewer such points), Q's own (q) and the copies of P's points.

    A point on a repeated value (an atom: under a continuous density two equal points have
    probability 0) gets the log-ratio of that value's frequencies, ((copies in P + 1) / n) /
    (copies in Q / m), the term of the discrete plug-in KL (as Gao, Kannan, Oh & Viswanath 2017
    treat discrete-continuous mixtures); a value Q never takes gets half a copy in Q (a finite
    extrapolation; the support check decides whether the KL is infinite). The other points get
    the kNN term, or, without enough such points to find k neighbours, the plug-in term of a
    value seen once."""
    atom = copies.atom
    continuous = ~atom
    n_c = int(continuous.sum())
    terms = np.log((copies.own + 1) / n / (np.maximum(copies.other, 0.5) / m))
    if p is not None:
        terms[continuous] = _continuous_terms(p, n, m, n_c, m_c, d, k, estimator)
    value = float(terms.mean())
    names = direction.split("||")
    # Support of Q as its sample shows it (Devroye & Wise 1980): the union of balls of radius
    # SUPPORT_RADIUS_FACTOR x max_j rho_k(y_j) around Q's points without copies, plus the values Q
    # repeats. Without k + 1 such points Q shows no continuous part at all.
    radius = SUPPORT_RADIUS_FACTOR * q.rho[:, k - 1].max().item() if q is not None else 0.0
    if p is not None:
        outside_balls = int((p.nu[:, 0] > radius).sum())
    else:
        outside_balls = n_c if m_c <= k else 0
    missing, chance_mean, chance_sd = _atom_mismatch(copies, n, m)
    missing_counts = missing > chance_mean + 4 * chance_sd
    outside = (outside_balls + (missing if missing_counts else 0)) / n
    extra = {
        "outside_support_fraction": outside,
        "support_radius": radius,
        "points_on_copies": int(atom.sum()),
        "points_on_copies_missing_in_other": missing,
    }
    notes = list(notes)
    if atom.any():
        notes.append(
            f"{int(atom.sum())} of {n} points of {names[0]} repeat exactly a value of {names[0]} or "
            f"{names[1]} ({len(np.unique(copies.group[atom]))} values): as atoms (probability 0 under a "
            f"continuous density), their terms are the log-ratios of the values' frequencies in the two "
            "sets (discrete plug-in KL)"
            + (
                f"; the other {n_c} points' are kNN terms among the points without copies"
                if p is not None and n_c
                else ""
            )
        )
    if missing_counts:
        notes.append(
            f"{missing} points of {names[0]} sit on values repeated in {names[0]} that {names[1]} never "
            f"takes (chance alone: {chance_mean:.3g}): atoms of {names[0]} that {names[1]} lacks make "
            f"KL({direction}) infinite; if the copies come from rounding, compare both sets rounded "
            "alike, or add jitter of the rounding step to both"
        )
    if outside > tolerance:
        extra["finite_estimate"] = value
        notes.append(
            f"support mismatch: {outside:.1%} of {names[0]} lies outside {names[1]}'s sample support "
            f"(farther from every point of {names[1]} than {SUPPORT_RADIUS_FACTOR:g} x its largest "
            f"within-set {k}-NN distance, {radius:.4g}, or on values {names[1]} lacks), so KL({direction}) "
            f"is infinite if {names[1]} has no mass there; finite extrapolation {value:.4g}"
        )
        value = math.inf
    elif value < 0:
        notes.append(
            f"a KL divergence is never negative: this estimate ({value:.4g}) is below 0 by the "
            "estimator's bias and noise at this n and d, so KL is at most about that bias here"
        )
    described = {
        "ensemble": f"kNN (Wang, Kulkarni & Verdu 2009), weighted ensemble of k = 1..{settings['neighbours']}",
        "knn": f"kNN (Wang, Kulkarni & Verdu 2009), k={k}",
        "adaptive": f"kNN (Wang, Kulkarni & Verdu 2009), k={k}, adaptive bias correction",
    }[estimator]
    if p is None:
        described = f"plug-in only: A or B has {k} or fewer points without copies, too few for {k}-NN terms"
    elif atom.any():
        described += "; exact copies as atoms (plug-in)"
    return Estimate("kl", direction, value, described, dict(settings), notes, extra)


def _sides(a: np.ndarray, b: np.ndarray, k: int, neighbours: int, adaptive: bool, device, method: str, block: int):
    """(_Side of A against B, _Side of B against A, the neighbour search used)."""
    d, n, m = a.shape[1], len(a), len(b)
    if method == "tree" or (method == "auto" and d <= KD_TREE_MAX_DIM and torch.device(device).type == "cpu"):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        return (_side_tree(a64, b64, k, neighbours, adaptive), _side_tree(b64, a64, k, neighbours, adaptive), "tree")
    # float32 products are exact enough for high-dimensional data (the kept distances are
    # recomputed in float64); low dimensions and the count-based correction use float64.
    dtype = torch.float64 if d <= 64 or adaptive else torch.float32
    ta, tb = centre(as_tensor(a, device, dtype), as_tensor(b, device, dtype))
    cross = squared_distances(ta, tb) if n * m <= CROSS_CACHE_ENTRIES else None
    side_a = _side(ta, tb, k, neighbours, adaptive, (lambda rows: cross[rows]) if cross is not None else None, block)
    side_b = _side(tb, ta, k, neighbours, adaptive, (lambda rows: cross.T[rows]) if cross is not None else None, block)
    on_cpu = [_Side(*(t.cpu() if t is not None else None for t in vars(side).values())) for side in (side_a, side_b)]
    return on_cpu[0], on_cpu[1], "brute"


def knn_kl(
    x,
    y,
    k: int = DEFAULT_K,
    estimator: str = DEFAULT_ESTIMATOR,
    support_tolerance: float = DEFAULT_SUPPORT_TOLERANCE,
    device: str | torch.device = "cpu",
    method: str = "auto",
    block: int = KL_BLOCK_ROWS,
) -> tuple[Estimate, Estimate]:
    """kNN estimates of KL(A||B) and KL(B||A) in nats, for A = x [n, d] and B = y [m, d].

    Returns (KL(A||B), KL(B||A)) as Estimates; a value is inf under a detected
    support mismatch (see the module docstring). Coordinates constant over both
    sets are dropped first (the densities live on the remaining d' coordinates,
    and d' is the dimension the estimator uses). Points that repeat a value exactly
    are atoms (module docstring). `estimator`: 'ensemble' (the weighted ensemble of
    k = 1..ENSEMBLE_NEIGHBOURS: smaller errors than any single k in the measurements of
    docs/metrics.md), 'knn' (k neighbours), 'adaptive' (eq. 29) or 'auto' (the default:
    ensemble up to ENSEMBLE_MAX_DIM dimensions, knn above); `k` also sets the
    support check's radius. `method`: 'tree' (k-d trees, exact, fast up to about 10
    dimensions), 'brute' (blocked matrix products on `device`, O((n + m)^2 d)) or
    'auto' (trees for d <= KD_TREE_MAX_DIM on the CPU).
    """
    if k < 1:
        raise GenlabError(f"--k must be at least 1, got {k}")
    if estimator not in ESTIMATORS:
        raise GenlabError(f"unknown kNN KL estimator '{estimator}'; use {', '.join(ESTIMATORS)}")
    if method not in ("auto", "tree", "brute"):
        raise GenlabError(f"unknown kNN method '{method}'; use auto, tree or brute")
    a, b = check_pair(x, y)
    why = f"the kNN KL estimator with k={k}"
    check_points(len(a), k + 1, "A", why)
    check_points(len(b), k + 1, "B", why)
    ambient = a.shape[1]
    columns = varying_columns(a, b)
    if len(columns) == 0:
        raise GenlabError("every point of A and B is the same point; the kNN KL estimator needs distinct points")
    a, b = a[:, columns], b[:, columns]
    d, n, m = len(columns), len(a), len(b)
    if estimator == "auto":
        estimator = "ensemble" if d <= ENSEMBLE_MAX_DIM else "knn"
    group_a, group_b = (g.numpy() for g in duplicate_groups(a, b))
    copies_a, copies_b = _copies(group_a, group_b), _copies(group_b, group_a)
    a_c, b_c = a[~copies_a.atom], b[~copies_b.atom]
    n_c, m_c = len(a_c), len(b_c)
    side_a = side_b = None
    neighbours = 0  # no kNN terms: too few points without copies (they get plug-in terms)
    if min(n_c, m_c) > k:
        # The ensemble uses k = 1..20, or as many neighbours as the smaller set has.
        neighbours = min(ENSEMBLE_NEIGHBOURS, min(n_c, m_c) - 1) if estimator == "ensemble" else k
        side_a, side_b, method = _sides(a_c, b_c, k, max(k, neighbours), estimator == "adaptive", device, method, block)
    notes = []
    if d < ambient:
        notes.append(f"d = {d}: {ambient - d} of {ambient} coordinates are constant over both sets and were dropped")
    caveat = bias_note(estimator, d, min(n, m), k)
    if caveat:
        notes.append(caveat)
    settings = {
        "estimator": estimator,
        "k": k,
        "neighbours": neighbours,
        "dimension": d,
        "n_a": n,
        "n_b": m,
        "support_tolerance": support_tolerance,
        "neighbour_search": method,
        "copies": "atoms (plug-in)",
    }
    return (
        _direction(side_a, side_b, copies_a, n, m, m_c, d, k, estimator, support_tolerance, A_TO_B, settings, notes),
        _direction(side_b, side_a, copies_b, m, n, n_c, d, k, estimator, support_tolerance, B_TO_A, settings, notes),
    )


def default_bins(n: int, d: int) -> int:
    """Bins per axis so that cells hold about 10 points on average: max(2, floor((n/10)^(1/d)))."""
    return max(2, int(math.floor((n / 10) ** (1 / d) + 1e-9)))


def histogram_kl(
    x, y, bins: int | None = None, pseudo_count: float = DEFAULT_PSEUDO_COUNT
) -> tuple[Estimate, Estimate]:
    """Histogram estimates of KL(A||B) and KL(B||A) in nats, for dimension d <= 3.

    Both sets are binned on the same edges (`bins` equal-width bins per axis
    spanning the pooled range; default `default_bins(min(n, m), d)`), every cell
    of both histograms gets `pseudo_count` added (default 0.5, the Jeffreys
    prior), and KL is computed between the two resulting cell distributions.
    """
    a, b = check_pair(x, y)
    d, n, m = a.shape[1], len(a), len(b)
    if d > 3:
        raise GenlabError(
            f"the histogram KL estimator is for dimension <= 3 (its cells grow as bins^d); "
            f"these sets have dimension {d}: use the kNN estimator"
        )
    if pseudo_count < 0:
        raise GenlabError(f"--pseudo-count must be >= 0, got {pseudo_count}")
    bins = default_bins(min(n, m), d) if bins is None else bins
    if bins < 1:
        raise GenlabError(f"--bins must be at least 1, got {bins}")
    pooled = np.concatenate([a, b]).astype(np.float64)
    low, high = pooled.min(0), pooled.max(0)
    high = np.where(high > low, high, low + 1.0)  # a constant axis gets one finite-width cell
    edges = [np.linspace(low[i], high[i], bins + 1) for i in range(d)]
    count_a = np.histogramdd(a, bins=edges)[0].ravel()
    count_b = np.histogramdd(b, bins=edges)[0].ravel()
    cells = bins**d
    settings = {
        "bins_per_axis": bins,
        "cells": cells,
        "pseudo_count": pseudo_count,
        "n_a": n,
        "n_b": m,
        "edges": "shared, equal width over the pooled range",
    }
    estimator = f"histogram, {bins}^{d} shared cells, pseudo-count {pseudo_count:g}"
    results = []
    for cp, cq, np_, nq, direction in ((count_a, count_b, n, m, A_TO_B), (count_b, count_a, m, n, B_TO_A)):
        p = (cp + pseudo_count) / (np_ + pseudo_count * cells)
        q = (cq + pseudo_count) / (nq + pseudo_count * cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p / q), 0.0)
        value = float(terms.sum())
        names = direction.split("||")
        # Points of P in cells where Q's sample has none, against what chance gives when both
        # sets share one distribution: given a cell's pooled count t, all t are P's with prob pi^t.
        empty = cq == 0
        outside = float(cp[empty].sum())
        total = cp + cq
        share = np_ / (np_ + nq)
        chance = share**total
        mean, sd = float((total * chance).sum()), float(np.sqrt((total**2 * chance * (1 - chance)).sum()))
        extra = {"outside_support_fraction": outside / np_, "outside_expected_by_chance": mean / np_}
        notes = []
        # Never inf: binning can only lose information (data-processing inequality), so the binned
        # KL is a lower bound whatever the supports, and equal-width cells over the pooled range
        # put the tails of a wider but covering set in empty cells of the other (variance ratio 2
        # in 1-3 D left 5-9% of A there, 4 up to 23%: a 5% rule reported inf for all of them).
        if outside > mean + 4 * sd:
            notes.append(
                f"{outside / np_:.1%} of {names[0]} falls in cells where {names[1]} has no point (chance "
                f"alone: {mean / np_:.1%}): KL({direction}) is infinite where {names[1]} has no mass there, "
                "large where it has little; the binned KL estimated here is a lower bound either way"
            )
        results.append(Estimate("kl", direction, value, estimator, dict(settings), notes, extra))
    return results[0], results[1]
