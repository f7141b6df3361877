"""What issue 20 added to the suites: floors and their warnings, the class-pair neighbour table, the VAE
against the autoencoder on the same test images, the Fashion-MNIST GANs, and the gradient check."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from conftest import needs_shared_data

from genlab.errors import GenlabError
from genlab.latent.embed import closest_class_pairs, knn_accuracy, neighbour_classes, projector_2d, silhouette
from genlab.suites import get_suites
from genlab.suites.run import Suite, run_suites
from genlab.suites.steps import Floor, Inspect, InspectContext, Inspection, Train

TINY = {"data": "mnist-sample", "limit": 300, "epochs": 1}


def quiet(line: str) -> None:
    pass


def around(centre, radius: float, count: int) -> list[list[float]]:
    """`count` points at distance `radius` from `centre`, spread over the circle."""
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return [[centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)] for a in angles]


def test_knn_accuracy_votes_as_scikit_learn_does():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    for dim in (2, 20):
        train_y, test_y = rng.integers(0, 10, 3000), rng.integers(0, 10, 2500)
        train = rng.normal(size=(3000, dim)).astype(np.float32)
        test = rng.normal(size=(2500, dim)).astype(np.float32)
        train[:, 0] += 0.5 * train_y  # the classes overlap: many wrong and tied votes
        test[:, 0] += 0.5 * test_y
        expected = KNeighborsClassifier(n_neighbors=5).fit(train, train_y).score(test, test_y)
        assert knn_accuracy(train, train_y, test, test_y) == pytest.approx(expected, abs=2 / 2500)


def test_silhouette_and_pca_projection_match_scikit_learn():
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 6000)
    codes = rng.normal(size=(6000, 2)).astype(np.float32)
    codes[:, 0] += 0.4 * labels
    labels[:1] = 10  # a class of one point scores 0, as scikit-learn scores it
    expected = silhouette_score(codes, labels, sample_size=5000, random_state=3)
    assert silhouette(codes, labels, seed=3) == pytest.approx(expected, abs=1e-6)  # scikit-learn: float32
    wide = rng.normal(size=(2000, 20)) * np.arange(1, 21)
    project, how = projector_2d(wide)
    assert "PCA" in how
    np.testing.assert_allclose(project(wide[:50]), PCA(2, random_state=0).fit(wide).transform(wide[:50]), atol=1e-9)


def test_neighbour_classes_on_a_constructed_embedding():
    # Around the origin 3 class-0 codes at distance 0.1 and 2 class-1 codes at 0.2; around (10, 0) five
    # class-1 codes; around (0, 10) four class-2 codes at 0.1 and one class-0 code at 0.2. Class 3 has
    # training codes far away but no test code.
    train = [
        *around((0, 0), 0.1, 3),
        *around((0, 0), 0.2, 2),
        *around((10, 0), 0.1, 5),
        *around((0, 10), 0.1, 4),
        *around((0, 10), 0.2, 1),
        *around((50, 50), 0.1, 5),
    ]
    train_y = [0] * 3 + [1] * 2 + [1] * 5 + [2] * 4 + [0] + [3] * 5
    test = [[0, 0], [10, 0], [0, 10]]
    matrix = neighbour_classes(np.array(train), np.array(train_y), np.array(test), np.array([0, 1, 2]), 4, k=5)
    np.testing.assert_allclose(matrix, [[0.6, 0.4, 0, 0], [0, 1, 0, 0], [0.2, 0, 0.8, 0], [0, 0, 0, 0]])
    pairs = closest_class_pairs(matrix, 3)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (0, 2), (0, 3)]
    np.testing.assert_allclose([share for _, _, share in pairs], [0.2, 0.1, 0.0])


def test_a_floor_needs_one_bound_and_words_its_warning():
    floor = Floor("latent_knn_accuracy", "the 5-NN accuracy of the code", at_least=0.6)
    assert floor.missed(0.7, "step ae") is None
    warning = floor.missed(0.37, "step ae")
    assert warning.startswith(
        "step ae: the 5-NN accuracy of the code (latent_knn_accuracy) is 0.37, short of "
        "the floor latent_knn_accuracy >= 0.6"
    )
    assert "not measured" in floor.missed(None, "step ae")
    assert Floor("angle", "an angle", at_most=10).missed(87.0, "step p").startswith("step p: an angle (angle) is 87")
    with pytest.raises(GenlabError, match="exactly one of at_least and at_most"):
        Floor("x", "x", at_least=1, at_most=2)


def numbers(context: InspectContext) -> Inspection:
    return Inspection(notes=["measured"], values={"error": 0.5})


def test_a_result_below_its_floor_is_flagged_at_that_result_in_the_report(tmp_path):
    def build(data):
        return [
            Train(
                "logreg",
                "logreg",
                "a logistic regression",
                {**TINY, "data": data[0]},
                floors=(
                    Floor("test_accuracy", "its test accuracy", at_least=0.999),
                    Floor("test_accuracy", "its test accuracy", at_least=0.1),
                ),
            ),
            Inspect(
                "numbers",
                "an inspection that measures an error",
                numbers,
                uses=("logreg",),
                floors=(Floor("error", "the error", at_most=0.1),),
            ),
        ]

    result = run_suites(
        [Suite("floored", "Floored", "", ("mnist-sample",), build)], tmp_path, quick=True, progress=False, log=quiet
    )
    record = json.loads((tmp_path / "floored" / "suite.json").read_text())
    accuracy = result.outcomes["floored"]["logreg"].runs[0].summary["test_accuracy"]
    assert [w["step"] for w in record["warnings"]] == ["logreg", "numbers"]
    assert record["steps"][0]["floors"] == ["test_accuracy >= 0.999", "test_accuracy >= 0.1"]
    assert record["steps"][0]["warnings"] == [
        f"step logreg: its test accuracy (test_accuracy) is {accuracy:.4g}, "
        "short of the floor test_accuracy >= 0.999 under which the model has "
        "not learned enough; its results show an unfinished model, not a "
        "finding."
    ]
    # The inspection reads the weak run: it carries that warning as well as its own.
    inspection = record["inspections"][0]
    assert inspection["values"] == {"error": 0.5} and len(inspection["warnings"]) == 2
    page = result.html.read_text()
    assert page.count("Warning, below the floor: step logreg: its test accuracy") == 2
    assert (
        "Warning, below the floor: step numbers: the error (error) is 0.5, short of the floor error &lt;= 0.1" in page
    )
    assert "(floor: test_accuracy &gt;= 0.999; test_accuracy &gt;= 0.1)" in page


class Identity:
    """A 'model' whose code is the image itself: reconstruction is perfect and interpolating its codes is
    blending pixels, so `measure` must give zero error and the cross-fade's confidence."""

    def __init__(self, data):
        self.data = data

    def encode(self, model, x):
        return x.reshape(len(x), -1)

    def decode(self, model, z):
        return z.reshape(len(z), 1, 28, 28)


