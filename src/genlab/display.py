"""How results show themselves in Jupyter: the HTML behind `_repr_html_` of `Run` and of the
comparison results.

Everything here is small, self-contained HTML (no scripts, no external files): text is escaped,
figures are shrunk PNG data URIs shown at a fixed width, so a saved notebook carries its pictures.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Iterable

#: How wide (CSS pixels) an inline figure is drawn.
FIGURE_WIDTH = 360
#: A Run shows this many of its figures inline; the rest are listed by name.
MAIN_FIGURES = 4


def escape(value) -> str:
    """`value` as text safe inside HTML (a path or a description may hold &, < or quotes)."""
    return html.escape(str(value), quote=True)


def table(header: Iterable[str], rows: Iterable[Iterable], caption: str | None = None) -> str:
    """An HTML table of escaped cells, left-aligned (numbers are preformatted text)."""
    cells = "".join(f'<th style="text-align:left">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:left">{escape(c)}</td>' for c in row) + "</tr>" for row in rows
    )
    title = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def thumbnail_uri(path: Path, pixels: int) -> str:
    """A PNG data URI of the picture at `path`, at most `pixels` wide and in 256 colours: a
    run's figures are drawn for print (a loss plot is ~100 kB, these ~20 kB), and a notebook keeps
    every output it shows."""
    from PIL import Image  # matplotlib's own dependency

    with Image.open(path) as picture:
        small = picture.convert("RGB")
    small.thumbnail((pixels, pixels * 4))
    buffer = io.BytesIO()
    small.quantize(256).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image(path: Path, caption: str, width: int = FIGURE_WIDTH) -> str:
    """One inline figure, `width` CSS pixels wide (stored twice as wide: sharp on high-density screens),
    with its caption below it."""
    return (
        f'<figure style="display:inline-block;margin:4px;width:{width}px;vertical-align:top">'
        f'<img src="{thumbnail_uri(path, 2 * width)}" alt="{escape(caption)}" style="width:{width}px">'
        f'<figcaption style="font-size:smaller">{escape(caption)}</figcaption></figure>'
    )
