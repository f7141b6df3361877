"""Downloads against servers that stall or send too much (on 127.0.0.1, no network): an overall deadline per
file, a size cap from the registry's known sizes, leftover .part files of a killed process removed."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from helpers import assert_user_error

from genlab.data import registry
from genlab.data.download import DownloadError, download_file, mirror_urls
from genlab.data.idx import write_idx
from genlab.errors import GenlabError


class Trickle(BaseHTTPRequestHandler):
    """Announces 1,000 bytes and sends one every 0.2 s: each read succeeds, the whole never arrives in time."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client gave up
            pass

    def log_message(self, *args):
        pass


class Flood(BaseHTTPRequestHandler):
    """Sends 64 kB blocks without a Content-Length until the client hangs up (or 1 GB)."""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(16_384):
                self.wfile.write(bytes(1 << 16))
        except OSError:
            pass

    def log_message(self, *args):
        pass


class Announces(BaseHTTPRequestHandler):
    """Announces a gigabyte (and sends nothing of it)."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(10**9))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """server(Handler) -> base URL of that handler on 127.0.0.1, stopped at teardown."""
    started = []

    def start(handler) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def test_a_trickling_server_meets_the_deadline_of_the_whole_file(tmp_path, server):
    dest = tmp_path / "data" / "labels.gz"
    began = time.monotonic()
    with pytest.raises(DownloadError, match=r"not complete after 1 s \(\d+ bytes received\)"):
        download_file([server(Trickle) + "labels.gz"], dest, None, timeout=30, deadline_s=1)
    # Each read returns within 0.2 s, so a per-read timeout alone would wait the full 200 s.
    assert time.monotonic() - began < 30
    assert list(dest.parent.iterdir()) == []


def test_a_server_sending_too_much_is_cut_off(tmp_path, server):
    dest = tmp_path / "data" / "labels.gz"
    with pytest.raises(DownloadError, match=r"sent more than this file can be \(100000 bytes\)"):
        download_file([server(Flood) + "labels.gz"], dest, None, max_bytes=100_000)
    assert list(dest.parent.iterdir()) == []


def test_the_registry_caps_a_download_at_the_files_known_size(tmp_path, server, monkeypatch, capsys):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENLAB_MIRRORS", server(Announces))
    cap = registry.download_cap(registry.get_info("fashion-mnist"), "train-images-idx3-ubyte.gz")
    assert 47_040_016 < cap < 47_100_000  # 60,000 images of 28x28 and an IDX header, plus gzip's worst case
    assert_user_error(
        ["data", "get", "fashion-mnist"], capsys, f"announces 1000000000 bytes, more than this file can be ({cap})"
    )
    assert [p.name for p in (tmp_path / "data" / "fashion-mnist").iterdir()] == []


def test_leftover_part_files_of_a_killed_download_are_removed(tmp_path, server):
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write_idx(mirror / "labels.gz", np.arange(10, dtype=np.uint8))
    base = server(partial(SimpleHTTPRequestHandler, directory=str(mirror)))
    data = tmp_path / "data"
    data.mkdir()
    killed = data / ".labels.gz.k1ll3d.part"  # what a download killed yesterday left
    killed.write_bytes(b"half a file")
    os.utime(killed, (time.time() - 86_400, time.time() - 86_400))
    live = data / ".labels.gz.l1v3.part"  # another process's download, still going
    live.write_bytes(b"a quarter")
    other = data / ".images.gz.0ld.part"  # a leftover of another file: its own download cleans it
    other.write_bytes(b"")
    os.utime(other, (time.time() - 86_400, time.time() - 86_400))
    download_file([base + "labels.gz"], data / "labels.gz", None, deadline_s=60)
    assert sorted(p.name for p in data.iterdir()) == sorted(
        [".images.gz.0ld.part", ".labels.gz.l1v3.part", "labels.gz"]
    )


@pytest.mark.parametrize("value", ["not a url", "ftp//host", "127.0.0.1:8000/mnist", "https://"])
def test_mirrors_that_are_not_urls_are_one_line(value, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    monkeypatch.setenv("GENLAB_MIRRORS", value)
    with pytest.raises(GenlabError, match="GENLAB_MIRRORS holds .* which is not a URL"):
        mirror_urls("f.gz", ())
    assert_user_error(["data", "get", "fashion-mnist"], capsys, "GENLAB_MIRRORS", value)
