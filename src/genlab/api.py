"""One API function per command: each takes the command's settings object (or the same settings as
keyword arguments) and returns a result; the CLI (`genlab.cli`) only prints what these return.

    genlab.api.invert("runs/gan", images="0:4", device="cpu")
    genlab.api.invert(InvertSettings(run=Path("runs/gan"), images="0:4"))   # the same call

Positional arguments are the command's positional settings (RUN, INPUTS...). A
bad value raises GenlabError with the CLI's one-line message.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from genlab import settings as s
from genlab.clibuild import build, positional_values, signature
from genlab.config import NOT_GIVEN, flag_name
from genlab.errors import GenlabError
from genlab.run import Run


def takes(settings_cls) -> Callable:
    """Make `func(settings)` callable as `func(settings)` or `func(*positional, **settings_values)`."""

    def wrap(func):
        @functools.wraps(func)
        def api(*args, **values):
            if len(args) == 1 and isinstance(args[0], settings_cls) and not values:
                return func(args[0])
            return func(build(settings_cls, **positional_values(settings_cls, args), **values))

        api.settings_cls = settings_cls
        api.__signature__ = signature(settings_cls)
        return api

    return wrap


def _timestamped(prefix: str) -> Path:
    return Path("runs") / f"{prefix}-{datetime.datetime.now():%Y%m%d-%H%M%S}"


def train(model: str | None = None, /, options: s.TrainOptions | None = None, **values) -> Run:
    """Train model `model` (see `genlab train --help` for the names) into a run folder.

    `values` are the model's hyperparameters (its TrainConfig fields, e.g. epochs=3,
    data="mnist-sample") and TrainOptions (out, overwrite, resume, quiet, config, log). With
    `config=PATH` (a run's config.json, or a JSON/YAML file of settings) the run starts from the
    file's settings, `values` override them, and `model` may be left to the file. With
    `resume=RUN` only `epochs` may be given. Returns the finished Run.
    """
    from genlab.models.registry import get_model
    from genlab.train import engine

    option_names = {f.name for f in s.TrainOptions.__dataclass_fields__.values()}
    given = {k: v for k, v in values.items() if v is not NOT_GIVEN}
    if options is None:
        options = build(s.TrainOptions, **{k: given.pop(k) for k in list(given) if k in option_names})
    if options.resume:
        if model is None:
            raise GenlabError("give the model of the run to resume, e.g. genlab.train('vae', resume=RUN)")
        extra = sorted(set(given) - {"epochs"})
        if extra:
            raise GenlabError(
                f"--resume continues a run with its saved settings; only --epochs may be "
                f"given, not --{flag_name(extra[0])}"
            )
        # A run that logged to TensorBoard keeps doing so when resumed, so its curves stay whole.
        log = "tensorboard" if (Path(options.resume) / "tensorboard").is_dir() else options.log
        result = engine.resume(
            options.resume, get_model(model), epochs=given.get("epochs"), progress=not options.quiet, log=log
        )
    else:
        spec, config, source = train_config(model, options.config, given)
        result = engine.train(
            spec,
            config,
            out=options.out,
            overwrite=options.overwrite,
            progress=not options.quiet,
            log=options.log,
            source=source,
        )
    return Run(result.run.path, device=result.run.read_config()["config"].get("device", "auto"))


def train_config(model: str | None, config_file: Path | None, given: dict[str, Any]):
    """(ModelSpec, TrainConfig, source) of a new run: the model's preset, then the settings in
    `config_file` (if any), then `given`. `source` records the file (path, SHA-256) and the
    overriding values for config.json (None without a file)."""
    from genlab.clibuild import file_values, read_settings_file
    from genlab.models.registry import get_model

    if config_file is None:
        if model is None:
            raise GenlabError("give the model to train, e.g. genlab.train('vae', ...), or a config file that names it")
        spec = get_model(model)
        return spec, spec.make_config(**given), None
    found = read_settings_file(config_file)
    named = found.values.pop("model", None)
    if named is not None and not isinstance(named, str):
        raise GenlabError(f"{config_file}: 'model' must be a model name (see 'genlab train --help'), got {named!r}")
    if model is not None and named not in (None, "", model):
        raise GenlabError(
            f"{config_file} holds settings of '{named}', not '{model}'; "
            f"use 'genlab train {named} --config {config_file}' or leave the model to the file"
        )
    name = model or named
    if not name:
        raise GenlabError(
            f'{config_file} names no model; add "model": NAME to it or give one: genlab train MODEL --config FILE'
        )
    spec = get_model(name)
    from_file = file_values(spec.config_cls, found.values, config_file)
    if found.run_record:
        # A run's record reruns that run: settings it predates get the behaviour it was trained with.
        from_file = {**spec.config_cls.before_added, **from_file}
    try:
        spec.make_config(**from_file)
    except GenlabError as error:
        raise GenlabError(f"{config_file}: {error}") from None
    config = spec.make_config(**{**from_file, **given})
    resolved = config.to_dict()  # overrides as config.json holds them (a network class as "module:Class")
    source = {
        "path": str(Path(config_file).absolute()),
        # the file may change or go; its hash says whether a file at hand is the one this run read
        "sha256": hashlib.sha256(Path(config_file).read_bytes()).hexdigest(),
        "overrides": {k: resolved[k] for k in sorted(given)},
    }
    return spec, config, source


def plot_images(images, title: str = "images", columns: int = 8):
    """A labelled matplotlib Figure of images [N, C, H, W] (or [N, H, W]) with values in [0, 1], e.g.
    `run.sample(16)` or `run.interpolate(a, b)`, `columns` to a row. The figure is closed in pyplot:
    a notebook shows it once, as the cell's value; `figure.savefig(path)` writes it."""
    from genlab.plots.common import grid_figure, plt

    array = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[1] != 1) or not len(array):
        raise GenlabError(
            f"plot_images draws one-channel images [N, 1, H, W] or [N, H, W]; got shape {list(array.shape)}"
        )
    if columns < 1:
        raise GenlabError(f"columns must be >= 1, got {columns}")
    figure = grid_figure(array, columns, title, xlabel=f"{len(array)} images, {columns} to a row")
    plt.close(figure)
    return figure


