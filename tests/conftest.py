"""Shared fixtures: real data from $GENLAB_DATA (else ../shared/datasets), a private cache, CPU only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# `make test DATA=/path` sets GENLAB_DATA; without it, the datasets folder beside the checkout.
SHARED_DATA = Path(os.environ.get("GENLAB_DATA") or Path(__file__).resolve().parents[2] / "shared" / "datasets")
REAL_DATASETS = ("mnist", "fashion-mnist")
MISSING = [name for name in REAL_DATASETS if not (SHARED_DATA / name).is_dir()]
NO_DATA_REASON = f"real data absent: {', '.join(MISSING)} not in {SHARED_DATA} (set GENLAB_DATA or make test DATA=...)"

# Tests are CPU-only and must be repeatable whatever machine runs them.
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def genlab_env(tmp_path_factory, monkeypatch):
    """Point genlab at the test datasets (when present) and a per-session cache."""
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("GENLAB_DATA", str(SHARED_DATA))
    else:
        monkeypatch.setenv("GENLAB_DATA", str(tmp_path_factory.getbasetemp() / "no-data"))
    monkeypatch.setenv(
        "GENLAB_CACHE", os.environ.get("GENLAB_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    )


needs_shared_data = pytest.mark.skipif(bool(MISSING), reason=NO_DATA_REASON)


def pytest_report_header(config) -> str:
    if MISSING:
        return f"WARNING: {NO_DATA_REASON}; the tests that need them are skipped"
    return f"genlab test data: {SHARED_DATA}"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Skips for missing data are easy to miss under -q; name them at the end, where everyone looks."""
    if not MISSING:
        return
    skipped = [report for report in terminalreporter.stats.get("skipped", []) if NO_DATA_REASON in str(report.longrepr)]
    terminalreporter.write_sep("!", f"{len(skipped)} tests skipped: {NO_DATA_REASON}", yellow=True, bold=True)
