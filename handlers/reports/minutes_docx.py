"""The bag khural's minutes (handlers/reports/minutes.py) as an editable Word document (DOCX).

The same content as the PDF, for the secretary to correct, complete (the secretary's
name, what else the khural discussed) and print for signing. Word and LibreOffice lay it
out themselves, so titles wrap on their own; what must not break is said in the file:
the list's header row repeats on every page and no row splits across pages
(``w:tblHeader``, ``w:cantSplit``), headings keep with what follows them, and the
signature block is a table whose rows cannot split and whose paragraphs all keep with
the next, so it moves to a new page whole.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Row
from docx.text.font import Font
from docx.text.paragraph import Paragraph

from handlers.reports.data import RoundReport
from handlers.reports.minutes import (
    SIGN_LINE,
    Heading,
    KhuralFacts,
    Minutes,
    Para,
    Signatures,
    Table,
    Title,
    minutes_of,
)

# Arial has Cyrillic on every office machine; Word substitutes it where it is missing.
FONT = "Arial"
BLACK = RGBColor(0, 0, 0)


def _font(font: Font, size: float | None = None) -> None:
    """Arial for every script slot (Cyrillic is drawn from the ``hAnsi`` slot in Word)."""
    font.name = FONT
    font.color.rgb = BLACK
    if size is not None:
        font.size = Pt(size)
    r_fonts = font._element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        r_fonts.set(qn(slot), FONT)


def _setup(doc: DocxDocument, title: str) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    # The margins of Mongolian official documents, as the PDF: wider on the left.
    section.left_margin, section.right_margin = Cm(2.5), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    _font(doc.styles["Normal"].font, 11)
    for name, size in (("Heading 1", 14), ("Heading 2", 12)):
        _font(doc.styles[name].font, size)
    doc.core_properties.title = title
    doc.core_properties.author = "Sanal"


def _flag(row: _Row, tag: str) -> None:
    """A row property with no value (``w:cantSplit``, ``w:tblHeader``)."""
    tr_pr = row._tr.get_or_add_trPr()
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


def _para(doc: DocxDocument, block: Para) -> Paragraph:
    p = doc.add_paragraph()
    if block.label:
        p.add_run(f"{block.label}: ").bold = True
    run = p.add_run(block.text)
    run.bold = block.bold
    if block.small:
        run.font.size = Pt(9)
    p.paragraph_format.space_after = Pt(3)
    return p


def _table(doc: DocxDocument, block: Table) -> None:
    table = doc.add_table(rows=1, cols=len(block.columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, head in zip(table.rows[0].cells, block.columns, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(head).bold = True
    _flag(table.rows[0], "w:tblHeader")  # repeated on every page
    _flag(table.rows[0], "w:cantSplit")
    for values in block.rows:
        row = table.add_row()
        _flag(row, "w:cantSplit")
        for i, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            cell.text = value
            if block.numeric[i]:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for i, share in enumerate(block.widths):
        for row in table.rows:
            row.cells[i].width = Cm(17 * share)


def _signatures(doc: DocxDocument, block: Signatures) -> None:
    heading = doc.add_heading(block.heading, level=2)
    heading.paragraph_format.keep_with_next = True
    heading.paragraph_format.space_before = Pt(18)
    table = doc.add_table(rows=0, cols=3)
    last = len(block.rows) - 1
    for i, sig in enumerate(block.rows):
        row = table.add_row()
        _flag(row, "w:cantSplit")
        for cell, text in zip(row.cells, (f"{sig.role}:", SIGN_LINE, f"/{sig.name}/"), strict=True):
            cell.text = text
            fmt = cell.paragraphs[0].paragraph_format
            fmt.space_before = Pt(24)  # room to sign
            fmt.keep_together = True
            # Word keeps table rows together when each row's paragraphs keep with the next.
            fmt.keep_with_next = i < last
    for row in table.rows:
        for cell, width in zip(row.cells, (Cm(6), Cm(6), Cm(5)), strict=True):
            cell.width = width


def minutes_docx(
    source: Minutes | RoundReport,
    path: Path | None = None,
    lang: str = "mn",
    facts: KhuralFacts | None = None,
) -> bytes:
    """The minutes as DOCX bytes (also written to ``path``), like :func:`minutes_pdf`."""
    minutes = source if isinstance(source, Minutes) else minutes_of(source, facts, lang)
    doc = Document()
    _setup(doc, minutes.title)
    for block in minutes.blocks():
        if isinstance(block, Title):
            p = doc.add_heading(block.text, level=1)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, Heading):
            doc.add_heading(block.text, level=2).paragraph_format.keep_with_next = True
        elif isinstance(block, Para):
            _para(doc, block)
        elif isinstance(block, Table):
            _table(doc, block)
            doc.add_paragraph()
        else:
            _signatures(doc, block)
    buf = BytesIO()
    doc.save(buf)
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data
