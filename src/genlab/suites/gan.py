"""The GAN suite: four GANs with their samples across epochs, the judge's view of their samples, learning-rate
and step-ratio experiments, inversion with restarts, optimised against straight latent paths, GAN against VAE;
on each further dataset (Fashion-MNIST by default) the MLP GAN and the conditional GAN with their own judge.

The judge is a CNN classifier trained by the suite itself (its first step), so a suite's numbers never depend
on a judge stored elsewhere.
"""

from __future__ import annotations

import math

from genlab.suites.common import compare
from genlab.suites.run import Suite
from genlab.suites.steps import ByMode, FolderOf, Floor, Inspect, InspectContext, Inspection, Sweep, Train

# Quick: 15 epochs of 5,000 images (1,065 iterations; the WGAN-GP's batches of 160 make 435). Counted by a
# fair classifier (an MLP, test accuracy 0.91) on 1,000 samples, the old 3 epochs left the MLP GAN drawing
# noise blobs; after 15 epochs the cgan drew all ten digits (entropy 2.30 nats), the WGAN-GP all ten (2.24),
# the MLP GAN nine, its 0s missing (1.96); 30 epochs did not help the MLP GAN (1.69: drifting to 1s), which
# draws all ten after 100 (2.26 nats, docs/gan.md).
GAN = {"limit": ByMode(quick=5000, full=None), "epochs": ByMode(quick=15, full=None), "judge": FolderOf("judge")}
# In those 15 epochs the MLP GAN at its defaults (both players at 2e-4) hops between favourite digits: judged by
# the quick judge its recognisable samples had entropies of 1.78-1.99 nats, the rarest class 3-11 of 1,000
# (seeds 0, 1, 3), 1.70-2.05 after 20 epochs (no 5s in one), and neither D's input dropout 0.2 (1.67) nor the
# mode-seeking term at 0.1 (1.91) helped. A discriminator learning five times faster than the generator
# (lr_d 1e-3, as in two-time-scale training) drew every digit in all five runs measured (2.03-2.16 nats, the
# rarest class 8-25) at no cost: see docs/gan.md, short runs.
# Those runs were at batch 64 with G at 2e-4; the quick suite keeps them (the model's defaults are now batch 128,
# lr_g 4e-4, for time to quality over longer runs: docs/gan.md).
MLP_GAN = {
    **GAN,
    "lr_d": ByMode(quick=1e-3, full=None),
    "lr_g": ByMode(quick=2e-4, full=None),
    "batch_size": ByMode(quick=64, full=None),
}
MODELS = ("gan", "dcgan", "cgan", "wgan-gp")
JUDGED = 1000  # samples of each model the judge labels (what the GAN family's summary uses too)
# A GAN that draws all ten classes about equally has a label entropy near ln 10 = 2.30 nats; 2.0 is what nine
# equal classes and a rare tenth give. Below it the samples miss classes, or the judge cannot read them.
COVERS = Floor(
    "sample_class_entropy",
    "the entropy of the judge's labels of its recognisable samples in nats (ln 10 = 2.30: every class equally often)",
    at_least=2.0,
)
# The entropy reads only the samples the judge recognises, so it could pass a GAN that draws mostly blobs; the
# share it cannot recognise is 0.01 on real test images by construction, 0.26-0.29 for the 15-epoch quick GANs
# and 0.68 for the old 3-epoch DCGAN (docs/gan.md, the judge).
RECOGNISED = Floor(
    "sample_unrecognisable_share",
    "the share of its samples whose top class probability the judge puts below the 1st percentile of real test images'",
    at_most=0.5,
)
# A conditional GAN follows its label when the judge reads most samples as the class asked for.
FOLLOWS_LABEL = Floor(
    "conditional_accuracy", "the share of its samples the judge labels as the class asked for", at_least=0.5
)


def judge_step(data: str, name: str = "judge") -> Train:
    """A CNN classifier on `data` whose labels of generated images are the suite's measure of sample quality,
    trained by the judge recipe (randomly degraded batches) so that blur and noise do not decide its labels;
    in full mode exactly as `genlab judge train` trains it."""
    from genlab.judge import judge_settings

    full = judge_settings(data)
    return Train(
        name,
        "cnn",
        f"the judge: genlab's CNN classifier trained on randomly blurred, noised, "
        f"thickened, thinned and shifted images of {data}; it labels generated images, counts those it "
        "cannot recognise apart, and its class histogram, entropy and confidence score them",
        # Degraded batches need 4 quick epochs to match the clean test accuracy of 2 clean ones (MNIST,
        # 3,000 images: 0.969 against 0.955 after 2; docs/gan.md, the judge).
        {
            **full,
            "limit": ByMode(quick=3000, full=None),
            "epochs": ByMode(quick=4, full=full["epochs"]),
            "batch_size": ByMode(quick=64, full=256),
        },
    )


