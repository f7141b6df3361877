"""Read and write IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a big-endian header followed by the raw array bytes:

    bytes 0-1   zero
    byte  2     type code of the items (0x08 = uint8, see ``_DTYPES``)
    byte  3     number of dimensions, 1..4
    then        one uint32 per dimension (the first one is the item count)
    then        prod(dims) items, big-endian, C order

Files may be gzip-compressed; compression is detected from the gzip magic
bytes, not from the file name, because users rename and gunzip files freely.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genlab.errors import GenlabError

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> item dtype. Multi-byte items are big-endian on disk.
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_DIMS = 4

_DEFAULT_FIX = "delete it and download it again"

# A truncated or damaged gzip stream surfaces as one of these, depending on
# where the damage is: missing end-of-stream marker (EOFError), bad deflate
# data (zlib.error), bad header or CRC/length trailer (BadGzipFile).
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def _corrupt(path: os.PathLike | str, problem: str, fix: str) -> GenlabError:
    return GenlabError(f"corrupt IDX file {path}: {problem}; {fix}")


def open_maybe_gzip(path: os.PathLike | str) -> BinaryIO:
    """Open ``path`` for binary reading, decompressing it if it starts with the gzip magic.

    Raises GenlabError when the file is missing or unreadable.
    """
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == GZIP_MAGIC
        return gzip.open(path, "rb") if compressed else open(path, "rb")
    except FileNotFoundError:
        raise GenlabError(f"IDX file {path} not found; check the path or download the dataset again") from None
    except OSError as e:
        raise GenlabError(f"cannot read IDX file {path}: {e.strerror or e}; check that it is a readable file") from None


def _read_header(f: BinaryIO, path: os.PathLike | str, fix: str) -> tuple[np.dtype, tuple[int, ...]]:
    magic = f.read(4)
    if len(magic) < 4:
        raise _corrupt(path, f"file holds only {len(magic)} bytes, too short for an IDX header", fix)
    if magic[0] != 0 or magic[1] != 0:
        raise _corrupt(path, f"bad magic number 0x{magic.hex()} (an IDX file starts with two zero bytes)", fix)
    code, ndim = magic[2], magic[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise _corrupt(path, f"unknown item type code 0x{code:02X} (known: {known})", fix)
    if not 1 <= ndim <= _MAX_DIMS:
        raise _corrupt(path, f"header says {ndim} dimensions, expected 1 to {_MAX_DIMS}", fix)
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise _corrupt(path, f"file ends inside the header ({ndim} dimensions need {4 + 4 * ndim} header bytes)", fix)
    return _DTYPES[code], struct.unpack(f">{ndim}I", raw_dims)


def _describe(dims: tuple[int, ...]) -> str:
    """'5000 images of 28x28' for 3-D data, '5000 items' / '5000 items of 4x7' otherwise."""
    noun = "images" if len(dims) == 3 else "items"
    shape = f" of {'x'.join(map(str, dims[1:]))}" if len(dims) > 1 else ""
    return f"{dims[0]} {noun}{shape}"


def read_idx_header(path: os.PathLike | str, *, fix: str = _DEFAULT_FIX) -> tuple[np.dtype, tuple[int, ...]]:
    """Read only the header of an IDX file (cheap: at most 20 bytes are decompressed).

    Returns (item dtype, dims), e.g. (uint8, (10000, 28, 28)). ``fix`` is the
    advice appended to error messages. Raises GenlabError on a missing file or
    a malformed header.
    """
    with open_maybe_gzip(path) as f:
        try:
            return _read_header(f, path, fix)
        except _GZIP_ERRORS as e:
            raise _corrupt(path, f"the gzip stream is truncated or damaged ({e})", fix) from None


def read_idx(path: os.PathLike | str, *, fix: str = _DEFAULT_FIX) -> np.ndarray:
    """Read a whole IDX file (gzip or raw) into a writable, native-endian array.

    Returns an array of shape ``dims`` from the header, e.g. uint8 [N, 28, 28]
    for MNIST images (pixel values 0..255) or uint8 [N] for labels. The item
    count is taken from the header, so subsets read without special cases.

    Raises GenlabError, naming the file and ending with ``fix``, when the file
    is missing, the header is malformed, the gzip stream is damaged, or the
    payload is not exactly prod(dims) * itemsize bytes.
    """
    with open_maybe_gzip(path) as f:
        try:
            dtype, dims = _read_header(f, path, fix)
            payload = f.read()
        except _GZIP_ERRORS as e:
            raise _corrupt(path, f"the gzip stream is truncated or damaged ({e})", fix) from None
    expected = math.prod(dims) * dtype.itemsize
    if len(payload) != expected:
        raise _corrupt(
            path,
            f"header says {_describe(dims)} ({expected} bytes) but the file holds {len(payload)} bytes",
            fix,
        )
    # astype copies, which makes the array writable (frombuffer over bytes is
    # read-only) and converts big-endian items to the native byte order.
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: os.PathLike | str, array: np.ndarray) -> None:
    """Write ``array`` (1..4 dimensions, a dtype from the IDX type table) as an IDX file.

    The file is gzip-compressed when ``path`` ends in ``.gz``. The gzip header
    carries no time stamp or file name, so the same array always gives the same
    bytes (the embedded sample is reproducible byte for byte).
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(str(d) for d in codes)}")
    if not 1 <= array.ndim <= _MAX_DIMS:
        raise ValueError(f"IDX stores 1 to {_MAX_DIMS} dimensions, got an array of shape {array.shape}")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    path = Path(path)
    with open(path, "wb") as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
                gz.write(header + payload)
        else:
            raw.write(header + payload)


def decompressed_sha256(path: os.PathLike | str, *, fix: str = _DEFAULT_FIX) -> str:
    """Hex SHA-256 of the file's bytes after gunzip (of the raw bytes if not gzip).

    Checksums are taken over decompressed bytes because re-gzipping (by
    mirrors, distributions, users) changes the .gz bytes but not the data.
    Raises GenlabError, ending with ``fix``, when the file is missing or its
    gzip stream is damaged.
    """
    digest = hashlib.sha256()
    with open_maybe_gzip(path) as f:
        try:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        except _GZIP_ERRORS as e:
            raise GenlabError(f"corrupt file {path}: the gzip stream is truncated or damaged ({e}); {fix}") from None
    return digest.hexdigest()
