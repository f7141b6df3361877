"""Inspection helpers shared by suites: pick test examples, interpolate, compare runs, tabulate summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genlab.suites.steps import InspectContext, Inspection, RunOutcome


def test_examples(data: str, label: int, count: int) -> list[int]:
    """Indices of the first `count` test examples of class `label` in dataset `data`."""
    from genlab.data.datasets import load_dataset

    labels = load_dataset(data, val_fraction=0.0, device="cpu").test.y.numpy()
    return [int(i) for i in (labels == label).nonzero()[0][:count]]


def interpolations(context: InspectContext, run: RunOutcome, steps: int = 10) -> Inspection:
    """Straight-line interpolations through `run`'s latent space between two test images of one class
    (the first two 7s) and between two classes (the first 1 and the first 0), decoded and drawn on the
    test embedding. `genlab interpolate` writes into the run folder; the figures move to the step folder."""
    from genlab.latent.interpolate import interpolate_run

    data = run.settings["data"]
    within = test_examples(data, 7, 2)
    pairs = [("within class 7", str(within[0]), str(within[1])), ("between classes 1 and 0", "class:1", "class:0")]
    inspection = Inspection()
    model = run.path.name
    for what, start, end in pairs:
        result = interpolate_run(run.path, start, end, steps=steps)
        strip, embedding = (context.adopt(path) for path in result.figures)
        inspection.figures.append(
            (
                strip,
                f"{model}: images decoded along the straight line between the latent "
                f"codes of test images {result.start} and {result.end} ({what}); the "
                "outer images are the originals",
            )
        )
        inspection.figures.append((embedding, f"{model}: the same path ({what}) drawn over the test embedding"))
    return inspection


def compare(context: InspectContext, runs: list[RunOutcome], name: str, title: str) -> tuple[str, str]:
    """`genlab compare-runs` of `runs` into the subfolder `name`; returns (figure file, caption)."""
    from genlab.latent.compare import compare_runs

    result = compare_runs([run.path for run in runs], out=context.folder / name)
    return str(Path(result.figure).relative_to(context.folder)), title


def summary_table(runs: list[tuple[str, RunOutcome]], entries: list[str], caption: str) -> dict[str, Any]:
    """A table of summary entries, one row per (label, run); entries a run lacks are left empty."""
    return {
        "caption": caption,
        "columns": ["run", *entries],
        "rows": [[label, *[run.summary.get(entry) for entry in entries]] for label, run in runs],
    }


def class_pairs(context: InspectContext, runs: list[tuple[str, RunOutcome]], k: int = 5, pairs: int = 5) -> Inspection:
    """Which classes embed close together, for each run's test codes: the share of each class's k nearest
    training codes that belong to each other class (`genlab.latent.embed.neighbour_classes`), as one table
    per run (each class's closest classes), one table of each run's closest pairs, a heat map of every
    matrix, and the matrices as numbers (values: run label -> matrix [K, K], closest pairs)."""
    from genlab.latent.embed import closest_class_pairs, encode_split, neighbour_classes
    from genlab.plots.suites import neighbour_classes_figure
    from genlab.train.engine import load_run

    inspection = Inspection()
    matrices, summary_rows = {}, []
    for label, run in runs:
        loaded = load_run(run.path, device="cpu")
        data = loaded.family.data
        train_z = encode_split(loaded.family, loaded.model, data.train)
        test_z = encode_split(loaded.family, loaded.model, data.test)
        matrix = neighbour_classes(train_z, data.train.y.numpy(), test_z, data.test.y.numpy(), data.num_classes, k=k)
        classes = tuple(data.classes)
        matrices[label] = matrix
        closest = closest_class_pairs(matrix, pairs)
        inspection.values[label] = {
            "classes": list(classes),
            "k": k,
            "matrix": matrix.round(4).tolist(),
            "closest_pairs": [[classes[i], classes[j], share] for i, j, share in closest],
        }
        rows = []
        for i, name in enumerate(classes):
            others = sorted((j for j in range(len(classes)) if j != i), key=lambda j: -matrix[i, j])[:3]
            rows.append([name, float(matrix[i, i]), *[f"{classes[j]}: {matrix[i, j]:.2f}" for j in others]])
        inspection.tables.append(
            {
                "caption": f"{label}: for the test codes of each class, the share of their {k} nearest training codes "
                "that are of the same class, and the three other classes whose codes lie closest (their "
                "share of the neighbours)",
                "columns": ["class", "same class", "closest other class", "second", "third"],
                "rows": rows,
            }
        )
        summary_rows.append(
            [
                label,
                run.summary.get("latent_knn_accuracy"),
                "; ".join(f"{classes[i]}-{classes[j]}: {share:.2f}" for i, j, share in closest),
            ]
        )
    inspection.tables.insert(
        0,
        {
            "caption": f"the class pairs that embed closest together in each 2-D code: for a pair (a, b), the mean of "
            f"the share of class a's {k} nearest neighbours that are b and of b's that are a (0: never "
            "neighbours; the pairs are listed highest first), beside the code's 5-NN accuracy",
            "columns": ["model", "5-NN accuracy", f"closest class pairs (share of the {k} nearest neighbours)"],
            "rows": summary_rows,
        },
    )
    inspection.figures.append(
        context.save_figure(
            neighbour_classes_figure(matrices, classes, k, f"Classes of the {k} nearest neighbours of each test code"),
            "neighbour_classes.png",
            caption=f"for each model, row a, column b: the share of the {k} nearest training codes "
            "of class-a test codes that are of class b; bright cells off the diagonal are "
            "classes that embed close together",
        )
    )
    return inspection
