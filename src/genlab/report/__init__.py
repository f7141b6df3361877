"""Reports: one self-contained HTML page and a PDF with the same content, from run and sweep folders.

    from genlab.report import write_report
    result = write_report(["runs/"], "report-out")   # report-out/report.html, report-out/report.pdf

collect (find and read folders) -> document (what is said, numbered) -> html / pdf (how it looks).
Figure captions come from the table in genlab.report.captions; summary entries
are explained by the table in genlab.report.numbers.
"""

from genlab.report.write import ReportResult, write_report

__all__ = ["ReportResult", "write_report"]
