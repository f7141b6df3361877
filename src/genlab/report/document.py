"""The report's content as a list of blocks, rendered twice: to HTML and to PDF.

Building the content once and rendering it per format is what keeps the two
files the same: neither renderer decides what is said, only how it looks.
Figures and tables are numbered here, in reading order.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

from genlab import __version__
from genlab.errors import GenlabError
from genlab.report.collect import NO_DEFAULT, Run, SuiteFolder, Sweep
from genlab.report.numbers import (
    TRAINING_FACTS,
    described_meaning,
    entry_meaning,
    format_duration,
    format_entry,
    format_number,
    format_setting,
    format_value,
    is_scalar,
    unsigned_zeros,
)
from genlab.userfiles import figure_problem


@dataclass
class Heading:
    text: str
    level: int  # 1: part of the report, 2: one run / sweep / family, 3: a subsection
    anchor: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    caption: str  # "Table N: ..."
    columns: list[str]
    rows: list[list[str]]
    key_columns: int = 1  # leading columns repeated when a renderer must split a wide table


@dataclass
class Figure:
    path: Path
    caption: str  # "Figure N: ..."


@dataclass
class Document:
    title: str
    facts: list[tuple[str, str]]  # the title page: what was run, when, versions, device, time
    blocks: list = field(default_factory=list)

    def headings(self, max_level: int = 2) -> list[Heading]:
        return [b for b in self.blocks if isinstance(b, Heading) and b.level <= max_level]

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


def looks_numeric(text: str) -> bool:
    """A table cell that is one number ('0.654', '12,345.6', '-3e-05'): renderers right-align it."""
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


class _Builder:
    """Appends blocks, numbering figures and tables, keeping anchors unique and no number a negative zero."""

    def __init__(self, document: Document):
        self.document = document
        self.figures = 0
        self.tables = 0
        self.anchors: set[str] = set()

    def heading(self, text: str, level: int) -> None:
        base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        anchor, n = base, 1
        while anchor in self.anchors:
            n += 1
            anchor = f"{base}-{n}"
        self.anchors.add(anchor)
        self.document.blocks.append(Heading(text, level, anchor))

    def paragraph(self, text: str) -> None:
        self.document.blocks.append(Paragraph(unsigned_zeros(text)))

    def table(self, caption: str, columns: list[str], rows: list[list[str]], key_columns: int = 1) -> None:
        self.tables += 1
        self.document.blocks.append(
            Table(
                f"Table {self.tables}: {unsigned_zeros(caption)}",
                columns,
                [[unsigned_zeros(cell) for cell in row] for row in rows],
                key_columns,
            )
        )

    def figure(self, folder: Path, path: Path, caption: str, label: str) -> None:
        """A figure from `path`, found in (or named by a file in) `folder`, shown as `label`; a file outside
        that folder or not a PNG image is left out with a note, never embedded (a report reads only the
        folders it was given)."""
        problem = figure_problem(folder, path)
        if problem:
            self.paragraph(f"The figure {label} was left out: {problem}.")
            return
        self.figures += 1
        self.document.blocks.append(Figure(path, f"Figure {self.figures}: {unsigned_zeros(caption)}"))


def build_document(
    runs: list[Run],
    sweeps: list[Sweep],
    inputs: list[Path],
    title: str | None = None,
    written: datetime.datetime | None = None,
    suites: list[SuiteFolder] = (),
) -> Document:
    """The whole report: title page facts, suites, cross-run comparisons, sweeps, then each run."""
    document = Document(title or default_title(runs, sweeps), [])
    build = _Builder(document)
    if suites:
        build.heading("Suites", 1)
        for suite in suites:
            try:
                _suite(build, suite)
            except (KeyError, TypeError, AttributeError, IndexError, ValueError) as error:
                # suite.json is a user's file like any other: a record of the wrong shape is one line
                raise GenlabError(
                    f"{suite.path / 'suite.json'} is not a genlab suite record ({type(error).__name__}: {error}); "
                    "run the suite again or leave its folder out of the report's inputs"
                ) from None
    families = _families(runs)
    compared = {name: members for name, members in families.items() if len(members) > 1}
    if compared:
        build.heading("Comparison of runs", 1)
        build.paragraph(
            "One row per run, for runs of the same model family: the settings in which each run "
            "differs from its model's defaults, then every single-number entry of its summary. "
            "What each entry measures is listed in the runs' own sections."
        )
        for members in compared.values():
            _comparison(build, members)
    if sweeps:
        build.heading("Sweeps", 1)
        for sweep in sweeps:
            _sweep(build, sweep)
    if runs:
        build.heading("Runs", 1)
        for index, run in enumerate(runs, 1):
            _run(build, run, index)
    # The title page is written last, so its counts are of what the report holds.
    document.facts = title_facts(runs, sweeps, inputs, written, document, suites)
    return document


def default_title(runs: list[Run], sweeps: list[Sweep]) -> str:
    models = sorted({r.model for r in runs}) or sorted({s.model or "?" for s in sweeps})
    datasets = sorted({r.data for r in runs})
    on = f" on {', '.join(datasets)}" if datasets else ""
    return f"genlab report: {', '.join(models)}{on}"


def title_facts(
    runs: list[Run],
    sweeps: list[Sweep],
    inputs: list[Path],
    written: datetime.datetime | None,
    document: Document,
    suites: list[SuiteFolder] = (),
) -> list[tuple[str, str]]:
    """The title page, as (what, value) pairs; figures and tables are counted in the built `document`."""
    written = written or datetime.datetime.now()
    pairs: dict[tuple[str, str], int] = {}
    for run in runs:
        pairs[(run.model, run.data)] = pairs.get((run.model, run.data), 0) + 1
    what = [f"{model} on {data} ({_count(count, 'run')})" for (model, data), count in pairs.items()]
    what += [
        f"sweep of {s.model or 'a model'} over {', '.join(s.varied) or 'settings'} "
        f"({_count(len(s.rows), 'setting')}, folder {s.label})"
        for s in sweeps
    ]
    created = sorted(r.record.get("created", "") for r in runs if r.record.get("created"))
    when = "unknown"
    if created:
        first, last = (c.replace("T", " ")[:16] for c in (created[0], created[-1]))
        when = first if first == last else f"{first} to {last}"
    versions = sorted({str(r.record.get("genlab_version", "?")) for r in runs})
    devices = sorted({str(r.record.get("device", "?")) for r in runs})
    torches = sorted({str(r.record.get("torch_version", "?")) for r in runs})
    seconds = [r.summary["seconds"] for r in runs if r.summary and isinstance(r.summary.get("seconds"), (int, float))]
    unfinished = sum(r.summary is None for r in runs)
    total = f"{format_duration(sum(seconds))} of training, summed over {_count(len(seconds), 'finished run')}" + (
        f" ({unfinished} did not finish)" if unfinished else ""
    )
    ran = [
        f"{s.record.get('suite', s.label)} ({s.record.get('mode', '?')} settings, "
        f"{_count(len(s.record['steps']), 'step')})"
        for s in suites
    ]
    suite_facts = [("Suites", "; ".join(ran))] if ran else []
    return suite_facts + [
        ("What was run", "; ".join(what) or "nothing"),
        (
            "Contents",
            f"{_count(len(runs), 'run')}, {_count(len(sweeps), 'sweep')}, "
            f"{_count(len(document.figures()), 'figure')}, {_count(len(document.tables()), 'table')}",
        ),
        ("Read from", ", ".join(str(p) for p in inputs)),
        ("Runs created", when),
        ("Report written", f"{written:%Y-%m-%d %H:%M}"),
        ("genlab version", f"{', '.join(versions) or '?'} (runs); {__version__} (this report)"),
        ("Device", f"{', '.join(devices) or '?'} (PyTorch {', '.join(torches) or '?'})"),
        ("Total time", total),
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _families(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs grouped by family module; runs of models this genlab does not know are not compared."""
    families: dict[str, list[Run]] = {}
    for run in runs:
        if run.family:
            families.setdefault(run.family, []).append(run)
    return families


