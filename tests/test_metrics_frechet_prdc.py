"""Frechet distance against closed forms; precision/recall/density/coverage against their expectations."""

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.spatial.distance import cdist

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
    sample = frechet_distance(
        rng.multivariate_normal(mean_a, cov_a, 5000), rng.multivariate_normal(mean_b, cov_b, 5000)
    )
    assert sample.value == pytest.approx(gaussian_frechet(mean_a, cov_a, mean_b, cov_b), abs=0.08)


def test_frechet_distance_stays_real_with_singular_covariances():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 200)), rng.normal(size=(50, 200))  # rank 49 in 200 dimensions
    result = frechet_distance(x, y)
    assert isinstance(result.value, float) and np.isfinite(result.value) and result.value > 0
    assert any("singular" in note for note in result.notes)
    assert frechet_distance(x, x.copy()).value == pytest.approx(0.0, abs=1e-6)


def test_population_frechet_of_named_distributions():
    assert exact_frechet(Uniform(3), Normal(3, var=4.0)) == pytest.approx(3 * (0.5**2 + (np.sqrt(1 / 12) - 2) ** 2))


def test_prdc_of_identical_distributions_meets_the_expected_density_and_coverage():
    rng = np.random.default_rng(3)
    runs = [[e.value for e in prdc(rng.normal(size=(1000, 8)), rng.normal(size=(1000, 8)))] for _ in range(3)]
    precision, recall, density, coverage = np.mean(runs, 0)
    assert density == pytest.approx(1.0, abs=0.05)  # E[density] = 1 (Naeem et al. 2020)
    assert coverage == pytest.approx(expected_coverage(1000, 1000, 5), abs=0.02)  # 1 - 2^-5 to first order
    assert precision > 0.9 and recall > 0.9


def test_prdc_of_disjoint_sets_is_zero():
    rng = np.random.default_rng(4)
    results = prdc(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 20)
    assert [e.metric for e in results] == ["precision", "recall", "density", "coverage"]
    assert [e.value for e in results] == [0.0, 0.0, 0.0, 0.0]


def reference_prdc(real, fake, k=5):
    """The reference implementation of Naeem et al. 2020 (clovaai/generative-evaluation-prdc):
    radii by np.partition of the full distance matrices, strict `<` everywhere."""
    real_real, fake_fake, real_fake = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    radius_real = np.partition(real_real, k, axis=-1)[:, k]
    radius_fake = np.partition(fake_fake, k, axis=-1)[:, k]
    inside_real = real_fake < radius_real[:, None]
    return [
        inside_real.any(0).mean(),
        (real_fake < radius_fake[None, :]).any(1).mean(),
        inside_real.sum(0).mean() / k,
        (real_fake.min(1) < radius_real).mean(),
    ]


@pytest.mark.parametrize("dimension, dtype", [(3, np.float64), (100, np.float32)])
def test_prdc_of_a_set_against_its_copy_is_exactly_one(dimension, dtype):
    # Each ball holds its centre's copy and the copies of the k - 1 nearer neighbours; the k-th
    # neighbour's copy lies on the boundary (open ball: outside). A closed ball would give 1.2.
    x = np.random.default_rng(5).normal(size=(300, dimension)).astype(dtype)
    assert [e.value for e in prdc(x, x.copy())] == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("step", [1.0, 0.1])
def test_prdc_on_quantised_sets_equals_the_reference_convention(step):
    rng = np.random.default_rng(6)
    real = np.round(rng.normal(size=(400, 2)) * 3) * step  # many exact ties of distances and points
    fake = np.round(rng.normal(size=(300, 2)) * 3 + 0.5) * step
    assert [e.value for e in prdc(real, fake)] == reference_prdc(real, fake)
    assert prdc(real, fake)[0].settings["balls"] == "open (distance < radius)"


def test_prdc_of_a_collapsed_set_copying_real_points():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(500, 8))
    collapsed = np.repeat(real[:25], 20, axis=0)  # 25 real points, 20 copies each: radius 0, empty balls
    precision, recall, density, coverage = [e.value for e in prdc(real, collapsed)]
    assert [precision, recall, density, coverage] == reference_prdc(real, collapsed)
    # Every copy lies at the centre of a real ball (looks real), but nothing of A is recalled.
    assert precision == 1.0 and recall == 0.0 and coverage < 0.5
