"""Monitoring pages: the alert feed, rule settings, country risk, "rescore now", webhooks and
back-testing.

Views parse input, call one service or selector and render. Objects are looked up through the
tenant-scoped managers, so another tenant's alert, run or endpoint is "not found", exactly
like a missing one.

Who may do what (the same as the API, `monitoring.api.views`): every member reads; alerts are
worked (acknowledged, resolved) by members who edit receivables, analysts included; rules,
rescoring and webhooks are changed with MANAGE_MONITORING (credit managers and admins).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from buyers.figures import figures_fresh
from buyers.selectors import scope_choices
from buyers.signals import buyer_list_policy_choices
from creditguard.accounts.roles import Permission
from creditguard.web.decorators import tenant_view
from creditguard.web.templatetags.money import day, month

from . import alerts, backfill, rescoring, rules, selectors, webhooks
from . import backtest as backtesting
from .forms import (
    AlertFilterForm,
    AlertResolveForm,
    CountryFilterForm,
    RuleForm,
    WebhookEndpointForm,
)
from .modellab.views import model_page_urls
from .models import Alert, BackfillRun, LegalEvent, RescoreRun, WebhookEndpoint

# Alerts are worked by the people who work receivables, as in the API.
WORK_ALERTS = Permission.EDIT_RECEIVABLES
PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 50
RUNS_SHOWN = 20
LEAD_TIME_WINDOW_DAYS = 90

# Evidence shown under an alert, per rule: (key in Alert.evidence, label).
EVIDENCE_FIELDS: dict[str, list[tuple[str, Any]]] = {
    "grade_downgrade": [
        ("previous_period", gettext_lazy("Previous period")),
        ("previous_score", gettext_lazy("Previous score")),
        ("score", gettext_lazy("Score")),
        ("model_version", gettext_lazy("Model")),
    ],
    "score_drop": [
        ("previous_grade", gettext_lazy("Previous grade")),
        ("grade", gettext_lazy("Grade")),
        ("previous_period", gettext_lazy("Previous period")),
        ("model_version", gettext_lazy("Model")),
    ],
    "overdue": [
        ("invoices", gettext_lazy("Invoices")),
        ("oldest_due_date", gettext_lazy("Oldest due")),
        ("min_amount", gettext_lazy("Threshold")),
    ],
    "country_downgrade": [
        ("effective_date", gettext_lazy("Effective")),
        ("previous_effective_date", gettext_lazy("Previous rating since")),
    ],
    "legal_event": [
        ("kind", gettext_lazy("Kind")),
        ("source", gettext_lazy("Source")),
        ("reported_at", gettext_lazy("Reported")),
    ],
    "dispute_spike": [
        ("disputes", gettext_lazy("Disputes")),
        ("share_percent", gettext_lazy("Share of exposure (%)")),
        ("lookback_days", gettext_lazy("Days looked back")),
    ],
    "broken_payment_plan": [
        ("outstanding", gettext_lazy("Outstanding")),
        ("total_amount", gettext_lazy("Plan total")),
        ("first_missed_due_date", gettext_lazy("First missed instalment")),
    ],
    "over_limit": [],
    "cover_reduced": [
        ("insurer", gettext_lazy("Insurer")),
        ("old_amount", gettext_lazy("Previous cover")),
        ("new_amount", gettext_lazy("New cover")),
        ("effective_date", gettext_lazy("Effective")),
    ],
    "policy_deadline": [
        ("deadline", gettext_lazy("Deadline")),
        ("days_left", gettext_lazy("Days left")),
        ("invoices", gettext_lazy("Invoices")),
    ],
}


# --- Helpers -----------------------------------------------------------------------------------


def _add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError on the form: ``thresholds.<name>`` and plain field keys go to
    the field when the form has it, the rest to the form."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, field_messages in error.message_dict.items():
        field = key.removeprefix("thresholds.")
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def _safe_target(target: str, request: HttpRequest) -> str:
    """``target`` if it is a URL of this site, else ""."""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _safe_next(request: HttpRequest, fallback: str) -> str:
    return _safe_target(request.POST.get("next", ""), request) or fallback


def _evidence_value(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key == "kind" and value in LegalEvent.Kind.values:
        return str(LegalEvent.Kind(value).label)
    if isinstance(value, str) and (
        key in ("reported_at", "deadline", "as_of") or key.endswith("_date")
    ):
        return day(value)
    if isinstance(value, str) and key.endswith("_period"):
        return month(value)
    if key in (
        "min_amount",
        "outstanding",
        "total_amount",
        "share_percent",
        "old_amount",
        "new_amount",
    ):
        try:
            return f"{Decimal(str(value)):,.2f}"
        except InvalidOperation:
            return str(value)
    return str(value)


MONEY_EVIDENCE = ("outstanding", "total_amount", "min_amount", "old_amount", "new_amount")


def evidence_summary(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) pairs of the alert's evidence that its title does not already say."""
    evidence = alert.evidence if isinstance(alert.evidence, dict) else {}
    pairs = []
    for key, label in EVIDENCE_FIELDS.get(alert.rule, []):
        if key in evidence:
            value = _evidence_value(key, evidence[key])
            if key in MONEY_EVIDENCE and evidence.get("currency"):
                value = f"{value} {evidence['currency']}"
            pairs.append((str(label), value))
    return pairs


