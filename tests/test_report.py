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
from helpers import CHROMIUM_FLAGS, assert_user_error, run_cli

from genlab.cli import main
from genlab.report.captions import FIGURES, FigureFile, describe, thin_series
from genlab.report.numbers import format_number


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Three real one-epoch runs on mnist-sample (logreg on 1,000 images, an mlp, and a one-point sweep of an mlp),
    reported with `genlab report`; returns (runs folder, report folder, HTML text)."""
    root = tmp_path_factory.mktemp("report")
    runs = root / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_CACHE", str(root / "cache"))
        for args in (
            ["train", "logreg", "--epochs", "1", "--limit", "1000", "-o", str(runs / "logreg")],
            ["train", "mlp", "--epochs", "1", "--hidden", "32", "-o", str(runs / "mlp")],
            [
                "sweep",
                "mlp",
                "--grid",
                "hidden=16",
                "--set",
                "epochs=1",
                "--set",
                "data=mnist-sample",
                "-o",
                str(runs / "sweep"),
            ],
        ):
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
    # Captions as the code that drew each figure gave them (figures/index.json), naming the curves' splits.
    assert any(
        t.startswith("training, validation and test error (1 - accuracy) against optimisation steps; the training")
        and t.endswith("(mlp on mnist-sample, run mlp).")
        for t in texts
    )
    assert any(t.startswith("confusion matrix on the test split") for t in texts)
    assert any(
        t.startswith(
            "fraction of examples classified correctly, on the test split (test_accuracy; higher is better) "
            "of each setting of the sweep"
        )
        for t in texts
    )


def test_title_page_and_contents_say_what_was_run(report):
    _, _, page = report
    assert "<h1>Report test</h1>" in page
    for fact in ("What was run", "Runs created", "genlab version", "Device", "Total time"):
        assert f"<dt>{fact}</dt>" in page
    assert "logreg on mnist-sample (1 run); mlp on mnist-sample (2 runs)" in page
    toc = page[page.index('<nav class="toc">') : page.index("</nav>")]
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
    assert ["limit", "1000", "none", "use a stratified subset of N training examples"] in found[
        "settings of run logreg that differ from the defaults of logreg"
    ]
    numbers = {row[0]: row for row in found["the numbers of run mlp (its summary.json)"][1:]}
    summary = json.loads((report[0] / "mlp" / "summary.json").read_text())
    assert numbers["test_accuracy"][1] == f"{summary['test_accuracy']:.4g}"
    assert (
        numbers["test_accuracy"][2] == "fraction of examples classified correctly, on the test split (higher is better)"
    )
    assert re.fullmatch(r"(\d as \d \(\d+\); )*\d as \d \(\d+\)", numbers["most_confused"][1])


def test_cross_run_table_has_one_row_per_run(report):
    _, _, page = report
    comparison = [rows for caption, rows in tables(page) if caption.startswith("Table 1: Classifiers: one row")]
    assert len(comparison) == 1
    header, *rows = comparison[0]
    assert header[:3] == ["run", "model", "settings"] and header[3:5] == ["val_accuracy", "test_accuracy"]
    assert sorted(row[0] for row in rows) == ["logreg", "mlp", "sweep/hidden=16"]
    assert {row[0]: row[2] for row in rows} == {
        "logreg": "limit=1000",
        "mlp": "hidden=32",
        "sweep/hidden=16": "hidden=16",
    }
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
    assert_user_error(
        ["report", str(tmp_path / "missing"), "-o", str(tmp_path / "o")], capsys, "does not exist", "give run folders"
    )
    (tmp_path / "empty").mkdir()
    assert_user_error(
        ["report", str(tmp_path / "empty"), "-o", str(tmp_path / "o")],
        capsys,
        "no run folders (config.json) or sweep folders (results.csv) under",
    )
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
        [
            CHROMIUM,
            "--headless",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},900",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout)
    assert found, f"chromium printed no probe result (exit {done.returncode}): {done.stderr[-500:]}"
    result = json.loads(found.group(1))
    assert result["images"] == 7 and result["broken"] == 0
    assert result["scrollWidth"] <= result["innerWidth"], result


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm is not installed (apt-get install poppler-utils; .ci/run does)")
def test_pdf_first_pages_are_not_blank_and_text_matches_the_page(report, tmp_path):
    from matplotlib.image import imread

    _, out, page = report
    subprocess.run(
        [PDFTOPPM, "-png", "-r", "50", "-f", "1", "-l", "2", str(out / "report.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    pictures = sorted(tmp_path.glob("page*.png"))
    assert len(pictures) == 2
    for picture in pictures:
        pixels = imread(picture)[..., :3].mean(axis=2)
        assert pixels.std() > 0.02, f"{picture.name} looks blank"
        assert (pixels < 0.5).mean() > 0.002, f"{picture.name} has almost no dark (text) pixels"
    pdftotext = shutil.which("pdftotext")
    if pdftotext:  # same content: every figure caption and run heading of the page is in the PDF
        text = subprocess.run(
            [pdftotext, str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        flat = " ".join(text.split())
        for number in range(1, 8):
            assert f"Figure {number}:" in flat
        for heading in re.findall(r'<h2 id="[^"]+">([^<]+)</h2>', page):
            assert heading.replace("&#x27;", "'") in flat
        assert any(line.startswith("Contents") for line in text.splitlines())


PDFTOTEXT = shutil.which("pdftotext")


def pdf_pages(path: Path) -> list[list[str]]:
    """The non-empty text lines of each page of a PDF, as pdftotext lays them out."""
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page with a form feed
    return [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]


@pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext is not installed (apt-get install poppler-utils; .ci/run does)"
)
def test_pdf_pages_are_numbered_as_the_viewer_counts_them_none_blank_heads_their_own(report, tmp_path):
    """A report long enough for two contents pages (the real runs reported fifteen times over): the footer of
    page i says 'page i of N' with N the page count, every page holds more than its head and footer, the
    contents pages carry the report's title as their head, and no page's head names a section that starts
    on a later page."""
    from genlab.report.collect import collect
    from genlab.report.document import Heading, build_document
    from genlab.report.pdf import render_pdf

    runs_folder, _, _ = report
    runs, sweeps = collect([runs_folder])
    document = build_document(runs * 15, sweeps * 5, [runs_folder], "Pagination test")
    (tmp_path / "long.pdf").write_bytes(render_pdf(document))
    pages = pdf_pages(tmp_path / "long.pdf")
    info = subprocess.run(["pdfinfo", str(tmp_path / "long.pdf")], capture_output=True, text=True).stdout
    assert len(pages) == int(re.search(r"Pages:\s+(\d+)", info).group(1))
    contents = [i for i, lines in enumerate(pages, 1) if any(line == "Contents" for line in lines[:3])]
    assert contents == [2]
    for number, lines in enumerate(pages, 1):
        assert lines[-1] == f"Pagination test | page {number} of {len(pages)}"
        assert len(lines) >= (2 if number == 1 else 3), f"page {number} is blank: {lines}"
        subsections = {h.text for h in document.blocks if isinstance(h, Heading) and h.level == 3}
        assert lines[-2] not in subsections, f"page {number} ends in the heading {lines[-2]} without its content"
    # The contents run over two pages (54 entries), both headed by the title, and name the right pages.
    toc = [line for lines in pages[1:3] for line in lines[1:-1]]
    assert pages[1][0] == pages[2][0] == "Pagination test" and any(line.startswith("Run 45:") for line in toc)
    listed = {m.group(1): int(m.group(2)) for m in map(re.compile(r"(.+?)\s{2,}(\d+)$").fullmatch, toc) if m}
    for heading in document.headings(2):
        page = listed[heading.text]
        assert heading.text in pages[page - 1], f"{heading.text} is not on page {page}"
    # A page's head is 'part | section' of a heading on that page or an earlier one, never a later one.
    started: set[str] = set()
    for number, lines in enumerate(pages[3:], 4):
        started.update(line for line in lines if line in listed)
        assert all(part in started for part in lines[0].split(" | ")), f"page {number} is headed {lines[0]}"
    # The title page counts what was rendered.
    figures = len(re.findall(r"\bFigure \d+:", " ".join(" ".join(lines) for lines in pages)))
    tables = len(document.tables())
    assert f"Contents {len(runs) * 15} runs, {len(sweeps) * 5} sweeps, {figures} figures, {tables} tables" in " ".join(
        " ".join(pages[0]).split()
    )


# A number that reads as zero written with a minus: "-0", "-0.00" (not "-0.001", "1-0" or "step-0").
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(?:\.0*)?(?![\d.eE])")


@pytest.fixture(scope="module")
def real_kl_rows():
    """kNN KL and EMD between 100 mnist-sample test images (A) and 100 other test images (their kNN KL(A||B)
    is negative: -10.55 nats in pixels when measured), and between A and 100 uniform noise images."""
    from genlab.metrics.compare import MetricSettings, compare
    from genlab.metrics.sets import load_set

    real = load_set("mnist-sample:test[0:100]", name="A")
    others = {
        "real vs real": load_set("mnist-sample:test[100:200]", name="B"),
        "real vs noise": load_set("uniform:784", n=100, seed=1, name="B"),
    }
    return {
        label: [row.to_dict() for row in compare(real, other, ("kl", "emd"), "pixels", MetricSettings()).rows]
        for label, other in others.items()
    }


def test_divergence_tables_put_seconds_beside_every_value_and_read_a_negative_knn_kl(real_kl_rows):
    from genlab.suites.divergence_tables import divergence_table

    table = divergence_table(
        "test images against others",
        {"real vs noise": real_kl_rows["real vs noise"], "real vs real": real_kl_rows["real vs real"]},
        floor="real vs real",
    )
    assert table["columns"] == ["metric", "direction", "real vs real", "seconds", "real vs noise", "seconds"]
    assert [row[:2] for row in table["rows"]] == [["kl_knn", "A||B"], ["kl_knn", "B||A"], ["emd", "A,B"]]
    for row in table["rows"]:
        assert all(isinstance(s, float) and s > 0 for s in row[3::2]), row  # a time beside every value
    # Uniform noise fills the cube that holds every image, so KL(images || noise) is finite, and far above the floor.
    assert isinstance(table["rows"][0][4], float) and table["rows"][0][4] > 100
    floor = real_kl_rows["real vs real"][0]["value"]
    assert floor < 0
    assert (
        f"Negative kNN KL (real vs real A||B {format_number(floor)}): a KL divergence is never below 0, so a "
        "negative value is the kNN estimator's bias" in table["caption"]
    )
    assert f"the column 'real vs real' measures that bias (A||B {format_number(floor)}, B||A" in table["caption"]
    without_floor = divergence_table("same rows", real_kl_rows)
    assert without_floor["caption"].endswith("read it against the exact KL (kl_exact) in the same column.")
    positive = divergence_table("noise only", {"real vs noise": real_kl_rows["real vs noise"]})
    assert "Negative" not in positive["caption"] and "'seconds' column is the run time" in positive["caption"]


def test_no_number_in_the_report_is_a_negative_zero(report, real_kl_rows, tmp_path):
    """A run whose summary holds -0.0 (the entropy of one class), a suite whose notes and table cells were
    formatted with fixed decimals ('-0.00'), and a divergence table: the HTML and the PDF write each zero
    without a minus, while real negative numbers keep theirs."""
    from genlab.report import write_report
    from genlab.suites.divergence_tables import divergence_table

    runs, _, _ = report
    run = tmp_path / "in" / "mlp"
    shutil.copytree(runs / "mlp", run)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "sample_class_entropy": -0.0}))
    assert "-0.0" in (run / "summary.json").read_text()
    suite = tmp_path / "in" / "suite"
    suite.mkdir()
    (suite / "suite.json").write_text(
        json.dumps(
            {
                "suite": "zeros",
                "mode": "quick",
                "steps": [{"name": "judge-scores", "what": "scores"}],
                "notes": [f"The DCGAN drew one class: entropy {-0.0:.2f} nats, change {-1e-9:+.3f}, ratio -0.25."],
                "inspections": [
                    {
                        "step": "judge-scores",
                        "what": "scores",
                        "tables": [
                            {
                                "caption": f"entropies (lowest {-0.0:.2f})",
                                "columns": ["run", "entropy", "text"],
                                "rows": [["dcgan", -0.0, f"{-1e-4:.2f}"], ["gan", 1.25, "-0.001"]],
                            },
                            divergence_table("real against real", real_kl_rows, floor="real vs real"),
                        ],
                    }
                ],
            }
        )
    )
    write_report([tmp_path / "in"], tmp_path / "out", title="Zeros")
    page = (tmp_path / "out" / "report.html").read_text()
    text = re.sub(r"<[^>]+>", " ", page.split("</style>", 1)[1])
    assert "entropy 0.00 nats, change 0.000, ratio -0.25" in text and "-0.001" in text
    assert not NEGATIVE_ZERO.findall(text), NEGATIVE_ZERO.findall(text)
    found = {caption.split(": ", 1)[1].split(" (")[0]: rows for caption, rows in tables(page)}
    assert found["entropies"][1] == ["dcgan", "0", "0.00"]
    assert ["sample_class_entropy", "0"] in [row[:2] for row in found["the numbers of run mlp"]]
    assert "Negative kNN KL (real vs real A||B" in text
    if PDFTOTEXT:
        pdf_text = " ".join(" ".join(lines) for lines in pdf_pages(tmp_path / "out" / "report.pdf"))
        assert "entropy 0.00 nats" in pdf_text and not NEGATIVE_ZERO.findall(pdf_text)


def test_judge_histogram_legends_write_one_class_as_entropy_zero():
    from genlab.plots.suites import class_frequencies_figure

    figure = class_frequencies_figure({"dcgan": [0, 1000, 0], "gan": [300, 300, 400]}, ("0", "1", "2"), "judge")
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "dcgan (entropy 0.00 nats)" in labels and "gan (entropy 1.09 nats)" in labels


def _guide_numbers():
    """scripts/guide_numbers.py as a module (scripts are not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "guide_numbers.py"
    spec = importlib.util.spec_from_file_location("guide_numbers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_guide_numbers_are_rewritten_from_a_suite_folder_and_missing_steps_say_not_run(
    report, real_kl_rows, tmp_path, capsys
):
    """A suite-all folder with part of the classifiers suite (a real run's config.json), the divergences
    inspection's tables, and no gan suite at all: each marked region of a guide is rewritten from it."""
    from genlab.suites.divergence_tables import divergence_table

    script = _guide_numbers()
    runs, _, _ = report
    out = tmp_path / "suite-all-quick"
    shutil.copytree(runs / "logreg", out / "classifiers" / "logreg")
    created = json.loads((runs / "logreg" / "config.json").read_text())["created"][:10]
    (out / "classifiers" / "suite.json").write_text(
        json.dumps(
            {
                "suite": "classifiers",
                "mode": "quick",
                "data": ["mnist"],
                "steps": [{"name": "logreg", "kind": "train"}, {"name": "mlp-activation", "kind": "sweep"}],
                "results": {
                    "columns": ["step", "setting", "model", "val_accuracy", "test_accuracy", "seconds", "selected"],
                    "rows": [
                        ["logreg", "-", "logreg", 0.87, 0.8712345, 12.5, ""],
                        ["mlp-activation", "activation=relu", "mlp", 0.9, -0.0, 30.0, "yes"],
                    ],
                },
                "inspections": [],
                "warnings": [{"step": "logreg", "text": "step logreg: test_accuracy 0.8712 is below its floor 0.9"}],
            }
        )
    )
    # An inspection whose prose reads only its first table (the closest class pairs), with a warning it inherits.
    (out / "autoencoders").mkdir()
    short_knn = "step ae: latent_knn_accuracy 0.41 is below its floor 0.6"
    (out / "autoencoders" / "suite.json").write_text(
        json.dumps(
            {
                "suite": "autoencoders",
                "mode": "quick",
                "data": ["mnist"],
                "steps": [{"name": "class-pairs", "kind": "inspect"}],
                "inspections": [
                    {
                        "step": "class-pairs",
                        "warnings": [short_knn],
                        "tables": [
                            {"caption": "closest pairs", "columns": ["model", "pairs"], "rows": [["ae", "4-9"]]},
                            {"caption": "per class of ae", "columns": ["class"], "rows": [["0"]]},
                        ],
                    }
                ],
                "warnings": [{"step": "class-pairs", "text": short_knn}],
            }
        )
    )
    (out / "divergences").mkdir()
    (out / "divergences" / "suite.json").write_text(
        json.dumps(
            {
                "suite": "divergences",
                "mode": "quick",
                "data": ["mnist"],
                "steps": [{"name": "divergences", "kind": "inspect"}],
                "results": {"columns": [], "rows": []},
                "inspections": [
                    {
                        "step": "divergences",
                        "notes": ["no VAE given"],
                        "tables": [
                            divergence_table(
                                "test images (A) against others (B), in pixels", real_kl_rows, floor="real vs real"
                            )
                        ],
                    }
                ],
            }
        )
    )
    guide = tmp_path / "guide.md"
    prose = (
        "# Guide\n\nClassifiers prose.\n\n<!-- quick-run:classifiers -->\nold 0.94\n<!-- /quick-run:classifiers "
        "-->\n\n<!-- quick-run:autoencoders -->\n<!-- /quick-run:autoencoders -->\nGAN prose.\n"
        "<!-- quick-run:gan -->\n<!-- /quick-run:gan -->\nDivergences.\n"
        "<!-- quick-run:divergences -->\n<!-- /quick-run:divergences -->\nEnd.\n"
    )
    guide.write_text(prose)
    assert script.main([str(out), "--guide", str(guide), "--check"]) == 1  # out of date: nothing written
    assert guide.read_text() == prose
    assert script.main([str(out), "--guide", str(guide)]) == 0
    text = guide.read_text()
    classifiers = text[text.index("<!-- quick-run:classifiers -->") : text.index("<!-- /quick-run:classifiers -->")]
    assert "old 0.94" not in classifiers
    version = json.loads((runs / "logreg" / "config.json").read_text())["genlab_version"]
    assert (
        f"Quick-run numbers (quick settings; data mnist; genlab {version} on cpu, {created}; 42.5 s of "
        "training): written by `scripts/guide_numbers.py` from `suite-all-quick/classifiers/suite.json`" in classifiers
    )
    assert "| step | setting | model | val_accuracy | test_accuracy | seconds | selected |" in classifiers
    assert "| logreg | - | logreg | 0.87 | 0.8712 | 12.5 | - |" in classifiers
    assert "| mlp-activation | activation=relu | mlp | 0.9 | 0 | 30 | yes |" in classifiers
    assert (
        "Not run: `mlp-linear-sigmoid`, `mlp-width`, `mlp-optimizer`, `cnn`, `cnn-fast`, `error-curves`, "
        "`most-confused`, `gradient-check`." in classifiers
    )
    assert "Quick-run numbers: not run (no `gan/suite.json` in `suite-all-quick`" in text
    assert "Warning, below the floor: step logreg: test_accuracy 0.8712 is below its floor 0.9" in classifiers
    autoencoders = text[text.index("<!-- quick-run:autoencoders -->") : text.index("<!-- /quick-run:autoencoders -->")]
    assert autoencoders.count("below its floor 0.6") == 1  # with its inspection, not twice
    assert "`class-pairs`: Warning, below the floor: step ae: latent_knn_accuracy 0.41" in autoencoders
    assert "`class-pairs`: closest pairs." in autoencoders and "per class of ae" not in autoencoders
    divergences = text[text.index("<!-- quick-run:divergences -->") :]
    assert "`divergences`: no VAE given" in divergences and "Negative kNN KL (real vs real A||B" in divergences
    assert "Quick-run numbers (quick settings; data mnist): written by" in divergences  # no runs, no more facts
    assert "| metric | direction | real vs real | seconds | real vs noise | seconds |" in divergences
    assert "| kl_knn | A\\|\\|B | " in divergences
    assert text.startswith("# Guide\n\nClassifiers prose.") and "\nGAN prose.\n" in text and text.endswith("End.\n")
    assert script.main([str(out), "--guide", str(guide), "--check"]) == 0  # rewriting again changes nothing
    capsys.readouterr()
    guide.write_text(prose.replace("quick-run:gan", "quick-run:gans"))
    assert script.main([str(out), "--guide", str(guide)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: the guide marks quick-run regions for unknown suites (gans); name one of: classifiers, "
        "autoencoders, vae, gan, divergences"
    ]


def test_the_guide_marks_quick_run_numbers_for_every_suite():
    from genlab.suites import all_suites

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    marked = [m.group("name") for m in _guide_numbers().REGION.finditer(guide)]
    assert marked == list(all_suites())