@takes(s.DataListSettings)
def datasets(settings: s.DataListSettings) -> list[dict[str, Any]]:
    """The status of every dataset: name, presence, location and split sizes."""
    from genlab.data import registry

    return [registry.status(name) for name in registry.dataset_names()]


@takes(s.DataGetSettings)
def get_dataset(settings: s.DataGetSettings) -> dict:
    """Download (if missing) and verify a dataset; returns {'path', 'checksums': {file: verdict}}."""
    from genlab.data import registry

    return registry.verify(settings.name)


@takes(s.JudgeTrainSettings)
def train_judge(settings: s.JudgeTrainSettings):
    """Train and store the default judge (a CNN) of a dataset; returns its Run."""
    from genlab import judge

    return Run(
        judge.train_judge(
            settings.data,
            epochs=settings.epochs,
            device=settings.device.device,
            overwrite=settings.overwrite,
            progress=not settings.quiet,
        ).run.path
    )


@takes(s.ExportSettings)
def export(settings: s.ExportSettings) -> Path:
    """Write a run's logs as RUN/metrics.csv (to="csv") or TensorBoard event files in RUN/tensorboard/
    (to="tensorboard"); returns the file or folder written."""
    from genlab.train.logs import export as export_logs

    return export_logs(settings.run, settings.to, overwrite=settings.overwrite)


@takes(s.EvaluateSettings)
def evaluate(settings: s.EvaluateSettings) -> dict[str, Any]:
    """Recompute a run's summary.json (and figures) from its saved weights; returns the summary."""
    from genlab.train.engine import evaluate_run

    return evaluate_run(settings.run, device=settings.device.device)


@takes(s.SweepSettings)
def run_sweep(settings: s.SweepSettings):
    """Train a model once per grid point (grid=("lr=0.1,0.01", ...), fixed=("epochs=3",)); returns the
    SweepResult (folder, rows, markdown table)."""
    from genlab import sweep
    from genlab.executors import make_executor

    grid = sweep.parse_assignments(settings.model, settings.grid, multiple=True)
    fixed = sweep.parse_assignments(settings.model, settings.fixed, multiple=False)
    with make_executor(settings.cluster) as executor:
        return sweep.run_sweep(
            settings.model,
            grid,
            fixed,
            out=settings.out,
            overwrite=settings.overwrite,
            progress=not settings.quiet,
            executor=executor,
        )


@takes(s.TuneSettings)
def tune(settings: s.TuneSettings):
    """Search a model's hyperparameters on Ray Tune (space=("lr=log:1e-4:1e-2", "hidden=64,128"),
    trials=8, metric="val_accuracy", scheduler="asha"); returns the TuneResult (folder, rows, best)."""
    from genlab.sweep import parse_assignments
    from genlab.tune import run_tune

    resources = settings.resources
    return run_tune(
        settings.model,
        settings.space,
        parse_assignments(settings.model, settings.fixed, multiple=False),
        trials=settings.trials,
        metric=settings.metric,
        mode=settings.mode,
        scheduler=settings.scheduler,
        search=settings.search,
        seed=settings.seed,
        out=settings.out,
        progress=not settings.quiet,
        address=resources.address,
        parallel=resources.parallel,
        cpus_per_point=resources.cpus_per_point,
        retries=resources.retries,
    )