def _alert_for_display(alert: Alert) -> Alert:
    alert.display_title = alerts.alert_title(alert)
    alert.lead_time_days = alerts.lead_time_days(alert)
    alert.evidence_pairs = evidence_summary(alert)
    alert.auto_resolved = alerts.is_auto_resolved(alert)
    return alert


def _alert_or_404(alert_id: int) -> Alert:
    alert = Alert.objects.select_related("buyer").filter(pk=alert_id).first()
    if alert is None:
        raise Http404
    return alert


# --- Alert feed --------------------------------------------------------------------------------


@tenant_view()
def alert_list(request: HttpRequest) -> HttpResponse:
    figures_fresh(tenant=request.tenant)  # the grade and policy filters read the figures
    countries, sectors = scope_choices(tenant=request.tenant, language=get_language() or "en")
    form = AlertFilterForm(
        request.GET,
        countries=countries,
        sectors=sectors,
        policies=buyer_list_policy_choices(tenant=request.tenant),
    )
    form.is_valid()  # invalid values (an unknown status, a bad date) are left out
    filters = {name: form.cleaned_data.get(name) for name in form.fields}
    feed = selectors.alert_feed(
        status=filters["status"] or "",
        severity=filters["severity"] or "",
        rule=filters["rule"] or "",
        search=filters["q"] or "",
        created_from=filters["created_from"],
        created_to=filters["created_to"],
        policy_id=filters["policy"],
        country=filters["country"] or "",
        sector=filters["sector"] or "",
        grade_min=filters["grade_min"],
        grade_max=filters["grade_max"],
    )
    page = Paginator(feed, PAGE_SIZE).get_page(request.GET.get("page"))
    for alert in page.object_list:
        _alert_for_display(alert)
    query = request.GET.copy()
    query.pop("page", None)
    since = timezone.now() - timedelta(days=LEAD_TIME_WINDOW_DAYS)
    return render(
        request,
        "monitoring/alerts.html",
        {
            "form": form,
            "page": page,
            "query_string": query.urlencode(),
            "is_filtered": any(value for value in filters.values()),
            "open_counts": [
                (severity, Alert.Severity(severity).label, count)
                for severity, count in selectors.open_alert_counts().items()
            ],
            "lead_times": alerts.warning_lead_times(tenant=request.tenant, since=since),
            "lead_time_window_days": LEAD_TIME_WINDOW_DAYS,
            "can_work_alerts": request.membership.allows(WORK_ALERTS),
        },
    )


@tenant_view(WORK_ALERTS)
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(alert_id)
    try:
        alerts.alert_acknowledge(tenant=request.tenant, actor=request.user, alert=alert)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Acknowledged: %(title)s") % {"title": alerts.alert_title(alert)}
        )
    return redirect(_safe_next(request, "monitoring:alerts"))


