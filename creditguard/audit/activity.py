"""The activity feed: recent audit events told in plain words, in the reader's language, showing
only what the reader's role may see.

The audit layer is the lowest layer, so it knows no business action. Each app registers, in its
`AppConfig.ready()`, a describer for every action code its services write (`register_action`),
the codes that stay in the audit trail only (`register_quiet`: system jobs such as the coverage
sweep), the bulk writes that are summed into one line per sender and hour (`register_batch`: the
ERP's `invoices.bulk_upsert`) and, per object type, how to load many objects in one query and
where a reader may follow them (`register_object`). An action nobody registered gets a generic
sentence built from the model's translated name; the raw code is never shown.

Queries per feed: one for the events, one for the bulk writes, and one per object type on the
page that has a loader, whatever the number of events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import Count, IntegerField, Max, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncHour
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from creditguard.accounts.roles import Permission
from creditguard.web.templatetags.money import amount as amount_filter
from creditguard.web.templatetags.money import count as count_filter

from .models import AuditEvent

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from creditguard.accounts.models import Membership
    from creditguard.tenancy.models import Tenant

# How far back the feed looks for bulk writes when it found fewer events than it shows.
BATCH_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True)
class ActivityItem:
    text: str  # translated, plain words, with the actor
    when: datetime
    actor_display: str
    url: str | None  # a page the reader may open, or None
    count: int = 1  # audit events summed into this line (bulk writes)


@dataclass(frozen=True)
class Happening:
    """What a describer reads: the event, its object when a loader found it, and the actor as
    the reader may see it."""

    event: AuditEvent
    obj: Any | None
    actor: str

    def after(self, key: str, default: Any = None) -> Any:
        return (self.event.after or {}).get(key, default)

    def before(self, key: str, default: Any = None) -> Any:
        return (self.event.before or {}).get(key, default)

    @property
    def changed(self) -> list[str]:
        """Names of the fields whose value the event changed."""
        before, after = self.event.before or {}, self.event.after or {}
        return [name for name, value in after.items() if before.get(name, value) != value]


Describe = Callable[[Happening], str]
Objects = Callable[[], "QuerySet[Any]"]  # the queryset to load a type's objects from
ObjectUrl = Callable[[str, Any], "str | None"]
BatchNoun = Callable[[int], str]


@dataclass(frozen=True)
class _Action:
    describe: Describe | None  # None: quiet, kept out of the feed
    audience: Permission


@dataclass(frozen=True)
class _Batch:
    noun: BatchNoun  # 1240 → "1,240 invoices"
    audience: Permission


@dataclass(frozen=True)
class _Object:
    objects: Objects | None
    url: ObjectUrl | None
    label: Any  # lazy translated name of the object type, for the audit trail's filter


_ACTIONS: dict[str, _Action] = {}
_BATCHES: dict[str, _Batch] = {}
_OBJECTS: dict[str, _Object] = {}


def register_action(
    action: str, describe: Describe, *, audience: Permission = Permission.VIEW
) -> None:
    """`describe` tells `action` in words; only members whose role allows `audience` see it."""
    _ACTIONS[action] = _Action(describe=describe, audience=audience)


def register_quiet(*actions: str) -> None:
    """Actions recorded for the audit trail but left out of the feed (system jobs, recomputes)."""
    for action in actions:
        _ACTIONS[action] = _Action(describe=None, audience=Permission.VIEW_AUDIT)


def register_batch(action: str, noun: BatchNoun, *, audience: Permission = Permission.VIEW) -> None:
    """A bulk write: its events are summed per sender and hour into one line; `noun` names the
    records of a total ("1,240 invoices"), read from the event's `after["count"]`."""
    _BATCHES[action] = _Batch(noun=noun, audience=audience)


def register_object(
    object_type: str,
    *,
    label: Any,
    objects: Objects | None = None,
    url: ObjectUrl | None = None,
) -> None:
    """`label` names the type (lazy, translated); `objects()` is the queryset the feed loads
    the page's objects of `object_type` (`app_label.model`) from, in one query (with the
    `select_related` its describers read); `url(id, obj)` the page a reader follows (`obj` is
    None without `objects`)."""
    _OBJECTS[object_type] = _Object(objects=objects, url=url, label=label)


def object_types() -> list[tuple[str, str]]:
    """(object_type, translated name) of every registered type, by name."""
    return sorted(((key, str(entry.label)) for key, entry in _OBJECTS.items()), key=lambda t: t[1])


