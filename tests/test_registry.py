"""Dataset registry and downloads: offline errors, a local mirror, checksums, the embedded sample.

No test touches the network: downloads go to an http.server on 127.0.0.1.
"""

import gzip
import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, needs_shared_data

from genlab.data import registry
from genlab.data.download import DownloadError, download_file, mirror_urls
from genlab.data.idx import decompressed_sha256
from genlab.errors import GenlabError

SHARED = SHARED_DATA
needs_shared = needs_shared_data

TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def serve(tmp_path):
    """serve(folder) -> base URL of a threaded HTTP server on 127.0.0.1 serving that folder."""
    servers = []

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
        # A short poll interval keeps shutdown() at teardown quick.
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fashion_test_mirror(tmp_path):
    """A folder with gzip copies of the Fashion-MNIST test files, as a mirror would hold them."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in TEST_FILES:
        shutil.copy(SHARED / "fashion-mnist" / name, folder / name)
    return folder


# --- registry basics ----------------------------------------------------------


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    assert registry.data_dir() == tmp_path
    monkeypatch.delenv("GENLAB_DATA")
    assert registry.data_dir() == Path.home() / ".cache" / "genlab"


def test_registry_contents():
    assert registry.dataset_names() == ["mnist", "fashion-mnist", "mnist-sample"]
    assert registry.get_info("mnist").classes == tuple("0123456789")
    fashion = registry.get_info("fashion-mnist")
    assert fashion.classes[0] == "T-shirt/top" and fashion.classes[-1] == "Ankle boot"
    for info in registry.DATASETS.values():
        assert len(info.classes) == 10 and info.image_shape == (1, 28, 28)
        assert set(info.sha256) == set(info.filenames()) and len(info.filenames()) == 4
        assert info.files["test"][0].startswith("t10k-")
        assert info.embedded == (not info.mirrors)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(GenlabError, match="unknown dataset 'cifar'.*mnist, fashion-mnist, mnist-sample"):
        registry.get_info("cifar")


@needs_shared
@pytest.mark.parametrize(
    "folder, files",
    [("mnist", TEST_FILES), ("fashion-mnist", registry.DATASETS["fashion-mnist"].filenames())],
)
def test_registry_checksums_match_the_official_files(folder, files):
    # Only files known to be official: the MNIST train files here are a 5k subset.
    info = registry.get_info(folder)
    for name in files:
        assert decompressed_sha256(SHARED / folder / name) == info.sha256[name]


# --- status, load and verify on the shared test data ----------------------------


@needs_shared
def test_status_reads_counts_from_headers(monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(SHARED))
    st = registry.status("mnist")
    assert st["present"] and st["path"] == SHARED / "mnist" and not st["problems"]
    assert st["splits"] == {"train": 5_000, "test": 10_000}
    assert registry.status("fashion-mnist")["splits"] == {"train": 60_000, "test": 10_000}


def test_status_of_a_missing_dataset(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    st = registry.status("mnist")
    assert st == {"name": "mnist", "path": tmp_path / "mnist", "present": False, "splits": {}, "problems": []}


@needs_shared
def test_load_mnist_from_shared(monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(SHARED))
    arrays = registry.load_arrays("mnist", download=False)
    (train_x, train_y), (test_x, test_y) = arrays["train"], arrays["test"]
    assert train_x.shape == (5_000, 28, 28) and train_x.dtype == np.uint8
    assert train_y.shape == (5_000,) and train_y.dtype == np.int64
    assert test_x.shape == (10_000, 28, 28) and np.bincount(test_y)[1] == 1135


@needs_shared
def test_verify_keeps_a_subset_and_reports_the_checksum_difference(monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(SHARED))
    report = registry.verify("mnist", download=False)
    assert report["checksums"] == {
        "train-images-idx3-ubyte.gz": registry.CHECK_DIFFERS,
        "train-labels-idx1-ubyte.gz": registry.CHECK_DIFFERS,
        "t10k-images-idx3-ubyte.gz": registry.CHECK_OK,
        "t10k-labels-idx1-ubyte.gz": registry.CHECK_OK,
    }
    assert (SHARED / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    assert registry.get("mnist") == SHARED / "mnist"


def test_corrupt_file_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    folder = tmp_path / "mnist"
    shutil.copytree(registry._folder(registry.get_info("mnist-sample")), folder)
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:5_000])
    for call in (lambda: registry.load_arrays("mnist"), lambda: registry.verify("mnist")):
        with pytest.raises(GenlabError, match=f"{images}.*delete it and run 'genlab data get mnist'"):
            call()


def test_images_and_labels_must_agree(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    folder = tmp_path / "mnist"
    sample = registry._folder(registry.get_info("mnist-sample"))
    shutil.copytree(sample, folder)
    # Test labels in place of the train labels: 500 labels for 2,000 images.
    shutil.copy(sample / "t10k-labels-idx1-ubyte.gz", folder / "train-labels-idx1-ubyte.gz")
    with pytest.raises(GenlabError, match="mnist train split: 2000 images"):
        registry.load_arrays("mnist")
    assert "2000 images but 500 labels" in registry.status("mnist")["problems"][0]


# --- offline and downloads ------------------------------------------------------


def test_offline_says_where_to_put_the_files(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    monkeypatch.setenv("GENLAB_MIRRORS", closed_port_url())
    with pytest.raises(GenlabError) as info:
        registry.load_arrays("mnist")
    message = str(info.value)
    assert message.startswith(f"mnist not found in {tmp_path / 'mnist'} and could not be downloaded (")
    assert "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in message
    assert "or set GENLAB_DATA to a folder that holds mnist/" in message and "\n" not in message
    assert list((tmp_path / "mnist").iterdir()) == []  # no partial files


def test_no_download_allowed(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    with pytest.raises(GenlabError, match="run 'genlab data get fashion-mnist'"):
        registry.load_arrays("fashion-mnist", download=False)


def test_mirror_urls_env_override(monkeypatch):
    monkeypatch.delenv("GENLAB_MIRRORS", raising=False)
    assert mirror_urls("f.gz", ("https://a/x/", "https://b")) == ["https://a/x/f.gz", "https://b/f.gz"]
    monkeypatch.setenv("GENLAB_MIRRORS", "http://local:1/m , http://other/")
    assert mirror_urls("f.gz", ("https://a/",)) == ["http://local:1/m/f.gz", "http://other/f.gz"]


@needs_shared
def test_download_falls_through_to_a_working_mirror(tmp_path, serve, fashion_test_mirror):
    good = serve(fashion_test_mirror)
    (tmp_path / "empty-mirror").mkdir()
    empty = serve(tmp_path / "empty-mirror")  # answers 404
    dest = tmp_path / "data" / "t10k-labels-idx1-ubyte.gz"
    sha = registry.get_info("fashion-mnist").sha256[dest.name]
    urls = [closed_port_url() + dest.name, empty + dest.name, good + dest.name]
    assert download_file(urls, dest, sha) == dest
    assert decompressed_sha256(dest) == sha
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]


@needs_shared
def test_download_rejects_a_corrupted_file_and_leaves_nothing(tmp_path, serve):
    # The mirror serves a well-formed gzip whose content has one flipped pixel.
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    name = "t10k-images-idx3-ubyte.gz"
    data = bytearray(gzip.decompress((SHARED / "fashion-mnist" / name).read_bytes()))
    data[5_000] ^= 0xFF
    (bad / name).write_bytes(gzip.compress(bytes(data), compresslevel=1))
    dest = tmp_path / "data" / name
    with pytest.raises(DownloadError, match=f"could not download {dest}: .*SHA-256 .* expected") as info:
        download_file([serve(bad) + name], dest, registry.get_info("fashion-mnist").sha256[name])
    assert "\n" not in str(info.value)
    assert list(dest.parent.iterdir()) == []


@needs_shared
def test_download_rejects_a_truncated_gzip(tmp_path, serve):
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    name = "t10k-labels-idx1-ubyte.gz"
    (bad / name).write_bytes((SHARED / "fashion-mnist" / name).read_bytes()[:1_000])
    dest = tmp_path / "data" / name
    with pytest.raises(DownloadError, match="not a complete gzip stream"):
        download_file([serve(bad) + name], dest, registry.get_info("fashion-mnist").sha256[name])
    assert list(dest.parent.iterdir()) == []


@needs_shared
def test_registry_downloads_missing_files_from_the_mirror(monkeypatch, tmp_path, serve, fashion_test_mirror):
    # Train files already present (links to the shared copies); only the test pair is fetched.
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).symlink_to(SHARED / "fashion-mnist" / name)
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENLAB_MIRRORS", f"{closed_port_url()},{serve(fashion_test_mirror)}")
    arrays = registry.load_arrays("fashion-mnist")
    assert arrays["test"][0].shape == (10_000, 28, 28)
    assert np.bincount(arrays["test"][1]).tolist() == [1_000] * 10
    assert set(registry.verify("fashion-mnist")["checksums"].values()) == {registry.CHECK_OK}


# --- the embedded sample ----------------------------------------------------------


def test_mnist_sample_is_embedded_and_balanced(monkeypatch, tmp_path):
    # No data dir and no mirror: the sample must come from the package itself.
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    monkeypatch.setenv("GENLAB_MIRRORS", closed_port_url())
    arrays = registry.load_arrays("mnist-sample")
    (train_x, train_y), (test_x, test_y) = arrays["train"], arrays["test"]
    assert train_x.shape == (2_000, 28, 28) and test_x.shape == (500, 28, 28)
    assert np.bincount(train_y).tolist() == [200] * 10
    assert np.bincount(test_y).tolist() == [50] * 10
    assert 0.1 < train_x.mean() / 255 < 0.16  # MNIST-like ink coverage
    assert registry.status("mnist-sample")["splits"] == {"train": 2_000, "test": 500}
    assert set(registry.verify("mnist-sample")["checksums"].values()) == {registry.CHECK_OK}
    assert list(tmp_path.iterdir()) == []
