"""The run folder: the one thing every stage reads and writes.

    config.json           the resolved config, genlab version, seed, device
    metrics.jsonl         one JSON object per logged event
    checkpoint.safetensors model + optimiser state + RNG state, every epoch
    weights.safetensors   the final weights
    figures/ samples/     labelled figures and sample grids, each folder with index.json:
                          {file name: {"caption", "report"}}, given by the code that drew the figure
    summary.json          the numbers of the finished run
    meanings.json         {summary entry: {"meaning", "unit", "better"}}, given by the code that computed it

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from genlab import __version__
from genlab.errors import GenlabError
from genlab.userfiles import read_json, read_jsonl, reading

CONFIG = "config.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
WEIGHTS = "weights.safetensors"
CHECKPOINT = "checkpoint.safetensors"
RUN_DAMAGED = "the run folder is damaged: train the run again"
MEANINGS = "meanings.json"
FIGURE_INDEX = "index.json"  # in figures/ and samples/


@dataclass(frozen=True)
class Described:
    """A summary entry with what it measures: `value` goes to summary.json, `meaning` and `unit` to
    meanings.json beside it, so the report explains the number without a table of entry names."""

    value: Any
    meaning: str
    unit: str = ""  # "" for counts, fractions and other plain numbers
    better: str = ""  # "higher", "lower", or "" where neither is better by itself (a setting, a count)

    def __post_init__(self):
        if self.better not in ("higher", "lower", ""):
            raise ValueError(f"better must be 'higher', 'lower' or '', not {self.better!r}")


def described(value: Any, meaning: str, unit: str = "", better: str = "") -> Described:
    """`value` as a summary entry that says what it measures (a phrase), in which unit, and whether a
    higher or a lower value is better."""
    return Described(value, meaning, unit, better)


def with_meanings(entries: dict[str, Any], meanings: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """`entries` with each one named in `meanings` ({name: (meaning, unit[, better])}) made a `Described` entry."""
    return {k: described(v, *meanings[k]) if k in meanings else v for k, v in entries.items()}


def on_split(values: dict[str, Any], split: str, meanings: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Evaluation numbers of one split as summary entries '<split>_<name>', each described by its name's
    (meaning, unit[, better]) in `meanings` (a family's own evaluation meanings) with the split named."""
    where = {"train": "training", "val": "validation", "test": "test"}.get(split, split)
    entries: dict[str, Any] = {}
    for name, value in values.items():
        if name in meanings:
            meaning, *rest = meanings[name]
            entries[f"{split}_{name}"] = described(value, f"{meaning}, on the {where} split", *rest)
        else:
            entries[f"{split}_{name}"] = value
    return entries


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
        # Callables given every logged event after metrics.jsonl has it (genlab.train.logs: TensorBoard).
        self.listeners: list = []
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

    def write_config(self, config: dict[str, Any], device: str, source: dict[str, Any] | None = None) -> None:
        """Write config.json; `source` (where the settings came from: a settings file and the flags
        that overrode it) is recorded as its "config_source"."""
        record = {
            "config": config,
            "genlab_version": __version__,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "device": device,
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        if source is not None:
            record["config_source"] = source
        atomic_write_json(self.path / CONFIG, record)

    def read_config(self) -> dict[str, Any]:
        record = read_json(self.path / CONFIG, RUN_DAMAGED)
        config = record.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("model"), str):
            raise GenlabError(
                f"{self.path / CONFIG} is not a genlab run config (no 'config' with a 'model'); {RUN_DAMAGED}"
            )
        return record

    @property
    def model_name(self) -> str:
        return self.read_config()["config"]["model"]

    def log(self, event: dict[str, Any]) -> None:
        """Append one event to metrics.jsonl (flushed, so a crash keeps what came before)."""
        with open(self.path / METRICS, "a") as handle:
            handle.write(json.dumps(event, sort_keys=True) + "\n")
        for listener in self.listeners:
            listener(event)

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.path / METRICS
        if not path.exists():
            return []
        return read_jsonl(path, RUN_DAMAGED)

    def truncate_metrics(self, after_step: int) -> None:
        """Drop logged events past `after_step` (used when resuming from a checkpoint)."""
        kept = [e for e in self.read_metrics() if e.get("step", 0) <= after_step]
        atomic_write_bytes(self.path / METRICS, "".join(json.dumps(e, sort_keys=True) + "\n" for e in kept).encode())

    def write_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Write summary.json (and the meanings of its `Described` entries to meanings.json, merged with
        those already there); returns the plain values, as summary.json holds them."""
        values = {k: v.value if isinstance(v, Described) else v for k, v in summary.items()}
        meanings = {k: v for k, v in self.read_meanings().items() if k in values}
        meanings.update(
            {
                k: {"meaning": v.meaning, "unit": v.unit, "better": v.better}
                for k, v in summary.items()
                if isinstance(v, Described)
            }
        )
        # Meanings first: a summary.json on disk always finds the meanings of its entries beside it.
        atomic_write_json(self.path / MEANINGS, meanings)
        atomic_write_json(self.path / SUMMARY, values)
        return values

    def read_meanings(self) -> dict[str, dict[str, str]]:
        """{entry: {"meaning", "unit", "better"}} of summary.json; {} for a run written before meanings.json existed."""
        path = self.path / MEANINGS
        return read_json(path, RUN_DAMAGED) if path.is_file() else {}

    def read_summary(self) -> dict[str, Any]:
        self.require(FINISHED)
        return read_json(self.path / SUMMARY, RUN_DAMAGED)

    # -- state ---------------------------------------------------------------------
    def state(self) -> str:
        """TRAINING, TRAINED or FINISHED (see the module docstring), from the files alone.

        Weights or a summary left from fewer epochs (a finished run being trained on with
        --resume --epochs N) do not count: the run is training again until it writes new ones.
        """
        epochs = self.read_config()["config"].get("epochs")
        weights = self.path / WEIGHTS
        if not weights.is_file():
            return TRAINING
        with reading(weights, RUN_DAMAGED):
            weights_epoch = tensors_metadata(weights).get("epoch", epochs)
        if weights_epoch != epochs:
            return TRAINING
        summary = self.path / SUMMARY
        if summary.is_file() and read_json(summary, RUN_DAMAGED).get("epochs", epochs) == epochs:
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

    def save_figure(self, figure, name: str, caption: str, folder: str = "figures", report: bool = True) -> Path:
        """Save a matplotlib figure as PNG under figures/ (or samples/), close it, and record `caption`
        (what the figure shows, naming the splits and quantities of its legend) in that folder's index.json;
        `report=False`: a figure another one already shows (a report leaves it out)."""
        import matplotlib.pyplot as plt

        if not caption.strip():
            raise ValueError(f"figure {name} needs a caption: what it shows")
        target = (self.figures if folder == "figures" else self.samples) / name
        tmp = target.with_name(f".{target.stem}.tmp.png")
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, target)
        plt.close(figure)
        record_caption(target, caption, report)
        return target

    # -- tensors -------------------------------------------------------------------
    def save_weights(self, model: torch.nn.Module, epoch: int, step: int) -> None:
        """The final weights, with the epoch and step they end and a checksum of the tensors."""
        tensors = module_tensors(model)
        meta = {"epoch": epoch, "step": step, "sha256": tensors_sha256(tensors)}
        atomic_save_tensors(self.path / WEIGHTS, tensors, {"genlab": json.dumps(meta)})

    def load_weights(self, model: torch.nn.Module) -> None:
        self.require(TRAINED, FINISHED)
        path = self.path / WEIGHTS
        device = str(next(iter(model.state_dict().values())).device)
        try:
            model.load_state_dict({k: v.to(device) for k, v in load_verified(path).items()})
        except RuntimeError as error:  # names or shapes of another model's weights
            raise GenlabError(
                f"{path} does not hold this run's weights ({str(error).splitlines()[0]}); {RUN_DAMAGED}"
            ) from None

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
        with reading(path, "start the run again with --overwrite"):
            meta = tensors_metadata(path)
        tensors = load_verified(path, "start the run again with --overwrite")
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
    if not path.is_file():
        return 0
    with reading(path, "train the run again"):
        return int(tensors_metadata(path)["epoch"])


def tensors_metadata(path: Path) -> dict[str, Any]:
    """The genlab metadata of a safetensors file ({} for files written before it had any)."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("genlab", "{}"))


