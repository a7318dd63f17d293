"""The eligibility checks of a claimed invoice (claims.eligibility)."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from claims import eligibility as e

FACTS = e.InvoiceFacts(
    invoice_id=1,
    issue_date=date(2026, 1, 10),
    due_date=date(2026, 2, 10),
    cover_at_delivery=Decimal("10000"),
    disputed=False,
    notify_by=date(2026, 5, 11),
    sent_on=date(2026, 4, 1),
    earliest_claim=date(2026, 8, 9),
    claim_by=date(2026, 11, 7),
    max_extension_end=date(2026, 4, 11),
)
CLAIM = e.ClaimFacts(
    cause="protracted_default",
    loss_date=date(2026, 8, 9),
    filed_on=date(2026, 8, 20),
    covered_risks=("insolvency", "protracted_default"),
)


def results(facts=FACTS, claim=CLAIM):
    return {check.code: check for check in e.invoice_checks(facts, claim)}


def test_all_checks_pass_for_a_clean_invoice():
    checks = e.invoice_checks(FACTS, CLAIM)
    assert [check.code for check in checks] == list(e.CHECKS)
    assert e.is_eligible(checks)
    assert checks[1].as_json()["reason"] == "notified"


def test_no_cover_at_delivery():
    check = results(replace(FACTS, cover_at_delivery=Decimal("0")))[e.COVER_IN_FORCE]
    assert not check.passed and check.reason == "no_cover_at_delivery"


def test_notified_late_or_not_at_all():
    late = results(replace(FACTS, sent_on=date(2026, 5, 12)))[e.NOTIFIED_IN_TIME]
    assert not late.passed and late.reason == "notified_late"
    on_the_day = results(replace(FACTS, sent_on=date(2026, 5, 11)))[e.NOTIFIED_IN_TIME]
    assert on_the_day.passed
    missing = results(replace(FACTS, sent_on=None))[e.NOTIFIED_IN_TIME]
    assert not missing.passed and missing.reason == "not_notified"


def test_insolvency_on_an_invoice_not_yet_due_needs_no_notification():
    claim = replace(CLAIM, cause="insolvency", loss_date=date(2026, 2, 1))
    check = results(replace(FACTS, sent_on=None), claim)[e.NOTIFIED_IN_TIME]
    assert check.passed and check.reason == "not_due_at_insolvency"
    due_before = replace(CLAIM, cause="insolvency", loss_date=date(2026, 6, 1))
    assert not results(replace(FACTS, sent_on=None), due_before)[e.NOTIFIED_IN_TIME].passed


def test_waiting_period_only_for_protracted_default():
    early = replace(CLAIM, filed_on=date(2026, 8, 8))
    assert results(claim=early)[e.WAITING_PERIOD].reason == "too_early"
    assert results(claim=replace(CLAIM, filed_on=date(2026, 8, 9)))[e.WAITING_PERIOD].passed
    insolvency = replace(early, cause="insolvency")
    assert results(claim=insolvency)[e.WAITING_PERIOD].reason == "not_applicable"


def test_disputed():
    assert results(replace(FACTS, disputed=True))[e.NOT_DISPUTED].reason == "disputed"


def test_extension_beyond_the_maximum_needs_consent():
    beyond = replace(FACTS, extended_until=date(2026, 5, 1))
    assert results(beyond)[e.WITHIN_MAX_EXTENSION].reason == "extended_without_consent"
    consented = replace(beyond, consented_until=date(2026, 5, 1))
    assert results(consented)[e.WITHIN_MAX_EXTENSION].reason == "insurer_consented"
    within = replace(FACTS, extended_until=date(2026, 4, 11))
    assert results(within)[e.WITHIN_MAX_EXTENSION].passed


def test_filed_after_the_claim_deadline():
    on_deadline = replace(CLAIM, filed_on=date(2026, 11, 7))
    assert results(claim=on_deadline)[e.FILED_IN_TIME].passed
    late = replace(CLAIM, filed_on=date(2026, 11, 8))
    assert results(claim=late)[e.FILED_IN_TIME].reason == "filed_late"


def test_risk_not_covered():
    check = results(claim=replace(CLAIM, cause="political"))[e.RISK_COVERED]
    assert not check.passed and check.params["covered_risks"] == "insolvency,protracted_default"
