"""Named synthetic distributions (`uniform:3`, `normal:3:var=2`) with exact answers.

Sampling them gives sample sets whose true KL divergence and Frechet distance are
known in closed form, so every estimator can be checked against the truth and a
support mismatch (KL(normal || uniform) = inf) is known rather than guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genlab.errors import GenlabError

SYNTAX = "uniform:D[:low=L][:high=H] or normal:D[:mean=M][:var=V]"


@dataclass(frozen=True)
class Uniform:
    """The uniform distribution on the cube [low, high]^dim."""

    dim: int
    low: float = 0.0
    high: float = 1.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=(n, self.dim))

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def describe(self) -> str:
        return f"uniform on [{self.low:g}, {self.high:g}]^{self.dim}"


@dataclass(frozen=True)
class Normal:
    """The isotropic normal N(mean * 1, var * I) in dimension dim."""

    dim: int
    mean: float = 0.0
    var: float = 1.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, math.sqrt(self.var), size=(n, self.dim))

    def describe(self) -> str:
        return f"normal N({self.mean:g}, {self.var:g} I) in {self.dim}-D"


Distribution = Uniform | Normal


def parse_distribution(spec: str) -> Distribution:
    """`uniform:3`, `uniform:2:low=-1:high=1`, `normal:3`, `normal:3:mean=1:var=2` -> a distribution."""
    parts = spec.split(":")
    kind = parts[0]
    try:
        dim = int(parts[1])
        options = dict(part.split("=", 1) for part in parts[2:])
        values = {key: float(value) for key, value in options.items()}
    except (IndexError, ValueError):
        raise GenlabError(f"malformed distribution '{spec}'; expected {SYNTAX}") from None
    allowed = {"uniform": ("low", "high"), "normal": ("mean", "var")}[kind]
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise GenlabError(f"'{spec}': {kind} takes {' and '.join(allowed)}, not '{unknown[0]}'")
    if dim < 1:
        raise GenlabError(f"'{spec}': the dimension must be at least 1")
    if kind == "uniform":
        result = Uniform(dim, **values)
        if not result.high > result.low:
            raise GenlabError(f"'{spec}': high must exceed low")
        return result
    result = Normal(dim, **values)
    if not result.var > 0:
        raise GenlabError(f"'{spec}': var must be > 0")
    return result


def exact_kl(p: Distribution, q: Distribution) -> float:
    """KL(p || q) in nats; inf when p puts mass outside the support of q."""
    d = p.dim
    if isinstance(p, Normal) and isinstance(q, Normal):
        return 0.5 * d * (p.var / q.var + (p.mean - q.mean) ** 2 / q.var - 1 + math.log(q.var / p.var))
    if isinstance(p, Normal):  # unbounded support against a bounded one
        return math.inf
    if isinstance(q, Uniform):
        if q.low <= p.low and p.high <= q.high:
            return d * math.log((q.high - q.low) / (p.high - p.low))
        return math.inf
    # uniform || normal: -entropy(p) - E_p[log q]
    entropy = d * math.log(p.high - p.low)
    expected_square = p.var + (p.mean - q.mean) ** 2
    return -entropy + 0.5 * d * math.log(2 * math.pi * q.var) + d * expected_square / (2 * q.var)


def exact_frechet(p: Distribution, q: Distribution) -> float:
    """The population Frechet distance: ||mu_p - mu_q||^2 + tr(S_p + S_q - 2 (S_p S_q)^1/2), which for
    isotropic covariances is d ((m_p - m_q)^2 + (s_p - s_q)^2) with s the per-coordinate std."""
    return p.dim * ((p.mean - q.mean) ** 2 + (math.sqrt(p.var) - math.sqrt(q.var)) ** 2)