def load_verified(path: Path, fix: str = RUN_DAMAGED) -> dict[str, torch.Tensor]:
    """The tensors of `path`, refused when they no longer match the checksum written with them.
    Files from before checksums were written load unchecked; unreadable files are one line naming `fix`."""
    with reading(path, fix):
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


def record_caption(target: Path, caption: str, report: bool = True) -> None:
    """Add (or replace) the caption of figure file `target` in the index.json of its folder (`report`: whether
    a report shows it)."""
    index = read_figure_index(target.parent)
    index[target.name] = {"caption": caption, "report": report}
    # Not sorted: the index keeps the order in which the figures were drawn, the order a report shows them.
    atomic_write_bytes(target.parent / FIGURE_INDEX, (json.dumps(index, indent=2) + "\n").encode())


def forget_caption(target: Path) -> None:
    """Remove figure file `target` from its folder's index.json (the file moved away)."""
    index = read_figure_index(target.parent)
    if index.pop(target.name, None) is not None:
        atomic_write_bytes(target.parent / FIGURE_INDEX, (json.dumps(index, indent=2) + "\n").encode())


def read_figure_index(folder: Path) -> dict[str, dict[str, Any]]:
    """{file name: {"caption", "report"}} of the figures in `folder`; {} without index.json (an older run)."""
    path = folder / FIGURE_INDEX
    return read_json(path, RUN_DAMAGED) if path.is_file() else {}
