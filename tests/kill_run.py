"""Train a run in a fresh process and SIGKILL that process at a chosen point (tests/test_resume.py).

    python tests/kill_run.py MODEL OUT CONFIG_JSON step:N             killed as step N (0-based) begins
    python tests/kill_run.py MODEL OUT CONFIG_JSON after:METHOD       killed right after RunFolder.METHOD
    python tests/kill_run.py MODEL OUT CONFIG_JSON writing:checkpoint killed with the file's temporary written

SIGKILL cannot be caught, so nothing in genlab gets to clean up: the run folder is
left exactly as a power cut or an out-of-memory kill would leave it.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import torch

from genlab.models.registry import get_model
from genlab.train import engine
from genlab.train.runfolder import RunFolder


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(model: str, out: str, config_json: str, where: str) -> None:
    torch.set_num_threads(2)  # as tests/conftest.py, so the arithmetic matches the in-process runs
    spec = get_model(model)
    kind, _, point = where.partition(":")
    if kind == "step":
        original_step = spec.family.train_step

        def step_or_die(self, net, x, y, optimizers, step):
            if step == int(point):
                die()
            return original_step(self, net, x, y, optimizers, step)

        spec.family.train_step = step_or_die
    elif kind == "writing":
        from genlab.train import runfolder

        original_save = runfolder.save_file

        def save_then_die(tensors, path, metadata=None):
            original_save(tensors, path, metadata=metadata)
            if f".{point}." in str(path):
                die()  # before the temporary file is renamed over the real one

        runfolder.save_file = save_then_die
    else:
        original_method = getattr(RunFolder, point)

        def method_then_die(self, *args, **kwargs):
            original_method(self, *args, **kwargs)
            die()

        setattr(RunFolder, point, method_then_die)
    # overwrite: a test may kill a run that is replacing an older one
    engine.train(spec, spec.make_config(**json.loads(config_json)), out=out, overwrite=True, progress=False)
    sys.exit("the run finished without reaching its kill point")


if __name__ == "__main__":
    main(*sys.argv[1:])
