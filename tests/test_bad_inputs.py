"""Damaged or hostile user files and options end in one line and exit code 2 (genlab.userfiles' boundary).

Each case is a class of input that used to end in a traceback (or, for an empty .npy, in "interrupted"
with exit code 130, or in a silently wrong result: one class trained to accuracy 1.0, 1e39 read as inf).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_user_error, run_cli

from genlab.cli import main

TRAIN = ["train", "logreg", "--epochs", "1", "-q"]


def rows(values, labels) -> str:
    return "a,b,label\n" + "".join(f"{v},{2 * i},{y}\n" for i, (v, y) in enumerate(zip(values, labels)))


GOOD_LABELS = [i % 2 for i in range(20)]

CSV_CASES = {
    "not UTF-8": (
        b"a,b,label\n" + "".join(f"{i},{i},caf\xe9{i % 2}\n" for i in range(20)).encode("latin-1"),
        ["UTF-8"],
    ),
    "a field over the csv limit": ("a,b,label\n1," + "x" * 200_000 + ",0\n2,2,1\n", ["cannot read"]),
    "two rows": ("a,b,label\n1,2,0\n2,3,1\n", ["two rows"]),
    "a class per row": (rows(range(20), range(20)), ["two rows"]),
    "one class": (rows(range(20), [1] * 20), ["two classes"]),
    "a value beyond float32": (rows([1e39 if i == 3 else i for i in range(20)], GOOD_LABELS), ["1e+39", "line 5"]),
    "a NaN label": (rows(range(20), ["nan" if i == 3 else i % 2 for i in range(20)]), ["missing", "line 5"]),
    "random bytes": (bytes(range(256)) * 8, ["cannot read"]),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_damaged_csv_is_one_line(case, tmp_path, capsys):
    content, fragments = CSV_CASES[case]
    path = tmp_path / "data.csv"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    args = [*TRAIN, "--data", str(path), "--label-column", "label", "-o", str(tmp_path / "run")]
    assert_user_error(args, capsys, "data.csv", *fragments)
    assert not (tmp_path / "run" / "summary.json").exists()


def npy_cases(folder: Path) -> dict[str, tuple[str, str, list[str]]]:
    """name -> (data file, labels file, fragments of the one line)."""
    x, y = np.random.default_rng(0).random((20, 3)), np.arange(20) % 2
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    np.savez(folder / "archive.npz", x=x)
    os.replace(folder / "archive.npz", folder / "renamed.npy")
    np.save(folder / "zero.npy", np.zeros((0, 3)))
    (folder / "empty.npy").write_bytes(b"")
    np.save(folder / "huge.npy", np.full((20, 3), 1e300))
    np.save(folder / "nan_labels.npy", np.where(y == 0, np.nan, 1.0))
    np.save(folder / "one_class.npy", np.ones(20))
    return {
        ".npz renamed .npy": ("renamed.npy", "y.npy", [".npz archive"]),
        "0-row array": ("zero.npy", "y.npy", ["shape (0, 3)"]),
        "empty data file": ("empty.npy", "y.npy", ["empty.npy"]),
        "empty labels file": ("x.npy", "empty.npy", ["empty.npy"]),
        "values beyond float32": ("huge.npy", "y.npy", ["beyond float32"]),
        "NaN labels": ("x.npy", "nan_labels.npy", ["NaN label"]),
        "one class": ("x.npy", "one_class.npy", ["two classes"]),
    }


@pytest.mark.parametrize(
    "case",
    [
        ".npz renamed .npy",
        "0-row array",
        "empty data file",
        "empty labels file",
        "values beyond float32",
        "NaN labels",
        "one class",
    ],
)
def test_damaged_npy_is_one_line(case, tmp_path, capsys):
    data, labels, fragments = npy_cases(tmp_path)[case]
    args = [*TRAIN, "--data", str(tmp_path / data), "--labels", str(tmp_path / labels), "-o", str(tmp_path / "r")]
    assert_user_error(args, capsys, *fragments)


def test_h5ad_without_x_is_one_line(tmp_path, capsys):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    obs = pd.DataFrame({"kind": ["a", "b"] * 10}, index=[str(i) for i in range(20)])
    anndata.AnnData(obs=obs).write_h5ad(tmp_path / "no_x.h5ad")
    args = [*TRAIN, "--data", str(tmp_path / "no_x.h5ad"), "--label-key", "kind", "-o", str(tmp_path / "r")]
    assert_user_error(args, capsys, "no_x.h5ad", "no expression matrix X")


def test_idx_with_no_images_is_one_line(tmp_path, capsys, monkeypatch):
    from genlab.data.idx import write_idx

    sample = Path(__file__).resolve().parents[1] / "src" / "genlab" / "data" / "sample"
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in os.listdir(sample):
        if name.endswith(".gz"):
            shutil.copy(sample / name, folder / name)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(0, dtype=np.uint8))
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "data"))
    assert_user_error([*TRAIN, "--data", "mnist", "-o", str(tmp_path / "r")], capsys, "train-images", "0 images")


@pytest.mark.parametrize(
    "options, fragments",
    [
        (["--limit", "10", "--val-fraction", "0.95"], ["--val-fraction", "none to train on"]),
        (["--seed", "-1"], ["--seed", "-1"]),
        (["--seed", str(2**64)], ["--seed", str(2**64)]),
    ],
)
def test_bad_options_are_one_line(options, fragments, tmp_path, capsys):
    assert_user_error(
        [*TRAIN, "--data", "mnist-sample", "--limit", "50", *options, "-o", str(tmp_path / "r")], capsys, *fragments
    )


def test_unusable_output_paths_are_one_line(tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    for out in (tmp_path / "a_file" / "run", Path("/proc/genlab-run")):
        assert_user_error([*TRAIN, "--data", "mnist-sample", "--limit", "50", "-o", str(out)], capsys, str(out))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One small finished logreg run, copied by each test that damages it."""
    folder = tmp_path_factory.mktemp("finished") / "run"
    main([*TRAIN, "--data", "mnist-sample", "--limit", "100", "-o", str(folder)])  # returns (no exit) on success
    assert (folder / "summary.json").is_file()
    return folder


