"""`genlab demo`: a short offline tour on the embedded mnist-sample, ending in a report."""

from __future__ import annotations

from pathlib import Path

from genlab.models.registry import get_model
from genlab.report import ReportResult, write_report
from genlab.train import engine

# (model, settings): brief enough for 2 CPU cores, long enough to show learning.
DEMO_RUNS = (
    ("logreg", {"epochs": 10}),
    ("cnn", {"epochs": 4}),
)


def run_demo(out: Path, progress: bool = True) -> ReportResult:
    """Train each demo model on mnist-sample into `out/<model>`; write `out/report.html` and `out/report.pdf`."""
    out = Path(out)
    runs = []
    for model, settings in DEMO_RUNS:
        spec = get_model(model)
        config = spec.make_config(data="mnist-sample", **settings)
        runs.append(engine.train(spec, config, out=out / model, overwrite=True, progress=progress).run.path)
    return write_report(runs, out, title="genlab demo on mnist-sample (2,000 training / 500 test images)")