def _setting_texts(run: Run) -> list[str]:
    """'name=value' of each non-default setting but the dataset, which comparisons show on its own."""
    return [f"{s.name}={format_setting(s.value)}" for s in run.settings if s.name != "data"]


def summary_order(keys, headline: tuple[str, ...]) -> list[str]:
    """The family's headline entries, then the other results, then how long training ran."""
    keys = [k for k in keys if k not in ("model", "data")]
    first = [k for k in headline if k in keys]
    last = [k for k in TRAINING_FACTS if k in keys and k not in first]
    return first + [k for k in keys if k not in first and k not in last] + last


def _comparison(build: _Builder, runs: list[Run]) -> None:
    title = runs[0].family_title
    build.heading(f"{title} ({len(runs)} runs)", 2)
    seen: list[str] = []
    for run in runs:
        seen += [k for k, v in (run.summary or {}).items() if k not in seen and is_scalar(v)]
    keys = summary_order(seen, runs[0].headline)
    # What all runs share is said once above the table, so the table keeps to what differs.
    shared = set.intersection(*(set(_setting_texts(r)) for r in runs))
    common = []
    described = {"model": sorted({r.model for r in runs}), "data": sorted({r.data for r in runs})}
    for name, values in described.items():
        if len(values) == 1:
            common.append(f"{name} {values[0]}")
    if shared:
        common.append("non-default settings " + ", ".join(t for t in _setting_texts(runs[0]) if t in shared))
    if common:
        build.paragraph(f"Common to all {len(runs)} runs: {'; '.join(common)}.")
    columns = ["run"] + [name for name, values in described.items() if len(values) > 1] + ["settings"]
    rows = []
    for run in runs:
        summary = run.summary or {}
        cells = {
            "run": run.label,
            "model": run.model,
            "data": run.data,
            "settings": ", ".join(t for t in _setting_texts(run) if t not in shared) or "-",
        }
        rows.append(
            [cells[c] for c in columns] + [format_value(summary[k]) if is_scalar(summary.get(k)) else "-" for k in keys]
        )
    build.table(
        f"{title}: one row per run, with the settings in which it differs from its model's defaults "
        "and its summary numbers",
        columns + keys,
        rows,
    )


