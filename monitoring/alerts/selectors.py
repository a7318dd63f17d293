"""Reads about alerts: titles in the active language, auto-resolution, and the KPI "days from
risk event to warning"."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from creditguard.tenancy.models import Tenant
from creditguard.web.templatetags.money import day

from ..models import Alert
from .lifecycle import AUTO_RESOLVED_PREFIX
from .rules import TITLES, title_text


def alert_title(alert: Alert) -> str:
    """The alert's title in the active language (stored titles are English), its date in the
    user's format and its count with the right plural."""
    message = alert.evidence.get("i18n_title") if isinstance(alert.evidence, dict) else None
    if not message:
        return alert.title
    try:
        params = dict(message["params"])
        if "date" in params:
            params["date"] = day(params["date"])
        if message.get("key") in TITLES:
            return title_text(message["key"], params)
        return str(_(message["msgid"]) % params)
    except (KeyError, TypeError, ValueError):
        return alert.title


def is_auto_resolved(alert: Alert) -> bool:
    return (
        alert.status == Alert.Status.RESOLVED
        and alert.resolved_by_id is None
        and alert.resolution_note.startswith(AUTO_RESOLVED_PREFIX)
    )


def warning_lead_times(
    *, tenant: Tenant, since: datetime, buyers: QuerySet[Any] | None = None
) -> dict[str, Any]:
    """The KPI "days from risk event to warning" over alerts raised since `since`.

    ``buyers`` (a query of buyer ids) limits it to those buyers' alerts. Returns
    ``{"count", "median_days", "p90_days"}``; the days are Decimal with one decimal place, None
    when there were no alerts.
    """
    buyer_sql, buyer_params = "", ()
    if buyers is not None:
        subquery, buyer_params = buyers.query.sql_with_params()
        buyer_sql = f"AND buyer_id IN ({subquery})"
    with connection.cursor() as cursor:
        cursor.execute(
            # Only the compiled sub-query is spliced in; its values stay parameters.
            f"""
            SELECT COUNT(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY lead.days),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY lead.days)
            FROM (
                SELECT GREATEST(EXTRACT(EPOCH FROM created_at - risk_event_at), 0) / 86400 AS days
                FROM monitoring_alert
                WHERE tenant_id = %s AND created_at >= %s {buyer_sql}
            ) lead
            """,  # noqa: S608
            [tenant.pk, since, *buyer_params],
        )
        count, median, p90 = cursor.fetchone()

    def days(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))

    return {"count": count, "median_days": days(median), "p90_days": days(p90)}


def lead_time_days(alert: Alert) -> Decimal:
    """Days from the risk event to this alert's warning, one decimal place."""
    seconds = max((alert.created_at - alert.risk_event_at).total_seconds(), 0)
    return (Decimal(str(seconds)) / 86400).quantize(Decimal("0.1"))
