"""KL estimators against closed forms, an independent kNN reference, and support mismatches."""

import math

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.special import gammaln
from scipy.stats import norm

from genlab.errors import GenlabError
from genlab.metrics.analytic import Normal, Uniform, exact_kl
from genlab.metrics.kl import ensemble_weights, histogram_kl, knn_kl
from genlab.metrics.kl_bias import bias_note
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)


def gaussian_kl(mean_p, cov_p, mean_q, cov_q) -> float:
    """KL(N(mean_p, cov_p) || N(mean_q, cov_q)) in nats."""
    inverse = np.linalg.inv(cov_q)
    delta = mean_q - mean_p
    return 0.5 * (
        np.trace(inverse @ cov_p)
        + delta @ inverse @ delta
        - len(mean_p)
        + np.log(np.linalg.det(cov_q) / np.linalg.det(cov_p))
    )


def reference_knn_kl(x, y, k=5) -> float:
    """Eq. 5 of Wang, Kulkarni & Verdu (2009), written independently with scipy's k-d tree."""
    n, d = x.shape
    rho = cKDTree(x).query(x, k + 1)[0][:, k]
    nu = cKDTree(y).query(x, [k])[0][:, 0]
    return d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1))


def plug_in_kl(x, y) -> float:
    """The discrete KL between the empirical distributions of the rows of x and y (y covers x)."""
    values, index = np.unique(np.concatenate([x, y]), axis=0, return_inverse=True)
    p = np.bincount(index.ravel()[: len(x)], minlength=len(values)) / len(x)
    q = np.bincount(index.ravel()[len(x) :], minlength=len(values)) / len(y)
    return float(np.sum(p[p > 0] * np.log(p[p > 0] / q[p > 0])))


MEAN_P, COV_P = np.zeros(2), np.eye(2)
MEAN_Q, COV_Q = np.array([1.0, 0.0]), np.diag([2.0, 0.5])
# Tolerance at n = 5,000 in 2-D: the kNN estimator (k = 5) is biased low here by about
# 0.04 (A||B) and 0.08 (B||A) (measured over seeds); its standard deviation is about 0.02.
TOLERANCE = 0.12


@pytest.fixture(scope="module")
def gaussians():
    rng = np.random.default_rng(0)
    return rng.multivariate_normal(MEAN_P, COV_P, 5000), rng.multivariate_normal(MEAN_Q, COV_Q, 5000)


@pytest.mark.parametrize("estimator", ["auto", "knn", "adaptive"])
def test_knn_kl_of_two_gaussians_matches_the_closed_form(gaussians, estimator):
    x, y = gaussians
    forward, backward = knn_kl(x, y, estimator=estimator)
    assert forward.value == pytest.approx(gaussian_kl(MEAN_P, COV_P, MEAN_Q, COV_Q), abs=TOLERANCE)  # 0.5
    assert backward.value == pytest.approx(gaussian_kl(MEAN_Q, COV_Q, MEAN_P, COV_P), abs=TOLERANCE)  # 0.75
    assert forward.direction == "A||B" and backward.direction == "B||A"
    assert math.isfinite(forward.value) and math.isfinite(backward.value)


def test_knn_kl_equals_an_independent_implementation_with_tree_and_matrix_search():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 3)), rng.normal(size=(300, 3)) * 1.2 + 0.3
    expected = reference_knn_kl(x, y), reference_knn_kl(y, x)
    for method in ("tree", "brute"):
        forward, backward = knn_kl(x, y, estimator="knn", method=method, support_tolerance=1.0)
        assert (forward.value, backward.value) == pytest.approx(expected, rel=1e-9)


def test_the_ensemble_is_the_weighted_sum_of_the_single_k_estimates():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(400, 3)), rng.normal(size=(300, 3)) * 1.2 + 0.3
    weights = ensemble_weights(3, 20)
    ks = np.arange(1, 21)
    # Sum 1, and the leading bias term Gamma(k + 2/d) / Gamma(k) ~ k^(2/d) cancelled.
    assert weights.sum() == pytest.approx(1.0)
    assert weights @ np.exp(gammaln(ks + 2 / 3) - gammaln(ks)) == pytest.approx(0.0, abs=1e-9)
    expected = sum(w * reference_knn_kl(x, y, k) for w, k in zip(weights, ks))
    forward, _ = knn_kl(x, y, estimator="ensemble", support_tolerance=1.0)
    assert forward.value == pytest.approx(expected, rel=1e-9)
    assert forward.settings["estimator"] == "ensemble" and forward.settings["neighbours"] == 20


