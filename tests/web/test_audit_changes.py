from creditguard.audit.models import AuditEvent
from creditguard.web.templatetags.audit import FieldChange, field_changes


def test_it_lists_each_changed_field_with_its_old_and_new_value_and_skips_unchanged_ones():
    event = AuditEvent(
        before={"status": "active", "payment_terms_days": 30, "round": 1},
        after={"status": "on_hold", "payment_terms_days": 45, "blocked_reason": "", "round": 1},
    )

    assert field_changes(event) == [
        FieldChange("status", "active", "on_hold"),
        FieldChange("payment terms days", "30", "45"),
        FieldChange("blocked reason", None, "—"),
    ]


def test_a_deletion_shows_the_removed_values_and_long_values_are_shortened():
    event = AuditEvent(before={"note": "x" * 500}, after=None)

    [change] = field_changes(event)
    assert change.after is None
    assert len(change.before) == 120 and change.before.endswith("…")
