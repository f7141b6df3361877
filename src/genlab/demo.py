"""`genlab demo`: a short offline tour of every family on the embedded mnist-sample, ending in a report.

It is a small suite (genlab.suites): a logistic regression and a CNN, an autoencoder with a 2-D code, a
VAE and a GAN (judged by the CNN), then the distances between real test images and the samples of the
VAE and the GAN. Run again into the same folder, it reuses what finished. Each model has a floor (a number
it reaches once it has learned); one that falls short is flagged in the terminal and in the report
instead of being presented as a result.
"""

from __future__ import annotations

from pathlib import Path

from genlab.suites.autoencoders import SEPARATES
from genlab.suites.divergence_tables import divergence_table
from genlab.suites.gan import RECOGNISED
from genlab.suites.run import Suite, SuiteResult, run_suites
from genlab.suites.steps import Floor, FolderOf, Inspect, InspectContext, Inspection, Train

DATA = "mnist-sample"
N = 250  # images per set in the distances table (the sample's test split has 500)
METRICS = ("kl", "emd", "mmd", "fd")
SPACE = "pca:20"

# What "learned" means for each demo model, well under what its settings reach and far above an untrained one.
# Chance is 0.1; the demo's logistic regression reaches 0.89 and its CNN 0.95-0.97 (on two machines).
CLASSIFIES = Floor("test_accuracy", "its test accuracy", at_least=0.8)
CLASSIFIES_CNN = Floor("test_accuracy", "its test accuracy", at_least=0.9)
# A VAE that ignores its input and decodes the mean training image scores -207 nats on these test images
# (KL 0); the demo's VAE reaches -142.
VAE_LEARNED = Floor("test_elbo", "its test ELBO in nats per image", at_least=-180)
# The demo's 15 epochs of MLP GAN give a label entropy of 1.90-2.09 nats (two machines): most classes, not all
# ten equally, so the suite's floor of 2.0 is not the demo's; 1.5 is about five equal classes.
SOME_CLASSES = Floor(
    "sample_class_entropy",
    "the entropy of the judge's labels of its recognisable samples in nats (ln 10 = 2.30: every class equally often)",
    at_least=1.5,
)


def build(data: tuple[str, ...]) -> list:
    # Settings brief enough for 2 CPU cores, long enough that every model visibly learns.
    on = {"data": data[0]}
    return [
        Train(
            "logreg",
            "logreg",
            "logistic regression from raw parameters (zero initialisation, SGD at 0.5)",
            {**on, "epochs": 10},
            floors=(CLASSIFIES,),
        ),
        # Batches of 64: the sample's 1,800 training images give too few steps at 256 for batch norm to settle.
        # Trained on randomly degraded batches (the judge recipe), so it can judge the GAN's samples.
        Train(
            "cnn",
            "cnn",
            "the fast CNN classifier, trained on randomly blurred, noised, thickened, thinned and "
            "shifted images; it is also the judge of the GAN's samples",
            {**on, "epochs": 3, "batch_size": 64, "augment": "degrade"},
            floors=(CLASSIFIES_CNN,),
        ),
        # Its 2-D code separates the classes after about 800 steps (the autoencoder suite's quick settings): batches
        # of 32 give 56 steps an epoch. 5-NN accuracy on mnist-sample: 0.27 after 75 steps (5 epochs of 128),
        # 0.598 after 570 (10 epochs of 32), 0.664 after 855 (15 epochs of 32).
        Train(
            "ae",
            "ae",
            "an MLP autoencoder 784-1000-500-250-2 (tanh): reconstructions and its 2-D code",
            {**on, "epochs": 15, "batch_size": 32},
            floors=(SEPARATES,),
        ),
        Train(
            "vae",
            "vae",
            "a VAE 784-200-20: reconstructions by epoch, new images, traversal",
            {**on, "epochs": 8, "iwae_k": 100, "iwae_images": 200},
            floors=(VAE_LEARNED,),
        ),
        # Batches of 32: about 850 updates of each player, where the MLP GAN starts drawing digits (measured
        # with both players at 2e-4, which the demo keeps; the model's defaults are for batches of 128).
        Train(
            "gan",
            "gan",
            "an MLP GAN: samples across epochs, and the judge's view of its samples",
            {**on, "epochs": 15, "batch_size": 32, "lr_d": 2e-4, "lr_g": 2e-4, "judge": FolderOf("cnn")},
            floors=(SOME_CLASSES, RECOGNISED),
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