@takes(s.ReportSettings)
def write_report(settings: s.ReportSettings):
    """Write report.html and report.pdf about run and sweep folders; returns the ReportResult."""
    from genlab.report import write

    return write.write_report(list(settings.inputs), settings.out or _timestamped("report"), title=settings.title)


@takes(s.SampleSettings)
def sample(settings: s.SampleSettings):
    """Draw n images (float32 [n, 1, 28, 28] in [0, 1]) from a VAE or GAN run into an .npz file."""
    from genlab.latent.sample import sample_run

    return sample_run(
        settings.run,
        settings.n,
        settings.out,
        grid=settings.grid,
        label=settings.label,
        seed=settings.seed,
        device=settings.device.device,
    )


class Drawing(NamedTuple):
    """What a drawing command returns: its matplotlib Figure (closed in pyplot, so a notebook shows it
    once, as the cell's value) and the PNG file it wrote."""

    figure: Any  # matplotlib.figure.Figure
    path: Path


@takes(s.TraverseSettings)
def traverse(settings: s.TraverseSettings) -> Drawing:
    """Write a latent-traversal figure of one test image; returns the figure and its path."""
    from genlab.latent.traverse import traverse_run

    return Drawing(
        *traverse_run(
            settings.run,
            settings.out,
            settings.image,
            settings.dims,
            settings.steps,
            settings.span,
            settings.device.device,
        )
    )


class RateDistortion(NamedTuple):
    figure: Any  # matplotlib.figure.Figure, closed in pyplot
    path: Path
    points: list  # RatePoint per run: group, label, rate and distortion (nats)


@takes(s.RateDistortionSettings)
def plot_rate_distortion(settings: s.RateDistortionSettings) -> RateDistortion:
    """Plot distortion against rate for sweeps and echo-ae runs; returns the figure, its path and the points."""
    from genlab.plots.common import save_figure_file
    from genlab.rate_distortion import rate_distortion_of

    figure, points = rate_distortion_of(list(settings.folders))
    return RateDistortion(figure, save_figure_file(figure, settings.out), points)


class InversionResult(NamedTuple):
    report: dict  # per target: restart losses, best loss (squared error summed over pixels), uniqueness
    figure: Path
    table: Path

    def _repr_html_(self) -> str:
        """Jupyter's view: each target's best and restart losses, then the figure."""
        from genlab import display

        rows = [
            (
                index,
                f"{entry['best_loss']:.3f}",
                " ".join(f"{v:.2f}" for v in entry["restart_losses"]),
                "yes" if entry["unique_minimiser"] else "no",
            )
            for index, entry in zip(self.report["indices"], self.report["targets"])
        ]
        header = ("image", "best loss", "loss of each restart", "unique minimiser")
        caption = f"median best loss {self.report['median_best_loss']:.4g} (squared error summed over pixels)"
        return display.table(header, rows, caption) + display.image(
            self.figure, "targets and their inversions", 2 * display.FIGURE_WIDTH
        )


@takes(s.InvertSettings)
def invert(settings: s.InvertSettings) -> InversionResult:
    """Invert a GAN generator on chosen images from several random starts."""
    from genlab.latent.invert import invert_run

    return InversionResult(
        *invert_run(
            settings.run,
            settings.images,
            settings.restarts,
            settings.steps,
            settings.generated,
            settings.lr,
            settings.seed,
            settings.device.device,
        )
    )


class PathResult(NamedTuple):
    report: dict  # 'straight' and 'optimised': U, U_refined, image_length, latent_length
    figure: Path
    table: Path

    def _repr_html_(self) -> str:
        """Jupyter's view: the numbers of both paths, then the figure."""
        from genlab import display

        keys = ("U", "U_refined", "image_length", "latent_length")
        rows = [(name, *(f"{self.report[name][k]:.2f}" for k in keys)) for name in ("straight", "optimised")]
        return display.table(("path", *keys), rows) + display.image(
            self.figure, "the straight and the optimised latent path", 2 * display.FIGURE_WIDTH
        )


@takes(s.PathSettings)
def path(settings: s.PathSettings) -> PathResult:
    """The straight and the optimised latent path of a GAN between two test images."""
    from genlab.latent.paths import path_run

    return PathResult(
        *path_run(
            settings.run,
            settings.source,
            settings.target,
            settings.points,
            settings.steps,
            settings.restarts,
            settings.invert_steps,
            settings.lr,
            settings.seed,
            settings.device.device,
        )
    )


@takes(s.SuiteSettings)
def suite(settings: s.SuiteSettings):
    """Run a named suite end to end (runs + report); returns the SuiteResult (folder, html, pdf)."""
    from genlab.executors import make_executor
    from genlab.suites import run_named_suite
    from genlab.train.engine import say

    with make_executor(settings.cluster) as executor:
        return run_named_suite(
            settings.name,
            settings.out,
            quick=settings.quick,
            data=settings.data,
            progress=not settings.quiet,
            log=say,
            executor=executor,
        )


