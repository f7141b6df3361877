"""The training engine: the loop, devices, precision, logging and checkpoints.

It knows no model family: a family (genlab.models.base.Family) supplies the
networks and the objective of one step. The data is one tensor pair on the
device; each epoch is a seeded permutation of row indices sliced into batches.
Per-step values stay on the device and are fetched once per logging interval,
so a GPU never waits on a `.item()` in the hot loop.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from genlab.data.datasets import DataBundle, Split, load_dataset, resolve_device
from genlab.errors import GenlabError, TrainingInterrupted
from genlab.models.base import Family, ModelSpec
from genlab.train import logs
from genlab.train.runfolder import (
    CHECKPOINT,
    FINISHED,
    TRAINED,
    TRAINING,
    WEIGHTS,
    RunFolder,
    checkpoint_epoch,
    described,
)


@dataclass
class TrainResult:
    run: RunFolder
    model: torch.nn.Module
    summary: dict[str, Any]


def epoch_order(n: int, seed: int, epoch: int, device: torch.device) -> torch.Tensor:
    """The row order of one epoch: a function of (seed, epoch) only, so a resumed run
    sees exactly the batches an uninterrupted one would."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator, device=device)


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier of the base learning rate at `step` (0-based) of `total` steps."""
    if schedule == "constant":
        return 1.0
    warmup = max(1, int(0.2 * total))
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def epoch_steps(n: int, batch_size: int) -> int:
    """Optimisation steps per epoch over `n` rows; the last step takes the rows left over.

    A lone leftover row joins the previous batch instead of making a batch of one, which
    has no batch statistics (batch norm refuses it in training) and whose single-example
    gradient would get a full step.
    """
    steps = math.ceil(n / batch_size)
    return steps - 1 if steps > 1 and n % batch_size == 1 else steps


def check_precision(device: torch.device, precision: str) -> None:
    if precision == "bf16" and device.type != "cuda":
        raise GenlabError("--precision bf16 needs a CUDA device; use --precision fp32 on CPU")


def evaluation_steps(steps_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """Steps (1-based, within an epoch) after which the validation/test curves are evaluated."""
    count = min(evals_per_epoch, steps_per_epoch)
    return {round(steps_per_epoch * (i + 1) / count) for i in range(count)}


def evaluate_splits(
    family: Family, model: torch.nn.Module, run: RunFolder, epoch: int, step: int, train_seconds: float | None = None
) -> dict:
    """Evaluate on validation and test (the first `eval_images` rows of each), log both, and leave the
    training RNG untouched.

    `train_seconds` (training time so far, evaluations excluded) is logged with the
    results, so time-to-target curves need no separate timing run. The rows are capped because
    a curve point needs a few thousand rows (a 90% accuracy on 2,000 images has a standard error
    of 0.7 points, an ELBO of about 0.6 nats), while MNIST's 10,000 test images evaluated every
    epoch cost as much as training on MNIST-5k itself."""
    results = {}
    limit = family.config.eval_images
    was_training = model.training
    model.eval()
    devices = [family.device] if family.device.type == "cuda" else []
    # fork_rng: evaluation may sample (VAEs), but must not shift the training
    # trajectory, so runs with different evaluation schedules stay comparable.
    with torch.random.fork_rng(devices=devices), torch.no_grad(), autocast(family.device, family.config.precision):
        torch.manual_seed(family.config.seed + 1)
        for name, split in (("val", family.data.val), ("test", family.data.test)):
            if split is None:
                continue
            if limit is not None and limit < len(split):
                split = Split(split.x[:limit], split.y[:limit])
            metrics = family.evaluate(model, split)
            for key, value in (metrics or {}).items():
                if isinstance(value, float) and not math.isfinite(value):
                    stop(run, step, f"{name} {key} became {value} at step {step}")
            if metrics:
                timing = {} if train_seconds is None else {"train_seconds": round(train_seconds, 4)}
                run.log({"event": "eval", "split": name, "epoch": epoch, "step": step, **timing, **metrics})
                results[name] = metrics
    model.train(was_training)
    return results


def duration(seconds: float) -> str:
    """'4.2 s', '42 s', '3 min 05 s' or '1 h 02 min': a duration as people read it."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def say(text: str) -> None:
    """Print a progress line that stays, flushed at once so a pipe, a log file or CI shows it when it happens."""
    print(text, file=sys.stdout, flush=True)


