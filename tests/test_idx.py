"""IDX reading and writing: real MNIST files, and every way a file can be broken."""

import gzip
import shutil
import struct

import numpy as np
import pytest
from conftest import SHARED_DATA, needs_shared_data

from genlab.data.idx import decompressed_sha256, read_idx, read_idx_header, write_idx
from genlab.errors import GenlabError

# The shared test datasets live beside the repository checkout.
MNIST = SHARED_DATA / "mnist"
needs_mnist = needs_shared_data

MNIST_TEST_DIGIT_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_test_raw(tmp_path_factory):
    """Decompressed copies of the MNIST test files, named without .gz."""
    folder = tmp_path_factory.mktemp("raw")
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(MNIST / f"{name}.gz") as src, open(folder / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return folder


@needs_mnist
def test_mnist_test_set_gz():
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,)
    assert np.bincount(labels).tolist() == MNIST_TEST_DIGIT_COUNTS
    assert images.mean() / 255 == pytest.approx(0.1325, abs=5e-5)
    assert images.flags.writeable  # torch.from_numpy warns on read-only arrays


@needs_mnist
def test_raw_and_gz_read_the_same(mnist_test_raw):
    raw = read_idx(mnist_test_raw / "t10k-images-idx3-ubyte")
    assert np.array_equal(raw, read_idx(MNIST / "t10k-images-idx3-ubyte.gz"))
    assert np.bincount(read_idx(mnist_test_raw / "t10k-labels-idx1-ubyte")).tolist() == MNIST_TEST_DIGIT_COUNTS


@needs_mnist
def test_compression_is_detected_from_content_not_name(tmp_path, mnist_test_raw):
    # A raw file named .gz and a gzip file named without .gz both read.
    shutil.copy(mnist_test_raw / "t10k-labels-idx1-ubyte", tmp_path / "raw-named.gz")
    shutil.copy(MNIST / "t10k-labels-idx1-ubyte.gz", tmp_path / "gzip-named-raw")
    assert np.bincount(read_idx(tmp_path / "raw-named.gz")).tolist() == MNIST_TEST_DIGIT_COUNTS
    assert np.bincount(read_idx(tmp_path / "gzip-named-raw")).tolist() == MNIST_TEST_DIGIT_COUNTS


@needs_mnist
def test_train_subset_trusts_the_header():
    assert read_idx(MNIST / "train-images-idx3-ubyte.gz").shape == (5_000, 28, 28)
    assert read_idx(MNIST / "train-labels-idx1-ubyte.gz").shape == (5_000,)
    dtype, dims = read_idx_header(MNIST / "train-images-idx3-ubyte.gz")
    assert dtype == np.uint8 and dims == (5_000, 28, 28)


@needs_mnist
def test_decompressed_sha256_ignores_compression(mnist_test_raw):
    official = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    assert decompressed_sha256(MNIST / "t10k-labels-idx1-ubyte.gz") == official
    assert decompressed_sha256(mnist_test_raw / "t10k-labels-idx1-ubyte") == official


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", "<i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_read_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert np.array_equal(back, array) and back.shape == (2, 3, 4)
    assert back.dtype.isnative and back.dtype.newbyteorder("=") == np.dtype(dtype).newbyteorder("=")
    assert ((tmp_path / name).read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_write_is_reproducible(tmp_path):
    array = np.arange(784, dtype=np.uint8).reshape(1, 28, 28)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_write_rejects_what_idx_cannot_store(tmp_path):
    with pytest.raises(ValueError):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.uint64))
    with pytest.raises(ValueError):
        write_idx(tmp_path / "a", np.zeros((1, 1, 1, 1, 1), dtype=np.uint8))


# --- broken files: each must give a one-line GenlabError naming the file -----


def _raises_naming(path, match=None):
    with pytest.raises(GenlabError, match=match) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.fixture
def images_gz(tmp_path):
    """A small valid gzip IDX image file: 10 random 28x28 images."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8))
    return path


def test_missing_file(tmp_path):
    _raises_naming(tmp_path / "nope.gz", match="not found")


def test_truncated_gz(images_gz):
    data = images_gz.read_bytes()
    images_gz.write_bytes(data[: len(data) // 2])
    _raises_naming(images_gz, match="truncated or damaged")


def test_gz_missing_its_trailer(images_gz):
    images_gz.write_bytes(images_gz.read_bytes()[:-4])
    _raises_naming(images_gz, match="truncated or damaged")


def test_truncated_raw(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-1234])
    message = _raises_naming(path)
    assert "header says 10 images of 28x28 (7840 bytes) but the file holds 6606 bytes" in message


def test_truncated_inside_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 10))
    _raises_naming(path, match="ends inside the header")


def test_trailing_bytes(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.zeros(10, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\0\0")
    _raises_naming(path, match=r"header says 10 items \(10 bytes\) but the file holds 12 bytes")


@pytest.mark.parametrize(
    "header, match",
    [
        (bytes([1, 0, 8, 1]), "bad magic number"),
        (bytes([0x50, 0x4B, 3, 4]), "bad magic number"),  # a zip file
        (bytes([0, 0, 0x07, 1]), "unknown item type code 0x07"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 5]), "5 dimensions"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_bad_header(tmp_path, header, match, compress):
    data = header + struct.pack(">5I", 1, 1, 1, 1, 1) + b"\0"
    path = tmp_path / "bad"
    path.write_bytes(gzip.compress(data) if compress else data)
    _raises_naming(path, match=match)
    with pytest.raises(GenlabError, match=match):
        read_idx_header(path)


def test_fix_advice_is_appended(images_gz):
    images_gz.write_bytes(images_gz.read_bytes()[:100])
    with pytest.raises(GenlabError, match="; delete it and run 'genlab data get mnist'$"):
        read_idx(images_gz, fix="delete it and run 'genlab data get mnist'")
