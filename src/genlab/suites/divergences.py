"""The divergences suite: the distances-between-sample-sets experiment (genlab experiment divergences), with
the judge, GAN and VAE it needs trained by the suite itself.
"""

from __future__ import annotations

import json

from genlab.suites.divergence_tables import divergence_table
from genlab.suites.gan import MLP_GAN, judge_step, vae_step
from genlab.suites.run import Suite
from genlab.suites.steps import ByMode, Inspect, InspectContext, Inspection, Train
from genlab.train.runfolder import read_figure_index


def build(data: tuple[str, ...]) -> list:
    on = {"data": data[0]}
    return [
        judge_step(data[0]),
        Train("gan", "gan", "the MLP GAN whose samples are compared with real images", {**on, **MLP_GAN}),
        vae_step(data[0]),
        Inspect(
            "divergences",
            "KL (kNN and histogram), exact, sliced and Sinkhorn earth mover's distance, MMD with "
            "a permutation test, Frechet distance, KID and precision / recall / density / coverage: uniform "
            f"against normal sets, and {data[0]} test images against other test images, GAN samples and VAE "
            "samples, in pixels, PCA-50 and judge features, each timed",
            divergences,
            uses=("judge", "gan", "vae"),
            settings={
                "n": ByMode(quick=500, full=1000),
                "variances": ByMode(quick=[1, 4, 16], full=[1, 2, 4, 8, 16]),
                "permutations": ByMode(quick=50, full=200),
            },
        ),
    ]


def divergences(context: InspectContext) -> Inspection:
    """`genlab experiment divergences` into the step folder; its figures, tables and notes for the report."""
    from genlab.experiments.divergences import run_divergences
    from genlab.metrics.compare import MetricSettings

    settings = context.settings
    data = context.runs("gan")[0].settings["data"]
    run_divergences(
        context.folder,
        variances=tuple(settings["variances"]),
        n=settings["n"],
        data=data,
        gan=str(context.runs("gan")[0].path),
        vae=str(context.runs("vae")[0].path),
        settings=MetricSettings(permutations=settings["permutations"]),
        judge=str(context.runs("judge")[0].path),
        progress=context.progress,
    )
    record = json.loads((context.folder / "divergences.json").read_text())
    n = record["n"]
    inspection = Inspection(notes=list(record.get("notes", [])))
    variances = sorted(record["uniform_vs_normal"], key=float)  # JSON keys come back sorted as text
    inspection.tables.append(
        divergence_table(
            f"every metric between {n} uniform points in [0, 1]^3 (A) and {n} normal points N(0, v I) (B), "
            "for each variance v (KL in nats)",
            {f"v = {v}": record["uniform_vs_normal"][v]["rows"] for v in variances},
        )
    )
    for space, comparisons in record["real"].items():
        inspection.tables.append(
            divergence_table(
                f"{data}: {n} test images (A) against {n} other test images and {n} samples of the GAN and of the "
                f"VAE (B), in {space} features",
                {label: comparison["rows"] for label, comparison in comparisons.items()},
                floor="real vs real",
            )
        )
    # Captions as the experiment gave them when it drew each figure (figures/index.json), in drawing order.
    for name, entry in read_figure_index(context.folder / "figures").items():
        inspection.figures.append((f"figures/{name}", entry["caption"]))
    return inspection


SUITE = Suite(
    name="divergences",
    title="Distances between sample sets",
    description="The metrics experiment: KL, earth mover's distance, MMD, Frechet distance, KID and "
    "precision/recall between uniform and normal sets of known distance, and between real test images "
    "and other test images, GAN samples and VAE samples, each metric timed; the judge, GAN and VAE "
    "are trained first.",
    data=("mnist",),
    build=build,
)
