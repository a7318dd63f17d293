"""Writes to the buyer credit file, one object at a time (UI forms and the REST API).

One input contract: the edge (API view, page) cleans a buyer, statement, invoice or payment
with `buyers.records.parse_record`, the rules of bulk imports, and these services take the
cleaned record and trust it; they check only what needs the database (references, unique
keys, a parent chain, outstanding amounts). Bulk writes live in `buyers.bulk`. Each service
runs in a transaction and writes one audit record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_changes, audit_record, snapshot
from creditguard.tenancy.models import Tenant

from . import figures, ledger, receivables
from .models import (
    Buyer,
    BuyerDocument,
    BuyerNote,
    Dispute,
    FinancialStatement,
    Instalment,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentPlan,
)
from .records import STATEMENT_COLUMNS
from .signals import buyer_risk_changed

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

BUYER_FIELDS = [
    "erp_reference",
    "legal_name",
    "registration_number",
    "vat_number",
    "lei",
    "country_id",
    "city",
    "address",
    "nace_code",
    "nace_section",
    "parent_id",
    "currency",
    "payment_terms_days",
    "status",
]
STATEMENT_FIELDS = list(STATEMENT_COLUMNS)
INVOICE_FIELDS = [
    "erp_reference",
    "number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "paid_amount",
    "paid_date",
    "status",
]
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_CONTENT_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/csv",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def buyer_by_reference(erp_reference: str, *, field: str = "buyer_erp_reference") -> Buyer:
    buyer = Buyer.objects.filter(erp_reference=erp_reference).first()
    if buyer is None:
        raise ValidationError({field: _("No buyer with this ERP reference.")})
    return buyer


def _unique_reference(
    model: type[Buyer | Invoice | Payment | Dispute | PaymentPlan],
    erp_reference: str,
    *,
    exclude_pk: int | None = None,
) -> None:
    clash = model.objects.filter(erp_reference=erp_reference)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"erp_reference": _("This ERP reference is already used.")})


# --- Buyers ----------------------------------------------------------------------------------


def _buyer_values(record: Mapping[str, Any], *, instance: Buyer | None) -> dict[str, Any]:
    cleaned = dict(record)
    parent_reference = cleaned.pop("parent_erp_reference", "") or ""
    parent = None
    if parent_reference:
        parent = buyer_by_reference(parent_reference, field="parent_erp_reference")
        if instance is not None and instance.pk in {m.pk for m in _ancestors(parent)}:
            raise ValidationError(
                {"parent_erp_reference": _("A buyer cannot belong to its own subsidiary.")}
            )
    cleaned["parent_id"] = parent.pk if parent else None
    cleaned["country_id"] = cleaned.pop("country")
    return cleaned


def _ancestors(buyer: Buyer) -> list[Buyer]:
    chain = [buyer]
    while chain[-1].parent_id is not None and len(chain) < 10:
        chain.append(Buyer.objects.get(pk=chain[-1].parent_id))
    return chain


@transaction.atomic
def buyer_create(*, tenant: Tenant, actor: Actor, record: Mapping[str, Any]) -> Buyer:
    """Create a buyer from a record cleaned by `records.parse_record("buyers", ...)`."""
    values = _buyer_values(record, instance=None)
    _unique_reference(Buyer, values["erp_reference"])
    buyer = Buyer.objects.create(tenant=tenant, **values)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="buyer.create",
        obj=buyer,
        after=snapshot(buyer, BUYER_FIELDS),
    )
    return buyer


@transaction.atomic
def buyer_update(*, tenant: Tenant, actor: Actor, buyer: Buyer, record: Mapping[str, Any]) -> Buyer:
    """Give the buyer the cleaned `record` (a partial update starts from `buyer_record`)."""
    before = snapshot(buyer, BUYER_FIELDS)
    values = _buyer_values(record, instance=buyer)
    _unique_reference(Buyer, values["erp_reference"], exclude_pk=buyer.pk)
    for name, value in values.items():
        setattr(buyer, name, value)
    buyer.save()
    after = snapshot(buyer, BUYER_FIELDS)
    if after["status"] != before["status"]:
        buyer_risk_changed.send(
            sender=Buyer, tenant_id=tenant.pk, buyer_ids=[buyer.pk], reason="status"
        )
    audit_changes(
        tenant=tenant, actor=actor, action="buyer.update", obj=buyer, before=before, after=after
    )
    return buyer


@transaction.atomic
def buyer_upsert(*, tenant: Tenant, actor: Actor, record: Mapping[str, Any]) -> tuple[Buyer, bool]:
    """Create or update the buyer with the cleaned `record`'s ERP reference; returns (buyer,
    created)."""
    buyer = Buyer.objects.filter(erp_reference=record["erp_reference"]).select_for_update().first()
    if buyer is None:
        return buyer_create(tenant=tenant, actor=actor, record=record), True
    return buyer_update(tenant=tenant, actor=actor, buyer=buyer, record=record), False


@transaction.atomic
def buyer_delete(*, tenant: Tenant, actor: Actor, buyer: Buyer) -> None:
    """Only a buyer without receivables may be deleted; others are closed instead."""
    if buyer.invoices.exists() or buyer.payments.exists():
        raise ValidationError(
            _("This buyer has invoices or payments; set its status to closed instead.")
        )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="buyer.delete",
        obj=buyer,
        before=snapshot(buyer, BUYER_FIELDS),
    )
    Buyer.objects.filter(parent=buyer).update(parent=None)
    buyer.delete()
    # Its figures row goes with it (no invoices, so nothing marked it for a refresh).
    figures.figures_changed(tenant=tenant)


# --- Financial statements --------------------------------------------------------------------


@transaction.atomic
def statement_save(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    record: Mapping[str, Any],
    statement: FinancialStatement | None = None,
) -> FinancialStatement:
    """Create the statement for a period, or replace the figures of `statement`, from a record
    cleaned by `records.parse_record("financial_statements", ...)`."""
    current = snapshot(statement, STATEMENT_FIELDS) if statement else {}
    values = {name: record[name] for name in STATEMENT_FIELDS}
    clash = FinancialStatement.objects.filter(buyer=buyer, period_end=values["period_end"])
    if statement is not None:
        clash = clash.exclude(pk=statement.pk)
    if clash.exists():
        raise ValidationError({"period_end": _("A statement for this period already exists.")})
    if statement is None:
        statement = FinancialStatement(tenant=tenant, buyer=buyer)
    for name, value in values.items():
        setattr(statement, name, value)
    statement.warnings = list(record.get("warnings", ()))
    statement.save()
    buyer_risk_changed.send(
        sender=Buyer, tenant_id=tenant.pk, buyer_ids=[buyer.pk], reason="statement"
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="statement.update" if current else "statement.create",
        obj=statement,
        before=current or None,
        after=snapshot(statement, STATEMENT_FIELDS),
    )
    return statement


# --- Invoices --------------------------------------------------------------------------------


@transaction.atomic
def invoice_save(
    *, tenant: Tenant, actor: Actor, record: Mapping[str, Any], invoice: Invoice | None = None
) -> Invoice:
    """Create an invoice, or replace `invoice`'s fields, from a record cleaned by
    `records.parse_record("invoices", ...)`."""
    current = snapshot(invoice, INVOICE_FIELDS) if invoice is not None else {}
    values = {name: record[name] for name in INVOICE_FIELDS}
    buyer = buyer_by_reference(record["buyer_erp_reference"])
    _unique_reference(Invoice, values["erp_reference"], exclude_pk=invoice.pk if invoice else None)
    if invoice is None:
        invoice = Invoice(tenant=tenant)
    invoice.buyer = buyer
    for name, value in values.items():
        setattr(invoice, name, value)
    invoice.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="invoice.update" if current else "invoice.create",
        obj=invoice,
        before=current or None,
        after=snapshot(invoice, INVOICE_FIELDS),
    )
    return invoice


def _refresh_invoice_status(invoice: Invoice) -> None:
    disputed = invoice.disputes.filter(status=Dispute.Status.OPEN).exists()
    invoice.status = receivables.invoice_status(
        amount=invoice.amount,
        paid_amount=invoice.paid_amount,
        disputed=disputed,
        written_off=invoice.status == Invoice.Status.WRITTEN_OFF,
    )
    invoice.save(update_fields=["status", "paid_amount", "paid_date", "updated_at"])


# --- Payments --------------------------------------------------------------------------------


@transaction.atomic
def payment_record(*, tenant: Tenant, actor: Actor, record: Mapping[str, Any]) -> Payment:
    """Record a payment (cleaned by `records.parse_record("payments", ...)`) and allocate it to
    invoices: paid amounts, paid dates and statuses follow."""
    values = dict(record)
    buyer = buyer_by_reference(values.pop("buyer_erp_reference"))
    allocations = values.pop("allocations", [])
    _unique_reference(Payment, values["erp_reference"])
    references = [allocation["invoice_erp_reference"] for allocation in allocations]
    invoices = {
        invoice.erp_reference: invoice
        for invoice in Invoice.objects.select_for_update().filter(
            buyer=buyer, erp_reference__in=references
        )
    }
    errors: dict[str, list[str]] = {}
    for index, allocation in enumerate(allocations):
        invoice = invoices.get(allocation["invoice_erp_reference"])
        field = f"allocations[{index}]"
        if invoice is None:
            errors.setdefault(f"{field}.invoice_erp_reference", []).append(
                _("No invoice of this buyer with this ERP reference.")
            )
        elif allocation["amount"] > invoice.outstanding:
            errors.setdefault(f"{field}.amount", []).append(
                _("More than the invoice's outstanding amount (%(outstanding)s).")
                % {"outstanding": invoice.outstanding}
            )
    if errors:
        raise ValidationError(errors)
    payment = Payment.objects.create(tenant=tenant, buyer=buyer, **values)
    for allocation in allocations:
        invoice = invoices[allocation["invoice_erp_reference"]]
        PaymentAllocation.objects.create(
            tenant=tenant, payment=payment, invoice=invoice, amount=allocation["amount"]
        )
        invoice.paid_amount += allocation["amount"]
        if invoice.paid_amount >= invoice.amount:
            invoice.paid_date = payment.received_date
        _refresh_invoice_status(invoice)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="payment.record",
        obj=payment,
        after={**values, "allocations": allocations},
    )
    return payment


# --- Disputes --------------------------------------------------------------------------------


@transaction.atomic
def dispute_open(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    erp_reference: str,
    reason: str,
    amount: Decimal,
    currency: str,
    opened_date: date,
    invoice: Invoice | None = None,
    description: str = "",
) -> Dispute:
    _unique_reference(Dispute, erp_reference)
    if invoice is not None:
        if invoice.buyer_id != buyer.pk:
            raise ValidationError({"invoice": _("The invoice belongs to another buyer.")})
        if amount > invoice.outstanding:
            raise ValidationError(
                {
                    "amount": _("More than the invoice's outstanding amount (%(outstanding)s).")
                    % {"outstanding": invoice.outstanding}
                }
            )
    if amount <= 0:
        raise ValidationError({"amount": _("Must be greater than zero.")})
    dispute = Dispute.objects.create(
        tenant=tenant,
        buyer=buyer,
        invoice=invoice,
        erp_reference=erp_reference,
        reason=reason,
        amount=amount,
        currency=currency,
        opened_date=opened_date,
        description=description,
    )
    if invoice is not None:
        _refresh_invoice_status(invoice)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="dispute.open",
        obj=dispute,
        after={
            "reason": reason,
            "amount": amount,
            "currency": currency,
            "invoice": invoice.erp_reference if invoice else None,
        },
    )
    return dispute


@transaction.atomic
def dispute_resolve(
    *, tenant: Tenant, actor: Actor, dispute: Dispute, resolved_date: date, resolution: str
) -> Dispute:
    if dispute.status == Dispute.Status.RESOLVED:
        raise ValidationError(_("This dispute is already resolved."))
    if resolved_date < dispute.opened_date:
        raise ValidationError({"resolved_date": _("Cannot be before the dispute was opened.")})
    dispute.status = Dispute.Status.RESOLVED
    dispute.resolved_date = resolved_date
    dispute.resolution = resolution
    dispute.save(update_fields=["status", "resolved_date", "resolution"])
    if dispute.invoice is not None:
        _refresh_invoice_status(dispute.invoice)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="dispute.resolve",
        obj=dispute,
        before={"status": "open"},
        after={"status": "resolved", "resolved_date": resolved_date, "resolution": resolution},
    )
    return dispute


# --- Payment plans ---------------------------------------------------------------------------


def _plan_refresh_status(plan: PaymentPlan, *, as_of: date) -> None:
    # Every reader derives the status from the instalments (`buyers.ledger`); the stored
    # column is a snapshot of the last write, read by nothing.
    previous = plan.status
    plan.status = ledger.plan_status_of(plan, as_of=as_of)
    plan.save(update_fields=["status"])
    if plan.status == PaymentPlan.Status.BROKEN and previous != plan.status:
        buyer_risk_changed.send(
            sender=Buyer,
            tenant_id=plan.tenant_id,
            buyer_ids=[plan.buyer_id],
            reason="payment_plan",
        )


@transaction.atomic
def payment_plan_create(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    erp_reference: str,
    agreed_date: date,
    currency: str,
    instalments: Sequence[tuple[date, Decimal]],
    note: str = "",
    as_of: date,
) -> PaymentPlan:
    _unique_reference(PaymentPlan, erp_reference)
    if not instalments:
        raise ValidationError({"instalments": _("A payment plan needs at least one instalment.")})
    due_dates = [due for due, _amount in instalments]
    if len(set(due_dates)) != len(due_dates):
        raise ValidationError({"instalments": _("Two instalments fall on the same date.")})
    if any(amount <= 0 for _due, amount in instalments):
        raise ValidationError({"instalments": _("Every instalment must be greater than zero.")})
    if min(due_dates) < agreed_date:
        raise ValidationError({"instalments": _("An instalment falls before the agreement date.")})
    plan = PaymentPlan.objects.create(
        tenant=tenant,
        buyer=buyer,
        erp_reference=erp_reference,
        agreed_date=agreed_date,
        total_amount=sum((amount for _due, amount in instalments), Decimal(0)),
        currency=currency,
        note=note,
    )
    Instalment.objects.bulk_create(
        [
            Instalment(tenant=tenant, plan=plan, due_date=due, amount=amount)
            for due, amount in instalments
        ]
    )
    _plan_refresh_status(plan, as_of=as_of)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="payment_plan.create",
        obj=plan,
        after={"total": plan.total_amount, "instalments": len(instalments), "currency": currency},
    )
    return plan


@transaction.atomic
def instalment_record_payment(
    *,
    tenant: Tenant,
    actor: Actor,
    instalment: Instalment,
    amount: Decimal,
    paid_date: date,
    as_of: date,
) -> Instalment:
    if amount <= 0:
        raise ValidationError({"amount": _("Must be greater than zero.")})
    if amount > instalment.amount - instalment.paid_amount:
        raise ValidationError({"amount": _("More than what remains on this instalment.")})
    before = snapshot(instalment, ["paid_amount", "paid_date"])
    Instalment.objects.filter(pk=instalment.pk).update(paid_amount=F("paid_amount") + amount)
    instalment.refresh_from_db()
    if instalment.paid_amount >= instalment.amount:
        instalment.paid_date = paid_date
        instalment.save(update_fields=["paid_date"])
    _plan_refresh_status(instalment.plan, as_of=as_of)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="instalment.payment",
        obj=instalment,
        before=before,
        after=snapshot(instalment, ["paid_amount", "paid_date"]),
    )
    return instalment


# --- Notes and documents ---------------------------------------------------------------------


@transaction.atomic
def note_add(*, tenant: Tenant, actor: User, buyer: Buyer, body: str) -> BuyerNote:
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    note = BuyerNote.objects.create(tenant=tenant, buyer=buyer, author=actor, body=body)
    audit_record(
        tenant=tenant, actor=actor, action="buyer.note", obj=buyer, after={"note": body[:500]}
    )
    return note


@transaction.atomic
def document_upload(
    *, tenant: Tenant, actor: User, buyer: Buyer, title: str, upload: UploadedFile[bytes]
) -> BuyerDocument:
    # Django's upload handlers always set both; `UploadedFile` allows None for hand-made ones.
    assert upload.size is not None and upload.name is not None
    if upload.size > DOCUMENT_MAX_BYTES:
        raise ValidationError({"file": _("Files may be at most 10 MB.")})
    if upload.content_type not in DOCUMENT_CONTENT_TYPES:
        raise ValidationError({"file": _("Upload a PDF, image, CSV, text, Excel or Word file.")})
    document = BuyerDocument.objects.create(
        tenant=tenant,
        buyer=buyer,
        title=title.strip() or upload.name,
        file=upload,
        content_type=upload.content_type,
        size=upload.size,
        uploaded_by=actor,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="buyer.document",
        obj=buyer,
        after={"title": document.title, "size": upload.size},
    )
    return document
