"""One typed settings object per command: frozen dataclasses validated when built.

Each class declares a command's settings once: defaults, help text, allowed
values and range checks. `genlab.clibuild` turns a class into a click command
(its docstring is the command's help), and the Python API (`genlab.api`) builds
the same object from keyword arguments, so the CLI and the API cannot drift.
Shared groups are nested types (`Device`, `DataSelection`) whose fields appear
flattened on the command line (`--device`, `--limit`).

Training is the exception that proves the rule: its settings are the model
family's own `TrainConfig` subclass (saved as the run's config.json) plus
`TrainOptions`, which say where the run goes.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from genlab.config import check_choice, check_finite, check_range, check_types, field_type, flag_name, option
from genlab.errors import GenlabError
from genlab.metrics.compare import DEFAULT_METRICS, METRICS, MetricSettings, parse_metrics


def group(cls):
    """A nested settings group: its fields appear flattened on the command line."""
    return field(default_factory=cls, metadata={"group": True})


def flag_of(settings, name: str) -> str:
    """The flag a user types for field `name` (its first declared flag, else --field-name)."""
    return (settings.__dataclass_fields__[name].metadata.get("flags") or (f"--{flag_name(name)}",))[0]


def at_least(settings, name: str, low, note: str = "") -> None:
    """Fail unless `settings.name >= low`, in the commands' long-standing wording."""
    value = getattr(settings, name)
    if value is not None and value < low:
        raise GenlabError(f"{flag_of(settings, name)} must be >= {low}{note}, got {value}")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Base of every command's settings: normalises types, checks choices, then runs `check`.

    Lists become tuples (so settings stay frozen and comparable) and strings (or a Run: its folder)
    become Path for path fields, so `InvertSettings(run="r")` equals what the CLI builds.
    """

    def __post_init__(self):
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            kind = field_type(type(self), spec.name)
            if kind is tuple and isinstance(value, list):
                object.__setattr__(self, spec.name, tuple(value))
            elif kind is Path and isinstance(value, (str, os.PathLike)) and not isinstance(value, Path):
                object.__setattr__(self, spec.name, Path(value))  # a path given as text, or a Run
        check_types(self)
        check_finite(self)
        for spec in dataclasses.fields(self):
            if spec.metadata.get("choices"):
                check_choice(self, spec.name)
        self.check()

    def check(self) -> None:
        """Range checks of this command's settings (one-line GenlabError naming the flag)."""


DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True, kw_only=True)
class Device(Settings):
    """Where a command computes."""

    device: str = option("auto", "where to compute (auto: CUDA when available, else the CPU)", choices=DEVICES)


@dataclass(frozen=True, kw_only=True)
class DataSelection(Settings):
    """Which examples a command reads: a dataset name or tabular file, a subset, and label options."""

    data: str = option("mnist", "dataset name (see 'genlab data list') or a tabular file (.csv, .npy, .h5ad)")
    limit: int | None = option(None, "use a stratified subset of N training examples")
    label_column: str | None = option(None, "CSV data: the column that holds the labels")
    labels: str | None = option(None, ".npy data: a .npy file with one label per row")
    label_key: str | None = option(None, ".h5ad data: the obs column that holds the labels")

    def check(self):
        check_range(self, "limit", low=10)


EXECUTORS = ("local", "ray")


@dataclass(frozen=True, kw_only=True)
class RayResources(Settings):
    """Which Ray cluster runs the training points and what each point asks of it (genlab.raycluster)."""

    address: str | None = option(
        None, "with Ray: join the Ray cluster at HOST:PORT  [default: start one on this machine]"
    )
    parallel: int | None = option(None, "with Ray: at most N points at once  [default: as many as fit]")
    cpus_per_point: int = option(1, "with Ray: CPUs each point asks for (and uses as torch threads)")
    retries: int = option(3, "with Ray: times a point is retried when its worker or node dies")

    def check(self):
        at_least(self, "parallel", 1)
        at_least(self, "cpus_per_point", 1)
        at_least(self, "retries", 0)


