"""The boundary between genlab and the files a user hands it or points it at.

Whatever goes wrong while reading a user's file (a JSON file cut short, a CSV
file that is not UTF-8, an .npz renamed .npy, a truncated safetensors file, a
permission error) becomes here one GenlabError that names the file and the fix,
so the CLI prints one line and exits with code 2 instead of a traceback. The
readers (data/tabular.py, data/idx.py, the run folder, the report) wrap their
parsing in `reading(path)` or call `read_json` / `read_jsonl`; `os_error` words
an OSError the same way for the CLI's last-resort handler (an output path
under a file, in /proc, on a read-only or full disk).

The report's rule lives here too: `figure_problem` says why a file may not be
embedded (outside the folder it was found in, or not a PNG image).
"""

from __future__ import annotations

import csv
import json
import os
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors import SafetensorError

from genlab.errors import GenlabError

# What the readers genlab uses raise for a damaged or unreadable file: json/UnicodeDecodeError/numpy
# (ValueError), gzip and np.load on a short file (EOFError), csv's field limit (csv.Error), the zip
# behind .npz, safetensors' header checks, struct unpacking of binary headers, np.load's parsing of a
# damaged .npy header (SyntaxError, tokenize.TokenError), the OS itself.
READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    tokenize.TokenError,
    csv.Error,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    SafetensorError,
)

DAMAGED = "the file is damaged or not what its name says: replace it"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160]}" if text else type(error).__name__


@contextmanager
def reading(path: str | os.PathLike, fix: str = DAMAGED) -> Iterator[None]:
    """Inside this block, a read error of `path` becomes GenlabError('cannot read PATH (why); FIX').

    GenlabErrors raised inside (a reader's own, more precise messages) pass unchanged.
    """
    try:
        yield
    except GenlabError:
        raise
    except READ_ERRORS as error:
        raise GenlabError(f"cannot read {path} ({_reason(error)}); {fix}") from None


def read_json(path: str | os.PathLike, fix: str = DAMAGED, kind: type = dict) -> Any:
    """The JSON value in `path`, which must be a `kind` (a JSON object by default)."""
    with reading(path, fix):
        value = json.loads(Path(path).read_bytes().decode("utf-8"))
    if not isinstance(value, kind):
        raise GenlabError(f"{path} holds a JSON {type(value).__name__}, not the {kind.__name__} genlab wrote; {fix}")
    return value


def read_jsonl(path: str | os.PathLike, fix: str = DAMAGED) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines log, one per line.

    A last line without its newline is one a killed process did not finish writing; it is
    dropped, as the log appends each event with its newline in one write.
    """
    with reading(path, fix):
        text = Path(path).read_bytes().decode("utf-8")
    events = []
    lines = text.split("\n")[:-1]  # the part after the last newline is '' or the torn line
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as error:
            raise GenlabError(f"cannot read {path}: line {number} is not JSON ({error}); {fix}") from None
        if not isinstance(event, dict):
            raise GenlabError(
                f"cannot read {path}: line {number} is a JSON {type(event).__name__}, not an object; {fix}"
            )
        events.append(event)
    return events


def os_error(error: OSError) -> GenlabError:
    """An OSError on a path the user chose, as one line naming the path."""
    where = f" {error.filename}" if error.filename else ""
    return GenlabError(
        f"cannot use{where}: {error.strerror or error}; choose a path in a folder you can write to (and that has space)"
    )


def within(folder: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether `path`, with every link and '..' resolved, lies inside `folder`."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def figure_problem(folder: str | os.PathLike, path: str | os.PathLike) -> str | None:
    """Why a report must not embed `path` found in `folder` (None when it may): a report reads only
    the folders it was given, and embeds only PNG images."""
    if not within(folder, path):
        return f"it lies outside the folder {folder}"
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(PNG_MAGIC))
    except OSError as error:
        return f"it cannot be read ({error.strerror or error})"
    if head != PNG_MAGIC:
        return "it is not a PNG image"
    return None
