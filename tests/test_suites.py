"""Suites: steps run in order into OUT/<suite>/<step>/, choices use validation numbers, the report shows the
suite, and a second run (or one after an interruption) reuses everything that finished."""

from __future__ import annotations

import json
import re

import pytest
from helpers import assert_user_error

from genlab.errors import GenlabError
from genlab.suites import all_suites
from genlab.suites.run import Suite, run_suites, validate
from genlab.suites.steps import (
    BestOf,
    ByMode,
    FolderOf,
    Inspect,
    InspectContext,
    Inspection,
    Outcome,
    RunOutcome,
    Sweep,
    Train,
    best_run,
    grid,
)
from genlab.train.runfolder import RunFolder

TINY = {"data": "mnist-sample", "limit": 600, "epochs": ByMode(quick=1, full=2), "batch_size": 64}


def curves(context: InspectContext) -> Inspection:
    """A real inspection: the activation comparison's error curves, and a note naming the runs it read."""
    from genlab.plots.classifiers import comparison_error_figure

    runs = {r.point["activation"]: RunFolder(r.path).read_metrics() for r in context.runs("mlp-act")}
    figure = context.save_figure(
        comparison_error_figure(runs, "tiny comparison"), "curves.png", caption="error curves of the tiny comparison"
    )
    return Inspection(figures=[figure], notes=[f"read {len(runs)} runs"])


def tiny_build(data):
    on = {**TINY, "data": data[0]}
    return [
        Train("logreg", "logreg", "a logistic regression", on),
        Sweep(
            "mlp-act",
            "mlp",
            "two activations",
            grid(activation=["relu", "tanh"]),
            {**on, "hidden": (16,)},
            select="val_accuracy",
        ),
        Sweep(
            "mlp-width",
            "mlp",
            "two widths with the better activation",
            grid(hidden=[(8,), (16,)]),
            {**on, "activation": BestOf("mlp-act", "activation")},
        ),
        Inspect("curves", "error curves of the activation comparison", curves, uses=("mlp-act",)),
    ]


TINY_SUITE = Suite("tiny", "Tiny", "A test suite of four steps.", ("mnist-sample",), tiny_build)


