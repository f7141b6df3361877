"""What every estimator returns: a value with the name of what it estimates and how."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: Directions: KL is asymmetric (A||B = KL(P_A || P_B)); transport and kernel
#: distances are symmetric; precision and density ask about B relative to A.
SYMMETRIC = "A,B"
A_TO_B = "A||B"
B_TO_A = "B||A"
B_GIVEN_A = "B vs A"


@dataclass
class Estimate:
    """One number from one estimator.

    `value` may be inf (e.g. KL under a support mismatch) or negative (the unbiased
    MMD^2); it is never clipped. `estimator` names the method and `settings` holds
    every choice that changes the number. `notes` are one-line caveats for the
    reader; `extra` holds side results (p-value, finite extrapolation, ...).
    `seconds` is filled in by the timing layer.
    """

    metric: str
    direction: str
    value: float
    estimator: str
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    space: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "direction": self.direction,
            "value": jsonable(self.value),
            "estimator": self.estimator,
            "settings": jsonable(self.settings),
            "notes": list(self.notes),
            "extra": jsonable(self.extra),
            "seconds": self.seconds,
            "space": self.space,
        }


def jsonable(value):
    """JSON has no inf or nan: write them as the strings "inf", "-inf" and "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy / torch scalars
        return jsonable(value.item())
    return value


def format_value(value: float) -> str:
    """A table cell: 'inf' for infinite values, else 5 significant digits."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.5g}"
