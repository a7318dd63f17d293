"""Deadline calendar pages: a policy's deadlines (`/policies/<pk>/deadlines/`) and the
portfolio-wide calendar (`/policies/deadlines/`). Read-only, from the last coverage sweep
(`policies.insurance.calendar`); filters by kind and date range, pages by keyset cursor.
Another tenant's policy is "not found", like a missing one.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from creditguard.api.filters import BoundedDateField
from creditguard.dates import today
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.web.decorators import tenant_view

from ..insurance import deadlines
from ..insurance.calendar import CalendarCursor, CalendarFilter, deadline_calendar
from ..insurance.kpis import last_sweep_on
from ..models import InsurancePolicy

PAGE_SIZE = 50
KIND_LABELS = {
    deadlines.EXTENSION_END: gettext_lazy("End of maximum extension"),
    deadlines.NOTIFY_BY: gettext_lazy("Notify overdue by"),
    deadlines.CLAIM_BY: gettext_lazy("File claim by"),
}


class DeadlineFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Deadline"),
        required=False,
        choices=[("", gettext_lazy("All deadlines"))]
        + [(kind, KIND_LABELS[kind]) for kind in deadlines.DEADLINE_KINDS],
    )
    date_from = BoundedDateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = BoundedDateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if isinstance(start, date) and isinstance(end, date) and start > end:
            self.add_error("date_to", _("The end of the range must not be before its start."))
        return cleaned


def _calendar(request: TenantHttpRequest, *, policy: InsurancePolicy | None) -> HttpResponse:
    tenant = request.tenant
    assert tenant is not None  # tenant_view
    as_of = today()
    # By default the upcoming deadlines (and those of the last month, where lost cover shows).
    data = request.GET.copy()
    if "date_from" not in data:
        data["date_from"] = (as_of - timedelta(days=30)).isoformat()
    form = DeadlineFilterForm(data)
    after = None
    if request.GET.get("after"):
        try:
            after = CalendarCursor.decode(request.GET["after"])
        except ValueError:
            form.add_error(None, _("This page link is no longer valid; start from the first page."))
    entries, next_url = [], ""
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        page = deadline_calendar(
            tenant=tenant,
            as_of=as_of,
            filters=CalendarFilter(
                policy_id=policy.pk if policy else None,
                kinds=[kind] if kind else deadlines.DEADLINE_KINDS,
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
            ),
            after=after,
            page_size=PAGE_SIZE,
        )
        entries = page.entries
        if page.next_cursor:
            query: dict[str, str] = {
                key: str(value) for key, value in request.GET.items() if key != "after"
            }
            query.setdefault("date_from", str(data["date_from"]))
            next_url = "?" + urlencode({**query, "after": page.next_cursor.encode()})
    first_url = "?" + urlencode(
        {key: str(value) for key, value in request.GET.items() if key != "after"}
    )
    policies = {p.pk: p for p in InsurancePolicy.objects.all()} if policy is None else {}
    return render(
        request,
        "policies/insurance/deadlines.html",
        {
            "policy": policy,
            "form": form,
            "entries": [
                {
                    "entry": entry,
                    "label": KIND_LABELS[entry.kind],
                    "policy": policies.get(entry.policy_id),
                }
                for entry in entries
            ],
            "next_url": next_url,
            "first_url": first_url if after else "",
            "as_of": as_of,
            "last_sweep": last_sweep_on(tenant=tenant),
            "currency": tenant.base_currency,
        },
    )


@require_safe
@tenant_view()
def policy_deadlines(request: TenantHttpRequest, pk: int) -> HttpResponse:
    policy = InsurancePolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise Http404
    return _calendar(request, policy=policy)


@require_safe
@tenant_view()
def deadline_calendar_page(request: TenantHttpRequest) -> HttpResponse:
    return _calendar(request, policy=None)