def tiny_judge(tmp_path):
    from genlab.judge import load_judge
    from genlab.models.registry import get_model
    from genlab.train import engine

    spec = get_model("mlp")
    # A judge must be of the degradation recipe; three epochs are too few for its label-distance check.
    config = spec.make_config(**{**TINY, "epochs": 3}, hidden=(32,), augment="degrade", max_label_distance=1.0)
    engine.train(spec, config, out=tmp_path / "judge", progress=False)
    return load_judge(str(tmp_path / "judge"), device="cpu")


def test_measuring_an_identity_model_gives_zero_error_and_the_crossfade(tmp_path):
    from genlab.data.datasets import load_dataset
    from genlab.latent.same_images import crossfade_confidence, measure

    judge = tiny_judge(tmp_path)
    data = load_dataset("mnist-sample", val_fraction=0.0, device="cpu")
    result = measure(Identity(data), None, judge, images=200, pairs=40)
    yardsticks = crossfade_confidence(data, judge, images=200, pairs=40)
    assert result.images == 200 and result.pairs == 40
    assert result.test_mse == 0.0
    crossfade, real = yardsticks["crossfade"], yardsticks["real"]
    assert result.interpolation_confidence == pytest.approx(crossfade["confidence"], abs=1e-6)
    assert result.interpolation_unrecognisable_share == crossfade["unrecognisable_share"]
    assert crossfade["confidence"] < real["confidence"]  # blended digits are less recognisable than real ones
    # The threshold is the judge's 1st percentile of real test images' top probability: few real ones fall below.
    assert real["unrecognisable_share"] < 0.1
    assert 0.5 < result.knn_accuracy <= 1.0  # 5-NN in pixel space on MNIST


