"""Sweeps and tune on a real local Ray cluster: a head node and a worker node started as separate
processes (`ray start --block`, one CPU each, a small object store), as a user's cluster would be.

A worker process that trains a point is killed once that point's first epoch has reached the driver;
the sweep must still finish, that point resumed from its checkpoint, with run folders identical to a
local sweep's. Run these alone with `pytest -m ray`; they skip where Ray is not installed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

import genlab
from genlab.errors import GenlabError

pytestmark = pytest.mark.ray
needs_ray = pytest.mark.skipif(
    __import__("importlib").util.find_spec("ray") is None, reason="Ray is not installed (pip install 'genlab[ray]')"
)

SRC = Path(__file__).resolve().parents[1] / "src"
RAY = Path(sys.executable).parent / "ray"
# Every sweep point: 3 epochs of a small MLP in batches of 4 (250 steps an epoch), so that even on a
# quiet machine a point trains long enough after its first epoch to be caught and killed.
FIXED = ["data=mnist-sample", "epochs=3", "limit=1000", "batch_size=4", "hidden=32", "evals_per_epoch=1"]
# Every trial: 2 epochs, so ASHA's first rung (epoch 1) can stop one before its end.
TUNE_FIXED = ["data=mnist-sample", "epochs=2", "limit=600", "batch_size=16", "hidden=32", "evals_per_epoch=1"]
TIMINGS = {"seconds", "train_seconds"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cluster_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "RAY_AUTH_MODE": "disabled",  # a local test cluster; Ray 2.60 asks for a token by default
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
    }


def stop_session(process: subprocess.Popen) -> None:
    """End a `ray start --block` and every process it started (they share its session), by id."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # ray start --block stops its processes on SIGTERM
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == process.pid:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if process.poll() is None:
        process.kill()
    process.wait(timeout=15)


@pytest.fixture(scope="module")
def cluster():
    """The address of a two-node Ray cluster on 127.0.0.1, stopped (all its processes) afterwards."""
    if __import__("importlib").util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (pip install 'genlab[ray]')")
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", "1", "--object-store-memory", "80000000", "--block", "--disable-usage-stats"]
    common += ["--node-ip-address", "127.0.0.1"]
    nodes = []

    def start(args, log):
        process = subprocess.Popen(
            [str(RAY), "start", *args, *common],
            # The workers' scratch folders go under `temp` too: a killed task cannot remove its own.
            env={**cluster_env(), "TMPDIR": temp},
            start_new_session=True,
            stdout=open(Path(temp) / log, "w"),
            stderr=subprocess.STDOUT,
        )
        nodes.append(process)
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in (Path(temp) / log).read_text():
            assert process.poll() is None, (Path(temp) / log).read_text()
            assert time.monotonic() < deadline, f"{log}: Ray did not start in 90 s"
            time.sleep(0.2)

    try:
        start(["--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp], "head.log")
        start(["--address", address], "worker.log")
        yield address
    finally:
        for process in reversed(nodes):
            stop_session(process)
        subprocess.run(["rm", "-rf", temp], check=False)


def genlab_cli(*args, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "genlab.cli", *args],
        env=cluster_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def task_process(name: str) -> int | None:
    """The pid of the Ray worker running task `name` (Ray titles it 'ray::NAME'), or None."""
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if title == f"ray::{name}":
            return int(entry.name)
    return None


def tensors(path: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), "pt") as handle:
        return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118


def test_sweep_survives_a_killed_worker_and_matches_local(cluster, tmp_path):
    grid = "lr=0.01,0.003,0.001,0.03"
    out = tmp_path / "ray"
    sweep = genlab_cli(
        "sweep", "mlp", "--grid", grid, *(f"--set={s}" for s in FIXED), "-o", str(out),
        "--executor", "ray", "--address", cluster, "--retries", "2",
    )  # fmt: skip
    killed = None
    deadline = time.monotonic() + 240
    while sweep.poll() is None and killed is None and time.monotonic() < deadline:
        for run in sorted(out.glob("lr=*")):
            # The point's first epoch reached the driver and it is still training: kill its worker.
            if (run / "checkpoint.safetensors").exists() and not (run / "summary.json").exists():
                pid = task_process(f"genlab {run.name}")
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    killed = run.name
                    break
        time.sleep(0.02)
    output = sweep.communicate(timeout=300)[0]
    assert sweep.returncode == 0, output
    assert killed is not None, f"no point was caught between its first and last epoch:\n{output}"
    lines = [line for line in output.splitlines() if line.startswith("[")]
    assert len(lines) == 4 and lines[-1].startswith("[4 done, 0 running, 0 failed of 4]"), output
    # Resumed from the first epoch that reached the driver (or, were the kill to land just after the
    # point delivered its finished folder, reused from that).
    assert re.search(r"\((resumed|reused),", next(line for line in lines if f"] {killed}: " in line)), output

    # The same sweep here, with as many torch threads as each Ray task used (CPU results depend on it).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        genlab.run_sweep("mlp", grid=(grid,), fixed=tuple(FIXED), out=tmp_path / "local", quiet=True)
    finally:
        torch.set_num_threads(threads)
    for run in (tmp_path / "local").glob("lr=*"):
        there = out / run.name
        for name in ("weights.safetensors", "checkpoint.safetensors"):
            expected, got = tensors(run / name), tensors(there / name)
            assert expected.keys() == got.keys()
            assert all(torch.equal(expected[key], got[key]) for key in expected), f"{run.name}/{name} differs"
        local, remote = (json.loads((folder / "summary.json").read_text()) for folder in (run, there))
        assert {k: v for k, v in local.items() if k not in TIMINGS} == {
            k: v for k, v in remote.items() if k not in TIMINGS
        }
    rows = [json.loads((folder / "results.json").read_text()) for folder in (tmp_path / "local", out)]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in rows[0]] == [
        {k: v for k, v in row.items() if k != "seconds"} for row in rows[1]
    ]
    # A rerun reuses every finished point, as the local executor does: nothing is trained or rewritten.
    written = {run.name: (run / "weights.safetensors").stat().st_mtime_ns for run in out.glob("lr=*")}
    again = genlab_cli(
        "sweep", "mlp", "--grid", grid, *(f"--set={s}" for s in FIXED), "-o", str(out),
        "--executor", "ray", "--address", cluster,
    )  # fmt: skip
    output = again.communicate(timeout=120)[0]
    assert again.returncode == 0 and "done" not in output, output
    assert written == {run.name: (run / "weights.safetensors").stat().st_mtime_ns for run in out.glob("lr=*")}


