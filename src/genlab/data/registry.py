"""The image datasets genlab knows: where their files live, where to download
them, how to verify them, and how to load them as arrays.

Every dataset is four IDX files, ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``,
in ``<data dir>/<name>/`` (the data dir is ``$GENLAB_DATA`` or
``~/.cache/genlab``). The split named "test" is the ``t10k`` pair.
``mnist-sample`` is embedded in the package and never downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from genlab.data.download import DownloadError, download_file, mirror_urls
from genlab.data.idx import decompressed_sha256, read_idx, read_idx_header
from genlab.errors import GenlabError

DATA_ENV = "GENLAB_DATA"

# Per-file outcomes reported by verify().
CHECK_OK = "ok"
CHECK_DIFFERS = "differs from the official file (kept; its IDX structure is valid)"
CHECK_UNKNOWN = "no checksum known, verified by IDX structure only"


@dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """Static description of one image dataset.

    ``image_shape`` is (channels, height, width) of one image. ``files`` maps a
    split ("train", "test") to its (images, labels) file names. ``sha256``
    maps each file name to the hex SHA-256 of its *decompressed* bytes (None
    where no official value is known). ``mirrors`` are base URLs, tried in
    order. ``embedded`` datasets ship inside the package. ``sizes`` maps each
    file name to its decompressed size in bytes, which caps a download.
    """

    name: str
    description: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int] = (1, 28, 28)
    files: dict[str, tuple[str, str]]
    sha256: dict[str, str | None]
    sizes: dict[str, int] = field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    embedded: bool = False

    def filenames(self) -> list[str]:
        """All file names, images before labels, train before test."""
        return [f for pair in self.files.values() for f in pair]


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# Decompressed bytes of the 60,000 + 10,000 image files: IDX header (4 + 4 per dimension) + one byte per item.
_IDX_SIZES = {
    "train-images-idx3-ubyte.gz": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte.gz": 8 + 60_000,
    "t10k-images-idx3-ubyte.gz": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte.gz": 8 + 10_000,
}


def download_cap(info: DatasetInfo, filename: str) -> int | None:
    """The most bytes a download of `filename` may send: its decompressed size, plus what gzip adds at
    worst (5 bytes per 64 kB stored block, a header and trailer); None when the size is not known."""
    size = info.sizes.get(filename)
    return None if size is None else size + size // 10_000 + 1024


# SHA-256 of the decompressed official files. The test-set values were computed
# here from the official files and agree with those published by several
# independent projects that verify decompressed MNIST, which are also the
# source of the two training-set values (no official copy of the 60k training
# files was at hand to hash).
_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Computed from the complete upstream Fashion-MNIST files (decompressed).
_FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

# The embedded sample as built by sample/BUILD.md.
_SAMPLE_SHA256 = {
    "train-images-idx3-ubyte.gz": "9e32baab980142fd70b06c81fb87a596636bef797ddc4be47dc6c427fb90f927",
    "train-labels-idx1-ubyte.gz": "670089cc94b72e82e36cd25aeedf3ba776d9a5d383bf704c7b891e2eb2ea90b6",
    "t10k-images-idx3-ubyte.gz": "d42e342021635cb3f55c917eb436e69a1fa68acd600c9313e8fc2ab29e4dd199",
    "t10k-labels-idx1-ubyte.gz": "f4bdb71cf89abfa3d99dce0b97d41e6a4b87abfe44b843766c0047c77fe02b99",
}

_DIGITS = tuple(str(d) for d in range(10))

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            name="mnist",
            description="MNIST handwritten digits: 60,000 train + 10,000 test, 28x28 grayscale",
            classes=_DIGITS,
            files=_IDX_FILES,
            sha256=_MNIST_SHA256,
            sizes=_IDX_SIZES,
            mirrors=(
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ),
        ),
        DatasetInfo(
            name="fashion-mnist",
            description="Fashion-MNIST clothing images (Zalando): 60,000 train + 10,000 test, 28x28 grayscale",
            classes=(
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
            files=_IDX_FILES,
            sha256=_FASHION_SHA256,
            sizes=_IDX_SIZES,
            mirrors=(
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            ),
        ),
        DatasetInfo(
            name="mnist-sample",
            description="Class-balanced MNIST sample embedded in genlab: 2,000 train + 500 test, no download",
            classes=_DIGITS,
            files=_IDX_FILES,
            sha256=_SAMPLE_SHA256,
            embedded=True,
        ),
    )
}


def data_dir() -> Path:
    """The folder that holds one sub-folder per downloaded dataset: $GENLAB_DATA, else ~/.cache/genlab."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "genlab"


def dataset_names() -> list[str]:
    """Names of the known datasets, in registry order."""
    return list(DATASETS)


def get_info(name: str) -> DatasetInfo:
    """The DatasetInfo for ``name``; GenlabError listing the known names if there is none."""
    try:
        return DATASETS[name]
    except KeyError:
        raise GenlabError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}") from None


def _folder(info: DatasetInfo) -> Path:
    """Where the dataset's files are (or would be downloaded to)."""
    if info.embedded:
        # Package data are plain files in editable and wheel installs (genlab is
        # not installed zipped), so the resource path is a real folder.
        return Path(str(resources.files("genlab.data").joinpath("sample")))
    return data_dir() / info.name


def _fix(info: DatasetInfo) -> str:
    """The advice appended to corrupt-file errors."""
    if info.embedded:
        return "the genlab installation is damaged; reinstall genlab"
    return f"delete it and run 'genlab data get {info.name}'"


