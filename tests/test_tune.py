"""`genlab tune` before Ray starts: the search space, the seeded draw of trials, and the one-line
refusals of a metric that is not a validation number the model logs (tests/test_ray.py runs searches)."""

from __future__ import annotations

import math

import pytest
from helpers import assert_user_error

from genlab.errors import GenlabError
from genlab.tune import draw_trials, parse_space


def test_random_trials_come_from_the_seed_and_stay_in_the_space():
    space = parse_space("mlp", ("lr=log:1e-4:1e-2", "hidden=64,128", "weight_decay=uniform:0.0001:0.001"))
    assert space["lr"] == ("log", 1e-4, 1e-2) and space["hidden"] == ("values", [(64,), (128,)])
    trials = draw_trials(space, "random", 12, seed=3)
    assert trials == draw_trials(space, "random", 12, seed=3) != draw_trials(space, "random", 12, seed=4)
    assert len(trials) == 12
    assert all(1e-4 <= t["lr"] <= 1e-2 and 1e-4 <= t["weight_decay"] <= 1e-3 for t in trials)
    assert {t["hidden"] for t in trials} == {(64,), (128,)}
    # log: the draws spread over the decades, not bunched at the top of the range
    assert min(math.log10(t["lr"]) for t in trials) < -3


def test_grid_runs_every_combination_and_takes_no_ranges():
    grid = draw_trials(parse_space("mlp", ("lr=0.1,0.01", "hidden=64,128")), "grid", None, seed=0)
    assert len(grid) == 4 and {(t["lr"], t["hidden"]) for t in grid} == {
        (0.1, (64,)), (0.1, (128,)), (0.01, (64,)), (0.01, (128,)),
    }  # fmt: skip
    with pytest.raises(GenlabError, match="--search grid needs listed values"):
        draw_trials(parse_space("mlp", ("lr=log:1e-4:1e-2",)), "grid", None, seed=0)
    with pytest.raises(GenlabError, match="0 < LOW < HIGH"):
        parse_space("mlp", ("lr=log:0:1e-2",))
    with pytest.raises(GenlabError, match="not a setting of mlp"):
        parse_space("mlp", ("nope=log:1e-4:1e-2",))


def test_a_metric_the_model_does_not_log_or_not_on_validation_is_one_line(capsys, tmp_path):
    base = ["tune", "mlp", "--space", "lr=0.1,0.01", "--search", "grid", "--set", "data=mnist-sample"]
    assert_user_error(
        [*base, "--metric", "val_nope", "-o", str(tmp_path / "t")], capsys, "mlp does not log --metric val_nope",
        "val_accuracy",
    )  # fmt: skip
    assert_user_error(
        [*base, "--metric", "test_accuracy", "-o", str(tmp_path / "t")], capsys, "not a validation number"
    )
    assert_user_error([*base, "--trials", "3"], capsys, "--trials is for --search random")
    assert not (tmp_path / "t").exists()


def test_mode_auto_minimises_losses_errors_and_divergences_and_maximises_the_rest():
    from genlab.tune import better_direction

    assert [better_direction(m) for m in ("val_loss", "val_recon_loss", "val_error", "val_kl")] == ["min"] * 4
    assert [better_direction(m) for m in ("val_accuracy", "val_elbo", "val_balanced_accuracy")] == ["max"] * 3
