"""Earth mover's distance: known answers, exact solvers against each other, the approximations."""

import math

import numpy as np
import ot
import pytest
import torch
from scipy.stats import wasserstein_distance

from genlab.errors import GenlabError
from genlab.metrics import emd
from genlab.metrics.emd import (
    exact_emd,
    sinkhorn_divergence,
    sliced_wasserstein,
    sphere_mean_abs_coordinate,
    wasserstein_1d,
)
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) + 0.5


def test_emd_of_a_set_with_itself_is_zero(points):
    x, _ = points
    assert exact_emd(x, x.copy()).value == 0.0


def test_emd_of_a_set_and_its_shift_is_the_length_of_the_shift(points):
    x, _ = points
    shift = np.array([3.0, 4.0, 0.0, 0.0, 0.0])
    assert exact_emd(x, x + shift).value == pytest.approx(5.0, abs=1e-9)
    # The same through POT's network simplex (weights force it).
    assert exact_emd(x, x + shift, weights_x=np.ones(len(x))).value == pytest.approx(5.0, abs=1e-9)


def test_assignment_and_network_simplex_agree_on_equal_sizes(points):
    x, y = points
    assignment = exact_emd(x, y)
    simplex = exact_emd(x, y, weights_x=np.ones(len(x)), weights_y=np.ones(len(y)))
    assert assignment.settings["solver"] == "scipy.optimize.linear_sum_assignment"
    assert simplex.settings["solver"] == "ot.emd2"
    assert assignment.value == pytest.approx(simplex.value, rel=1e-9)


def test_unequal_sizes_use_the_euclidean_not_the_squared_cost(points):
    x, y = points
    y = y[:170]
    expected = ot.emd2(np.full(300, 1 / 300), np.full(170, 1 / 170), ot.dist(x, y, metric="euclidean"))
    squared = ot.emd2(np.full(300, 1 / 300), np.full(170, 1 / 170), ot.dist(x, y))  # POT's default
    assert exact_emd(x, y).value == pytest.approx(expected, rel=1e-9)
    assert not math.isclose(expected, squared, rel_tol=0.1)


def test_one_dimensional_w1_matches_scipy_for_unequal_sizes():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=137), rng.normal(size=59) * 2 + 1
    ours = wasserstein_1d(torch.tensor(np.sort(u))[:, None], torch.tensor(np.sort(v))[:, None])
    assert float(ours) == pytest.approx(wasserstein_distance(u, v), rel=1e-9)


def test_sliced_w1_of_a_shift_is_c_d_times_its_length(points):
    x, _ = points
    shift = np.array([3.0, 4.0, 0.0, 0.0, 0.0])
    result = sliced_wasserstein(x, x + shift, projections=1000, seed=3)
    expected = 5.0 * sphere_mean_abs_coordinate(5)  # c_5 = 3/8
    assert sphere_mean_abs_coordinate(3) == pytest.approx(0.5)
    assert result.value == pytest.approx(expected, abs=4 * result.extra["monte_carlo_standard_error"])
    assert result.estimator.startswith("approximation")
    again = sliced_wasserstein(x, x + shift, projections=1000, seed=3)
    assert again.value == result.value  # seeded


def test_debiased_sinkhorn_approaches_the_exact_emd_and_is_zero_on_identical_sets(points):
    x, y = points[0][:120], points[1][:120]
    exact = exact_emd(x, y).value
    approximation = sinkhorn_divergence(x, y, epsilon=0.05)
    # eps = 0.05 x std of the A-B distances: within a few per cent of W1 (3% here).
    assert approximation.value == pytest.approx(exact, rel=0.06)
    assert approximation.estimator.startswith("approximation")
    assert not approximation.notes  # converged
    assert sinkhorn_divergence(x, x.copy()).value == pytest.approx(0.0, abs=1e-6)  # float32 potentials


def test_exact_emd_refuses_oversized_cost_matrices(monkeypatch):
    monkeypatch.setattr(emd, "EXACT_LIMIT", 100)
    with pytest.raises(GenlabError, match="use the approximations"):
        exact_emd(np.zeros((11, 2)), np.ones((10, 2)))
