"""Echo noise: the truncation bound, the partner draw, the exact rate on a linear-Gaussian case,
training on real MNIST, and the rate-distortion figure of a beta-VAE sweep beside echo runs."""

import math

import pytest
import torch

from genlab.cli import main
from genlab.models.echo import echo_noise, echo_partners, truncation_bound, truncation_depth
from genlab.models.registry import get_model
from genlab.train import engine


@pytest.mark.parametrize("s_max, tolerance", [(0.8, 1e-4), (0.5, 1e-6), (0.95, 1e-3)])
def test_truncation_depth_is_the_smallest_depth_within_tolerance(s_max, tolerance):
    depth = truncation_depth(tolerance, s_max)
    assert truncation_bound(depth, s_max) <= tolerance
    assert depth == 1 or truncation_bound(depth - 1, s_max) > tolerance


def test_truncated_noise_is_within_the_bound_of_the_long_series():
    torch.manual_seed(0)
    s_max, tolerance, batch, p = 0.8, 1e-4, 64, 6
    depth = truncation_depth(tolerance, s_max)
    f = torch.tanh(3 * torch.randn(batch, p, dtype=torch.float64))  # |f| <= 1
    log_s = math.log(s_max) + torch.nn.functional.logsigmoid(torch.randn(batch, p, dtype=torch.float64) + 4)
    partners = echo_partners(batch, 20 * depth, torch.device("cpu"))  # with replacement: 20 * depth > batch
    truncated = echo_noise(f, log_s, depth, partners)
    long_series = echo_noise(f, log_s, 20 * depth, partners)
    error = (truncated - long_series).abs().max().item()
    assert error <= truncation_bound(depth, s_max) <= tolerance
    # The bound is attained by f = 1, s = s_max everywhere, so it cannot be tightened.
    ones = torch.ones(batch, p, dtype=torch.float64)
    worst = echo_noise(ones, ones * math.log(s_max), 20 * depth, partners) - echo_noise(
        ones, ones * math.log(s_max), depth, partners
    )
    assert worst.max().item() == pytest.approx(truncation_bound(depth, s_max) * (1 - s_max ** (19 * depth)))


def test_partners_are_distinct_others_in_a_large_enough_batch():
    torch.manual_seed(0)
    partners = echo_partners(32, 10, torch.device("cpu"))
    assert partners.shape == (32, 10)
    assert all(len(set(row.tolist())) == 10 and i not in row.tolist() for i, row in enumerate(partners))
    drawn = echo_partners(8, 50, torch.device("cpu"))  # more terms than other rows: with replacement
    assert not (drawn == torch.arange(8)[:, None]).any()


def test_echo_noise_has_the_code_distribution_and_the_rate_is_minus_log_s():
    """f(x) = a x with x ~ N(0, 1) and constant s: z = a sum_l s^l x_l ~ N(0, a^2 / (1 - s^2)), the noise
    has the same law, and I(x; z) = 1/2 log(Var z / Var(z | x)) = -log s, the echo rate."""
    torch.manual_seed(0)
    a, s, n = 1.5, 0.6, 20_000
    f = a * torch.randn(n, 1, dtype=torch.float64)
    log_s = torch.full((n, 1), math.log(s), dtype=torch.float64)
    noise = echo_noise(f, log_s, truncation_depth(1e-8, s, f_max=f.abs().max().item()))
    z = f + s * noise
    expected = a**2 / (1 - s**2)
    assert noise.var().item() == pytest.approx(expected, rel=0.05)
    assert z.var().item() == pytest.approx(expected, rel=0.05)
    information = 0.5 * math.log(z.var().item() / (s**2 * noise.var().item()))
    assert information == pytest.approx(-math.log(s), abs=0.05)


@pytest.fixture(scope="module")
def sweep_and_echo(tmp_path_factory):
    root = tmp_path_factory.mktemp("rd")
    common = ["--set", "data=mnist-sample", "--set", "limit=500", "--set", "epochs=2", "--set", "device=cpu"]
    main(
        [
            "sweep",
            "vae",
            "--grid",
            "beta=0.5,4",
            *common,
            "--set",
            "iwae_k=5",
            "--set",
            "iwae_images=50",
            "-o",
            str(root / "sweep"),
            "-q",
        ]
    )
    spec = get_model("echo-ae")
    echo = engine.train(
        spec,
        spec.make_config(data="mnist-sample", limit=500, epochs=2, beta=1.0, device="cpu", latent_dim=2),
        out=root / "echo",
        progress=False,
    )
    return root, echo


def test_echo_ae_trains_and_reports_its_exact_rate(sweep_and_echo):
    _, echo = sweep_and_echo
    summary = echo.summary
    assert summary["test_rate"] >= summary["echo_min_rate"] == pytest.approx(-2 * math.log(0.8))
    assert summary["echo_truncation_bound"] <= 1e-4 and summary["echo_depth"] == truncation_depth(1e-4, 0.8)
    events = [e for e in echo.run.read_metrics() if e.get("event") == "eval" and e["split"] == "test"]
    assert events[-1]["loss"] < events[0]["loss"]
    assert (echo.run.path / "figures" / "manifold.png").exists()


def test_rate_distortion_figure_of_a_sweep_and_an_echo_run(sweep_and_echo, tmp_path, capsys):
    root, echo = sweep_and_echo
    out = tmp_path / "rd.png"
    main(["rate-distortion", str(root / "sweep"), str(echo.run.path), "-o", str(out)])
    printed = capsys.readouterr().out
    assert out.stat().st_size > 0
    assert printed.count("beta-VAE (vae)") == 2 and printed.count("echo noise (echo-ae)") == 1
    # A larger beta buys a lower rate at a higher distortion.
    rows = {line.split()[2]: line.split() for line in printed.splitlines() if "beta-VAE" in line}
    assert float(rows["beta=4"][4]) < float(rows["beta=0.5"][4])
    assert float(rows["beta=4"][6]) > float(rows["beta=0.5"][6])


def test_rate_distortion_rejects_a_classifier_run(tmp_path, capsys):
    spec = get_model("logreg")
    run = engine.train(
        spec,
        spec.make_config(data="mnist-sample", limit=100, epochs=1, device="cpu"),
        out=tmp_path / "logreg",
        progress=False,
    ).run
    with pytest.raises(SystemExit) as stopped:
        main(["rate-distortion", str(run.path), "-o", str(tmp_path / "rd.png")])
    assert stopped.value.code == 2
    assert "'logreg' run with no rate" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "echo-ae", "--s-max", "1"], "--s-max must be in (0, 1), got 1.0"),
        (["train", "echo-ae", "--echo-tolerance", "0"], "--echo-tolerance must be in (0, inf]"),
        (["train", "echo-ae", "--batch-size", "1"], "--batch-size must be >= 2 for echo noise"),
    ],
)
def test_bad_echo_flags_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
