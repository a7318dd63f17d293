"""The text of a PDF that WeasyPrint wrote, for tests that check what a document says (pypdf)."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader


def pdf_text(pdf: bytes) -> str:
    """Every page's text, in order; CJK glyphs come back through the fonts' ToUnicode maps."""
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
