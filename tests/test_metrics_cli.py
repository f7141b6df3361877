"""`genlab compare` end to end: sample-set specs, the table and JSON, the judge space, bad input."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, needs_shared_data

from genlab.cli import main
from genlab.metrics.sets import load_set
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)

SHARED = SHARED_DATA
needs_mnist = needs_shared_data


def run_cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def run_ok(args, capsys) -> str:
    main(args)
    return capsys.readouterr().out


def test_compare_named_distributions_prints_the_table_and_writes_json(tmp_path, capsys):
    target = tmp_path / "result.json"
    out = run_ok(
        [
            "compare",
            "uniform:3",
            "normal:3",
            "-n",
            "300",
            "-m",
            "kl,emd,mmd,fd",
            "--permutations",
            "20",
            "-o",
            str(target),
        ],
        capsys,
    )
    assert "metric" in out and "estimator and settings" in out
    record = json.loads(target.read_text())
    rows = {(r["metric"], r["direction"]): r for r in record["rows"]}
    assert rows[("kl_knn", "B||A")]["value"] == "inf"  # normal || uniform
    assert rows[("kl_exact", "B||A")]["value"] == "inf"
    assert rows[("kl_exact", "A||B")]["value"] == pytest.approx(1.5 * math.log(2 * math.pi) + 0.5)
    assert math.isfinite(rows[("kl_knn", "A||B")]["value"])
    assert rows[("kl_histogram", "A||B")]["settings"]["pseudo_count"] == 0.5
    assert 0 < rows[("mmd2_unbiased", "A,B")]["extra"]["p_value"] <= 1
    assert all(isinstance(r["seconds"], float) for r in record["rows"] if not r["metric"].endswith("_exact"))
    assert record["a"]["n"] == 300 and record["settings"]["permutations"] == 20


def test_the_two_sets_of_one_spec_are_independent_draws():
    a = load_set("normal:2", n=50, seed=0)
    b = load_set("normal:2", n=50, seed=1)
    assert not np.allclose(a.data, b.data)


def test_npy_and_npz_files_and_run_samples(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.normal(size=(80, 4)))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    np.savez(run / "samples.npz", images=rng.normal(size=(90, 4)) + 3, labels=np.zeros(90))
    out = run_ok(["compare", str(tmp_path / "a.npy"), str(run), "-m", "emd,prdc"], capsys)
    assert "emd" in out and "coverage" in out
    out = run_ok(["compare", str(tmp_path / "a.npy"), f"{run}:samples.npz", "-m", "emd", "-n", "40"], capsys)
    assert "(40 samples)" in out


@needs_mnist
def test_dataset_slices_in_a_pca_space(capsys, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(SHARED))
    out = run_ok(
        [
            "compare",
            "mnist:test[0:150]",
            "mnist:test[150:300]",
            "-m",
            "kl,mmd,fd",
            "--space",
            "pca:10",
            "--permutations",
            "50",
        ],
        capsys,
    )
    assert "mnist test[0:150] (150 images)" in out and "pca:10" in out


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A small classifier run: a judge for the judge space, and a run without a sample step."""
    from genlab.models.registry import get_model
    from genlab.train import engine

    spec = get_model("mlp")
    # A judge must be trained by the judge recipe; one epoch is too short to pass its check, so it is off.
    config = spec.make_config(
        data="mnist-sample",
        epochs=1,
        hidden=(32,),
        device="cpu",
        val_fraction=0.0,
        augment="degrade",
        max_label_distance=1.0,
    )
    return engine.train(spec, config, out=tmp_path_factory.mktemp("runs") / "mlp", progress=False).run.path


def test_the_judge_space_uses_a_classifier_run(tmp_path, capsys, classifier):
    images = load_set("mnist-sample:test[0:100]").data
    np.save(tmp_path / "real.npy", images)
    np.save(tmp_path / "noise.npy", np.random.default_rng(0).uniform(size=images.shape).astype(np.float32))
    out = run_ok(
        [
            "compare",
            str(tmp_path / "real.npy"),
            str(tmp_path / "noise.npy"),
            "-m",
            "fd,prdc",
            "--judge",
            str(classifier),
        ],
        capsys,
    )
    assert f"judge({classifier})" in out


def test_a_run_without_samples_or_a_sample_step_is_a_one_line_error(capsys, classifier):
    code, _, err = run_cli(["compare", str(classifier), "normal:784", "-m", "emd"], capsys)
    assert code == 2 and "'mlp' runs have no sample step, which 'compare' needs" in err


