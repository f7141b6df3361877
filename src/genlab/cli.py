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
    defaults = spec.default_config()
    params = []
    for spec_field in dataclasses.fields(spec.config_cls):
        meta = spec_field.metadata
        if not meta.get("cli", True):
            continue
        name = spec_field.name
        help_text = meta.get("help", "")
        if meta.get("choices"):
            help_text += f" ({'|'.join(meta['choices'])})"
        help_text += f"  [default: {_format_default(getattr(defaults, name))}]"
        if field_type(spec.config_cls, name) is bool:
            params.append(click.Option([f"--{flag_name(name)}/--no-{flag_name(name)}", name], default=None,
                                       help=help_text))
        else:
            params.append(click.Option([f"--{flag_name(name)}", name], type=str, default=None, help=help_text,
                                       metavar="VALUE"))
    return params


def parse_config_values(spec, raw: dict) -> dict:
    """Parse the string flags a user gave (None = not given) into typed config values."""
    values = {}
    for name, text in raw.items():
        if text is None:
            continue
        values[name] = text if isinstance(text, bool) else parse_value(spec.config_cls, name, text)
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
