"""Audit events as a reader wants them: one line per changed field, old value → new value."""

from dataclasses import dataclass
from typing import Any

from django import template

from creditguard.audit.models import AuditEvent

register = template.Library()
MAX_VALUE_LENGTH = 120


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None  # None: the field had no earlier value (created, or not recorded)
    after: str | None  # None: the field was removed (deleted object)


def _text(value: Any) -> str:
    text = "—" if value in (None, "") else str(value)
    return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 1] + "…"


@register.filter
def field_changes(event: AuditEvent) -> list[FieldChange]:
    before, after = event.before or {}, event.after or {}
    changes = []
    for field in [*after, *(name for name in before if name not in after)]:
        if field in before and field in after and before[field] == after[field]:
            continue  # recorded for context, not changed
        changes.append(
            FieldChange(
                field=field.replace("_", " "),
                before=_text(before[field]) if field in before else None,
                after=_text(after[field]) if field in after else None,
            )
        )
    return changes
