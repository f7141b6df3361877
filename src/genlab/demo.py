"""`genlab demo`: a short offline tour of every family on the embedded mnist-sample, ending in a report.

It is a small suite (genlab.suites): a logistic regression and a CNN, an autoencoder with a 2-D code, a
VAE and a GAN (judged by the CNN), then the distances between real test images and the samples of the
VAE and the GAN. Run again into the same folder, it reuses what finished.
"""

from __future__ import annotations

from pathlib import Path

from genlab.suites.divergence_tables import divergence_table
from genlab.suites.run import Suite, SuiteResult, run_suites
from genlab.suites.steps import FolderOf, Inspect, InspectContext, Inspection, Train

DATA = "mnist-sample"
N = 250  # images per set in the distances table (the sample's test split has 500)
METRICS = ("kl", "emd", "mmd", "fd")
SPACE = "pca:20"


def build(data: tuple[str, ...]) -> list:
    # Settings brief enough for 2 CPU cores, long enough that every model visibly learns.
    on = {"data": data[0]}
    return [
        Train(
            "logreg",
            "logreg",
            "logistic regression from raw parameters (zero initialisation, SGD at 0.5)",
            {**on, "epochs": 10},
        ),
        # Batches of 64: the sample's 1,800 training images give too few steps at 256 for batch norm to settle.
        # Trained on randomly degraded batches (the judge recipe), so it can judge the GAN's samples.
        Train(
            "cnn",
            "cnn",
            "the fast CNN classifier, trained on randomly blurred, noised, thickened, thinned and "
            "shifted images; it is also the judge of the GAN's samples",
            {**on, "epochs": 3, "batch_size": 64, "augment": "degrade"},
        ),
        Train(
            "ae",
            "ae",
            "an MLP autoencoder 784-1000-500-250-2 (tanh): reconstructions and its 2-D code",
            {**on, "epochs": 5},
        ),
        Train(
            "vae",
            "vae",
            "a VAE 784-200-20: reconstructions by epoch, new images, traversal",
            {**on, "epochs": 8, "iwae_k": 100, "iwae_images": 200},
        ),
        # Batches of 32: about 850 updates of each player, where the MLP GAN starts drawing digits.
        Train(
            "gan",
            "gan",
            "an MLP GAN: samples across epochs, and the judge's view of its samples",
            {**on, "epochs": 15, "batch_size": 32, "judge": FolderOf("cnn")},
        ),
        Inspect(
            "distances",
            f"distances between {N} real test images and {N} other test images, {N} VAE samples and {N} GAN samples",
            distances,
            uses=("vae", "gan"),
        ),
    ]


def distances(context: InspectContext) -> Inspection:
    """KL, EMD, MMD and Frechet distance (in PCA-20 features) from real test images to three other sets."""
    from genlab.metrics.compare import MetricSettings, compare
    from genlab.metrics.sets import load_set

    settings = MetricSettings(permutations=50)
    real = load_set(f"{DATA}:test[0:{N}]", name="A")
    others = {
        "other test images": f"{DATA}:test[{N}:{2 * N}]",
        "VAE samples": str(context.runs("vae")[0].path),
        "GAN samples": str(context.runs("gan")[0].path),
    }
    results = {
        label: compare(real, load_set(spec, n=N, seed=1, name="B"), METRICS, SPACE, settings)
        for label, spec in others.items()
    }
    return Inspection(
        tables=[
            divergence_table(
                f"distances from {N} real test images (A) to each set (B), in the space of the top 20 principal "
                "components: KL in nats (kNN estimate), EMD, MMD^2 and Frechet distance; the other test images "
                "give the floor a perfect model would reach at this sample size",
                {label: [row.to_dict() for row in result.rows] for label, result in results.items()},
                floor="other test images",
            )
        ]
    )


DEMO = Suite(
    name="demo",
    title="A tour of every family",
    description="A logistic regression and a CNN, an autoencoder with a 2-D code, a VAE and a GAN judged by the "
    "CNN, each trained briefly on the embedded MNIST sample (2,000 training and 500 test images), and "
    "the distances between real images and the samples of the VAE and the GAN.",
    data=(DATA,),
    build=build,
    settings_note=(
        "demo",
        "demo settings: a few epochs of each model on the embedded sample, enough to see each "
        "one learn, far from the numbers a suite's full settings reach",
    ),
)


def run_demo(out: Path, progress: bool = True, log=print) -> SuiteResult:
    """Run the tour into `out/demo/<step>`; write `out/report.html` and `out/report.pdf`."""
    return run_suites(
        [DEMO],
        Path(out),
        quick=True,
        progress=progress,
        log=log,
        title="genlab demo on mnist-sample (2,000 training / 500 test images)",
    )
