"""Activity-feed describers for the portfolio app's audited actions: PDF reports
(see creditguard.audit.activity)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditguard.audit.activity import Happening, register_action, register_object, says

from .models import Report


def _report_kind(happening: Happening) -> str:
    kind = happening.after("kind")
    return str(Report.Kind(kind).label) if kind in Report.Kind.values else _("a report")


def register() -> None:
    register_object(
        "portfolio.report",
        label=gettext_lazy("Report"),
        url=lambda object_id, obj: reverse("reports:list"),
    )
    register_action(
        "report.request",
        says(gettext_lazy("%(actor)s asked for the %(report)s"), report=_report_kind),
    )
