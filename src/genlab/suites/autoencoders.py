"""The autoencoders suite: MLP, ReLU, convolutional and skip-connection autoencoders, denoising, interpolation,
the comparison of all of them, a 2-D corruption, PCA against a linear autoencoder, and single-cell data.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from genlab.suites.common import class_pairs, compare, interpolations, summary_table
from genlab.suites.run import Suite
from genlab.suites.steps import ByMode, Floor, Inspect, InspectContext, Inspection, Train

NOISE = "gaussian:0.3"
# The narrow convolutional autoencoder's 2-D code needs about 1,400 steps to separate the classes (5-NN
# accuracy of the test codes, MNIST-5k): one epoch of 3,000 images at batch 32 (85 steps) left it at 0.34 (0.25
# denoising); at batch 32, 5 epochs gave 0.50 and 8 gave 0.54 (0.49 denoising). Batches of 16 make twice the
# steps of the same images at about the same cost: after 5 epochs 0.54, 0.57, 0.53 (seeds 0-2) and 0.55,
# 0.52, 0.54 denoising. The curves are evaluated once per epoch, not twice: each evaluation passes the 10,000 test
# images through the network.
CONV = {
    "limit": ByMode(quick=5000, full=None),
    "epochs": ByMode(quick=5, full=None),
    "batch_size": ByMode(quick=16, full=None),
    "evals_per_epoch": ByMode(quick=1, full=None),
}
# An MLP autoencoder needs about 700 steps before its 2-D code separates the classes (MNIST-5k, 5-NN
# accuracy of the test codes; 784-1000-500-250-2 tanh: 0.53 after 360 steps, 0.63 after 540, 0.665 after
# 720, i.e. 20 epochs at batch 128; the ReLU 512-256-128-2: 0.29 after 108, 0.57 after 360, 0.64 after
# 720); evaluating the test curves once per epoch instead of twice saves a third.
MLP = {
    "limit": ByMode(quick=5000, full=None),
    "epochs": ByMode(quick=20, full=None),
    "evals_per_epoch": ByMode(quick=1, full=2),
}
# The linear autoencoder's decoder reaches the PCA plane after about 1,500 Adam steps at 0.01 (MNIST-5k,
# principal angles: 87 and 82 degrees after 195 steps, 66 and 44 after 390, 19 and 2.4 after 780, 4.4 and
# 3.4 after 1,570 steps of 32 images, 2.5 and 1.0 after 1,560 of 128); steps of 32 images cost less.
LINEAR_AE = {
    "limit": ByMode(quick=5000, full=None),
    "epochs": ByMode(quick=10, full=40),
    "batch_size": ByMode(quick=32, full=128),
}
ARCHITECTURES = ("ae", "ae-relu4", "conv-ae", "skip-ae")
DENOISING = ("conv-ae", "conv-ae-denoising", "skip-ae", "skip-ae-denoising")
ENTRIES = [
    "test_reconstruction_mse",
    "test_reconstruction_mse_clean_input",
    "test_corrupted_input_mse",
    "latent_knn_accuracy",
    "latent_silhouette",
]
SINGLE_CELL = ("pbmc68k-reduced", "pbmc68k_reduced.h5ad", "bulk_labels")
TWO_D = (*ARCHITECTURES, "conv-ae-denoising", "skip-ae-denoising")  # every image autoencoder has a 2-D code
# A 2-D code that has learned the data separates its classes: below this 5-NN accuracy the embedding is
# still a curve (the 784-1000-500-250-2 autoencoder after 108 steps: 0.37), not a picture of the classes.
SEPARATES = Floor("latent_knn_accuracy", "the 5-NN accuracy of the 2-D test codes", at_least=0.6)
# The narrow convolutional autoencoder separates less: 0.59 and 0.61 after 15 epochs of MNIST-5k (two seeds).
# Its skip-connection twin is left without a floor: the skips carry the detail, so its code need not.
SEPARATES_CONV = Floor("latent_knn_accuracy", "the 5-NN accuracy of the 2-D test codes", at_least=0.5)
# Baldi & Hornik: the linear autoencoder's decoder spans the PCA plane once trained; 10 degrees apart is
# still visibly the same plane, 80 (what 195 steps gave) is an untrained one.
SAME_PLANE = Floor(
    "largest_principal_angle_deg",
    "the largest principal angle between the linear autoencoder's decoder plane and the PCA plane, in degrees",
    at_most=10,
)


def single_cell_file() -> Path | None:
    """The single-cell file in the data folder, when it and the reader for it (anndata) are there."""
    from genlab.data.registry import data_dir

    path = data_dir() / SINGLE_CELL[0] / SINGLE_CELL[1]
    return path if path.is_file() and importlib.util.find_spec("anndata") else None


def build(data: tuple[str, ...]) -> list:
    on = {"data": data[0]}
    steps = [
        Train(
            "ae",
            "ae",
            "the MLP autoencoder 784-1000-500-250-2 and back (tanh, linear 2-D code, sigmoid output, squared error)",
            {**on, **MLP},
            floors=(SEPARATES,),
        ),
        Train(
            "ae-relu4",
            "ae-relu4",
            "an MLP autoencoder with four ReLU layers each way (512-256-128-2)",
            {**on, **MLP},
            floors=(SEPARATES,),
        ),
        Train(
            "conv-ae",
            "conv-ae",
            "the convolutional autoencoder: two convolution + max-pooling layers down to "
            "a 2-D code, nearest-neighbour upsampling back",
            {**on, **CONV},
            floors=(SEPARATES_CONV,),
        ),
        Train(
            "skip-ae",
            "skip-ae",
            "the same with skip connections from each pooling layer to its upsampling layer",
            {**on, **CONV},
        ),
        Train(
            "conv-ae-denoising",
            "conv-ae",
            f"the convolutional autoencoder trained to undo Gaussian noise "
            f"({NOISE}: standard deviation 0.3 added to each pixel)",
            {**on, **CONV, "noise": NOISE},
            floors=(SEPARATES_CONV,),
        ),
        Train(
            "skip-ae-denoising",
            "skip-ae",
            "the skip-connection autoencoder trained to undo the same noise",
            {**on, **CONV, "noise": NOISE},
        ),
        Inspect(
            "interpolation-ae",
            "interpolations through the MLP autoencoder's 2-D code, within a class and between classes",
            lambda context: interpolations(context, context.runs("ae")[0]),
            uses=("ae",),
        ),
        Inspect(
            "interpolation-conv-ae",
            "the same through the convolutional autoencoder",
            lambda context: interpolations(context, context.runs("conv-ae")[0]),
            uses=("conv-ae",),
        ),
        Inspect(
            "comparison",
            "every autoencoder side by side: loss curves, embeddings and their numbers",
            comparison,
            uses=(*ARCHITECTURES, "conv-ae-denoising", "skip-ae-denoising"),
        ),
        Inspect(
            "class-pairs",
            "which classes each 2-D code puts next to each other: for each class, the classes "
            "of its test codes' nearest training codes",
            two_d_class_pairs,
            uses=TWO_D,
        ),
        Inspect(
            "corruption-2d",
            "a 2-D dataset (points on the parabola y = x^2) and its copy corrupted by Gaussian noise (gaussian:0.1)",
            corruption,
        ),
        Inspect(
            "pca-vs-linear-ae",
            "a linear autoencoder with a 2-D code against the top-2 PCA subspace",
            pca_vs_linear,
            settings={**on, **LINEAR_AE},
            floors=(SAME_PLANE,),
        ),
    ]
    path = single_cell_file()
    if path is not None:
        steps.append(
            Train(
                "single-cell-ae",
                "ae",
                f"an MLP autoencoder (765-256-64-2) on single-cell RNA "
                f"expression ({path.name}: 700 blood cells, 765 genes), coloured by the cell types in "
                f"obs['{SINGLE_CELL[2]}']",
                {
                    "data": str(path),
                    "label_key": SINGLE_CELL[2],
                    "hidden": (256, 64),
                    "epochs": ByMode(quick=5, full=15),
                    "batch_size": 64,
                    "lr": 2e-3,
                },
            )
        )
        # The cell types are the labels (obs['bulk_labels']), so the 2-D code gets its class-pair table too.
        steps.append(
            Inspect(
                "class-pairs-single-cell",
                "which cell types the single-cell code puts next to each other: for each type, the types of "
                "its test cells' nearest training cells",
                lambda context: class_pairs(context, [("single-cell-ae", context.runs("single-cell-ae")[0])]),
                uses=("single-cell-ae",),
            )
        )
    else:
        steps.append(Inspect("single-cell-ae", "the single-cell embedding: skipped", single_cell_missing))
    return steps


def comparison(context: InspectContext) -> Inspection:
    """Two compare-runs figures (the four architectures; plain against denoising) and one table of numbers."""
    runs = {name: context.runs(name)[0] for name in (*ARCHITECTURES, "conv-ae-denoising", "skip-ae-denoising")}
    inspection = Inspection()
    inspection.figures.append(
        compare(
            context,
            [runs[n] for n in ARCHITECTURES],
            "architectures",
            "the four autoencoders: loss curves, test embeddings (the 2-D codes "
            "coloured by class) and summary numbers side by side",
        )
    )
    inspection.figures.append(
        compare(
            context,
            [runs[n] for n in DENOISING],
            "denoising",
            f"plain against denoising ({NOISE}) convolutional and skip-connection autoencoders, side by side",
        )
    )
    inspection.tables.append(
        summary_table(
            list(runs.items()),
            ENTRIES,
            "every autoencoder's test reconstruction error (mean squared error per pixel; for the denoising ones "
            "from noisy inputs, from clean inputs, and of the noisy input itself), and how well its 2-D code "
            "separates the classes (5-NN accuracy, silhouette)",
        )
    )
    return inspection


def two_d_class_pairs(context: InspectContext) -> Inspection:
    return class_pairs(context, [(name, context.runs(name)[0]) for name in TWO_D])


def corruption(context: InspectContext) -> Inspection:
    from genlab.data.toy2d import corrupt_toy

    path = corrupt_toy("parabola", "gaussian:0.1", n=1000, seed=0, out=context.folder / "parabola-gaussian.png")
    return Inspection(
        figures=[
            (
                path.name,
                "1,000 points on the parabola y = x^2 (x uniform in [-1, 1]) and the "
                "same points with Gaussian noise of standard deviation 0.1 added to "
                "each coordinate: what a denoising autoencoder learns to undo",
            )
        ]
    )


def pca_vs_linear(context: InspectContext) -> Inspection:
    from genlab.latent.pca_linear import compare_pca_linear_ae

    settings = context.settings
    result = compare_pca_linear_ae(
        settings["data"],
        2,
        out=context.folder,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        limit=settings["limit"],
        progress=context.progress,
    )
    angles = ", ".join(f"{a:.1f}" for a in result.principal_angles_deg)
    table = {
        "caption": "PCA against a linear autoencoder with a 2-D code: the principal angles between the "
        "decoder's column space and the top-2 PCA subspace (0 degrees: the same plane) and "
        "the test reconstruction error of each (mean squared error per pixel)",
        "columns": [
            "principal angles (degrees)",
            "PCA test MSE",
            "linear autoencoder test MSE",
            "variance explained by 2 components",
        ],
        "rows": [[angles, result.pca_test_mse, result.linear_ae_test_mse, result.explained_variance_ratio]],
    }
    return Inspection(
        figures=[
            (
                Path(result.figure).name,
                "PCA against the linear autoencoder: principal angles, "
                "reconstruction errors, the training curve, and the "
                "two PCA components beside the autoencoder's decoder "
                "directions",
            )
        ],
        tables=[table],
        values={
            "principal_angles_deg": result.principal_angles_deg,
            "largest_principal_angle_deg": result.largest_angle_deg,
            "pca_test_mse": result.pca_test_mse,
            "linear_ae_test_mse": result.linear_ae_test_mse,
        },
    )


def single_cell_missing(context: InspectContext) -> Inspection:
    from genlab.data.registry import data_dir

    path = data_dir() / SINGLE_CELL[0] / SINGLE_CELL[1]
    reason = (
        "the anndata package is not installed (pip install 'genlab[tabular]')"
        if path.is_file()
        else f"{path} is not there"
    )
    return Inspection(
        notes=[
            f"The single-cell embedding was skipped: {reason}. Put the AnnData file there (or "
            f"run 'genlab train ae --data FILE.h5ad --label-key KEY') to add it."
        ]
    )


SUITE = Suite(
    name="autoencoders",
    title="Autoencoders",
    description="MLP autoencoders (784-1000-500-250-2 with tanh, and a four-layer ReLU one), convolutional ones "
    f"with and without skip connections, and denoising versions of those two ({NOISE}); their "
    "reconstructions, 2-D embeddings and interpolations within and between classes; all of them "
    "compared; a 2-D dataset and its corruption; PCA against a linear autoencoder; and the embedding "
    "of single-cell RNA data when it is available.",
    data=("mnist",),
    build=build,
)
