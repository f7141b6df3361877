"""`genlab report` reads only the folders it is given: a suite.json or a run's figures/ that name a file
outside their folder (an absolute path, a ../../ path, a link) or a file that is not a PNG image get a
note in the report, and the file's bytes appear in neither the HTML nor the PDF."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from helpers import run_cli
from PIL import Image

from genlab.cli import main

SECRET = b"hostname-of-the-secret-machine\n"


def test_report_embeds_only_png_files_inside_its_folders(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    suite = tmp_path / "given" / "suite"
    run = suite / "logreg"
    main(["train", "logreg", "--data", "mnist-sample", "--limit", "100", "--epochs", "1", "-q", "-o", str(run)])
    real_png = next((run / "figures").glob("*.png"))
    Image.new("L", (5, 3), color=7).save(outside / "private.png")  # a real image, but not the report's to read
    (run / "figures" / "zz_link.png").symlink_to(outside / "private.png")
    (suite / "fake.png").write_bytes(SECRET)
    figures = {
        "absolute": str(outside / "secret.txt"),
        "up and out": os.path.relpath(outside / "secret.txt", suite),
        "link out": "figures_link.png",
        "not an image": "fake.png",
        "fine": "logreg/figures/" + real_png.name,
    }
    (suite / "figures_link.png").symlink_to(outside / "private.png")
    record = {
        "suite": "hostile",
        "steps": [{"name": "logreg", "kind": "train"}],
        "inspections": [
            {
                "step": "look",
                "what": "figures named by a hostile suite.json",
                "figures": [{"file": file, "caption": case} for case, file in figures.items()],
            }
        ],
    }
    (suite / "suite.json").write_text(json.dumps(record))

    code, _, err = run_cli(["report", str(tmp_path / "given"), "-o", str(tmp_path / "report")], capsys)

    assert code == 0, err
    page = (tmp_path / "report" / "report.html").read_text()
    for leaked in (SECRET, (outside / "private.png").read_bytes()):
        assert base64.b64encode(leaked).decode() not in page
    assert page.count("was left out") == 5, page.count("was left out")  # four from suite.json, the run's link
    assert "it lies outside the folder" in page and "it is not a PNG image" in page
    assert base64.b64encode(real_png.read_bytes()).decode() in page  # the good figure is still there
    pdf = (tmp_path / "report" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and SECRET.strip() not in pdf


def test_a_suite_record_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    suite = tmp_path / "suite"
    run = suite / "logreg"
    main(["train", "logreg", "--data", "mnist-sample", "--limit", "100", "--epochs", "1", "-q", "-o", str(run)])
    (suite / "suite.json").write_text(json.dumps({"steps": [{"name": "logreg"}], "inspections": [{"figures": 3}]}))
    code, _, err = run_cli(["report", str(suite), "-o", str(tmp_path / "report")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "suite.json" in err, err
    assert not (tmp_path / "report" / "report.html").exists()


def test_a_path_inside_through_dots_is_still_inside(tmp_path):
    from genlab.userfiles import within

    (tmp_path / "a" / "b").mkdir(parents=True)
    assert within(tmp_path / "a", tmp_path / "a" / "b" / ".." / "b")
    assert not within(tmp_path / "a", tmp_path / "a" / ".." / "c")
    assert not within(tmp_path / "a", Path("/etc/hostname"))
