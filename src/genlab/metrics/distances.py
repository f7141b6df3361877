"""Pairwise Euclidean distances in blocks, on the CPU or a GPU: the engine under the
kNN, kernel and transport estimators.

Squared distances come from ||x||^2 + ||y||^2 - 2 x.y (one matrix product per
block, which is what makes 784-dimensional data fast). That expansion loses
precision when ||x||^2 is large next to ||x - y||^2, so callers centre the
pooled sample first (`centre`): distances do not change, the norms shrink.
Exact zero distances (duplicate points) are found by row identity, never by
comparing a rounded distance with zero (`duplicate_groups`).
"""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import threadpool_limits

#: Rows per block: a [4096, m] float32 block of squared distances is 16 MB per 1,000 columns.
BLOCK_ROWS = 4096


def single_threaded_lapack():
    """A context in which numpy's BLAS/LAPACK runs on one thread. Eigendecompositions of a few
    hundred dimensions gain little from threads and slow down 10-50x when the cores are shared."""
    return threadpool_limits(1, user_api="blas")


def as_tensor(x, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A 2-D tensor [n, d] on `device` from a numpy array or tensor [n, ...] (flattened per row)."""
    tensor = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    return tensor.reshape(len(tensor), -1).to(device=device, dtype=dtype)


def centre(*sets: torch.Tensor) -> list[torch.Tensor]:
    """Subtract the pooled mean from every set; pairwise distances are unchanged and the
    expansion ||x||^2 + ||y||^2 - 2 x.y keeps more of its precision."""
    total = sum(s.sum(0, dtype=torch.float64) for s in sets)
    mean = (total / sum(len(s) for s in sets)).to(sets[0].dtype)
    return [s - mean for s in sets]


def varying_columns(*sets: np.ndarray | torch.Tensor) -> np.ndarray:
    """Indices of the coordinates that are not constant over all sets pooled. A constant
    coordinate adds nothing to any pairwise distance (e.g. the always-black border pixels
    of MNIST), so dropping it changes no distance and saves time."""
    pooled = [torch.as_tensor(np.asarray(s)) if not isinstance(s, torch.Tensor) else s for s in sets]
    first = pooled[0][:1]
    varying = torch.zeros(first.shape[1], dtype=torch.bool, device=first.device)
    for s in pooled:
        varying |= (s != first).any(0)
    return varying.nonzero().flatten().cpu().numpy()


def squared_distances(
    a: torch.Tensor, b: torch.Tensor, a_norms: torch.Tensor | None = None, b_norms: torch.Tensor | None = None
) -> torch.Tensor:
    """Squared Euclidean distances [n_a, n_b] between rows of a [n_a, d] and b [n_b, d], clamped at 0."""
    a_norms = (a * a).sum(1) if a_norms is None else a_norms
    b_norms = (b * b).sum(1) if b_norms is None else b_norms
    d2 = torch.addmm(a_norms[:, None] + b_norms[None, :], a, b.T, alpha=-2.0)
    return d2.clamp_min_(0.0)


def exact_distances(query: torch.Tensor, reference: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Distances in float64 by direct differences: query [n, d], index [n, c] rows of
    reference -> [n, c]. Used to make the few distances an estimator keeps exact."""
    rows = torch.arange(len(query), device=query.device).repeat_interleave(index.shape[1])
    return pair_distances(query, reference, rows, index.reshape(-1)).reshape(index.shape)


def row_blocks(n: int, block: int = BLOCK_ROWS):
    """Consecutive row slices of at most `block` rows covering range(n)."""
    for start in range(0, n, block):
        yield slice(start, min(n, start + block))


def duplicate_groups(*sets: np.ndarray) -> list[torch.Tensor]:
    """One int64 group id per row of each set; rows with identical values (within or
    across sets) share an id. Lets estimators skip zero distances exactly."""
    pooled = np.concatenate([np.ascontiguousarray(s).reshape(len(s), -1) for s in sets])
    _, inverse = np.unique(pooled, axis=0, return_inverse=True)
    ids = torch.from_numpy(inverse.reshape(-1).astype(np.int64))
    bounds = np.cumsum([0] + [len(s) for s in sets])
    return [ids[bounds[i] : bounds[i + 1]] for i in range(len(sets))]


def duplicate_pairs(
    query_groups: torch.Tensor, reference_groups: torch.Tensor, same_set: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(query rows, reference rows) of every pair of equal points, as two int64 tensors; a
    row paired with itself is left out when query and reference are the same set. Data
    without duplicates give empty tensors at the cost of one sort."""
    q, r = query_groups.cpu().numpy(), reference_groups.cpu().numpy()
    shared = np.intersect1d(q, r)
    if same_set:
        values, counts = np.unique(q, return_counts=True)
        shared = values[counts > 1]
    order_q, order_r = np.argsort(q, kind="stable"), np.argsort(r, kind="stable")
    sorted_q, sorted_r = q[order_q], r[order_r]
    span_q = zip(np.searchsorted(sorted_q, shared), np.searchsorted(sorted_q, shared, side="right"))
    span_r = zip(np.searchsorted(sorted_r, shared), np.searchsorted(sorted_r, shared, side="right"))
    rows, cols = [], []
    for (q0, q1), (r0, r1) in zip(span_q, span_r):  # only groups that repeat: usually none
        pairs = np.array(np.meshgrid(order_q[q0:q1], order_r[r0:r1], indexing="ij")).reshape(2, -1)
        if same_set:
            pairs = pairs[:, pairs[0] != pairs[1]]
        rows.append(pairs[0])
        cols.append(pairs[1])
    if not rows:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    return torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(cols))


def expansion_error(dtype: torch.dtype, d: int) -> float:
    """A generous bound, per unit of ||x||^2 + ||y||^2, on the rounding error of the squared
    distance from the expansion in `dtype` with d coordinates (16 ulps times sqrt(d))."""
    return 16 * torch.finfo(dtype).eps * d**0.5


def kth_neighbour_distance(
    points: torch.Tensor, k: int, exact_points: torch.Tensor | None = None, block: int = BLOCK_ROWS
) -> torch.Tensor:
    """Distance [n] (float64) from each row to its k-th nearest other row of the same set
    (the row itself excluded by index, duplicates counted as neighbours at distance 0).
    Candidates come from the expansion on `points` [n, d] (e.g. centred); the distances are
    recomputed by direct differences (`pair_distances`) from `exact_points` [n, d] (default:
    `points`). Where ties reach past the k + 2 candidates (quantised data, copies), the whole
    row's near points are recomputed, so the result is the exact k-th distance, ties included."""
    n = len(points)
    exact_points = points if exact_points is None else exact_points
    norms = (points * points).sum(1)
    error = expansion_error(points.dtype, points.shape[1])
    out = torch.empty(n, dtype=torch.float64, device=points.device)
    candidates = min(k + 2, n - 1)
    for rows in row_blocks(n, block):
        d2 = squared_distances(points[rows], points, norms[rows], norms)
        own = torch.arange(rows.start, rows.stop, device=points.device)
        d2[torch.arange(len(d2), device=points.device), own] = float("inf")
        nearest, index = d2.topk(candidates, dim=1, largest=False)
        exact = exact_distances(exact_points[rows], exact_points, index).sort(1).values[:, k - 1]
        # A point outside the candidates is at least as far as the last candidate (up to rounding).
        tolerance = error * (norms[rows] + norms.max()).double()
        unsure = (nearest[:, -1].double() <= exact * exact + tolerance).nonzero().flatten()
        for part in row_blocks(len(unsure), 256):
            # Every point whose expanded distance could be within the k-th exact one, made exact.
            tied = unsure[part]
            threshold = (exact[tied] ** 2 + tolerance[tied]).to(d2.dtype)
            near = (d2[tied] <= threshold[:, None]).nonzero()
            full = torch.full((len(tied), n), float("inf"), dtype=torch.float64, device=points.device)
            full[near[:, 0], near[:, 1]] = pair_distances(
                exact_points, exact_points, tied[near[:, 0]] + rows.start, near[:, 1]
            )
            exact[tied] = full.kthvalue(k, dim=1).values
        out[rows] = exact
    return out


def pair_distances(a: torch.Tensor, b: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Distances ||a[rows[i]] - b[cols[i]]|| [len(rows)] in float64 by direct differences: one
    arithmetic for every caller, so two equal pairs of points always get bit-identical distances."""
    out = torch.empty(len(rows), dtype=torch.float64, device=a.device)
    chunk = max(1, (1 << 16) // a.shape[1])  # [chunk, d] float64 temporaries of 512 KB stay in cache
    for part in row_blocks(len(rows), chunk):
        diff = a[rows[part]].double() - b[cols[part]].double()
        out[part] = diff.pow(2).sum(-1).sqrt()
    return out
