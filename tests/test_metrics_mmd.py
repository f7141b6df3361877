"""MMD and KID against brute-force formulas, and the permutation test's behaviour."""

import numpy as np
import pytest

from genlab.metrics.distances import as_tensor
from genlab.metrics.mmd import gaussian_mmd, kid, median_heuristic
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)


def brute_force_mmd(x, y, sigma):
    """(unbiased, biased) MMD^2 with a Gaussian kernel, straight from the definition."""

    def kernel(a, b):
        return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / (2 * sigma**2))

    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    n, m = len(x), len(y)
    unbiased = (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )
    return unbiased, kxx.mean() + kyy.mean() - 2 * kxy.mean()


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(0)
    return rng.normal(size=(400, 5)), rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) + 0.4


def test_median_heuristic_is_the_lower_median_pairwise_distance(samples):
    x, y, _ = samples
    pooled = np.concatenate([x, y])
    distances = np.sqrt(((pooled[:, None] - pooled[None]) ** 2).sum(-1))[np.triu_indices(len(pooled), 1)]
    lower_median = np.sort(distances)[(len(distances) - 1) // 2]
    assert median_heuristic(as_tensor(pooled)) == pytest.approx(lower_median, rel=1e-5)


@pytest.mark.parametrize("block", [4096, 128])  # one cached block, or many streamed blocks
def test_mmd_matches_the_definition(samples, block, monkeypatch):
    from genlab.metrics import mmd

    monkeypatch.setattr(mmd, "MEDIAN_POINTS", 4096 if block == 4096 else 100)
    x, y, _ = samples
    unbiased, biased = gaussian_mmd(x, y, bandwidth=2.0, block=block)
    expected = brute_force_mmd(x, y, 2.0)
    assert unbiased.value == pytest.approx(expected[0], abs=1e-6)
    assert biased.value == pytest.approx(expected[1], abs=1e-6)


def test_unbiased_mmd_of_identical_distributions_is_near_zero_with_a_large_p_value(samples):
    x, y, _ = samples
    unbiased, biased = gaussian_mmd(x, y, permutations=300, seed=1)
    assert abs(unbiased.value) < 3 * unbiased.extra["null_std"]
    assert unbiased.extra["p_value"] > 0.05
    assert biased.value > 0
    assert unbiased.settings["bandwidth_rule"].startswith("median heuristic")


def test_clearly_different_distributions_have_a_small_p_value(samples):
    x, _, shifted = samples
    unbiased, _ = gaussian_mmd(x, shifted, permutations=300, seed=1)
    assert unbiased.value > 0.01
    assert unbiased.extra["p_value"] < 0.01  # the smallest possible is 1/301


def test_negative_unbiased_estimates_are_kept_not_clipped():
    rng = np.random.default_rng(3)
    values = [gaussian_mmd(rng.normal(size=(60, 2)), rng.normal(size=(60, 2)))[0] for _ in range(12)]
    negative = [v for v in values if v.value < 0]
    assert negative, "some estimates of a zero MMD^2 fall below 0"
    assert all("negative" in v.notes[0] for v in negative)


def test_kid_is_the_cubic_kernel_unbiased_mmd(samples):
    x, _, shifted = samples
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (shifted @ shifted.T / d + 1) ** 3, (x @ shifted.T / d + 1) ** 3)
    n, m = len(x), len(shifted)
    expected = (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )
    assert kid(x, shifted).value == pytest.approx(expected, rel=1e-9)
    assert kid(x, shifted, block=64).value == pytest.approx(expected, rel=1e-9)
