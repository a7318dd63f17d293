"""The claim workflow (claims.workflow) and the services: creation with its checks and
calculation, numbering, every transition with its event, audit, webhook and notification,
recomputation, decisions, payment, recoveries, write-offs and KPIs."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from claims import selectors, services, workflow
from claims.models import Claim, ClaimEvent, Recovery
from creditguard.audit.models import AuditEvent
from monitoring.models import WebhookDelivery
from monitoring.selectors import default_dates
from policies.models import Notification, OverdueNotification, OverdueNotificationItem
from policies.services.transitions import TransitionNotAllowed
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    MembershipFactory,
    PolicyVersionFactory,
    WebhookEndpointFactory,
)

D = Decimal
TODAY = date.today()


# --- Pure workflow -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("draft", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "approved"),
        ("under_review", "partially_approved"),
        ("under_review", "rejected"),
        ("approved", "paid"),
        ("partially_approved", "paid"),
        ("draft", "withdrawn"),
        ("submitted", "withdrawn"),
        ("under_review", "withdrawn"),
    ],
)
def test_allowed_transitions(source, target):
    assert workflow.can_transition(source, target)
    workflow.check_transition(source, target)


def test_everything_else_is_refused():
    statuses = list(workflow.ALLOWED)
    allowed = {(s, t) for s, targets in workflow.ALLOWED.items() for t in targets}
    assert len(allowed) == 10
    for source in statuses:
        for target in statuses:
            if (source, target) not in allowed:
                with pytest.raises(TransitionNotAllowed):
                    workflow.check_transition(source, target)


def test_service_levels():
    day = date(2026, 3, 1)
    assert workflow.sla_due_on("submitted", on=day) == date(2026, 3, 6)
    assert workflow.sla_due_on("under_review", on=day) == date(2026, 3, 31)
    assert workflow.sla_due_on("approved", on=day) == date(2026, 3, 11)
    assert workflow.sla_due_on("paid", on=day) is None


# --- Services ------------------------------------------------------------------------------------


@pytest.fixture
def book(tenant_a, owner):
    with active(tenant_a):
        policy = InsurancePolicyFactory(tenant=tenant_a, currency="EUR")
        PolicyVersionFactory(
            policy=policy,
            tenant=tenant_a,
            version=1,
            period_start=TODAY - timedelta(days=300),
            period_end=TODAY + timedelta(days=65),
            effective_from=TODAY - timedelta(days=300),
            indemnity_commercial_pct=D("90"),
            max_liability=D("100000"),
        )
        buyer = BuyerFactory(tenant=tenant_a)
        InsurerCoverFactory(
            buyer=buyer,
            tenant=tenant_a,
            policy=policy,
            amount=D("10000"),
            decision_date=TODAY - timedelta(days=200),
        )
        issued = TODAY - timedelta(days=100)
        covered = InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=D("6000"),
            issue_date=issued,
            due_date=issued + timedelta(days=30),
        )
        disputed = InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=D("2000"),
            issue_date=issued,
            due_date=issued + timedelta(days=30),
            status="disputed",
        )
        return {"policy": policy, "buyer": buyer, "covered": covered, "disputed": disputed}


def _claim(tenant, owner, book, **kwargs):
    values = {
        "policy": book["policy"],
        "buyer": book["buyer"],
        "cause": "insolvency",
        "loss_date": TODAY - timedelta(days=10),
        "invoice_ids": [book["covered"].pk, book["disputed"].pk],
    }
    return services.claim_create(tenant=tenant, actor=owner, **{**values, **kwargs})


@pytest.mark.django_db
def test_create_checks_each_invoice_and_computes_the_indemnity(tenant_a, owner, book):
    with active(tenant_a):
        claim = _claim(tenant_a, owner, book)
        assert claim.number == f"CL-{TODAY.year}-0001"
        assert claim.status == "draft"
        assert claim.claimed_amount == D("8000.00")
        assert claim.eligible_amount == D("6000.00")
        assert claim.indemnity_amount == D("5400.00")
        lines = {line.invoice_id: line for line in claim.invoices.all()}
        assert lines[book["covered"].pk].eligible
        assert lines[book["covered"].pk].cover_at_delivery == D("10000.00")
        disputed = lines[book["disputed"].pk]
        assert not disputed.eligible
        failed = [check["check"] for check in disputed.checks if not check["passed"]]
        assert failed == ["not_disputed"]
        assert claim.breakdown["steps"][0]["code"] == "insured_outstanding"
        assert AuditEvent.objects.filter(action="claim.create").count() == 1
        second = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        assert second.number == f"CL-{TODAY.year}-0002"


@pytest.mark.django_db
def test_bad_input_is_a_validation_error(tenant_a, owner, book, tenant_b):
    with active(tenant_a):
        with pytest.raises(ValidationError) as error:
            _claim(tenant_a, owner, book, invoice_ids=[])
        assert "invoice_ids" in error.value.message_dict
        with pytest.raises(ValidationError) as error:
            _claim(tenant_a, owner, book, cause="fire")
        assert "cause" in error.value.message_dict
        other = InvoiceFactory(buyer=BuyerFactory(tenant=tenant_a), tenant=tenant_a)
        with pytest.raises(ValidationError) as error:
            _claim(tenant_a, owner, book, invoice_ids=[other.pk])
        assert "invoice_ids" in error.value.message_dict


@pytest.mark.django_db
def test_the_whole_workflow_with_events_audit_webhooks_and_sla(tenant_a, owner, book):
    with active(tenant_a):
        WebhookEndpointFactory(tenant=tenant_a, event_types=["claim.submitted", "claim.paid"])
        assignee = MembershipFactory(tenant=tenant_a, user__email="handler@a.example").user
        claim = _claim(tenant_a, owner, book)
        claim = services.claim_assign(tenant=tenant_a, actor=owner, claim=claim, assignee=assignee)
        claim = services.claim_submit(tenant=tenant_a, actor=owner, claim=claim)
        assert claim.status == "submitted" and claim.submitted_at is not None
        assert claim.sla_due_on == TODAY + timedelta(days=5)
        with pytest.raises(TransitionNotAllowed):
            services.claim_decide(tenant=tenant_a, actor=owner, claim=claim, decision="approved")
        claim = services.claim_start_review(tenant=tenant_a, actor=owner, claim=claim)
        assert claim.sla_due_on == TODAY + timedelta(days=30)
        claim = services.claim_recompute(tenant=tenant_a, actor=owner, claim=claim)
        claim = services.claim_decide(
            tenant=tenant_a, actor=owner, claim=claim, decision="approved", insurer_reference="X1"
        )
        assert claim.approved_amount == D("5400.00")
        assert claim.sla_due_on == TODAY + timedelta(days=10)
        with pytest.raises(TransitionNotAllowed):
            services.claim_recompute(tenant=tenant_a, actor=owner, claim=claim)
        with pytest.raises(ValidationError) as error:
            services.claim_mark_paid(
                tenant=tenant_a, actor=owner, claim=claim, paid_amount=D("5400.01"), paid_on=TODAY
            )
        assert "paid_amount" in error.value.message_dict
        claim = services.claim_mark_paid(
            tenant=tenant_a, actor=owner, claim=claim, paid_amount=D("5400"), paid_on=TODAY
        )
        assert claim.status == "paid" and claim.closed_at is not None and claim.sla_due_on is None
        with pytest.raises(TransitionNotAllowed):
            services.claim_withdraw(tenant=tenant_a, actor=owner, claim=claim)
        transitions = list(
            ClaimEvent.objects.filter(claim=claim, kind="transition").values_list(
                "from_status", "to_status"
            )
        )
        assert transitions == [
            ("", "draft"),
            ("draft", "submitted"),
            ("submitted", "under_review"),
            ("under_review", "approved"),
            ("approved", "paid"),
        ]
        assert set(WebhookDelivery.objects.values_list("event_type", flat=True)) == {
            "claim.submitted",
            "claim.paid",
        }
        assert AuditEvent.objects.filter(action="claim.paid", object_id=str(claim.pk)).exists()
        assert Notification.objects.filter(user=assignee).count() >= 4
        assert not Notification.objects.filter(user=owner).exists()


@pytest.mark.django_db
def test_partial_approval_rejection_and_withdrawal(tenant_a, owner, book):
    with active(tenant_a):
        claim = _claim(tenant_a, owner, book)
        claim = services.claim_submit(tenant=tenant_a, actor=owner, claim=claim)
        claim = services.claim_start_review(tenant=tenant_a, actor=owner, claim=claim)
        for amount in (None, D("5400"), D("0")):
            with pytest.raises(ValidationError) as error:
                services.claim_decide(
                    tenant=tenant_a,
                    actor=owner,
                    claim=claim,
                    decision="partially_approved",
                    approved_amount=amount,
                )
            assert "approved_amount" in error.value.message_dict
        with pytest.raises(ValidationError):
            services.claim_decide(tenant=tenant_a, actor=owner, claim=claim, decision="maybe")
        claim = services.claim_decide(
            tenant=tenant_a,
            actor=owner,
            claim=claim,
            decision="partially_approved",
            approved_amount=D("4000"),
        )
        assert claim.status == "partially_approved" and claim.approved_amount == D("4000.00")

        other = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        other = services.claim_withdraw(tenant=tenant_a, actor=owner, claim=other, comment="dup")
        assert other.status == "withdrawn"

        third = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        third = services.claim_submit(tenant=tenant_a, actor=owner, claim=third)
        third = services.claim_start_review(tenant=tenant_a, actor=owner, claim=third)
        third = services.claim_decide(
            tenant=tenant_a, actor=owner, claim=third, decision="rejected"
        )
        assert third.approved_amount == D("0.00")
        # The approved 4,000 counts against the maximum liability of later claims.
        used = selectors.policy_year_usage(
            policy=book["policy"], version=book["policy"].versions.get(), exclude_claim_id=None
        )
        assert used[1] == D("4000.00")


@pytest.mark.django_db
def test_recoveries_split_pro_rata_and_write_offs_are_bounded(tenant_a, owner, book):
    with active(tenant_a):
        claim = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        with pytest.raises(TransitionNotAllowed):
            services.recovery_record(
                tenant=tenant_a,
                actor=owner,
                claim=claim,
                received_on=TODAY,
                amount=D("1"),
                source="buyer",
            )
        with pytest.raises(TransitionNotAllowed):
            services.write_off_record(
                tenant=tenant_a, actor=owner, claim=claim, amount=D("1"), written_off_on=TODAY
            )
        for step in (services.claim_submit, services.claim_start_review):
            claim = step(tenant=tenant_a, actor=owner, claim=claim)
        claim = services.claim_decide(
            tenant=tenant_a, actor=owner, claim=claim, decision="approved"
        )
        claim = services.claim_mark_paid(
            tenant=tenant_a, actor=owner, claim=claim, paid_amount=D("5400"), paid_on=TODAY
        )
        # Loss 6,000, indemnity 5,400: the insurer takes 90 % of recoveries within the loss.
        first = services.recovery_record(
            tenant=tenant_a,
            actor=owner,
            claim=claim,
            received_on=TODAY,
            amount=D("1000"),
            source="estate",
        )
        assert (first.insurer_share, first.insured_share) == (D("900.00"), D("100.00"))
        # 5,500 more: 5,000 within the loss (4,500 to the insurer), 500 beyond it to the insured.
        second = services.recovery_record(
            tenant=tenant_a,
            actor=owner,
            claim=claim,
            received_on=TODAY,
            amount=D("5500"),
            source="buyer",
        )
        assert (second.insurer_share, second.insured_share) == (D("4500.00"), D("1000.00"))
        assert sum(r.insurer_share for r in Recovery.objects.filter(claim=claim)) == D("5400.00")
        with pytest.raises(ValidationError) as error:
            services.write_off_record(
                tenant=tenant_a, actor=owner, claim=claim, amount=D("1"), written_off_on=TODAY
            )
        assert "amount" in error.value.message_dict


@pytest.mark.django_db
def test_write_off_of_a_rejected_claim_and_kpis(tenant_a, owner, book):
    with active(tenant_a):
        claim = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        for step in (services.claim_submit, services.claim_start_review):
            claim = step(tenant=tenant_a, actor=owner, claim=claim)
        claim = services.claim_decide(
            tenant=tenant_a, actor=owner, claim=claim, decision="rejected"
        )
        services.write_off_record(
            tenant=tenant_a, actor=owner, claim=claim, amount=D("6000"), written_off_on=TODAY
        )
        paid = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        for step in (services.claim_submit, services.claim_start_review):
            paid = step(tenant=tenant_a, actor=owner, claim=paid)
        paid = services.claim_decide(tenant=tenant_a, actor=owner, claim=paid, decision="approved")
        paid = services.claim_mark_paid(
            tenant=tenant_a, actor=owner, claim=paid, paid_amount=D("5400"), paid_on=TODAY
        )
        services.recovery_record(
            tenant=tenant_a,
            actor=owner,
            claim=paid,
            received_on=TODAY,
            amount=D("300"),
            source="buyer",
        )
        kpis = selectors.claims_kpis(tenant=tenant_a, as_of=TODAY)
        assert kpis.open_count == 0
        assert kpis.paid_indemnity == D("5400.00")
        assert kpis.recoveries == D("300.00")
        assert kpis.loss_recovery_rate == D("0.9500")  # (5,400 + 300) / 6,000
        # Credit sales of the last 12 months: 6,000 + 2,000.
        assert kpis.bad_debt_ratio == D("0.7500")
        assert kpis.handling_days_median is not None and kpis.handling_days_median >= 0
        assert kpis.currency == "EUR"


@pytest.mark.django_db
def test_claim_from_a_sent_notification(tenant_a, owner, book):
    with active(tenant_a):
        notification = OverdueNotification.objects.create(
            tenant=tenant_a,
            policy=book["policy"],
            buyer=book["buyer"],
            status="proposed",
            deadline=TODAY,
            overdue_amount=D("6000"),
            currency="EUR",
        )
        OverdueNotificationItem.objects.create(
            tenant=tenant_a,
            notification=notification,
            invoice=book["covered"],
            due_date=book["covered"].due_date,
            outstanding=D("6000"),
            currency="EUR",
            notify_by=TODAY,
        )
        with pytest.raises(ValidationError):
            services.claim_from_notification(
                tenant=tenant_a,
                actor=owner,
                notification=notification,
                cause="insolvency",
                loss_date=TODAY,
            )
        notification.status = "sent"
        notification.sent_on = TODAY - timedelta(days=5)
        notification.save()
        claim = services.claim_from_notification(
            tenant=tenant_a,
            actor=owner,
            notification=notification,
            cause="protracted_default",
            loss_date=TODAY,
        )
        line = claim.invoices.get()
        notified = next(c for c in line.checks if c["check"] == "notified_in_time")
        assert notified["passed"] and notified["reason"] == "notified"
        waiting = next(c for c in line.checks if c["check"] == "waiting_period")
        assert not waiting["passed"]  # due 70 days ago, waiting period 180 days
        assert claim.indemnity_amount == D("0.00")
        assert Claim.objects.count() == 1


@pytest.mark.django_db
def test_claims_record_the_buyers_default_for_back_tests(tenant_a, owner, book):
    from monitoring.models import LegalEvent
    from monitoring.selectors import default_dates

    with active(tenant_a):
        loss = TODAY - timedelta(days=10)
        claim = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        assert not LegalEvent.objects.exists()  # a draft records nothing
        services.claim_submit(tenant=tenant_a, actor=owner, claim=claim)
        event = LegalEvent.objects.get()
        assert (event.kind, event.event_date) == ("insolvency_filing", loss)
        assert default_dates()[book["buyer"].pk] == loss
        # A second insolvency claim on the same buyer does not record it again.
        again = _claim(tenant_a, owner, book, invoice_ids=[book["covered"].pk])
        services.claim_submit(tenant=tenant_a, actor=owner, claim=again)
        assert LegalEvent.objects.count() == 1

        other = BuyerFactory(tenant=tenant_a)
        InsurerCoverFactory(
            buyer=other, tenant=tenant_a, policy=book["policy"], amount=D("10000"),
            decision_date=TODAY - timedelta(days=400),
        )  # fmt: skip
        issued = TODAY - timedelta(days=300)
        invoice = InvoiceFactory(
            buyer=other, tenant=tenant_a, amount=D("1000"), issue_date=issued,
            due_date=issued + timedelta(days=30),
        )  # fmt: skip
        notification = OverdueNotification.objects.create(
            tenant=tenant_a, policy=book["policy"], buyer=other, status="sent",
            deadline=TODAY, overdue_amount=D("1000"), currency="EUR",
            sent_on=issued + timedelta(days=40),
        )  # fmt: skip
        OverdueNotificationItem.objects.create(
            tenant=tenant_a, notification=notification, invoice=invoice,
            due_date=invoice.due_date, outstanding=D("1000"), currency="EUR",
            notify_by=invoice.due_date + timedelta(days=90),
        )  # fmt: skip
        pd = services.claim_create(
            tenant=tenant_a, actor=owner, policy=book["policy"], buyer=other,
            cause="protracted_default", loss_date=TODAY, invoice_ids=[invoice.pk],
        )  # fmt: skip
        assert pd.indemnity_amount == D("900.00")
        for step in (services.claim_submit, services.claim_start_review):
            pd = step(tenant=tenant_a, actor=owner, claim=pd)
        assert not LegalEvent.objects.filter(buyer=other).exists()
        pd = services.claim_decide(tenant=tenant_a, actor=owner, claim=pd, decision="approved")
        services.claim_mark_paid(
            tenant=tenant_a, actor=owner, claim=pd, paid_amount=D("900"), paid_on=TODAY
        )
        event = LegalEvent.objects.get(buyer=other)
        assert (event.kind, event.event_date) == ("payment_default", TODAY)
        # Back-tests count the paid protracted-default claim as the buyer's default.
        assert default_dates()[other.pk] == TODAY


@pytest.mark.django_db
def test_only_counted_claims_are_defaults_for_back_tests(tenant_a, owner, book):
    with active(tenant_a):
        claim = _claim(tenant_a, owner, book, cause="protracted_default")
        assert book["buyer"].pk not in default_dates()  # a draft is no default
        services.claim_withdraw(tenant=tenant_a, actor=owner, claim=claim)
        assert book["buyer"].pk not in default_dates()
        insolvency = _claim(tenant_a, owner, book, loss_date=TODAY - timedelta(days=20))
        assert book["buyer"].pk not in default_dates()
        services.claim_submit(tenant=tenant_a, actor=owner, claim=insolvency)
        assert default_dates()[book["buyer"].pk] == TODAY - timedelta(days=20)


@pytest.mark.django_db
def test_the_checks_take_the_same_queries_for_more_invoices(tenant_a, owner, book):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with active(tenant_a):
        issued = TODAY - timedelta(days=100)
        many = [
            InvoiceFactory(
                buyer=book["buyer"], tenant=tenant_a, amount=D("100"), issue_date=issued,
                due_date=issued + timedelta(days=30),
            ).pk
            for _ in range(12)
        ]  # fmt: skip
        with CaptureQueriesContext(connection) as one:
            _claim(tenant_a, owner, book, invoice_ids=many[:1])
        with CaptureQueriesContext(connection) as twelve:
            _claim(tenant_a, owner, book, invoice_ids=many)
        assert len(twelve.captured_queries) == len(one.captured_queries)
