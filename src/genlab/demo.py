"""`genlab demo`: a short offline tour on the embedded mnist-sample."""

from __future__ import annotations

from pathlib import Path

from genlab.models.registry import get_model
from genlab.report.summary_page import write_summary_page
from genlab.train import engine

# (model, settings): brief enough for 2 CPU cores, long enough to show learning.
DEMO_RUNS = (
    ("logreg", {"epochs": 10}),
    ("cnn", {"epochs": 4}),
)


def run_demo(out: Path, progress: bool = True) -> Path:
    """Train each demo model on mnist-sample into `out/<model>` and write `out/index.html`."""
    out = Path(out)
    runs = []
    for model, settings in DEMO_RUNS:
        spec = get_model(model)
        config = spec.make_config(data="mnist-sample", **settings)
        runs.append(engine.train(spec, config, out=out / model, overwrite=True, progress=progress).run)
    return write_summary_page(runs, out / "index.html", "genlab demo on mnist-sample (2,000 train / 500 test)",
                              ("test_accuracy", "train_accuracy", "epochs", "seconds"))
