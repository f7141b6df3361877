"""VAE training on real (small) MNIST: beta = 0 reconstructs, the ELBO improves, the run folder holds
every figure and number, the IWAE bound sits above the ELBO, and the inspection commands work."""

import json

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.models.registry import get_model
from genlab.models.stochastic_ae import figure_epochs, reconstruction_nll
from genlab.train import engine

FAST = {"data": "mnist-sample", "device": "cpu", "iwae_k": 20, "iwae_images": 100}


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    """A 2-D-latent VAE trained for 4 epochs on 1,000 images of the embedded MNIST sample."""
    spec = get_model("vae")
    config = spec.make_config(**FAST, limit=1000, epochs=4, latent_dim=2, lr=3e-3, seed=1)
    return engine.train(spec, config, out=tmp_path_factory.mktemp("vae") / "run", progress=False)


def test_vae_run_improves_its_elbo_and_writes_every_artefact(vae_run):
    events = vae_run.run.read_metrics()
    test_elbo = [e["elbo"] for e in events if e.get("event") == "eval" and e["split"] == "test"]
    assert len(test_elbo) == 4 and test_elbo[-1] > test_elbo[0] + 8, test_elbo
    assert all(later > earlier for earlier, later in zip(test_elbo, test_elbo[1:])), test_elbo
    train = [e for e in events if e.get("event") == "train"]
    assert {"loss", "elbo", "reconstruction", "kl"} <= set(train[0])

    summary = vae_run.summary
    for key in ("test_elbo", "test_reconstruction", "test_kl", "test_nll_iwae", "active_units", "seconds"):
        assert key in summary, key
    assert summary["test_elbo"] == pytest.approx(-(summary["test_reconstruction"] + summary["test_kl"]))
    assert summary["active_units"] in (1, 2) and summary["iwae_k"] == 20
    figures = {p.name for p in (vae_run.run.path / "figures").iterdir()}
    expected = {f"reconstructions_epoch_{e:03d}.png" for e in (1, 2, 4)}  # 3 of 4 epochs: --epoch-figures 3
    expected |= {"existing_reconstructed_new.png", "embedding.png", "loss.png", "manifold.png", "traversal.png"}
    assert expected <= figures, expected - figures


def test_epoch_figures_draw_a_geometric_selection_and_keep_every_array(tmp_path):
    spec = get_model("vae")
    config = spec.make_config(**{**FAST, "iwae_images": 20}, limit=200, epochs=5, epoch_figures=3)
    run = engine.train(spec, config, out=tmp_path / "run", progress=False).run
    drawn = sorted(p.name for p in (run.path / "figures").glob("reconstructions_epoch_*.png"))
    assert drawn == [f"reconstructions_epoch_{e:03d}.png" for e in (1, 2, 5)]
    assert len(list((run.path / "samples").glob("reconstructions_epoch_*.npy"))) == 5
    assert figure_epochs(list(range(1, 21)), 5) == [1, 2, 4, 9, 20]
    assert figure_epochs([1, 2, 3], None) == [1, 2, 3] and figure_epochs([1, 2, 3], 1) == [3]


def test_iwae_log_joint_sums_float32_pixels_as_float64_would(vae_run):
    """The bound's per-pixel terms run in float32 and their sum in float64: an all-float64 log joint
    of the same draws agrees to well under a hundredth of a nat."""
    loaded = engine.load_run(vae_run.run.path, device="cpu")
    family, model = loaded.family, loaded.model
    x = family.data.test.inputs(slice(0, 50))
    torch.manual_seed(3)
    with torch.no_grad():
        mean, logvar = model.posterior(x)
        z = mean + torch.randn(7, *mean.shape) * (0.5 * logvar).exp()
        logits = model.decoder(z.reshape(-1, z.shape[-1])).double().view(7, 50, -1)
        exact = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, x.flatten(1).double().expand_as(logits), reduction="none"
        ).sum(-1)
        fast = -reconstruction_nll(logits.float(), x.flatten(1), "bce", dtype=torch.float64)
    assert fast.dtype == torch.float64
    assert (fast - exact).abs().max() < 1e-3


def test_iwae_bound_is_above_the_elbo(vae_run):
    loaded = engine.load_run(vae_run.run.path, device="cpu")
    x = loaded.family.data.test.inputs(slice(0, 200))
    torch.manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack([loaded.family.log_likelihood(loaded.model, x, 1) for _ in range(10)]).mean(0)
        iwae = loaded.family.log_likelihood(loaded.model, x, 200)
    assert iwae.dtype == torch.float64
    assert iwae.mean() > elbo.mean() + 0.5  # a trained VAE leaves a visible gap; L_200 > L_1
    summary = vae_run.summary
    assert summary["test_nll_iwae"] < summary["test_nll_elbo"] - 0.5  # same images, same draws
    assert summary["test_nll_elbo"] == pytest.approx(-summary["test_elbo"], abs=10)  # 100 vs 500 images


