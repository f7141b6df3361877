"""Every model name the CLI knows, collected from the family modules.

A family module exposes `MODELS`, a list of ModelSpec; adding a family is one
line in FAMILY_MODULES.
"""

from __future__ import annotations

import importlib

from genlab.errors import GenlabError
from genlab.models.base import ModelSpec

FAMILY_MODULES = (
    "genlab.models.classifiers",
    "genlab.models.autoencoders",
    "genlab.models.vae",
    "genlab.models.echo",
    "genlab.models.gan",
)


def all_models() -> dict[str, ModelSpec]:
    """Model name -> spec, in the order the families are listed."""
    models: dict[str, ModelSpec] = {}
    for module_name in FAMILY_MODULES:
        for spec in importlib.import_module(module_name).MODELS:
            models[spec.name] = spec
    return models


def get_model(name: str) -> ModelSpec:
    models = all_models()
    if name not in models:
        raise GenlabError(f"unknown model '{name}'; choose one of: {', '.join(models)}")
    return models[name]
