"""The `genlab` command: parse flags -> config -> call the API. Nothing else lives here.

Training flags are generated from each model's config dataclass, so a
hyperparameter is declared once (with its help text and allowed values).
User errors (GenlabError, bad flags) print one line and exit with code 2.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from genlab import __version__
from genlab.config import field_type, flag_name, parse_value
from genlab.errors import GenlabError


def _format_default(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def config_params(spec) -> list[click.Option]:
    """One click option per CLI-visible field of the model's config class."""
    return dataclass_params(spec.config_cls, spec.default_config())


def dataclass_params(cls, defaults) -> list[click.Option]:
    """One click option per CLI-visible field of a dataclass declared with `option(...)` fields."""
    params = []
    for spec_field in dataclasses.fields(cls):
        meta = spec_field.metadata
        if not meta.get("cli", True):
            continue
        name = spec_field.name
        help_text = meta.get("help", "")
        if meta.get("choices"):
            help_text += f" ({'|'.join(meta['choices'])})"
        if "[default:" not in help_text:
            help_text += f"  [default: {_format_default(getattr(defaults, name))}]"
        if field_type(cls, name) is bool:
            params.append(click.Option([f"--{flag_name(name)}/--no-{flag_name(name)}", name], default=None,
                                       help=help_text))
        else:
            params.append(click.Option([f"--{flag_name(name)}", name], type=str, default=None, help=help_text,
                                       metavar="VALUE"))
    return params


def parse_config_values(spec, raw: dict) -> dict:
    """Parse the string flags a user gave (None = not given) into typed config values."""
    return parse_dataclass_values(spec.config_cls, raw)


def parse_dataclass_values(cls, raw: dict) -> dict:
    """Parse the string flags a user gave (None = not given) into the dataclass's field types."""
    values = {}
    for name, text in raw.items():
        if text is None:
            continue
        values[name] = text if isinstance(text, bool) else parse_value(cls, name, text)
    return values


def train_command(spec) -> click.Command:
    def run(out, overwrite, resume, quiet, **raw):
        from genlab.train import engine

        values = parse_config_values(spec, raw)
        if resume:
            extra = sorted(set(values) - {"epochs"})
            if extra:
                raise GenlabError(f"--resume continues a run with its saved settings; only --epochs may be "
                                  f"given, not --{flag_name(extra[0])}")
            result = engine.resume(resume, spec, epochs=values.get("epochs"), progress=not quiet)
        else:
            config = spec.make_config(**values)
            result = engine.train(spec, config, out=out, overwrite=overwrite, progress=not quiet)
        print_summary(result.summary)
        click.echo(f"run folder: {result.run.path}")

    params = [
        click.Option(["--out", "-o"], type=click.Path(path_type=Path), default=None,
                     help="run folder to write  [default: runs/MODEL-DATA-TIMESTAMP]"),
        click.Option(["--overwrite"], is_flag=True, help="replace an existing run folder"),
        click.Option(["--resume"], type=click.Path(path_type=Path), default=None,
                     help="continue an interrupted run folder (optionally with more --epochs)"),
        click.Option(["--quiet", "-q"], is_flag=True, help="no progress bar"),
        *config_params(spec),
    ]
    return click.Command(spec.name, callback=run, params=params, help=spec.description,
                         short_help=spec.description)


class ModelGroup(click.Group):
    """`genlab train MODEL`: one subcommand per registered model, built on demand."""

    def list_commands(self, ctx):
        from genlab.models.registry import all_models

        return list(all_models())

    def get_command(self, ctx, name):
        from genlab.models.registry import get_model

        return train_command(get_model(name))