@takes(s.GradcheckSettings)
def gradient_check(settings: s.GradcheckSettings):
    """Autograd against the closed-form least-squares gradient; returns the GradientReport."""
    from genlab.gradcheck import least_squares_check

    return least_squares_check(settings.n, settings.d, settings.seed)


@takes(s.InterpolateSettings)
def interpolate(settings: s.InterpolateSettings):
    """Decode the path between the codes of two test examples; returns the Interpolation."""
    from genlab.latent.interpolate import interpolate_run

    return interpolate_run(
        settings.run,
        settings.start,
        settings.end,
        steps=settings.steps,
        spherical=settings.slerp,
        device=settings.device.device,
    )


@takes(s.ExploreSettings)
def explore(settings: s.ExploreSettings):
    """Start the latent-space explorer of a run in the background; returns the Explorer (`.url`,
    `.stop()`; a notebook shows its link). The CLI serves until Ctrl-C (`.wait()`)."""
    from genlab.explore.server import Explorer
    from genlab.explore.space import LatentSpace

    space = LatentSpace(
        settings.run, settings.split, settings.points, seed=settings.seed, device=settings.device.device
    )
    return Explorer(space, settings.host, settings.port)


@takes(s.CompareRunsSettings)
def compare_runs(settings: s.CompareRunsSettings):
    """Loss curves, embeddings, samples and summaries of runs side by side; returns the CompareResult."""
    from genlab.latent.compare import compare_runs as compare

    return compare(list(settings.runs), out=settings.out, device=settings.device.device)


@takes(s.PcaVsLinearAeSettings)
def pca_vs_linear_ae(settings: s.PcaVsLinearAeSettings):
    """A linear autoencoder's decoder subspace against the top-K PCA subspace; returns the comparison."""
    from genlab.latent.pca_linear import compare_pca_linear_ae

    data = settings.data
    return compare_pca_linear_ae(
        data.data,
        settings.latent_dim,
        out=settings.out,
        epochs=settings.epochs,
        lr=settings.lr,
        limit=data.limit,
        seed=settings.seed,
        device=settings.device.device,
        progress=not settings.quiet,
        label_column=data.label_column,
        labels=data.labels,
        label_key=data.label_key,
    )


@takes(s.CorruptSettings)
def corrupt(settings: s.CorruptSettings) -> Drawing:
    """Plot a 2-D point set and its corrupted copy; returns the figure and its path."""
    from genlab.data.toy2d import corrupt_toy_figure, default_corrupt_path
    from genlab.plots.common import save_figure_file

    figure = corrupt_toy_figure(settings.data, settings.noise, n=settings.n, seed=settings.seed)
    return Drawing(
        figure, save_figure_file(figure, settings.out or default_corrupt_path(settings.data, settings.noise))
    )


@takes(s.DemoSettings)
def run_demo(settings: s.DemoSettings):
    """The offline tour on mnist-sample, ending in a report; returns the SuiteResult."""
    from genlab import demo
    from genlab.train.engine import say

    return demo.run_demo(settings.out, progress=not settings.quiet, log=say)


@takes(s.CompareSettings)
def compare(settings: s.CompareSettings):
    """Every requested distance between sample sets A and B (independent draws); returns the metrics'
    result (`.table()`, `.to_dict()`), also written as JSON to `out` when given."""
    from genlab.metrics.compare import compare as compare_sets
    from genlab.metrics.sets import load_set
    from genlab.train.runfolder import atomic_write_json

    device, seed = settings.device.device, settings.estimators.seed
    # Independent draws: the two sets get different seeds even for the same spec.
    set_a = load_set(settings.a, n=settings.n, seed=seed, device=device, name="A")
    set_b = load_set(settings.b, n=settings.n, seed=seed + 1, device=device, name="B")
    result = compare_sets(
        set_a,
        set_b,
        settings.metrics,
        settings.space,
        settings.estimators,
        device,
        str(settings.judge) if settings.judge else settings.judge_data,
    )
    if settings.out:
        atomic_write_json(settings.out, result.to_dict())
    return result


@takes(s.DivergencesSettings)
def divergences_experiment(settings: s.DivergencesSettings) -> Path:
    """The divergences experiment (every metric on known and real pairs, timed); returns its report path."""
    from genlab.experiments.divergences import run_divergences
    from genlab.metrics.compare import MetricSettings

    return run_divergences(
        settings.out,
        variances=settings.variances,
        n=settings.n,
        data=settings.data,
        gan=settings.gan,
        vae=settings.vae,
        settings=MetricSettings(permutations=settings.permutations),
        device=settings.device.device,
        judge=settings.judge_data,
        progress=not settings.quiet,
    )
