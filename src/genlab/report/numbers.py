"""How numbers and settings are written in a report, and what the summary entries of older runs mean.

A summary entry's meaning, unit and direction of better are given by the code that computes it and
recorded in the run's meanings.json (genlab.train.runfolder.described). ENTRIES below serves only run
folders written before meanings.json existed: do not extend it for new entries. There an entry named
"<split>_<name>" (e.g. "test_accuracy") is explained from its name's entry and the split.
"""

from __future__ import annotations

import math
import re
from typing import Any

ENTRIES: dict[str, str] = {
    "accuracy": "fraction of examples classified correctly",
    "error": "fraction of examples misclassified (1 - accuracy)",
    "loss": "mean training objective per example",
    "epochs": "passes over the training split",
    "steps": "optimisation steps taken",
    "seconds": "wall-clock training time in seconds (evaluations during training included)",
    "most_confused": "the test mistakes made most often, as 'true class as predicted class (count)'",
    "calibration_error": "expected calibration error: |accuracy - mean top probability| in 15 equal-width "
    "bins of the top probability, weighted by their shares of the images (0: calibrated)",
    "judge_recipe": "the judge recipe the classifier was trained and checked by (2: degraded batches, "
    "unrecognisable threshold, label-histogram check)",
    "unrecognisable_threshold": "top probability below which the judge calls an image unrecognisable: the "
    "unrecognisable_quantile quantile of its top probability on real test images",
    "unrecognisable_quantile": "share of real test images below the unrecognisable threshold",
    "degraded_test": "per degradation of the test images (blur: 3x3 box blur; noise: Gaussian std 0.2, "
    "clipped; thick/thin: 3x3 dilation/erosion; shift: up to 2 pixels each way): accuracy, "
    "total-variation distance of the label histogram from the true one, unrecognisable "
    "share, calibration error and label histogram",
    "degraded_label_distance_max": "largest total-variation distance between the labels of degraded test "
    "images and their true classes, over the checked degradations (the judge "
    "check)",
    "degraded_label_distance_worst": "the checked degradation with the largest label distance",
    "degraded_test_accuracy_min": "lowest accuracy on degraded test images, over the degradations",
    "judge_unrecognisable_threshold": "the judge's unrecognisable threshold (top probability)",
    "sample_unrecognisable_share": "fraction of the judged samples whose top probability is below the judge's "
    "unrecognisable threshold (about 0.01 for real test images)",
    "sample_class_histogram": "the judge's labels of the recognisable samples, counts per class",
    "sample_class_entropy": "entropy (nats) of the judge's labels of the recognisable samples (ln K: every "
    "class equally common)",
    "sample_mean_confidence": "the judge's mean top probability over all judged samples",
    "conditional_accuracy": "fraction of the recognisable samples the judge labels as the class they were drawn for",
}

# How one record of a list-of-records entry is written; other records become 'key=value, ...'.
RECORDS: dict[str, str] = {
    "most_confused": "{true} as {predicted} ({count})",
    "degraded_test": "{degradation}: accuracy {accuracy}, label distance {label_distance}, "
    "unrecognisable {unrecognisable_share}",
}

# Entries every run's summary has (the engine writes them), listed after the family's results.
TRAINING_FACTS = ("epochs", "steps", "seconds")

SPLITS = {"train": "training split", "val": "validation split", "test": "test split"}


def described_meaning(record: dict[str, str]) -> str:
    """A meanings.json record as the report writes it: 'meaning (unit; higher is better)'."""
    notes = [
        text
        for text in (record.get("unit", ""), f"{record['better']} is better" if record.get("better") else "")
        if text
    ]
    return record.get("meaning", "") + (f" ({'; '.join(notes)})" if notes else "")


def entry_meaning(key: str) -> str:
    """One phrase saying what summary entry `key` of an older run (no meanings.json) measures ('' when unknown)."""
    if key in ENTRIES:
        return ENTRIES[key]
    split, _, name = key.partition("_")
    if split in SPLITS and name in ENTRIES:
        return f"{ENTRIES[name]}, on the {SPLITS[split]}"
    return ""


def is_scalar(value: Any) -> bool:
    """Numbers, strings and booleans: the entries that fit one table cell across runs."""
    return isinstance(value, (int, float, str, bool))


def format_number(value: float | int) -> str:
    """Four significant digits in the usual range, thousands separated above it, scientific beyond."""
    if isinstance(value, int):  # bool included
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    value += 0.0  # -0.0 (e.g. the entropy -sum(p log p) of one class) becomes 0.0, written "0" not "-0"
    size = abs(value)
    if size == 0 or 1e-3 <= size < 1e4:
        return f"{value:.4g}"
    if 1e4 <= size < 1e7:
        return f"{value:,.1f}"
    return f"{value:.3e}"


# A minus before a number that reads as zero ("-0", "-0.00"): not after a letter, digit or point ("1-0",
# "step-0"), nor before more digits or an exponent ("-0.001", "-0.0e-3").
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-(?=0(?:\.0*)?(?![\d.eE]))")


def unsigned_zeros(text: str) -> str:
    """`text` with the minus dropped from every number that reads as zero ('-0.00' -> '0.00').

    Numbers formatted with fixed decimals elsewhere (a suite's notes, a step's table cells) print a
    tiny negative value, or the -0.0 of an entropy of one class, as '-0.00'; a report never shows it.
    """
    return _NEGATIVE_ZERO.sub("", text)


def format_entry(key: str, value: Any) -> str:
    """A summary entry as text, using its record template from RECORDS when it has one."""
    template = RECORDS.get(key)
    if template and isinstance(value, list) and all(isinstance(v, dict) for v in value):
        try:
            return (
                "; ".join(template.format(**{k: format_value(x) for k, x in record.items()}) for record in value)
                or "none"
            )
        except KeyError:
            pass  # records of another shape than the template expects: write them generically
    return format_value(value)


def format_value(value: Any) -> str:
    """Any JSON value as short text: lists of records become 'k=v, k=v; ...'."""
    if value is None:
        return "none"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        separator = "; " if any(isinstance(v, (dict, list)) for v in value) else ", "
        return separator.join(format_value(v) for v in value)
    return str(value)


def format_setting(value: Any) -> str:
    """A config value as it is written on the command line ('256,128', 'none', '0.001')."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def format_duration(seconds: float) -> str:
    """'42.0 s', '3 min 05 s' or '2 h 07 min'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