def print_summary(summary: dict) -> None:
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
            value = value if len(value) < 100 else value[:97] + "..."
        click.echo(f"  {key:<28} {value}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="genlab")
def cli():
    """Train, inspect and evaluate classifiers, autoencoders, VAEs and GANs."""


cli.add_command(ModelGroup("train", help="Train a model into a run folder (see 'genlab train MODEL --help')."))


@cli.group()
def data():
    """List and fetch datasets."""


@data.command("list")
def data_list():
    """Name, splits, sizes, location and presence of every dataset."""
    from genlab.data import registry

    click.echo(f"{'name':<15} {'present':<8} {'train':>7} {'test':>7}  location")
    for name in registry.dataset_names():
        status = registry.status(name)
        splits = status.get("splits", {})
        click.echo(f"{name:<15} {'yes' if status['present'] else 'no':<8} "
                   f"{splits.get('train', '-'):>7} {splits.get('test', '-'):>7}  {status['path']}")


@data.command("get")
@click.argument("name")
def data_get(name):
    """Download (if missing) and verify dataset NAME (SHA-256 of the decompressed files)."""
    from genlab.data import registry

    report = registry.verify(name)
    for filename, verdict in report["checksums"].items():
        click.echo(f"  {filename:<28} {verdict}")
    click.echo(f"{name}: {report['path']}")


@cli.group()
def judge():
    """The per-dataset classifier that scores generated samples."""


@judge.command("train")
@click.option("--data", required=True, help="dataset name, e.g. mnist or fashion-mnist")
@click.option("--epochs", type=int, default=None, help="passes over the data  [default: ~180k examples seen]")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--overwrite", is_flag=True, help="retrain an existing judge")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def judge_train(data, epochs, device, overwrite, quiet):
    """Train and store the default judge for dataset DATA."""
    from genlab.judge import train_judge

    result = train_judge(data, epochs=epochs, device=device, overwrite=overwrite, progress=not quiet)
    print_summary(result.summary)
    click.echo(f"judge: {result.run.path}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]), help="where to evaluate")
def evaluate(run, device):
    """Recompute a run's summary (and figures) from its saved weights."""
    from genlab.train.engine import evaluate_run

    print_summary(evaluate_run(run, device=device))


@cli.command()
@click.argument("model")
@click.option("--grid", "grids", multiple=True, metavar="KEY=V1,V2,...",
              help="a hyperparameter and its values; repeat for a grid (tuple values use '-', e.g. hidden=256-128)")
@click.option("--set", "fixed", multiple=True, metavar="KEY=VALUE", help="a setting shared by every run")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="sweep folder  [default: runs/sweep-MODEL-TIMESTAMP]")
@click.option("--overwrite", is_flag=True, help="retrain settings whose run folders exist")
@click.option("--quiet", "-q", is_flag=True, help="no progress bars")
def sweep(model, grids, fixed, out, overwrite, quiet):
    """Train MODEL once per point of a hyperparameter grid; write a results table and figure."""
    from genlab.sweep import parse_assignments, run_sweep

    result = run_sweep(model, parse_assignments(model, grids, multiple=True),
                       parse_assignments(model, fixed, multiple=False), out=out, overwrite=overwrite,
                       progress=not quiet)
    click.echo(result.markdown)
    click.echo(f"sweep folder: {result.folder}")


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="RUN_OR_DIR...", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="folder for report.html and report.pdf  [default: runs/report-TIMESTAMP]")
@click.option("--title", default=None, help="the report's title  [default: its models and datasets]")
def report(inputs, out, title):
    """Write report.html (self-contained) and report.pdf about run folders, or every run and sweep folder
    found under the given directories: settings, numbers, every figure with a numbered caption, and
    tables comparing runs of the same family."""
    import datetime

    from genlab.report import write_report

    out = out or Path("runs") / f"report-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    result = write_report(list(inputs), out, title=title)
    click.echo(f"{result.runs} run(s), {result.sweeps} sweep(s), {result.figures} figure(s)")
    click.echo(f"report: {result.html}")
    click.echo(f"report: {result.pdf}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-n", "n", type=int, default=64, show_default=True, help="number of images to draw")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="output .npz file (images float32 [n, 1, 28, 28] in [0, 1], and labels when given)")
@click.option("--grid", type=click.Path(path_type=Path), default=None, help="also draw the images as a grid PNG")
@click.option("--label", type=int, default=None, help="class to draw (conditional models only)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the draw")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]), help="where to sample")
def sample(run, n, out, grid, label, seed, device):
    """Draw N new images from a VAE or GAN run into an .npz file (and a grid figure)."""
    from genlab.latent.sample import sample_run

    result = sample_run(run, n, out, grid=grid, label=label, seed=seed, device=device)
    click.echo(f"{len(result.images)} images: {result.npz}" + (f"; grid: {result.grid}" if result.grid else ""))


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="output figure (PNG)")
@click.option("--image", type=int, default=0, show_default=True, help="index of the test image whose code is varied")
@click.option("--dims", type=int, default=8, show_default=True, help="how many of the first latent dimensions")
@click.option("--steps", type=int, default=9, show_default=True, help="values per dimension")
@click.option("--span", type=float, default=3.0, show_default=True, help="values run over [-span, span]")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
def traverse(run, out, image, dims, steps, span, device):
    """Vary each of the first latent dimensions of a test image's code and decode (one figure)."""
    from genlab.latent.traverse import traverse_run

    click.echo(f"traversal: {traverse_run(run, out, image, dims, steps, span, device)}")