@pytest.mark.parametrize("estimator", ["ensemble", "adaptive"])
def test_both_neighbour_searches_agree_with_copies(estimator):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(250, 2))
    x = np.concatenate([x, x[:20], y[:10]])  # copies within A and across the sets
    tree = knn_kl(x, y, estimator=estimator, method="tree")
    brute = knn_kl(x, y, estimator=estimator, method="brute")
    assert [e.value for e in tree] == pytest.approx([e.value for e in brute], rel=1e-9)
    assert tree[0].extra["points_on_copies"] == 50
    assert any("50 of 330 points of A repeat exactly a value" in note for note in tree[0].notes)


def test_knn_kl_of_identical_distributions_is_near_zero():
    rng = np.random.default_rng(3)
    forward, backward = knn_kl(rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3)))
    assert abs(forward.value) < 0.08 and abs(backward.value) < 0.08


def test_a_set_against_its_own_copy_is_exactly_zero():
    x = np.random.default_rng(4).normal(size=(500, 2))
    forward, backward = knn_kl(x, x.copy())
    # Every value is an atom seen once in each set: each term is log((1/n) / (1/m)) = 0.
    assert forward.value == 0.0 and backward.value == 0.0


def test_quantised_one_dimensional_data_meet_the_exact_discrete_kl():
    # N(0, 1) and N(0.5, 1) rounded to steps of 0.1: skipping copies used to give 0.004.
    rng = np.random.default_rng(11)
    x, y = np.round(rng.normal(size=(4000, 1)), 1), np.round(rng.normal(0.5, 1, size=(4000, 1)), 1)
    edges = np.arange(-80.5, 81) / 10
    p, q = np.diff(norm.cdf(edges)), np.diff(norm.cdf(edges, 0.5))
    exact = np.sum(p * np.log(p / q)), np.sum(q * np.log(q / p))  # both 0.1249
    forward, backward = knn_kl(x, y)
    # The plug-in's bias at this size was measured +0.018 (sd 0.016 over 8 seeds).
    assert forward.value == pytest.approx(exact[0], abs=0.06)
    assert backward.value == pytest.approx(exact[1], abs=0.06)
    assert forward.extra["points_on_copies"] > 3990  # all but a few tail points are atoms


def test_binary_multidimensional_data_are_the_plug_in_discrete_kl():
    rng = np.random.default_rng(12)
    x = (rng.random((4000, 6)) < 0.5).astype(np.float32)  # 64 values, every one repeated
    y = (rng.random((4000, 6)) < 0.3).astype(np.float32)
    forward, backward = knn_kl(x, y)
    assert (forward.value, backward.value) == pytest.approx((plug_in_kl(x, y), plug_in_kl(y, x)), rel=1e-12)
    bernoulli = 6 * (0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.7))  # 0.523; reverse 0.494
    assert forward.value == pytest.approx(bernoulli, abs=0.1)  # measured bias +0.038 (sd 0.025)


