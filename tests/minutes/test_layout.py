"""The minutes' pages: nothing runs off or is cut at the edges, the longest bag name of the
country is there in full, table rows and the signature block never split across pages;
the DOCX says the same and tells Word to keep the same things together.

Reports are made directly (tests/minutes/made.py) so that many sizes can be drawn; the
files are read back with pypdf, python-docx and pdftoppm."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from handlers.percent import percent
from handlers.reports.minutes import SIGN_LINE, Para, minutes_of
from handlers.reports.minutes_docx import minutes_docx
from handlers.reports.minutes_pdf import BOTTOM, LEADING, PAGE_H, _layout, _Text, minutes_pdf
from storage.units import Unit
from tests.minutes.made import LONG_BAG, facts, report
from tests.minutes.read import docx_text, flat, ink, ink_in_bands, page_images, pdf_pages


def signature_page(pages: list[str]) -> int:
    """The one page that holds every signature line."""
    holding = [i for i, text in enumerate(pages) if SIGN_LINE in text]
    assert len(holding) == 1, f"signature lines on pages {holding}"
    assert pages[holding[0]].count(SIGN_LINE) == 3
    return holding[0]


def moved_whole(lines: int) -> bool:
    """Whether the signatures of a report of ``lines`` proposals start a page of their own
    because they would not fit under the decision (the case a naive layout splits)."""
    made = minutes_of(report(lines), facts())
    heading = made.signatures.heading
    for page in _layout(made)[1:]:
        first = next(op for op in page if isinstance(op, _Text))
        if first.text == heading:
            return True
    return False


def test_the_longest_bag_name_wraps_and_is_there_in_full(tmp_path: Path) -> None:
    made = minutes_of(report(3), facts())
    pdf = tmp_path / "m.pdf"
    minutes_pdf(made, pdf)
    [page, *_] = pdf_pages(pdf)
    assert flat(made.title) in page  # wrapped between words, every word kept
    assert f"Аймаг, сум, баг: Төв, Баруунбаян-Улаан, {LONG_BAG}" in page
    title_lines = [op for op in _layout(made)[0] if isinstance(op, _Text) and op.size == 13]
    assert len(title_lines) == 2  # it would not fit on one line of A4
    for png in page_images(pdf, tmp_path):
        assert ink_in_bands(png) == {"left": 0, "right": 0, "top": 0, "bottom": 0}, png.name
        assert ink(png) > 1000  # drawn, not blank


@pytest.mark.parametrize("lang", ["mn", "en"])
def test_long_texts_on_many_pages_stay_inside_the_margins(tmp_path: Path, lang: str) -> None:
    rep = report(30, text_of=2)
    made = minutes_of(rep, facts(700, below=False), lang)
    pdf = tmp_path / "m.pdf"
    minutes_pdf(made, pdf)
    pages = pdf_pages(pdf)
    assert len(pages) >= 3
    text = " ".join(pages)
    for line in rep.lines:  # every proposal whole, whatever its length
        assert flat(line.text) in text, line.number
        assert f"{line.votes} ({percent(line.share)})" in text
    for i, page in enumerate(pages, start=1):
        assert page.endswith(f"{i}/{len(pages)}") or page.endswith(f"{i} of {len(pages)}")
    signature_page(pages)
    for png in page_images(pdf, tmp_path):
        assert ink_in_bands(png) == {"left": 0, "right": 0, "top": 0, "bottom": 0}, png.name


def test_a_word_longer_than_its_column_is_cut_between_letters(tmp_path: Path) -> None:
    """A proposal written without spaces (a pasted web address) and a "$" that is not
    mathematics: both drawn as written, inside the page."""
    rep = report(2)
    odd = "https://example.mn/" + "ОНХС" * 40
    rep.lines[0] = replace(rep.lines[0], text=odd)
    rep.lines[1] = replace(rep.lines[1], text="Үнэ $5 ба $7")
    pdf = tmp_path / "m.pdf"
    minutes_pdf(minutes_of(rep, facts()), pdf)
    text = " ".join(pdf_pages(pdf))
    assert "Үнэ $5 ба $7" in text
    assert odd.replace(" ", "") in text.replace(" ", "")
    for png in page_images(pdf, tmp_path):
        assert ink_in_bands(png) == {"left": 0, "right": 0, "top": 0, "bottom": 0}, png.name


def test_the_signature_block_never_splits(tmp_path: Path) -> None:
    """Of every list length from 1 to 45, the ones whose signatures fall at a page's foot
    are drawn and read back: all three signature lines on one page, under their heading,
    and not a stray one on the page before."""
    moved = [n for n in range(1, 46) if moved_whole(n)]
    assert moved, "no list length puts the signatures at a page's foot: test nothing"
    for n in moved[:3]:
        pdf = tmp_path / f"m{n}.pdf"
        minutes_pdf(minutes_of(report(n), facts()), pdf)
        pages = pdf_pages(pdf)
        at = signature_page(pages)
        assert pages[at].startswith("Гарын үсэг"), (n, pages[at][:60])
        assert "Тогтоол №" in pages[at - 1]  # the decision stayed where it was
        for png in page_images(pdf, tmp_path):
            assert ink_in_bands(png) == {"left": 0, "right": 0, "top": 0, "bottom": 0}


def test_a_table_row_moves_whole_under_its_header_again() -> None:
    made = minutes_of(report(40, text_of=1), facts())
    pages = _layout(made)
    assert len(pages) >= 3
    heads = made.table.columns if made.table else ()
    for page in pages[1:]:
        texts = [op.text for op in page if isinstance(op, _Text)]
        if any(t.endswith("%)") for t in texts):  # a page with rows of the list
            assert heads[2] in texts  # the header again
    # Every line is drawn above the bottom margin: a row that did not fit moved on whole.
    for page in pages:
        for op in page:
            if isinstance(op, _Text):
                assert op.y + op.size * LEADING <= PAGE_H - BOTTOM + 0.01, op


def test_the_docx_says_what_the_pdf_says(tmp_path: Path) -> None:
    made = minutes_of(report(8), facts(early=True))
    pdf, docx = tmp_path / "m.pdf", tmp_path / "m.docx"
    minutes_pdf(made, pdf)
    minutes_docx(made, docx)
    pdf_text = " ".join(pdf_pages(pdf))
    paragraphs, tables = docx_text(docx)
    assert paragraphs[0] == made.title
    for block in made.blocks():
        if isinstance(block, Para):
            said = f"{block.label}: {block.text}" if block.label else block.text
            assert said in paragraphs, said
            assert flat(said) in pdf_text, said
    for paragraph in paragraphs:
        assert flat(paragraph) in pdf_text, paragraph
    [vote, signatures] = tables
    assert made.table is not None
    assert vote == [list(made.table.columns), *map(list, made.table.rows)]
    for row in vote:
        for cell in row:
            assert flat(cell) in pdf_text, cell
    assert [row[0] for row in signatures] == [f"{s.role}:" for s in made.signatures.rows]
    assert [row[2] for row in signatures] == [f"/{s.name}/" for s in made.signatures.rows]
    assert "Хурлын өдрөөс (2027-04-10) өмнө баталсан, Засаг дарга баталгаажуулсан." in paragraphs


def test_the_docx_keeps_together_what_must_stay_together(tmp_path: Path) -> None:
    path = tmp_path / "m.docx"
    minutes_docx(minutes_of(report(12), facts(), "en"), path)
    doc = Document(str(path))
    vote, signatures = doc.tables
    header = vote.rows[0]._tr.trPr
    assert header is not None
    assert header.find(qn("w:tblHeader")) is not None
    for row in [*vote.rows, *signatures.rows]:
        tr_pr = row._tr.trPr
        assert tr_pr is not None
        assert tr_pr.find(qn("w:cantSplit")) is not None
    # The signature heading keeps with the block; each row keeps with the next but the last.
    [heading] = [p for p in doc.paragraphs if p.text == "Signatures"]
    assert heading.paragraph_format.keep_with_next
    keeps = [row.cells[0].paragraphs[0].paragraph_format.keep_with_next for row in signatures.rows]
    assert keeps == [True, True, False]
    headings = [p for p in doc.paragraphs if p.style is not None and p.style.name == "Heading 2"]
    assert len(headings) == 5
    assert all(h.paragraph_format.keep_with_next for h in headings)
    section = doc.sections[0]
    assert section.page_width is not None
    assert round(section.page_width.cm, 1) == 21.0
    assert doc.core_properties.title.startswith("Minutes of the Citizens' Public Khural")


def test_a_capital_district_and_a_bag_alone_are_titled_so() -> None:
    ub = report(1)
    capital = Unit("11", "aimag", "Улаанбаатар", None, "Asia/Ulaanbaatar")
    district = Unit("1107", "soum", "Баянгол", "11", "Asia/Ulaanbaatar")
    khoroo = Unit("110751", "bag", "5-р хороо", "1107", "Asia/Ulaanbaatar")
    ub = replace(ub, aimag=capital, soum=district, bag=khoroo)
    title = minutes_of(ub, None).title
    assert title == (
        "Улаанбаатар хотын Баянгол дүүргийн 5-р хорооны Иргэдийн Нийтийн Хурлын тэмдэглэл"
    )
    alone = replace(ub, aimag=None, soum=None)
    assert minutes_of(alone, None).title.startswith("5-р хорооны Иргэдийн")
    unknown = minutes_of(alone, None)
    assert unknown.required == 0
    assert unknown.present == 64
    assert [b.label for b in unknown.attendance] == ["Хуралд оролцогчдын тоо"]
