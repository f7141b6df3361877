"""Shared fixtures: real data from ../shared/datasets, a private cache, CPU only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"

# Tests are CPU-only and must be repeatable whatever machine runs them.
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def genlab_env(tmp_path_factory, monkeypatch):
    """Point genlab at the shared datasets (when present) and a per-session cache."""
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("GENLAB_DATA", str(SHARED_DATA))
    else:
        monkeypatch.setenv("GENLAB_DATA", str(tmp_path_factory.getbasetemp() / "no-data"))
    monkeypatch.setenv(
        "GENLAB_CACHE", os.environ.get("GENLAB_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    )


needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/datasets is not present")
