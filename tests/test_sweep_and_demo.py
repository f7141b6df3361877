"""Sweeps tabulate a grid; gradcheck agrees with the closed form; the demo writes its page."""

from __future__ import annotations

import csv

from helpers import assert_user_error, run_cli

from genlab.gradcheck import least_squares_check


def test_least_squares_gradient_agrees_with_closed_form():
    report = least_squares_check(n=40, d=7, seed=1)
    assert report.agree and report.max_rel_diff < 1e-10
    assert abs(report.autograd_norm - report.closed_form_norm) < 1e-9 * report.closed_form_norm


def test_sweep_writes_one_row_per_setting_and_reuses_finished_runs(capsys, tmp_path):
    args = [
        "sweep",
        "mlp",
        "--grid",
        "activation=relu,tanh",
        "--grid",
        "hidden=16,32-16",
        "--set",
        "data=mnist-sample",
        "--set",
        "epochs=1",
        "-q",
        "-o",
        str(tmp_path / "s"),
    ]
    code, out, _ = run_cli(args, capsys)
    assert code == 0, out
    rows = list(csv.DictReader(open(tmp_path / "s" / "results.csv")))
    assert len(rows) == 4
    assert {r["hidden"] for r in rows} == {"16", "32-16"}
    assert all(float(r["test_accuracy"]) > 0.3 and r["seed"] == "0" for r in rows)
    assert (tmp_path / "s" / "results.md").read_text().startswith("| activation | hidden |")
    assert (tmp_path / "s" / "results.png").exists()
    stamp = (tmp_path / "s" / "activation=relu_hidden=16" / "summary.json").stat().st_mtime
    run_cli(args, capsys)
    assert (tmp_path / "s" / "activation=relu_hidden=16" / "summary.json").stat().st_mtime == stamp


def test_sweep_rejects_unknown_settings(capsys, tmp_path):
    assert_user_error(
        ["sweep", "mlp", "--grid", "depth=1,2", "-o", str(tmp_path)], capsys, "'depth' is not a setting of mlp"
    )
    assert_user_error(["sweep", "mlp", "--grid", "lr", "-o", str(tmp_path)], capsys, "cannot parse 'lr'")


def test_every_demo_model_has_a_learning_floor():
    from genlab.demo import DEMO
    from genlab.suites.steps import Train

    trained = [step for step in DEMO.steps() if isinstance(step, Train)]
    assert [step.name for step in trained] == ["logreg", "cnn", "ae", "vae", "gan"]
    assert all(step.floors for step in trained)


def test_the_demo_autoencoder_learns_a_code_that_separates_the_classes(tmp_path):
    """The demo's autoencoder step as the demo runs it: its 2-D code clears the floor the demo checks."""
    from genlab.demo import DEMO
    from genlab.suites.run import Suite, run_suite

    alone = Suite("demo-ae", "", "", DEMO.data, lambda data: [s for s in DEMO.build(data) if s.name == "ae"])
    lines: list[str] = []
    outcome = run_suite(alone, tmp_path, "quick", progress=False, log=lines.append)["ae"]
    assert outcome.runs[0].summary["latent_knn_accuracy"] >= 0.6
    assert not any("below the floor" in line for line in lines), lines