@dataclass(frozen=True, kw_only=True)
class Cluster(RayResources):
    """Where the training points of a sweep or suite run (genlab.executors)."""

    executor: str = option(
        "local",
        "local: one point after another in this process; ray: each point a Ray task on a local Ray cluster "
        "or the one at --address (pip install 'genlab[ray]')",
        choices=EXECUTORS,
    )
    shared_output: bool = option(
        False,
        "with Ray: the workers see the output folder at the same path (a shared filesystem) "
        "and write run folders there themselves",
    )

    def check(self):
        super().check()
        if self.executor == "local":
            for name in ("address", "parallel", "shared_output"):
                if getattr(self, name) not in (None, False):
                    raise GenlabError(f"{flag_of(self, name)} needs --executor ray; add it or leave the flag out")


OUT = ("--out", "-o")
QUIET = ("--quiet", "-q")
LOGS = ("none", "tensorboard")


@dataclass(frozen=True, kw_only=True)
class TrainOptions(Settings):
    """Where a training run goes (the hyperparameters are the model's TrainConfig)."""

    out: Path | None = option(None, "run folder to write  [default: runs/MODEL-DATA-TIMESTAMP]", flags=OUT)
    overwrite: bool = option(False, "replace an existing run folder")
    resume: Path | None = option(None, "continue an interrupted run folder (optionally with more --epochs)")
    quiet: bool = option(False, "no progress bar or per-epoch lines", flags=QUIET)
    config: Path | None = option(
        None,
        "start from the settings in a run's config.json or a JSON/YAML file (which may name the model); "
        "flags given with it override the file",
    )
    log: str = option(
        "none",
        "also log to TensorBoard: event files in RUN/tensorboard/ (pip install 'genlab[tensorboard]'); "
        "metrics.jsonl is always written",
        choices=LOGS,
    )

    def check(self):
        if self.config is not None and self.resume is not None:
            raise GenlabError(
                "--config starts a new run and --resume continues one with its saved settings; give one of them"
            )
        if self.resume and self.out:
            raise GenlabError(
                f"--resume continues {self.resume} in place, so it takes no -o; "
                f"leave out -o (or copy {self.resume} to {self.out} and resume that copy)"
            )
        if self.resume and self.overwrite:
            raise GenlabError(
                f"--resume continues {self.resume} in place, so it replaces nothing; leave out --overwrite"
            )


@dataclass(frozen=True, kw_only=True)
class DataListSettings(Settings):
    """Name, splits, sizes, location and presence of every dataset."""


@dataclass(frozen=True, kw_only=True)
class DataGetSettings(Settings):
    """Download (if missing) and verify dataset NAME (SHA-256 of the decompressed files)."""

    name: str = option(help="dataset name, e.g. mnist or fashion-mnist", argument=True)


@dataclass(frozen=True, kw_only=True)
class JudgeTrainSettings(Settings):
    """Train and store the default judge for dataset DATA."""

    data: str = option(help="dataset name, e.g. mnist or fashion-mnist")
    epochs: int | None = option(None, "passes over the data (none: about 180k examples seen)")
    device: Device = group(Device)
    overwrite: bool = option(False, "retrain an existing judge")
    quiet: bool = option(False, "no progress bar or per-epoch lines", flags=QUIET)

    def check(self):
        check_range(self, "epochs", low=1)


@dataclass(frozen=True, kw_only=True)
class EvaluateSettings(Settings):
    """Recompute a run's summary (and figures) from its saved weights."""

    run: Path = option(help="run folder", argument=True)
    device: Device = group(Device)