def vae_step(data: str) -> Train:
    """The MLP VAE, trained for as many epochs as the GANs, to set beside them."""
    return Train(
        "vae",
        "vae",
        f"a VAE on {data} (784-200-20) trained as long as the GANs, to set beside them",
        {
            "data": data,
            "limit": GAN["limit"],
            "epochs": GAN["epochs"],
            "iwae_k": ByMode(quick=100, full=1000),
            "iwae_images": ByMode(quick=500, full=1000),
        },
    )


def build(data: tuple[str, ...]) -> list:
    on = {"data": data[0]}
    steps = [
        judge_step(data[0]),
        Train(
            "gan",
            "gan",
            "the MLP GAN at its defaults: a batch-norm generator from 100-D Gaussian noise, a "
            "discriminator with input dropout and the minibatch standard deviation, non-saturating loss "
            "(quick: the discriminator learns at 1e-3, five times the generator's rate)",
            {**on, **MLP_GAN},
            floors=(
                COVERS,
                RECOGNISED,
            ),
        ),
        Train(
            "dcgan",
            "dcgan",
            "the DCGAN-style GAN: fully connected to 7x7, two stride-2 transposed convolutions "
            "to 28x28; a convolutional discriminator",
            # quick: the rates its floors were measured at (the model's defaults are 4e-4 since)
            {
                **on,
                **GAN,
                "limit": ByMode(quick=2000, full=None),
                "lr_d": ByMode(quick=2e-4, full=None),
                "lr_g": ByMode(quick=2e-4, full=None),
            },
            floors=(
                COVERS,
                RECOGNISED,
            ),
        ),
        Train(
            "cgan",
            "cgan",
            "the conditional GAN: both players see the class label (the discriminator through "
            "a projection term and an auxiliary classifier) and a mode-seeking term keeps each class varied; "
            "each row of its sample grid is one class",
            {**on, **GAN},
            floors=(COVERS, RECOGNISED, FOLLOWS_LABEL),
        ),
        Train(
            "wgan-gp",
            "wgan-gp",
            "the Wasserstein GAN with gradient penalty: a critic without sigmoid, five "
            "critic updates per generator update",
            {**on, **GAN},
            floors=(
                COVERS,
                RECOGNISED,
            ),
        ),
        Sweep(
            "learning-rates",
            "gan",
            "the MLP GAN with other learning rates for the discriminator and the generator than the gan step's",
            ByMode(
                quick=[{"lr_d": 2e-4, "lr_g": 2e-4}, {"lr_d": 2e-4, "lr_g": 1e-3}],
                full=[
                    {"lr_d": 1e-3, "lr_g": 2e-4},
                    {"lr_d": 2e-4, "lr_g": 1e-3},
                    {"lr_d": 2e-3, "lr_g": 2e-4},
                    {"lr_d": 2e-4, "lr_g": 2e-3},
                ],
            ),
            {**on, **MLP_GAN},
            floors=(
                COVERS,
                RECOGNISED,
            ),
        ),
        Sweep(
            "step-ratios",
            "gan",
            "the MLP GAN with several generator updates per discriminator update and the "
            "reverse (the gan step, whose learning rates these share, has one of each)",
            ByMode(
                quick=[{"d_steps": 1, "g_steps": 3}, {"d_steps": 3, "g_steps": 1}],
                full=[
                    {"d_steps": 1, "g_steps": 2},
                    {"d_steps": 1, "g_steps": 5},
                    {"d_steps": 2, "g_steps": 1},
                    {"d_steps": 5, "g_steps": 1},
                ],
            ),
            {**on, **MLP_GAN},
            floors=(
                COVERS,
                RECOGNISED,
            ),
        ),
        vae_step(data[0]),
        Inspect(
            "judge-scores",
            "what the judge says of every GAN's samples: the class histograms side by side, "
            "and each run's entropy and confidence",
            judge_scores,
            uses=(*MODELS, "learning-rates", "step-ratios"),
        ),
        Inspect(
            "inversion",
            "GAN inversion: for test images and for the GAN's own samples, the latent whose "
            "image is closest, from several random starts",
            inversion,
            uses=("gan",),
            settings={"restarts": ByMode(quick=3, full=5), "steps": ByMode(quick=150, full=500)},
        ),
        Inspect(
            "latent-paths",
            "the latent path between two test images that minimises an energy, against the "
            "straight line between their inverted codes",
            latent_paths,
            uses=("gan",),
            settings={
                "steps": ByMode(quick=100, full=300),
                "restarts": ByMode(quick=2, full=4),
                "invert_steps": ByMode(quick=150, full=500),
            },
        ),
        Inspect(
            "gan-vs-vae",
            "the MLP GAN, the DCGAN and the VAE side by side: samples, curves, and the judge's "
            "scores of each one's samples",
            gan_vs_vae,
            uses=("judge", "gan", "dcgan", "vae"),
        ),
    ]
    for name in data[1:]:
        steps += other_dataset_steps(name)
    return steps


