"""The VAE suite: the VAE on each dataset (reconstructions by epoch, existing / reconstructed / new images,
embedding, interpolation), a 2-D VAE for the latent manifold and which classes its code puts together, the
VAE against an autoencoder of the same network on the same test images, and beta sweeps of the VAE and of
echo noise on one rate-distortion figure.
"""

from __future__ import annotations

from genlab.suites.common import class_pairs, interpolations
from genlab.suites.gan import judge_step
from genlab.suites.run import Suite
from genlab.suites.steps import ByMode, FolderOf, Floor, Inspect, InspectContext, Inspection, Sweep, Train, grid

# The importance-weighted bound on -log p(x) costs iwae_k decoder passes per test image: fewer in quick mode.
VAE = {
    "limit": ByMode(quick=5000, full=None),
    "epochs": ByMode(quick=5, full=None),
    "iwae_k": ByMode(quick=100, full=1000),
    "iwae_images": ByMode(quick=500, full=1000),
}
# The rate-distortion comparison puts the beta-VAE and echo noise on one network and schedule (those of
# the measured comparison in docs/vae.md): 784-400-20 with ReLU and no dropout, one-cycle Adam at 2e-3.
RATE_DISTORTION = {
    "hidden": (400,),
    "activation": "relu",
    "dropout": 0.0,
    "lr": 2e-3,
    "batch_size": 64,
    "schedule": "onecycle",
    "limit": ByMode(quick=5000, full=None),
    "epochs": ByMode(quick=5, full=15),
}
BETAS = ByMode(quick=grid(beta=[0.5, 1.0, 4.0]), full=grid(beta=[0.1, 0.5, 1.0, 2.0, 4.0, 8.0]))
ECHO_BETAS = ByMode(quick=grid(beta=[1.0]), full=grid(beta=[0.1, 0.5, 1.0, 2.0, 4.0, 8.0]))
# The autoencoder set beside the VAE: the VAE's network (784-200-20, tanh) and learning rate, trained on the
# same Bernoulli cross-entropy, so the only differences are the VAE's noise, its KL term and its dropout.
# It learns more slowly than the VAE (MNIST-5k, test MSE per pixel: 0.042 after the VAE's 5 quick epochs,
# still falling 3% per half epoch, against the VAE's 0.023; 0.019 after 20 epochs), so it trains 20 quick
# epochs: comparing a converged VAE with an unfinished autoencoder would answer nothing.
MATCHED_AE = {
    "hidden": (200,),
    "latent_dim": 20,
    "activation": "tanh",
    "loss": "bce",
    "lr": 3e-3,
    "limit": VAE["limit"],
    "epochs": ByMode(quick=20, full=None),
    "evals_per_epoch": ByMode(quick=1, full=2),
}
RECONSTRUCTS = Floor(
    "test_reconstruction_mse", "its test reconstruction error (mean squared error per pixel)", at_most=0.03
)
SAME_IMAGES = {"images": ByMode(quick=2000, full=10000), "pairs": ByMode(quick=200, full=1000)}


def build(data: tuple[str, ...]) -> list:
    steps = []
    for name in data:
        steps += [
            Train(
                f"vae-{name}",
                "vae",
                f"the VAE on {name} at its defaults: MLP encoder 784-200-20 (tanh, dropout), "
                "Bernoulli decoder, one reparameterised sample per image; reconstructions after every epoch",
                {"data": name, **VAE},
            ),
            Train(
                f"vae-2d-{name}",
                "vae",
                f"the same VAE with a 2-D code on {name}, whose decoder can be drawn "
                "over a grid of the latent plane (the manifold)",
                {"data": name, **VAE, "latent_dim": 2},
            ),
            Inspect(
                f"interpolation-{name}",
                f"interpolations through the VAE's 20-D code on {name}, within a class and between classes",
                _interpolate(f"vae-{name}"),
                uses=(f"vae-{name}",),
            ),
            Inspect(
                f"class-pairs-{name}",
                f"which {name} classes the 2-D VAE's code puts next to each other: "
                "for each class, the classes of its test codes' nearest training codes",
                _class_pairs(f"vae-2d-{name}"),
                uses=(f"vae-2d-{name}",),
            ),
        ]
    first = data[0]
    steps += [
        judge_step(first),
        Train(
            f"ae-{first}",
            "ae",
            f"an autoencoder on {first} with the VAE's network (784-200-20, tanh) and "
            "learning rate, trained on the same cross-entropy: the VAE without its noise and KL term",
            {"data": first, **MATCHED_AE},
            floors=(RECONSTRUCTS,),
        ),
        Inspect(
            "vae-vs-ae",
            f"the VAE and the autoencoder of the same network measured alike on the same {first} "
            "test images: reconstruction error, 5-NN accuracy of the codes, and the judge's confidence in "
            "images decoded between the codes of the same pairs",
            lambda context: vae_vs_ae(context, (f"vae-{first}", f"ae-{first}")),
            uses=("judge", f"vae-{first}", f"ae-{first}"),
            settings={**SAME_IMAGES, "judge": FolderOf("judge")},
        ),
        Sweep(
            "beta",
            "vae",
            f"the beta-VAE on {first}: the rate term weighted by beta, from below 1 (sharper "
            "reconstructions, more information in the code) to above 1 (a code closer to the prior), on the "
            "network shared with echo noise",
            BETAS,
            {"data": first, **RATE_DISTORTION, "iwae_k": VAE["iwae_k"], "iwae_images": VAE["iwae_images"]},
        ),
        Sweep(
            "echo",
            "echo-ae",
            f"the echo-noise autoencoder on {first}, on the same network: noise built from "
            "the codes of other images of the batch, with an exact rate",
            ECHO_BETAS,
            {"data": first, **RATE_DISTORTION},
        ),
        Inspect(
            "rate-distortion",
            f"rate against distortion on the {first} test split for every beta and for echo noise",
            rate_distortion,
            uses=("beta", "echo"),
        ),
    ]
    return steps


