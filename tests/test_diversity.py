"""Within-class diversity: generated spread over real spread, per class."""

from __future__ import annotations

import pytest
import torch

from genlab.data.datasets import load_dataset
from genlab.metrics.diversity import within_class_diversity


@pytest.fixture(scope="module")
def test_split():
    return load_dataset("mnist-sample", device="cpu").test


def test_real_images_are_as_varied_as_real_images(test_split):
    x, y = test_split.inputs(), test_split.y
    half = len(y) // 2
    mean, per_class = within_class_diversity(x[:half], y[:half], x[half:], y[half:], 10)
    assert mean == pytest.approx(1.0, abs=0.05)
    assert all(r == pytest.approx(1.0, abs=0.15) for r in per_class)


def test_one_image_per_class_has_no_diversity_and_a_lone_image_no_ratio(test_split):
    x, y = test_split.inputs(), test_split.y
    firsts = torch.stack([x[y == k][0] for k in range(10)])
    collapsed = firsts.repeat_interleave(20, dim=0)  # 20 copies of one image per class ...
    labels = torch.arange(10).repeat_interleave(20)
    collapsed, labels = collapsed[:-19], labels[:-19]  # ... except class 9, drawn once
    mean, per_class = within_class_diversity(collapsed, labels, x, y, 10)
    assert per_class[:9] == [0.0] * 9 and per_class[9] is None
    assert mean == 0.0
