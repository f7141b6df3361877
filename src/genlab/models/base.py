"""The interface between a model family and the training engine.

A family owns its networks and the objective of one training step; the engine
(genlab.train.engine) owns the loop, devices, precision, logging and
checkpoints, and knows nothing of any family. A GAN is a family whose step
updates two players with two optimisers; the engine does not special-case it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from genlab.config import NOT_GIVEN, TrainConfig
from genlab.data.datasets import DataBundle, Split
from genlab.errors import GenlabError


def make_optimizer(config: TrainConfig, parameters, lr: float | None = None, betas=None) -> torch.optim.Optimizer:
    """The optimiser named by `config.optimizer`, at `lr` (default `config.lr`)."""
    lr = config.lr if lr is None else lr
    decay = config.weight_decay
    params = [p for p in parameters if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=decay)
    if config.optimizer == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=decay)
    # fused: one kernel for the whole update instead of ~10 passes per tensor; on a CPU this
    # cuts a 784-400-20 VAE step at batch 64 by about a quarter (benchmarks/vae.py).
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas or (0.9, 0.999), weight_decay=decay, fused=True)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas or (0.9, 0.999), weight_decay=decay, fused=True)
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=decay)
    raise GenlabError(f"unknown optimizer '{config.optimizer}'; use sgd, momentum, adam, adamw or adadelta")


class Family:
    """Base class of a model family. Subclasses set `config_cls` and implement the hooks.

    The engine calls, in order: `build` (once), `optimizers` (once), then per
    step `train_step`, at evaluation points `evaluate` on the validation and
    test splits, `on_epoch_end` after every epoch, and `finish` once at the end.

    Optional capabilities, used by the inspection commands (see `require`):
      encode(model, x [B, ...]) -> z [B, p]        autoencoders, VAEs (posterior mean)
      decode(model, z [B, p]) -> x [B, ...]        autoencoders, VAEs, GAN generators
      sample(model, n, labels=None) -> x [n, ...]  VAEs and GANs: new data, values in [0, 1]
      reconstruct(model, x [B, ...]) -> x [B, ...] autoencoders, VAEs
      predict_proba(model, x [B, ...]) -> [B, K]   classifiers
    """

    config_cls: type[TrainConfig] = TrainConfig
    #: summary.json entries that sweeps tabulate, the last being the one they plot.
    headline: tuple[str, ...] = ()
    #: `evaluate` entries the engine's per-epoch line shows (those present; none listed or present: the first).
    epoch_entries: tuple[str, ...] = ()

    def __init__(self, config: TrainConfig, data: DataBundle, device: torch.device):
        self.config = config
        self.data = data
        self.device = device

    def build(self) -> nn.Module:
        """The family's networks as one module (a GAN returns a ModuleDict of both players)."""
        raise NotImplementedError

    def optimizers(self, model: nn.Module) -> dict[str, torch.optim.Optimizer]:
        """Named optimisers; one over all parameters unless the family needs more."""
        return {"model": make_optimizer(self.config, model.parameters())}

    def train_step(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
        step: int,
    ) -> dict[str, torch.Tensor]:
        """One optimisation step on a batch; returns detached 0-dim tensors to log.

        `x` is float (images in [0, 1], [B, 1, 28, 28]), `y` int64 [B]. Returning
        tensors, not floats, lets the engine avoid a GPU sync per step; every
        returned value is checked to be finite.
        """
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: Split) -> dict[str, float]:
        """Metrics on a whole split (model in eval mode, no gradients)."""
        return {}

    def on_epoch_end(self, model: nn.Module, run, epoch: int) -> None:
        """Per-epoch artefacts (e.g. sample grids); default none."""

    def finish(self, model: nn.Module, run) -> dict[str, Any]:
        """Write the final figures; return the family's entries of summary.json."""
        return {}


@dataclass(frozen=True)
class ModelSpec:
    """A name on the command line: a family, its config class and preset defaults."""

    name: str
    family: type[Family]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def config_cls(self) -> type[TrainConfig]:
        return self.family.config_cls

    def make_config(self, **values) -> TrainConfig:
        """The resolved config: class defaults, then this preset's, then `values` (NOT_GIVEN ones skipped;
        None is a value)."""
        given = {k: v for k, v in values.items() if v is not NOT_GIVEN}
        return self.config_cls(model=self.name, **{**self.defaults, **given})

    def default_config(self) -> TrainConfig:
        return self.make_config()


def require(family: Family, capability: str, command: str) -> None:
    """Fail with a one-line message when a run's family lacks what `command` needs."""
    if not callable(getattr(family, capability, None)):
        raise GenlabError(
            f"'{family.config.model}' runs have no {capability} step, which '{command}' needs; "
            "give a run of a family that has one"
        )