def test_vae_against_autoencoder_and_class_pairs_of_their_codes(tmp_path):
    from genlab.suites.common import class_pairs
    from genlab.suites.steps import FolderOf
    from genlab.suites.vae import vae_vs_ae

    def build(data):
        on = {**TINY, "data": data[0]}
        return [
            Train("judge", "mlp", "", {**on, "hidden": (32,), "augment": "degrade", "max_label_distance": 1.0}),
            Train("vae", "vae", "", {**on, "iwae_k": 2, "iwae_images": 20}),
            Train("ae", "ae", "", {**on, "hidden": (200,), "latent_dim": 20, "loss": "bce"}),
            Inspect(
                "vae-vs-ae",
                "",
                lambda context: vae_vs_ae(context, ("vae", "ae")),
                uses=("judge", "vae", "ae"),
                settings={"images": 300, "pairs": 50, "judge": FolderOf("judge")},
            ),
            Inspect(
                "class-pairs", "", lambda context: class_pairs(context, [("ae", context.runs("ae")[0])]), uses=("ae",)
            ),
        ]

    result = run_suites(
        [Suite("versus", "Versus", "", ("mnist-sample",), build)], tmp_path, quick=True, progress=False, log=quiet
    )
    outcomes = result.outcomes["versus"]
    comparison = outcomes["vae-vs-ae"].inspection
    table = comparison.tables[0]
    assert [row[0] for row in table["rows"]][:2] == ["vae (vae)", "ae (ae)"]
    for row, name in zip(table["rows"], ("vae", "ae")):
        measured = comparison.values[name]
        assert measured["images"] == 300 and measured["pairs"] == 50  # the same images for both
        assert row[1:] == [
            measured[k]
            for k in (
                "test_mse",
                "test_bce_nats",
                "knn_accuracy",
                "interpolation_confidence",
                "interpolation_unrecognisable_share",
            )
        ]
        assert 0 <= measured["interpolation_unrecognisable_share"] <= 1
        # Three steps of training: worse than a trained model, still a reconstruction and a code.
        assert 0 < measured["test_mse"] < 0.3 and measured["test_bce_nats"] > 0
        assert 0.1 <= measured["knn_accuracy"] <= 1 and 0.1 <= measured["interpolation_confidence"] <= 1
    crossfade = comparison.values["yardsticks"]["crossfade"]
    assert table["rows"][2][-2:] == [crossfade["confidence"], crossfade["unrecognisable_share"]]
    assert "unrecognisable share of interpolations" in table["columns"]

    pairs = outcomes["class-pairs"].inspection
    matrix = np.array(pairs.values["ae"]["matrix"])
    assert matrix.shape == (10, 10)
    np.testing.assert_allclose(matrix.sum(1), 1, atol=1e-3)
    assert len(pairs.tables) == 2 and len(pairs.tables[1]["rows"]) == 10
    assert (outcomes["class-pairs"].folder / "neighbour_classes.png").is_file()
    assert "closest class pairs" in result.html.read_text()


def test_the_gan_suite_trains_both_gans_on_fashion_mnist_too():
    steps = {step.name: step for step in get_suites("gan")[0].steps()}
    for name, model in (("judge-fashion-mnist", "cnn"), ("gan-fashion-mnist", "gan"), ("cgan-fashion-mnist", "cgan")):
        assert steps[name].model == model and steps[name].settings["data"] == "fashion-mnist"
    assert steps["gan-fashion-mnist"].settings["judge"].step == "judge-fashion-mnist"
    assert steps["judge-scores-fashion-mnist"].uses == ("gan-fashion-mnist", "cgan-fashion-mnist")
    assert "judge-fashion-mnist" not in {s.name for s in get_suites("gan")[0].steps(("mnist",))}


@needs_shared_data
def test_the_fashion_mnist_gan_steps_run(tmp_path):
    from genlab.suites.gan import other_dataset_steps

    def build(data):
        tiny = {"limit": 300, "epochs": 1}

        # One epoch is too short for the judge's label-distance check, which is not what this test is about.
        def lenient_for(step):
            return {"max_label_distance": 1.0} if step.model == "cnn" else {}

        return [
            dataclasses.replace(step, settings={**step.settings, **tiny, **lenient_for(step)})
            if isinstance(step, Train)
            else step
            for step in other_dataset_steps(data[0])
        ]

    result = run_suites(
        [Suite("fashion", "Fashion", "", ("fashion-mnist",), build)], tmp_path, quick=True, progress=False, log=quiet
    )
    outcomes = result.outcomes["fashion"]
    cgan = outcomes["cgan-fashion-mnist"].runs[0].summary
    assert "conditional_accuracy" in cgan and len(cgan["sample_class_histogram"]) == 10
    table = outcomes["judge-scores-fashion-mnist"].inspection.tables[0]
    assert [row[0] for row in table["rows"]] == ["gan-fashion-mnist", "cgan-fashion-mnist"]
    assert (tmp_path / "fashion" / "judge-scores-fashion-mnist" / "class_frequencies.png").is_file()
    record = json.loads((tmp_path / "fashion" / "suite.json").read_text())
    # One epoch of 300 images is far below the floors: the record says so instead of presenting the numbers.
    assert any(w["step"] == "cgan-fashion-mnist" for w in record["warnings"])


