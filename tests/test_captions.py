"""Figures and numbers explain themselves at the source: every figure a run draws is saved with a caption
(figures/index.json), every summary entry with a meaning (meanings.json), and the report reads them from the
run folder; a caption names the splits and quantities of its figure's legend; notes of metrics reach
inspection.json and the report; run folders written before the index still report, from the old tables."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.report.captions import FIGURES
from genlab.report.collect import collect
from genlab.report.document import build_document
from genlab.train.runfolder import RunFolder

TINY = ["--data", "mnist-sample", "--epochs", "1", "--limit", "300", "-q"]
# One quick run of every family (a denoising autoencoder and echo noise included), then the inspections
# that draw into a run folder.
TRAININGS = {
    "logreg": ["train", "logreg"],
    "cnn": ["train", "cnn"],
    "ae": ["train", "ae", "--latent-dim", "2"],
    "dae": ["train", "ae", "--noise", "gaussian:0.3"],
    "vae": ["train", "vae", "--latent-dim", "2", "--iwae-images", "50", "--iwae-k", "5"],
    "echo": ["train", "echo-ae"],
    "gan": ["train", "gan", "--judge", "none"],
}
SPLIT_WORDS = ("training", "validation", "test", "held-out")


def _call(args: list[str]) -> str:
    """`genlab ARGS` in this process (a module fixture cannot use capsys); what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            main(args)
        except SystemExit as done:
            assert done.code in (0, None), f"genlab {' '.join(args)} exited {done.code}"
    return buffer.getvalue()


