"""GAN inversion and optimised latent paths, through the API and the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from gan_support import mnist_sample_judge, trained_gan  # noqa: F401 (fixtures)
from genlab.cli import main
from genlab.errors import GenlabError
from genlab.latent.invert import invert_run, parse_indices
from genlab.latent.paths import equal_arc_length, refine, straight_nodes, trapezoid_energy


def test_own_samples_invert_at_least_ten_times_better_than_test_images(trained_gan):
    run, _ = trained_gan
    test, _, _ = invert_run(run, "0:4", restarts=3, steps=250, device="cpu")
    own, figure, table = invert_run(run, "0:4", restarts=3, steps=250, generated=True, device="cpu")
    assert own["median_best_loss"] * 10 <= test["median_best_loss"]
    assert figure.exists() and json.loads(table.read_text())["source"] == "generated"
    entry = test["targets"][0]
    assert len(entry["restart_losses"]) == 3 and entry["best_loss"] == min(entry["restart_losses"])
    distances = torch.tensor(entry["pairwise_relative_distances"])
    assert distances.shape == (3, 3) and torch.allclose(distances, distances.T) and distances.diag().abs().max() == 0
    assert all("true_latent_relative_error" in t for t in own["targets"])


def test_optimised_path_has_lower_energy_than_the_straight_line(trained_gan):
    from genlab.latent.paths import path_run

    run, _ = trained_gan
    report, figure, _ = path_run(run, 0, 1, points=6, steps=60, restarts=2, invert_steps=150, device="cpu")
    assert report["optimised"]["U"] <= report["straight"]["U"]
    # the gain is real, not an artefact of sampling the path only at its nodes
    assert report["optimised"]["U_refined"] <= report["straight"]["U_refined"] * 1.01
    assert figure.exists()


def test_trapezoid_energy_of_a_constant_integrand_is_f_times_length():
    nodes = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 10.0]])
    assert trapezoid_energy(torch.full((3,), 2.0), nodes).item() == pytest.approx(2.0 * (5 + 6))


def test_reparametrisation_keeps_the_polyline_and_equalises_spacing():
    nodes = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.2, 0.0], [4.0, 0.0], [4.0, 4.0]])
    moved = equal_arc_length(nodes)
    gaps = (moved[1:] - moved[:-1]).norm(dim=1)
    assert torch.allclose(gaps, torch.full((4,), 2.0), atol=1e-5)
    assert torch.equal(moved[0], nodes[0]) and torch.equal(moved[-1], nodes[-1])
    assert refine(straight_nodes(torch.zeros(2), torch.ones(2), 1), pieces=4).shape == (9, 2)


def test_index_parsing():
    assert parse_indices("0:3", 10) == [0, 1, 2]
    assert parse_indices("4,1", 10) == [4, 1]
    with pytest.raises(GenlabError, match="index 10 is outside the 10 images"):
        parse_indices("10:13", 10)
    with pytest.raises(GenlabError, match="selects no images"):
        parse_indices("5:5", 10)


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("logreg") / "run"
    main_ok(["train", "logreg", "--data", "mnist-sample", "--epochs", "1", "--limit", "200", "-o", str(out), "-q"])
    return out


def main_ok(argv):
    main(argv)  # returns normally on success (exit code 0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["invert", "{classifier}"], "is a 'logreg' run; 'genlab invert' needs a GAN run"),
        (["path", "{classifier}", "--from", "0", "--to", "1"], "is a 'logreg' run; 'genlab path' needs a GAN run"),
        (["invert", "{gan}", "--restarts", "0"], "--restarts must be >= 1, got 0"),
        (["path", "{gan}", "--from", "0", "--to", "1", "--points", "0"], "--points must be >= 1, got 0"),
        (["path", "{gan}", "--from", "0", "--to", "99999"], "--to index 99999 is outside the 500 images"),
        (["invert", "{gan}", "--images", "a:b"], "--images expects START:STOP"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, message, classifier_run, trained_gan, capsys):
    argv = [a.format(classifier=classifier_run, gan=trained_gan[0]) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--device", "cpu"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_invert_command_prints_each_target(trained_gan, capsys):
    main_ok(["invert", str(trained_gan[0]), "--images", "0:2", "--restarts", "2", "--steps", "20", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "image     0: best loss" in out and "image     1: best loss" in out and "inversion_test.json" in out
