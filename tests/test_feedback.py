"""What a user sees while training: per-epoch lines in a pipe, -q, Ctrl-C and resume messages; the tests' data."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import click

from conftest import needs_shared_data
from helpers import run_cli

from genlab.cli import interrupt_advice
from genlab.errors import TrainingInterrupted
from genlab.models.classifiers import CNNFamily, MLPFamily

ROOT = Path(__file__).resolve().parents[1]
EPOCH_LINE = re.compile(
    r"^epoch (\d+)/(\d+)  train loss [-\d.e]+  val accuracy [\d.]+  [\d.]+ s  (ETA .+|final evaluation next)$"
)


def genlab_process(args: list[str]) -> subprocess.Popen:
    """`genlab ARGS` in a subprocess of this checkout's code, its stdout and stderr pipes (not terminals)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "genlab.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_piped_run_prints_epoch_lines_and_ctrl_c_names_the_folder_and_the_command_that_continues_it(tmp_path, capsys):
    run = tmp_path / "run"
    process = genlab_process(
        ["train", "mlp", "--data", "mnist-sample", "--hidden", "16", "--epochs", "500", "-o", str(run)]
    )
    first = process.stdout.readline()  # printed, flushed, although stdout is a pipe
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    assert EPOCH_LINE.match(first.rstrip()), first
    assert process.returncode == 130
    assert "%|" not in err and "step/s" not in err  # no progress bar outside a terminal
    message = err.strip().splitlines()[-1]
    assert message.startswith("genlab: interrupted; ") and "Traceback" not in err
    done = int(re.search(r"checkpoint after epoch (\d+) of 500", message).group(1))
    assert done >= 1 and f"{run} holds a checkpoint" in message
    assert message.endswith(f"continue it with: genlab train mlp --resume {run}")

    # The command it names continues the run, and says where it resumed.
    code, out, _ = run_cli(["train", "mlp", "--resume", str(run), "--epochs", str(done + 1)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"resuming {run} after epoch {done}/{done + 1} (step ")
    assert EPOCH_LINE.match(lines[1]) and lines[1].startswith(f"epoch {done + 1}/{done + 1}  ")
    assert lines[1].endswith("final evaluation next")


def test_quiet_prints_no_epoch_lines_and_no_bar(tmp_path, capsys):
    args = ["train", "logreg", "--data", "mnist-sample", "--limit", "200", "--epochs", "2", "-o"]
    code, out, err = run_cli([*args, str(tmp_path / "loud")], capsys)
    assert code == 0 and [line for line in out.splitlines() if EPOCH_LINE.match(line)] != []
    code, out, err = run_cli([*args, str(tmp_path / "quiet"), "-q"], capsys)
    assert code == 0 and not any(line.startswith("epoch ") for line in out.splitlines()) and err == ""


def test_ctrl_c_before_the_first_checkpoint_says_nothing_can_be_continued(tmp_path, capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(MLPFamily, "train_step", interrupted)
    run = tmp_path / "run"
    code, _, err = run_cli(["train", "mlp", "--data", "mnist-sample", "-o", str(run)], capsys)
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        f"genlab: interrupted; no epoch had finished, so {run} holds no checkpoint and nothing can be "
        f"continued; start it again with: genlab train mlp --data mnist-sample -o {run} --overwrite"
    )

    # A judge is trained afresh each time: --resume does not apply to it.
    monkeypatch.setattr(CNNFamily, "train_step", interrupted)
    code, _, err = run_cli(["judge", "train", "--data", "mnist-sample"], capsys)
    assert code == 130 and "nothing can be continued: a judge is trained afresh each time" in err
    assert "--resume" not in err and err.strip().endswith("genlab judge train --data mnist-sample")


def test_ctrl_c_in_a_suite_names_the_command_that_picks_it_up():
    stopped = TrainingInterrupted(Path("out/demo/ae"), "ae", 3, 20, weights=False)
    advice = interrupt_advice(["demo", "-o", "my out"], stopped)
    assert advice == (
        "out/demo/ae holds a checkpoint after epoch 3 of 20; finished runs are kept: run the same command "
        "again to continue: genlab demo -o 'my out'"
    )
    # --overwrite would retrain what finished, so the command that continues a sweep leaves it out.
    assert interrupt_advice(["sweep", "mlp", "--overwrite", "-o", "s"], KeyboardInterrupt()).endswith(
        "continue: genlab sweep mlp -o s"
    )
    fresh = TrainingInterrupted(Path("out/demo/gan"), "gan", 0, 15, weights=False)
    assert interrupt_advice(["demo"], fresh) == (
        "out/demo/gan had finished no epoch and starts afresh; finished runs are kept: run the same command "
        "again to continue: genlab demo"
    )
    finished = TrainingInterrupted(Path("r"), "vae", 5, 5, weights=True)
    assert interrupt_advice(["train", "vae", "-o", "r"], finished).endswith("write it with: genlab evaluate r")


IDX_TEST = "tests/test_idx.py::test_mnist_test_set_gz"  # reads the real MNIST test files


def conftest_run(data: Path) -> str:
    """The output of one data-reading test of tests/test_idx.py, run by pytest with GENLAB_DATA=`data`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GENLAB_DATA": str(data)}
    done = subprocess.run(
        # addopts cleared: without the project's -q, pytest prints the header too.
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", IDX_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout


def test_tests_say_loudly_when_genlab_data_holds_no_real_data(tmp_path):
    out = conftest_run(tmp_path / "empty")
    assert "1 skipped" in out and f"WARNING: real data absent: mnist, fashion-mnist not in {tmp_path / 'empty'}" in out
    assert f"1 tests skipped: real data absent: mnist, fashion-mnist not in {tmp_path / 'empty'}" in out


@needs_shared_data
def test_tests_read_real_data_from_genlab_data(tmp_path):
    from conftest import SHARED_DATA

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("mnist", "fashion-mnist"):
        (elsewhere / name).symlink_to(SHARED_DATA / name)
    out = conftest_run(elsewhere)
    assert "1 passed" in out and f"genlab test data: {elsewhere}" in out and "real data absent" not in out


def test_every_command_of_the_readme_tour_parses(tmp_path):
    """Each `genlab ...` of README's tour names real commands and options and gives the required ones."""
    import shlex

    from genlab.cli import cli

    block = (ROOT / "README.md").read_text().split("## A short tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands: list[list[str]] = []
    for line in block.splitlines():
        words = [str(tmp_path) if word == "RUN" else word for word in shlex.split(line, comments=True)]
        while words:  # `a ; b` is two commands
            end = words.index(";") if ";" in words else len(words)
            commands.append([word for word in words[:end] if word != "..."])
            words = words[end + 1 :]
    checked = 0
    for args in commands:
        if "--help" in args:
            continue
        assert args[0] == "genlab", args
        command, rest = cli, args[1:]
        while isinstance(command, click.Group):  # the groups take no options: the next word names the command
            if rest[0] == "--config":  # `genlab train --config F`: the model and settings come from F
                settings = tmp_path / "settings.json"
                settings.write_text('{"model": "mlp"}')
                rest = ["mlp", "--config", str(settings), *rest[2:]]
            command, rest = command.get_command(click.Context(command), rest[0]), rest[1:]
            assert command is not None, args
        command.parse_settings(rest)  # a missing required option or an unknown one raises here
        checked += 1
    assert checked >= 20


def test_a_required_option_left_out_is_one_line_not_a_traceback(tmp_path, capsys):
    from helpers import assert_user_error

    assert_user_error(["traverse", str(tmp_path)], capsys, "--out is required", "output figure")


def test_suite_steps_are_numbered_across_the_invocation_with_the_time_left():
    from genlab.suites.run import StepClock

    clock = StepClock(3)
    assert clock.begin() == "[1/3]"  # nothing measured yet, so no estimate
    clock.end(2.0, "run trained")
    assert clock.begin().startswith("[2/3] ") and clock.begin().endswith("elapsed, about 4.0 s left;")
    clock.end(0.01, "2 runs: 2 reused")  # a reused step did no work: it does not shorten the estimate
    assert clock.begin().startswith("[3/3] ") and clock.begin().endswith("elapsed, about 2.0 s left;")
