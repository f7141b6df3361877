"""Download dataset files from a list of mirrors, verifying them before they land.

A file only appears under its final name after it has been checked, so an
interrupted or corrupted download never leaves a file that looks complete.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from genlab import __version__
from genlab.data.idx import decompressed_sha256, read_idx
from genlab.errors import GenlabError

MIRRORS_ENV = "GENLAB_MIRRORS"


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


def download_file(urls: Sequence[str], dest: Path, sha256: str | None, timeout: float = 30) -> Path:
    """Download the first URL that yields a good copy of the file to ``dest``.

    ``sha256`` is the hex SHA-256 of the *decompressed* file (None when no
    official checksum is known; then the file must at least parse as IDX).
    ``timeout`` is in seconds, per connection attempt and per read.

    Each URL is tried in turn; a network error, an HTTP error or a checksum
    mismatch moves on to the next. The data is written to a temporary file in
    ``dest``'s folder and renamed onto ``dest`` (atomic) only once verified;
    no partial file is left behind. Returns ``dest``. Raises DownloadError (a
    GenlabError) naming ``dest`` and the last failure when every URL fails.
    """
    dest = Path(dest)
    reason = "no mirror URLs to try"
    for url in urls:
        # Same folder as dest so that os.replace is a rename, not a copy.
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        except OSError as e:
            raise GenlabError(
                f"cannot write to {dest.parent}: {e.strerror or e}; set GENLAB_DATA to a folder you can write to"
            ) from None
        tmp = Path(tmp_name)
        try:
            request = urllib.request.Request(url, headers={"User-Agent": f"genlab/{__version__}"})
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
                shutil.copyfileobj(response, out, length=1 << 20)
            problem = _check(tmp, sha256)
            if problem is None:
                os.replace(tmp, dest)
                return dest
            reason = f"{url}: {problem}"
        except urllib.error.HTTPError as e:
            reason = f"{url}: HTTP {e.code} {e.reason}"
        except urllib.error.URLError as e:
            reason = f"{url}: {e.reason}"
        except (OSError, http.client.HTTPException) as e:
            # Timeouts during the read, a connection cut mid-body (IncompleteRead).
            reason = f"{url}: {e}"
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(dest, reason)
