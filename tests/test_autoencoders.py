"""Autoencoders on real data (mnist-sample): learning, denoising, skip connections, interpolation,
compare-runs, PCA vs the linear autoencoder, and bad input."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import run_cli

from genlab.latent.interpolate import lerp, slerp
from genlab.latent.pca_linear import compare_pca_linear_ae
from genlab.models.autoencoders import ConvAutoencoder, MLPAutoencoder
from genlab.models.registry import get_model
from genlab.train import engine


def train(model, out, **settings):
    spec = get_model(model)
    return engine.train(spec, spec.make_config(data="mnist-sample", **settings), out=out, progress=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """conv-ae, skip-ae and a denoising conv-ae at equal settings: 2 epochs on mnist-sample's 1,800 images."""
    root = tmp_path_factory.mktemp("autoencoder-runs")
    settings = {"epochs": 2, "evals_per_epoch": 1}
    return {
        "conv": train("conv-ae", root / "conv", **settings),
        "skip": train("skip-ae", root / "skip", **settings),
        "denoise": train("conv-ae", root / "denoise", noise="gaussian:0.3", **settings),
    }


def test_conv_ae_learns_an_embedding(runs):
    result = runs["conv"]
    summary = result.summary
    # Chance is 10%; two epochs on 1,800 images already separate several digits.
    assert summary["latent_knn_accuracy"] > 0.3
    assert -1 <= summary["latent_silhouette"] <= 1 and summary["seconds"] > 0
    losses = [e["loss"] for e in result.run.read_metrics() if e["event"] == "train"]
    assert losses[-1] < 0.6 * losses[0]
    for name in ("reconstructions.png", "embedding.png", "loss.png"):
        assert (result.run.path / "figures" / name).stat().st_size > 5_000


def test_skip_connections_reconstruct_better_at_equal_epochs(runs):
    skip, conv = runs["skip"].summary, runs["conv"].summary
    assert skip["test_reconstruction_mse"] < 0.5 * conv["test_reconstruction_mse"]


def test_denoising_run_reports_both_comparisons_and_shows_the_corrupted_row(runs):
    summary = runs["denoise"].summary
    assert summary["noise"] == "gaussian:0.3"
    # Unclipped N(0, 0.3^2) noise: the corrupted input is 0.09 per pixel from the clean image.
    assert summary["test_corrupted_input_mse"] == pytest.approx(0.09, rel=0.02)
    # The reconstruction is nearer the clean image than the noisy input it was given.
    assert summary["test_reconstruction_mse"] < summary["test_reconstruction_mse_vs_corrupted"]
    assert summary["test_reconstruction_mse"] < summary["test_corrupted_input_mse"]
    assert "test_reconstruction_mse_clean_input" in summary
    heights = {
        name: Image.open(runs[name].run.path / "figures" / "reconstructions.png").size[1]
        for name in ("denoise", "conv")
    }
    assert heights["denoise"] > 1.25 * heights["conv"]  # a third row: the corrupted inputs


def test_default_mlp_autoencoder_layout():
    model = MLPAutoencoder((1, 28, 28), (1000, 500, 250), 2, "tanh", "sigmoid")
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (784, 1000),
        (1000, 500),
        (500, 250),
        (250, 2),
        (2, 250),
        (250, 500),
        (500, 1000),
        (1000, 784),
    ]
    assert isinstance(model.encoder[-1], torch.nn.Linear)  # no activation into the bottleneck
    assert isinstance(model.decoder[0], torch.nn.Linear)  # the code enters the decoder unchanged
    assert isinstance(model.decoder[-2], torch.nn.Sigmoid)
    x = torch.rand(3, 1, 28, 28)
    reconstruction, z = model(x)
    assert reconstruction.shape == x.shape and z.shape == (3, 2)


def test_relu4_preset():
    config = get_model("ae-relu4").default_config()
    assert config.activation == "relu" and config.lr == 1e-3 and config.optimizer == "adam"
    model = MLPAutoencoder((784,), config.hidden, config.latent_dim, config.activation, "sigmoid")
    assert sum(isinstance(m, torch.nn.Linear) for m in model.encoder) == 4
    assert sum(isinstance(m, torch.nn.Linear) for m in model.decoder) == 4
    assert isinstance(model.encoder[-1], torch.nn.Linear) and isinstance(model.decoder[0], torch.nn.Linear)


@pytest.mark.parametrize("skip", [False, True])
def test_conv_autoencoder_shapes(skip):
    model = ConvAutoencoder(latent_dim=3, skip=skip)
    x = torch.rand(4, 1, 28, 28)
    pooled1, pooled2 = model.features(x)
    assert pooled1.shape == (4, 4, 14, 14) and pooled2.shape == (4, 8, 7, 7)
    reconstruction, z = model(x)
    assert reconstruction.shape == x.shape and z.shape == (4, 3)
    assert 0 < reconstruction.min() and reconstruction.max() < 1
    assert [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)] == [
        (392, 20),
        (20, 3),
        (3, 20),
        (20, 392),
    ]


