from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .models import AuditEvent


def audit_events(*, object_type: str = "", object_id: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor_user", "actor_api_key")
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events


@dataclass(frozen=True)
class AuditFilters:
    q: str = ""  # free text over action, actor, object and the recorded values
    user_id: int | None = None
    api_key_id: int | None = None
    object_type: str = ""
    object: str = ""  # the object's id, or part of its name
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    @property
    def any(self) -> bool:
        return any(
            (self.q, self.user_id, self.api_key_id, self.object_type, self.object, self.action)
        ) or bool(self.date_from or self.date_to)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_trail(*, filters: AuditFilters, before_id: int | None = None) -> QuerySet[AuditEvent]:
    """The active tenant's audit events matching `filters`, newest first; with `before_id`,
    only those older than that event (keyset paging: no count, no offset, on a table that
    grows with every ERP batch). The indexes of migration 0004 serve each filter."""
    events = audit_events(object_type=filters.object_type)
    if filters.user_id is not None:
        events = events.filter(actor_user_id=filters.user_id)
    if filters.api_key_id is not None:
        events = events.filter(actor_api_key_id=filters.api_key_id)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.object:
        wanted = filters.object.strip().lstrip("#")
        events = events.filter(Q(object_id=wanted) | Q(object_label__icontains=wanted))
    if filters.date_from:
        events = events.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to:
        events = events.filter(created_at__lt=_start_of(filters.date_to + timedelta(days=1)))
    if filters.q:
        text = filters.q.strip()
        events = events.annotate(
            after_text=Cast("after", TextField()), before_text=Cast("before", TextField())
        ).filter(
            Q(action__icontains=text)
            | Q(actor_label__icontains=text)
            | Q(object_label__icontains=text)
            | Q(after_text__icontains=text)
            | Q(before_text__icontains=text)
        )
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    return events.order_by("-id")
