"""Early-warning rule settings: defaults, per-tenant overrides, typed threshold validation."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from creditguard.audit.models import AuditEvent
from monitoring.models import AlertRule
from monitoring.rules import RULES, rule_setting, rule_settings, rule_update
from tests.conftest import active

pytestmark = pytest.mark.django_db


def test_every_rule_kind_has_a_definition_with_documented_defaults():
    assert set(RULES) == set(AlertRule.Kind.values)
    assert RULES["grade_downgrade"].defaults() == {"min_steps": 2, "high_risk_grade": 8}
    assert RULES["score_drop"].defaults() == {
        "min_points": Decimal(15),
        "high_points": Decimal(30),
    }
    assert RULES["overdue"].defaults() == {"days": [31, 61, 91], "min_amount": Decimal(1000)}
    assert RULES["legal_event"].defaults()["lookback_days"] == 30
    assert RULES["dispute_spike"].defaults() == {
        "lookback_days": 30,
        "min_disputes": 3,
        "share_percent": Decimal(20),
    }
    assert RULES["over_limit"].defaults() == {"tolerance_percent": Decimal(0)}


def test_a_tenant_without_settings_gets_every_rule_enabled_with_defaults(tenant_a):
    with active(tenant_a):
        settings = rule_settings(tenant=tenant_a)

    assert [setting.kind for setting in settings] == AlertRule.Kind.values
    assert all(setting.enabled and not setting.customised for setting in settings)
    overdue = next(setting for setting in settings if setting.kind == "overdue")
    assert overdue.thresholds == {"days": [31, 61, 91], "min_amount": Decimal(1000)}


def test_an_update_changes_only_the_given_thresholds_and_is_audited(tenant_a, owner):
    with active(tenant_a):
        setting = rule_update(
            tenant=tenant_a, actor=owner, kind="overdue", thresholds={"days": [90, 30]}
        )
        event = AuditEvent.objects.get(action="alert_rule.update")

    assert setting.thresholds == {"days": [30, 90], "min_amount": Decimal(1000)}
    assert setting.customised
    assert event.actor_user == owner
    assert event.before == {"thresholds": {"days": [31, 61, 91], "min_amount": "1000.00"}}
    assert event.after == {"thresholds": {"days": [30, 90], "min_amount": "1000.00"}}


def test_disabling_a_rule_keeps_its_thresholds(tenant_a, owner):
    with active(tenant_a):
        rule_update(tenant=tenant_a, actor=owner, kind="score_drop", thresholds={"min_points": 20})
        rule_update(tenant=tenant_a, actor=owner, kind="score_drop", enabled=False)
        setting = rule_setting(tenant=tenant_a, kind="score_drop")

    assert not setting.enabled
    assert setting.thresholds["min_points"] == Decimal(20)


def test_an_update_that_changes_nothing_writes_no_audit_record(tenant_a, owner):
    with active(tenant_a):
        rule_update(tenant=tenant_a, actor=owner, kind="overdue", enabled=True)

        assert not AuditEvent.objects.filter(action="alert_rule.update").exists()


@pytest.mark.parametrize(
    ("kind", "thresholds", "field"),
    [
        ("overdue", {"days": [0]}, "thresholds.days"),
        ("overdue", {"days": []}, "thresholds.days"),
        ("overdue", {"days": [30, 30]}, "thresholds.days"),
        ("overdue", {"days": "31"}, "thresholds.days"),
        ("overdue", {"min_amount": "lots"}, "thresholds.min_amount"),
        ("overdue", {"min_amount": -1}, "thresholds.min_amount"),
        ("overdue", {"bogus": 1}, "thresholds.bogus"),
        ("grade_downgrade", {"min_steps": True}, "thresholds.min_steps"),
        ("grade_downgrade", {"high_risk_grade": 11}, "thresholds.high_risk_grade"),
        ("score_drop", {"min_points": 20, "high_points": 10}, "thresholds.high_points"),
        ("legal_event", {"kinds": ["bankruptcy"]}, "thresholds.kinds"),
        ("dispute_spike", {"share_percent": "NaN"}, "thresholds.share_percent"),
    ],
)
def test_invalid_thresholds_are_refused_with_the_field_name(
    tenant_a, owner, kind, thresholds, field
):
    with active(tenant_a):
        with pytest.raises(ValidationError) as error:
            rule_update(tenant=tenant_a, actor=owner, kind=kind, thresholds=thresholds)

        assert field in error.value.message_dict
        assert not AlertRule.objects.exists()


def test_unknown_rules_and_non_boolean_flags_are_refused(tenant_a, owner):
    with active(tenant_a):
        with pytest.raises(ValidationError) as unknown:
            rule_update(tenant=tenant_a, actor=owner, kind="moon_phase", enabled=False)
        with pytest.raises(ValidationError) as flag:
            rule_update(tenant=tenant_a, actor=owner, kind="overdue", enabled="no")
        with pytest.raises(ValidationError) as shape:
            rule_update(tenant=tenant_a, actor=owner, kind="overdue", thresholds=[31])

    assert "kind" in unknown.value.message_dict
    assert "enabled" in flag.value.message_dict
    assert "thresholds" in shape.value.message_dict


def test_a_stored_value_outside_todays_bounds_reads_as_the_default(tenant_a):
    with active(tenant_a):
        AlertRule.objects.create(
            tenant=tenant_a, kind="grade_downgrade", thresholds={"min_steps": 99, "stale": 1}
        )

        setting = rule_setting(tenant=tenant_a, kind="grade_downgrade")

    assert setting.thresholds == {"min_steps": 2, "high_risk_grade": 8}


def test_settings_are_per_tenant(tenant_a, tenant_b, owner, outsider):
    with active(tenant_a):
        rule_update(tenant=tenant_a, actor=owner, kind="dispute_spike", enabled=False)
    with active(tenant_b):
        setting = rule_setting(tenant=tenant_b, kind="dispute_spike")

    assert setting.enabled
