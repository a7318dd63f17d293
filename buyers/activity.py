"""Activity-feed describers for the buyers app's audited actions (see creditguard.audit.activity)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from creditguard.accounts.roles import Permission
from creditguard.audit.activity import (
    Happening,
    money,
    number,
    register_action,
    register_batch,
    register_object,
    says,
)

from .models import (
    Buyer,
    Dispute,
    FinancialStatement,
    ImportJob,
    Instalment,
    Invoice,
    Payment,
    PaymentPlan,
)


def records(kind: str, total: int) -> str:
    """`total` records of an import or bulk kind, in words: "1,240 invoices"."""
    values = {"count": number(total)}
    if kind == "buyers":
        return ngettext("%(count)s buyer", "%(count)s buyers", total) % values
    if kind == "invoices":
        return ngettext("%(count)s invoice", "%(count)s invoices", total) % values
    if kind == "payments":
        return ngettext("%(count)s payment", "%(count)s payments", total) % values
    if kind == "financial_statements":
        return (
            ngettext("%(count)s financial statement", "%(count)s financial statements", total)
            % values
        )
    return ngettext("%(count)s record", "%(count)s records", total) % values


def _buyer_name(happening: Happening) -> str:
    obj = happening.obj
    if isinstance(obj, Buyer):
        return obj.legal_name
    buyer = getattr(obj, "buyer", None) or getattr(getattr(obj, "plan", None), "buyer", None)
    if buyer is not None:
        return buyer.legal_name
    return happening.after("legal_name") or happening.before("legal_name") or _("a buyer")


def _says(template: Any, **values: Callable[[Happening], str]) -> Callable[[Happening], str]:
    return says(template, buyer=_buyer_name, **values)


def _buyer_update(happening: Happening) -> str:
    status = happening.after("status")
    if "status" in happening.changed and status in Buyer.Status.values:
        return _("%(actor)s set the status of %(buyer)s to %(status)s") % {
            "actor": happening.actor,
            "buyer": _buyer_name(happening),
            "status": Buyer.Status(status).label,
        }
    return _("%(actor)s updated the details of %(buyer)s") % {
        "actor": happening.actor,
        "buyer": _buyer_name(happening),
    }


def _import_run(happening: Happening) -> str:
    total = int(happening.after("created") or 0) + int(happening.after("updated") or 0)
    return _("%(actor)s imported %(records)s from a file") % {
        "actor": happening.actor,
        "records": records(str(happening.after("kind", "")), total),
    }


def _amount(happening: Happening) -> str:
    return money(happening.after("amount"), happening.after("currency"))


def _with_buyer(model: Any) -> Any:
    return model.objects.select_related("buyer")


def _buyer_page(buyer_of: Callable[[Any], int]) -> Callable[[str, Any], str | None]:
    return lambda object_id, obj: reverse("buyers:detail", args=[buyer_of(obj)])


def register() -> None:
    register_object(
        "buyers.buyer",
        label=gettext_lazy("Buyer"),
        objects=Buyer.objects.all,
        url=_buyer_page(lambda obj: obj.pk),
    )
    for model, label in (
        (FinancialStatement, gettext_lazy("Financial statement")),
        (Invoice, gettext_lazy("Invoice")),
        (Payment, gettext_lazy("Payment")),
        (Dispute, gettext_lazy("Dispute")),
        (PaymentPlan, gettext_lazy("Payment plan")),
    ):
        register_object(
            model._meta.label_lower,
            label=label,
            objects=partial(_with_buyer, model),
            url=_buyer_page(lambda obj: obj.buyer_id),
        )
    register_object(
        "buyers.instalment",
        label=gettext_lazy("Instalment"),
        objects=lambda: Instalment.objects.select_related("plan__buyer"),
        url=_buyer_page(lambda obj: obj.plan.buyer_id),
    )
    register_object(
        "buyers.importjob",
        label=gettext_lazy("Import"),
        objects=ImportJob.objects.all,
        url=lambda object_id, obj: reverse("imports:detail", args=[object_id]),
    )

    register_action("buyer.create", _says(gettext_lazy("%(actor)s added the buyer %(buyer)s")))
    register_action("buyer.update", _buyer_update)
    register_action("buyer.delete", _says(gettext_lazy("%(actor)s deleted the buyer %(buyer)s")))
    register_action("buyer.note", _says(gettext_lazy("%(actor)s added a note to %(buyer)s")))
    register_action(
        "buyer.document", _says(gettext_lazy("%(actor)s added a document to %(buyer)s"))
    )
    register_action(
        "statement.create",
        _says(gettext_lazy("%(actor)s added a financial statement of %(buyer)s")),
    )
    register_action(
        "statement.update",
        _says(gettext_lazy("%(actor)s corrected a financial statement of %(buyer)s")),
    )
    register_action(
        "invoice.create",
        _says(
            gettext_lazy("%(actor)s added an invoice of %(amount)s for %(buyer)s"), amount=_amount
        ),
    )
    register_action(
        "invoice.update", _says(gettext_lazy("%(actor)s updated an invoice of %(buyer)s"))
    )
    register_action(
        "payment.record",
        _says(
            gettext_lazy("%(actor)s recorded a payment of %(amount)s from %(buyer)s"),
            amount=_amount,
        ),
    )
    register_action(
        "dispute.open",
        _says(
            gettext_lazy("%(actor)s opened a dispute of %(amount)s with %(buyer)s"), amount=_amount
        ),
    )
    register_action(
        "dispute.resolve", _says(gettext_lazy("%(actor)s resolved a dispute with %(buyer)s"))
    )
    register_action(
        "payment_plan.create",
        _says(
            gettext_lazy("%(actor)s agreed a payment plan of %(amount)s with %(buyer)s"),
            amount=lambda h: money(h.after("total"), h.after("currency")),
        ),
    )
    register_action(
        "instalment.payment",
        _says(gettext_lazy("%(actor)s recorded an instalment paid by %(buyer)s")),
    )
    register_action("import.run", _import_run)
    register_action(
        "import.delete",
        says(
            gettext_lazy("%(actor)s deleted an unfinished import of %(file)s"),
            file=lambda h: h.before("file") or _("a file"),
        ),
        audience=Permission.EDIT_RECEIVABLES,
    )
    for kind in ("buyers", "invoices", "payments", "financial_statements"):
        register_batch(f"{kind}.bulk_upsert", partial(records, kind))