def says(template: Any, **values: Callable[[Happening], Any]) -> Describe:
    """A describer filling `template` with the actor and `values` (each read from the
    happening). Pass the template lazily (`gettext_lazy`): it is translated when read, in the
    reader's language, not when the app registers it."""

    def describe(happening: Happening) -> str:
        context = {name: value(happening) for name, value in values.items()}
        return str(template) % {"actor": happening.actor, **context}

    return describe


def money(value: Any, currency: Any) -> str:
    """An amount as every page shows it (the shared `amount` filter): "225,000.00 EUR"."""
    return amount_filter(value, currency or "")


def number(value: Any) -> str:
    """A count with comma groups (the shared `count` filter): "1,240"."""
    return count_filter(value)


def registered_actions() -> set[str]:
    return set(_ACTIONS) | set(_BATCHES)


def _allows(membership: Membership, permission: Permission) -> bool:
    return membership.allows(permission)


def actor_display(event: AuditEvent, *, membership: Membership) -> str:
    """The actor as this reader may see it: a person's name; an API key only as the ERP
    integration unless the reader manages API keys; the system for jobs."""
    if event.actor_user_id is not None and event.actor_user is not None:
        return event.actor_user.get_full_name() or event.actor_user.email
    if event.actor_api_key_id is not None:
        if _allows(membership, Permission.MANAGE_API_KEYS) and event.actor_api_key is not None:
            return _("ERP integration (%(key)s)") % {"key": event.actor_api_key.name}
        return _("ERP integration")
    if event.actor_label.startswith("api-key:"):  # the key is gone
        return _("ERP integration")
    if event.actor_label == "system":
        return _("CreditGuard (automatic)")
    return event.actor_label  # a user since deleted: the name recorded at the time


def _translated_model_name(object_type: str) -> str | None:
    """The model's own (translated) verbose name; None when it has only Django's English
    default, which would read as a code in Chinese."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return None
    name = model._meta.original_attrs.get("verbose_name")
    return str(name) if name else None


def generic_text(happening: Happening) -> str:
    """The sentence for an action nobody described: the object's name, never the raw code."""
    values = {
        "actor": happening.actor,
        "object": happening.event.object_label,
        "kind": _translated_model_name(happening.event.object_type),
    }
    if values["object"] and values["kind"]:
        return _("%(actor)s made a change to %(kind)s %(object)s") % values
    if values["object"]:
        return _("%(actor)s made a change to %(object)s") % values
    if values["kind"]:
        return _("%(actor)s made a change to a record (%(kind)s)") % values
    return _("%(actor)s made a change") % values


def _loaded_objects(events: Iterable[AuditEvent]) -> dict[tuple[str, str], Any]:
    ids_by_type: dict[str, set[str]] = defaultdict(set)
    for event in events:
        entry = _OBJECTS.get(event.object_type)
        if entry is not None and entry.objects is not None and event.object_id:
            ids_by_type[event.object_type].add(event.object_id)
    loaded: dict[tuple[str, str], Any] = {}
    for object_type, ids in ids_by_type.items():
        objects = _OBJECTS[object_type].objects
        assert objects is not None
        for object_id, obj in objects().in_bulk(sorted(ids)).items():
            loaded[(object_type, str(object_id))] = obj
    return loaded


def _object_url(event: AuditEvent, obj: Any) -> str | None:
    entry = _OBJECTS.get(event.object_type)
    if entry is None or entry.url is None or not event.object_id:
        return None
    if entry.objects is not None and obj is None:
        return None  # deleted since: no page to follow
    return entry.url(event.object_id, obj)


def describe_events(events: Sequence[AuditEvent], *, membership: Membership) -> list[ActivityItem]:
    """Each event in words (no visibility filter: the caller chose the events)."""
    loaded = _loaded_objects(events)
    items = []
    for event in events:
        obj = loaded.get((event.object_type, event.object_id))
        happening = Happening(
            event=event, obj=obj, actor=actor_display(event, membership=membership)
        )
        entry = _ACTIONS.get(event.action)
        batch = _BATCHES.get(event.action)
        if entry is not None and entry.describe is not None:
            text = entry.describe(happening)
        elif batch is not None:
            text = _batch_text(happening.actor, [batch.noun(int(happening.after("count", 0)))])
        else:
            text = generic_text(happening)
        items.append(
            ActivityItem(
                text=text,
                when=event.created_at,
                actor_display=happening.actor,
                url=_object_url(event, obj),
            )
        )
    return items