def damaged_copies(source: Path, target: Path) -> dict[str, Path]:
    """Copies of a finished run, each with one file damaged as a killed process or a hostile edit leaves it."""
    config = (source / "config.json").read_bytes()
    weights = (source / "weights.safetensors").read_bytes()
    damage = {
        "config.json cut short": ("config.json", config[: len(config) // 2]),
        "config.json a list": ("config.json", b"[1, 2]"),
        "config.json without model": ("config.json", b'{"config": {"epochs": 1}}'),
        "config.json not UTF-8": ("config.json", b"\xff\xfe\x00"),
        "summary.json cut short": ("summary.json", b'{"test_accuracy": '),
        "summary.json a list": ("summary.json", b"[]"),
        "metrics.jsonl not UTF-8": ("metrics.jsonl", b'{"step": 1}\n\xff\n'),
        "metrics.jsonl holds a list": ("metrics.jsonl", b"[1]\n"),
        "weights cut short": ("weights.safetensors", weights[: len(weights) // 2]),
        "weights empty": ("weights.safetensors", b""),
        "weights foreign": ("weights.safetensors", b"PK\x03\x04" + bytes(100)),
        "checkpoint cut short": ("checkpoint.safetensors", (source / "checkpoint.safetensors").read_bytes()[:100]),
    }
    copies = {}
    for case, (name, content) in damage.items():
        copy = target / case.replace(" ", "_").replace(".", "_")
        shutil.copytree(source, copy)
        (copy / name).write_bytes(content)
        copies[case] = copy
    return copies


def test_damaged_run_folders_are_one_line_for_every_command(finished_run, tmp_path, capsys):
    for case, run in damaged_copies(finished_run, tmp_path).items():
        for args in (["evaluate", str(run)], [*TRAIN, "--resume", str(run), "--epochs", "2"]):
            code, _, err = run_cli(args, capsys)
            lines = err.strip().splitlines()
            assert code in (0, 2) and "Traceback" not in err, f"{case}, {args[0]}: exit {code}: {err}"
            assert len(lines) <= 1, f"{case}, {args[0]}: {err}"
            if code == 2:
                assert str(run) in lines[0], f"{case}: the line does not name the file: {lines[0]}"


def test_a_torn_last_line_of_metrics_is_dropped(finished_run, tmp_path):
    """A process killed while appending leaves a last line without its newline: that event is lost, not the log."""
    from genlab.train.runfolder import RunFolder

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    whole = RunFolder.open(run).read_metrics()
    text = (run / "metrics.jsonl").read_bytes()
    (run / "metrics.jsonl").write_bytes(text[:-7])
    assert RunFolder.open(run).read_metrics() == whole[:-1]


def test_resume_with_another_out_folder_is_one_line(finished_run, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    assert_user_error(
        [*TRAIN, "--resume", str(finished_run), "--epochs", "2", "-o", str(elsewhere)], capsys, "-o", "in place"
    )
    assert not elsewhere.exists()


def test_a_full_disk_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    """ENOSPC (or EROFS) where a run is written: the CLI's last-resort OSError handler words it."""
    import errno

    from genlab.train import runfolder

    def full_disk(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(runfolder, "atomic_write_json", full_disk)
    out = tmp_path / "run"
    assert_user_error(
        [*TRAIN, "--data", "mnist-sample", "--limit", "50", "-o", str(out)],
        capsys,
        str(out / "config.json"),
        "No space left on device",
    )


def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path):
    """SIGINT half a second in, while `python -m genlab.cli` is still importing torch (or, on a fast machine,
    just after): one line, exit code 130, no traceback."""
    import signal
    import subprocess
    import sys
    import time

    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    args = [*TRAIN, "--data", "mnist-sample", "--limit", "50", "-o", str(tmp_path / "run")]
    process = subprocess.Popen(
        [sys.executable, "-m", "genlab.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal would start it
    )
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err and "Traceback" not in err, err


def test_a_feature_near_1e30_is_standardised_not_zeroed(tmp_path):
    """Its squares overflow float32: computed there, its std was inf and every value became 0."""
    from genlab.data.datasets import load_dataset

    path = tmp_path / "big.csv"
    path.write_text(rows([(1 + i) * 1e30 for i in range(20)], GOOD_LABELS))
    bundle = load_dataset(str(path), label_column="label", val_fraction=0)
    big = bundle.train.x[:, 0]
    assert np.isfinite(big.numpy()).all() and big.std() > 0.5
