"""Tabular data (CSV, .npy, .h5ad): loading, splitting, standardising, training on it, and bad files."""

import json
import sys

import numpy as np
import pytest
from conftest import SHARED_DATA

from helpers import run_cli

from genlab.data.datasets import load_dataset
from genlab.errors import GenlabError

DATA = SHARED_DATA
PBMC = DATA / "pbmc68k-reduced" / "pbmc68k_reduced.h5ad"
needs_pbmc = pytest.mark.skipif(not PBMC.is_file(), reason=f"{PBMC} not found")


def blobs(n_per_class=60, classes=3, features=5, seed=0):
    """Well-separated Gaussian blobs with per-feature offsets and scales far from standard."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (classes, features))
    x = np.concatenate([c + rng.normal(0, 1, (n_per_class, features)) for c in centres])
    x = x * np.arange(1, features + 1) * 10 + 100
    y = np.repeat(np.arange(classes), n_per_class)
    return x, y


@pytest.fixture
def blob_csv(tmp_path):
    x, y = blobs()
    names = ["setosa", "versicolor", "virginica"]
    path = tmp_path / "blobs.csv"
    lines = ["f0,f1,species,f2,f3,f4"]
    for row, label in zip(x, y):
        values = [f"{v:.6f}" for v in row]
        lines.append(",".join(values[:2] + [names[label]] + values[2:]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_loads_split_and_standardised(blob_csv):
    bundle = load_dataset(str(blob_csv), label_column="species", val_fraction=0.0, seed=3)
    assert bundle.kind == "tabular"
    assert bundle.classes == ("setosa", "versicolor", "virginica")
    assert bundle.extra["features"] == ("f0", "f1", "f2", "f3", "f4")
    assert bundle.train.x.dtype.is_floating_point and bundle.train.x.shape == (144, 5)
    assert len(bundle.test) == 36  # 20% of each class of 60
    assert np.bincount(bundle.test.y.numpy()).tolist() == [12, 12, 12]
    train = bundle.train.x.numpy()
    np.testing.assert_allclose(train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train.std(0), 1, atol=1e-4)
    # Test rows use the training statistics, so they are close to, not exactly, standard.
    assert not np.allclose(bundle.test.x.numpy().mean(0), 0, atol=1e-6)
    again = load_dataset(str(blob_csv), label_column="species", val_fraction=0.0, seed=3)
    assert again.fingerprint == bundle.fingerprint
    other = load_dataset(str(blob_csv), label_column="species", val_fraction=0.0, seed=4)
    assert other.fingerprint != bundle.fingerprint


def test_npy_with_labels_and_validation_split(tmp_path):
    x, y = blobs(n_per_class=50, classes=2, features=4)
    np.save(tmp_path / "x.npy", x.reshape(len(x), 2, 2))  # any trailing shape is flattened
    np.save(tmp_path / "y.npy", np.array(["a", "b"])[y])
    bundle = load_dataset(str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy"), val_fraction=0.25)
    assert bundle.input_shape == (4,)
    assert bundle.classes == ("a", "b")
    assert len(bundle.test) == 20 and len(bundle.train) + len(bundle.val) == 80 and len(bundle.val) == 20


def test_mlp_classifier_trains_on_a_csv(blob_csv, tmp_path, capsys):
    code, out, err = run_cli(
        [
            "train",
            "mlp",
            "--data",
            str(blob_csv),
            "--label-column",
            "species",
            "--epochs",
            "5",
            "--batch-size",
            "32",
            "-o",
            str(tmp_path / "run"),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.95


def test_autoencoder_on_a_csv_from_another_directory(blob_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(blob_csv.parent)
    code, out, err = run_cli(
        [
            "train",
            "ae",
            "--data",
            blob_csv.name,
            "--label-column",
            "species",
            "--hidden",
            "16",
            "--epochs",
            "30",
            "--batch-size",
            "32",
            "-o",
            str(tmp_path / "ae"),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    run = tmp_path / "ae"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["latent_knn_accuracy"] > 0.95
    assert (run / "figures" / "embedding.png").is_file() and (run / "figures" / "loss.png").is_file()
    assert not (run / "figures" / "reconstructions.png").exists()  # no image grids for tabular data
    # The stored data path is absolute, so the run reopens from anywhere.
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        ["interpolate", str(run), "--from", "class:setosa", "--to", "class:2", "--steps", "5"], capsys
    )
    assert code == 0, err
    assert len(list((run / "figures").glob("interpolation-*.png"))) == 2


@needs_pbmc
def test_autoencoder_embeds_pbmc(tmp_path, capsys):
    code, out, err = run_cli(
        [
            "train",
            "ae",
            "--data",
            str(PBMC),
            "--label-key",
            "bulk_labels",
            "--hidden",
            "256,64",
            "--epochs",
            "15",
            "--batch-size",
            "64",
            "--lr",
            "2e-3",
            "-o",
            str(tmp_path / "pbmc"),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "pbmc" / "summary.json").read_text())
    # 140 test cells of 10 types; the largest type is 34% of the cells.
    assert summary["latent_knn_accuracy"] > 0.6
    config = json.loads((tmp_path / "pbmc" / "config.json").read_text())["config"]
    assert config["label_key"] == "bulk_labels" and config["data"] == str(PBMC)


@needs_pbmc
def test_h5ad_without_anndata_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "anndata", None)  # makes `import anndata` raise ImportError
    with pytest.raises(GenlabError, match=r"needs the optional anndata package: pip install 'genlab\[tabular\]'"):
        load_dataset(str(PBMC), label_key="bulk_labels")


@pytest.fixture
def bad_csvs(tmp_path):
    files = {
        "text.csv": "a,b,label\n1,2,x\n3,hello,y\n",
        "missing.csv": "a,b,label\n1,2,x\n3,,y\n4,NA,y\n",
        "ragged.csv": "a,b,label\n1,2,x\n3,y\n",
        "nolabel.csv": "a,b,label\n1,2,x\n3,4,\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "name, extra, message",
    [
        ("text.csv", ["--label-column", "label"], "text.csv: column 'b' is not numeric ('hello' at line 3)"),
        (
            "missing.csv",
            ["--label-column", "label"],
            "missing.csv: column 'b' has 2 missing value(s) (first at line 3)",
        ),
        ("ragged.csv", ["--label-column", "label"], "ragged.csv line 3 has 2 fields but the header has 3"),
        ("nolabel.csv", ["--label-column", "label"], "label column 'label' has 1 missing value(s)"),
        (
            "text.csv",
            ["--label-column", "kind"],
            "--label-column 'kind' is not a column of text.csv; its columns are: a, b, label",
        ),
        ("text.csv", [], "needs its labels: give --label-column NAME"),
        ("text.csv", ["--label-key", "label"], "--label-key does not apply to .csv files; give --label-column NAME"),
        ("absent.csv", ["--label-column", "label"], "absent.csv: no such file"),
    ],
)
def test_bad_tabular_input(bad_csvs, name, extra, message, capsys):
    code, out, err = run_cli(
        ["train", "ae", "--data", str(bad_csvs / name), *extra, "-q", "-o", str(bad_csvs / "run")], capsys
    )
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_label_option_with_a_named_dataset(capsys):
    code, out, err = run_cli(["train", "ae", "--data", "mnist-sample", "--label-column", "y"], capsys)
    assert code == 2
    assert "--label-column applies to tabular files (.csv, .npy, .h5ad), not to the dataset 'mnist-sample'" in err


def test_npy_labels_of_the_wrong_length(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((10, 3)))
    np.save(tmp_path / "y.npy", np.zeros(9, dtype=int))
    code, out, err = run_cli(
        ["train", "ae", "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy")], capsys
    )
    assert code == 2
    assert "--labels y.npy has shape (9,); expected one label per row of x.npy, shape (10,)" in err
