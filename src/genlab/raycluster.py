"""Training points as Ray tasks: `--executor ray` for sweeps and suites, and the cluster `genlab tune` uses.

Imported only when Ray is asked for (genlab.executors checks that it is installed).

Workers need not share a filesystem with the driver. A task trains its point in a temporary folder
on its own node; at every epoch end (after the checkpoint is written) it hands the whole run folder,
as the bytes of a tar, to a courier: an actor pinned to the driver's node that places it in the
driver's output folder (staged beside it, then renamed in) and keeps the latest one. A task that
Ray retries after its worker or node died first asks the courier for that latest folder and resumes
from its checkpoint (`genlab.train.reuse.ensure_run`), so it reaches the weights an uninterrupted
run would have; without one it starts again. A finished run folder is never replaced by a partial
one. With `shared_output` the workers see the output folder themselves and train in it directly.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

import ray

from genlab.errors import GenlabError
from genlab.executors import Point, headline_text
from genlab.train.runfolder import CONFIG, FINISHED, TRAINED, RunFolder, checkpoint_epoch

CONNECT_SECONDS = 3.0  # how long an --address may take to answer before it counts as nothing there


# -- the cluster ---------------------------------------------------------------------
def check_address(address: str) -> None:
    """Fail fast, in one line, when nothing listens at a HOST:PORT (or ray://HOST:PORT) address."""
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise GenlabError(f"--address {address} is not HOST:PORT; give the address 'ray start --head' printed")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise GenlabError(
            f"no Ray cluster answers at --address {address} ({error.strerror or error}); start one there with "
            "'ray start --head', or leave out --address to start a local one"
        ) from None


def connect(address: str | None) -> bool:
    """Join the cluster at `address`, or start a local one on this machine; True when this call did
    (and so should `ray.shutdown()` afterwards), False when Ray was already initialised in this process."""
    if ray.is_initialized():
        return False
    if address and address != "auto":
        check_address(address)
    try:
        ray.init(
            address=address or "local",
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
            configure_logging=True,
        )
    except ConnectionError as error:
        raise GenlabError(
            f"could not join a Ray cluster at --address {address} ({str(error).splitlines()[0]}); "
            "start one with 'ray start --head' or leave out --address"
        ) from None
    return True


# -- run folders as bytes --------------------------------------------------------------
def pack(folder: Path) -> bytes:
    """A run folder as the bytes of an uncompressed tar (weights do not compress); temporaries of
    unfinished writes are left out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.name.endswith(".tmp") or path.name.endswith(".tmp.png"):
                continue
            archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def unpack(bundle: bytes, folder: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r") as archive:
        archive.extractall(folder, filter="data")


def place(bundle: bytes, target: Path) -> None:
    """Put the run folder `bundle` at `target`: unpacked beside it first, then renamed in, so a
    reader (or a killed driver) sees the old folder or the new one, never a half-written one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.parent / f".{target.name}.ray-{uuid.uuid4().hex[:8]}"
    unpack(bundle, stage)
    if target.exists():
        trash = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(target, trash)
        os.replace(stage, target)
        shutil.rmtree(trash)
    else:
        os.replace(stage, target)


def finished(path: Path) -> bool:
    return (path / CONFIG).is_file() and RunFolder(path).state() == FINISHED


@ray.remote(num_cpus=0, max_restarts=0)
class Courier:
    """Lives on the driver's node: places the run folders that tasks send into the output folder and
    keeps each point's latest partial one for a retry of its task."""

    def __init__(self):
        self.points: dict[str, dict[str, Any]] = {}

    def register(self, key: str, partial: bool) -> None:
        """`partial`: whether an epoch's folder may be placed at `key` (not when that would replace a
        finished run or a run of another config before the new run has finished)."""
        self.points[key] = {"partial": partial, "latest": None, "final": False}
        for leftover in Path(key).parent.glob(f".{Path(key).name}.ray-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a stage of a driver that was killed

    def latest(self, key: str) -> bytes | None:
        """The point's last folder: its last epoch's, or (for a task retried after it delivered its
        finished run, which the retry then reuses) the finished one, read back from the output folder."""
        point = self.points[key]
        return pack(Path(key)) if point["final"] else point["latest"]

    def deliver(self, key: str, bundle: bytes, final: bool) -> None:
        point = self.points[key]
        point["latest"] = None if final else bundle  # a finished one is kept on disk only
        point["final"] = point["final"] or final
        if final or (point["partial"] and not finished(Path(key))):
            place(bundle, Path(key))


def start_courier():
    """A courier pinned to this (the driver's) node, whose filesystem holds the output folder."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    return Courier.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)).remote()


def streaming(courier, key: str):
    """A `genlab.train.logs.watching` listener maker: each epoch's run folder goes to the courier."""

    def make(run):
        def listener(event):
            if event.get("event") == "epoch":  # logged after the epoch's checkpoint is written
                ray.get(courier.deliver.remote(key, pack(run.path), False))

        return listener

    return make


# -- one point as a task ---------------------------------------------------------------------------
def train_point(
    point: Point, key: str, seed: bytes | None, courier, threads: int, retrain: bool, replace_other: bool
) -> dict[str, Any]:
    """Train one point on whichever node Ray chose; {"summary", "action"} or {"error": one line}."""
    import torch

    from genlab.train.logs import watching
    from genlab.train.reuse import ensure_run

    torch.set_num_threads(threads)
    if courier is None:  # shared output: the worker sees the output folder and trains in it
        try:
            summary, action = ensure_run(
                point.spec, point.config, Path(key), retrain=retrain, replace_other=replace_other, progress=False
            )
        except GenlabError as error:
            return {"error": str(error)}
        return {"summary": summary, "action": action}
    latest = ray.get(courier.latest.remote(key))
    with tempfile.TemporaryDirectory(prefix="genlab-point-") as scratch:
        run_path = Path(scratch) / point.label
        if latest or seed:
            unpack(latest or seed, run_path)
        try:
            with watching(streaming(courier, key)):
                summary, action = ensure_run(point.spec, point.config, run_path, progress=False)
        except GenlabError as error:
            # What the failed run logged goes to the output folder, as a local sweep leaves it there
            # (placed only where a partial folder may go); the message then names that copy.
            if (run_path / CONFIG).is_file():
                ray.get(courier.deliver.remote(key, pack(run_path), False))
            return {"error": str(error).replace(str(run_path), key)}
        ray.get(courier.deliver.remote(key, pack(run_path), True))
    return {"summary": summary, "action": action}


remote_train_point = ray.remote(train_point)


class RayExecutor:
    """Each point a Ray task asking for `cpus_per_point` CPUs (and a GPU when its device is cuda),
    retried up to `retries` times when its worker or node dies; at most `parallel` in flight."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        parallel: int | None = None,
        cpus_per_point: int = 1,
        retries: int = 3,
        shared_output: bool = False,
    ):
        self.address, self.parallel, self.cpus = address, parallel, cpus_per_point
        self.retries, self.shared_output = retries, shared_output
        self.started = False

    def __enter__(self) -> RayExecutor:
        return self  # the cluster is joined by the first points, once they have been checked

    def __exit__(self, *exc) -> None:
        if self.started:
            ray.shutdown()

    def ensure_runs(
        self, points: list[Point], retrain: bool = False, replace_other: bool = False, progress: bool = True
    ) -> list[tuple[dict[str, Any], str]]:
        """(summary, action) per point, as `LocalExecutor.ensure_runs` gives them; one line per finished
        point (its headline number) with the count of points running, done and failed."""
        from genlab.train.engine import say
        from genlab.train.reuse import finished_summary, same_config

        results: list[tuple[dict[str, Any], str] | None] = [None] * len(points)
        work = []
        for index, point in enumerate(points):
            summary = None if retrain else finished_summary(point.run_path, point.config)
            if summary is not None:
                results[index] = (summary, "reused")
                continue
            held = point.run_path.exists() and any(point.run_path.iterdir())
            if held and not (retrain or replace_other or same_config(point.run_path, point.config)):
                raise GenlabError(
                    f"run folder {point.run_path} already exists; "
                    "pass --overwrite to replace it or choose another --out"
                )
            work.append(index)
        if not work:
            return results  # type: ignore[return-value]
        if not ray.is_initialized():
            self.started = connect(self.address)
        courier = None if self.shared_output else start_courier()
        pending: dict[Any, int] = {}
        queue = list(work)
        counts = {"done": len(points) - len(work), "failed": 0}
        errors: list[str] = []

        def submit(index: int) -> None:
            point = points[index]
            key = str(point.run_path.resolve())
            seed = None
            if courier is not None:
                ours = not retrain and same_config(point.run_path, point.config)
                if ours and (
                    0 < checkpoint_epoch(point.run_path) or RunFolder(point.run_path).state() == TRAINED
                ):  # an interrupted run of this point: the task continues it
                    seed = pack(point.run_path)
                held = point.run_path.exists() and any(point.run_path.iterdir())
                ray.get(courier.register.remote(key, not held or (ours and not finished(point.run_path))))
            cuda = getattr(point.config, "device", "cpu") == "cuda"
            task = remote_train_point.options(
                num_cpus=self.cpus,
                num_gpus=1 if cuda else 0,
                max_retries=self.retries,
                name=f"genlab {point.label}",
            ).remote(point, key, seed, courier, self.cpus, retrain, replace_other)
            pending[task] = index

        while queue or pending:
            while queue and (self.parallel is None or len(pending) < self.parallel):
                submit(queue.pop(0))
            ready, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready[0])
            label = points[index].label
            try:
                outcome = ray.get(ready[0])
            except ray.exceptions.RayError as error:  # a task that failed beyond its retries
                outcome = {"error": str(error).strip().splitlines()[0]}
            if "error" in outcome:
                counts["failed"] += 1
                errors.append(f"{label}: {outcome['error']}")
                line = f"failed: {outcome['error']}"
            else:
                counts["done"] += 1
                results[index] = (outcome["summary"], outcome["action"])
                line = headline_text(points[index], outcome["summary"], outcome["action"])
            if progress:
                say(
                    f"[{counts['done']} done, {len(pending)} running, {counts['failed']} failed of {len(points)}] "
                    f"{label}: {line}"
                )
        if errors:
            raise GenlabError(
                f"{len(errors)} of {len(points)} points failed (first: {errors[0]}); the finished ones are kept, "
                "so the same command again trains only the rest"
            )
        return results  # type: ignore[return-value]
