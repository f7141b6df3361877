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
    """Download (if missing) and verify dataset NAME."""
    from genlab.data import registry

    path = registry.get(name)
    click.echo(f"{name}: {path}")


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
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="no progress bars")
def demo(out, quiet):
    """A short offline tour on the embedded mnist-sample, ending in an HTML summary."""
    from genlab.demo import run_demo

    page = run_demo(out, progress=not quiet)
    click.echo(f"results: {page}")


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
