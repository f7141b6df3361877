"""The command line: exit codes and one-line messages for each kind of bad input."""

from __future__ import annotations

import gzip

from helpers import assert_user_error, run_cli


def test_unknown_model(capsys):
    assert_user_error(["train", "resnet"], capsys, "unknown model 'resnet'", "logreg")


def test_unknown_dataset(capsys, tmp_path):
    assert_user_error(["train", "logreg", "--data", "cifar", "-o", str(tmp_path / "r")], capsys, "cifar", "mnist")
    assert not (tmp_path / "r").exists()


def test_bad_hyperparameters(capsys):
    assert_user_error(["train", "logreg", "--lr", "0"], capsys, "--lr must be in (0, inf], got 0.0")
    assert_user_error(["train", "mlp", "--hidden", "128,0"], capsys, "--hidden widths must be >= 1")
    assert_user_error(["train", "mlp", "--val-fraction", "1.5"], capsys, "--val-fraction must be in [0, 1)")
    assert_user_error(["train", "mlp", "--activation", "swish"], capsys, "--activation must be one of")
    assert_user_error(["train", "mlp", "--epochs", "two"], capsys, "--epochs expects int, got 'two'")
    assert_user_error(["train", "mlp", "--bogus", "1"], capsys, "No such option '--bogus'")


def test_missing_and_corrupt_files(capsys, tmp_path, monkeypatch):
    assert_user_error(["evaluate", str(tmp_path / "nothing")], capsys, "is not a genlab run folder")
    data = tmp_path / "data" / "mnist"
    data.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        with gzip.open(data / name, "wb") as handle:
            handle.write(b"\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00\x00\x1c\x00\x00\x00\x1c" + b"\x00" * 100)
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENLAB_MIRRORS", "http://127.0.0.1:9/")
    line = assert_user_error(["train", "logreg", "--data", "mnist", "-o", str(tmp_path / "r")], capsys)
    assert "corrupt" in line or "IDX" in line


def test_existing_run_folder_needs_overwrite(capsys, tmp_path):
    args = ["train", "logreg", "--data", "mnist-sample", "--epochs", "1", "-q", "-o", str(tmp_path / "r")]
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "test_accuracy" in out
    assert_user_error(args, capsys, "already exists; pass --overwrite")
    code, _, _ = run_cli(args + ["--overwrite"], capsys)
    assert code == 0


def test_resume_refuses_changed_settings(capsys, tmp_path):
    assert_user_error(
        ["train", "mlp", "--resume", str(tmp_path), "--lr", "0.1"], capsys, "only --epochs may be given, not --lr"
    )


def test_nan_loss_is_a_one_line_error(capsys, tmp_path):
    line = assert_user_error(
        [
            "train",
            "mlp",
            "--data",
            "mnist-sample",
            "--lr",
            "1e30",
            "--optimizer",
            "sgd",
            "--epochs",
            "2",
            "-q",
            "-o",
            str(tmp_path / "r"),
        ],
        capsys,
        "at step",
    )
    assert "became" in line


def test_gradcheck_command_passes(capsys):
    code, out, _ = run_cli(["gradcheck"], capsys)
    assert code == 0 and "gradients agree" in out
    assert "max relative difference" in out


def test_evaluate_recomputes_the_summary(capsys, tmp_path):
    run = tmp_path / "r"
    run_cli(["train", "logreg", "--data", "mnist-sample", "--epochs", "1", "-q", "-o", str(run)], capsys)
    import json

    before = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**before, "test_accuracy": 0.0}))
    code, out, _ = run_cli(["evaluate", str(run)], capsys)
    after = json.loads((run / "summary.json").read_text())
    assert code == 0 and after["test_accuracy"] == before["test_accuracy"]
