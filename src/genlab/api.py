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
from pathlib import Path
from typing import Any, Callable, NamedTuple

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


def train(model: str, /, options: s.TrainOptions | None = None, **values) -> Run:
    """Train model `model` (see `genlab train --help` for the names) into a run folder.

    `values` are the model's hyperparameters (its TrainConfig fields, e.g. epochs=3,
    data="mnist-sample") and TrainOptions (out, overwrite, resume, quiet). With
    `resume=RUN` only `epochs` may be given. Returns the finished Run.
    """
    from genlab.models.registry import get_model
    from genlab.train import engine

    spec = get_model(model)
    option_names = {f.name for f in s.TrainOptions.__dataclass_fields__.values()}
    given = {k: v for k, v in values.items() if v is not NOT_GIVEN}
    if options is None:
        options = build(s.TrainOptions, **{k: given.pop(k) for k in list(given) if k in option_names})
    if options.resume:
        extra = sorted(set(given) - {"epochs"})
        if extra:
            raise GenlabError(
                f"--resume continues a run with its saved settings; only --epochs may be "
                f"given, not --{flag_name(extra[0])}"
            )
        result = engine.resume(options.resume, spec, epochs=given.get("epochs"), progress=not options.quiet)
    else:
        result = engine.train(
            spec, spec.make_config(**given), out=options.out, overwrite=options.overwrite, progress=not options.quiet
        )
    return Run(result.run.path, device=result.run.read_config()["config"].get("device", "auto"))


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

    return sweep.run_sweep(
        settings.model,
        sweep.parse_assignments(settings.model, settings.grid, multiple=True),
        sweep.parse_assignments(settings.model, settings.fixed, multiple=False),
        out=settings.out,
        overwrite=settings.overwrite,
        progress=not settings.quiet,
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


@takes(s.TraverseSettings)
def traverse(settings: s.TraverseSettings) -> Path:
    """Write a latent-traversal figure of one test image; returns its path."""
    from genlab.latent.traverse import traverse_run

    return traverse_run(
        settings.run, settings.out, settings.image, settings.dims, settings.steps, settings.span, settings.device.device
    )


@takes(s.RateDistortionSettings)
def plot_rate_distortion(settings: s.RateDistortionSettings):
    """Plot distortion against rate for sweeps and echo-ae runs; returns (figure path, points)."""
    from genlab.rate_distortion import write_rate_distortion

    return write_rate_distortion(list(settings.folders), settings.out)


class InversionResult(NamedTuple):
    report: dict  # per target: restart losses, best loss (squared error summed over pixels), uniqueness
    figure: Path
    table: Path


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
    from genlab.suites import run_named_suite
    from genlab.train.engine import say

    return run_named_suite(
        settings.name, settings.out, quick=settings.quick, data=settings.data, progress=not settings.quiet, log=say
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
def corrupt(settings: s.CorruptSettings) -> Path:
    """Plot a 2-D point set and its corrupted copy; returns the figure's path."""
    from genlab.data.toy2d import corrupt_toy

    return corrupt_toy(settings.data, settings.noise, n=settings.n, seed=settings.seed, out=settings.out)


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