def _sweep(build: _Builder, sweep: Sweep) -> None:
    model = sweep.model or "a model"
    build.heading(f"Sweep of {model} over {', '.join(sweep.varied) or 'settings'} ({sweep.label})", 2)
    build.paragraph(
        f"The sweep in folder {sweep.label} trained {model} once for each of {len(sweep.rows)} "
        f"settings of {', '.join(sweep.varied) or 'its grid'}, every other setting shared. Each run "
        "has its own section under Runs, with its settings, numbers and figures."
    )
    rows = [[_cell(row.get(c, "")) for c in sweep.columns] for row in sweep.rows]
    build.table(
        f"results of the sweep in {sweep.label}, one row per setting",
        sweep.columns,
        rows,
        key_columns=max(1, len(sweep.varied)),
    )
    for figure in sweep.figures:
        build.figure(
            sweep.path,
            figure.path,
            f"{figure.description} (sweep of {model} over "
            f"{', '.join(sweep.varied) or 'settings'}, folder {sweep.label}).",
            f"{figure.name} of folder {sweep.label}",
        )


def _suite(build: _Builder, suite: SuiteFolder) -> None:
    """A suite: what it runs and with which settings, one results row per run, its choices and inspections."""
    record = suite.record
    name = record.get("suite", suite.label)
    build.heading(f"Suite {name}: {record.get('title', name)} ({record.get('mode', '?')} settings)", 2)
    build.paragraph(
        f"{record.get('description', '')} Run with the {record.get('mode_text', '?')}; data: "
        f"{', '.join(record.get('data', [])) or '?'}; folder {suite.label}. Each training run also "
        "has its own section under Runs, with its figures and numbers."
    )
    rows = []
    for step in record["steps"]:
        points = (
            "; ".join(
                ", ".join(f"{k}={format_setting(v)}" for k, v in point.items()) for point in step.get("points", [])
            )
            or "-"
        )
        settings = (
            ", ".join(f"{k}={format_setting(v)}" for k, v in step.get("settings", {}).items() if v is not None) or "-"
        )
        floors = f" (floor: {'; '.join(step['floors'])})" if step.get("floors") else ""
        rows.append([step["name"], step.get("model", "-"), step.get("what", "") + floors, settings, points])
    build.table(
        f"the steps of suite {name}, in the order they ran, with the settings each was given (every other "
        "setting at its model's default) and, for a comparison, the settings it compared",
        ["step", "model", "what it does", "settings", "compared"],
        rows,
    )
    results = record.get("results") or {}
    if results.get("rows"):
        build.table(
            f"results of suite {name}: one row per setting, with the family's headline numbers; "
            "'selected' marks the setting each comparison chose by its validation number",
            results["columns"],
            [[_suite_cell(v) for v in row] for row in results["rows"]],
            key_columns=2,
        )
    for step in record["steps"]:
        if step.get("kind") != "inspect":  # an inspection's warnings stand at its own section
            for warning in step.get("warnings", []):
                build.paragraph(f"{BELOW_FLOOR} {warning}")
    for note in record.get("notes", []):
        build.paragraph(note)
    for inspection in record.get("inspections", []):
        build.heading(f"{name}: {inspection['step']}", 3)
        build.paragraph(f"{inspection.get('what', '')[:1].upper()}{inspection.get('what', '')[1:]}.")
        for warning in inspection.get("warnings", []):
            build.paragraph(f"{BELOW_FLOOR} {warning}")
        for note in inspection.get("notes", []):
            build.paragraph(note)
        for table in inspection.get("tables", []):
            build.table(
                f"{table['caption']} (suite {name}, step {inspection['step']})",
                table["columns"],
                [[_suite_cell(v) for v in row] for row in table["rows"]],
            )
            for note in table.get("notes", []):  # what a metric said about one of its values (why a KL is inf)
                build.paragraph(f"Note to table {build.tables}: {note.rstrip('.')}.")
        for figure in inspection.get("figures", []):
            path = suite.path / str(figure["file"])
            if path.is_file():
                build.figure(
                    suite.path,
                    path,
                    f"{figure['caption']} (suite {name}, step {inspection['step']}).",
                    f"{figure['file']} named by {suite.label}/suite.json",
                )
            else:
                build.paragraph(
                    f"The figure {figure['file']} of this step is missing from folder {suite.label}; "
                    f"run the suite again to redraw it."
                )


