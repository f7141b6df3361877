"""The `genlab` command: flags -> settings object -> one `genlab.api` function -> printed result.

Every command's parameters are generated (genlab.clibuild) from its settings
class (genlab.settings; a model's TrainConfig for `genlab train MODEL`), so a
setting is declared once, with its default, help text, allowed values and
checks. This module only groups the commands and prints their results.
User errors (GenlabError, bad flags) print one line and exit with code 2.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Callable

import click

from genlab import __version__, api
from genlab.clibuild import SettingsCommand, build, click_params, given_values
from genlab.errors import GenlabError, TrainingInterrupted
from genlab.settings import TrainOptions
from genlab.userfiles import DAMAGED, os_error


class TrainCommand(click.Command):
    """`genlab train MODEL`: TrainOptions (where the run goes) and the model's config fields, both
    generated; the config defaults shown in --help are the model preset's."""

    def __init__(self, spec):
        self.spec = spec
        params = [*click_params(TrainOptions), *click_params(spec.config_cls, spec.default_config())]
        super().__init__(
            spec.name, callback=self.run, params=params, help=spec.description, short_help=spec.description
        )

    def split(self, raw: dict) -> tuple[TrainOptions, dict]:
        """(TrainOptions, the config values the user gave) from click's parsed parameters."""
        options = {name: raw.pop(name) for name in TrainOptions.__dataclass_fields__}
        return build(TrainOptions, **given_values(TrainOptions, options)), given_values(self.spec.config_cls, raw)

    def parse_settings(self, args: list[str]):
        """(TrainOptions, TrainConfig) that `genlab train MODEL ARGS` would train with (without training)."""
        with self.make_context(self.name, list(args)) as ctx:
            options, values = self.split(dict(ctx.params))
        return options, api.train_config(self.spec.name, options.config, values)[1]

    def run(self, **raw) -> None:
        options, values = self.split(raw)
        run = api.train(self.spec.name, options, **values)
        print_summary(run.summary)
        click.echo(f"run folder: {run.path}")


class ModelGroup(click.Group):
    """`genlab train MODEL`: one subcommand per registered model, built on demand; with
    `--config FILE` first, MODEL is the one the file names."""

    def parse_args(self, ctx, args):
        if args and args[0].startswith("--config"):
            args = [model_in_config(args), *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):
        from genlab.models.registry import all_models

        return list(all_models())

    def get_command(self, ctx, name):
        from genlab.models.registry import get_model

        return TrainCommand(get_model(name))


def model_in_config(args: list[str]) -> str:
    """The model named by the settings file of `--config FILE` (or `--config=FILE`) at the start of `args`."""
    from genlab.clibuild import read_settings_file

    path = args[0].partition("=")[2] or (args[1] if len(args) > 1 else "")
    if not path:
        raise GenlabError("--config needs a file: genlab train --config RUN/config.json [flags]")
    model = read_settings_file(path).values.get("model")
    if not model or not isinstance(model, str):
        raise GenlabError(
            f'{path} names no model; add "model": NAME to it or give one: genlab train MODEL --config {path}'
        )
    return model


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


def show_datasets(statuses: list[dict], settings) -> None:
    click.echo(f"{'name':<15} {'present':<8} {'train':>7} {'test':>7}  location")
    for status in statuses:
        splits = status.get("splits", {})
        click.echo(
            f"{status['name']:<15} {'yes' if status['present'] else 'no':<8} "
            f"{splits.get('train', '-'):>7} {splits.get('test', '-'):>7}  {status['path']}"
        )


def show_verified(report: dict, settings) -> None:
    for filename, verdict in report["checksums"].items():
        click.echo(f"  {filename:<28} {verdict}")
    click.echo(f"{settings.name}: {report['path']}")


def show_judge(run, settings) -> None:
    print_summary(run.summary)
    click.echo(f"judge: {run.path}")


def show_sweep(result, settings) -> None:
    click.echo(result.markdown)
    click.echo(f"sweep folder: {result.folder}")


def show_tune(result, settings) -> None:
    click.echo(result.markdown)
    best = ", ".join(f"{k}={v}" for k, v in result.best.items() if k not in ("status", "epochs"))
    click.echo(f"best (on validation numbers): {best}")
    click.echo(f"{result.stopped_early} of {len(result.rows)} trials stopped early; tune folder: {result.folder}")