@cli.command("rate-distortion")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="output figure (PNG)")
def rate_distortion(folders, out):
    """Plot test distortion against rate for sweeps (e.g. of vae over beta) and echo-ae runs, in one figure."""
    from genlab.rate_distortion import write_rate_distortion

    path, points = write_rate_distortion(list(folders), out)
    for point in points:
        click.echo(f"  {point.group:<24} {point.label:<12} rate {point.rate:9.3f}  distortion {point.distortion:9.3f}")
    click.echo(f"figure: {path}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--images", default="0:8", show_default=True,
              help="which targets: START:STOP or comma-separated indices (test set, or generated samples)")
@click.option("--restarts", type=int, default=5, show_default=True, help="random initialisations per target")
@click.option("--steps", type=int, default=500, show_default=True, help="Adam steps per restart")
@click.option("--lr", type=float, default=0.1, show_default=True, help="initial Adam learning rate (cosine decay)")
@click.option("--generated", is_flag=True, help="invert the GAN's own samples (an exact solution exists)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
def invert(run, images, restarts, steps, lr, generated, seed, device):
    """Find latents z minimising ||G(z) - x||^2 for chosen images, from several random starts."""
    from genlab.latent.invert import invert_run

    report, figure, table = invert_run(run, images, restarts, steps, generated, lr, seed, device)
    for index, entry in zip(report["indices"], report["targets"]):
        click.echo(f"  image {index:>5}: best loss {entry['best_loss']:9.3f}  restarts "
                   f"{' '.join(f'{v:.2f}' for v in entry['restart_losses'])}  "
                   f"{'unique' if entry['unique_minimiser'] else 'NOT unique'} minimiser")
    click.echo(f"  median best loss {report['median_best_loss']:.4g} (squared error summed over pixels)")
    click.echo(f"figure: {figure}\nnumbers: {table}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--from", "source", type=int, required=True, help="test-set index of image A")
@click.option("--to", "target", type=int, required=True, help="test-set index of image B")
@click.option("--points", type=int, default=8, show_default=True, help="interior points K of the path")
@click.option("--steps", type=int, default=300, show_default=True, help="Adam steps on the path")
@click.option("--restarts", type=int, default=4, show_default=True, help="restarts when inverting A and B")
@click.option("--invert-steps", type=int, default=500, show_default=True, help="Adam steps per inversion")
@click.option("--lr", type=float, default=0.05, show_default=True, help="initial Adam learning rate of the path")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
def path(run, source, target, points, steps, restarts, invert_steps, lr, seed, device):
    """Latent path from image A to B minimising U = integral of (||G-x_A||^2 + ||G-x_B||^2) |dZ|."""
    from genlab.latent.paths import path_run

    report, figure, table = path_run(run, source, target, points, steps, restarts, invert_steps, lr, seed, device)
    for name in ("straight", "optimised"):
        numbers = report[name]
        click.echo(f"  {name:<10} U {numbers['U']:10.2f} (refined {numbers['U_refined']:10.2f})  image length "
                   f"{numbers['image_length']:7.2f}  latent length {numbers['latent_length']:7.2f}")
    click.echo(f"figure: {figure}\nnumbers: {table}")


@cli.command()
@click.argument("name")
@click.option("--quick", is_flag=True, help="fewer epochs and less data: a check of the whole pipeline in minutes")
@click.option("--data", default=None, metavar="NAME", help="dataset to run on  [default: the suite's own]")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="output folder; run again with the same one to reuse finished runs  "
                   "[default: runs/suite-NAME, or runs/suite-NAME-quick]")
@click.option("--quiet", "-q", is_flag=True, help="no progress bars (the steps are still listed)")
def suite(name, quick, data, out, quiet):
    """Run suite NAME end to end and write its runs and its report (HTML and PDF): classifiers,
    autoencoders, vae, gan, divergences, or all of them into one report (see docs/guide.md)."""
    from genlab.suites import run_named_suite

    result = run_named_suite(name, out, quick=quick, data=data, progress=not quiet, log=click.echo)
    click.echo(f"suite folder: {result.folder}")
    click.echo(f"report: {result.html}")
    click.echo(f"report: {result.pdf}")