def test_lerp_and_slerp():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    t = np.linspace(0, 1, 5)
    for path in (lerp(a, b, t), slerp(a, b, t)):
        np.testing.assert_allclose(path[0], a)
        np.testing.assert_allclose(path[-1], b, atol=1e-12)
    arc = slerp(a, b, t)
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 2.0)  # stays on the sphere
    np.testing.assert_allclose(np.degrees(np.arctan2(arc[:, 1], arc[:, 0])), [0, 22.5, 45, 67.5, 90])
    np.testing.assert_allclose(np.linalg.norm(lerp(a, b, t), axis=1)[2], np.sqrt(2))  # cuts inside
    np.testing.assert_allclose(slerp(a, 3 * a, t), lerp(a, 3 * a, t))  # parallel: the line


def test_interpolate_between_classes(runs, capsys):
    run = runs["conv"].run.path
    code, out, err = run_cli(["interpolate", str(run), "--from", "class:3", "--to", "class:8", "--steps", "7"], capsys)
    assert code == 0, err
    strips = sorted((run / "figures").glob("interpolation-*.png"))
    assert len(strips) == 2 and all(p.stat().st_size > 5_000 for p in strips)
    code, out, err = run_cli(["interpolate", str(run), "--from", "0", "--to", "1", "--steps", "4", "--slerp"], capsys)
    assert code == 0, err
    assert (run / "figures" / "interpolation-0-1-slerp-embedding.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "500", "--to", "1"], "--from 500 is out of range: the test set has 500 examples (indices 0..499)"),
        (["--from", "1", "--to", "class:12"], "--to class:12: class index out of range; use 0..9 or a class name"),
        (["--from", "one", "--to", "1"], "--from 'one' is neither a test-set index nor class:K"),
        (["--from", "1", "--to", "2", "--steps", "1"], "--steps must be >= 2"),
    ],
)
def test_interpolate_bad_input(runs, args, message, capsys):
    code, out, err = run_cli(["interpolate", str(runs["conv"].run.path), *args], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_interpolate_refuses_a_decoder_that_needs_skip_connections(runs, capsys):
    code, out, err = run_cli(["interpolate", str(runs["skip"].run.path), "--from", "0", "--to", "1"], capsys)
    assert code == 2
    assert "'skip-ae' runs have no decode step, which 'interpolate' needs" in err


def test_compare_runs(runs, tmp_path, capsys):
    classifier = engine.train(
        get_model("logreg"),
        get_model("logreg").make_config(data="mnist-sample", epochs=1),
        out=tmp_path / "logreg",
        progress=False,
    )
    paths = [str(runs[name].run.path) for name in ("conv", "skip", "denoise")]
    code, out, err = run_cli(["compare-runs", *paths, str(classifier.run.path), "-o", str(tmp_path / "cmp")], capsys)
    assert code == 0, err
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 20_000
    table = (tmp_path / "cmp" / "compare.md").read_text()
    assert table.splitlines()[0] == "| entry | conv | skip | denoise | logreg |"
    row = next(line for line in table.splitlines() if line.startswith("| test_reconstruction_mse |"))
    assert row.endswith("| - |")  # the classifier has no such entry
    stored = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert stored["denoise"]["summary"]["noise"] == "gaussian:0.3"


def test_linear_autoencoder_finds_the_pca_subspace(tmp_path):
    """A 3-D signal in 12 dimensions (variances 9, 6, 4) plus weak isotropic noise (0.01)."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(12, 3)))
    x = (rng.normal(size=(800, 3)) * [3.0, 2.45, 2.0]) @ basis.T + 0.1 * rng.normal(size=(800, 12))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", (x @ basis[:, 0] > 0).astype(int))
    result = compare_pca_linear_ae(
        str(tmp_path / "x.npy"),
        3,
        out=tmp_path / "out",
        epochs=25,
        lr=1e-2,
        batch_size=64,
        labels=str(tmp_path / "y.npy"),
        progress=False,
    )
    assert result.largest_angle_deg < 3.0
    assert result.linear_ae_test_mse == pytest.approx(result.pca_test_mse, rel=0.1)
    assert (tmp_path / "out" / "pca_vs_linear_ae.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "conv-ae", "--latent-dim", "0"], "--latent-dim must be in [1, inf], got 0"),
        (["train", "ae", "--noise", "gaussian0.3"], "--noise 'gaussian0.3' does not parse"),
        (["train", "skip-ae", "--noise", "mask:2"], "the mask probability must be in (0, 1], got 2"),
        (["train", "ae", "--loss", "l1"], "--loss must be one of mse, bce; got 'l1'"),
        (["pca-vs-linear-ae", "--latent-dim", "0"], "--latent-dim must be >= 1, got 0"),
    ],
)
def test_bad_autoencoder_options(args, message, capsys):
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
