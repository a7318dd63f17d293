from django.db.models import QuerySet

from .models import AuditEvent


def audit_events(*, object_type: str = "", object_id: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor_user", "actor_api_key")
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events