@cli.command()
@click.option("--n", "n", default=50, show_default=True, help="rows of X")
@click.option("--d", "d", default=10, show_default=True, help="columns of X")
@click.option("--seed", default=0, show_default=True)
def gradcheck(n, d, seed):
    """Autograd vs closed-form gradient of the least-squares loss ||Xw - y||^2 (float64)."""
    from genlab.gradcheck import least_squares_check

    report = least_squares_check(n, d, seed)
    click.echo(f"autograd gradient norm     {report.autograd_norm:.12g}")
    click.echo(f"closed-form gradient norm  {report.closed_form_norm:.12g}")
    click.echo(f"max absolute difference    {report.max_abs_diff:.3e}")
    click.echo(f"max relative difference    {report.max_rel_diff:.3e}  (tolerance {report.tolerance:.0e})")
    if not report.agree:
        raise GenlabError(f"gradients disagree: max relative difference {report.max_rel_diff:.3e} "
                          f"exceeds {report.tolerance:.0e}")
    click.echo("gradients agree")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--from", "start", required=True, metavar="A", help="test-set index, or class:K (first test example of class K)")
@click.option("--to", "end", required=True, metavar="B", help="test-set index, or class:K")
@click.option("--steps", default=10, show_default=True, help="decoded points on the path, endpoints included")
@click.option("--slerp", is_flag=True, help="spherical interpolation (the arc between the codes) instead of a line")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]), help="where to decode")
def interpolate(run, start, end, steps, slerp, device):
    """Decode the path between the codes of two test examples of RUN (any family that encodes and decodes)."""
    from genlab.latent.interpolate import interpolate_run

    result = interpolate_run(run, start, end, steps=steps, spherical=slerp, device=device)
    click.echo(f"interpolated test #{result.start} -> test #{result.end} in {len(result.t)} steps")
    for path in result.figures:
        click.echo(f"figure: {path}")


@cli.command("compare-runs")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="folder for compare.png, compare.md, compare.json  [default: runs/compare-TIMESTAMP]")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]), help="where to encode/sample")
def compare_runs(runs, out, device):
    """Loss curves overlaid, embeddings / samples / class histograms side by side, and a table of summaries."""
    from genlab.latent.compare import compare_runs as compare

    result = compare(list(runs), out=out, device=device)
    click.echo(result.markdown)
    click.echo(f"figure: {result.figure}")
    click.echo(f"table: {result.table}")


@cli.command("pca-vs-linear-ae")
@click.option("--data", default="mnist", show_default=True, help="dataset name or tabular file")
@click.option("--latent-dim", default=2, show_default=True, help="K: code size and number of PCA components")
@click.option("--epochs", default=40, show_default=True, help="passes of the linear autoencoder over the data")
@click.option("--lr", default=1e-2, show_default=True, help="Adam learning rate")
@click.option("--limit", default=None, type=int, help="use a stratified subset of N training examples")
@click.option("--seed", default=0, show_default=True)
@click.option("--label-column", default=None, help="CSV data: the label column")
@click.option("--labels", default=None, help=".npy data: a .npy file of labels")
@click.option("--label-key", default=None, help=".h5ad data: the obs column of labels")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="output folder  [default: runs/pca-vs-linear-ae-DATA-K]")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def pca_vs_linear_ae(data, latent_dim, epochs, lr, limit, seed, label_column, labels, label_key, out, device,
                     quiet):
    """Train a linear autoencoder and compare its decoder subspace with the top-K PCA subspace."""
    from genlab.latent.pca_linear import compare_pca_linear_ae

    result = compare_pca_linear_ae(data, latent_dim, out=out, epochs=epochs, lr=lr, limit=limit, seed=seed,
                                   device=device, progress=not quiet, label_column=label_column, labels=labels,
                                   label_key=label_key)
    angles = ", ".join(f"{a:.2f}" for a in result.principal_angles_deg)
    click.echo(f"principal angles (degrees)   {angles}")
    click.echo(f"test MSE: PCA {result.pca_test_mse:.6g}   linear autoencoder {result.linear_ae_test_mse:.6g}")
    click.echo(f"explained variance of {latent_dim} components: {result.explained_variance_ratio:.2%}")
    click.echo(f"figure: {result.figure}")


@cli.command()
@click.option("--data", "name", default="parabola", show_default=True, help="parabola, circle or two-moons")
@click.option("--noise", required=True, help="gaussian:STD, salt-pepper:P or mask:P")
@click.option("-n", "n", default=1000, show_default=True, help="number of points")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="figure file  [default: runs/corrupt-DATA-KIND-LEVEL.png]")
def corrupt(name, noise, n, seed, out):
    """Plot a 2-D dataset and its corrupted copy side by side, with the process's formula."""
    from genlab.data.toy2d import corrupt_toy

    click.echo(f"figure: {corrupt_toy(name, noise, n=n, seed=seed, out=out)}")


