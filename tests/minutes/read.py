"""Reading the minutes back as a reader would: the PDF's text (pypdf), its pages as
pictures (Debian's pdftoppm, poppler-utils), the DOCX's paragraphs and tables."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from PIL import Image
from pypdf import PdfReader

from handlers.reports.minutes_pdf import LEFT, PAGE_H, PAGE_W, RIGHT, TOP

DPI = 72  # one pixel a point
# Bands along the edges where nothing may be drawn: the margins less a little for the
# table's rules and antialiasing, and at the bottom only below the page number.
MM = 72 / 25.4
BANDS = {"left": LEFT - 3 * MM, "right": RIGHT - 3 * MM, "top": TOP - 3 * MM, "bottom": 8 * MM}


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_pages(path: Path) -> list[str]:
    return [flat(page.extract_text()) for page in PdfReader(path).pages]


def docx_text(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    """(paragraph texts, tables as rows of cell texts)."""
    doc = Document(str(path))
    paragraphs = [p.text for p in doc.paragraphs if p.text.strip()]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return paragraphs, tables


def page_images(pdf: Path, folder: Path) -> list[Path]:
    """Every page drawn as PNG by pdftoppm; the test is skipped where it is missing."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is missing (Debian: apt-get install poppler-utils; .ci/run does)")
    prefix = folder / pdf.stem
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(prefix)], check=True, timeout=60
    )
    return sorted(folder.glob(f"{pdf.stem}-*.png"))


def ink_in_bands(png: Path) -> dict[str, int]:
    """How many dark pixels each edge band holds (0 everywhere: nothing cut or spilt)."""
    with Image.open(png) as img:
        grey = img.convert("L")
        w, h = grey.size
        assert abs(w - PAGE_W) <= 2, (w, h)
        assert abs(h - PAGE_H) <= 2, (w, h)  # A4 at 72 dpi
        boxes = {
            "left": (0, 0, int(BANDS["left"]), h),
            "right": (w - int(BANDS["right"]), 0, w, h),
            "top": (0, 0, w, int(BANDS["top"])),
            "bottom": (0, h - int(BANDS["bottom"]), w, h),
        }
        out = {}
        for side, box in boxes.items():
            histogram = grey.crop(box).histogram()
            out[side] = sum(histogram[:200])  # darker than light grey
        return out


def ink(png: Path) -> int:
    with Image.open(png) as img:
        return sum(img.convert("L").histogram()[:200])
