"""Render a report Document as a PDF (A4) with fpdf2: no browser, no system fonts needed.

The text font is DejaVu Sans from matplotlib's own data, so any Unicode in a
run's names prints and the PDF looks the same on every machine. Layout: a
title page, the contents with page numbers (and PDF bookmarks), then each
part; every run and sweep starts on a new page and its part and name run along
the top of each of its pages. The contents' page count is measured before the
rest is laid out (fpdf2 reserves it), so page numbers never shift and every
page's running head and footer are its own. Tables too wide for the page are
split into column groups that repeat the key columns; long tables continue over
pages with their header row repeated. Figures keep their aspect ratio and are
never upscaled.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image

from genlab import __version__
from genlab.report.document import Document, Figure, Heading, Paragraph, Table, looks_numeric

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
ACCENT = (42, 93, 159)
MARGIN = 16.0  # mm on every side
TABLE_FONT = 7.5  # pt
TABLE_PAD = 1.2  # mm of padding inside a cell, each side
MAX_COLUMN = 70.0  # mm: wider text wraps
FIGURE_DPI = 110.0  # what RunFolder.save_figure writes, when the PNG does not say
FIGURE_HEIGHT = 125.0  # mm: at most this tall, so two figures share a page
TABLE_START = 30.0  # mm: a table's caption and first rows, or the table starts on the next page


class ReportPDF(FPDF):
    """FPDF with the report's fonts, running heads and page footer.

    The running head of a page is drawn after the whole report is laid out
    (`draw_running_heads`): a page learns its head when it is created (the part
    and section it continues) or when a part or section starts at its top, which
    is only known after the page exists.
    """

    def __init__(self, title: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        for style, file in (
            ("", "DejaVuSans.ttf"),
            ("B", "DejaVuSans-Bold.ttf"),
            ("I", "DejaVuSans-Oblique.ttf"),
            ("BI", "DejaVuSans-BoldOblique.ttf"),
        ):
            self.add_font(FONT, style, str(FONT_DIR / file))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN)
        self.set_title(title)
        self.set_creator(f"genlab {__version__}")
        self.report_title = title
        self.part, self.section = "", ""  # the level-1 and level-2 headings being laid out
        self.heads: dict[int, str] = {}  # page number -> its running head
        self.page_has_content = False  # a table, figure or run heading is on this page

    def add_page(self, *args, **kwargs):
        super().add_page(*args, **kwargs)
        self.page_has_content = False

    def running_head(self) -> str:
        """'Part | Section', 'Part', or the report's title before the first part."""
        return " | ".join(t for t in (self.part, self.section) if t) or self.report_title

    def header(self):
        self.heads[self.page] = self.running_head()

    def at_page_top(self) -> bool:
        return self.get_y() <= self.t_margin + 0.5

    def draw_running_heads(self) -> None:
        """Write each page's head (all but the title page) above a rule, once every page exists."""
        last = self.page
        for page, text in self.heads.items():
            if page == 1:
                continue
            self.page = page
            # A local context writes its font and colours into this page's stream, whatever the
            # last page drawn on left selected.
            with self.local_context(font_family=FONT, font_style="", font_size_pt=7, text_color=120, draw_color=200):
                self.set_xy(MARGIN, 7)
                self.cell(self.epw, 4, _shorten(self, text, self.epw), align="L")
                self.line(MARGIN, 11.5, self.w - MARGIN, 11.5)
        self.page = last

    def footer(self):
        self.set_font(FONT, "", 7)
        self.set_text_color(120)
        self.set_xy(MARGIN, -10)
        self.cell(self.epw, 4, f"{self.report_title}  |  page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0)

    def space_left(self) -> float:
        return self.page_break_trigger - self.get_y()


def render_pdf(document: Document) -> bytes:
    """The whole report as PDF bytes."""
    pdf = ReportPDF(document.title)
    _title_page(pdf, document)
    pdf.add_page()
    pdf.insert_toc_placeholder(_render_toc, pages=_toc_pages(document))
    blocks = document.blocks
    for index, block in enumerate(blocks):
        if isinstance(block, Heading):
            # Only a subsection asks for room: parts and runs start their own page.
            _heading(pdf, block, _height(pdf, blocks[index + 1 :]) if block.level == 3 else 0.0)
        elif isinstance(block, Paragraph):
            _paragraph(pdf, block.text)
        elif isinstance(block, Table):
            _table(pdf, block)
        elif isinstance(block, Figure):
            _figure(pdf, block)
    pdf.draw_running_heads()
    return bytes(pdf.output())


def _toc_pages(document: Document) -> int:
    """How many pages the contents take: _render_toc run on a scratch PDF with the same entries.

    fpdf2 draws the contents last, into pages reserved before the report; reserving
    exactly what they need keeps every later page number (and footer) right.
    """
    scratch = ReportPDF(document.title)
    scratch.add_page()
    start = scratch.page
    outline = [SimpleNamespace(level=h.level - 1, name=h.text, page_number=1) for h in document.headings(2)]
    _render_toc(scratch, outline)
    return scratch.page - start + 1


def _shorten(pdf: ReportPDF, text: str, width: float) -> str:
    """`text` cut to fit `width` mm in the current font, ending in '...' when cut."""
    while pdf.get_string_width(text) > width and len(text) > 4:
        text = text[:-4] + "..."
    return text


def _title_page(pdf: ReportPDF, document: Document) -> None:
    pdf.add_page()
    pdf.set_y(55)
    pdf.set_font(FONT, "B", 22)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 10, document.title, align="L")
    pdf.set_text_color(0)
    pdf.ln(10)
    key_width = 38
    for key, value in document.facts:
        pdf.set_font(FONT, "B", 10)
        y = pdf.get_y()
        pdf.set_text_color(90)
        pdf.multi_cell(key_width, 5.5, key, align="L")
        pdf.set_text_color(0)
        pdf.set_xy(MARGIN + key_width, y)
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(pdf.epw - key_width, 5.5, value, align="L")
        pdf.ln(2.5)