def epoch_line(
    epoch: int,
    epochs: int,
    train: dict[str, float],
    evaluated: dict[str, dict],
    entries: tuple[str, ...],
    seconds: float,
    eta: float,
) -> str:
    """'epoch 3/10  train loss 0.0412  val accuracy 0.9120  4.1 s  ETA 29 s': one epoch's training loss (its
    mean), the family's headline entries (`entries`, those present; else the first) on the validation split (the
    test split when there is none) at the epoch's last evaluation, its seconds and the run's remaining time."""
    parts = [f"epoch {epoch}/{epochs}"]
    losses = {name: value for name, value in train.items() if name.endswith("loss")} or dict(list(train.items())[:1])
    parts.append("train " + "  ".join(f"{name} {value:.4g}" for name, value in losses.items()))
    split = "val" if "val" in evaluated else "test"
    metrics = evaluated.get(split, {})
    shown = [name for name in entries if name in metrics] or list(metrics)[:1]
    if shown:
        parts.append(f"{split} " + "  ".join(f"{name} {metrics[name]:.4g}" for name in shown))
    parts.append(duration(seconds))
    parts.append(f"ETA {duration(eta)}" if epoch < epochs else "final evaluation next")
    return "  ".join(parts)


def fit(family: Family, run: RunFolder, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train `family` into `run`; with `resume`, continue from its last checkpoint.

    With `progress`, one line per epoch that stays (`epoch_line`) and, where stderr is a terminal, a
    progress bar within the epoch; a resumed run first says where it resumed."""
    config, data, device = family.config, family.data, family.device
    torch.manual_seed(config.seed)
    model = family.build().to(device)
    optimizers = family.optimizers(model)
    start_epoch, step, seconds, train_seconds = 0, 0, 0.0, 0.0
    if resume:
        # A run killed before its first checkpoint starts again from step 0: with the same seed
        # that is exactly the run it would have been.
        if (run.path / CHECKPOINT).is_file():
            state = run.load_checkpoint(model, optimizers)
            start_epoch, step = state["epoch"], state["step"]
            facts = training_facts(run)
            seconds, train_seconds = facts["seconds"], facts["train_seconds"]
        run.truncate_metrics(step)

    n = len(data.train)
    batch_size = min(config.batch_size, n)
    steps_per_epoch = epoch_steps(n, batch_size)
    log_every = max(1, min(50, steps_per_epoch // 4))
    eval_at = evaluation_steps(steps_per_epoch, config.evals_per_epoch)
    total_steps = steps_per_epoch * config.epochs
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            group.setdefault("base_lr", group["lr"])
    model.train()
    if resume and progress:
        say(f"resuming {run.path} after epoch {start_epoch}/{config.epochs} (step {step})")
    epoch_seconds: list[float] = []  # this process's epochs, evaluations included: the run's ETA
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        loss_sums, loss_count, evaluated = None, 0, {}
        paused = 0.0  # seconds of this epoch spent evaluating, not training
        order = epoch_order(n, config.seed, epoch, device)
        pending: list[torch.Tensor] = []
        names: list[str] = []
        bar = tqdm(
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="step",
            disable=None if progress else True,
            leave=False,
        )
        for index in range(steps_per_epoch):
            last = index + 1 == steps_per_epoch
            rows = order[index * batch_size : None if last else (index + 1) * batch_size]
            x, y = data.train.inputs(rows), data.train.y[rows]
            if config.schedule != "constant":
                factor = lr_factor(config.schedule, step, total_steps)
                for optimizer in optimizers.values():
                    for group in optimizer.param_groups:
                        group["lr"] = group["base_lr"] * factor
            with autocast(device, config.precision):
                values = family.train_step(model, x, y, optimizers, step)
            step += 1
            names = list(values)
            pending.append(torch.stack([v.detach().float() for v in values.values()]))
            if len(pending) == log_every or index + 1 == steps_per_epoch:
                chunk = torch.stack(pending).cpu()
                _check_finite(chunk, names, step - len(pending) + 1, run)
                means = chunk.mean(0).tolist()
                loss_sums = chunk.sum(0) if loss_sums is None else loss_sums + chunk.sum(0)
                loss_count += len(chunk)
                run.log({"event": "train", "epoch": epoch + 1, "step": step, **dict(zip(names, means))})
                elapsed = time.perf_counter() - started
                bar.set_postfix(
                    {names[0]: f"{means[0]:.4g}", "img/s": f"{(index + 1) * batch_size / max(elapsed, 1e-9):.0f}"}
                )
                bar.update(len(pending))
                pending = []
            if index + 1 in eval_at:
                if device.type == "cuda":
                    torch.cuda.synchronize()  # queued training work belongs to training time
                before = time.perf_counter()
                evaluated = evaluate_splits(
                    family, model, run, epoch + 1, step, train_seconds + before - started - paused
                )
                paused += time.perf_counter() - before
        bar.close()
        train_seconds += time.perf_counter() - started - paused
        family.on_epoch_end(model, run, epoch + 1)
        seconds += time.perf_counter() - started
        check_finite_weights(model, run, step)
        run.save_checkpoint(model, optimizers, epoch + 1, step)
        run.settle()  # a run replacing an old one has now started cleanly: swap it in
        run.log(
            {
                "event": "epoch",
                "epoch": epoch + 1,
                "step": step,
                "seconds": round(seconds, 3),
                "train_seconds": round(train_seconds, 3),
            }
        )
        if progress:
            epoch_seconds.append(time.perf_counter() - started)
            mean_loss = dict(zip(names, (loss_sums / loss_count).tolist()))
            eta = sum(epoch_seconds) / len(epoch_seconds) * (config.epochs - epoch - 1)
            say(
                epoch_line(epoch + 1, config.epochs, mean_loss, evaluated, family.epoch_entries, epoch_seconds[-1], eta)
            )

    run.save_weights(model, config.epochs, step)
    facts = {"steps": step, "seconds": round(seconds, 3), "train_seconds": round(train_seconds, 3)}
    return TrainResult(run, model, finish(family, model, run, facts))


def finish(family: Family, model: torch.nn.Module, run: RunFolder, facts: dict[str, Any]) -> dict[str, Any]:
    """Write the summary of a trained run (state trained -> finished): the training `facts`
    (steps, seconds) and what the family measures on its final model."""
    config = family.config
    model.eval()
    summary = {
        "model": described(config.model, "the model trained"),
        "data": described(config.data, "the dataset it was trained on"),
        "epochs": described(config.epochs, "passes over the training split"),
        "steps": described(facts["steps"], "optimisation steps taken"),
        "seconds": described(
            facts["seconds"], "wall-clock training time (evaluations during training included)", "s", "lower"
        ),
        "train_seconds": described(
            facts["train_seconds"], "wall-clock time of the optimisation steps alone (no evaluations)", "s", "lower"
        ),
    }
    with torch.no_grad(), autocast(family.device, config.precision):
        summary.update(family.finish(model, run))
    return run.write_summary(summary)


def training_facts(run: RunFolder) -> dict[str, Any]:
    """Steps and seconds of training up to the last finished epoch, from metrics.jsonl."""
    last = next((e for e in reversed(run.read_metrics()) if e.get("event") == "epoch"), {})
    seconds = last.get("seconds", 0.0)
    return {"steps": last.get("step", 0), "seconds": seconds, "train_seconds": last.get("train_seconds", seconds)}


def _check_finite(chunk: torch.Tensor, names: list[str], first_step: int, run: RunFolder) -> None:
    """Stop at the first non-finite value, naming the step; the last checkpoint stays intact."""
    bad = ~torch.isfinite(chunk)
    if not bad.any():
        return
    row, column = (int(i) for i in bad.nonzero()[0])
    value = chunk[row, column].item()
    stop(run, first_step + row, f"{names[column]} became {value} at step {first_step + row}")


def check_finite_weights(model: torch.nn.Module, run: RunFolder, step: int) -> None:
    """Stop before a checkpoint or the final weights would keep a non-finite parameter or buffer."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            stop(run, step, f"weight {name} is no longer finite after step {step}")


def stop(run: RunFolder, step: int, what: str) -> None:
    """Log and raise a non-finite value: one line naming it, with the last good checkpoint kept."""
    run.log({"event": "error", "step": step, "message": what})
    if run.replaces is not None:
        kept = "the run it was to replace is kept as it was"
    elif (run.path / CHECKPOINT).exists():
        kept = "the last good checkpoint is kept"
    else:
        kept = "no epoch had finished, so there is no checkpoint"
    raise GenlabError(f"{what}; training stopped and {kept} in {run.destination}; lower --lr or check the data")


def train(
    spec: ModelSpec,
    config,
    out=None,
    overwrite: bool = False,
    progress: bool = True,
    log: str = "none",
    source: dict | None = None,
) -> TrainResult:
    """Resolve the device, load the data, create the run folder and fit. The API behind `genlab train`.

    `log`: "tensorboard" also writes the run's events to RUN/tensorboard/ (genlab.train.logs);
    `source`: where the settings came from, recorded in config.json."""
    from genlab.train.runfolder import default_run_path

    device = resolve_device(config.device)
    check_precision(device, config.precision)
    if log != "none":
        logs.require_tensorboard()  # before any work, not after the data is loaded
    data = load_family_data(spec, config, device)
    family = spec.family(config, data, device)
    run = RunFolder.create(out or default_run_path(config.model, config.data), overwrite=overwrite)
    try:
        run.write_config({**config.to_dict(), "data_fingerprint": data.fingerprint}, device=str(device), source=source)
        with logs.attached(run, log):
            return fit_explaining_interrupts(family, run, progress=progress)
    except BaseException:
        run.abandon()
        raise


def resume(
    run_path, spec: ModelSpec, epochs: int | None = None, progress: bool = True, log: str = "none"
) -> TrainResult:
    """Move a run on to finished: continue a training one (optionally to more epochs) to the
    result an uninterrupted run would have reached, or write the summary of a trained one
    (`log` as in `train`)."""
    run = RunFolder.open(run_path)
    record = run.read_config()
    saved = dict(record["config"])
    if saved["model"] != spec.name:
        raise GenlabError(
            f"{run.path} is a '{saved['model']}' run, not '{spec.name}'; "
            f"use 'genlab train {saved['model']} --resume {run.path}'"
        )
    state = run.state()
    done = saved["epochs"] if state != TRAINING else checkpoint_epoch(run.path)
    if epochs is not None:
        if epochs < done or (epochs == done and state == FINISHED):
            raise GenlabError(
                f"{run.path} already trained {done} epochs; pass --epochs N with N > {done} to continue it"
            )
        saved["epochs"] = epochs
    elif state == FINISHED:
        raise GenlabError(f"{run.path} already finished {done} epochs; pass --epochs N with N > {done} to continue it")
    config = spec.config_cls.from_dict(saved)
    device = resolve_device(config.device)
    data = load_family_data(spec, config, device)
    check_fingerprint(run, data)
    run.remove_temporaries()
    family = spec.family(config, data, device)
    if state == TRAINED and config.epochs == record["config"]["epochs"]:
        return finish_trained(family, run)
    # config.json changes only now that every check has passed, so a refused resume leaves it as it was.
    run.write_config(
        {**config.to_dict(), "data_fingerprint": data.fingerprint},
        device=str(device),
        source=record.get("config_source"),
    )
    with logs.attached(run, log, resuming=True):
        return fit_explaining_interrupts(family, run, resume=True, progress=progress)


def finish_trained(family: Family, run: RunFolder) -> TrainResult:
    """Summarise a run whose final weights are written (trained -> finished) as the
    uninterrupted run would have: the RNG state is the final checkpoint's, when it has one."""
    torch.manual_seed(family.config.seed)
    model = family.build().to(family.device)
    if checkpoint_epoch(run.path) == family.config.epochs:
        run.load_checkpoint(model, family.optimizers(model))
    run.load_weights(model)
    return TrainResult(run, model, finish(family, model, run, training_facts(run)))


def check_fingerprint(run: RunFolder, data: DataBundle) -> None:
    """Refuse data that differs from what the run was trained on (runs from before fingerprints pass)."""
    saved = run.read_config()["config"].get("data_fingerprint")
    if saved is not None and data.fingerprint != saved:
        raise GenlabError(
            f"the data of {data.name} differs from what {run.path} was trained on "
            "(fingerprint mismatch); use the same dataset files"
        )


def fit_explaining_interrupts(family: Family, run: RunFolder, resume: bool = False, progress: bool = True):
    """`fit`, with Ctrl-C turned into TrainingInterrupted: what the run folder holds, so the CLI can name
    the folder and the command that continues it (or say that nothing can be continued)."""
    try:
        return fit(family, run, resume=resume, progress=progress)
    except KeyboardInterrupt as interrupt:
        # A staged run (replacing an old one) that had not settled names the folder it was to replace:
        # it has no checkpoint, is removed by train(), and the advice is to start it again.
        raise TrainingInterrupted(
            run.destination,
            family.config.model,
            checkpoint_epoch(run.path),
            family.config.epochs,
            weights=(run.path / WEIGHTS).is_file(),
        ) from interrupt


def load_family_data(spec: ModelSpec, config, device: torch.device) -> DataBundle:
    """The dataset a config names, on `device`."""
    return load_dataset(
        config.data,
        limit=config.limit,
        val_fraction=config.val_fraction,
        seed=config.seed,
        device=device,
        label_column=config.label_column,
        labels=config.labels,
        label_key=config.label_key,
        test_fraction=config.test_fraction,
    )


@dataclass
class LoadedRun:
    """A finished run brought back: its spec, config, family (with data) and trained model."""

    run: RunFolder
    spec: ModelSpec
    config: Any
    family: Family
    model: torch.nn.Module


def load_run(run_path, device: str = "auto") -> LoadedRun:
    """Rebuild a finished run's model from config.json and weights.safetensors."""
    from genlab.models.registry import get_model

    run = RunFolder.open(run_path)
    run.require(TRAINED, FINISHED)
    saved = run.read_config()["config"]
    spec = get_model(saved["model"])
    config = spec.config_cls.from_dict({**saved, "device": device})
    torch_device = resolve_device(device)
    data = load_family_data(spec, config, torch_device)
    check_fingerprint(run, data)
    family = spec.family(config, data, torch_device)
    model = family.build().to(torch_device)
    run.load_weights(model)
    model.eval()
    return LoadedRun(run, spec, config, family, model)


def evaluate_run(run_path, device: str = "auto") -> dict[str, Any]:
    """Recompute a run's summary from its saved weights (figures are redrawn too); a trained
    run without a summary gets its first one (trained -> finished)."""
    loaded = load_run(run_path, device)
    loaded.run.remove_temporaries()
    if loaded.run.state() == TRAINED:
        return finish_trained(loaded.family, loaded.run).summary
    previous = loaded.run.read_summary()
    with torch.no_grad():
        fresh = loaded.family.finish(loaded.model, loaded.run)
    # Training-time facts (seconds, epochs, steps) cannot be recomputed; keep them.
    return loaded.run.write_summary({**previous, **fresh})
