"""Suites: a topic run end to end (training runs, sweeps, inspections) into one folder and one report.

    from genlab.suites import run_named_suite
    result = run_named_suite("classifiers", "runs/suite-classifiers-quick", quick=True)

Each suite module exposes SUITE (a genlab.suites.run.Suite); adding a suite is
one line in SUITE_MODULES. The name "all" runs every suite, in this order,
into one report.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from genlab.errors import GenlabError
from genlab.suites.run import Suite, SuiteResult, run_suites

SUITE_MODULES = (
    "genlab.suites.classifiers",
    "genlab.suites.autoencoders",
    "genlab.suites.vae",
    "genlab.suites.gan",
    "genlab.suites.divergences",
)


def all_suites() -> dict[str, Suite]:
    """Suite name -> suite, in the order of SUITE_MODULES."""
    suites = [importlib.import_module(name).SUITE for name in SUITE_MODULES]
    return {suite.name: suite for suite in suites}


def get_suites(name: str) -> list[Suite]:
    """The suites `name` stands for: one suite, or every suite for "all"."""
    suites = all_suites()
    if name == "all":
        return list(suites.values())
    if name not in suites:
        raise GenlabError(f"unknown suite '{name}'; choose one of: {', '.join([*suites, 'all'])}")
    return [suites[name]]


def default_out(name: str, quick: bool) -> Path:
    return Path("runs") / f"suite-{name}{'-quick' if quick else ''}"


def run_named_suite(
    name: str,
    out=None,
    quick: bool = False,
    data: str | None = None,
    progress: bool = True,
    log=print,
    executor=None,
) -> SuiteResult:
    """Run suite `name` (or "all") into `out` and write out/report.html and out/report.pdf; `executor`
    (genlab.executors) trains its runs."""
    return run_suites(
        get_suites(name),
        Path(out) if out else default_out(name, quick),
        quick=quick,
        data=(data,) if data else None,
        progress=progress,
        log=log,
        executor=executor,
    )


__all__ = ["SUITE_MODULES", "Suite", "SuiteResult", "all_suites", "get_suites", "run_named_suite"]
