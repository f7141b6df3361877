"""Notebooks: examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, and the objects it
shows (a Run, a comparison) render as HTML with their numbers and figures."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.errors import GenlabError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
# nbclient's limit for one cell (the whole notebook takes about a minute on an idle 2-core machine).
CELL_SECONDS = 120

SMALL = {"data": "mnist-sample", "limit": 300, "epochs": 1, "device": "cpu", "quiet": True}


def _html_outputs(cell) -> list[str]:
    return [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]


def test_the_quickstart_notebook_runs_in_a_kernel_and_shows_its_results(tmp_path):
    import nbclient  # the test extra's: a missing one fails here rather than skipping the notebook
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit the notebook with outputs stripped"
    # The kernel is a new process: it gets this checkout's sources, and the data and cache folders
    # conftest chose; it runs in tmp_path, where the notebook writes its runs.
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=dict(os.environ, PYTHONPATH=path))  # a cell that raises fails here, naming the cell

    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    # The classifier trains with its progress bar on: tqdm.auto draws a notebook widget.
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in code[1].outputs)
    # The classifier, the VAE and the reloaded VAE show themselves: numbers with meanings, figures inline.
    runs = [h for c in code for h in _html_outputs(c) if "genlab run" in h]
    assert len(runs) == 3
    for view in runs:
        assert '<th style="text-align:left">meaning</th>' in view and "data:image/png;base64," in view
    assert "test_accuracy" in runs[0] and "test_elbo" in runs[1] and runs[2] == runs[1]
    comparison = [h for c in code for h in _html_outputs(c) if "<b>A</b>" in h]
    assert len(comparison) == 1 and ">fd<" in comparison[0] and ">mmd2_unbiased<" in comparison[0]
    # Each figure a plotting call returns is shown once, as the cell's value (closed in pyplot, so the
    # inline backend does not draw it a second time).
    figures = [c for c in code if "plot_images" in c.source]
    assert figures and all(
        [o.output_type for o in c.outputs if "image/png" in o.get("data", {})] == ["execute_result"] for c in figures
    )
    report = tmp_path / "quickstart-runs" / "report"
    assert (report / "report.html").stat().st_size > 10_000 and (report / "report.pdf").stat().st_size > 10_000
    assert str(Path("quickstart-runs") / "report" / "report.html") in "".join(
        o.get("text", "") for c in code for o in c.outputs
    )


@pytest.fixture(scope="module")
def small_vae(tmp_path_factory):
    return genlab.train(
        "vae", **SMALL, latent_dim=2, iwae_k=10, iwae_images=50, out=tmp_path_factory.mktemp("a&b") / "<vae>"
    )


def test_a_run_shows_its_numbers_meanings_and_main_figures_as_html(small_vae):
    view = small_vae._repr_html_()
    assert "&lt;vae&gt;" in view and "a&amp;b" in view and "<vae>" not in view  # the path is escaped text
    assert '<td style="text-align:left">epochs</td><td style="text-align:left">1</td>' in view
    assert "passes over the training split" in view  # the meaning of an entry
    pictures = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', view)
    assert len(pictures) == 4 and all(alt != "loss" for _, alt in pictures)  # captions, not file stems
    assert len(view) < 250_000  # figures are shrunk: a notebook keeps what it shows
    assert repr(small_vae) == f"Run('{small_vae.path}': vae on mnist-sample, 1 epoch)"


def test_a_comparison_shows_its_estimates_and_notes(tmp_path):
    result = genlab.compare("uniform:2", "normal:2", metrics=["mmd", "kl"], n=200, permutations=10)
    view = result._repr_html_()
    for row in result.rows:
        assert f">{row.metric}<" in view and f">{row.direction}<" in view
    assert view.count("<tr>") == len(result.rows) + 1
    notes = {note for row in result.rows for note in row.notes}
    assert notes and all(html.escape(note) in view for note in notes)  # e.g. why a KL is infinite
    assert repr(result).startswith("Comparison(A: ") and "mmd2_unbiased A,B = " in repr(result)


def test_plot_images_returns_a_closed_figure(small_vae):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    open_before = plt.get_fignums()
    figure = genlab.plot_images(small_vae.sample(6, seed=0), "six samples", columns=3)
    assert isinstance(figure, Figure) and plt.get_fignums() == open_before
    assert figure.axes[0].get_title() == "six samples"
    with pytest.raises(GenlabError, match=r"got shape \[6, 3, 28, 28\]"):
        genlab.plot_images(np.zeros((6, 3, 28, 28)))


def test_drawing_commands_return_their_figure_and_write_it(small_vae, tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    open_before = plt.get_fignums()
    corrupted = genlab.corrupt(data="parabola", noise="gaussian:0.1", n=200, out=tmp_path / "c.png")
    traversal = genlab.traverse(small_vae.path, out=tmp_path / "t.png", dims=2, steps=3, device="cpu")
    for drawing, title in ((corrupted, "parabola (200 points)"), (traversal, "Latent traversal of test image 0")):
        assert isinstance(drawing.figure, Figure) and drawing.path.stat().st_size > 1000
        titles = [drawing.figure.get_suptitle()] + [axis.get_title() for axis in drawing.figure.axes]
        assert any(title in text for text in titles), titles
    assert plt.get_fignums() == open_before  # closed in pyplot: a notebook shows each once


def test_an_inversion_and_a_path_show_their_numbers_and_figure(tmp_path):
    gan = genlab.train("gan", **SMALL, judge="none", g_hidden=(64,), d_hidden=(64,), out=tmp_path / "gan")
    inverted = genlab.invert(gan.path, images="0:2", restarts=2, steps=10, device="cpu")
    view = inverted._repr_html_()
    assert view.count("<tr>") == 3 and "median best loss" in view and "data:image/png;base64," in view
    path = genlab.path(gan.path, source=0, target=1, points=4, steps=5, restarts=1, invert_steps=10, device="cpu")
    view = path._repr_html_()
    assert ">straight<" in view and ">optimised<" in view and "data:image/png;base64," in view


def test_samples_and_interpolations_show_their_figures_not_their_arrays(small_vae, tmp_path):
    drawn = genlab.sample(small_vae.path, out=tmp_path / "s.npz", n=8, grid=tmp_path / "s.png", device="cpu")
    assert repr(drawn) == f"SampleResult(8 images [1, 28, 28] in '{tmp_path / 's.npz'}', grid '{tmp_path / 's.png'}')"
    assert drawn._repr_html_().count("data:image/png;base64,") == 1
    line = genlab.interpolate(small_vae.path, start="0", end="1", steps=4, device="cpu")
    assert repr(line).startswith("Interpolation(test #0 -> test #1, 4 steps, codes [4, 2]")
    assert line._repr_html_().count("data:image/png;base64,") == len(line.figures) >= 1
