"""Small GAN runs and a judge on mnist-sample, trained once per test session and shared by
the GAN, judge and inversion tests (import the fixtures from here)."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest

from genlab.models.registry import get_model
from genlab.train import engine

_RUNS: dict = {}


@contextmanager
def cache_at(path):
    """GENLAB_CACHE pointed at `path` for the duration (judges are stored there)."""
    before = os.environ.get("GENLAB_CACHE")
    os.environ["GENLAB_CACHE"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("GENLAB_CACHE", None)
        else:
            os.environ["GENLAB_CACHE"] = before


def shared(key, factory, tmp_path_factory):
    """Build `key` once per session with factory(folder) and return it thereafter."""
    if key not in _RUNS:
        _RUNS[key] = factory(tmp_path_factory.mktemp(key))
    return _RUNS[key]


def _judge(folder):
    from genlab.judge import train_judge

    with cache_at(folder):
        return folder, train_judge("mnist-sample", epochs=4, batch_size=64, device="cpu", progress=False)


def _gan(name, **values):
    def factory(folder):
        cache, _ = _JUDGE_FOLDER["judge"]
        spec = get_model(name)
        # a smaller generator than the default keeps the tests quick
        config = spec.make_config(data="mnist-sample", device="cpu", epochs=2, g_hidden=(128, 256, 512), **values)
        with cache_at(cache):
            result = engine.train(spec, config, out=folder / "run", progress=False)
        return result.run.path, result.summary

    return factory


_JUDGE_FOLDER: dict = {}


@pytest.fixture(scope="session")
def mnist_sample_judge(tmp_path_factory):
    """(cache folder, TrainResult) of a 4-epoch judge on mnist-sample (batch 64: 29 steps an epoch)."""
    _JUDGE_FOLDER["judge"] = shared("judge", _judge, tmp_path_factory)
    return _JUDGE_FOLDER["judge"]


@pytest.fixture(scope="session")
def trained_gan(tmp_path_factory, mnist_sample_judge):
    """(run folder, summary) of a 2-epoch MLP GAN on mnist-sample, judged."""
    # the settings its thresholds were set at (the model's defaults since: batch 128, half the steps)
    return shared("gan", _gan("gan", batch_size=64, lr_d=2e-4, lr_g=2e-4), tmp_path_factory)


@pytest.fixture(scope="session")
def trained_cgan(tmp_path_factory, mnist_sample_judge):
    """The LoadedRun of a 2-epoch conditional GAN on mnist-sample, judged."""
    path, _ = shared("cgan", _gan("cgan"), tmp_path_factory)
    return engine.load_run(path, device="cpu")