def other_dataset_steps(data: str) -> list:
    """The MLP GAN and the conditional GAN on a further dataset, with its own judge and its scores."""
    on = {"data": data, **GAN, "judge": FolderOf(f"judge-{data}")}
    models = (f"gan-{data}", f"cgan-{data}")
    return [
        judge_step(data, f"judge-{data}"),
        Train(
            models[0],
            "gan",
            f"the MLP GAN on {data} with the gan step's settings",
            {**on, **{key: MLP_GAN[key] for key in ("lr_d", "lr_g", "batch_size")}},
            floors=(
                COVERS,
                RECOGNISED,
            ),
        ),
        Train(
            models[1],
            "cgan",
            f"the conditional GAN on {data}; each row of its sample grid is one class",
            on,
            floors=(COVERS, RECOGNISED, FOLLOWS_LABEL),
        ),
        Inspect(
            f"judge-scores-{data}",
            f"what the {data} judge says of the samples of both GANs on {data}",
            lambda context: judge_scores(context, models, ()),
            uses=models,
        ),
    ]


def judge_scores(
    context: InspectContext,
    models: tuple[str, ...] = MODELS,
    sweeps: tuple[str, ...] = ("learning-rates", "step-ratios"),
) -> Inspection:
    """The judge's labels of the samples of the runs of steps `models` (one histogram each, drawn side by
    side) and of the sweeps `sweeps` (in the table only)."""
    from genlab.data import registry
    from genlab.plots.suites import class_frequencies_figure

    runs = [(name, context.runs(name)[0]) for name in models]
    runs += [
        (f"{step}: {', '.join(f'{k}={v:g}' for k, v in run.point.items())}", run)
        for step in sweeps
        for run in context.runs(step)
    ]
    data = runs[0][1].settings["data"]
    classes = tuple(registry.get_info(data).classes)  # GANs train on named image datasets only
    histograms = {
        name: run.summary["sample_class_histogram"]
        for name, run in runs[: len(models)]
        if "sample_class_histogram" in run.summary
    }
    unrecognised = {name: run.summary.get("sample_unrecognisable_share") for name, run in runs}
    inspection = Inspection()
    if histograms:
        inspection.figures.append(
            context.save_figure(
                class_frequencies_figure(
                    histograms,
                    classes,
                    f"The judge's labels of the recognisable ones of {JUDGED} samples of each GAN on {data}",
                    {label: unrecognised[label] for label in histograms},
                ),
                "class_frequencies.png",
                caption=f"of the {JUDGED} samples of each GAN that the judge recognises, the "
                "fraction it put in each class (the legend gives the share it could not "
                "recognise); the dashed line is what drawing every class equally often "
                "gives",
            )
        )
    rows = [
        [
            name,
            unrecognised[name],
            run.summary.get("sample_class_entropy"),
            run.summary.get("sample_mean_confidence"),
            run.summary.get("conditional_accuracy"),
            " ".join(str(c) for c in run.summary.get("sample_class_histogram", [])) or None,
        ]
        for name, run in runs
    ]
    inspection.tables.append(
        {
            "caption": f"the judge's view of {JUDGED} samples of each GAN run: the share it cannot recognise (top "
            "probability below its threshold, which 1% of real test images fall below), and of the "
            f"recognisable rest the entropy of its labels (ln {len(classes)} = {math.log(len(classes)):.3f} "
            "nats when every class is equally common, lower when some are missing: mode collapse), its "
            "mean confidence over all samples (higher: more recognisable images), for the conditional GAN "
            "the fraction labelled as the class asked for, and the counts per class",
            "columns": [
                "run",
                "unrecognisable share",
                "entropy (nats)",
                "mean confidence",
                "conditional accuracy",
                "recognisable samples per class",
            ],
            "rows": rows,
        }
    )
    return inspection


