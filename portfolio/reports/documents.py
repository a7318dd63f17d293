"""How a report is rendered and named: its template, HTML and PDF (`creditguard.pdf`)."""

from __future__ import annotations

from typing import Final

from creditguard.pdf import html_to_pdf, render_html

from ..models import Report

TEMPLATES: Final[dict[str, str]] = {
    Report.Kind.CREDIT_REPORT: "portfolio/reports/credit_report_pdf.html",
    Report.Kind.PORTFOLIO_RISK: "portfolio/reports/portfolio_risk_pdf.html",
    Report.Kind.HEALTH_CHECK: "portfolio/reports/health_check_pdf.html",
}
SLUGS: Final[dict[str, str]] = {
    Report.Kind.CREDIT_REPORT: "credit-report",
    Report.Kind.PORTFOLIO_RISK: "portfolio-risk",
    Report.Kind.HEALTH_CHECK: "health-check",
}

__all__ = ["TEMPLATES", "file_name", "html_to_pdf", "render_html"]


def file_name(report: Report) -> str:
    """E.g. "portfolio-risk-2026-11-en-17.pdf", "credit-report-C-1001-zh-hans-18.pdf"."""
    subject = report.period
    if report.kind == Report.Kind.CREDIT_REPORT and report.buyer is not None:
        subject = "".join(
            char if char.isalnum() or char in "-_" else "-" for char in report.buyer.erp_reference
        )
    parts = [SLUGS[report.kind], subject, report.language, str(report.pk)]
    return "-".join(part for part in parts if part) + ".pdf"