def show_report(result, settings) -> None:
    click.echo(f"{result.runs} run(s), {result.sweeps} sweep(s), {result.figures} figure(s)")
    click.echo(f"report: {result.html}")
    click.echo(f"report: {result.pdf}")


def show_sample(result, settings) -> None:
    click.echo(f"{len(result.images)} images: {result.npz}" + (f"; grid: {result.grid}" if result.grid else ""))


def show_rate_distortion(result: api.RateDistortion, settings) -> None:
    for point in result.points:
        click.echo(f"  {point.group:<24} {point.label:<12} rate {point.rate:9.3f}  distortion {point.distortion:9.3f}")
    click.echo(f"figure: {result.path}")


def drawing_line(prefix: str) -> Callable[[api.Drawing, object], None]:
    """A printer of a drawing command's result as 'PREFIX: PATH'."""
    return lambda drawing, settings: click.echo(f"{prefix}: {drawing.path}")


def show_inversion(result: api.InversionResult, settings) -> None:
    report = result.report
    for index, entry in zip(report["indices"], report["targets"]):
        click.echo(
            f"  image {index:>5}: best loss {entry['best_loss']:9.3f}  restarts "
            f"{' '.join(f'{v:.2f}' for v in entry['restart_losses'])}  "
            f"{'unique' if entry['unique_minimiser'] else 'NOT unique'} minimiser"
        )
    click.echo(f"  median best loss {report['median_best_loss']:.4g} (squared error summed over pixels)")
    click.echo(f"figure: {result.figure}\nnumbers: {result.table}")


def show_path(result: api.PathResult, settings) -> None:
    for name in ("straight", "optimised"):
        numbers = result.report[name]
        click.echo(
            f"  {name:<10} U {numbers['U']:10.2f} (refined {numbers['U_refined']:10.2f})  image length "
            f"{numbers['image_length']:7.2f}  latent length {numbers['latent_length']:7.2f}"
        )
    click.echo(f"figure: {result.figure}\nnumbers: {result.table}")


def show_suite(result, settings) -> None:
    click.echo(f"suite folder: {result.folder}")
    click.echo(f"report: {result.html}")
    click.echo(f"report: {result.pdf}")


def show_gradcheck(report, settings) -> None:
    click.echo(f"autograd gradient norm     {report.autograd_norm:.12g}")
    click.echo(f"closed-form gradient norm  {report.closed_form_norm:.12g}")
    click.echo(f"max absolute difference    {report.max_abs_diff:.3e}")
    click.echo(f"max relative difference    {report.max_rel_diff:.3e}  (tolerance {report.tolerance:.0e})")
    if not report.agree:
        raise GenlabError(
            f"gradients disagree: max relative difference {report.max_rel_diff:.3e} exceeds {report.tolerance:.0e}"
        )
    click.echo("gradients agree")


def show_interpolation(result, settings) -> None:
    click.echo(f"interpolated test #{result.start} -> test #{result.end} in {len(result.t)} steps")
    for path in result.figures:
        click.echo(f"figure: {path}")


def serve_explorer(explorer, settings) -> None:
    """Print the explorer's URL and serve until Ctrl-C, which stops it with one line and exit code 0."""
    click.echo(f"explorer of {settings.run}: {explorer.url}  (Ctrl-C stops it)")
    try:
        explorer.wait()
    except KeyboardInterrupt:
        click.echo("explorer stopped", err=True)


def show_compared_runs(result, settings) -> None:
    click.echo(result.markdown)
    click.echo(f"figure: {result.figure}")
    click.echo(f"table: {result.table}")


def show_subspaces(result, settings) -> None:
    angles = ", ".join(f"{a:.2f}" for a in result.principal_angles_deg)
    click.echo(f"principal angles (degrees)   {angles}")
    click.echo(f"test MSE: PCA {result.pca_test_mse:.6g}   linear autoencoder {result.linear_ae_test_mse:.6g}")
    click.echo(f"explained variance of {settings.latent_dim} components: {result.explained_variance_ratio:.2%}")
    click.echo(f"figure: {result.figure}")


def show_comparison(result, settings) -> None:
    click.echo(result.table())
    if settings.out:
        click.echo(f"written: {settings.out}")


def show_summary(summary: dict, settings) -> None:
    print_summary(summary)


def echo_line(prefix: str) -> Callable[[object, object], None]:
    """A printer of one result as 'PREFIX: RESULT'."""
    return lambda value, settings: click.echo(f"{prefix}: {value}")


def add(group: click.Group, name: str, function, show) -> None:
    group.add_command(SettingsCommand(name, function, show))


