"""Frechet distance between sample sets in a feature space (FID when the features come from
an Inception network; here from the judge classifier, pixels or PCA).

Each set is summarised by its mean mu and covariance Sigma (unbiased, 1/(n-1)), and
    FD = ||mu_A - mu_B||^2 + tr(Sigma_A + Sigma_B - 2 (Sigma_A^1/2 Sigma_B Sigma_A^1/2)^1/2),
which is the squared 2-Wasserstein distance between the Gaussians N(mu_A, Sigma_A) and
N(mu_B, Sigma_B). The trace of the matrix square root is computed from eigenvalues of
symmetric positive semi-definite matrices (eigh, negative round-off clipped to 0), so the
result is always real: no complex parts to discard, unlike scipy.linalg.sqrtm of the
non-symmetric product Sigma_A Sigma_B. The sample FD is biased upwards by O(d/n).
"""

from __future__ import annotations

import numpy as np

from genlab.metrics.checks import check_pair, check_points
from genlab.metrics.distances import single_threaded_lapack
from genlab.metrics.result import SYMMETRIC, Estimate


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix [d, d] (float64)."""
    with single_threaded_lapack():
        values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """tr((Sigma_A^1/2 Sigma_B Sigma_A^1/2)^1/2) = sum of square roots of the eigenvalues of
    Sigma_A Sigma_B, computed on a symmetric PSD matrix so it stays real."""
    root = psd_sqrt(sigma_a)
    middle = root @ sigma_b @ root
    with single_threaded_lapack():
        values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def gaussian_frechet(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
    """Frechet (squared W2) distance between N(mu_a, sigma_a) and N(mu_b, sigma_b)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.atleast_2d(np.asarray(sigma_a, np.float64)), np.atleast_2d(np.asarray(sigma_b, np.float64))
    value = float(
        ((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_sqrt_product(sigma_a, sigma_b)
    )
    return max(value, 0.0)  # FD >= 0 exactly; a negative value can only be round-off of a zero


def frechet_distance(x, y) -> Estimate:
    """FD between A = x [n, d] and B = y [m, d] from their sample means and covariances."""
    a, b = check_pair(x, y)
    check_points(len(a), 2, "A", "the Frechet distance (a covariance)")
    check_points(len(b), 2, "B", "the Frechet distance (a covariance)")
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    value = gaussian_frechet(mu_a, sigma_a, mu_b, sigma_b)
    d = a.shape[1]
    notes = []
    if min(len(a), len(b)) <= d:
        notes.append(
            f"fewer points than dimensions ({min(len(a), len(b))} <= {d}): the covariances are singular "
            "and FD is strongly biased; compare only values of equal n"
        )
    return Estimate(
        "fd",
        SYMMETRIC,
        value,
        "Frechet distance of Gaussian fits (mean, unbiased covariance)",
        {"dimension": d, "n_a": len(a), "n_b": len(b), "matrix_sqrt": "symmetric eigh, clipped at 0"},
        notes,
        {"mean_term": float(((mu_a - mu_b) ** 2).sum())},
    )
