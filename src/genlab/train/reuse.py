"""Reuse a finished run, continue an interrupted one, or train afresh: what sweeps and suites do per run.

A run folder is reused only when its saved config equals the requested one
(the data fingerprint aside), so changing any setting retrains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genlab.models.base import ModelSpec
from genlab.train.runfolder import CONFIG, FINISHED, TRAINED, RunFolder, checkpoint_epoch


def same_config(run_path: Path, config) -> bool:
    """Whether `run_path` holds a run (finished or not) of exactly `config`."""
    if not (Path(run_path) / CONFIG).is_file():
        return False
    saved = {k: v for k, v in RunFolder.open(run_path).read_config()["config"].items() if k != "data_fingerprint"}
    return saved == config.to_dict()


def finished_summary(run_path: Path, config) -> dict[str, Any] | None:
    """The summary of a finished run of `config` at `run_path`, or None."""
    if not same_config(run_path, config) or RunFolder(run_path).state() != FINISHED:
        return None
    return RunFolder.open(run_path).read_summary()


def ensure_run(
    spec: ModelSpec, config, run_path: Path, retrain: bool = False, replace_other: bool = False, progress: bool = True
) -> tuple[dict[str, Any], str]:
    """(summary, what was done) for a finished run of `config` at `run_path`.

    What was done is "reused" (a finished run of the same config was there),
    "resumed" (an interrupted one was continued from its last checkpoint, to
    the weights an uninterrupted run reaches, or a trained one was summarised) or "trained" (the folder was
    empty, held an unfinished run of the same config without a checkpoint to
    continue, or `retrain` was asked for). A run of another config in the folder
    is replaced only with `replace_other` (or `retrain`); otherwise training
    refuses with the run folder's one-line error.
    """
    from genlab.train import engine

    run_path = Path(run_path)
    if not retrain:
        summary = finished_summary(run_path, config)
        if summary is not None:
            return summary, "reused"
        if same_config(run_path, config) and (
            0 < checkpoint_epoch(run_path) < config.epochs or RunFolder(run_path).state() == TRAINED
        ):
            return engine.resume(run_path, spec, progress=progress).summary, "resumed"
    # An unfinished run of the same config with no usable checkpoint has nothing worth keeping.
    overwrite = retrain or replace_other or same_config(run_path, config)
    result = engine.train(spec, config, out=run_path, overwrite=overwrite, progress=progress)
    return result.summary, "trained"
