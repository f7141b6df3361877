"""The run folder: the one thing every stage reads and writes.

    config.json           the resolved config, genlab version, seed, device
    metrics.jsonl         one JSON object per logged event
    checkpoint.safetensors model + optimiser state + RNG state, every epoch
    weights.safetensors   the final weights
    figures/ samples/     labelled figures and sample grids
    summary.json          the numbers of the finished run

Everything is written atomically (temp file + rename) so an interrupted run
never leaves a half-written file behind. Tensors are stored as safetensors,
never pickled.

A run is in one of three states (`RunFolder.state`), read from its files:

    training   no final weights yet (running, or interrupted): 'genlab train MODEL --resume RUN'
    trained    weights.safetensors written, summary.json not: 'genlab evaluate RUN' (or --resume)
    finished   summary.json written: evaluate, inspect, report; --resume --epochs N trains on
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from genlab import __version__
from genlab.errors import GenlabError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
WEIGHTS = "weights.safetensors"
CHECKPOINT = "checkpoint.safetensors"

TRAINING, TRAINED, FINISHED = "training", "trained", "finished"


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` so readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        # mkstemp makes the file private (0600); give it the mode a plain open() would, so a
        # report or summary can be shared like any other file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode())


#: The hidden sibling a replacing run is staged in (followed by the process id).
STAGE_PREFIX = ".{name}.new-"


def remove_abandoned_stages(path: Path) -> None:
    """Remove staging folders of `path` left by processes that no longer run (killed mid-start)."""
    for stage in path.parent.glob(f"{STAGE_PREFIX.format(name=path.name)}*"):
        pid = stage.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (one of another user's, which we may not signal, does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_run_path(model: str, data: str, root: str | Path = "runs") -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{model}-{Path(data).stem}-{stamp}"


class RunFolder:
    """A run folder on disk. Create a new one with `create`, open a finished one with `open`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        #: The run folder this one is staged to replace (see `create`), until `settle` swaps them.
        self.replaces: Path | None = None

    # -- lifecycle -----------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, overwrite: bool = False) -> RunFolder:
        """Make an empty run folder; an existing one is refused unless `overwrite`.

        With `overwrite` the new run is written beside the old one, in a hidden staging
        folder, and swapped in by `settle` once its first epoch is checkpointed: a new run
        that fails to start (or is killed) leaves the old one as it was.
        """
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            if not overwrite:
                raise GenlabError(
                    f"run folder {path} already exists; pass --overwrite to replace it or choose another --out"
                )
            if not (path / CONFIG).exists():
                raise GenlabError(
                    f"{path} exists and is not a genlab run folder; refusing to overwrite it, choose another --out"
                )
            if Path.cwd().resolve().is_relative_to(path.resolve()):
                raise GenlabError(
                    f"--out {path} contains the current directory, which replacing it would delete; "
                    "run from outside it or choose another --out"
                )
            remove_abandoned_stages(path)
            staging = path.parent / f"{STAGE_PREFIX.format(name=path.name)}{os.getpid()}"
            staging.mkdir()
            folder = cls(staging)
            folder.replaces = path
            return folder
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @property
    def destination(self) -> Path:
        """Where the run will be: its own path, or the folder a staged run replaces."""
        return self.replaces or self.path

    def settle(self) -> None:
        """Swap a staged run in for the one it replaces (a no-op for any other run)."""
        if self.replaces is None:
            return
        target, trash = self.replaces, self.replaces.parent / f".{self.replaces.name}.old-{os.getpid()}"
        os.replace(target, trash)
        os.replace(self.path, target)
        self.path, self.replaces = target, None
        shutil.rmtree(trash)

    def abandon(self) -> None:
        """Remove a staged run that never settled (it failed to start); the old run stays."""
        if self.replaces is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """An existing run folder; a path without config.json is a user error."""
        path = Path(path)
        if not (path / CONFIG).is_file():
            raise GenlabError(
                f"{path} is not a genlab run folder (no {CONFIG}); give the folder that 'genlab train' wrote"
            )
        return cls(path)

    def remove_temporaries(self) -> None:
        """Remove the temporary files of writes a killed process never finished (`.NAME.*.tmp`,
        `.NAME.tmp.png`); called by the commands that take a run over (resume, evaluate)."""
        for folder in (self.path, self.path / "figures", self.path / "samples"):
            for leftover in (*folder.glob(".*.tmp"), *folder.glob(".*.tmp.png")):
                leftover.unlink(missing_ok=True)

    # -- files ---------------------------------------------------------------------
    @property
    def figures(self) -> Path:
        folder = self.path / "figures"
        folder.mkdir(exist_ok=True)
        return folder

    @property
    def samples(self) -> Path:
        folder = self.path / "samples"
        folder.mkdir(exist_ok=True)
        return folder

    def write_config(self, config: dict[str, Any], device: str) -> None:
        record = {
            "config": config,
            "genlab_version": __version__,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "device": device,
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        atomic_write_json(self.path / CONFIG, record)

    def read_config(self) -> dict[str, Any]:
        return json.loads((self.path / CONFIG).read_text())

    @property
    def model_name(self) -> str:
        return self.read_config()["config"]["model"]

    def log(self, event: dict[str, Any]) -> None:
        """Append one event to metrics.jsonl (flushed, so a crash keeps what came before)."""
        with open(self.path / METRICS, "a") as handle:
            handle.write(json.dumps(event, sort_keys=True) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.path / METRICS
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, after_step: int) -> None:
        """Drop logged events past `after_step` (used when resuming from a checkpoint)."""
        kept = [e for e in self.read_metrics() if e.get("step", 0) <= after_step]
        atomic_write_bytes(self.path / METRICS, "".join(json.dumps(e, sort_keys=True) + "\n" for e in kept).encode())

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / SUMMARY, summary)

    def read_summary(self) -> dict[str, Any]:
        self.require(FINISHED)
        return json.loads((self.path / SUMMARY).read_text())

    # -- state ---------------------------------------------------------------------
    def state(self) -> str:
        """TRAINING, TRAINED or FINISHED (see the module docstring), from the files alone.

        Weights or a summary left from fewer epochs (a finished run being trained on with
        --resume --epochs N) do not count: the run is training again until it writes new ones.
        """
        epochs = self.read_config()["config"].get("epochs")
        weights = self.path / WEIGHTS
        if not weights.is_file() or tensors_metadata(weights).get("epoch", epochs) != epochs:
            return TRAINING
        summary = self.path / SUMMARY
        if summary.is_file() and json.loads(summary.read_text()).get("epochs", epochs) == epochs:
            return FINISHED
        return TRAINED

    def require(self, *states: str) -> str:
        """The run's state, when it is one of `states`; otherwise the one-line error that names
        the command moving the run on."""
        state = self.state()
        if state in states:
            return state
        if state == TRAINING:
            raise GenlabError(
                f"{self.path} has not finished training (no final weights); "
                f"continue it with 'genlab train {self.model_name} --resume {self.path}'"
            )
        if state == TRAINED:
            raise GenlabError(
                f"{self.path} has its final weights but no {SUMMARY} (it stopped before the summary); "
                f"finish it with 'genlab evaluate {self.path}'"
            )
        raise GenlabError(f"{self.path} has already finished; 'genlab evaluate {self.path}' recomputes its summary")

    def save_figure(self, figure, name: str, folder: str = "figures") -> Path:
        """Save a matplotlib figure as PNG under figures/ (or samples/) and close it."""
        import matplotlib.pyplot as plt

        target = (self.figures if folder == "figures" else self.samples) / name
        tmp = target.with_name(f".{target.stem}.tmp.png")
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, target)
        plt.close(figure)
        return target

    # -- tensors -------------------------------------------------------------------
    def save_weights(self, model: torch.nn.Module, epoch: int, step: int) -> None:
        """The final weights, with the epoch and step they end and a checksum of the tensors."""
        tensors = module_tensors(model)
        meta = {"epoch": epoch, "step": step, "sha256": tensors_sha256(tensors)}
        atomic_save_tensors(self.path / WEIGHTS, tensors, {"genlab": json.dumps(meta)})

    def load_weights(self, model: torch.nn.Module) -> None:
        self.require(TRAINED, FINISHED)
        device = str(next(iter(model.state_dict().values())).device)
        model.load_state_dict({k: v.to(device) for k, v in load_verified(self.path / WEIGHTS).items()})

    def save_checkpoint(
        self, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer], epoch: int, step: int
    ) -> None:
        """Model, optimisers, progress and RNG state, in one atomic safetensors file."""
        tensors = {f"model.{k}": v for k, v in module_tensors(model).items()}
        meta: dict[str, Any] = {"epoch": epoch, "step": step, "optimizers": {}}
        for name, optimizer in optimizers.items():
            flat, rest = flatten_optimizer_state(optimizer.state_dict())
            tensors.update({f"optim.{name}.{k}": v for k, v in flat.items()})
            meta["optimizers"][name] = rest
        tensors["rng.cpu"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for index, state in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{index}"] = state
        meta["sha256"] = tensors_sha256(tensors)
        atomic_save_tensors(self.path / CHECKPOINT, tensors, {"genlab": json.dumps(meta)})

    def load_checkpoint(self, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer]) -> dict:
        """Restore what `save_checkpoint` wrote; returns {'epoch': ..., 'step': ...}."""
        path = self.path / CHECKPOINT
        if not path.exists():
            raise GenlabError(
                f"{self.path} has no {CHECKPOINT} to resume from "
                "(it stopped before its first epoch ended); start it again with --overwrite"
            )
        meta = tensors_metadata(path)
        tensors = load_verified(path)
        device = next(iter(model.state_dict().values())).device
        model.load_state_dict({k[6:]: v.to(device) for k, v in tensors.items() if k.startswith("model.")})
        for name, optimizer in optimizers.items():
            prefix = f"optim.{name}."
            # load_state_dict moves each state tensor to its parameter's device itself.
            flat = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            optimizer.load_state_dict(unflatten_optimizer_state(flat, meta["optimizers"][name]))
            match_parameter_layout(optimizer)
        torch.set_rng_state(tensors["rng.cpu"])
        cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda_states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda_states)
        return {"epoch": meta["epoch"], "step": meta["step"]}


