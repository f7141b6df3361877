"""Networks the user wrote, named in a config by an importable reference.

A config names a user's network as "module:QualName" (a class, or any callable
returning an nn.Module) plus a JSON object of keyword arguments, so config.json
says how to rebuild it in a new process without pickle; the weights come from
safetensors like any run's. Python callers may give the class itself and a dict:
`reference` and `arguments_json` turn them into what the config stores.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.config import option
from genlab.errors import GenlabError


@dataclass(frozen=True)
class EncoderDecoderOptions:
    """The config fields that swap in a user's encoder and decoder (VAEs, autoencoders)."""

    encoder: str = option(
        "",
        "your own encoder instead of the built-in one: module:Class, called with "
        "--encoder-args; x [B, C, H, W] (or [B, D]) -> codes [B, p] (a VAE: [B, 2p], means then "
        "log-variances, or a (mean, logvar) pair); see docs/api.md",
        network=True,
    )
    encoder_args: str = option("{}", "keyword arguments of --encoder, a JSON object", arguments=True)
    decoder: str = option(
        "",
        "your own decoder (with --encoder): module:Class, called with --decoder-args; "
        "z [B, p] -> [B, C, H, W] or [B, C*H*W] before the output activation (a VAE: "
        "Bernoulli logits)",
        network=True,
    )
    decoder_args: str = option("{}", "keyword arguments of --decoder, a JSON object", arguments=True)

    def check_encoder_decoder(self) -> None:
        if bool(self.encoder) != bool(self.decoder):
            raise GenlabError("--encoder and --decoder come together: give both of your networks, or neither")


def is_reference(value: Any) -> bool:
    """Whether a config value names a user's network ("package.module:Class")."""
    return isinstance(value, str) and ":" in value


def reference(obj: Any, flag: str) -> str:
    """The importable "module:QualName" of a class or function (a string is returned as it is)."""
    if isinstance(obj, str):
        return obj
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<locals>" in qualname:
        raise GenlabError(
            f"{flag}: {obj!r} cannot be imported by name from another process; define it at the top "
            "level of a module on the Python path (not in __main__, a notebook cell or a function)"
        )
    return f"{module}:{qualname}"


def arguments_json(value: Any, flag: str) -> str:
    """Keyword arguments as the config stores them: a JSON object text (a dict is encoded)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise GenlabError(f"{flag} must be a JSON object, e.g. '{{\"width\": 64}}'; {error}") from None
    if not isinstance(parsed, dict):
        raise GenlabError(f"{flag} must be a JSON object, e.g. '{{\"width\": 64}}'; got {text}")
    return text


def build_network(ref: str, args: str, flag: str) -> nn.Module:
    """Import `ref` ("module:QualName") and call it with the keyword arguments `args` (JSON)."""
    module_name, _, qualname = ref.partition(":")
    try:
        target = importlib.import_module(module_name)
    except ImportError as error:
        raise GenlabError(
            f"{flag} {ref}: cannot import module '{module_name}' ({error}); put it on the Python "
            "path (PYTHONPATH, or install its package)"
        ) from None
    try:
        for part in qualname.split("."):
            target = getattr(target, part)
    except AttributeError:
        raise GenlabError(f"{flag} {ref}: module '{module_name}' has no '{qualname}'") from None
    try:
        network = target(**json.loads(args))
    except Exception as error:  # the user's constructor: any failure is theirs to fix, named in one line
        raise GenlabError(
            f"{flag} {ref} failed to build with arguments {args}: {type(error).__name__}: {error}"
        ) from None
    if not isinstance(network, nn.Module):
        raise GenlabError(f"{flag} {ref} returned a {type(network).__name__}, not a torch.nn.Module")
    return network


@torch.no_grad()
def dry_run(network: nn.Module, x: torch.Tensor, ref: str, flag: str):
    """`network(x)` in eval mode (no batch-norm statistics updated, no dropout draws), errors named."""
    was_training = network.training
    network.eval()
    try:
        return network(x)
    except Exception as error:  # a shape mismatch inside the user's forward
        raise GenlabError(
            f"{flag} {ref} failed on an input of shape {list(x.shape)}: {type(error).__name__}: {error}"
        ) from None
    finally:
        network.train(was_training)


def check_shape(output: Any, numel: int, expected: str, ref: str, flag: str) -> None:
    """Fail unless `output` is a tensor of `numel` values (described to the user as `expected`)."""
    if not torch.is_tensor(output) or output.numel() != numel:
        got = list(output.shape) if torch.is_tensor(output) else type(output).__name__
        raise GenlabError(f"{flag} {ref} returned {got}; expected {expected}")
