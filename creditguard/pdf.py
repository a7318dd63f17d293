"""PDF documents: an HTML template rendered by WeasyPrint, in the language asked for.

The one way every PDF of the product is made (overdue notifications, claim dossiers, reports).
Templates include the base stylesheet `pdf/_base.css` inside their <style> element: A4 pages
numbered "n / m" and a font stack ending in "Noto Sans CJK SC" (Debian's fonts-noto-cjk, which
`make chromium` installs) so Chinese names and labels render as glyphs, not boxes.

`render_pdf` does both steps; a job that reports its progress calls `render_html` (needs the
database for what the template reads) and `html_to_pdf` (WeasyPrint alone) one after the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation


def render_html(template_name: str, context: Mapping[str, Any], *, language: str) -> str:
    """`template_name` rendered with `context` (plus ``language``) in `language`."""
    with translation.override(language):
        return render_to_string(template_name, {**context, "language": language})


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]  # heavy: only for a PDF

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def render_pdf(template_name: str, context: Mapping[str, Any], *, language: str) -> bytes:
    """`template_name` rendered with `context` in `language`, as PDF bytes."""
    return html_to_pdf(render_html(template_name, context, language=language))
