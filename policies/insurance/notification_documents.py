"""The overdue notification as the insurer reads it: a PDF (WeasyPrint) in the insurer's usual
layout, and a CSV with the same invoice columns. Both come from `notification_sheets`, in the
language asked for (English or Simplified Chinese).

Fonts: the PDF names a font stack ending in "Noto Sans CJK SC" (Debian's fonts-noto-cjk, which
`make chromium` installs) so Chinese names and labels render as glyphs, not boxes.
"""

from __future__ import annotations

from typing import Any, Final

from django.utils import translation
from django.utils.translation import gettext as _

from buyers.exports import csv_bytes
from creditguard.pdf import render_pdf

from .notification_sheets import NotificationSheet

PDF_TEMPLATE: Final = "policies/insurance/notification_pdf.html"


def _columns() -> list[str]:
    return [
        _("Policy number"),
        _("Insurer"),
        _("Buyer"),
        _("Registration number"),
        _("VAT number"),
        _("Country"),
        _("Invoice number"),
        _("Issue date"),
        _("Due date"),
        _("Outstanding"),
        _("Currency"),
        _("Days overdue"),
        _("Notify by"),
        _("Cover lost"),
    ]


def notification_csv(sheet: NotificationSheet, *, language: str) -> bytes:
    """One row per invoice, identity columns repeated so each row stands on its own; text that
    a spreadsheet would evaluate is escaped (`buyers.exports.formula_safe`)."""
    with translation.override(language):
        buyer, policy = sheet.buyer, sheet.policy
        rows: list[list[Any]] = [
            [
                policy.number,
                policy.insurer,
                buyer.legal_name,
                buyer.registration_number,
                buyer.vat_number,
                buyer.country_id,
                row.number,
                row.issue_date,
                row.due_date,
                f"{row.outstanding:.2f}",
                row.currency,
                row.days_overdue,
                row.notify_by,
                _("yes") if row.cover_lost else _("no"),
            ]
            for row in sheet.rows
        ]
        return csv_bytes(_columns(), rows)


def notification_pdf(sheet: NotificationSheet, *, language: str) -> bytes:
    return render_pdf(PDF_TEMPLATE, {"sheet": sheet}, language=language)


def document_name(sheet: NotificationSheet, extension: str) -> str:
    return f"overdue-notification-{sheet.notification.pk}.{extension}"
