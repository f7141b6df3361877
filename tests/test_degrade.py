"""Degradations that keep a digit's class (genlab.data.degrade) and the cnn's --augment degrade."""

from __future__ import annotations

import torch

from genlab.data.datasets import load_dataset
from genlab.data.degrade import MAX_SHIFT, TEST_DEGRADATIONS, box_blur, random_degradation, shift, thicken, thin
from genlab.models.registry import get_model
from genlab.train import engine


def digits(n: int = 64) -> torch.Tensor:
    return load_dataset("mnist-sample", device="cpu").test.inputs(slice(0, n))


def test_shift_moves_each_image_by_its_own_whole_pixels_and_fills_in_background():
    x = digits(3)
    moved = shift(x, torch.tensor([2, 0, -1]), torch.tensor([0, -2, 1]))
    assert torch.equal(moved[0, 0, 2:], x[0, 0, :-2]) and (moved[0, 0, :2] == 0).all()
    assert torch.equal(moved[1, 0, :, :-2], x[1, 0, :, 2:]) and (moved[1, 0, :, -2:] == 0).all()
    assert torch.equal(moved[2, 0, :-1, 1:], x[2, 0, 1:, :-1])


def test_thickness_and_blur_change_strokes_as_named():
    x = digits()
    assert (thicken(x) >= x).all() and (thin(x) <= x).all()
    assert thicken(x).sum() > 1.3 * x.sum() and thin(x).sum() < 0.7 * x.sum()
    # a 3x3 box blur keeps the ink of digits away from the border and spreads it over more pixels
    assert torch.allclose(box_blur(x).sum(), x.sum(), rtol=1e-4)
    assert (box_blur(x) > 0).sum() > 1.3 * (x > 0).sum()


def test_random_degradation_is_seeded_in_range_and_varied():
    x = digits()
    first = random_degradation(x, torch.Generator().manual_seed(3))
    assert torch.equal(first, random_degradation(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, random_degradation(x, torch.Generator().manual_seed(4)))
    assert first.shape == x.shape and first.min() >= 0 and first.max() <= 1
    changed = (first != x).flatten(1).any(1).float().mean()
    assert 0.8 < changed < 1  # about 1/16 of the images stay clean
    for name, degrade in TEST_DEGRADATIONS.items():
        out = degrade(x, torch.Generator().manual_seed(0))
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1, name
    assert MAX_SHIFT == 2


def test_training_on_degraded_batches_is_bit_repeatable(tmp_path):
    spec = get_model("cnn")
    config = spec.make_config(
        data="mnist-sample", limit=200, epochs=1, batch_size=32, device="cpu", augment="degrade", max_label_distance=1.0
    )

    def weights(folder):
        model = engine.train(spec, config, out=folder, progress=False).model
        return [p.detach().clone() for p in model.parameters()]

    assert all(torch.equal(p, q) for p, q in zip(weights(tmp_path / "a"), weights(tmp_path / "b")))
