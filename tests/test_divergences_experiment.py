"""`genlab experiment divergences` at a small size: every part runs and writes its report section."""

import json

import numpy as np

from genlab.cli import cli, main
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)


def test_the_experiment_writes_json_figures_and_markdown(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))  # no judge: its rows are skipped with a note
    fake_gan = tmp_path / "gan.npz"
    rng = np.random.default_rng(0)
    np.savez(fake_gan, images=rng.uniform(size=(60, 1, 28, 28)).astype(np.float32))
    out = tmp_path / "report"
    main(
        [
            "experiment",
            "divergences",
            "-o",
            str(out),
            "-n",
            "60",
            "--variances",
            "1,4",
            "--permutations",
            "20",
            "--data",
            "mnist-sample",
            "--gan",
            str(fake_gan),
            "-q",
        ]
    )
    assert "report:" in capsys.readouterr().out
    record = json.loads((out / "divergences.json").read_text())
    assert set(record["uniform_vs_normal"]) == {"1", "4"}
    assert set(record["real"]) == {"pixels", "pca:50"}
    assert set(record["real"]["pixels"]) == {"real vs real", "real vs GAN"}
    rows = {(r["metric"], r["direction"]): r for r in record["uniform_vs_normal"]["4"]["rows"]}
    assert rows[("kl_exact", "B||A")]["value"] == "inf" and rows[("kl_knn", "B||A")]["value"] == "inf"
    real = {r["metric"]: r["value"] for r in record["real"]["pixels"]["real vs real"]["rows"]}
    fake = {r["metric"]: r["value"] for r in record["real"]["pixels"]["real vs GAN"]["rows"]}
    assert fake["emd"] > real["emd"] and fake["mmd2_unbiased"] > real["mmd2_unbiased"]
    assert fake["coverage"] < real["coverage"]
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == [
        "mnist-sample_pca50.png",
        "mnist-sample_pixels.png",
        "mnist-sample_seconds.png",
        "uniform_vs_normal.png",
        "uniform_vs_normal_seconds.png",
    ]
    # Each figure's caption, given where the experiment drew it, for the report.
    captions = json.loads((out / "figures" / "index.json").read_text())
    assert sorted(captions) == figures
    assert captions["mnist-sample_pca50.png"]["caption"].endswith("(pca:50 features)")
    # The note that explains an infinite kNN KL travels with the divergence table into a suite's report.
    from genlab.suites.divergence_tables import divergence_table

    table = divergence_table("uniform against normal", {"v = 4": record["uniform_vs_normal"]["4"]["rows"]})
    assert any(note.startswith("v = 4, kl_knn B||A = inf: ") for note in table["notes"]), table["notes"]
    markdown = (out / "divergences.md").read_text()
    assert "| kl_exact | B\\|\\|A | inf | inf |" in markdown  # pipes escaped inside table cells
    assert "real vs VAE skipped" in markdown and "genlab judge train --data mnist" in markdown
    assert "![uniform vs normal](figures/uniform_vs_normal.png)" in markdown


def test_variances_must_be_positive_numbers(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["experiment", "divergences", "--variances", "1,-2"])
    assert exit_info.value.code == 2
    assert "--variances must be positive numbers, got '1,-2'" in capsys.readouterr().err
    command = cli.commands["experiment"].commands["divergences"]
    assert command.parse_settings(["--variances", "1, 2,4"]).variances == (1.0, 2.0, 4.0)


def test_a_judge_of_an_older_recipe_skips_the_judge_space_with_the_retrain_command(tmp_path, monkeypatch):
    from genlab.experiments.divergences import _judge_available

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    old = tmp_path / "judges" / "mnist"
    old.mkdir(parents=True)
    (old / "weights.safetensors").write_bytes(b"")
    (old / "summary.json").write_text(json.dumps({"test_accuracy": 0.98}))  # no judge_recipe: the first recipe
    note = _judge_available("mnist")
    assert note.startswith("the judge-space rows are missing: ") and "is not a judge of recipe 2" in note
    assert "'genlab judge train --data mnist --overwrite'" in note
