"""Captions of figures, and the thinning of long numbered series of them.

A figure's caption is given by the code that draws it (RunFolder.save_figure records it in the
index.json beside the figure) and read from there by `figure_files`. The table FIGURES below serves only
run folders written before that index existed (and files missing from an index): do not extend it for
new figures. Entries are tried
in order (the first full match wins) and a run's figures are shown in the
order of their entries, so related figures sit together. A pattern without a
'/' matches the file's stem in any folder; one with a '/' matches
"folder/stem" (e.g. "samples/epoch_007"). Named groups fill the description;
all-digit groups lose their leading zeros ("007" -> "7").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# (pattern, what the figure shows); keep descriptions lower-case: they follow "Figure N: ".
FIGURES: tuple[tuple[str, str], ...] = (
    ("error_curves", "training and test error against optimisation steps"),
    ("loss", "training and test loss against optimisation steps"),
    (
        "confusion_matrix",
        "confusion matrix on the test split: true class (rows) against predicted class "
        "(columns), with counts in the cells",
    ),
    ("filters", "learned first-layer filters, each scaled to its own range"),
    ("reconstructions", "test images and their reconstructions"),
    (r"reconstructions_epoch_(?P<epoch>\d+)", "test images and their reconstructions after epoch {epoch}"),
    (
        "existing_reconstructed_new",
        "existing test images, their reconstructions, and new images decoded from latent codes drawn from the prior",
    ),
    ("embedding", "test images placed by their latent codes, coloured by class"),
    ("manifold", "images decoded from a regular grid of latent points"),
    ("traversal", "images decoded while one latent coordinate at a time is varied"),
    (r"interpolation.*-embedding", "the interpolation path between two images, drawn on the latent embedding"),
    (r"interpolation.*-slerp", "images decoded along a spherical (slerp) path between two latent codes"),
    (r"interpolation.*", "images decoded along a straight line between two latent codes"),
    (r"samples/epoch_(?P<epoch>\d+)", "images sampled from the model after epoch {epoch}"),
    ("samples", "images sampled from the model"),
    ("results", "the headline number of each setting of the sweep"),
)

# Longer numbered series than this (one image per epoch, say) are shown as first, middle and last.
SERIES_SHOWN_WHOLE = 5
_SERIES = re.compile(r"(?P<head>.*?(?:epoch|step)[_-]?)(?P<number>\d+)(?P<tail>\D*)")


@dataclass(frozen=True)
class FigureFile:
    """One PNG of a run (or sweep) folder and what it shows."""

    path: Path
    name: str  # "folder/stem", e.g. "figures/error_curves"
    description: str  # lower-case phrase for "Figure N: ..."
    rank: int  # position of its FIGURES entry (unknown names last)


def describe(name: str) -> tuple[str, int]:
    """(description, rank) of a figure named "folder/stem" (see the module docstring)."""
    stem = name.rsplit("/", 1)[-1]
    for rank, (pattern, description) in enumerate(FIGURES):
        match = re.fullmatch(pattern, name if "/" in pattern else stem)
        if match:
            values = {k: str(int(v)) if v and v.isdigit() else (v or "") for k, v in match.groupdict().items()}
            return description.format(**values), rank
    return re.sub(r"[_\-]+", " ", stem).strip(), len(FIGURES)


def natural_key(text: str) -> list:
    """Sort key that orders 'epoch_2' before 'epoch_10'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def figure_files(folder: Path, subfolders: tuple[str, ...] = ("figures", "samples")) -> list[FigureFile]:
    """Every PNG under `folder/<subfolder>/` with its caption from the subfolder's index.json, in the order
    the figures were drawn; a figure the index does not list (an older run) is described and ordered by
    the FIGURES table, after the indexed ones. A figure its index marks report=False (one another figure
    already shows) is left out."""
    from genlab.train.runfolder import read_figure_index

    files = []
    for sub in subfolders:
        index = read_figure_index(folder / sub)
        order = {name: rank for rank, name in enumerate(index)}
        for path in (folder / sub).glob("*.png"):
            if path.name.startswith("."):  # a figure being written (RunFolder.save_figure's temp file)
                continue
            name = f"{sub}/{path.stem}"
            entry = index.get(path.name)
            if entry is not None:
                if entry.get("report", True):
                    files.append(FigureFile(path, name, entry["caption"], order[path.name]))
            else:
                description, rank = describe(name)
                files.append(FigureFile(path, name, description, len(index) + rank))
    return sorted(files, key=lambda f: (subfolders.index(f.name.split("/")[0]), f.rank, natural_key(f.name)))


@dataclass(frozen=True)
class Series:
    """A numbered run of images (one per epoch or step) of which only some are shown."""

    pattern: str  # e.g. "samples/epoch_###"
    count: int
    shown: tuple[str, ...]  # numbers of the shown ones, e.g. ("1", "25", "50")


def thin_series(files: list[FigureFile]) -> tuple[list[FigureFile], list[Series]]:
    """Keep first, middle and last of every numbered series longer than SERIES_SHOWN_WHOLE.

    Returns the kept files (order preserved) and a record of each thinned series,
    so the report can say what it left out.
    """
    groups: dict[str, list[FigureFile]] = {}
    for file in files:
        match = _SERIES.fullmatch(file.name)
        if match:
            groups.setdefault(match["head"] + "#" + match["tail"], []).append(file)
    dropped: set[Path] = set()
    series = []
    for key, members in groups.items():
        if len(members) <= SERIES_SHOWN_WHOLE:
            continue
        members = sorted(members, key=lambda f: natural_key(f.name))
        kept = [members[0], members[(len(members) - 1) // 2], members[-1]]
        dropped.update(f.path for f in members if f not in kept)
        numbers = tuple(str(int(_SERIES.fullmatch(f.name)["number"])) for f in kept)
        digits = len(_SERIES.fullmatch(members[0].name)["number"])
        series.append(Series(key.replace("#", "#" * digits), len(members), numbers))
    return [f for f in files if f.path not in dropped], series
