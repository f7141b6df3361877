"""Shared by the benchmark scripts: each one owns a `## section` of docs/benchmarks.md and rewrites it."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nTimed comparisons of genlab with reference implementations. Each section is written "
    "by its script in `benchmarks/` (JSON under `benchmarks/results/`) and names the machine, versions and "
    "date it was measured on.\n"
)


def write_docs_section(title: str, body: str, path: Path = DOCS) -> None:
    """Replace the `## title` section of `path` with `body` (creating the file or the section if needed)."""
    text = path.read_text() if path.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    start = text.find(f"\n## {title}\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[: start + 1] + section + ("" if end < 0 else "\n" + text[end + 1 :])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
