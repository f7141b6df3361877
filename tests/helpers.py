"""Small helpers for tests: run the CLI in-process and capture its exit code and one-line error."""

from __future__ import annotations

import pytest

from genlab.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `genlab ARGS` run in this process."""
    code = 0
    try:
        main(args)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(args: list[str], capsys, *fragments: str) -> str:
    """The command fails with exit code 2 and exactly one line on stderr containing every fragment."""
    code, _, err = run_cli(args, capsys)
    assert code == 2, f"exit code {code}, stderr: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {err}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], f"'{fragment}' not in: {lines[0]}"
    return lines[0]


__all__ = ["run_cli", "assert_user_error", "pytest"]


# Headless Chromium on a machine with a closed network: without the background-networking flags it
# keeps trying (and failing) to reach Google's hosts; as root it needs --no-sandbox.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
