"""Template tags of the limit pages and the notification bell in the top bar."""

from django import template

from ..models import LimitRequest, Notification

register = template.Library()


@register.simple_tag
def pending_requests_count() -> int:
    """Pending limit requests of the active tenant (for the sub-navigation)."""
    return LimitRequest.objects.filter(status=LimitRequest.Status.PENDING).count()


@register.inclusion_tag("policies/_notification_bell.html", takes_context=True)
def notification_badge(context: template.Context) -> dict:
    """The bell with the signed-in member's unread count; nothing without a tenant."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if getattr(request, "tenant", None) is None or user is None or not user.is_authenticated:
        return {"show": False}
    unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
    return {"show": True, "unread": unread}
