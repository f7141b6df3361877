"""GAN family: losses, the training step, artefacts, conditional sampling, WGAN-GP."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

from genlab.cli import main
from genlab.data.datasets import load_dataset
from genlab.errors import GenlabError
from genlab.models.gan_losses import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    mode_seeking_penalty,
    path_speed_penalty,
)
from genlab.models.gan_networks import minibatch_std
from genlab.models.registry import get_model
from genlab.train import engine
from gan_support import mnist_sample_judge, trained_cgan, trained_gan  # noqa: F401 (fixtures)

FAST = {"data": "mnist-sample", "device": "cpu", "epochs": 2, "batch_size": 256}


def test_binary_losses_match_their_formulas():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -0.5 * torch.log(d_real).mean() - 0.5 * torch.log(1 - d_fake).mean()
    assert discriminator_loss("non-saturating", real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert discriminator_loss("minimax", real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert generator_loss("non-saturating", fake).item() == pytest.approx(
        (-0.5 * torch.log(d_fake).mean()).item(), rel=1e-6
    )
    assert generator_loss("minimax", fake).item() == pytest.approx(
        (0.5 * torch.log(1 - d_fake).mean()).item(), rel=1e-6
    )
    assert discriminator_loss("wasserstein-gp", real, fake).item() == pytest.approx(fake.mean() - real.mean())
    assert generator_loss("wasserstein-gp", fake).item() == pytest.approx(-fake.mean().item())
    # Stable where the naive formula overflows: a confident discriminator on logits of +-100.
    assert math.isfinite(discriminator_loss("non-saturating", torch.tensor([-100.0]), torch.tensor([100.0])).item())


def test_gradient_penalty_of_a_linear_critic_is_known_exactly():
    """C(x) = <w, x> + b has gradient w everywhere, so the penalty is (||w|| - 1)^2."""
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 1))
    real, fake = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    expected = (critic[1].weight.norm() - 1) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_penalty_uses_one_interpolation_per_sample():
    """Against a per-sample hand computation with the same interpolation coefficients."""
    torch.manual_seed(1)
    critic = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Softplus(), torch.nn.Flatten(), torch.nn.Linear(4 * 28 * 28, 1)
    )
    real, fake = torch.rand(5, 1, 28, 28), torch.rand(5, 1, 28, 28)
    value = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(5, 1, 1, 1, generator=torch.Generator().manual_seed(7))
    by_hand = []
    for i in range(5):
        point = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(point).sum(), point)
        by_hand.append((grad.norm() - 1) ** 2)
    assert value.item() == pytest.approx(torch.stack(by_hand).mean().item(), rel=1e-5)


def test_minibatch_std_keeps_the_parts_of_a_joint_batch_and_the_classes_apart():
    varied = torch.tensor([[0.0, 2.0], [2.0, 0.0]])  # std 1 in both features
    collapsed = torch.ones(3, 2, requires_grad=True)  # a generator that always draws the same image
    feature = minibatch_std(torch.cat([varied, collapsed]), parts=(2, 3)).squeeze(1)
    assert feature.tolist() == pytest.approx([1.0, 1.0, 1e-4, 1e-4, 1e-4])
    feature.sum().backward()
    assert torch.isfinite(collapsed.grad).all()  # finite even for a constant group
    # by class: images of classes 0 and 1 differ, but within each class they are identical
    within = minibatch_std(torch.tensor([[0.0], [0.0], [5.0], [5.0]]), labels=torch.tensor([0, 0, 1, 1]))
    assert within.squeeze(1).tolist() == pytest.approx([1e-4] * 4)
    assert minibatch_std(torch.tensor([[0.0], [0.0], [5.0], [5.0]])).squeeze(1).tolist() == pytest.approx([2.5] * 4)


class LinearGenerator:
    """A stand-in generator G(w) = w A, whose path speed is known in closed form."""

    z_dim = 3

    def __init__(self):
        self.matrix = torch.randn(3, 784)

    def parameters(self):
        return iter([self.matrix])

    def latent(self, z, labels=None):
        return z

    def decode(self, latent):
        return latent @ self.matrix


def test_path_speed_of_a_linear_generator_is_exact():
    """For G linear, dG/dt along w1 -> w2 is (w2 - w1) A: the finite difference is exact."""
    generator = LinearGenerator()
    torch.manual_seed(3)
    value = path_speed_penalty(generator, 6)
    torch.manual_seed(3)
    z = torch.randn(2, 6, 3)
    expected = ((z[1] - z[0]) @ generator.matrix).pow(2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-3)


class ScaledNoise(torch.nn.Module):
    """A 'generator' whose image is `scale` * z (or, with scale 0, the same image whatever z is)."""

    z_dim = 8

    def __init__(self, scale):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(float(scale)))

    def forward(self, z, labels=None):
        return (self.scale * z + 0.5).view(-1, 1, 2, 4)


def test_mode_seeking_penalty_is_the_inverse_image_to_noise_ratio():
    """|G(z1) - G(z2)| / |z1 - z2| = 2 for G(z) = 2z, so the penalty is 1/2; a generator that
    ignores its noise gets 1/eps."""
    torch.manual_seed(0)
    assert mode_seeking_penalty(ScaledNoise(2.0), 16).item() == pytest.approx(0.5, rel=1e-4)
    assert mode_seeking_penalty(ScaledNoise(0.0), 16, torch.zeros(16, dtype=torch.long)).item() == pytest.approx(
        1e5, rel=1e-6
    )


@pytest.fixture(scope="module")
def bundle():
    return load_dataset("mnist-sample", device="cpu")


def make_family(name, bundle, **values):
    spec = get_model(name)
    config = spec.make_config(**{**FAST, **values})
    return spec.family(config, bundle, torch.device("cpu"))


def test_discriminator_learns_against_a_fixed_generator(bundle):
    torch.manual_seed(0)
    family = make_family("gan", bundle, lr_d=1e-3, lr_g=1e-12)
    model = family.build()
    optimizers = family.optimizers(model)
    first = None
    for step in range(25):
        rows = torch.randint(0, len(bundle.train), (128,))
        values = family.train_step(model, bundle.train.inputs(rows), bundle.train.y[rows], optimizers, step)
        assert all(torch.isfinite(v) for v in values.values())
        first = first or values["d_loss"].item()
    assert first == pytest.approx(math.log(2), abs=0.05)  # an untrained D cannot tell
    assert values["d_loss"].item() < 0.3
    assert values["d_real"].item() > 0.8 > 0.2 > values["d_fake"].item()


@pytest.mark.parametrize(
    "name, extra",
    [
        ("gan", {}),
        ("gan-leaky", {}),
        ("dcgan", {}),
        ("cgan", {}),
        ("wgan-gp", {}),
        ("cgan", {"generator": "conv", "discriminator": "conv"}),
        ("wgan-gp", {"generator": "conv", "discriminator": "conv"}),
    ],
)
def test_every_architecture_maps_noise_to_images_and_images_to_one_score(name, extra, bundle):
    family = make_family(name, bundle, **extra)
    model = family.build()
    G, D = model["generator"], model["discriminator"]
    labels = torch.tensor([0, 3, 9]) if family.config.conditional else None
    images = G(torch.randn(3, family.config.z_dim), labels)
    assert images.shape == (3, 1, 28, 28) and 0 < images.min() and images.max() < 1
    assert D(images, labels).shape == (3,)
    label_dim = family.config.label_dim if family.config.conditional else 0
    assert family.latent_dim(model) == family.config.z_dim + label_dim


def test_conditional_discriminator_projects_the_label_onto_its_features(bundle):
    """logit = head([h, batch std]) + <p(y), h>, h the last hidden features of (image, label)."""
    torch.manual_seed(0)
    D = make_family("cgan", bundle, aux_weight=0.0).build()["discriminator"].eval()
    images, labels = torch.rand(4, 1, 28, 28), torch.full((4,), 2)
    with torch.no_grad():
        h = D.body(torch.cat([images.flatten(1), D.embed(labels)], dim=1))
        by_hand = D.head(torch.cat([h, minibatch_std(h, None, labels)], 1)).squeeze(1) + (D.project(labels) * h).sum(1)
        assert torch.allclose(D(images, labels), by_hand, atol=1e-5)
        assert not torch.allclose(D(images, labels), D(images, labels + 1))


@pytest.mark.parametrize("extra", [{}, {"discriminator": "conv"}])
def test_auxiliary_classifier_names_classes_from_the_image_alone(extra, bundle):
    """AC-GAN: D's class logits come from the image only (the label is not an input), and D learns
    the classes of real images while G is pushed towards the class it was asked for."""
    torch.manual_seed(0)
    family = make_family("cgan", bundle, aux_weight=1.0, lr_d=1e-3, **extra)
    model = family.build()
    D = model["discriminator"]
    assert D.embed is None and D.classify is not None
    images, labels = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    D.eval()
    with torch.no_grad():
        logit, classes = D(images, labels, classes=True)
        assert logit.shape == (4,) and classes.shape == (4, 10)
        assert torch.equal(D(images, labels + 1, classes=True)[1], classes)  # the label does not reach them
    D.train()
    optimizers = family.optimizers(model)
    d_aux = []
    for step in range(40):
        rows = torch.randint(0, len(bundle.train), (128,))
        values = family.train_step(model, bundle.train.inputs(rows), bundle.train.y[rows], optimizers, step)
        d_aux.append(values["d_aux"].item())
        assert torch.isfinite(values["g_aux"])
    assert d_aux[0] == pytest.approx(math.log(10), abs=0.4)  # an untrained classifier guesses
    assert sum(d_aux[-5:]) / 5 < 0.5 * d_aux[0], d_aux


def test_leaky_preset_is_linear_leaky_relu_four_times(bundle):
    layers = list(make_family("gan-leaky", bundle).build()["generator"].body)
    linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [128, 256, 512, 1024, 784]
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in layers) == 4
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in layers)


def test_path_regulariser_is_logged_when_on(bundle):
    torch.manual_seed(0)
    family = make_family("gan", bundle, path_reg=1.0, g_hidden=(64, 64, 64))
    model = family.build()
    rows = torch.arange(64)
    values = family.train_step(model, bundle.train.inputs(rows), bundle.train.y[rows], family.optimizers(model), 0)
    assert torch.isfinite(values["path_speed"]) and values["path_speed"].item() > 0


def test_mode_seeking_term_is_logged_when_on(bundle):
    torch.manual_seed(0)
    family = make_family("cgan", bundle, mode_seeking=0.1, g_hidden=(64, 64, 64))
    model = family.build()
    rows = torch.arange(64)
    values = family.train_step(model, bundle.train.inputs(rows), bundle.train.y[rows], family.optimizers(model), 0)
    assert torch.isfinite(values["mode_seeking"]) and values["mode_seeking"].item() > 0


def test_weight_average_moves_towards_the_generator_and_copies_its_statistics():
    from genlab.models.gan import update_average

    torch.manual_seed(0)
    current = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    average = copy.deepcopy(current)
    before = average[0].weight.clone()
    with torch.no_grad():
        current[0].weight.add_(1.0)
        current[1].running_mean.fill_(5.0)
    update_average(average, current, decay=0.5, step=1000)
    assert torch.allclose(average[0].weight, before + 0.5)
    assert torch.equal(average[1].running_mean, torch.full((2,), 5.0))
    update_average(average, current, decay=0.999, step=0)  # warm-up: d = min(0.999, 1/10)
    assert torch.allclose(average[0].weight, before + 0.5 + 0.9 * 0.5)


def test_a_run_with_a_weight_average_draws_from_it(bundle):
    torch.manual_seed(0)
    family = make_family("gan", bundle, g_ema=0.9, g_hidden=(64, 64, 64))
    model = family.build()
    G, average = model["generator"], model["generator_ema"]
    assert not any(p.requires_grad for p in average.parameters())
    optimizers = family.optimizers(model)
    for step in range(3):
        rows = torch.arange(64) + 64 * step
        family.train_step(model, bundle.train.inputs(rows), bundle.train.y[rows], optimizers, step)
    assert family.presented_generator(model) is average
    assert not torch.allclose(average.body[0].weight, G.body[0].weight)
    model.eval()
    latent = torch.randn(2, family.latent_dim(model))
    assert torch.equal(family.decode(model, latent), average.decode(latent))


def test_a_resumed_run_continues_the_weight_average_exactly(tmp_path):
    from safetensors.torch import load_file

    spec = get_model("gan")
    small = {**FAST, "limit": 600, "g_hidden": (64, 64, 64), "d_hidden": (64, 64), "judge": "none"}
    whole = engine.train(spec, spec.make_config(**small), out=tmp_path / "whole", progress=False)
    engine.train(spec, spec.make_config(**{**small, "epochs": 1}), out=tmp_path / "cut", progress=False)
    resumed = engine.resume(tmp_path / "cut", spec, epochs=2, progress=False)
    a, b = (load_file(run.run.path / "weights.safetensors") for run in (whole, resumed))
    assert any(key.startswith("generator_ema.") for key in a)
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_runs_saved_before_the_weight_average_load_as_they_were_trained():
    from genlab.models.gan import GANConfig

    saved = get_model("gan").make_config(data="mnist").to_dict()
    assert saved["g_ema"] == 0.999  # new runs keep the average
    del saved["g_ema"]  # a config.json written before the option existed
    assert GANConfig.from_dict(saved).g_ema == 0.0


def test_wasserstein_step_logs_the_critic_estimate_and_penalty(bundle):
    torch.manual_seed(0)
    family = make_family("wgan-gp", bundle)
    model = family.build()
    optimizers = family.optimizers(model)
    rows = torch.arange(320)
    values = family.train_step(model, bundle.train.inputs(rows), bundle.train.y[rows], optimizers, 0)
    assert set(values) == {"d_loss", "g_loss", "wasserstein", "gradient_penalty"}
    assert all(torch.isfinite(v) for v in values.values())
    assert values["gradient_penalty"].item() > 0


def test_training_writes_a_sample_grid_every_epoch_and_the_loss_figure(trained_gan):
    run, summary = trained_gan
    assert sorted(p.name for p in (run / "samples").glob("epoch_*.png")) == ["epoch_001.png", "epoch_002.png"]
    assert (run / "figures" / "loss.png").stat().st_size > 10_000
    assert (run / "figures" / "progress.png").exists()
    assert summary["seconds"] > 0
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [e for e in events if e["event"] == "train"]
    assert train and all(math.isfinite(e[k]) for e in train for k in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert any(e["event"] == "eval" and "d_real" in e for e in events)


def test_summary_reports_the_judges_view_of_samples(trained_gan):
    _, summary = trained_gan
    histogram = summary["sample_class_histogram"]  # of the recognisable samples only
    share = summary["sample_unrecognisable_share"]
    assert 0 <= share < 1 and len(histogram) == 10 and sum(histogram) == round(1000 * (1 - share))
    assert 0 <= summary["sample_class_entropy"] <= math.log(10) + 1e-9
    assert 0 < summary["judge_unrecognisable_threshold"] < 1
    assert 0.1 <= summary["sample_mean_confidence"] <= 1
    assert summary["judge"].endswith("mnist-sample")
    # a briefly trained GAN draws varied images, though less varied than real ones
    assert 0.2 < summary["sample_within_class_diversity"] < 1.5
    assert len(summary["sample_within_class_diversity_per_class"]) == 10


def test_summary_says_when_no_judge_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "empty-cache"))
    spec = get_model("gan")
    result = engine.train(
        spec, spec.make_config(**{**FAST, "epochs": 1, "limit": 300}), out=tmp_path / "run", progress=False
    )
    assert result.summary["judge"] == "none found; run genlab judge train --data mnist-sample"
    assert "sample_class_entropy" not in result.summary


def test_conditional_gan_samples_by_label_and_reports_conditional_accuracy(trained_cgan, bundle):
    loaded = trained_cgan
    family, model = loaded.family, loaded.model
    torch.manual_seed(0)
    images = family.sample(model, 12, labels=torch.full((12,), 3))
    assert images.shape == (12, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert family.balanced_labels(12).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    grid, rows, columns = family.fixed_grid(model)
    assert grid.shape[0] == 10 * columns and rows == list(bundle.classes)
    with pytest.raises(GenlabError, match=r"--label must be in \[0, 9\] for mnist-sample, got 10"):
        family.sample(model, 2, labels=torch.tensor([1, 10]))
    summary = loaded.run.read_summary()
    assert 0 <= summary["conditional_accuracy"] <= 1 and len(summary["conditional_accuracy_per_class"]) == 10


def test_an_unconditional_gan_refuses_labels(trained_gan, bundle):
    from genlab.train.engine import load_run

    loaded = load_run(trained_gan[0], device="cpu")
    with pytest.raises(GenlabError, match="unconditional"):
        loaded.family.sample(loaded.model, 2, labels=torch.tensor([1, 2]))
    assert loaded.family.sample(loaded.model, 3).shape == (3, 1, 28, 28)
    latent = torch.randn(2, loaded.family.latent_dim(loaded.model))
    assert loaded.family.decode(loaded.model, latent).shape == (2, 1, 28, 28)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--loss", "wasserstein-gp"], "needs a per-sample critic"),
        (["--loss", "wasserstein-gp", "--d-norm", "layer"], "the minibatch standard deviation couples the samples"),
        (["--loss", "wasserstein-gp", "--d-norm", "layer", "--no-d-batch-std", "--d-steps", "2"], "set by --n-critic"),
        (["--g-channels", "64,32"], "--g-channels must be 3 positive widths"),
        (["--beta1", "1"], r"--beta1 must be in \[0, 1\)"),
        (["--g-ema", "1"], r"--g-ema must be in \[0, 1\)"),
        (["--mode-seeking", "-1"], "--mode-seeking must be"),
        (["--loss", "hinge"], "--loss must be one of non-saturating, minimax, wasserstein-gp"),
        (["--aux-weight", "1"], "only conditional models"),
    ],
)
def test_bad_gan_options_fail_in_one_line(flags, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "gan", "--data", "mnist-sample", "-o", str(tmp_path / "run"), *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("genlab: error: ")
    assert __import__("re").search(message, err)


def test_non_saturating_generator_gradient_is_strong_where_minimax_vanishes():
    """Early in training D(G(z)) ~ 0: the minimax loss gives G almost no gradient, the
    non-saturating one a gradient of about 1/2 per sample (why it is the default)."""
    fake = torch.tensor([-8.0], requires_grad=True)
    (minimax,) = torch.autograd.grad(generator_loss("minimax", fake), fake)
    (saturating,) = torch.autograd.grad(generator_loss("non-saturating", fake), fake)
    assert abs(minimax.item()) < 1e-3 and abs(saturating.item()) > 0.49
    assert saturating.item() == pytest.approx(-0.5 * (1 - F.sigmoid(fake)).item(), rel=1e-6)