BELOW_FLOOR = "Warning, below the floor:"  # begins every paragraph about a result too weak to conclude from


def _suite_cell(value) -> str:
    return "-" if value is None or value == "" else format_value(value)


def _cell(text: str) -> str:
    """A results.csv cell: numbers with a decimal point or exponent reformatted, the rest as written."""
    if looks_numeric(text) and any(c in text for c in ".eE") and not text.lower().lstrip("+-").startswith("inf"):
        return format_number(float(text.replace(",", "")))
    return text


def _run(build: _Builder, run: Run, index: int) -> None:
    build.heading(f"Run {index}: {run.model} on {run.data} ({run.label})", 2)
    build.paragraph(_run_intro(run))
    build.heading("Configuration", 3)
    if run.settings:
        rows = [
            [s.name, format_setting(s.value), "-" if s.default is NO_DEFAULT else format_setting(s.default), s.meaning]
            for s in run.settings
        ]
        build.table(
            f"settings of run {run.label} that differ from the defaults of {run.model}",
            ["setting", "value", "default", "meaning"],
            rows,
        )
    else:
        build.paragraph(f"Every setting of this run is at its default for {run.model}.")
    build.heading("Numbers", 3)
    if run.summary is None:
        build.paragraph(
            "This run has no summary.json: it did not finish. Continue it with "
            f"'genlab train {run.model} --resume {run.label}'."
        )
    else:
        rows = [
            [k, format_entry(k, run.summary[k]), meaning_of(run, k)]
            for k in summary_order(list(run.summary), run.headline)
        ]
        build.table(f"the numbers of run {run.label} (its summary.json)", ["entry", "value", "meaning"], rows)
    build.heading("Figures", 3)
    if not run.figures:
        build.paragraph("This run wrote no figures.")
    for series in run.series:
        build.paragraph(
            f"{series.count} images named {series.pattern}.png, one per epoch or step; shown here: "
            f"numbers {', '.join(series.shown)} (first, middle and last)."
        )
    for figure in run.figures:
        build.figure(
            run.path,
            figure.path,
            f"{figure.description} ({run.model} on {run.data}, run {run.label}).",
            f"{figure.name} of run {run.label}",
        )


def meaning_of(run: Run, key: str) -> str:
    """What summary entry `key` of `run` measures: from the run's meanings.json, or for an entry written
    before it existed (an older run, or its entries that `genlab evaluate` kept), from the table of older
    entries."""
    if run.meanings is None or key not in run.meanings:
        return entry_meaning(key)
    return described_meaning(run.meanings[key])


def _run_intro(run: Run) -> str:
    what = (
        f"{run.model}: {run.description}."
        if run.description
        else f"{run.model}: a model this version of genlab does not know; its settings are shown as saved."
    )
    summary = run.summary or {}
    epochs, steps = summary.get("epochs", run.record.get("config", {}).get("epochs")), summary.get("steps")
    trained = f" Trained on {run.data}"
    if epochs is not None:
        trained += f" for {epochs} epoch{'s' * (epochs != 1)}"
    if steps is not None:
        trained += f" ({steps} optimisation steps)"
    if isinstance(summary.get("seconds"), (int, float)):
        trained += f" in {format_duration(summary['seconds'])}"
    trained += f" on {run.record.get('device', '?')}"
    created = str(run.record.get("created", "")).replace("T", " ")[:16]
    if created:
        trained += f", created {created}"
    trained += f" with genlab {run.record.get('genlab_version', '?')}. Folder: {run.label}."
    return what + trained