@tenant_view(WORK_ALERTS)
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for_display(_alert_or_404(alert_id))
    if alert.status == Alert.Status.RESOLVED:
        messages.info(request, _("This alert is already resolved."))
        return redirect("monitoring:alerts")
    form = AlertResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            alerts.alert_resolve(
                tenant=request.tenant,
                actor=request.user,
                alert=alert,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("Resolved: %(title)s") % {"title": alert.display_title})
            return redirect(_safe_next(request, "monitoring:alerts"))
    return render(
        request,
        "monitoring/alert_resolve.html",
        {"alert": alert, "form": form, "next": _safe_target(request.GET.get("next", ""), request)},
    )


# --- Rules -------------------------------------------------------------------------------------


@tenant_view()
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule with its switch and thresholds; a POST saves the one rule it names."""
    can_manage = request.membership.allows(Permission.MANAGE_MONITORING)
    settings = rules.rule_settings(tenant=request.tenant)
    posted_kind = request.POST.get("kind") if request.method == "POST" else None
    if posted_kind is not None and not can_manage:
        raise PermissionDenied
    if posted_kind is not None and posted_kind not in rules.RULES:
        raise Http404
    rule_forms = []
    for setting in settings:
        bound = setting.kind == posted_kind
        form = RuleForm(request.POST if bound else None, setting=setting)
        if bound and form.is_valid():
            try:
                rules.rule_update(
                    tenant=request.tenant,
                    actor=request.user,
                    kind=setting.kind,
                    enabled=form.cleaned_data["enabled"],
                    thresholds=form.thresholds(),
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                messages.success(
                    request, _("Saved the rule “%(rule)s”.") % {"rule": setting.definition.label}
                )
                return redirect(f"{request.path}#rule-{setting.kind}")
        if not can_manage:
            for field in form.fields.values():
                field.disabled = True
        rule_forms.append(form)
    return render(
        request,
        "monitoring/rules.html",
        {"rule_forms": rule_forms, "can_manage": can_manage},
    )


# --- Country risk ------------------------------------------------------------------------------


@tenant_view()
def country_risk(request: HttpRequest) -> HttpResponse:
    form = CountryFilterForm(request.GET)
    form.is_valid()  # an unknown rating or sort is left out
    search = form.cleaned_data.get("q") or ""
    rating = form.cleaned_data.get("rating")
    sort = form.cleaned_data.get("sort") or "name"
    every_country = selectors.country_risk_table(ordering=sort)
    is_filtered = bool(search or rating)
    rows = (
        selectors.country_risk_table(search=search, rating=rating, ordering=sort)
        if is_filtered
        else every_country
    )
    counts = Counter(row.rating for row in every_country)
    return render(
        request,
        "monitoring/countries.html",
        {
            "form": form,
            "rows": rows,
            "sort": sort,
            "rating": rating,
            "is_filtered": is_filtered,
            "distribution": [
                (value, meaning, counts.get(value, 0))
                for value, meaning in selectors.RATING_MEANINGS.items()
            ],
            "sources": sorted({row.source for row in every_country if row.source}),
            "latest_date": max(
                (row.effective_date for row in every_country if row.effective_date), default=None
            ),
        },
    )


# --- Rescoring ---------------------------------------------------------------------------------


def _run_duration(run: RescoreRun) -> str:
    if run.started_at is None or run.finished_at is None:
        return ""
    seconds = max(int((run.finished_at - run.started_at).total_seconds()), 0)
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    return _("%(minutes)s min %(seconds)s s") % {"minutes": seconds // 60, "seconds": seconds % 60}


@tenant_view()
def rescore(request: HttpRequest) -> HttpResponse:
    """The recent runs and, for MANAGE_MONITORING, the "Rescore now" button (POST)."""
    can_manage = request.membership.allows(Permission.MANAGE_MONITORING)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        run = rescoring.rescore_now(tenant=request.tenant, actor=request.user)
        messages.success(
            request,
            _("Re-scoring of every buyer for %(period)s has started.")
            % {"period": f"{run.period:%Y-%m}"},
        )
        return redirect("monitoring:rescore")
    runs = list(
        RescoreRun.objects.select_related("requested_by").order_by("-created_at")[:RUNS_SHOWN]
    )
    model_urls = model_page_urls(run.model_version for run in runs if run.model_version)
    for run in runs:
        run.duration = _run_duration(run)
        run.model_url = model_urls.get(run.model_version, "")
    active = next(
        (
            run
            for run in runs
            if run.status in (RescoreRun.Status.QUEUED, RescoreRun.Status.RUNNING)
        ),
        None,
    )
    return render(
        request,
        "monitoring/rescore.html",
        {
            "runs": runs,
            "active_run": active,
            "progress": rescoring.rescore_progress(active) if active else None,
            "can_manage": can_manage,
        },
    )


@tenant_view()
def rescore_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    run = RescoreRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404
    progress = rescoring.rescore_progress(run)
    # static/js/import_progress.js moves the bar; it reads the import job's names for the counts.
    progress.update(processed_rows=progress["scored"], total_rows=progress["total"])
    return JsonResponse(progress, headers={"Cache-Control": "no-store"})


# --- Webhooks ----------------------------------------------------------------------------------


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404
    return endpoint


@tenant_view(Permission.MANAGE_MONITORING)
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    new_secret = new_endpoint = None
    if request.method == "POST" and form.is_valid():
        try:
            new_endpoint, new_secret = webhooks.webhook_endpoint_create(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            form = WebhookEndpointForm()
    return render(
        request,
        "monitoring/webhooks.html",
        {
            "form": form,
            "endpoints": WebhookEndpoint.objects.order_by("-created_at"),
            "new_secret": new_secret,
            "new_endpoint": new_endpoint,
            "event_types": webhooks.EVENT_TYPES,
        },
    )


def _webhook_page(
    request: HttpRequest, endpoint: WebhookEndpoint, *, new_secret: str | None = None
) -> HttpResponse:
    deliveries = endpoint.deliveries.order_by("-created_at", "-id")
    page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/webhook_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "new_secret": new_secret,
            "previous_secret_valid_until": (
                endpoint.previous_secret_expires_at
                if endpoint.previous_secret
                and endpoint.previous_secret_expires_at
                and endpoint.previous_secret_expires_at > timezone.now()
                else None
            ),
            "rotation_overlap_hours": int(webhooks.ROTATION_OVERLAP.total_seconds() // 3600),
        },
    )


@tenant_view(Permission.MANAGE_MONITORING)
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    return _webhook_page(request, _endpoint_or_404(endpoint_id))


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def webhook_rotate_secret(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, secret = webhooks.webhook_endpoint_rotate_secret(
        tenant=request.tenant, actor=request.user, endpoint=_endpoint_or_404(endpoint_id)
    )
    # Rendered, not redirected: the new secret is shown this once and stored nowhere else.
    return _webhook_page(request, endpoint, new_secret=secret)


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def webhook_set_active(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(endpoint_id)
    is_active = request.POST.get("is_active") == "true"
    webhooks.webhook_endpoint_update(
        tenant=request.tenant, actor=request.user, endpoint=endpoint, data={"is_active": is_active}
    )
    if is_active:
        messages.success(request, _("%(url)s receives events again.") % {"url": endpoint.url})
    else:
        messages.success(
            request,
            _("%(url)s is deactivated: no more events are sent to it.") % {"url": endpoint.url},
        )
    return redirect(_safe_next(request, "monitoring:webhooks"))


# --- Back-testing ------------------------------------------------------------------------------


# The calibration strip under each grade: default rates on a log scale from 0.01 % to 100 %.
RATE_SCALE_DECADES = 4


def _log_position(rate: Decimal | None) -> Decimal | None:
    """Where ``rate`` (a fraction) sits on the strip, in percent of its width."""
    if rate is None or rate <= 0:
        return None
    position = (Decimal(math.log10(rate)) + RATE_SCALE_DECADES) * 100 / RATE_SCALE_DECADES
    return min(max(position, Decimal(0)), Decimal(100)).quantize(Decimal("0.1"))


BACKFILLS_SHOWN = 5
MONTH_INPUT = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


class BacktestWindowForm(forms.Form):
    """A window of months (YYYY-MM, or any day of the month): the back-test's filter (GET) and
    the months a back-fill scores (POST). Both ends optional."""

    first_period = forms.DateField(
        label=gettext_lazy("From month"),
        required=False,
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=MONTH_INPUT,
    )
    last_period = forms.DateField(
        label=gettext_lazy("To month"),
        required=False,
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=MONTH_INPUT,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("first_period", "last_period"):
            if cleaned.get(name):
                cleaned[name] = cleaned[name].replace(day=1)
        first, last = cleaned.get("first_period"), cleaned.get("last_period")
        if first and last and first > last:
            self.add_error("first_period", _("The first month must not come after the last month."))
        return cleaned


def _interval_bar(low: Decimal | None, high: Decimal | None) -> dict[str, Decimal] | None:
    """The 95 % interval of a default rate on the strip: its left edge and width, in percent."""
    if low is None or high is None:
        return None
    left = _log_position(low) if low > 0 else Decimal(0)
    right = _log_position(high)
    if left is None or right is None:
        return None
    return {"left": left, "width": max(right - left, Decimal("0.5"))}


def _backfill_start(request: HttpRequest) -> HttpResponse:
    if not request.membership.allows(Permission.MANAGE_MONITORING):
        raise PermissionDenied
    form = BacktestWindowForm(request.POST)
    if form.is_valid():
        try:
            run = backfill.backfill_start(
                tenant=request.tenant,
                actor=request.user,
                first_period=form.cleaned_data.get("first_period"),
                last_period=form.cleaned_data.get("last_period"),
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Scoring the history from %(first)s to %(last)s has started.")
                % {"first": month(run.first_period), "last": month(run.last_period)},
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("monitoring:backtest")


@tenant_view()
def backtest(request: HttpRequest) -> HttpResponse:
    """The back-test of each model over a window of months, with 95 % intervals, and the score
    history panel: start a back-fill (POST, MANAGE_MONITORING), its progress, the last runs."""
    if request.method == "POST":
        return _backfill_start(request)
    versions = selectors.model_versions()
    chosen = request.GET.get("model_version", "")
    if chosen not in versions:
        chosen = ""
    window = BacktestWindowForm(request.GET)
    first_period = last_period = None
    if window.is_valid():
        first_period = window.cleaned_data.get("first_period")
        last_period = window.cleaned_data.get("last_period")
    reports = [
        {
            "result": report,
            "first_outcomes_on": (
                backtesting.add_months(report.first_period, backtesting.HORIZON_MONTHS)
                if report.first_period
                else None
            ),
            "grades": [
                {
                    "row": row,
                    "observed_at": _log_position(row.default_rate),
                    "predicted_at": _log_position(row.mean_pd),
                    "interval": _interval_bar(row.default_rate_low, row.default_rate_high),
                }
                for row in report.by_grade
            ],
        }
        for report in selectors.backtest_reports(
            model_version=chosen or None, first_period=first_period, last_period=last_period
        )
    ]
    backfills = list(
        BackfillRun.objects.select_related("requested_by").order_by("-created_at", "-id")[
            :BACKFILLS_SHOWN
        ]
    )
    for run in backfills:
        run.duration = _run_duration(run)
    active = next((run for run in backfills if run.status in backfill.PENDING), None)
    return render(
        request,
        "monitoring/backtest.html",
        {
            "reports": reports,
            "versions": versions,
            "chosen": chosen,
            "window": window,
            "filtered": bool(first_period or last_period),
            "min_defaults": backtesting.MIN_DEFAULTS,
            "min_performing": backtesting.MIN_PERFORMING,
            "horizon_months": backtesting.HORIZON_MONTHS,
            "max_backfill_months": backfill.MAX_PERIODS,
            "latest_backfill_period": backfill.latest_period(),
            "rate_ticks": ["0.01%", "0.1%", "1%", "10%", "100%"],
            "backfills": backfills,
            "active_backfill": active,
            "backfill_progress": backfill.backfill_progress(active) if active else None,
            "can_manage": request.membership.allows(Permission.MANAGE_MONITORING),
        },
    )


@tenant_view()
def backfill_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    run = BackfillRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404
    progress = backfill.backfill_progress(run)
    # static/js/import_progress.js moves the bar; it reads the import job's names for the counts.
    progress.update(processed_rows=progress["done_periods"], total_rows=progress["total_periods"])
    return JsonResponse(progress, headers={"Cache-Control": "no-store"})
