"""Download dataset files from a list of mirrors, verifying them before they land.

A file only appears under its final name after it has been checked, so an
interrupted or corrupted download never leaves a file that looks complete.
A download has an overall deadline (a server that trickles a byte at a time
is given up on, not waited for) and a size cap (a server that sends more than
the file can hold is cut off, not written to disk), and the `.part` files of
a process killed mid-download are removed by the next download of that file.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from genlab import __version__
from genlab.data.idx import decompressed_sha256, read_idx
from genlab.errors import GenlabError

MIRRORS_ENV = "GENLAB_MIRRORS"
DEADLINE_S = 600.0  # the longest one file may take: Fashion-MNIST's largest (26 MB) needs 44 kB/s
URL_SCHEMES = ("http", "https", "file")


class DownloadError(GenlabError):
    """Every mirror failed; ``reason`` is the last mirror's failure, without the file name."""

    def __init__(self, dest: Path, reason: str):
        super().__init__(
            f"could not download {dest}: {reason}; check the network connection "
            f"or set {MIRRORS_ENV} to base URLs that serve {dest.name}"
        )
        self.dest = dest
        self.reason = reason


def mirror_urls(filename: str, mirrors: Sequence[str]) -> list[str]:
    """Full URLs of ``filename`` on each mirror, in the order to try them.

    ``mirrors`` are base URLs (with or without a trailing slash). The
    environment variable GENLAB_MIRRORS (comma-separated base URLs), when set,
    replaces them, for private mirrors and for tests against a local server.
    """
    override = os.environ.get(MIRRORS_ENV, "")
    bases = [b.strip() for b in override.split(",") if b.strip()] or list(mirrors)
    for base in bases:
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in URL_SCHEMES or not (parts.netloc or parts.scheme == "file"):
            raise GenlabError(
                f"{MIRRORS_ENV} holds '{base}', which is not a URL; give comma-separated base URLs "
                "such as https://host/path/ (or unset it to use the built-in mirrors)"
            )
    return [base.rstrip("/") + "/" + filename for base in bases]


def _check(tmp: Path, sha256: str | None) -> str | None:
    """Return why the downloaded ``tmp`` is unusable, or None if it is good."""
    if sha256 is None:
        # No official checksum: the IDX structure check is the only guard.
        try:
            read_idx(tmp)
        except GenlabError:
            return "the downloaded data is not a complete IDX file"
        return None
    try:
        actual = decompressed_sha256(tmp)
    except GenlabError:
        return "the downloaded data is not a complete gzip stream"
    if actual != sha256:
        return f"SHA-256 of the decompressed data is {actual}, expected {sha256}"
    return None


def _leftovers(dest: Path, older_than_s: float) -> list[Path]:
    """`.part` files of `dest` (see download_file) last written more than `older_than_s` seconds ago."""
    cutoff = time.time() - older_than_s
    found = []
    for path in dest.parent.glob(f".{dest.name}.*.part"):
        try:
            if path.stat().st_mtime < cutoff:
                found.append(path)
        except FileNotFoundError:  # finished or removed meanwhile
            pass
    return found


def _fetch(url: str, out, timeout: float, deadline_s: float, max_bytes: int | None) -> str | None:
    """Copy `url` into the open file `out`; return why it is unusable (too slow, too big), or None."""
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": f"genlab/{__version__}"})
    with urllib.request.urlopen(request, timeout=min(timeout, deadline_s)) as response:
        announced = response.headers.get("Content-Length", "")
        if max_bytes is not None and announced.isdigit() and int(announced) > max_bytes:
            return f"the server announces {announced} bytes, more than this file can be ({max_bytes})"
        received = 0
        # read1 returns what has arrived, so a server that trickles cannot hold one read open past the deadline
        while chunk := response.read1(1 << 20):
            received += len(chunk)
            if max_bytes is not None and received > max_bytes:
                return f"the server sent more than this file can be ({max_bytes} bytes)"
            if time.monotonic() - started > deadline_s:
                return f"not complete after {deadline_s:g} s ({received} bytes received)"
            out.write(chunk)
    return None


def download_file(
    urls: Sequence[str],
    dest: Path,
    sha256: str | None,
    timeout: float = 30,
    deadline_s: float = DEADLINE_S,
    max_bytes: int | None = None,
) -> Path:
    """Download the first URL that yields a good copy of the file to ``dest``.

    ``sha256`` is the hex SHA-256 of the *decompressed* file (None when no
    official checksum is known; then the file must at least parse as IDX).
    ``timeout`` is in seconds, per connection attempt and per read;
    ``deadline_s`` bounds the whole download of the file from one URL, and
    ``max_bytes`` (None: no cap) the bytes accepted from one URL.

    Each URL is tried in turn; a network error, an HTTP error, a download too
    slow or too big, or a checksum mismatch moves on to the next. The data is
    written to a temporary ``.part`` file in ``dest``'s folder and renamed onto
    ``dest`` (atomic) only once verified; no partial file is left behind, and
    the ``.part`` files of an earlier, killed download of ``dest`` (older than
    any live download can be) are removed first. Returns ``dest``. Raises
    DownloadError (a GenlabError) naming ``dest`` and the last failure when
    every URL fails.
    """
    dest = Path(dest)
    reason = "no mirror URLs to try"
    for url in urls:
        # Same folder as dest so that os.replace is a rename, not a copy.
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            for leftover in _leftovers(dest, deadline_s + timeout):
                leftover.unlink(missing_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        except OSError as e:
            raise GenlabError(
                f"cannot write to {dest.parent}: {e.strerror or e}; set GENLAB_DATA to a folder you can write to"
            ) from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                problem = _fetch(url, out, timeout, deadline_s, max_bytes)
            problem = problem or _check(tmp, sha256)
            if problem is None:
                os.replace(tmp, dest)
                return dest
            reason = f"{url}: {problem}"
        except urllib.error.HTTPError as e:
            reason = f"{url}: HTTP {e.code} {e.reason}"
        except urllib.error.URLError as e:
            reason = f"{url}: {e.reason}"
        except (OSError, ValueError, http.client.HTTPException) as e:
            # Timeouts during the read, a connection cut mid-body (IncompleteRead), a URL urllib cannot open.
            reason = f"{url}: {e}"
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(dest, reason)