@pytest.mark.parametrize("copies", [2, 5, 20])
def test_a_mode_collapsed_sample_never_scores_closer_than_real_data(copies):
    rng = np.random.default_rng(13)
    real, independent = rng.normal(size=(1000, 5)), rng.normal(size=(1000, 5))
    collapsed = np.repeat(rng.normal(size=(1000 // copies, 5)), copies, axis=0)
    floor = knn_kl(real, independent)
    for estimate, real_value in zip(knn_kl(real, collapsed), floor):
        assert estimate.value == math.inf or estimate.value > real_value.value
    # B is all atoms that A never takes: KL(B||A) is infinite, and the note says why.
    assert any("values repeated in B that A never takes" in note for note in knn_kl(real, collapsed)[1].notes)


def test_memorised_copies_of_real_points_score_worse_than_real_data():
    rng = np.random.default_rng(14)
    real, independent = rng.normal(size=(1000, 5)), rng.normal(size=(1000, 5))
    memorised = np.repeat(real[:50], 20, axis=0)  # 50 training points, 20 copies each
    forward, backward = knn_kl(real, memorised)
    floor = knn_kl(real, independent)
    assert forward.value == math.inf  # B shows no continuous part
    assert backward.value == pytest.approx(math.log(20)) and backward.value > floor[1].value


def test_kl_normal_to_uniform_is_reported_infinite_and_the_reverse_is_not():
    rng = np.random.default_rng(5)
    uniform, normal = rng.uniform(size=(1000, 3)), rng.normal(size=(1000, 3))
    uniform_to_normal, normal_to_uniform = knn_kl(uniform, normal)
    assert normal_to_uniform.value == math.inf
    assert normal_to_uniform.notes[-1].startswith("support mismatch")
    assert math.isfinite(normal_to_uniform.extra["finite_estimate"])
    exact = exact_kl(Uniform(3), Normal(3))  # 1.5 log(2 pi) + 1/2 = 3.257 nats
    assert uniform_to_normal.value == pytest.approx(exact, abs=0.3)


def test_histogram_kl_is_a_finite_lower_bound_that_notes_empty_cells():
    rng = np.random.default_rng(6)
    uniform, normal = rng.uniform(size=(1000, 3)), rng.normal(size=(1000, 3))
    forward, backward = histogram_kl(uniform, normal)
    assert forward.settings["bins_per_axis"] == 4 and forward.settings["pseudo_count"] == 0.5
    # The binned KL never exceeds the true KL (data-processing inequality) up to noise, and
    # normal || uniform (truth inf) stays finite, with a note on the cells the cube leaves empty.
    assert forward.value < exact_kl(Uniform(3), Normal(3))
    assert math.isfinite(backward.value) and backward.extra["outside_support_fraction"] > 0.5
    assert "lower bound either way" in backward.notes[0]


@pytest.mark.parametrize("variance", [2.0, 4.0])
def test_histogram_kl_of_a_wider_covering_set_is_not_infinite(variance):
    # Equal-width cells left 5-23% of the wider set in cells empty of the other; the old 5% rule
    # reported inf for KL(N(0, vI) || N(0, I)), which is finite (0.15 v=2, 0.81 v=4 per axis).
    rng = np.random.default_rng(17)
    forward, _ = histogram_kl(np.sqrt(variance) * rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)))
    assert 0 < forward.value < exact_kl(Normal(2, var=variance), Normal(2))


def test_histogram_kl_of_identical_distributions_is_near_zero_and_not_flagged():
    rng = np.random.default_rng(7)
    forward, backward = histogram_kl(rng.normal(size=(3000, 2)), rng.normal(size=(3000, 2)))
    assert abs(forward.value) < 0.05 and abs(backward.value) < 0.05


def test_high_dimension_is_warned_and_constant_coordinates_are_dropped():
    rng = np.random.default_rng(8)
    x, y = np.zeros((200, 40)), np.zeros((200, 40))
    x[:, :30], y[:, :30] = rng.normal(size=(200, 30)), rng.normal(size=(200, 30))
    forward, _ = knn_kl(x, y)
    assert forward.settings["dimension"] == 30 and forward.settings["estimator"] == "knn"  # auto above d = 10
    assert any("10 of 40 coordinates are constant" in note for note in forward.notes)
    assert any(note.startswith("bias: on Gaussian pairs with known KL at d = 50, n = 500 ") for note in forward.notes)


def test_a_wider_a_is_finite_not_a_false_infinity_and_its_bias_is_noted():
    # KL(N(0, 4I) || N(0, I)) in 3-D is 2.42 nats; the old support check reported inf.
    rng = np.random.default_rng(15)
    forward, _ = knn_kl(2 * rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3)))
    assert math.isfinite(forward.value) and 0.5 < forward.value < 2.42
    assert any(note.startswith("bias: on Gaussian pairs with known KL at d = 3, n = 2000") for note in forward.notes)


def test_the_bias_note_fires_where_the_measured_bias_is_large():
    # d = 5, n = 8,000 was silent before (n >= 2^d) while 22% low; 1-D at 8,000 points is quiet.
    assert "d = 5, n = 8000" in bias_note("ensemble", 5, 8000, 5)
    assert bias_note("ensemble", 1, 8000, 5) is None
    assert "d = 10, n = 2000" in bias_note("ensemble", 7, 3000, 5)  # the more biased cell speaks
    assert "at k = 5" in bias_note("knn", 3, 2000, 10)


def test_a_negative_estimate_says_that_kl_is_never_negative():
    # N(0, 2I) against N(0, I) in 10-D with n = 500: truth 1.53, single-k estimate about -0.6.
    rng = np.random.default_rng(16)
    forward, _ = knn_kl(np.sqrt(2) * rng.normal(size=(500, 10)), rng.normal(size=(500, 10)), estimator="knn")
    assert forward.value < 0
    assert any(note.startswith("a KL divergence is never negative") for note in forward.notes)


def test_bad_inputs_fail_with_one_line_errors():
    rng = np.random.default_rng(9)
    with pytest.raises(GenlabError, match="needs at least 6 points in each set; A has 5"):
        knn_kl(rng.normal(size=(5, 2)), rng.normal(size=(50, 2)))
    with pytest.raises(GenlabError, match="A has dimension 2 but B has 3"):
        knn_kl(rng.normal(size=(50, 2)), rng.normal(size=(50, 3)))
    bad = rng.normal(size=(50, 2))
    bad[3, 1] = np.nan
    with pytest.raises(GenlabError, match="B contains 1 NaN or infinite values"):
        knn_kl(rng.normal(size=(50, 2)), bad)
    with pytest.raises(GenlabError, match="dimension <= 3"):
        histogram_kl(rng.normal(size=(50, 4)), rng.normal(size=(50, 4)))
    with pytest.raises(GenlabError, match="unknown kNN KL estimator 'best'; use auto, ensemble, knn, adaptive"):
        knn_kl(rng.normal(size=(50, 2)), rng.normal(size=(50, 2)), estimator="best")