@dataclass(frozen=True, kw_only=True)
class SweepSettings(Settings):
    """Train MODEL once per point of a hyperparameter grid; write a results table and figure."""

    model: str = option(help="model name (see 'genlab train --help')", argument=True)
    grid: tuple[str, ...] = option(
        (),
        "a hyperparameter and its values; repeat for a grid (tuple values use '-', e.g. hidden=256-128)",
        metavar="KEY=V1,V2,...",
    )
    fixed: tuple[str, ...] = option((), "a setting shared by every run", flags=("--set",), metavar="KEY=VALUE")
    out: Path | None = option(None, "sweep folder  [default: runs/sweep-MODEL-TIMESTAMP]", flags=OUT)
    overwrite: bool = option(False, "retrain settings whose run folders exist")
    quiet: bool = option(False, "no progress bars or per-epoch lines", flags=QUIET)
    cluster: Cluster = group(Cluster)

    def __post_init__(self):
        # Python may give {"lr": [0.1, 0.01], "hidden": [(64,), (256, 128)]}: written as the CLI's items.
        for name, multiple in (("grid", True), ("fixed", False)):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, tuple(f"{key}={_assignment(v, multiple)}" for key, v in value.items()))
        super().__post_init__()


def _assignment(value, multiple: bool) -> str:
    """A value (or, in a grid, a list of values) as KEY=... text: tuples as 256-128, lists comma-separated."""

    def show(one):
        return "-".join(map(str, one)) if isinstance(one, tuple) else str(one)

    return ",".join(map(show, value)) if multiple else show(value)


SCHEDULERS = ("asha", "none")
SEARCHES = ("random", "grid")


@dataclass(frozen=True, kw_only=True)
class TuneSettings(Settings):
    """Search MODEL's hyperparameters on Ray Tune, stopping poor trials early with ASHA on a validation
    metric; every trial is a run folder, and the best configuration is chosen on validation numbers only."""

    model: str = option(help="model name (see 'genlab train --help')", argument=True)
    space: tuple[str, ...] = option(
        (),
        "a hyperparameter and where to search it: log:LOW:HIGH, uniform:LOW:HIGH or listed values V1,V2,...; "
        "repeat for more",
        metavar="KEY=SPACE",
    )
    fixed: tuple[str, ...] = option((), "a setting shared by every trial", flags=("--set",), metavar="KEY=VALUE")
    trials: int | None = option(
        None, "random search: how many trials  [default: 8; a grid search runs every combination once]"
    )
    metric: str = option("val_accuracy", "the validation number to select on: val_NAME of what the model evaluates")
    mode: str = option(
        "auto",
        "whether a higher (max) or lower (min) --metric is better; auto: min for a loss, error or divergence, else max",
        choices=("auto", "max", "min"),
    )
    scheduler: str = option(
        "asha", "asha: stop poor trials at epoch rungs; none: train every trial fully", choices=SCHEDULERS
    )
    search: str = option(
        "random", "random: --trials draws from the space; grid: every combination of listed values", choices=SEARCHES
    )
    seed: int = option(0, "seed of the random search (each run's own seed is --set seed=N)")
    out: Path | None = option(None, "tune folder  [default: runs/tune-MODEL-TIMESTAMP]", flags=OUT)
    quiet: bool = option(False, "no line per finished trial", flags=QUIET)
    resources: RayResources = group(RayResources)

    def check(self):
        at_least(self, "trials", 1)
        if self.search == "grid" and self.trials is not None:
            raise GenlabError("--trials is for --search random; a grid search runs every combination once")


@dataclass(frozen=True, kw_only=True)
class ReportSettings(Settings):
    """Write report.html (self-contained) and report.pdf about run folders, or every run and sweep folder
    found under the given directories: settings, numbers, every figure with a numbered caption, and
    tables comparing runs of the same family."""

    inputs: tuple[Path, ...] = option(
        help="run folders, or directories that contain run and sweep folders", argument=True, metavar="RUN_OR_DIR..."
    )
    out: Path | None = option(
        None, "folder for report.html and report.pdf  [default: runs/report-TIMESTAMP]", flags=OUT
    )
    title: str | None = option(None, "the report's title  [default: its models and datasets]")


@dataclass(frozen=True, kw_only=True)
class SampleSettings(Settings):
    """Draw N new images from a VAE or GAN run into an .npz file (and a grid figure)."""

    run: Path = option(help="run folder", argument=True)
    n: int = option(64, "number of images to draw", flags=("-n",))
    out: Path = option(
        help="output .npz file (images float32 [n, 1, 28, 28] in [0, 1], and labels when given)", flags=OUT
    )
    grid: Path | None = option(None, "also draw the images as a grid PNG")
    label: int | None = option(None, "class to draw (conditional models only)")
    seed: int = option(0, "seed of the draw")
    device: Device = group(Device)

    def check(self):
        at_least(self, "n", 1)
        if self.out.suffix != ".npz":
            raise GenlabError(f"-o must name an .npz file, got {self.out}")


