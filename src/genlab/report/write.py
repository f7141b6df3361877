"""`write_report`: the API behind `genlab report` (and the end of `genlab demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genlab.report.collect import collect, collect_suites
from genlab.report.document import build_document
from genlab.report.html import render_html
from genlab.report.pdf import render_pdf
from genlab.train.runfolder import atomic_write_bytes


@dataclass
class ReportResult:
    html: Path
    pdf: Path
    runs: int
    sweeps: int
    figures: int


def write_report(inputs: list[str | Path], out: str | Path, title: str | None = None) -> ReportResult:
    """Report every run and sweep folder named by or found under `inputs` into `out`.

    Writes `out/report.html` (images embedded as base64 PNG, no network needed)
    and `out/report.pdf` with the same content; each file is written atomically,
    so a reader never sees half a report.
    """
    paths = [Path(p) for p in inputs]
    runs, sweeps = collect(paths)
    document = build_document(runs, sweeps, paths, title, suites=collect_suites(paths))
    out = Path(out)
    html_path, pdf_path = out / "report.html", out / "report.pdf"
    atomic_write_bytes(html_path, render_html(document).encode("utf-8"))
    atomic_write_bytes(pdf_path, render_pdf(document))
    return ReportResult(html_path, pdf_path, len(runs), len(sweeps), len(document.figures()))