def _render_toc(pdf: ReportPDF, outline) -> None:
    pdf.set_xy(MARGIN, pdf.t_margin)
    pdf.set_font(FONT, "B", 16)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 10, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(3)
    for section in outline:
        indent = 7 * section.level
        pdf.set_font(FONT, "B" if section.level == 0 else "", 10 if section.level == 0 else 9)
        if section.level == 0:
            pdf.ln(1.5)
        link = pdf.add_link(page=section.page_number)
        number = str(section.page_number)
        width = pdf.epw - indent - 12
        name = _shorten(pdf, section.name, width)
        pdf.set_x(MARGIN + indent)
        pdf.cell(width, 5.5, name, link=link)
        pdf.cell(12, 5.5, number, align="R", link=link, new_x="LMARGIN", new_y="NEXT")


def _height(pdf: ReportPDF, following: list) -> float:
    """Roughly how much of a page (mm) the blocks after a heading need to start, to keep the heading with
    them: a figure whole, a table's start, and a paragraph whole together with the start of the table or
    figure it introduces (a heading over a paragraph alone at a page bottom is as stranded as one alone)."""
    block = following[0] if following else None
    if isinstance(block, Figure):
        return sum(_figure_size(pdf, block)[1:])
    if isinstance(block, Table):
        return TABLE_START  # the same room the table asks for, so its heading never stays behind alone
    if isinstance(block, Paragraph):
        pdf.set_font(FONT, "", 9.5)
        lines = len(pdf.multi_cell(0, 5, block.text, dry_run=True, output="LINES"))
        after = following[1] if len(following) > 1 else None
        introduced = _height(pdf, following[1:]) if isinstance(after, (Figure, Table)) else 0.0
        return lines * 5 + 1.5 + introduced
    return 12.0