@dataclass(frozen=True, kw_only=True)
class TraverseSettings(Settings):
    """Vary each of the first latent dimensions of a test image's code and decode (one figure)."""

    run: Path = option(help="run folder", argument=True)
    out: Path = option(help="output figure (PNG)", flags=OUT)
    image: int = option(0, "index of the test image whose code is varied")
    dims: int = option(8, "how many of the first latent dimensions")
    steps: int = option(9, "values per dimension")
    span: float = option(3.0, "values run over [-span, span]")
    device: Device = group(Device)

    def check(self):
        if self.dims < 1 or self.steps < 2 or self.span <= 0:
            raise GenlabError("--dims must be >= 1, --steps >= 2 and --span > 0")


@dataclass(frozen=True, kw_only=True)
class RateDistortionSettings(Settings):
    """Plot test distortion against rate for sweeps (e.g. of vae over beta) and echo-ae runs, in one figure."""

    folders: tuple[Path, ...] = option((), "sweep or run folders", argument=True)
    out: Path = option(help="output figure (PNG)", flags=OUT)


@dataclass(frozen=True, kw_only=True)
class InvertSettings(Settings):
    """Find latents z minimising ||G(z) - x||^2 for chosen images, from several random starts."""

    run: Path = option(help="GAN run folder", argument=True)
    images: str = option("0:8", "which targets: START:STOP or comma-separated indices (test set, or generated samples)")
    restarts: int = option(5, "random initialisations per target")
    steps: int = option(500, "Adam steps per restart")
    lr: float = option(0.1, "initial Adam learning rate (cosine decay)")
    generated: bool = option(False, "invert the GAN's own samples (an exact solution exists)")
    seed: int = option(0, "seed of the initialisations (and of the generated targets)")
    device: Device = group(Device)

    def check(self):
        at_least(self, "restarts", 1)
        at_least(self, "steps", 1)
        check_range(self, "lr", low=0, low_open=True)


@dataclass(frozen=True, kw_only=True)
class PathSettings(Settings):
    """Latent path from image A to B minimising U = integral of (||G-x_A||^2 + ||G-x_B||^2) |dZ|."""

    run: Path = option(help="GAN run folder", argument=True)
    source: int = option(help="test-set index of image A", flags=("--from",))
    target: int = option(help="test-set index of image B", flags=("--to",))
    points: int = option(8, "interior points K of the path")
    steps: int = option(300, "Adam steps on the path")
    restarts: int = option(4, "restarts when inverting A and B")
    invert_steps: int = option(500, "Adam steps per inversion")
    lr: float = option(0.05, "initial Adam learning rate of the path")
    seed: int = option(0, "seed of the inversions' starting points")
    device: Device = group(Device)

    def check(self):
        at_least(self, "points", 1)
        at_least(self, "restarts", 1)
        if self.steps < 1 or self.invert_steps < 1:
            raise GenlabError(f"--steps and --invert-steps must be >= 1, got {self.steps} and {self.invert_steps}")
        check_range(self, "lr", low=0, low_open=True)


@dataclass(frozen=True, kw_only=True)
class SuiteSettings(Settings):
    """Run suite NAME end to end and write its runs and its report (HTML and PDF): classifiers,
    autoencoders, vae, gan, divergences, or all of them into one report (see docs/guide.md)."""

    name: str = option(help="suite name, or all", argument=True)
    quick: bool = option(False, "fewer epochs and less data: a check of the whole pipeline in minutes")
    data: str | None = option(None, "dataset to run on  [default: the suite's own]", metavar="NAME")
    out: Path | None = option(
        None,
        "output folder; run again with the same one to reuse finished runs  "
        "[default: runs/suite-NAME, or runs/suite-NAME-quick]",
        flags=OUT,
    )
    quiet: bool = option(False, "no progress bars or per-epoch lines (the steps are still listed)", flags=QUIET)
    cluster: Cluster = group(Cluster)


