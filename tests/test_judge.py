"""The judge: a stored classifier per dataset, trained on degraded images, that scores samples and counts
the ones it cannot recognise apart."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from gan_support import cache_at, mnist_sample_judge  # noqa: F401 (fixture)
from genlab.data.datasets import load_dataset
from genlab.data.degrade import TEST_DEGRADATIONS
from genlab.errors import GenlabError
from genlab.judge import (
    JUDGE_RECIPE,
    UNRECOGNISABLE,
    conditional_accuracy,
    label_distance,
    label_quality,
    load_judge,
    resolve_judge,
    sample_quality,
)
from genlab.models.registry import get_model
from genlab.train import engine
from helpers import assert_user_error

# The judge fixture is 4 epochs on mnist-sample (1,800 images); measured, its label histograms of blurred,
# noised and blurred-and-noised test images are 0.018-0.020 (total variation) from the true one, and a plain
# CNN trained the same way is 0.75 from it on blurred ones (it calls 423 of 500 "1").
DISTANCE_BOUND = 0.05


def test_a_judge_on_mnist_sample_quickly_becomes_accurate(mnist_sample_judge):
    cache, result = mnist_sample_judge
    assert result.summary["test_accuracy"] >= 0.95  # 4 epochs on 1,800 images
    with cache_at(cache):
        judge = load_judge("mnist-sample", device="cpu")
    test = load_dataset("mnist-sample", device="cpu").test
    predicted = judge.predict(test.inputs())
    assert (predicted == test.y.numpy()).mean() == pytest.approx(result.summary["test_accuracy"], abs=1e-9)
    assert judge.features(test.inputs()[:7]).shape[0] == 7


def test_the_judge_keeps_the_class_of_blurred_and_noised_digits_and_reports_its_calibration(mnist_sample_judge):
    cache, result = mnist_sample_judge
    summary = result.summary
    assert summary["judge_recipe"] == JUDGE_RECIPE
    assert 0 <= summary["test_calibration_error"] <= 0.05  # measured 0.026
    assert summary["degraded_label_distance_max"] <= DISTANCE_BOUND
    # Recomputed here from the stored judge, not read back from its summary.
    with cache_at(cache):
        judge = load_judge("mnist-sample", device="cpu")
    test = load_dataset("mnist-sample", device="cpu").test
    true = test.y.numpy()
    for name in ("blur", "noise", "blur_noise"):
        degraded = TEST_DEGRADATIONS[name](test.inputs(), torch.Generator().manual_seed(5))
        predicted = judge.predict(degraded)
        assert label_distance(predicted, true, 10) <= DISTANCE_BOUND, name
        assert (predicted == true).mean() >= 0.9, name
    assert all(
        record["accuracy"] >= 0.9
        for record in summary["degraded_test"]
        if record["degradation"] in ("blur", "noise", "blur_noise")
    )


def test_without_the_recipe_a_cnn_calls_blurred_digits_one(tmp_path):
    """What the degraded batches fix: the same CNN trained on clean images only."""
    spec = get_model("cnn")
    config = spec.make_config(data="mnist-sample", epochs=4, batch_size=64, device="cpu")
    model = engine.train(spec, config, out=tmp_path / "plain", progress=False).model.eval()
    test = load_dataset("mnist-sample", device="cpu").test
    with torch.no_grad():
        predicted = model(TEST_DEGRADATIONS["blur"](test.inputs(), None)).argmax(1).numpy()
    assert label_distance(predicted, test.y.numpy(), 10) > 0.3  # measured 0.75
    assert np.bincount(predicted, minlength=10).argmax() == 1


def test_sample_quality_counts_unrecognisable_samples_apart(mnist_sample_judge):
    cache, result = mnist_sample_judge
    with cache_at(cache):
        judge, note = resolve_judge("auto", "mnist-sample", device="cpu")
    assert judge.threshold == result.summary["unrecognisable_threshold"] and 0.2 < judge.threshold < 1
    test = load_dataset("mnist-sample", device="cpu").test
    quality = sample_quality(judge, test.inputs())
    # the threshold is the 1st percentile of real test images' top probability
    assert quality["sample_unrecognisable_share"] == pytest.approx(0.01, abs=0.003)
    assert quality["sample_class_entropy"] > 2.25  # real test images cover all ten digits
    assert quality["sample_mean_confidence"] > 0.85
    assert sum(quality["sample_class_histogram"]) == round(500 * (1 - quality["sample_unrecognisable_share"]))
    # blank images are no digit: all counted apart, and no entropy is made up for them
    blank = sample_quality(judge, torch.zeros(40, 1, 28, 28))
    assert blank["sample_unrecognisable_share"] == 1 and blank["sample_class_entropy"] is None
    assert sum(blank["sample_class_histogram"]) == 0
    # one repeated image: a collapsed "generator" has zero entropy
    collapsed = sample_quality(judge, np.repeat(test.inputs()[:1].numpy(), 50, axis=0))
    assert collapsed["sample_class_entropy"] == 0 and sum(collapsed["sample_class_histogram"]) == 50


def test_entropy_and_conditional_accuracy_are_of_the_recognisable_samples():
    labels = np.array([0, 0, 1, 1, UNRECOGNISABLE, UNRECOGNISABLE, 2, UNRECOGNISABLE])
    quality = label_quality(labels, np.full(8, 0.5), 3)
    assert quality["sample_class_histogram"] == [2, 2, 1]
    assert quality["sample_unrecognisable_share"] == 3 / 8
    shares = np.array([2, 2, 1]) / 5
    assert quality["sample_class_entropy"] == pytest.approx(-(shares * np.log(shares)).sum())
    requested = np.array([0, 1, 1, 1, 2, 2, 2, 0])
    overall, per_class = conditional_accuracy(labels, requested, 3)
    assert overall == pytest.approx(4 / 5) and per_class == pytest.approx([1.0, 2 / 3, 1.0])
    assert conditional_accuracy(np.full(3, UNRECOGNISABLE), np.arange(3), 3) == (None, [None, None, None])


def test_an_old_judge_is_refused_with_one_line_that_says_how_to_retrain(tmp_path, capsys, mnist_sample_judge):
    cache, result = mnist_sample_judge
    old = tmp_path / "judges" / "mnist-sample"
    shutil.copytree(result.run.path, old)
    summary = json.loads((old / "summary.json").read_text())
    for key in ("judge_recipe", "unrecognisable_threshold"):  # what a judge of the first recipe lacks
        summary.pop(key)
    (old / "summary.json").write_text(json.dumps(summary))
    with cache_at(tmp_path):  # a run judged automatically is kept, its summary saying how to judge it
        judge, note = resolve_judge("auto", "mnist-sample", device="cpu")
    assert judge is None and note.startswith("refused: ") and "is not a judge of recipe 2" in note
    assert note.endswith(
        "'genlab judge train --data mnist-sample --overwrite', then 'genlab evaluate RUN' to judge this run"
    )
    with pytest.raises(GenlabError, match="retrain it with 'genlab train cnn --augment degrade'"):
        load_judge(str(old), device="cpu")
    with cache_at(tmp_path):
        assert_user_error(
            [
                "compare",
                "mnist-sample:test[0:50]",
                "mnist-sample:test[50:100]",
                "-m",
                "fd",
                "--judge-data",
                "mnist-sample",
            ],
            capsys,
            "is not a judge of recipe 2",
            "genlab judge train --data mnist-sample --overwrite",
        )


def test_a_judge_that_fails_its_check_stops_training_with_one_line(tmp_path, capsys):
    assert_user_error(
        [
            "train",
            "cnn",
            "--data",
            "mnist-sample",
            "--limit",
            "200",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--augment",
            "degrade",
            "--max-label-distance",
            "0",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
        ],
        capsys,
        "the judge check failed",
        "above --max-label-distance 0",
    )
    assert not (tmp_path / "run" / "summary.json").exists()  # so it can never be loaded as a judge


def test_resolve_judge_choices(tmp_path, mnist_sample_judge):
    with cache_at(tmp_path):
        assert resolve_judge("auto", "mnist-sample") == (None, "none found; run genlab judge train --data mnist-sample")
    assert resolve_judge("none", "mnist-sample") == (None, "none (--judge none)")
    cache, _ = mnist_sample_judge
    with cache_at(cache), pytest.raises(GenlabError, match="classes differ"):
        resolve_judge("auto", "mnist-sample", classes=tuple("abcdefghij"), device="cpu")
