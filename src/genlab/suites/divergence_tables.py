"""A report table of divergences: each value with the seconds it took beside it, and a sentence under any
negative kNN KL saying what it means.

Used by the divergences suite and the demo; rows are what `Estimate.to_dict()` writes (metric, direction,
value, seconds), as stored in divergences.json.
"""

from __future__ import annotations

from genlab.report.numbers import format_number

PRDC = ("precision", "recall", "density", "coverage")  # computed together, as are the MMD^2 estimates


def divergence_table(caption: str, comparisons: dict[str, list[dict]], floor: str | None = None) -> dict:
    """A suite table: one row per (metric, direction) of the first comparison, and for each comparison two
    columns, its value and the seconds that value took.

    `comparisons` maps a column label (e.g. "real vs GAN", "v = 4") to its rows. `floor` names the
    comparison of two samples of the same distribution (real vs real), whose kNN KL is the estimator's
    bias at this size; it comes first. Without one, a negative kNN KL is read against the exact KL row.
    Returns {"caption", "columns", "rows", "notes"}, the caption ending in the reading of every negative kNN
    KL, and `notes` every note a metric attached to a value (e.g. why a kNN KL is inf), each once, saying
    where it applies: the report prints them under the table, as `genlab compare` prints them under its own.
    """
    labels = sorted(comparisons, key=lambda label: label != floor)  # stable: the others keep their order
    reference = comparisons[labels[0]]
    rows = []
    for like in reference:
        row = [like["metric"], like["direction"]]
        for label in labels:
            found = _find(comparisons[label], like)
            row += [found.get("value"), found.get("seconds")]
        rows.append(row)
    columns = ["metric", "direction"] + [name for label in labels for name in (label, "seconds")]
    metrics = [row["metric"] for row in reference]
    shared = [
        group
        for group, present in (
            ("both kNN KL directions", metrics.count("kl_knn") > 1),
            ("the MMD^2 estimates", sum(m.startswith("mmd2_") for m in metrics) > 1),
            ("precision, recall, density and coverage", any(m in PRDC for m in metrics)),
        )
        if present
    ]
    timing = "each 'seconds' column is the run time of the value on its left, without a warm-up call" + (
        f"; rows with the same seconds were computed by one call ({', '.join(shared)})" if shared else ""
    )
    sentence = negative_kl_sentence({label: comparisons[label] for label in labels}, floor)
    return {
        "caption": f"{caption}; {timing}" + (f". {sentence}" if sentence else ""),
        "columns": columns,
        "rows": rows,
        "notes": value_notes({label: comparisons[label] for label in labels}),
    }


def value_notes(comparisons: dict[str, list[dict]]) -> list[str]:
    """'label, metric direction = value: note' for every note of every row, a note repeated only where its
    text differs."""
    notes, seen = [], set()
    for label, rows in comparisons.items():
        for row in rows:
            for note in row.get("notes") or []:
                if (row["metric"], note) not in seen:
                    seen.add((row["metric"], note))
                    value = row.get("value")
                    shown = format_number(value) if _number(value) is not None else str(value)
                    notes.append(f"{label}, {row['metric']} {row['direction']} = {shown}: {note}")
    return notes


def negative_kl_sentence(comparisons: dict[str, list[dict]], floor: str | None) -> str:
    """'' when no kNN KL in `comparisons` is negative, else one sentence naming each negative value and
    what to read it against: the real-vs-real floor (`floor`) printed beside it, or the exact KL."""
    negative = [
        (label, row)
        for label, rows in comparisons.items()
        for row in rows
        if row["metric"] == "kl_knn" and _number(row.get("value")) is not None and row["value"] < 0
    ]
    if not negative:
        return ""
    listed = ", ".join(f"{label} {row['direction']} {format_number(row['value'])}" for label, row in negative)
    sentence = (
        f"Negative kNN KL ({listed}): a KL divergence is never below 0, so a negative value is the kNN "
        "estimator's bias (with few points in many dimensions it is far from 0 even between two samples "
        "of one distribution)"
    )
    if floor not in comparisons:
        return f"{sentence}; read it against the exact KL (kl_exact) in the same column."
    floors = [
        f"{row['direction']} {format_number(row['value'])}"
        for row in comparisons[floor]
        if row["metric"] == "kl_knn" and _number(row.get("value")) is not None
    ]
    return (
        f"{sentence}; the column '{floor}' measures that bias ({', '.join(floors)}), so read every kNN KL "
        "of this table against it, not against 0: a generator is as close to the real images as this "
        "estimator can tell when its KL is near that floor."
    )


def _find(rows: list[dict], like: dict) -> dict:
    return next((r for r in rows if r["metric"] == like["metric"] and r["direction"] == like["direction"]), {})


def _number(value) -> float | None:
    """`value` when it is a number ('inf' and 'nan' are stored as text), else None."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
