"""Distances between sample sets and generative-model metrics.

    from genlab.metrics import knn_kl, exact_emd, gaussian_mmd, frechet_distance, prdc, compare
    kl_ab, kl_ba = knn_kl(x, y)        # x [n, d], y [m, d] -> Estimates (value, estimator, settings, notes)

See docs/metrics.md for what each estimator estimates and its conventions.
"""

from genlab.metrics.compare import DEFAULT_METRICS, METRICS, Comparison, MetricSettings, compare
from genlab.metrics.emd import exact_emd, sinkhorn_divergence, sliced_wasserstein
from genlab.metrics.frechet import frechet_distance, gaussian_frechet
from genlab.metrics.kl import histogram_kl, knn_kl
from genlab.metrics.mmd import gaussian_mmd, kid
from genlab.metrics.prdc import prdc
from genlab.metrics.result import Estimate
from genlab.metrics.sets import SampleSet, from_array, load_set

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "Comparison",
    "Estimate",
    "MetricSettings",
    "SampleSet",
    "compare",
    "exact_emd",
    "frechet_distance",
    "from_array",
    "gaussian_frechet",
    "gaussian_mmd",
    "histogram_kl",
    "kid",
    "knn_kl",
    "load_set",
    "prdc",
    "sinkhorn_divergence",
    "sliced_wasserstein",
]