@cli.command()
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="no progress bars")
def demo(out, quiet):
    """A short offline tour on the embedded mnist-sample, ending in a report (HTML and PDF)."""
    from genlab.demo import run_demo

    result = run_demo(out, progress=not quiet, log=click.echo)
    click.echo(f"report: {result.html}")
    click.echo(f"report: {result.pdf}")


def compare_command() -> click.Command:
    """`genlab compare A B`: its flags include one per MetricSettings field."""
    from genlab.metrics.compare import DEFAULT_METRICS, METRICS, MetricSettings

    def run(a, b, metrics, space, n, judge_data, judge, device, out, **raw):
        from genlab.metrics.compare import compare
        from genlab.metrics.sets import load_set
        from genlab.train.runfolder import atomic_write_json

        settings = MetricSettings(**parse_dataclass_values(MetricSettings, raw))
        # Independent draws: the two sets get different seeds even for the same spec.
        set_a = load_set(a, n=n, seed=settings.seed, device=device, name="A")
        set_b = load_set(b, n=n, seed=settings.seed + 1, device=device, name="B")
        result = compare(set_a, set_b, metrics, space, settings, device, str(judge) if judge else judge_data)
        click.echo(result.table())
        if out:
            atomic_write_json(out, result.to_dict())
            click.echo(f"written: {out}")

    params = [
        click.Argument(["a"]), click.Argument(["b"]),
        click.Option(["--metrics", "-m"], default=",".join(DEFAULT_METRICS), show_default=True,
                     help=f"comma-separated, or 'all': {', '.join(METRICS)}"),
        click.Option(["--space"], default=None, help="pixels, raw, pca:K or judge  [default: judge features for "
                     "fd/kid/prdc on 28x28 images, the values as given otherwise]"),
        click.Option(["-n", "n"], type=int, default=None,
                     help="points of synthetic or generated sets (default 1000); first n rows of files and slices"),
        click.Option(["--judge-data"], default="mnist", show_default=True,
                     help="dataset whose judge supplies the judge space"),
        click.Option(["--judge"], type=click.Path(path_type=Path), default=None,
                     help="a classifier run folder to use as the judge instead"),
        click.Option(["--device"], default="auto", type=click.Choice(["auto", "cpu", "cuda"]), show_default=True),
        click.Option(["--out", "-o"], type=click.Path(path_type=Path), default=None, help="write the results as JSON"),
        *dataclass_params(MetricSettings, MetricSettings()),
    ]
    return click.Command("compare", callback=run, params=params,
                         help="Distances between sample sets A and B: a .npy/.npz file, a run (RUN or RUN:FILE), "
                              "a dataset slice (mnist:test[0:1000]) or a distribution (uniform:3, normal:3:var=2).",
                         short_help="Distances between two sample sets (KL, EMD, MMD, FD, precision/recall).")


cli.add_command(compare_command())


@cli.group()
def experiment():
    """Experiments that run many commands' worth of work and write a report section."""


@experiment.command("divergences")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("results/divergences"), show_default=True,
              help="folder for divergences.json, divergences.md and figures/")
@click.option("--gan", default=None, help="GAN samples to compare with MNIST: a run folder or a .npz/.npy file")
@click.option("--vae", default=None, help="VAE samples to compare with MNIST: a run folder or a .npz/.npy file")
@click.option("--data", default="mnist", show_default=True, help="the real image dataset")
@click.option("-n", "n", type=int, default=1000, show_default=True, help="points per set")
@click.option("--variances", default="1,2,4,8,16", show_default=True, help="variances of the normal set")
@click.option("--permutations", type=int, default=200, show_default=True, help="MMD permutation-test relabellings")
@click.option("--judge-data", default="mnist", show_default=True, help="dataset whose judge supplies the judge space")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]), show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="no progress lines")
def experiment_divergences(out, gan, vae, data, n, variances, permutations, judge_data, device, quiet):
    """Uniform vs normal over variances, real vs real, real vs GAN/VAE: every metric, timed."""
    from genlab.experiments.divergences import parse_variances, run_divergences
    from genlab.metrics.compare import MetricSettings

    report = run_divergences(out, variances=parse_variances(variances), n=n, data=data, gan=gan, vae=vae,
                             settings=MetricSettings(permutations=permutations), device=device,
                             judge=judge_data, progress=not quiet)
    click.echo(f"report: {report}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="genlab", standalone_mode=False)
    except GenlabError as error:
        click.echo(f"genlab: error: {error}", err=True)
        sys.exit(2)
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        click.echo(f"genlab: error: {error.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except (KeyboardInterrupt, click.Abort):
        click.echo("genlab: interrupted; a training run can be continued with 'genlab train MODEL --resume RUN'",
                   err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