def _batch_text(actor: str, parts: list[str]) -> str:
    return _("%(actor)s synchronised %(records)s") % {"actor": actor, "records": ", ".join(parts)}


def _visible_events(*, tenant: Tenant, membership: Membership) -> Any:
    events = AuditEvent.objects.filter(tenant=tenant)
    hidden = set(_BATCHES) | {
        action
        for action, entry in _ACTIONS.items()
        if entry.describe is None or not _allows(membership, entry.audience)
    }
    if _allows(membership, Permission.VIEW_AUDIT):
        # Auditors also see actions nobody registered (in generic words).
        return events.exclude(action__in=sorted(hidden))
    shown = sorted(set(_ACTIONS) - hidden)
    return events.filter(action__in=shown)


@dataclass
class _BatchLine:
    when: datetime
    actor: str
    url: str | None
    parts: list[str] = field(default_factory=list)
    count: int = 0


def _batch_lines(
    *, tenant: Tenant, membership: Membership, since: datetime, limit: int
) -> list[ActivityItem]:
    actions = sorted(
        action for action, batch in _BATCHES.items() if _allows(membership, batch.audience)
    )
    if not actions:
        return []
    rows = (
        AuditEvent.objects.filter(tenant=tenant, action__in=actions, created_at__gte=since)
        .annotate(hour=TruncHour("created_at"))
        .values(
            "hour",
            "action",
            "actor_user_id",
            "actor_api_key_id",
            "actor_label",
            "actor_user__first_name",
            "actor_user__last_name",
            "actor_user__email",
            "actor_api_key__name",
        )
        .annotate(
            events=Count("id"),
            records=Coalesce(Sum(Cast(KeyTextTransform("count", "after"), IntegerField())), 0),
            last=Max("created_at"),
        )
        .order_by("-hour", "action")[: limit * len(actions)]
    )
    may_follow = _allows(membership, Permission.VIEW_AUDIT)
    lines: dict[tuple[Any, ...], _BatchLine] = {}
    for row in rows:
        key = (row["hour"], row["actor_user_id"], row["actor_api_key_id"], row["actor_label"])
        line = lines.get(key)
        if line is None:
            actor = AuditEvent(
                actor_user_id=row["actor_user_id"],
                actor_api_key_id=row["actor_api_key_id"],
                actor_label=row["actor_label"],
            )
            if row["actor_user_id"] is not None:
                actor.actor_user = _user(row)
            if row["actor_api_key_id"] is not None:
                actor.actor_api_key = _api_key(row)
            url = None
            if may_follow:
                day = timezone.localtime(row["hour"]).date().isoformat()
                url = (
                    reverse("audit-log")
                    + "?"
                    + urlencode({"kind": "bulk", "date_from": day, "date_to": day})
                )
            line = lines[key] = _BatchLine(
                when=row["last"], actor=actor_display(actor, membership=membership), url=url
            )
        line.when = max(line.when, row["last"])
        line.parts.append(_BATCHES[row["action"]].noun(row["records"]))
        line.count += row["events"]
    return [
        ActivityItem(
            text=_batch_text(line.actor, line.parts),
            when=line.when,
            actor_display=line.actor,
            url=line.url,
            count=line.count,
        )
        for line in lines.values()
    ]


def _user(row: Mapping[str, Any]) -> Any:
    from django.contrib.auth.models import User

    return User(
        pk=row["actor_user_id"],
        first_name=row["actor_user__first_name"] or "",
        last_name=row["actor_user__last_name"] or "",
        email=row["actor_user__email"] or "",
    )


def _api_key(row: Mapping[str, Any]) -> Any:
    from creditguard.api.models import ApiKey

    return ApiKey(pk=row["actor_api_key_id"], name=row["actor_api_key__name"] or "")


def activity_feed(*, tenant: Tenant, membership: Membership, limit: int = 10) -> list[ActivityItem]:
    """The tenant's latest activity that `membership`'s role may see, newest first: business
    events in words, each bulk write of the ERP summed into one line per sender and hour,
    system jobs left out."""
    events = list(
        _visible_events(tenant=tenant, membership=membership).select_related(
            "actor_user", "actor_api_key"
        )[:limit]
    )
    since = events[-1].created_at if len(events) == limit else timezone.now() - BATCH_LOOKBACK
    items = describe_events(events, membership=membership) + _batch_lines(
        tenant=tenant, membership=membership, since=since, limit=limit
    )
    items.sort(key=lambda item: item.when, reverse=True)
    return items[:limit]
