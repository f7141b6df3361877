"""Corruption processes, the 2-D toy datasets and `genlab corrupt`."""

import numpy as np
import pytest
import torch

from helpers import run_cli

from genlab.data.corruption import Corruption, parse_noise
from genlab.data.toy2d import sample_toy
from genlab.errors import GenlabError


@pytest.mark.parametrize(
    "text, expected",
    [
        ("gaussian:0.3", Corruption("gaussian", 0.3)),
        ("Gaussian:1e-1", Corruption("gaussian", 0.1)),
        ("salt-pepper:0.2", Corruption("salt-pepper", 0.2)),
        ("salt-and-pepper:0.2", Corruption("salt-pepper", 0.2)),
        ("mask:0.5", Corruption("mask", 0.5)),
        ("none", None),
        ("", None),
    ],
)
def test_parse_noise(text, expected):
    assert parse_noise(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("gauss", "does not parse"),
        ("blur:0.3", "does not parse"),
        ("gaussian:abc", "is not a number"),
        ("gaussian:-1", "std must be > 0"),
        ("mask:1.5", "probability must be in (0, 1]"),
        ("gaussian:inf", "finite"),
    ],
)
def test_parse_noise_rejects(text, fragment):
    with pytest.raises(GenlabError) as error:
        parse_noise(text)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_gaussian_noise_has_the_named_std():
    x = torch.zeros(200_000)
    noisy = Corruption("gaussian", 0.3).apply(x, generator=torch.Generator().manual_seed(0))
    assert abs(noisy.mean().item()) < 0.003
    assert noisy.std().item() == pytest.approx(0.3, rel=0.01)


def test_salt_and_pepper_hits_the_named_fraction_with_low_and_high_values():
    x = torch.full((200_000,), 0.5)
    noisy = Corruption("salt-pepper", 0.2).apply(x, low=0.0, high=1.0, generator=torch.Generator().manual_seed(0))
    changed = noisy != 0.5
    assert changed.float().mean().item() == pytest.approx(0.2, abs=0.005)
    assert set(noisy[changed].unique().tolist()) == {0.0, 1.0}
    assert (noisy == 0).float().mean().item() == pytest.approx(0.1, abs=0.005)


def test_salt_and_pepper_uses_per_coordinate_bounds():
    x = torch.zeros(50_000, 2)
    low, high = torch.tensor([-1.0, -5.0]), torch.tensor([2.0, 7.0])
    noisy = Corruption("salt-pepper", 1.0).apply(x, low=low, high=high, generator=torch.Generator().manual_seed(0))
    assert set(noisy[:, 0].unique().tolist()) == {-1.0, 2.0}
    assert set(noisy[:, 1].unique().tolist()) == {-5.0, 7.0}


def test_masking_zeroes_the_named_fraction():
    x = torch.ones(200_000)
    noisy = Corruption("mask", 0.3).apply(x, generator=torch.Generator().manual_seed(0))
    assert set(noisy.unique().tolist()) == {0.0, 1.0}
    assert (noisy == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)


def test_toy_datasets_lie_on_their_curves():
    parabola = sample_toy("parabola", 500, seed=1)
    np.testing.assert_allclose(parabola[:, 1], parabola[:, 0] ** 2)
    circle = sample_toy("circle", 500, seed=1)
    np.testing.assert_allclose(np.linalg.norm(circle, axis=1), 1.0)
    moons = sample_toy("two-moons", 501, seed=1)
    assert moons.shape == (501, 2)
    upper, lower = moons[:251], moons[251:]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0)
    np.testing.assert_array_equal(sample_toy("parabola", 10, seed=3), sample_toy("parabola", 10, seed=3))


def test_corrupt_command_writes_the_figure(tmp_path, capsys):
    target = tmp_path / "parabola.png"
    code, out, err = run_cli(
        ["corrupt", "--data", "parabola", "--noise", "gaussian:0.1", "-n", "300", "--out", str(target)], capsys
    )
    assert code == 0, err
    assert target.stat().st_size > 10_000
    assert str(target) in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "parabola", "--noise", "gaussian"], "--noise 'gaussian' does not parse"),
        (["--data", "spiral", "--noise", "gaussian:0.1"], "unknown 2-D dataset 'spiral'"),
        (["--data", "circle", "--noise", "mask:0.1", "-n", "0"], "-n must be >= 1"),
    ],
)
def test_corrupt_command_bad_input(args, message, capsys, tmp_path):
    code, out, err = run_cli(["corrupt", *args, "--out", str(tmp_path / "x.png")], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
