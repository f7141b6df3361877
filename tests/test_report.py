"""`genlab report`: real runs in, a self-contained HTML page and a PDF with the same content out,
checked as a person would check them (Chromium renders the page, pdftoppm draws the PDF)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import assert_user_error, run_cli

from genlab.cli import main
from genlab.report.captions import FIGURES, FigureFile, describe, thin_series


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Three real one-epoch runs on mnist-sample (logreg on 1,000 images, an mlp, and a one-point sweep of an mlp),
    reported with `genlab report`; returns (runs folder, report folder, HTML text)."""
    root = tmp_path_factory.mktemp("report")
    runs = root / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_CACHE", str(root / "cache"))
        for args in (["train", "logreg", "--epochs", "1", "--limit", "1000", "-o", str(runs / "logreg")],
                     ["train", "mlp", "--epochs", "1", "--hidden", "32", "-o", str(runs / "mlp")],
                     ["sweep", "mlp", "--grid", "hidden=16", "--set", "epochs=1", "--set", "data=mnist-sample",
                      "-o", str(runs / "sweep")]):
            if args[0] == "train":
                args += ["--data", "mnist-sample"]
            _call([*args, "-q"])
        out = root / "out"
        printed = _call(["report", str(runs), "-o", str(out), "--title", "Report test"])
    assert f"report: {out / 'report.html'}" in printed
    return runs, out, (out / "report.html").read_text()