@dataclass(frozen=True, kw_only=True)
class GradcheckSettings(Settings):
    """Autograd vs closed-form gradient of the least-squares loss ||Xw - y||^2 (float64)."""

    n: int = option(50, "rows of X", flags=("--n",))
    d: int = option(10, "columns of X", flags=("--d",))
    seed: int = option(0, "seed of X, y and w")

    def check(self):
        at_least(self, "n", 1)
        at_least(self, "d", 1)


@dataclass(frozen=True, kw_only=True)
class InterpolateSettings(Settings):
    """Decode the path between the codes of two test examples of RUN (any family that encodes and decodes)."""

    run: Path = option(help="run folder", argument=True)
    start: str = option(
        help="test-set index, or class:K (first test example of class K)", flags=("--from",), metavar="A"
    )
    end: str = option(help="test-set index, or class:K", flags=("--to",), metavar="B")
    steps: int = option(10, "decoded points on the path, endpoints included")
    slerp: bool = option(False, "spherical interpolation (the arc between the codes) instead of a line")
    device: Device = group(Device)

    def check(self):
        at_least(self, "steps", 2, " (the two endpoints at least)")


@dataclass(frozen=True, kw_only=True)
class ExploreSettings(Settings):
    """Explore the latent space of RUN in the browser: a map of the codes (a GAN's samples), sliders,
    interpolation. Starts a local web server and prints its URL; Ctrl-C stops it."""

    run: Path = option(help="run folder (an autoencoder, VAE or GAN)", argument=True)
    port: int = option(8765, "port to listen on (0: any free port)")
    host: str = option("127.0.0.1", "address to listen on; another than 127.0.0.1 lets other machines in (a warning)")
    split: str = option("test", "split whose codes the map shows (encoder runs)", choices=("train", "val", "test"))
    points: int = option(2000, "points on the map (examples of the split, or a GAN's samples)")
    seed: int = option(0, "seed of a GAN's mapped samples and of its first random start")
    device: Device = group(Device)

    def check(self):
        check_range(self, "port", low=0, high=65535)
        check_range(self, "points", low=10, high=20_000)
        if not self.host.strip():
            raise GenlabError("--host must name an address, e.g. 127.0.0.1")


@dataclass(frozen=True, kw_only=True)
class CompareRunsSettings(Settings):
    """Loss curves overlaid, embeddings / samples / class histograms side by side, and a table of summaries."""

    runs: tuple[Path, ...] = option(help="run folders", argument=True)
    out: Path | None = option(
        None, "folder for compare.png, compare.md, compare.json  [default: runs/compare-TIMESTAMP]", flags=OUT
    )
    device: Device = group(Device)


@dataclass(frozen=True, kw_only=True)
class PcaVsLinearAeSettings(Settings):
    """Train a linear autoencoder and compare its decoder subspace with the top-K PCA subspace."""

    data: DataSelection = group(DataSelection)
    latent_dim: int = option(2, "K: code size and number of PCA components")
    epochs: int = option(40, "passes of the linear autoencoder over the data")
    lr: float = option(1e-2, "Adam learning rate")
    seed: int = option(0, "seed of the initialisation, shuffling and subset")
    out: Path | None = option(None, "output folder  [default: runs/pca-vs-linear-ae-DATA-K]", flags=OUT)
    device: Device = group(Device)
    quiet: bool = option(False, "no progress bar or per-epoch lines", flags=QUIET)

    def check(self):
        at_least(self, "latent_dim", 1)


@dataclass(frozen=True, kw_only=True)
class CorruptSettings(Settings):
    """Plot a 2-D dataset and its corrupted copy side by side, with the process's formula."""

    data: str = option("parabola", "parabola, circle or two-moons")
    noise: str = option(help="gaussian:STD, salt-pepper:P or mask:P")
    n: int = option(1000, "number of points", flags=("-n",))
    seed: int = option(0, "seed of the points and of the corruption")
    out: Path | None = option(None, "figure file  [default: runs/corrupt-DATA-KIND-LEVEL.png]", flags=OUT)

    def check(self):
        at_least(self, "n", 1)


