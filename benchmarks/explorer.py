"""Explorer benchmark: how fast `genlab explore` answers, for issue 17's targets (a decode request under
50 ms for a 28x28 image; the page interactive within 1 s of loading with 2,000 points).

For each model (its defaults, trained one epoch on 1,000 MNIST images: the weights' values do not change
the time a decode takes), `genlab explore RUN --points 2000` runs as its own process (OMP_NUM_THREADS
threads) and this script times, from outside, 100 decode requests (POST /api/decode, a new random code
each, one kept-alive connection as the page uses: request to the last byte of the PNG), and, in headless
Chromium when it is installed, the page's load to interactive (the map drawn, its sliders built and the
first image decoded: `window.genlabReadyMs`, milliseconds since navigation start) over 5 loads.

    GENLAB_DATA=../shared/datasets python benchmarks/explorer.py [--models vae dcgan] [--threads 2]

writes benchmarks/results/explorer.json and the 'Explorer' section of docs/benchmarks.md. Run it on a
quiet machine: every number here is a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _docs import write_docs_section
from suites import environment

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["vae", "conv-vae", "dcgan", "cgan"]
REQUESTS = 100
LOADS = 5
POINTS = 2000
DECODE_TARGET_MS = 50
READY_TARGET_MS = 1000


def train(model: str, out: Path, threads: int) -> None:
    command = [sys.executable, "-m", "genlab.cli", "train", model, "--data", "mnist", "--limit", "1000"]
    command += ["--epochs", "1", "--device", "cpu", "-q", "-o", str(out)]
    if model in ("vae", "conv-vae"):
        command += ["--iwae-images", "100", "--iwae-k", "10"]
    if model in ("dcgan", "cgan", "gan", "wgan-gp"):
        command += ["--judge", "none"]
    subprocess.run(command, check=True, env=process_environment(threads), stdout=subprocess.DEVNULL)


def process_environment(threads: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT / "src")}


def serve(run: Path, threads: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "genlab.cli", "explore", str(run), "--port", "0", "--points", str(POINTS)]
    command += ["--device", "cpu"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=process_environment(threads))
    line = process.stdout.readline()  # "explorer of RUN: URL  (Ctrl-C stops it)"
    return process, line.split(": ", 1)[1].split()[0]


def decode_latencies(url: str) -> list[float]:
    """Milliseconds of REQUESTS decode requests of random codes, on one kept-alive connection."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("GET", "/api/state")
    state = json.loads(connection.getresponse().read())
    rng = np.random.default_rng(0)
    times = []
    for index in range(REQUESTS + 5):  # the first 5 warm the server up and are not counted
        body = {"z": rng.standard_normal(state["dim"]).round(4).tolist()}
        if state["classes"]:
            body["label"] = index % len(state["classes"])
        payload = json.dumps(body).encode()
        start = time.perf_counter()
        connection.request("POST", "/api/decode", payload, {"Content-Type": "application/json"})
        image = connection.getresponse().read()
        elapsed = (time.perf_counter() - start) * 1000
        assert image.startswith(b"\x89PNG"), image[:200]
        if index >= 5:
            times.append(elapsed)
    connection.close()
    return times


def ready_times(url: str) -> list[float] | None:
    """Milliseconds from navigation start to the page's ready mark, over LOADS fresh loads (None without
    chromium, chromedriver or selenium)."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    if not chromium or not driver_path:
        return None
    times = []
    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         f"--user-data-dir={profile}", "--window-size=1280,1000"):  # fmt: skip
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            for _ in range(LOADS + 1):  # the first load warms the browser up and is not counted
                driver.get("about:blank")
                driver.get(url)
                WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.body.dataset.ready"))
                times.append(driver.execute_script("return window.genlabReadyMs"))
        finally:
            driver.quit()
    return times[1:]


def measure(model: str, scratch: Path, threads: int) -> dict:
    run = scratch / model
    train(model, run, threads)
    load_before = os.getloadavg()[0]
    process, url = serve(run, threads)
    try:
        decode = decode_latencies(url)
        ready = ready_times(url)
    finally:
        process.terminate()
        process.wait(30)
    return {
        "model": model,
        "decode_ms_median": round(statistics.median(decode), 2),
        "decode_ms_p90": round(float(np.percentile(decode, 90)), 2),
        "decode_requests": len(decode),
        "ready_ms_median": None if ready is None else round(statistics.median(ready), 1),
        "ready_ms_max": None if ready is None else round(max(ready), 1),
        "page_loads": 0 if ready is None else len(ready),
        "points": POINTS,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of the explorer process")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as temporary:
        for model in args.models:
            results.append(measure(model, Path(temporary), args.threads))
            print(json.dumps(results[-1]))
    record = {**environment(args.threads), "results": results}
    target = ROOT / "benchmarks" / "results" / "explorer.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2) + "\n")
    write_docs_section("Explorer", markdown(record))
    print(f"wrote {target} and the 'Explorer' section of docs/benchmarks.md")


def markdown(record: dict) -> str:
    machine, versions = record["machine"], record["versions"]
    lines = [
        "`GENLAB_DATA=../shared/datasets python benchmarks/explorer.py` times `genlab explore RUN --points "
        f"{POINTS}` (its own process, {machine['threads']} threads) for issue 17's targets: a decode request "
        f"(POST /api/decode, a random code, request to the last byte of the 28x28 PNG, median over "
        f"{REQUESTS} on one kept-alive connection) under {DECODE_TARGET_MS} ms, and the page interactive "
        f"(map of {POINTS} points drawn, sliders built, first image decoded; headless Chromium, median of "
        f"{LOADS} loads) within {READY_TARGET_MS} ms. Models at their defaults, trained one epoch on 1,000 "
        "MNIST images.",
        "",
        f"Measured {record['date']} on {machine['platform']} ({machine['processor']}, {machine['cpus']} CPUs), "
        f"genlab {versions['genlab']}, torch {versions['torch']}, Python {versions['python']}.",
        "",
        "| model | decode median (ms) | decode p90 (ms) | page ready median (ms) | page ready max (ms) "
        "| load average before / after |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in record["results"]:
        ready = ("n/a", "n/a") if row["ready_ms_median"] is None else (row["ready_ms_median"], row["ready_ms_max"])
        lines.append(
            f"| {row['model']} | {row['decode_ms_median']} | {row['decode_ms_p90']} | {ready[0]} | {ready[1]} "
            f"| {row['load_average_before']} / {row['load_average_after']} |"
        )
    met = all(row["decode_ms_median"] < DECODE_TARGET_MS for row in record["results"])
    ready_met = all(
        row["ready_ms_median"] is not None and row["ready_ms_median"] < READY_TARGET_MS for row in record["results"]
    )
    busiest = max(row["load_average_before"] for row in record["results"])
    if busiest > machine["cpus"]:
        lines += [
            "",
            f"The machine was loaded (load average up to {busiest} on {machine['cpus']} CPUs): rerun on a quiet one.",
        ]
    lines += [
        "",
        f"Decode target (< {DECODE_TARGET_MS} ms): {'met' if met else 'NOT met'} by every model; page target "
        f"(< {READY_TARGET_MS} ms): {'met' if ready_met else 'NOT met (or not measured: no Chromium)'}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