@cli.group()
def data():
    """List and fetch datasets."""


add(data, "list", api.datasets, show_datasets)
add(data, "get", api.get_dataset, show_verified)


@cli.group()
def judge():
    """The per-dataset classifier that scores generated samples."""


add(judge, "train", api.train_judge, show_judge)
add(cli, "evaluate", api.evaluate, show_summary)
add(cli, "export", api.export, echo_line("written"))
add(cli, "sweep", api.run_sweep, show_sweep)
add(cli, "tune", api.tune, show_tune)
add(cli, "report", api.write_report, show_report)
add(cli, "sample", api.sample, show_sample)
add(cli, "traverse", api.traverse, drawing_line("traversal"))
add(cli, "rate-distortion", api.plot_rate_distortion, show_rate_distortion)
add(cli, "invert", api.invert, show_inversion)
add(cli, "path", api.path, show_path)
add(cli, "suite", api.suite, show_suite)
add(cli, "gradcheck", api.gradient_check, show_gradcheck)
add(cli, "interpolate", api.interpolate, show_interpolation)
add(cli, "explore", api.explore, serve_explorer)
add(cli, "compare-runs", api.compare_runs, show_compared_runs)
add(cli, "pca-vs-linear-ae", api.pca_vs_linear_ae, show_subspaces)
add(cli, "corrupt", api.corrupt, drawing_line("figure"))
add(cli, "demo", api.run_demo, show_suite)
add(cli, "compare", api.compare, show_comparison)


@cli.group()
def experiment():
    """Experiments that run many commands' worth of work and write a report section."""


add(experiment, "divergences", api.divergences_experiment, echo_line("report"))


# Commands that reuse their finished runs and resume an interrupted one when run again as they were.
CONTINUED_BY_RERUNNING = ("suite", "demo", "sweep")


def interrupt_advice(args: list[str], interrupt: BaseException) -> str:
    """What Ctrl-C during `genlab ARGS` left behind and the exact command that continues it, or that
    nothing can be continued."""
    command = shlex.join(["genlab", *args])
    run = interrupt if isinstance(interrupt, TrainingInterrupted) else None
    name = args[0] if args else ""
    if name in CONTINUED_BY_RERUNNING:
        # --overwrite would retrain what finished; without it, finished runs are reused.
        again = shlex.join(["genlab", *(a for a in args if a != "--overwrite")])
        where = ""
        if run is not None and run.checkpoint_epoch:
            where = f"{run.state()}; "
        elif run is not None:
            where = f"{run.run_path} had finished no epoch and starts afresh; "
        return f"{where}finished runs are kept: run the same command again to continue: {again}"
    if name == "judge":
        return f"nothing can be continued: a judge is trained afresh each time; run the same command again: {command}"
    if name == "train" and run is not None:
        path = shlex.quote(str(run.run_path))
        if run.checkpoint_epoch == 0:
            again = command if "--overwrite" in args else f"{command} --overwrite"
            return f"{run.state()}; start it again with: {again}"
        if run.checkpoint_epoch >= run.epochs and run.weights:
            return f"{run.state()}; write it with: genlab evaluate {path}"
        return f"{run.state()}; continue it with: genlab train {run.model} --resume {path}"
    return f"nothing was left to continue; run the command again: {command}"


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2; Ctrl-C one line saying how to
    continue, and exit code 130."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="genlab", standalone_mode=False)
    except GenlabError as error:
        click.echo(f"genlab: error: {error}", err=True)
        sys.exit(2)
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        click.echo(f"genlab: error: {error.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except OSError as error:
        # What the readers did not word themselves: an output path under a file, in /proc, on a
        # read-only or full disk (genlab.userfiles words these as it words read errors).
        click.echo(f"genlab: error: {os_error(error)}", err=True)
        sys.exit(2)
    except (KeyboardInterrupt, click.Abort) as interrupt:
        if isinstance(interrupt, click.Abort) and isinstance(interrupt.__context__, EOFError):
            # click turns an EOFError into Abort: a file ended early
            click.echo(f"genlab: error: a file ended early ({interrupt.__context__}); {DAMAGED}", err=True)
            sys.exit(2)
        # click turns Ctrl-C into Abort; what training knew is the Abort's cause.
        cause = interrupt.__cause__ if isinstance(interrupt, click.Abort) else interrupt
        click.echo(f"genlab: interrupted; {interrupt_advice(args, cause)}", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
