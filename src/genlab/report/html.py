"""Render a report Document as one self-contained HTML page (images embedded, no network)."""

from __future__ import annotations

import base64
import html

from genlab.report.document import Document, Figure, Heading, Paragraph, Table, looks_numeric

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1d1d1f; line-height: 1.45;
       max-width: 1000px; margin: 0 auto; padding: 1.5em; overflow-wrap: break-word; }
h1 { font-size: 1.9em; margin: 1.4em 0 0.4em; border-bottom: 2px solid #2a5d9f; padding-bottom: 0.2em; }
h2 { font-size: 1.4em; margin: 1.6em 0 0.4em; color: #2a5d9f; }
h3 { font-size: 1.1em; margin: 1.2em 0 0.3em; }
header.title { border-bottom: none; padding: 1em 0 0.5em; }
header.title h1 { font-size: 2.2em; border: none; margin-top: 0.2em; }
dl.facts { display: grid; grid-template-columns: minmax(9em, max-content) 1fr; gap: 0.3em 1.2em; margin: 0; }
dl.facts dt { font-weight: bold; color: #555; }
dl.facts dd { margin: 0; }
nav.toc { background: #f4f6fa; border: 1px solid #dde3ee; padding: 0.6em 1.2em; margin: 1.5em 0; }
nav.toc h2 { margin: 0.3em 0; }
nav.toc ol { padding-left: 1.4em; margin: 0.3em 0; }
nav.toc a { color: #2a5d9f; text-decoration: none; }
div.table { margin: 0.6em 0 1.2em; }
p.caption { font-style: italic; color: #444; font-size: 0.9em; margin: 0 0 0.3em; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccd3df; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #e9eef6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1em 0 1.8em; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-style: italic; color: #444; margin-top: 0.4em; }
@media print { h2 { break-before: page; } nav.toc h2 { break-before: auto; } figure, tr { break-inside: avoid; } }
"""


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def embedded_image(path, alt: str) -> str:
    """An <img> whose data travels inside the page (base64 PNG)."""
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{payload}" alt="{_e(alt)}">'


def _table(table: Table) -> str:
    # <wbr>: a long name like 'train_accuracy' may wrap after its underscore.
    head = "".join(f"<th>{_e(c).replace('_', '_<wbr>')}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{_e(cell)}</td>' if looks_numeric(cell) else f"<td>{_e(cell)}</td>" for cell in row)
        + "</tr>\n"
        for row in table.rows
    )
    # The caption sits outside the scrolling box, so it wraps to the page, not to a wide table.
    return (
        f'<div class="table"><p class="caption">{_e(table.caption)}</p><div class="table-wrap"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></div></div>"
    )


def _toc(document: Document) -> str:
    """Nested ordered lists of the level-1 and level-2 headings."""
    parts, open_sub = [], False
    for heading in document.headings(2):
        if heading.level == 1:
            if open_sub:
                parts.append("</ol></li>")
                open_sub = False
            elif parts:
                parts.append("</li>")
            parts.append(f'<li><a href="#{heading.anchor}">{_e(heading.text)}</a>')
        else:
            if not open_sub:
                parts.append("<ol>")
                open_sub = True
            parts.append(f'<li><a href="#{heading.anchor}">{_e(heading.text)}</a></li>')
    if parts:
        parts.append("</ol></li>" if open_sub else "</li>")
    return f'<nav class="toc"><h2>Contents</h2><ol>{"".join(parts)}</ol></nav>'


def render_html(document: Document) -> str:
    """The complete page as a string."""
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in document.facts)
    body = []
    for block in document.blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{block.anchor}">{_e(block.text)}</h{block.level}>')
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_e(block.text)}</p>")
        elif isinstance(block, Table):
            body.append(_table(block))
        elif isinstance(block, Figure):
            body.append(
                f"<figure>{embedded_image(block.path, block.caption)}"
                f"<figcaption>{_e(block.caption)}</figcaption></figure>"
            )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(document.title)}</title>
<style>{STYLE}</style></head>
<body>
<header class="title"><h1>{_e(document.title)}</h1><dl class="facts">{facts}</dl></header>
{_toc(document)}
{chr(10).join(body)}
</body></html>
"""
