"""A one-page, self-contained HTML summary of run folders: a table and every figure."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from genlab.train.runfolder import RunFolder, atomic_write_bytes


def embedded_image(path: Path) -> str:
    payload = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{payload}" alt="{html.escape(path.stem)}">'


def write_summary_page(runs: list[RunFolder], target: Path, title: str, columns: tuple[str, ...]) -> Path:
    """Write `target` (HTML, images embedded) with one table row per run and its figures."""
    rows = []
    for run in runs:
        summary = run.read_summary()
        cells = [html.escape(run.path.name)] + [
            f"{summary[c]:.4f}" if isinstance(summary.get(c), float) else html.escape(str(summary.get(c, "")))
            for c in columns]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in ("run", *columns)) + "</tr>"
    sections = []
    for run in runs:
        figures = sorted((run.path / "figures").glob("*.png"))
        images = "".join(f"<figure>{embedded_image(p)}<figcaption>{html.escape(run.path.name)}: "
                         f"{html.escape(p.stem.replace('_', ' '))}</figcaption></figure>" for p in figures)
        sections.append(f"<h2>{html.escape(run.path.name)}</h2>{images}")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:right}}
figure{{display:inline-block;margin:8px;vertical-align:top}}img{{max-width:520px}}</style></head>
<body><h1>{html.escape(title)}</h1><table>{header}{''.join(rows)}</table>{''.join(sections)}</body></html>"""
    atomic_write_bytes(target, page.encode())
    return target
