"""A seeded fuzz of the files users hand genlab: damaged IDX, CSV, NPY files and run-folder JSON go to the
commands that read them, which must end with exit code 0 or 2 and at most one line on stderr, never a traceback.

Each case is drawn from one seeded generator (FUZZ_SEED; GENLAB_FUZZ_SEED=N draws other cases), so a failure
names a case that can be rerun; the fuzz does a fixed number of small cases (mnist-sample-size data, one epoch).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import traceback
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from genlab.cli import main

FUZZ_SEED = int(os.environ.get("GENLAB_FUZZ_SEED", "14"))  # another seed draws other cases
TRAIN = ["train", "logreg", "--epochs", "1", "-q"]
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "genlab" / "data" / "sample"


def damage(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """`data` damaged one of the ways a disk, a copy or a hostile hand damages a file, and how."""
    size = len(data)
    at = int(rng.integers(0, max(size, 1)))
    kind = rng.choice(["cut", "flip", "insert", "zero", "repeat", "random", "empty"])
    if kind == "cut":
        return data[:at], f"cut at {at}"
    if kind == "flip":
        spots = rng.integers(0, max(size, 1), size=int(rng.integers(1, 8)))
        damaged = bytearray(data)
        for spot in spots:
            if spot < size:
                damaged[spot] ^= int(rng.integers(1, 256))
        return bytes(damaged), f"flipped bytes at {sorted(spots.tolist())}"
    if kind == "insert":
        return data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:], f"bytes inserted at {at}"
    if kind == "zero":
        end = min(size, at + int(rng.integers(1, 256)))
        return data[:at] + bytes(end - at) + data[end:], f"zeroed {at}..{end}"
    if kind == "repeat":
        return data[:at] + data[at : at + 100] * 3 + data[at:], f"repeated 100 bytes at {at}"
    if kind == "random":
        return rng.bytes(int(rng.integers(1, 2048))), "random bytes"
    return b"", "empty"


def mutate_json(value, rng: np.random.Generator):
    """`value` (parsed JSON) with one entry, at a random depth, replaced by a value of another type or removed."""
    replacements = [None, "x", "", -1, 0, 2**70, 1e308, -0.5, True, [], {}, [1, "a"], {"a": None}]
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = list(value)[int(rng.integers(len(value)))]
        if rng.random() < 0.2:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: mutate_json(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = int(rng.integers(len(value)))
        return [*value[:index], mutate_json(value[index], rng), *value[index + 1 :]]
    return replacements[int(rng.integers(len(replacements)))]


def check(args: list[str], capsys, case: str) -> int:
    """Run `genlab ARGS`; fail naming `case` unless it ends in exit 0 or 2 with at most one line on stderr."""
    try:
        code, _, err = run_cli(args, capsys)
    except BaseException:  # noqa: B036 - what escapes main() is exactly what a user would see as a traceback
        pytest.fail(f"{case}: genlab {' '.join(args)} raised\n{traceback.format_exc()}")
    lines = err.strip().splitlines()
    assert code in (0, 2), f"{case}: exit code {code}: {err}"
    assert len(lines) <= 1 and "Traceback" not in err, f"{case}: {err}"
    return code


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz") / "run"
    main([*TRAIN, "--data", "mnist-sample", "--limit", "100", "-o", str(folder)])
    return folder


def test_damaged_idx_files(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(FUZZ_SEED)
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENLAB_MIRRORS", "http://127.0.0.1:9/")  # a missing file is not fetched
    names = sorted(p.name for p in SAMPLE.glob("*.gz"))
    for number in range(8):
        folder = tmp_path / "data" / "mnist"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("*.md"))
        name = names[int(rng.integers(len(names)))]
        original = (folder / name).read_bytes()
        if number % 2:  # damage the IDX bytes themselves (header, sizes), then store them gzipped or raw
            damaged, how = damage(gzip.decompress(original), rng)
            damaged = gzip.compress(damaged) if rng.random() < 0.5 else damaged
        else:  # damage the gzip stream
            damaged, how = damage(original, rng)
        (folder / name).write_bytes(damaged)
        case = f"IDX case {number}: {name} {how}"
        check([*TRAIN, "--data", "mnist", "--limit", "50", "-o", str(tmp_path / f"run{number}")], capsys, case)


def test_damaged_csv_files(tmp_path, capsys):
    rng = np.random.default_rng(FUZZ_SEED + 1)
    lines = ["a,b,c,label"] + [f"{i * 0.5},{-i},{i % 7}e2,{'xyz'[i % 3]}" for i in range(60)]
    good = ("\n".join(lines) + "\n").encode()
    for number in range(10):
        damaged, how = damage(good, rng)
        path = tmp_path / f"table{number}.csv"
        path.write_bytes(damaged)
        args = [*TRAIN, "--data", str(path), "--label-column", "label", "-o", str(tmp_path / f"run{number}")]
        check(args, capsys, f"CSV case {number}: {how}")


def test_damaged_npy_files(tmp_path, capsys):
    rng = np.random.default_rng(FUZZ_SEED + 2)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((60, 4), dtype=np.float32))
    np.save(tmp_path / "y.npy", np.arange(60) % 3)
    for number in range(8):
        which = "x.npy" if number % 2 == 0 else "y.npy"
        damaged, how = damage((tmp_path / which).read_bytes(), rng)
        folder = tmp_path / f"case{number}"
        folder.mkdir()
        for name in ("x.npy", "y.npy"):
            (folder / name).write_bytes(damaged if name == which else (tmp_path / name).read_bytes())
        args = [*TRAIN, "--data", str(folder / "x.npy"), "--labels", str(folder / "y.npy"), "-o", str(folder / "r")]
        check(args, capsys, f"NPY case {number}: {which} {how}")


def test_damaged_run_folder_json(finished_run, tmp_path, capsys):
    rng = np.random.default_rng(FUZZ_SEED + 3)
    files = ["config.json", "summary.json", "metrics.jsonl"]
    for number in range(9):
        run = tmp_path / f"run{number}"
        shutil.copytree(finished_run, run)
        name = files[number % len(files)]
        text = (run / name).read_bytes()
        if name.endswith(".json") and rng.random() < 0.6:  # valid JSON of the wrong shape
            damaged, how = json.dumps(mutate_json(json.loads(text), rng)).encode(), "one value changed"
        else:
            damaged, how = damage(text, rng)
        (run / name).write_bytes(damaged)
        case = f"run-folder case {number}: {name} {how}: {damaged[:300]!r}"
        commands = [["evaluate", str(run)], [*TRAIN, "--resume", str(run), "--epochs", "2"]]
        if number % 5 == 0:  # a report takes longest (its PDF): two of the cases
            commands.append(["report", str(run), "-o", str(tmp_path / f"report{number}")])
        for args in commands:
            check(args, capsys, case)