def test_tune_with_asha_stops_a_poor_trial_early(cluster, tmp_path):
    # Two useful learning rates first, then two far too small: ASHA stops at least one of those at
    # its first rung (the end of epoch 1, of 2).
    tune = genlab_cli(
        "tune", "mlp", "--space", "lr=0.01,0.02,0.00001,0.000011", "--search", "grid",
        *(f"--set={s}" for s in TUNE_FIXED), "--scheduler", "asha", "--parallel", "2", "-o", str(tmp_path / "tune"),
        "--address", cluster,
    )  # fmt: skip
    output = tune.communicate(timeout=300)[0]
    assert tune.returncode == 0, output
    result = json.loads((tmp_path / "tune" / "results.json").read_text())
    statuses = [trial["status"] for trial in result["trials"]]
    assert "stopped early" in statuses, output
    assert result["best"]["lr"] in (0.01, 0.02), result["best"]
    for trial in result["trials"]:  # every trial is a run folder, stopped ones at the epoch they reached
        assert trial["epochs"] == 2 if trial["status"] == "finished" else trial["epochs"] == 1
        assert (tmp_path / "tune" / trial["run"] / "checkpoint.safetensors").is_file()
    assert sum(line.startswith("[") for line in output.splitlines()) == 4, output


@needs_ray
def test_address_with_nothing_there_is_one_line(tmp_path):
    started = time.monotonic()
    sweep = genlab_cli(
        "sweep", "mlp", "--grid", "lr=0.1,0.01", "--set", "data=mnist-sample", "-o", str(tmp_path / "s"),
        "--executor", "ray", "--address", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    output = sweep.communicate(timeout=120)[0]
    assert sweep.returncode == 2, output
    assert output.count("\n") == 1 and "no Ray cluster answers at --address 127.0.0.1:" in output, output
    assert time.monotonic() - started < 60
    assert not (tmp_path / "s").exists()


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(GenlabError, match=r"pip install 'genlab\[ray\]'"):
        genlab.run_sweep("mlp", grid=("lr=0.1,0.01",), fixed=("data=mnist-sample",), out=tmp_path, executor="ray")
    with pytest.raises(GenlabError, match="--address needs --executor ray"):
        genlab.run_sweep("mlp", grid=("lr=0.1,0.01",), address="127.0.0.1:1")
