"""Corruption processes C(x~ | x) for denoising autoencoders and the 2-D corruption demo.

A process is named on the command line as ``KIND:LEVEL``:

    gaussian:S     x~ = x + e,  e ~ N(0, S^2 I)                      (additive noise, S > 0)
    salt-pepper:P  each coordinate independently: kept with probability 1 - P,
                   else set to its low or high value (P/2 each)       (impulse noise, 0 < P <= 1)
    mask:P         x~ = m * x,  m_i ~ Bernoulli(1 - P)                 (random masking, 0 < P <= 1)

"none" (or an empty string) means no corruption. Images use low = 0 and high = 1;
real-valued data pass per-coordinate bounds (e.g. the training minimum and maximum).
Gaussian noise is not clipped: the process is exactly the formula above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genlab.errors import GenlabError

KINDS = ("gaussian", "salt-pepper", "mask")
_ALIASES = {
    "gaussian": "gaussian",
    "gauss": "gaussian",
    "normal": "gaussian",
    "salt-pepper": "salt-pepper",
    "salt-and-pepper": "salt-pepper",
    "saltpepper": "salt-pepper",
    "mask": "mask",
    "masking": "mask",
    "dropout": "mask",
}
SPEC_HELP = "use gaussian:STD, salt-pepper:P or mask:P (e.g. gaussian:0.3), or none"


@dataclass(frozen=True)
class Corruption:
    """One corruption process: `kind` in KINDS and its `level` (std for gaussian, probability otherwise)."""

    kind: str
    level: float

    @property
    def spec(self) -> str:
        """The canonical command-line form, e.g. 'gaussian:0.3'."""
        return f"{self.kind}:{self.level:g}"

    def describe(self) -> str:
        """A short phrase for figure titles."""
        if self.kind == "gaussian":
            return f"additive Gaussian noise, std {self.level:g}"
        if self.kind == "salt-pepper":
            return f"salt-and-pepper noise, p = {self.level:g}"
        return f"random masking, p = {self.level:g}"

    def formula(self) -> str:
        """The process as a matplotlib mathtext formula."""
        level = f"{self.level:g}"
        if self.kind == "gaussian":
            return rf"$\tilde{{x}} = x + \epsilon,\ \ \epsilon \sim \mathcal{{N}}(0,\ {level}^2 I)$"
        if self.kind == "salt-pepper":
            return (
                rf"$\tilde{{x}}_i = x_i$ with prob. $1 - {level}$, else $\mathrm{{lo}}_i$ or "
                rf"$\mathrm{{hi}}_i$ (prob. ${level}/2$ each)"
            )
        return rf"$\tilde{{x}} = m \odot x,\ \ m_i \sim \mathrm{{Bernoulli}}(1 - {level})$"

    def apply(
        self,
        x: torch.Tensor,
        low: torch.Tensor | float = 0.0,
        high: torch.Tensor | float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """A corrupted copy of `x` (any shape, float).

        `low`/`high` (scalars or tensors broadcastable to `x`) are the salt-and-pepper
        values. Randomness comes from `generator` (default: torch's global RNG on x's device).
        """
        if self.kind == "gaussian":
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            return x + self.level * noise
        uniform = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        if self.kind == "mask":
            return x * (uniform >= self.level).to(x.dtype)
        low_t = torch.as_tensor(low, dtype=x.dtype, device=x.device)
        high_t = torch.as_tensor(high, dtype=x.dtype, device=x.device)
        # One uniform draw decides both whether a coordinate is hit (u < p) and
        # which way (u < p/2: low, else high), so the two events stay exclusive.
        salted = torch.where(uniform < self.level / 2, low_t, high_t)
        return torch.where(uniform < self.level, salted, x)


def parse_noise(text: str | None, flag: str = "--noise") -> Corruption | None:
    """Parse 'KIND:LEVEL' into a Corruption; None for 'none' or ''. Bad specs raise GenlabError."""
    if text is None or text.strip().lower() in ("", "none"):
        return None
    name, sep, value = text.strip().partition(":")
    kind = _ALIASES.get(name.strip().lower())
    if kind is None or not sep:
        raise GenlabError(f"{flag} '{text}' does not parse: {SPEC_HELP}")
    try:
        level = float(value)
    except ValueError:
        raise GenlabError(f"{flag} '{text}' does not parse: the level '{value}' is not a number; {SPEC_HELP}") from None
    if not math.isfinite(level):
        raise GenlabError(f"{flag} '{text}': the level must be a finite number, got {value}")
    if kind == "gaussian" and not level > 0:
        raise GenlabError(f"{flag} '{text}': the Gaussian std must be > 0, got {value}")
    if kind != "gaussian" and not 0 < level <= 1:
        raise GenlabError(f"{flag} '{text}': the {kind} probability must be in (0, 1], got {value}")
    return Corruption(kind, level)
