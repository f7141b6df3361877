"""The judge: a stored classifier per dataset that scores generated samples."""

from __future__ import annotations

import numpy as np
import pytest

from gan_support import cache_at, mnist_sample_judge  # noqa: F401 (fixture)
from genlab.data.datasets import load_dataset
from genlab.errors import GenlabError
from genlab.judge import load_judge, resolve_judge, sample_quality


def test_a_judge_on_mnist_sample_quickly_becomes_accurate(mnist_sample_judge):
    cache, result = mnist_sample_judge
    assert result.summary["test_accuracy"] >= 0.93  # 4 epochs on 1,800 images
    with cache_at(cache):
        judge = load_judge("mnist-sample", device="cpu")
    test = load_dataset("mnist-sample", device="cpu").test
    predicted = judge.predict(test.inputs())
    assert (predicted == test.y.numpy()).mean() == pytest.approx(result.summary["test_accuracy"], abs=1e-9)
    assert judge.features(test.inputs()[:7]).shape[0] == 7


def test_sample_quality_of_real_images_is_diverse_and_confident(mnist_sample_judge):
    cache, _ = mnist_sample_judge
    with cache_at(cache):
        judge, note = resolve_judge("auto", "mnist-sample", device="cpu")
    test = load_dataset("mnist-sample", device="cpu").test
    quality = sample_quality(judge, test.inputs())
    assert quality["sample_class_entropy"] > 2.25  # real test images cover all ten digits
    assert quality["sample_mean_confidence"] > 0.85
    # one repeated image: a collapsed "generator" has zero entropy
    collapsed = sample_quality(judge, np.repeat(test.inputs()[:1].numpy(), 50, axis=0))
    assert collapsed["sample_class_entropy"] == 0 and sum(collapsed["sample_class_histogram"]) == 50


def test_resolve_judge_choices(tmp_path, mnist_sample_judge):
    with cache_at(tmp_path):
        assert resolve_judge("auto", "mnist-sample") == (None, "none found; run genlab judge train --data "
                                                                "mnist-sample")
    assert resolve_judge("none", "mnist-sample") == (None, "none (--judge none)")
    cache, _ = mnist_sample_judge
    with cache_at(cache), pytest.raises(GenlabError, match="classes differ"):
        resolve_judge("auto", "mnist-sample", classes=tuple("abcdefghij"), device="cpu")