def test_the_gradient_check_agrees(tmp_path):
    from genlab.suites.classifiers import gradient_check

    inspection = gradient_check(InspectContext(tmp_path, "quick", {}, {}))
    assert inspection.values["max_rel_diff"] < 1e-10
    assert inspection.values["finite_difference_max_abs_diff"] < 1e-5
    assert [row[-1] for row in inspection.tables[0]["rows"]] == ["yes", "yes"]
    assert torch.get_default_dtype() == torch.float32  # the check's float64 stays local


@needs_shared_data
def test_the_single_cell_code_gets_a_class_pair_table_of_its_cell_types(tmp_path):
    from genlab.suites.autoencoders import build as autoencoder_steps
    from genlab.suites.autoencoders import single_cell_file

    if single_cell_file() is None:
        pytest.skip("the single-cell file or the anndata package is not here")

    def build(data):
        chosen = [s for s in autoencoder_steps(data) if s.name in ("single-cell-ae", "class-pairs-single-cell")]
        return [
            dataclasses.replace(s, settings={**s.settings, "epochs": 1}) if isinstance(s, Train) else s for s in chosen
        ]

    result = run_suites(
        [Suite("cells", "Cells", "", ("mnist",), build)], tmp_path, quick=True, progress=False, log=quiet
    )
    outcomes = result.outcomes["cells"]
    types = outcomes["single-cell-ae"].runs[0].summary
    inspection = outcomes["class-pairs-single-cell"].inspection
    measured = inspection.values["single-cell-ae"]
    matrix = np.array(measured["matrix"])
    k = len(measured["classes"])
    assert k > 2 and matrix.shape == (k, k)  # one row and column per cell type (obs['bulk_labels'])
    present = matrix.sum(1) > 0  # a type with no test cell has an empty row
    np.testing.assert_allclose(matrix[present].sum(1), 1, atol=1e-3)
    assert [row[0] for row in inspection.tables[1]["rows"]] == measured["classes"]
    assert inspection.tables[0]["rows"][0][:2] == ["single-cell-ae", types["latent_knn_accuracy"]]
    assert (outcomes["class-pairs-single-cell"].folder / "neighbour_classes.png").is_file()


def test_the_gan_suites_comparison_runs_never_repeat_the_gan_step():
    from genlab.models.registry import get_model
    from genlab.suites.steps import resolve

    steps = {step.name: step for step in get_suites("gan")[0].steps()}
    model = get_model("gan").make_config()
    defaults = {name: getattr(model, name) for name in ("lr_d", "lr_g")}
    for mode in ("quick", "full"):

        def rates(settings):
            given = {k: resolve(settings.get(k), mode, {}) for k in defaults}
            return tuple(defaults[k] if given[k] is None else given[k] for k in defaults)

        base = rates(steps["gan"].settings)
        assert rates(steps["gan-fashion-mnist"].settings) == base
        assert rates(steps["step-ratios"].settings) == base  # the step ratios vary only the ratio
        points = [
            rates({**steps["learning-rates"].settings, **p}) for p in resolve(steps["learning-rates"].points, mode, {})
        ]
        assert base not in points and len(set(points)) == len(points)
    # Quick runs are short: the MLP GAN's discriminator learns five times faster there, at batch 64 (docs/gan.md,
    # short runs); full runs keep the model's defaults (None: not given).
    quick, full = ({k: resolve(steps["gan"].settings.get(k), mode, {}) for k in defaults} for mode in ("quick", "full"))
    assert quick == {"lr_d": 1e-3, "lr_g": 2e-4} and full == {"lr_d": None, "lr_g": None}
    assert resolve(steps["gan"].settings["batch_size"], "quick", {}) == 64