def module_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of `tensors` (in name order): what a
    safetensors file's data must still hash to when it is read back."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{list(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def checkpoint_epoch(run_path: Path) -> int:
    """The epoch the run's last checkpoint ended (0 when it has none)."""
    path = Path(run_path) / CHECKPOINT
    return int(tensors_metadata(path)["epoch"]) if path.is_file() else 0


def tensors_metadata(path: Path) -> dict[str, Any]:
    """The genlab metadata of a safetensors file ({} for files written before it had any)."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("genlab", "{}"))


def load_verified(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of `path`, refused when they no longer match the checksum written with them.
    Files from before checksums were written load unchecked."""
    tensors = load_file(path)
    expected = tensors_metadata(path).get("sha256")
    if expected is not None and tensors_sha256(tensors) != expected:
        raise GenlabError(
            f"{path} is damaged: its tensors do not match the SHA-256 written with them; "
            "restore the file from a copy or train the run again"
        )
    return tensors


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def flatten_optimizer_state(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimiser state dict into tensors (for safetensors) and JSON-able rest."""
    tensors, scalars = {}, {}
    for param_id, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{param_id}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def match_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each restored state tensor its parameter's memory format (strides).

    Checkpoints store state contiguous and load_state_dict keeps it so, while a
    channels-last parameter (FastCNN) had channels-last moments before the
    interruption; a fused optimiser then computes the first step after a resume
    differently, and the resumed run drifts from an uninterrupted one.
    """
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape == parameter.shape and value.stride() != parameter.stride():
                    state[key] = torch.empty_like(parameter, dtype=value.dtype).copy_(value)


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for source in (tensors, rest["scalars"]):
        for flat_key, value in source.items():
            param_id, key = flat_key.split(".", 1)
            state.setdefault(int(param_id), {})[key] = value
    return {"state": state, "param_groups": rest["param_groups"]}