def _ensure_present(info: DatasetInfo, *, download: bool) -> Path:
    """Return the dataset folder, downloading missing files first when allowed.

    Raises GenlabError saying where to put the files when some are missing
    and cannot be downloaded (or ``download`` is False).
    """
    folder = _folder(info)
    missing = [f for f in info.filenames() if not (folder / f).is_file()]
    if not missing:
        return folder
    if info.embedded:
        raise GenlabError(f"{info.name} files {', '.join(missing)} are missing from {folder}; reinstall genlab")
    where = f"put {', '.join(info.filenames())} in {folder} or set {DATA_ENV} to a folder that holds {info.name}/"
    if not download:
        raise GenlabError(f"{info.name} not found in {folder}; run 'genlab data get {info.name}', or {where}")
    for filename in missing:
        try:
            download_file(
                mirror_urls(filename, info.mirrors),
                folder / filename,
                info.sha256[filename],
                max_bytes=download_cap(info, filename),
            )
        except DownloadError as e:
            raise GenlabError(
                f"{info.name} not found in {folder} and could not be downloaded ({e.reason}); {where}"
            ) from None
    return folder


def status(name: str) -> dict:
    """Cheap summary of a dataset on disk (reads only the IDX headers).

    Returns {"name": str, "path": Path (the dataset folder), "present": bool
    (all files there), "splits": {"train": N, "test": N} (number of images
    per the headers; a split whose files are missing or unreadable is left
    out), "problems": [one-line messages about unreadable files]}.
    """
    info = get_info(name)
    folder = _folder(info)
    splits: dict[str, int] = {}
    problems: list[str] = []
    for split, pair in info.files.items():
        if not all((folder / f).is_file() for f in pair):
            continue
        try:
            counts = [read_idx_header(folder / f, fix=_fix(info))[1][0] for f in pair]
        except GenlabError as e:
            problems.append(str(e))
            continue
        if counts[0] != counts[1]:
            problems.append(f"{info.name} {split} split: {counts[0]} images but {counts[1]} labels; {_fix(info)}")
            continue
        splits[split] = counts[0]
    present = all((folder / f).is_file() for f in info.filenames())
    return {"name": info.name, "path": folder, "present": present, "splits": splits, "problems": problems}


def _load_split(info: DatasetInfo, folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_file, labels_file = (folder / f for f in info.files[split])
    images = read_idx(images_file, fix=_fix(info))
    labels = read_idx(labels_file, fix=_fix(info))
    height, width = info.image_shape[1:]
    if images.dtype != np.uint8 or images.shape[1:] != (height, width):
        raise GenlabError(
            f"{images_file} holds {images.dtype} items of shape {images.shape[1:]}, "
            f"expected uint8 {height}x{width} images; {_fix(info)}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise GenlabError(
            f"{info.name} {split} split: {len(images)} images in {images_file.name} but labels of shape "
            f"{labels.shape} in {labels_file.name}; {_fix(info)}"
        )
    if not len(images):
        raise GenlabError(f"{images_file} holds 0 images; {_fix(info)}")
    labels = labels.astype(np.int64)
    if not 0 <= labels.min() <= labels.max() < len(info.classes):
        raise GenlabError(
            f"{labels_file} holds labels {labels.min()}..{labels.max()}, "
            f"expected 0..{len(info.classes) - 1}; {_fix(info)}"
        )
    return images, labels


def load_arrays(name: str, *, download: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load a dataset into memory, downloading it first if needed (and allowed).

    Returns {"train": (images, labels), "test": (images, labels)} with images
    uint8 [N, 28, 28] (0 = background, 255 = ink) and labels int64 [N] in
    0..len(classes)-1. N comes from the file headers (e.g. 5,000 for a subset).
    Raises GenlabError when files are missing and cannot be downloaded, or are
    corrupt, or images and labels disagree. Checksums are not recomputed here
    (get() does that); the structure checks catch truncated files.
    """
    info = get_info(name)
    folder = _ensure_present(info, download=download)
    return {split: _load_split(info, folder, split) for split in info.files}


def verify(name: str, *, download: bool = True) -> dict:
    """Make sure a dataset is on disk (downloading missing files if allowed) and verify every file.

    Returns status(name) plus "checksums": {file name: CHECK_OK | CHECK_DIFFERS
    | CHECK_UNKNOWN}. A present file whose decompressed SHA-256 differs from
    the official one is kept, not deleted (it may be a deliberate subset, like
    a 5,000-image training split), once it parses as a complete IDX file.
    Raises GenlabError when a file cannot be obtained or is corrupt.
    """
    info = get_info(name)
    folder = _ensure_present(info, download=download)
    checksums = {}
    for filename in info.filenames():
        path = folder / filename
        expected = info.sha256[filename]
        if expected is not None and decompressed_sha256(path, fix=_fix(info)) == expected:
            checksums[filename] = CHECK_OK
            continue
        read_idx(path, fix=_fix(info))  # a complete, well-formed IDX file at least
        checksums[filename] = CHECK_UNKNOWN if expected is None else CHECK_DIFFERS
    result = status(name)
    if result["problems"]:
        raise GenlabError(result["problems"][0])
    result["checksums"] = checksums
    return result


def get(name: str) -> Path:
    """Make sure a dataset is on disk and verified (see verify()); return its folder.

    Used by 'genlab data get NAME'; call verify() instead to also see which
    files match the official checksums.
    """
    return verify(name)["path"]