@dataclass(frozen=True, kw_only=True)
class DemoSettings(Settings):
    """A short offline tour on the embedded mnist-sample, ending in a report (HTML and PDF)."""

    out: Path = option(Path("demo-output"), "output folder", flags=OUT)
    quiet: bool = option(False, "no progress bars or per-epoch lines (the steps are still listed)", flags=QUIET)


@dataclass(frozen=True, kw_only=True)
class CompareSettings(Settings):
    """Distances between sample sets A and B: a .npy/.npz file, a run (RUN or RUN:FILE), a dataset slice
    (mnist:test[0:1000]) or a distribution (uniform:3, normal:3:var=2)."""

    a: str = option(help="sample set A (the reference)", argument=True)
    b: str = option(help="sample set B", argument=True)
    metrics: tuple[str, ...] = option(
        DEFAULT_METRICS, f"comma-separated, or 'all': {', '.join(METRICS)}", flags=("--metrics", "-m")
    )
    space: str | None = option(
        None,
        "pixels, raw, pca:K or judge  [default: judge features for fd/kid/prdc on "
        "28x28 images, the values as given otherwise]",
    )
    n: int | None = option(
        None,
        "points of synthetic or generated sets (none: 1000); first n rows of files and slices (none: all)",
        flags=("-n",),
    )
    judge_data: str = option("mnist", "dataset whose judge supplies the judge space")
    judge: Path | None = option(None, "a classifier run folder to use as the judge instead")
    device: Device = group(Device)
    out: Path | None = option(None, "write the results as JSON", flags=OUT)
    estimators: MetricSettings = group(MetricSettings)

    def check(self):
        # 'all' and repeats resolve here, so an unknown name fails before any set is loaded.
        object.__setattr__(self, "metrics", parse_metrics(self.metrics))
        if self.n is not None and self.n < 1:
            raise GenlabError(f"-n must be at least 1, got {self.n}")


@dataclass(frozen=True, kw_only=True)
class DivergencesSettings(Settings):
    """Uniform vs normal over variances, real vs real, real vs GAN/VAE: every metric, timed."""

    out: Path = option(
        Path("results/divergences"), "folder for divergences.json, divergences.md and figures/", flags=OUT
    )
    gan: str | None = option(None, "GAN samples to compare with MNIST: a run folder or a .npz/.npy file")
    vae: str | None = option(None, "VAE samples to compare with MNIST: a run folder or a .npz/.npy file")
    data: str = option("mnist", "the real image dataset")
    n: int = option(1000, "points per set", flags=("-n",))
    variances: tuple[float, ...] = option((1.0, 2.0, 4.0, 8.0, 16.0), "variances of the normal set")
    permutations: int = option(200, "MMD permutation-test relabellings")
    judge_data: str = option("mnist", "dataset whose judge supplies the judge space")
    device: Device = group(Device)
    quiet: bool = option(False, "no progress lines", flags=QUIET)

    def check(self):
        at_least(self, "n", 1)
        if not self.variances or any(not v > 0 for v in self.variances):  # NaN fails too
            raise GenlabError(
                f"--variances must be positive numbers, got '{','.join(f'{v:g}' for v in self.variances)}'"
            )
        check_range(self, "permutations", low=0)


@dataclass(frozen=True, kw_only=True)
class ExportSettings(Settings):
    """Export run RUN's logs for other tools: --to csv (the default) writes RUN/metrics.csv (one row
    per event of metrics.jsonl), --to tensorboard writes RUN/tensorboard/ (its scalars and per-epoch
    sample or reconstruction grids). An existing export is kept unless --overwrite."""

    run: Path = option(help="run folder", argument=True)
    to: str = option("csv", "what to write", choices=("csv", "tensorboard"))
    overwrite: bool = option(False, "replace an existing export (the new one is complete before the old one goes)")
