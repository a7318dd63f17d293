"""Demo import drafts: a file as Excel writes it in the tenant's country, uploaded and mapped but
not imported, so the preview shows the detected reading (`seed_demo` calls this)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Role
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from ..models import Buyer, ImportJob
from .jobs import import_job_create, import_job_map

# Column headers as the tenant's ERP exports them, and the fields they hold.
_HEADERS = {
    "EUR": (
        ("Rechnungs-ID", "erp_reference"),
        ("Kundennr", "buyer_erp_reference"),
        ("Belegnr", "number"),
        ("Rechnungsdatum", "issue_date"),
        ("Fällig am", "due_date"),
        ("Betrag", "amount"),
        ("Währung", "currency"),
    ),
    "CNY": (
        ("发票编号", "erp_reference"),
        ("客户编号", "buyer_erp_reference"),
        ("发票号", "number"),
        ("开票日期", "issue_date"),
        ("到期日", "due_date"),
        ("金额", "amount"),
        ("币种", "currency"),
    ),
}


def _german_amount(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{rest:02d}"


def seed_demo_import_drafts(*, tenant: Tenant, as_of: date) -> bool:
    """One mapped draft per tenant: a German Excel CSV (Windows-1252, semicolons, 1.234,56,
    31.01.2025) for a euro tenant, a Chinese one (GB18030, commas) otherwise. False if the
    tenant has imports already."""
    with tenant_context(tenant):
        if ImportJob.objects.exists():
            return False
        admin = Membership.objects.filter(role=Role.ADMIN).select_related("user").first()
        buyers = list(Buyer.objects.order_by("erp_reference")[:3])
        if admin is None or not buyers:
            return False
        german = tenant.base_currency == "EUR"
        headers = _HEADERS["EUR" if german else "CNY"]
        lines = [(";" if german else ",").join(header for header, _field in headers)]
        for number, buyer in enumerate(buyers, start=1):
            issued = as_of - timedelta(days=10 * number)
            due = issued + timedelta(days=buyer.payment_terms_days)
            cents = 123_456 * number + 50
            if german:
                values = [
                    f"DEMO-R-{number}",
                    buyer.erp_reference,
                    f"RE-{as_of:%Y}-{number:04d}",
                    f"{issued:%d.%m.%Y}",
                    f"{due:%d.%m.%Y}",
                    _german_amount(cents),
                    buyer.currency,
                ]
            else:
                values = [
                    f"DEMO-FP-{number}",
                    buyer.erp_reference,
                    f"FP{as_of:%Y}{number:04d}",
                    issued.isoformat(),
                    due.isoformat(),
                    f"{cents / 100:.2f}",
                    buyer.currency,
                ]
            lines.append((";" if german else ",").join(values))
        text = "\r\n".join(lines) + "\r\n"
        content = text.encode("cp1252" if german else "gb18030")
        name = "Offene_Posten.csv" if german else "应收发票.csv"
        job = import_job_create(
            tenant=tenant,
            actor=admin.user,
            kind=ImportJob.Kind.INVOICES,
            upload=SimpleUploadedFile(name, content),
        )
        import_job_map(job=job, mapping={field: header for header, field in headers})
    return True