def _legend_labels(figure) -> list[str]:
    legends = [axis.get_legend() for axis in figure.axes] + list(figure.legends)
    return [text.get_text() for legend in legends if legend is not None for text in legend.get_texts()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(runs folder, [(figure file, caption, legend labels) of every figure saved]) of the quick runs."""
    root = tmp_path_factory.mktemp("captions")
    saved: list[tuple[str, str, list[str]]] = []
    original = RunFolder.save_figure

    def recording(self, figure, name, caption, folder="figures", report=True):
        saved.append((f"{self.path.name}/{name}", caption, _legend_labels(figure)))
        return original(self, figure, name, caption, folder, report)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_CACHE", str(root / "cache"))
        patch.setattr(RunFolder, "save_figure", recording)
        for name, args in TRAININGS.items():
            _call([*args, *TINY, "-o", str(root / "runs" / name)])
        _call(["interpolate", str(root / "runs" / "vae"), "--from", "0", "--to", "1", "--steps", "5"])
        gan = str(root / "runs" / "gan")
        _call(["invert", gan, "--images", "0:2", "--restarts", "2", "--steps", "5"])
        _call(["path", gan, "--from", "0", "--to", "1", "--points", "2", "--steps", "3", "--restarts", "1"])
    return root / "runs", saved


def _document(folder):
    found_runs, sweeps = collect([folder])
    return found_runs, build_document(found_runs, sweeps, [folder])


def test_every_figure_has_a_caption_that_is_not_its_file_stem_and_every_number_a_meaning(runs):
    folder, saved = runs
    found, document = _document(folder)
    assert {run.model for run in found} == {"logreg", "cnn", "ae", "vae", "echo-ae", "gan"}
    figures = document.figures()
    # Every figure drawn is in the report once, except the GAN's per-epoch grids (progress.png shows them).
    shown = [f for f, _, _ in saved if "/epoch_" not in f]
    assert len(figures) == len(shown) and len({f.path for f in figures}) == len(figures)
    assert any(f.path.name == "inversion_test.png" for f in figures)
    assert any(f.path.name.startswith("path_0_1") for f in figures)
    assert any(f.path.name.endswith("-embedding.png") for f in figures)
    for figure in figures:
        text = re.sub(r"^Figure \d+: ", "", figure.caption)
        stem_words = re.sub(r"[_\-]+", " ", figure.path.stem).strip()
        assert not text.startswith(stem_words + " ("), figure.caption
        # The caption is the one its code gave, not the fallback table's.
        index = RunFolder(figure.path.parents[1]).path / figure.path.parent.name / "index.json"
        assert json.loads(index.read_text())[figure.path.name]["caption"] in text

    for run in found:  # every entry described where it was computed, not by the old tables' fallback
        assert set(run.summary) <= set(run.meanings), f"{run.label}: {set(run.summary) - set(run.meanings)}"
    numbers = [t for t in document.tables() if t.columns == ["entry", "value", "meaning"]]
    assert len(numbers) == len(found)
    for table in numbers:
        for entry, _, meaning in table.rows:
            assert meaning, f"{entry} has no meaning in {table.caption}"
    # Units and the direction of better come from meanings.json too.
    vae = next(t for t in numbers if "run vae" in t.caption)
    elbo = next(row for row in vae.rows if row[0] == "test_elbo")
    assert (
        elbo[2]
        == "mean evidence lower bound, single-sample estimate, on the test split (nats per image; higher is better)"
    )


def test_each_caption_names_the_splits_and_quantities_of_its_legend(runs):
    _, saved = runs
    checked = 0
    for name, caption, labels in saved:
        lower = caption.lower()
        for label in labels:
            if label.isdigit():  # a class of an embedding's legend: the caption says it is coloured by class
                assert "class" in lower or "label" in lower, (name, caption)
                continue
            text = label.lower()
            for split in SPLIT_WORDS:
                if split in text:
                    assert split in lower, f"{name}: legend '{label}' names {split}, caption: {caption}"
            words = [w for w in re.findall(r"[a-z]{4,}", text) if w not in SPLIT_WORDS]
            if words:
                assert any(w in lower for w in words), f"{name}: legend '{label}' not named in: {caption}"
            else:
                assert text in lower, f"{name}: legend '{label}' not named in: {caption}"
            checked += 1
    assert checked >= 20  # the check did read legends: error, loss, ELBO, GAN and path curves


def test_a_caption_follows_the_splits_a_run_has(tmp_path):
    """Without a validation split the error curves are training and test only, and the caption says so."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
        _call(["train", "logreg", *TINY, "--val-fraction", "0", "-o", str(tmp_path / "run")])
    index = json.loads((tmp_path / "run" / "figures" / "index.json").read_text())
    assert index["error_curves.png"]["caption"].startswith("training and test error (1 - accuracy)")


def test_an_old_run_folder_without_index_or_meanings_reports_from_the_old_tables(runs, tmp_path):
    folder, _ = runs
    old = tmp_path / "old"
    shutil.copytree(folder / "logreg", old)
    (old / "figures" / "index.json").unlink()
    (old / "meanings.json").unlink()
    found, document = _document(old)
    assert found[0].meanings is None
    captions = [re.sub(r"^Figure \d+: ", "", f.caption) for f in document.figures()]
    assert captions[0].startswith(FIGURES[0][1])  # "training and test error ...", the table's
    numbers = next(t for t in document.tables() if t.columns == ["entry", "value", "meaning"])
    meanings = {row[0]: row[2] for row in numbers.rows}
    assert meanings["test_accuracy"] == "fraction of examples classified correctly, on the test split"

    # `genlab evaluate` recomputes the family's entries with their meanings and keeps the training facts,
    # which the old table still explains.
    _call(["evaluate", str(old)])
    recorded = RunFolder(old).read_meanings()
    assert "test_accuracy" in recorded and "seconds" not in recorded
    numbers = next(t for t in _document(old)[1].tables() if t.columns == ["entry", "value", "meaning"])
    meanings = {row[0]: row[2] for row in numbers.rows}
    assert meanings["test_accuracy"].endswith("(higher is better)")
    assert meanings["seconds"].startswith("wall-clock training time")


def test_notes_of_metrics_reach_inspection_json_and_the_report(tmp_path):
    """A kNN KL that is infinite because the supports differ keeps its note all the way to the report."""
    from genlab.metrics.compare import compare
    from genlab.metrics.sets import load_set
    from genlab.suites.divergence_tables import divergence_table
    from genlab.suites.run import Suite, run_suites
    from genlab.suites.steps import Inspect, Inspection, Train

    def distances(context) -> Inspection:
        result = compare(load_set("uniform:2", n=300, name="A"), load_set("normal:2", n=300, seed=1, name="B"), ("kl",))
        rows = [row.to_dict() for row in result.rows]
        return Inspection(tables=[divergence_table("KL between a uniform and a normal sample", {"U vs N": rows})])

    suite = Suite(
        "notes",
        "Notes",
        "One comparison whose kNN KL is infinite.",
        ("mnist-sample",),
        lambda data: [
            # A report needs a run; the smallest one.
            Train("logreg", "logreg", "a run to report", {"data": "mnist-sample", "limit": 300, "epochs": 1}),
            Inspect("kl", "the KL of a uniform and a normal sample", distances),
        ],
    )
    result = run_suites([suite], tmp_path / "out", quick=True, progress=False, log=lambda line: None)
    record = json.loads((tmp_path / "out" / "notes" / "kl" / "inspection.json").read_text())
    notes = record["tables"][0]["notes"]
    assert any("= inf: " in note and "infinite" in note for note in notes), notes
    page = result.html.read_text()
    for note in notes:
        assert note.split(": ", 1)[1].rstrip(".") in page.replace("&#x27;", "'")


def test_judge_numbers_have_meanings_where_they_are_computed():
    """The judge's entries (which a GAN's summary and a judge's own carry) are described beside the code."""
    from genlab.data.datasets import load_dataset
    from genlab.judge import ASSESSMENT_MEANINGS, QUALITY_MEANINGS, assess, conditional_accuracy, label_quality

    labels, confidence = np.array([0, 1, 1, -1, 2]), np.array([0.9, 0.8, 0.7, 0.1, 0.95])
    assert set(label_quality(labels, confidence, 3)) <= set(QUALITY_MEANINGS)
    assert conditional_accuracy(labels, np.array([0, 1, 2, 0, 2]), 3)[0] is not None
    assert {"conditional_accuracy", "conditional_accuracy_per_class"} <= set(QUALITY_MEANINGS)
    test = load_dataset("mnist-sample", limit=200, device="cpu").test
    weights = torch.randn(784, 10, generator=torch.Generator().manual_seed(0))
    report = assess(lambda x: torch.softmax(x.flatten(1) @ weights, 1), test, 10)
    assert set(report) <= set(ASSESSMENT_MEANINGS)