def _call(args: list[str]) -> str:
    """Run `genlab ARGS` in this process (a module fixture cannot use capsys); return what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            main(args)
        except SystemExit as done:
            assert done.code in (0, None), f"genlab {' '.join(args)} exited {done.code}"
    return buffer.getvalue()


class Tables(HTMLParser):
    """Every table of a page as (caption, rows of cell texts), the caption from p.caption before it."""

    def __init__(self):
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._caption, self._in_caption, self._cell = "", False, None

    def handle_starttag(self, tag, attrs):
        if tag == "p" and ("class", "caption") in attrs:
            self._in_caption, self._caption = True, ""
        elif tag == "table":
            self.tables.append((self._caption, []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_caption = False
        elif tag in ("td", "th"):
            self.tables[-1][1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._in_caption:
            self._caption += data
        if self._cell is not None:
            self._cell += data


def tables(page: str) -> list[tuple[str, list[list[str]]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def test_every_figure_is_embedded_once_with_a_numbered_caption(report):
    runs, _, page = report
    pngs = [p for p in runs.rglob("*.png") if not p.name.startswith(".")]
    images = re.findall(r'<img src="([^"]*)"', page)
    assert len(pngs) == 7  # 2 per classifier run, 3 runs, and the sweep's results.png
    assert len(images) == len(pngs) and all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in page and "https://" not in page  # nothing to fetch: the page stands alone
    captions = re.findall(r"<figcaption>Figure (\d+): ([^<]*)</figcaption>", page)
    assert [int(n) for n, _ in captions] == list(range(1, len(pngs) + 1))
    texts = [text for _, text in captions]
    assert any(t.startswith("training and test error against optimisation steps (mlp on mnist-sample")
               for t in texts)
    assert any(t.startswith("confusion matrix on the test split") for t in texts)
    assert any("headline number of each setting of the sweep" in t for t in texts)


def test_title_page_and_contents_say_what_was_run(report):
    _, _, page = report
    assert "<h1>Report test</h1>" in page
    for fact in ("What was run", "Runs created", "genlab version", "Device", "Total time"):
        assert f"<dt>{fact}</dt>" in page
    assert "logreg on mnist-sample (1 run); mlp on mnist-sample (2 runs)" in page
    toc = page[page.index('<nav class="toc">'):page.index("</nav>")]
    assert toc.count("<a href=") == 3 + 1 + 1 + 3  # parts, the family, the sweep, the runs
    for anchor in re.findall(r'href="#([^"]+)"', toc):
        assert f'id="{anchor}"' in page


def test_runs_show_their_non_default_settings_and_numbers(report):
    _, _, page = report
    found = {caption.split(": ", 1)[1]: rows for caption, rows in tables(page)}
    mlp = found["settings of run mlp that differ from the defaults of mlp"]
    assert ["hidden", "32", "128", "hidden layer widths, comma-separated, e.g. 256,128"] in mlp
    assert ["epochs", "1", "10", "passes over the training split"] in mlp
    assert not any(row[0] in ("model", "data_fingerprint", "seed") for row in mlp)
    assert ["limit", "1000", "none", "use a stratified subset of N training examples"] in \
        found["settings of run logreg that differ from the defaults of logreg"]
    numbers = {row[0]: row for row in found["the numbers of run mlp (its summary.json)"][1:]}
    summary = json.loads((report[0] / "mlp" / "summary.json").read_text())
    assert numbers["test_accuracy"][1] == f"{summary['test_accuracy']:.4g}"
    assert numbers["test_accuracy"][2] == "fraction of examples classified correctly, on the test split"
    assert re.fullmatch(r"(\d as \d \(\d+\); )*\d as \d \(\d+\)", numbers["most_confused"][1])


def test_cross_run_table_has_one_row_per_run(report):
    _, _, page = report
    comparison = [rows for caption, rows in tables(page) if caption.startswith("Table 1: Classifiers: one row")]
    assert len(comparison) == 1
    header, *rows = comparison[0]
    assert header[:3] == ["run", "model", "settings"] and header[3:5] == ["val_accuracy", "test_accuracy"]
    assert sorted(row[0] for row in rows) == ["logreg", "mlp", "sweep/hidden=16"]
    assert {row[0]: row[2] for row in rows} == {"logreg": "limit=1000", "mlp": "hidden=32",
                                                "sweep/hidden=16": "hidden=16"}
    assert "Common to all 3 runs: data mnist-sample; non-default settings epochs=1." in page


def test_pdf_carries_the_pages(report):
    _, out, page = report
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= 2 + 3  # title, contents, and at least a page per run


def test_report_files_have_the_permissions_of_any_new_file(report):
    _, out, _ = report
    mask = os.umask(0)
    os.umask(mask)
    for name in ("report.html", "report.pdf"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~mask  # not mkstemp's private 0600


def test_unfinished_and_unknown_runs_are_reported_not_refused(report, tmp_path, capsys):
    runs, _, _ = report
    shutil.copytree(runs / "mlp", tmp_path / "in" / "unfinished")
    (tmp_path / "in" / "unfinished" / "summary.json").unlink()
    shutil.copytree(runs / "logreg", tmp_path / "in" / "future")
    config_path = tmp_path / "in" / "future" / "config.json"
    record = json.loads(config_path.read_text())
    record["config"]["model"] = "a-model-from-the-future"
    config_path.write_text(json.dumps(record))
    code, out, _ = run_cli(["report", str(tmp_path / "in"), "-o", str(tmp_path / "out")], capsys)
    assert code == 0, out
    page = (tmp_path / "out" / "report.html").read_text()
    assert "This run has no summary.json: it did not finish." in page
    assert "a-model-from-the-future: a model this version of genlab does not know" in page
    assert "1 finished run (1 did not finish)" in page


def test_runs_given_one_by_one_keep_their_order(report, tmp_path, capsys):
    runs, _, _ = report
    code, out, _ = run_cli(["report", str(runs / "mlp"), str(runs / "logreg"), "-o", str(tmp_path)], capsys)
    assert code == 0 and "2 run(s), 0 sweep(s), 4 figure(s)" in out
    page = (tmp_path / "report.html").read_text()
    assert page.index("Run 1: mlp on mnist-sample (mlp)") < page.index("Run 2: logreg on mnist-sample (logreg)")


def test_report_user_errors(tmp_path, capsys):
    assert_user_error(["report", str(tmp_path / "missing"), "-o", str(tmp_path / "o")], capsys,
                      "does not exist", "give run folders")
    (tmp_path / "empty").mkdir()
    assert_user_error(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "o")], capsys,
                      "no run folders (config.json) or sweep folders (results.csv) under")
    assert_user_error(["report", "-o", str(tmp_path / "o")], capsys, "Missing argument")


def test_captions_come_from_the_table_with_a_fallback():
    assert describe("figures/error_curves") == (FIGURES[0][1], 0)
    assert describe("figures/reconstructions_epoch_007")[0] == "test images and their reconstructions after epoch 7"
    assert describe("samples/epoch_012")[0] == "images sampled from the model after epoch 12"
    assert describe("figures/interpolation-3-7-slerp")[0].startswith("images decoded along a spherical")
    assert describe("figures/interpolation-3-7-embedding")[0].startswith("the interpolation path")
    assert describe("figures/latent_walk-2")[0] == "latent walk 2"  # unknown: the file name in words
    assert describe("figures/latent_walk-2")[1] == len(FIGURES)


def test_long_epoch_series_are_thinned_to_first_middle_and_last():
    names = [f"samples/epoch_{n:03d}" for n in range(1, 21)] + ["figures/loss"]
    files = [FigureFile(Path(f"{n}.png"), n, *describe(n)) for n in names]
    kept, series = thin_series(files)
    assert [f.name for f in kept] == ["samples/epoch_001", "samples/epoch_010", "samples/epoch_020", "figures/loss"]
    assert len(series) == 1 and series[0].count == 20 and series[0].shown == ("1", "10", "20")
    assert series[0].pattern == "samples/epoch_###"
    short = files[:5]
    assert thin_series(short) == (short, [])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFTOPPM = shutil.which("pdftoppm")
PROBE = """<script>
window.addEventListener("load", function () {
  var broken = Array.prototype.filter.call(document.images, function (i) {
    return !i.complete || i.naturalWidth === 0; }).length;
  var result = document.createElement("pre");
  result.id = "probe";
  result.textContent = JSON.stringify({images: document.images.length, broken: broken,
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth});
  document.body.appendChild(result);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
@pytest.mark.parametrize("width", [1280, 700])
def test_chromium_loads_every_image_and_nothing_overflows(report, tmp_path, width):
    _, _, page = report
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    profile = tempfile.mkdtemp(dir=tmp_path)
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom",
         probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout)
    assert found, f"chromium printed no probe result (exit {done.returncode}): {done.stderr[-500:]}"
    result = json.loads(found.group(1))
    assert result["images"] == 7 and result["broken"] == 0
    assert result["scrollWidth"] <= result["innerWidth"], result


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm is not installed (apt-get install poppler-utils; .ci/run does)")
def test_pdf_first_pages_are_not_blank_and_text_matches_the_page(report, tmp_path):
    from matplotlib.image import imread

    _, out, page = report
    subprocess.run([PDFTOPPM, "-png", "-r", "50", "-f", "1", "-l", "2", str(out / "report.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    pictures = sorted(tmp_path.glob("page*.png"))
    assert len(pictures) == 2
    for picture in pictures:
        pixels = imread(picture)[..., :3].mean(axis=2)
        assert pixels.std() > 0.02, f"{picture.name} looks blank"
        assert (pixels < 0.5).mean() > 0.002, f"{picture.name} has almost no dark (text) pixels"
    pdftotext = shutil.which("pdftotext")
    if pdftotext:  # same content: every figure caption and run heading of the page is in the PDF
        text = subprocess.run([pdftotext, str(out / "report.pdf"), "-"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
        flat = " ".join(text.split())
        for number in range(1, 8):
            assert f"Figure {number}:" in flat
        for heading in re.findall(r'<h2 id="[^"]+">([^<]+)</h2>', page):
            assert heading.replace("&#x27;", "'") in flat
        assert any(line.startswith("Contents") for line in text.splitlines())