def test_a_missing_judge_is_a_one_line_error_that_says_how_to_train_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    code, _, err = run_cli(["compare", "mnist-sample:test[0:50]", "mnist-sample:test[50:100]", "-m", "fd"], capsys)
    assert code == 2 and "train one with 'genlab judge train --data mnist'" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["uniform:3", "normal:2"], "A has dimension 3 but B has 2"),
        (["uniform:3", "normal:3", "-n", "4", "-m", "kl"], "needs at least 6 points in each set; A has 4"),
        (["uniform:3", "normal:3", "-m", "kl,wasserstein"], "unknown metric 'wasserstein'"),
        (["uniform:3", "normal:3", "--space", "tsne"], "unknown space 'tsne'"),
        (["uniform:3", "normal:3", "--space", "pca:x"], "malformed space 'pca:x'"),
        (["mnist-sample:test[0:abc]", "normal:3"], "malformed dataset slice 'mnist-sample:test[0:abc]'"),
        (["mnist-sample:test[400:900]", "normal:3"], "need START < STOP <= 500"),
        (["uniform:three", "normal:3"], "malformed distribution 'uniform:three'"),
        (["nothing-here.npy", "normal:3"], "cannot read sample set 'nothing-here.npy'"),
        (["uniform:3", "normal:3", "--k", "0"], "--k must be in [1, inf], got 0"),
        (["uniform:3", "normal:3", "-n", "0"], "-n must be at least 1, got 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message, capsys):
    code, out, err = run_cli(["compare", *args], capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("genlab: error: ")


def test_nan_in_a_file_is_one_line_and_exit_code_2(tmp_path, capsys):
    data = np.random.default_rng(0).normal(size=(30, 3))
    data[7, 2] = np.inf
    np.save(tmp_path / "bad.npy", data)
    code, _, err = run_cli(["compare", "normal:3", str(tmp_path / "bad.npy"), "-m", "emd"], capsys)
    assert code == 2 and "contains 1 NaN or infinite values (first in sample 7)" in err


def _bad_files(folder: Path) -> dict[str, Path]:
    """The inputs of issue 15 that used to crash or pass silently, one file each."""
    rng = np.random.default_rng(0)
    files = {
        name: folder / f"{name}.{'npz' if name == 'object' else 'npy'}"
        for name in ("zero_d", "object", "complex", "one_a", "one_b", "huge")
    }
    np.save(files["zero_d"], np.array(3.0))
    np.savez(files["object"], images=np.array([[1.0, 2.0], [3.0]], dtype=object))
    np.save(files["complex"], rng.normal(size=(40, 3)) + 1j * rng.normal(size=(40, 3)))
    np.save(files["one_a"], np.ones((1, 3)))
    np.save(files["one_b"], np.zeros((1, 3)))
    np.save(files["huge"], np.full((20, 3), 1e300))
    return files


@pytest.mark.parametrize(
    "a, b, metrics, message",
    [
        (
            "zero_d",
            "normal:3",
            "emd",
            "zero_d.npy holds a single number (a 0-d array), not a set of samples; "
            "save an array [n, ...] with one sample per row",
        ),
        (
            "object",
            "normal:2",
            "emd",
            "object.npz holds 'images' as an array of Python objects, which genlab does "
            "not unpickle; save a numeric array",
        ),
        (
            "complex",
            "normal:3",
            "emd",
            "complex.npy) holds complex values; distances here are between real vectors: "
            "give the real and imaginary parts as separate columns, or the magnitudes",
        ),
        ("one_a", "one_b", "sinkhorn", "the Sinkhorn divergence needs at least 2 points in each set; A has 1"),
        (
            "huge",
            "normal:3",
            "emd",
            "huge.npy) has values up to 1e+300, beyond the float32 range (3.4e38) that the "
            "estimators compute in; rescale the data",
        ),
    ],
)
def test_inputs_that_used_to_crash_or_pass_are_one_line_errors(a, b, metrics, message, tmp_path, capsys):
    files = _bad_files(tmp_path)
    code, _, err = run_cli(["compare", str(files[a]), str(files.get(b, b)), "-m", metrics], capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("genlab: error: ")


def test_one_point_against_one_point_gives_the_exact_emd(tmp_path, capsys):
    files = _bad_files(tmp_path)
    record = tmp_path / "out.json"
    run_ok(["compare", str(files["one_a"]), str(files["one_b"]), "-m", "emd", "-o", str(record)], capsys)
    assert json.loads(record.read_text())["rows"][0]["value"] == pytest.approx(math.sqrt(3))