def _heading(pdf: ReportPDF, heading: Heading, following: float) -> None:
    """A part (level 1, new page), a run or sweep (level 2), or a subsection kept with what follows."""
    if heading.level == 1:
        pdf.part, pdf.section = heading.text, ""
        if not pdf.at_page_top():  # the contents leave a fresh page behind them
            pdf.add_page()
        pdf.heads[pdf.page] = pdf.running_head()
        pdf.start_section(heading.text, level=0)
        pdf.set_font(FONT, "B", 18)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(0, 9, heading.text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(*ACCENT)
        pdf.line(MARGIN, pdf.get_y() + 0.5, pdf.w - MARGIN, pdf.get_y() + 0.5)
        pdf.ln(4)
    elif heading.level == 2:
        pdf.section = heading.text
        if pdf.page_has_content:  # each run, sweep or family starts a page (after its part's heading)
            pdf.add_page()
        pdf.heads[pdf.page] = pdf.running_head()
        pdf.page_has_content = True
        pdf.start_section(heading.text, level=1)
        pdf.set_font(FONT, "B", 13)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(0, 6.5, heading.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    else:
        if pdf.space_left() < 10 + following and not pdf.at_page_top():  # never a page for nothing
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font(FONT, "B", 11)
        pdf.set_text_color(40)
        pdf.multi_cell(0, 6, heading.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.5)
    pdf.set_text_color(0)


def _paragraph(pdf: ReportPDF, text: str) -> None:
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _column_widths(pdf: ReportPDF, table: Table) -> tuple[list[float], list[float]]:
    """(natural width, narrowest width without breaking a word) of each column, in mm."""
    natural, narrowest = [], []
    for index, column in enumerate(_headers(table)):
        pdf.set_font(FONT, "B", TABLE_FONT)
        head = pdf.get_string_width(column)
        head_word = max(pdf.get_string_width(w) for w in column.split() or [""])
        pdf.set_font(FONT, "", TABLE_FONT)
        cells = [row[index] for row in table.rows]
        body = max((pdf.get_string_width(c) for c in cells), default=0.0)
        word = max((pdf.get_string_width(w) for c in cells for w in c.split()), default=0.0)
        pad = 2 * TABLE_PAD + 0.5
        natural.append(min(max(head, body), MAX_COLUMN) + pad)
        narrowest.append(min(max(head_word, word), MAX_COLUMN) + pad)
    return natural, narrowest


def _headers(table: Table) -> list[str]:
    """Column names that may wrap after an underscore ('train_ accuracy'), so numeric columns stay narrow."""
    return [column.replace("_", "_ ") for column in table.columns]


def _column_groups(table: Table, narrowest: list[float], width: float) -> list[list[int]]:
    """Split the columns into groups that fit `width`, each starting with the key columns."""
    keys = list(range(min(table.key_columns, len(table.columns))))
    key_width = sum(narrowest[i] for i in keys)
    groups, current, used = [], list(keys), key_width
    for index in range(len(keys), len(table.columns)):
        if used + narrowest[index] > width and len(current) > len(keys):
            groups.append(current)
            current, used = list(keys), key_width
        current.append(index)
        used += narrowest[index]
    groups.append(current)
    return groups


def _fit(natural: list[float], narrowest: list[float], width: float) -> list[float]:
    """Column widths within `width`: natural if they fit, else shrink the wrappable columns."""
    if sum(natural) <= width:
        return natural
    slack = [n - m for n, m in zip(natural, narrowest)]
    excess = sum(natural) - width
    if sum(slack) <= 0:
        return narrowest
    share = min(1.0, excess / sum(slack))
    return [n - s * share for n, s in zip(natural, slack)]


def _table(pdf: ReportPDF, table: Table) -> None:
    natural, narrowest = _column_widths(pdf, table)
    groups = _column_groups(table, narrowest, pdf.epw)
    for number, columns in enumerate(groups, 1):
        caption = table.caption
        if len(groups) > 1:
            caption += f" (part {number} of {len(groups)}: too wide for the page, its columns are split)"
        if pdf.space_left() < TABLE_START:
            pdf.add_page()
        pdf.set_font(FONT, "I", 8.5)
        pdf.set_text_color(70)
        pdf.multi_cell(0, 4.5, caption, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.ln(1)
        widths = _fit([natural[i] for i in columns], [narrowest[i] for i in columns], pdf.epw)
        pdf.set_font(FONT, "", TABLE_FONT)
        pdf.set_draw_color(190)
        with pdf.table(
            col_widths=widths,
            width=min(sum(widths), pdf.epw),
            align="LEFT",
            text_align="LEFT",
            line_height=3.6,
            padding=TABLE_PAD,
            headings_style=FontFace(emphasis="BOLD", fill_color=(233, 238, 246)),
            repeat_headings=1,
        ) as grid:
            header = grid.row()
            headers = _headers(table)
            for i in columns:
                header.cell(headers[i])
            for row in table.rows:
                cells = grid.row()
                for i in columns:
                    cells.cell(row[i], align="RIGHT" if looks_numeric(row[i]) else "LEFT")
        pdf.ln(4)
        pdf.page_has_content = True


def _figure_size(pdf: ReportPDF, figure: Figure) -> tuple[float, float, float]:
    """(width, height, caption height) in mm: the PNG's own size, shrunk to fit the page width
    and FIGURE_HEIGHT, never enlarged."""
    with Image.open(figure.path) as image:
        pixels_w, pixels_h = image.size
        dpi = float((image.info.get("dpi") or (FIGURE_DPI,))[0]) or FIGURE_DPI
    pdf.set_font(FONT, "I", 8.5)
    lines = pdf.multi_cell(pdf.epw, 4.5, figure.caption, dry_run=True, output="LINES")
    width = min(pdf.epw, pixels_w / dpi * 25.4)
    height = width * pixels_h / pixels_w
    if height > FIGURE_HEIGHT:
        height, width = FIGURE_HEIGHT, FIGURE_HEIGHT * pixels_w / pixels_h
    return width, height, 4.5 * max(1, len(lines)) + 7


def _figure(pdf: ReportPDF, figure: Figure) -> None:
    width, height, caption_height = _figure_size(pdf, figure)
    if pdf.space_left() < height + caption_height:
        pdf.add_page()
    pdf.ln(1)
    y = pdf.get_y()
    pdf.image(str(figure.path), x=MARGIN + (pdf.epw - width) / 2, y=y, w=width, h=height)
    pdf.set_y(y + height + 1.5)
    pdf.set_text_color(60)
    pdf.multi_cell(
        0, 4.5, figure.caption, align="C" if len(figure.caption) < 110 else "L", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_text_color(0)
    pdf.ln(4)
    pdf.page_has_content = True