def stamps(folder) -> dict[str, float]:
    """mtime of every summary.json and inspection record under `folder`."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime
        for p in [*folder.rglob("summary.json"), *folder.rglob("inspection.json")]
    }


def test_suite_runs_its_steps_reports_them_and_reuses_finished_work(tmp_path):
    out = tmp_path / "out"
    lines: list[str] = []
    result = run_suites([TINY_SUITE], out, quick=True, progress=False, log=lines.append)

    folder = out / "tiny"
    assert (folder / "logreg" / "summary.json").is_file()
    assert {p.name for p in (folder / "mlp-act").iterdir() if p.is_dir()} == {"activation=relu", "activation=tanh"}
    record = json.loads((folder / "suite.json").read_text())
    assert record["mode"] == "quick" and [s["name"] for s in record["steps"]] == [
        "logreg",
        "mlp-act",
        "mlp-width",
        "curves",
    ]
    assert record["steps"][0]["settings"]["epochs"] == 1  # the quick value of ByMode
    rows = record["results"]["rows"]
    assert len(rows) == 5 and record["results"]["columns"][:3] == ["step", "setting", "model"]

    # The width sweep ran with the activation that won on validation accuracy (first on a tie).
    outcomes = result.outcomes["tiny"]
    act_runs = outcomes["mlp-act"].runs
    best = max(act_runs, key=lambda r: (r.summary["val_accuracy"], -act_runs.index(r)))
    assert outcomes["mlp-act"].best is best
    for run in outcomes["mlp-width"].runs:
        saved = RunFolder(run.path).read_config()["config"]
        assert saved["activation"] == best.point["activation"]
    assert [r[-1] for r in rows if r[0] == "mlp-act"] == ["yes" if r is best else "" for r in act_runs]
    assert any("mlp-act: the best setting by val_accuracy is activation=" in n for n in record["notes"])
    assert (folder / "curves" / "curves.png").is_file()

    page = result.html.read_text()
    assert result.pdf.read_bytes().startswith(b"%PDF")
    assert "Suite tiny: Tiny (quick settings)" in page
    assert re.search(r"<figcaption>Figure \d+: error curves of the tiny comparison \(suite tiny, step curves\)", page)
    assert "read 2 runs" in page
    assert "results of suite tiny: one row per setting" in page
    # Runs keep the order of the suite's steps, not the alphabetical order of their folders.
    headings = re.findall(r"<h2 id=\"run-\d+[^\"]*\">Run \d+: (\w+) on", page)
    assert headings == ["logreg", "mlp", "mlp", "mlp", "mlp"]

    # Run again: nothing is retrained or redrawn.
    before = stamps(folder)
    lines.clear()
    run_suites([TINY_SUITE], out, quick=True, progress=False, log=lines.append)
    assert stamps(folder) == before
    assert "    run reused" in "\n".join(lines) and "2 runs: 2 reused" in "\n".join(lines)

    # As if interrupted during the width sweep: one of its runs and the inspection never happened.
    (folder / "mlp-width" / "hidden=16" / "summary.json").unlink()
    (folder / "curves" / "inspection.json").unlink()
    again = run_suites([TINY_SUITE], out, quick=True, progress=False, log=lines.append)
    after = stamps(folder)
    assert {k: v for k, v in after.items() if k in before and "hidden=16" not in k and "curves" not in k} == {
        k: v for k, v in before.items() if "hidden=16" not in k and "curves" not in k
    }
    # Its weights are there (state trained): it is finished from them, not retrained.
    assert [r.action for r in again.outcomes["tiny"]["mlp-width"].runs] == ["reused", "resumed"]
    assert again.outcomes["tiny"]["curves"].action == "written"


def test_an_interrupted_run_is_continued_from_its_checkpoint(tmp_path):
    from genlab.models.registry import get_model
    from genlab.train.reuse import ensure_run

    spec = get_model("logreg")
    short = spec.make_config(data="mnist-sample", limit=300, epochs=1)
    ensure_run(spec, short, tmp_path / "run", progress=False)
    # What a 2-epoch run stopped after its first epoch leaves: its config, a checkpoint, no summary.
    run = RunFolder(tmp_path / "run")
    record = run.read_config()
    run.write_config({**record["config"], "epochs": 2}, device=record["device"])
    (tmp_path / "run" / "summary.json").unlink()
    longer = spec.make_config(data="mnist-sample", limit=300, epochs=2)
    summary, action = ensure_run(spec, longer, tmp_path / "run", progress=False)
    assert action == "resumed" and summary["epochs"] == 2
    assert ensure_run(spec, longer, tmp_path / "run", progress=False)[1] == "reused"


def test_a_run_judged_by_a_retrained_judge_is_re_evaluated_not_retrained(tmp_path):
    import os

    def build(data):
        on = {"data": data[0], "limit": 300, "epochs": 1}
        return [
            Train("judge", "cnn", "", {**on, "batch_size": 64, "augment": "degrade", "max_label_distance": 1}),
            Train("gan", "gan", "", {**on, "judge": FolderOf("judge")}),
        ]

    suite = Suite("judged", "Judged", "", ("mnist-sample",), build)
    first = run_suites([suite], tmp_path, quick=True, progress=False, log=lambda line: None)
    gan = first.outcomes["judged"]["gan"].runs[0]
    assert gan.summary["judge"] == str((tmp_path / "judged" / "judge").resolve())
    weights = (gan.path / "weights.safetensors").stat().st_mtime
    summary = gan.path / "summary.json"
    # As if the judge had been retrained after the GAN finished.
    later = summary.stat().st_mtime + 10
    os.utime(tmp_path / "judged" / "judge" / "summary.json", (later, later))
    again = run_suites([suite], tmp_path, quick=True, progress=False, log=lambda line: None)
    assert [r.action for r in again.outcomes["judged"]["gan"].runs] == ["re-evaluated"]
    assert (gan.path / "weights.safetensors").stat().st_mtime == weights  # not retrained
    assert summary.stat().st_mtime > later - 10


def outcome(name: str, values: list[tuple[float, float]], select: str = "val_accuracy") -> Outcome:
    step = Sweep(name, "mlp", "", grid(activation=["relu", "tanh", "elu"][: len(values)]), select=select)
    runs = [
        RunOutcome(None, "mlp", {"activation": a}, {}, {"val_accuracy": v, "test_accuracy": t}, "trained")
        for a, (v, t) in zip(["relu", "tanh", "elu"], values)
    ]
    return Outcome(step, None, {}, runs=runs)


def test_choices_are_made_on_validation_numbers_never_test():
    outcomes = {"a": outcome("a", [(0.90, 0.99), (0.95, 0.80)]), "b": outcome("b", [(0.95, 0.97), (0.91, 0.99)])}
    assert best_run(("a",), outcomes).point == {"activation": "tanh"}  # best validation, worst test
    assert best_run(("a", "b"), outcomes) is outcomes["a"].runs[1]  # a tie goes to the earlier one
    with pytest.raises(GenlabError, match="select by a validation entry"):
        Sweep("s", "mlp", "", grid(activation=["relu"]), select="test_accuracy")


def test_every_suite_builds_valid_configs_in_both_modes():
    for suite in all_suites().values():
        for mode in ("quick", "full"):
            validate(suite, mode)


def test_a_bad_setting_fails_before_any_training(tmp_path):
    def build(data):
        return [
            Train("ok", "logreg", "", {"data": data[0], "epochs": 1}),
            Train("bad", "mlp", "", {"data": data[0], "lr": ByMode(quick=-1.0, full=0.1)}),
        ]

    with pytest.raises(GenlabError, match=r"--lr must be in \(0, inf\], got -1.0"):
        run_suites(
            [Suite("bad", "Bad", "", ("mnist-sample",), build)],
            tmp_path,
            quick=True,
            progress=False,
            log=lambda line: None,
        )
    assert not (tmp_path / "bad").exists()


def test_unknown_suite_is_a_one_line_error(capsys):
    assert_user_error(["suite", "nope", "--quick"], capsys, "unknown suite 'nope'; choose one of: classifiers", "all")
