"""A VAE and a GAN trained with networks the user wrote (tests/user_networks.py) keep their family's
objective and figures, and reload in a fresh process from config.json and safetensors, without pickle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.errors import GenlabError
from helpers import assert_user_error
from user_networks import TinyDecoder, TinyDiscriminator, TinyEncoder, TinyGenerator

TESTS = Path(__file__).parent
SMALL = {"data": "mnist-sample", "limit": 200, "epochs": 1, "device": "cpu", "quiet": True}


def sample_in_a_fresh_process(run: Path) -> tuple[int, ...]:
    """The shape of 4 images sampled by a new Python process that loads `run` by its path."""
    source = TESTS.parent / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(TESTS)])}
    code = f"import genlab; print(list(genlab.load({str(run)!r}, device='cpu').sample(4, seed=0).shape))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_vae_of_the_users_networks_trains_and_reloads(tmp_path):
    run = genlab.train(
        "vae",
        **SMALL,
        latent_dim=3,
        iwae_k=10,
        iwae_images=50,
        encoder=TinyEncoder,
        encoder_args={"outputs": 6},
        decoder=TinyDecoder,
        decoder_args={"latent_dim": 3, "width": 32},
        out=tmp_path / "vae",
    )
    config = json.loads((run.path / "config.json").read_text())["config"]
    assert config["encoder"] == "user_networks:TinyEncoder" and json.loads(config["decoder_args"])["width"] == 32
    assert np.isfinite(run.summary["test_elbo"]) and run.summary["test_nll_iwae"] > 0  # the family's numbers
    assert run.encode(run.sample(5)).shape == (5, 3)
    assert sample_in_a_fresh_process(run.path) == (4, 1, 28, 28)


def test_a_gan_of_the_users_networks_trains_and_reloads(tmp_path):
    run = genlab.train(
        "gan",
        **SMALL,
        batch_size=50,
        z_dim=8,
        judge="none",
        generator=TinyGenerator,
        generator_args={"z_dim": 8},
        discriminator=TinyDiscriminator,
        out=tmp_path / "gan",
    )
    assert run.config["generator"] == "user_networks:TinyGenerator"
    assert any(path.name.startswith("samples") or "progress" in path.name for path in run.figures)
    images = run.sample(6, seed=1)
    assert images.shape == (6, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert sample_in_a_fresh_process(run.path) == (4, 1, 28, 28)


def test_an_autoencoder_of_the_users_networks_reconstructs(tmp_path):
    run = genlab.train(
        "ae",
        **SMALL,
        latent_dim=2,
        encoder=TinyEncoder,
        encoder_args={"outputs": 2},
        decoder=TinyDecoder,
        decoder_args={"latent_dim": 2},
        out=tmp_path / "ae",
    )
    x, _ = run.examples("test", limit=8)
    reconstructions = run.reconstruct(x)
    assert reconstructions.shape == x.shape and 0 <= reconstructions.min() and reconstructions.max() <= 1
    assert run.encode(x).shape == (8, 2) and np.isfinite(run.summary["test_reconstruction_mse"])


def test_users_networks_from_the_command_line(capsys, tmp_path):
    assert_user_error(
        [
            "train",
            "vae",
            "--data",
            "mnist-sample",
            "--encoder",
            "no_such_module:Encoder",
            "--decoder",
            "user_networks:TinyDecoder",
            "-o",
            str(tmp_path / "a"),
        ],
        capsys,
        "--encoder no_such_module:Encoder: cannot import module 'no_such_module'",
    )
    assert_user_error(
        [
            "train",
            "vae",
            "--data",
            "mnist-sample",
            "--latent-dim",
            "2",
            "--encoder",
            "user_networks:TinyEncoder",
            "--encoder-args",
            '{"outputs": 10}',
            "--decoder",
            "user_networks:TinyDecoder",
            "--decoder-args",
            '{"latent_dim": 2}',
            "-o",
            str(tmp_path / "b"),
        ],
        capsys,
        "--encoder user_networks:TinyEncoder returned [2, 10]; expected [2, 4] (means, then log-variances)",
    )
    assert_user_error(
        [
            "train",
            "gan",
            "--data",
            "mnist-sample",
            "--generator",
            "user_networks:TinyGenerator",
            "--generator-args",
            '{"z_dim": 8}',
            "-o",
            str(tmp_path / "c"),
        ],
        capsys,
        "--generator user_networks:TinyGenerator failed on an input of shape [2, 100]",
    )
    assert_user_error(
        ["train", "vae", "--encoder", "user_networks:TinyEncoder"], capsys, "--encoder and --decoder come together"
    )
    assert_user_error(
        ["train", "cgan", "--generator", "user_networks:TinyGenerator"], capsys, "unconditional GANs only"
    )
    assert_user_error(["train", "gan", "--generator-args", "[1]"], capsys, "--generator-args must be a JSON object")


def test_a_network_defined_in_main_cannot_be_named():
    local = type("Local", (TinyEncoder,), {"__module__": "__main__"})
    with pytest.raises(GenlabError, match="define it at the top level of a module"):
        genlab.train("vae", encoder=local, decoder=TinyDecoder)
