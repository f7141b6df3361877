"""Frechet distance against closed forms; precision/recall/density/coverage against their expectations."""

import numpy as np
import pytest
from scipy.linalg import sqrtm

from genlab.metrics.analytic import Normal, Uniform, exact_frechet
from genlab.metrics.frechet import frechet_distance, gaussian_frechet
from genlab.metrics.prdc import expected_coverage, prdc
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_gaussian_frechet_matches_scipy_sqrtm_and_the_commuting_case():
    rng = np.random.default_rng(0)
    s1, s2 = random_spd(rng, 6), random_spd(rng, 6)
    m1, m2 = rng.normal(size=6), rng.normal(size=6)
    reference = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
    assert gaussian_frechet(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-8)
    # Diagonal covariances commute: FD = |m1 - m2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    assert gaussian_frechet(np.zeros(3), np.diag(a), np.ones(3), np.diag(b)) == pytest.approx(3.0 + 1.0 + 1.0)


def test_sample_frechet_distance_of_two_gaussians_is_close_to_the_closed_form():
    rng = np.random.default_rng(1)
    mean_a, cov_a = np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.5]])
    mean_b, cov_b = np.array([1.0, -1.0]), np.array([[2.0, -0.4], [-0.4, 1.0]])
    sample = frechet_distance(rng.multivariate_normal(mean_a, cov_a, 5000),
                              rng.multivariate_normal(mean_b, cov_b, 5000))
    assert sample.value == pytest.approx(gaussian_frechet(mean_a, cov_a, mean_b, cov_b), abs=0.08)


def test_frechet_distance_stays_real_with_singular_covariances():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 200)), rng.normal(size=(50, 200))  # rank 49 in 200 dimensions
    result = frechet_distance(x, y)
    assert isinstance(result.value, float) and np.isfinite(result.value) and result.value > 0
    assert any("singular" in note for note in result.notes)
    assert frechet_distance(x, x.copy()).value == pytest.approx(0.0, abs=1e-6)


def test_population_frechet_of_named_distributions():
    assert exact_frechet(Uniform(3), Normal(3, var=4.0)) == pytest.approx(3 * (0.5 ** 2 + (np.sqrt(1 / 12) - 2) ** 2))


def test_prdc_of_identical_distributions_meets_the_expected_density_and_coverage():
    rng = np.random.default_rng(3)
    runs = [[e.value for e in prdc(rng.normal(size=(1000, 8)), rng.normal(size=(1000, 8)))] for _ in range(3)]
    precision, recall, density, coverage = np.mean(runs, 0)
    assert density == pytest.approx(1.0, abs=0.05)           # E[density] = 1 (Naeem et al. 2020)
    assert coverage == pytest.approx(expected_coverage(1000, 1000, 5), abs=0.02)  # 1 - 2^-5 to first order
    assert precision > 0.9 and recall > 0.9


def test_prdc_of_disjoint_sets_is_zero():
    rng = np.random.default_rng(4)
    results = prdc(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 20)
    assert [e.metric for e in results] == ["precision", "recall", "density", "coverage"]
    assert [e.value for e in results] == [0.0, 0.0, 0.0, 0.0]