def test_beta_zero_reconstructs_almost_perfectly(tmp_path):
    """Without the KL term the VAE is an autoencoder with shrinking noise: it memorises a small set."""
    spec = get_model("vae")
    config = spec.make_config(
        **FAST, limit=100, val_fraction=0.0, epochs=25, batch_size=10, lr=1e-2, beta=0.0, dropout=0.0, activation="relu"
    )
    result = engine.train(spec, config, out=tmp_path / "run", progress=False)
    loaded = engine.load_run(result.run.path, device="cpu")
    x = loaded.family.data.train.inputs()
    with torch.no_grad():
        error = (loaded.family.reconstruct(loaded.model, x) - x).abs().mean().item()
        mean_image_error = (x.mean(0, keepdim=True) - x).abs().mean().item()
    # mean absolute pixel error on the training images (values in [0, 1]); the mean image scores about 0.15
    assert error < 0.03 and error < mean_image_error / 5, (error, mean_image_error)


def test_kl_warmup_ramps_the_weight():
    spec = get_model("vae")
    from genlab.data.datasets import load_dataset

    data = load_dataset("mnist-sample", limit=200, val_fraction=0.0)
    family = spec.family(
        spec.make_config(data="mnist-sample", beta=2.0, kl_warmup=2, batch_size=50), data, torch.device("cpu")
    )
    weights = [family.rate_weight(step) for step in (0, 3, 7, 8, 100)]  # 4 steps per epoch, 8 to warm up
    assert weights == pytest.approx([0.25, 1.0, 2.0, 2.0, 2.0])


def test_sample_command_writes_images_and_a_grid(vae_run, tmp_path, capsys):
    out, grid = tmp_path / "s.npz", tmp_path / "s.png"
    main(
        [
            "sample",
            str(vae_run.run.path),
            "-n",
            "10",
            "-o",
            str(out),
            "--grid",
            str(grid),
            "--seed",
            "3",
            "--device",
            "cpu",
        ]
    )
    images = np.load(out)["images"]
    assert images.shape == (10, 1, 28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and grid.stat().st_size > 0
    again = tmp_path / "again.npz"
    main(["sample", str(vae_run.run.path), "-n", "10", "-o", str(again), "--seed", "3", "--device", "cpu"])
    np.testing.assert_array_equal(np.load(again)["images"], images)  # seeded


def test_traverse_command_writes_a_figure(vae_run, tmp_path, capsys):
    out = tmp_path / "t.png"
    main(["traverse", str(vae_run.run.path), "-o", str(out), "--image", "3", "--device", "cpu"])
    assert out.stat().st_size > 0


def test_capabilities_have_the_shared_shapes(vae_run):
    loaded = engine.load_run(vae_run.run.path, device="cpu")
    family, model = loaded.family, loaded.model
    x = family.data.test.inputs(slice(0, 5))
    with torch.no_grad():
        z = family.encode(model, x)
        decoded = family.decode(model, z)
        new = family.sample(model, 7)
    assert z.shape == (5, 2) and decoded.shape == (5, 1, 28, 28) and new.shape == (7, 1, 28, 28)
    assert 0 <= decoded.min() and decoded.max() <= 1


def test_conv_vae_trains(tmp_path):
    spec = get_model("conv-vae")
    config = spec.make_config(**FAST, limit=300, epochs=2, latent_dim=8)
    result = engine.train(spec, config, out=tmp_path / "run", progress=False)
    events = [e for e in result.run.read_metrics() if e.get("event") == "eval" and e["split"] == "test"]
    assert events[-1]["elbo"] > events[0]["elbo"]
    assert result.summary["test_nll_iwae"] > 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "vae", "--beta", "-1"], "--beta must be in [0, inf], got -1.0"),
        (["train", "vae", "--iwae-k", "0"], "--iwae-k must be in [1, inf], got 0"),
        (["train", "conv-vae", "--channels", "8"], "--channels takes two positive counts"),
    ],
)
def test_bad_vae_flags_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_sample_refuses_a_classifier_run_and_labels_for_an_unconditional_vae(vae_run, tmp_path, capsys):
    spec = get_model("logreg")
    run = engine.train(
        spec,
        spec.make_config(data="mnist-sample", limit=100, epochs=1, device="cpu"),
        out=tmp_path / "logreg",
        progress=False,
    ).run
    for argv, message in (
        (["sample", str(run.path), "-o", str(tmp_path / "x.npz")], "'logreg' runs have no sample step"),
        (
            ["sample", str(vae_run.run.path), "-o", str(tmp_path / "x.npz"), "--label", "3"],
            "'vae' runs are unconditional; drop --label",
        ),
        (["sample", str(vae_run.run.path), "-o", str(tmp_path / "x.npz"), "-n", "0"], "-n must be >= 1"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_summary_is_json_serialisable(vae_run):
    assert json.loads((vae_run.run.path / "summary.json").read_text())["model"] == "vae"