def _interpolate(step: str):
    def inspect(context: InspectContext) -> Inspection:
        return interpolations(context, context.runs(step)[0])

    return inspect


def _class_pairs(step: str):
    def inspect(context: InspectContext) -> Inspection:
        return class_pairs(context, [(step, context.runs(step)[0])])

    return inspect


def vae_vs_ae(context: InspectContext, names: tuple[str, ...]) -> Inspection:
    """The runs of steps `names` (the VAE and the matched autoencoder) measured by one yardstick
    (genlab.latent.same_images), with the judge's view of blended and of real pairs beside them."""
    from genlab.judge import load_judge
    from genlab.latent.same_images import INTERPOLATION_T, crossfade_confidence, measure
    from genlab.train.engine import load_run

    settings = context.settings
    judge = load_judge(settings["judge"], device="cpu")
    rows, values = [], {}
    for name in names:
        loaded = load_run(context.runs(name)[0].path, device="cpu")
        result = measure(loaded.family, loaded.model, judge, settings["images"], settings["pairs"])
        values[name] = result.to_dict()
        rows.append(
            [
                f"{name} ({loaded.config.model})",
                result.test_mse,
                result.test_bce_nats,
                result.knn_accuracy,
                result.interpolation_confidence,
                result.interpolation_unrecognisable_share,
            ]
        )
    yardsticks = crossfade_confidence(loaded.family.data, judge, settings["images"], settings["pairs"])
    values["yardsticks"] = yardsticks
    rows += [
        [label, None, None, None, yardsticks[key]["confidence"], yardsticks[key]["unrecognisable_share"]]
        for label, key in (
            ("blending the pixels of each pair (no model)", "crossfade"),
            ("the real images of the pairs", "real"),
        )
    ]
    points = ", ".join(f"{t:g}" for t in INTERPOLATION_T)
    return Inspection(
        tables=[
            {
                "caption": f"the VAE and the autoencoder of the same network on the same {result.images} test images: "
                "reconstruction error as mean squared error per pixel (pixels in [0, 1]) and as binary "
                "cross-entropy summed over an image's pixels (nats per image); 5-NN accuracy of the codes "
                "(the VAE's posterior means) against 5,000 training codes; and the judge's mean confidence "
                f"(its top class probability) in the images decoded at t = {points} on the straight line "
                f"between the codes of {result.pairs} pairs of those images, and the share of those images it "
                "cannot recognise (top probability below its threshold, which 1% of real test images fall "
                "below), beside the same for the pairs' pixels blended alike and for the real images",
                "columns": [
                    "model",
                    "test MSE per pixel",
                    "test cross-entropy (nats per image)",
                    "5-NN accuracy",
                    "judge confidence in interpolations",
                    "unrecognisable share of interpolations",
                ],
                "rows": rows,
            }
        ],
        values=values,
    )


def rate_distortion(context: InspectContext) -> Inspection:
    """`genlab rate-distortion` over the beta-VAE and echo-noise sweeps, and its points as a table."""
    from genlab.rate_distortion import write_rate_distortion

    folders = [context.outcomes["beta"].folder, context.outcomes["echo"].folder]
    path, points = write_rate_distortion(folders, context.folder / "rate_distortion.png")
    table = {
        "caption": "each point of the rate-distortion figure: rate (the KL term, or echo noise's exact rate, "
        "in nats per image) and distortion (the reconstruction term, nats per image), both on the "
        "test split",
        "columns": ["model", "setting", "rate (nats)", "distortion (nats)"],
        "rows": [[p.group, p.label, p.rate, p.distortion] for p in points],
    }
    return Inspection(
        figures=[
            (
                path.name,
                "distortion against rate on the test split: each beta of the beta-VAE "
                "and of the echo-noise autoencoder; lower-left is better, and a larger "
                "beta moves along the curve towards less rate and more distortion",
            )
        ],
        tables=[table],
    )


SUITE = Suite(
    name="vae",
    title="Variational autoencoders",
    description="The VAE (784-200-20, Bernoulli decoder) on MNIST and Fashion-MNIST with its reconstructions after "
    "the first and the last epoch, existing / reconstructed / new images, test embedding and "
    "interpolations; a VAE with a 2-D code for the latent manifold; and beta sweeps of the VAE and of "
    "the echo-noise autoencoder on one rate-distortion figure.",
    data=("mnist", "fashion-mnist"),
    build=build,
)