def inversion(context: InspectContext) -> Inspection:
    from genlab.latent.invert import invert_run

    run = context.runs("gan")[0]
    settings = context.settings
    inspection = Inspection()
    rows = []
    for generated in (False, True):
        report, figure, table = invert_run(
            run.path, "0:8", restarts=settings["restarts"], steps=settings["steps"], generated=generated
        )
        what = "the GAN's own samples (an exact answer exists)" if generated else "test images"
        inspection.figures.append(
            (
                context.adopt(figure),
                f"inverting {what} through the MLP GAN: each target, the image of the best "
                f"of {settings['restarts']} restarts and of the others, with their losses "
                "(squared error summed over pixels)",
            )
        )
        context.adopt(table)
        rows.append(
            [
                what,
                report["median_best_loss"],
                report["mean_best_loss"],
                f"{report['targets_with_unique_minimiser']} of {len(report['targets'])}",
            ]
        )
    inspection.tables.append(
        {
            "caption": f"GAN inversion of 8 targets with {settings['restarts']} random starts of "
            f"{settings['steps']} Adam steps each: the best loss (squared error summed over pixels) and "
            "for how many targets the restarts that reach it agree on one latent",
            "columns": ["targets", "median best loss", "mean best loss", "targets with one minimiser"],
            "rows": rows,
        }
    )
    return inspection


def latent_paths(context: InspectContext) -> Inspection:
    from genlab.latent.paths import path_run

    run = context.runs("gan")[0]
    settings = context.settings
    report, figure, table = path_run(
        run.path,
        3,
        2,
        points=8,
        steps=settings["steps"],
        restarts=settings["restarts"],
        invert_steps=settings["invert_steps"],
    )
    context.adopt(table)
    rows = [
        [
            name,
            report[name]["U"],
            report[name]["U_refined"],
            report[name]["image_length"],
            report[name]["latent_length"],
        ]
        for name in ("straight", "optimised")
    ]
    return Inspection(
        figures=[
            (
                context.adopt(figure),
                f"latent paths from test image {report['from']} to {report['to']} through "
                "the MLP GAN: the images along the straight path and along the optimised "
                "one, both paths projected on a plane, and the energy during the "
                "optimisation",
            )
        ],
        tables=[
            {
                "caption": "energy U (the integral over the path's latent arc length of ||G(z) - x_A||^2 + "
                "||G(z) - x_B||^2) of the straight and the optimised path, on its nodes and on a "
                "finer subdivision, and each path's length in image space and in latent space",
                "columns": ["path", "U", "U (refined)", "image-space length", "latent length"],
                "rows": rows,
            }
        ],
        notes=[
            f"The optimised path has {report['U_ratio_optimised_to_straight']:.2f} times the energy of the "
            "straight one."
        ],
    )


def gan_vs_vae(context: InspectContext) -> Inspection:
    """compare-runs of the GANs and the VAE, and the judge's scores of each one's samples."""
    import torch

    from genlab.judge import resolve_judge, sample_quality
    from genlab.train.engine import load_run

    runs = [(name, context.runs(name)[0]) for name in ("gan", "dcgan", "vae")]
    inspection = Inspection(
        figures=[
            compare(
                context,
                [run for _, run in runs],
                "compare",
                "the MLP GAN, the DCGAN and the VAE side by side: training curves, "
                "samples from each, and the judge's class histograms",
            )
        ]
    )
    judge_folder = str(context.runs("judge")[0].path)
    rows = []
    for name, run in runs:
        loaded = load_run(run.path)
        judge, _ = resolve_judge(judge_folder, run.settings["data"], loaded.family.data.classes)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            quality = sample_quality(judge, loaded.family.sample(loaded.model, JUDGED))
        rows.append(
            [
                name,
                quality["sample_unrecognisable_share"],
                quality["sample_class_entropy"],
                quality["sample_mean_confidence"],
            ]
        )
    inspection.tables.append(
        {
            "caption": f"the same judge on {JUDGED} new samples of each model (drawn here with seed 0): the share it "
            "cannot recognise, the entropy of its labels of the rest (nats) and its mean confidence",
            "columns": ["model", "unrecognisable share", "entropy (nats)", "mean confidence"],
            "rows": rows,
        }
    )
    return inspection


SUITE = Suite(
    name="gan",
    title="Generative adversarial networks",
    description="The MLP GAN, a DCGAN-style GAN, a conditional GAN and a WGAN-GP with their samples across epochs; "
    "a judge (a CNN classifier) labelling their samples; the MLP GAN with other learning rates and "
    "step ratios; inversion with restarts; optimised against straight latent paths; and the GANs "
    "beside a VAE; then the MLP GAN and the conditional GAN on Fashion-MNIST with their own judge.",
    data=("mnist", "fashion-mnist"),
    build=build,
)
