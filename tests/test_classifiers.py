"""Classifiers learn on real MNIST, and write their figures and summary."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from conftest import needs_shared_data
from genlab.gradcheck import check_gradients
from genlab.models.classifiers import ACTIVATIONS, MLP, LogisticRegression
from genlab.models.registry import get_model
from genlab.train import engine


@needs_shared_data
def test_logreg_reaches_85_percent_on_mnist(tmp_path):
    spec = get_model("logreg")
    result = engine.train(spec, spec.make_config(data="mnist", epochs=3), out=tmp_path / "run", progress=False)
    assert result.summary["test_accuracy"] >= 0.85
    figures = {p.name for p in (tmp_path / "run" / "figures").glob("*.png")}
    assert figures == {"error_curves.png", "confusion_matrix.png"}
    captions = json.loads((tmp_path / "run" / "figures" / "index.json").read_text())
    assert set(captions) == figures and all(entry["caption"] for entry in captions.values())


@needs_shared_data
def test_cnn_reaches_95_percent_on_mnist(tmp_path):
    spec = get_model("cnn")
    config = spec.make_config(data="mnist", epochs=3, batch_size=64)
    result = engine.train(spec, config, out=tmp_path / "run", progress=False)
    assert result.summary["test_accuracy"] >= 0.95
    assert (tmp_path / "run" / "figures" / "filters.png").exists()
    assert result.summary["most_confused"][0]["count"] > 0


def test_two_conv_cnn_has_40_first_layer_filters_and_learns(tmp_path):
    spec = get_model("cnn")
    config = spec.make_config(data="mnist-sample", arch="cnn-two-conv", epochs=1, lr=2e-3, schedule="constant")
    result = engine.train(spec, config, out=tmp_path / "run", progress=False)
    assert result.model.first_layer_filters().shape == (40, 1, 3, 3)
    assert result.summary["test_accuracy"] > 0.6


def test_logreg_starts_from_zero_and_its_gradient_matches_finite_differences():
    model = LogisticRegression(6, 3).double()
    assert model.weight.abs().sum() == 0 and model.bias.abs().sum() == 0
    torch.manual_seed(0)
    with torch.no_grad():
        model.weight.normal_()
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])
    check_gradients(lambda: F.cross_entropy(model(x), y), list(model.parameters()))
    assert torch.allclose(model.probabilities(x).sum(1), torch.ones(5, dtype=torch.float64))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_mlp_activation_gives_correct_gradients(activation):
    torch.manual_seed(0)
    model = MLP(4, (5, 3), activation, 2).double()
    x, y = torch.randn(3, 4, dtype=torch.float64), torch.tensor([0, 1, 1])
    assert check_gradients(lambda: F.cross_entropy(model(x), y), list(model.parameters())) < 1e-8
