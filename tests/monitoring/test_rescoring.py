"""Re-scoring: the set-based risk inputs against hand-computed values, runs (monthly, rescore
now, events), tenant isolation, and a real Celery worker killed mid-run."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connection, connections

from buyers import receivables
from buyers.models import Buyer, Dispute, Instalment, Invoice, PaymentPlan
from creditguard.audit.models import AuditEvent
from creditguard.locks import job_lock
from creditguard.reference.models import FxRate
from creditguard.tenancy.context import tenant_context
from monitoring import rescoring, scoring
from monitoring.events import buyer_risk_changed
from monitoring.models import Alert, BuyerScore, LegalEvent, RescoreRun
from monitoring.rescoring import (
    buyer_risk_frame,
    buyers_rescore,
    buyers_with_new_overdues,
    monthly_run_start,
    period_of,
    rescore_now,
    rescore_progress,
    rescore_run_execute,
)
from tests.conftest import active
from tests.factories import BuyerFactory, FinancialStatementFactory, InvoiceFactory, TenantFactory

AS_OF = date(2026, 11, 15)
PERIOD = date(2026, 11, 1)


def invoice(buyer, *, amount, due, paid=Decimal(0), paid_date=None, status="open", currency="EUR"):
    return InvoiceFactory(
        buyer=buyer,
        tenant=buyer.tenant,
        amount=Decimal(amount),
        paid_amount=Decimal(paid),
        issue_date=due - timedelta(days=30),
        due_date=due,
        paid_date=paid_date,
        status=status,
        currency=currency,
    )


@pytest.fixture
def two_buyers(tenant_a):
    """Buyer "known" with hand-made receivables, buyer "blank" with nothing on file."""
    FxRate.objects.create(currency="USD", rate_date=date(2026, 11, 1), units_per_eur=Decimal("1.1"))
    with active(tenant_a):
        known = BuyerFactory(tenant=tenant_a, country_id="DE", nace_code="46.69", nace_section="G")
        blank = BuyerFactory(tenant=tenant_a, country_id="TR", nace_code="41.20", nace_section="F")
        # Paid 10 days late in the last 365 days: weight 1000, 10 days.
        invoice(
            known,
            amount=1000,
            due=date(2026, 9, 1),
            paid=1000,
            paid_date=date(2026, 9, 11),
            status="paid",
        )
        # Paid long ago, written off: not in DBT, not in exposure.
        invoice(
            known,
            amount=900,
            due=date(2025, 5, 1),
            paid=900,
            paid_date=date(2025, 6, 1),
            status="paid",
        )
        invoice(known, amount=700, due=date(2026, 6, 1), status="written_off")
        # Open: 1,500 outstanding 30 days past due; 500 106 days past due; 1,000 not yet due;
        # 1,100 USD = 1,000 EUR 5 days past due.
        invoice(known, amount=2000, paid=500, due=date(2026, 10, 16), status="partially_paid")
        invoice(known, amount=500, due=date(2026, 8, 1))
        invoice(known, amount=1000, due=date(2026, 12, 1))
        invoice(known, amount=1100, due=date(2026, 11, 10), currency="USD")
        FinancialStatementFactory(buyer=known, tenant=tenant_a, period_end=date(2025, 12, 31))
        FinancialStatementFactory(
            buyer=known, tenant=tenant_a, period_end=date(2024, 12, 31), ebit=Decimal(-5)
        )
        FinancialStatementFactory(
            buyer=known, tenant=tenant_a, period_end=date(2026, 12, 31), ebit=Decimal(-5)
        )
        # The status comes from the instalments at as_of, not from the stored column (which
        # says the opposite here): P-1 missed one, P-2 long ago, P-3 is on schedule.
        for reference, agreed, stored, due in (
            ("P-1", date(2026, 3, 1), "kept", date(2026, 4, 1)),
            ("P-2", date(2024, 1, 1), "kept", date(2024, 2, 1)),  # no instalment in 12 months
            ("P-3", date(2026, 5, 1), "broken", date(2026, 12, 1)),
        ):
            plan = PaymentPlan.objects.create(
                tenant=tenant_a, buyer=known, erp_reference=reference, agreed_date=agreed,
                total_amount=Decimal(100), currency="EUR", status=stored,
            )  # fmt: skip
            Instalment.objects.create(tenant=tenant_a, plan=plan, due_date=due, amount=Decimal(100))
        for reference, opened, status in (
            ("D-1", date(2026, 10, 1), "open"),
            ("D-2", date(2026, 6, 1), "resolved"),
        ):
            Dispute.objects.create(
                tenant=tenant_a, buyer=known, erp_reference=reference, reason="quality",
                amount=Decimal(400), currency="EUR", opened_date=opened, status=status,
                resolved_date=None if status == "open" else opened + timedelta(days=5),
            )  # fmt: skip
        LegalEvent.objects.create(
            tenant=tenant_a, buyer=known, kind="court_judgment", event_date=date(2026, 1, 10)
        )
        LegalEvent.objects.create(
            tenant=tenant_a, buyer=known, kind="other", event_date=date(2023, 1, 1)
        )
        # Recorded before AS_OF: the write-off and the undated partial payment were known then
        # (as-of scoring dates them by the invoice's last change, buyers.ledger).
        Invoice.objects.filter(buyer=known).update(updated_at=datetime(2026, 11, 1, tzinfo=UTC))
    return known, blank


def test_risk_inputs_match_hand_computed_values(tenant_a, two_buyers):
    known, blank = two_buyers
    with active(tenant_a):
        frame = buyer_risk_frame(tenant_id=tenant_a.pk, buyer_ids=[known.pk, blank.pk], as_of=AS_OF)
        open_items = [
            receivables.OpenItem(due_date=i.due_date, outstanding=i.outstanding / (Decimal("1.1") if i.currency == "USD" else 1))
            for i in Invoice.objects.filter(buyer=known, status__in=["open", "partially_paid"])
        ]  # fmt: skip
        settled = [
            receivables.SettledItem(issue_date=i.issue_date, due_date=i.due_date, paid_date=i.paid_date, amount=i.amount)
            for i in Invoice.objects.filter(buyer=known, status="paid", paid_date__gte=AS_OF - timedelta(days=365))
        ]  # fmt: skip
    row = frame.loc[known.pk]
    # (1000×10 + 1500×30 + 500×106 + 1000×0 + 1000×5) / (1000 + 1500 + 500 + 1000 + 1000) = 22.6
    assert row["days_beyond_terms"] == 22.6
    assert Decimal("22.6") == receivables.days_beyond_terms(
        settled=settled, open_items=open_items, as_of=AS_OF
    )
    assert row["overdue_share"] == pytest.approx(3000 / 4000)  # exposure 4,000 EUR
    assert row["over_90_share"] == pytest.approx(500 / 4000)
    assert row["broken_plans_12m"] == 1
    assert row["disputed_share"] == pytest.approx(400 / 4000)
    assert row["disputes_opened_90d"] == 1
    assert row["legal_events"] == [("court_judgment", date(2026, 1, 10))]
    assert row["statement_age_months"] == 10  # 2025-12-31 → 2026-11-15
    assert row["ebit"] == 800000.0  # the latest statement on or before as_of
    assert (row["country"], row["country_rating"], row["sector"], row["sector_rating"]) == (
        "DE",
        1,
        "G",
        5,
    )
    assert row["buyer_status"] == "active"

    empty = frame.loc[blank.pk]
    assert (empty["country_rating"], empty["sector_rating"]) == (6, 7)
    assert empty[["days_beyond_terms", "overdue_share", "total_assets"]].isna().all()
    # No payment history: the counts are unknown (missing is neutral), not 0.
    assert empty[["broken_plans_12m", "disputes_opened_90d"]].isna().all()
    assert empty["legal_events"] is None


def test_a_monthly_run_scores_every_buyer_once_and_a_rerun_changes_nothing(tenant_a, two_buyers):
    known, blank = two_buyers
    with active(tenant_a):
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    assert rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        run.refresh_from_db()
        assert (run.status, run.total_buyers, run.scored_buyers) == ("succeeded", 2, 2)
        scores = {score.buyer_id: score for score in BuyerScore.objects.filter(period=PERIOD)}
        assert set(scores) == {known.pk, blank.pk}
        assert scores[known.pk].model_version == "cg-2026.2"
        assert scores[known.pk].trigger == "monthly"
        assert [f["factor"] for f in scores[known.pk].factors][:2] == [
            "financial_strength",
            "payment_behaviour",
        ]
        BuyerScore.objects.filter(buyer=known).update(grade=3)  # a score already there stays
        second = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=second.pk, as_of=AS_OF)
    with active(tenant_a):
        second.refresh_from_db()
        assert (second.status, second.scored_buyers) == ("succeeded", 2)
        assert BuyerScore.objects.filter(period=PERIOD).count() == 2
        assert BuyerScore.objects.get(buyer=known).grade == 3


def test_a_finished_run_is_not_run_again(tenant_a, two_buyers):
    with active(tenant_a):
        run = RescoreRun.objects.create(
            tenant=tenant_a, period=PERIOD, trigger="monthly", status="succeeded"
        )
    assert rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        assert not BuyerScore.objects.exists()


def test_a_run_of_one_tenant_never_scores_another_tenants_buyers(tenant_a, tenant_b):
    with active(tenant_b):
        theirs = [BuyerFactory(tenant=tenant_b).pk for _ in range(3)]
    with active(tenant_a):
        ours = [BuyerFactory(tenant=tenant_a).pk for _ in range(2)]
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        assert sorted(BuyerScore.objects.values_list("buyer_id", flat=True)) == sorted(ours)
        assert RescoreRun.objects.get(pk=run.pk).total_buyers == 2
        # Even asked explicitly for B's buyers under B's id, the database shows A nothing.
        assert buyer_risk_frame(tenant_id=tenant_b.pk, buyer_ids=theirs, as_of=AS_OF).empty
        assert buyers_rescore(tenant=tenant_a, buyer_ids=theirs, reason="test", as_of=AS_OF) == 0
    with active(tenant_b):
        assert not BuyerScore.objects.exists()


def test_rescore_now_replaces_the_periods_scores_and_is_audited(
    tenant_a, owner, two_buyers, django_capture_on_commit_callbacks, sent_tasks
):
    known, _blank = two_buyers
    today_period = period_of(rescoring.today())
    with active(tenant_a):
        BuyerScore.objects.create(
            tenant=tenant_a, buyer=known, period=today_period, model_version="old", score=Decimal(99),
            grade=1, probability_of_default=Decimal("0.0005"), trigger="monthly",
        )  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            run = rescore_now(tenant=tenant_a, actor=owner)
            assert rescore_now(tenant=tenant_a, actor=owner) == run  # one at a time
        assert (run.trigger, run.period, run.requested_by) == ("manual", today_period, owner)
        assert (
            AuditEvent.objects.filter(action="monitoring.rescore_now", actor_user=owner).count()
            == 1
        )
    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.rescore_run", (run.pk,), {"tenant_id": tenant_a.pk})
    ]
    assert rescore_progress(run) | {"status_label": None} == {
        "status": "queued", "status_label": None, "scored": 0, "total": 0, "percent": 0,
        "alerts_raised": 0, "upgraded": 0, "downgraded": 0, "model_version": "", "done": False,
        "error": "",
    }  # fmt: skip

    with active(tenant_a):
        BuyerScore.objects.filter(buyer=known).update(
            computed_at=run.created_at - timedelta(minutes=1)
        )
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk)
    with active(tenant_a):
        run.refresh_from_db()
        replaced = BuyerScore.objects.get(buyer=known, period=today_period)
        assert (replaced.trigger, replaced.model_version) == ("manual", "cg-2026.2")
        assert BuyerScore.objects.filter(period=today_period).count() == 2
    progress = rescore_progress(run)
    assert (progress["status"], progress["scored"], progress["total"], progress["percent"], progress["done"]) == (
        "succeeded", 2, 2, 100, True,
    )  # fmt: skip


def test_rescore_now_resumes_a_running_run_whose_worker_died(
    tenant_a, owner, django_capture_on_commit_callbacks, sent_tasks
):
    with active(tenant_a):
        orphan = RescoreRun.objects.create(
            tenant=tenant_a, period=PERIOD, trigger="manual", status="running"
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert rescore_now(tenant=tenant_a, actor=owner) == orphan
        assert [task.args for task in sent_tasks] == [(orphan.pk,)]
        with (
            job_lock(rescoring._RUN_LOCK_NAMESPACE, orphan.pk) as locked,
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert locked
            assert rescore_now(tenant=tenant_a, actor=owner) == orphan  # held: left alone
        assert [task.args for task in sent_tasks] == [(orphan.pk,)]


def test_progress_of_a_running_run_stays_below_100_percent(tenant_a):
    with active(tenant_a):
        run = RescoreRun.objects.create(
            tenant=tenant_a,
            period=PERIOD,
            trigger="monthly",
            status="running",
            total_buyers=3,
            scored_buyers=3,
        )
    assert rescore_progress(run)["percent"] == 99


def test_buyer_risk_changed_enqueues_deduplicated_batches_after_commit(
    tenant_a, django_capture_on_commit_callbacks, monkeypatch, sent_tasks
):
    monkeypatch.setattr("monitoring.events.EVENT_BATCH_SIZE", 2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        buyer_risk_changed(tenant_id=tenant_a.pk, buyer_ids=[5, 3, 5, 9], reason="statement")
        assert sent_tasks == []  # nothing before commit
    assert len(callbacks) == 2
    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.rescore_buyers", ([3, 5],), {"tenant_id": tenant_a.pk, "reason": "statement"}),
        ("monitoring.rescore_buyers", ([9],), {"tenant_id": tenant_a.pk, "reason": "statement"}),
    ]


def test_the_buyers_signal_asks_monitoring_for_a_rescore_after_commit(
    tenant_a, django_capture_on_commit_callbacks, sent_tasks
):
    from buyers.models import Buyer
    from buyers.signals import buyer_risk_changed as buyer_risk_changed_signal

    with django_capture_on_commit_callbacks(execute=True):
        buyer_risk_changed_signal.send(
            sender=Buyer, tenant_id=tenant_a.pk, buyer_ids=[4, 2], reason="status"
        )
        assert sent_tasks == []

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.rescore_buyers", ([2, 4],), {"tenant_id": tenant_a.pk, "reason": "status"})
    ]


def test_an_event_rescore_replaces_the_current_periods_score(tenant_a, two_buyers):
    known, _blank = two_buyers
    with active(tenant_a):
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        before = BuyerScore.objects.get(buyer=known, period=PERIOD)
        LegalEvent.objects.create(
            tenant=tenant_a, buyer=known, kind="insolvency_proceedings", event_date=AS_OF
        )
        assert (
            buyers_rescore(
                tenant=tenant_a, buyer_ids=[known.pk, known.pk], reason="legal_event", as_of=AS_OF
            )
            == 1
        )
        after = BuyerScore.objects.get(buyer=known, period=PERIOD)
        assert before.grade < 10
        assert (after.grade, after.trigger, after.probability_of_default) == (
            10,
            "event",
            Decimal("1.00000"),
        )
        assert BuyerScore.objects.filter(period=PERIOD).count() == 2


def test_buyers_whose_invoices_crossed_an_overdue_threshold_since_yesterday(tenant_a):
    with active(tenant_a):
        crossing = {days: BuyerFactory(tenant=tenant_a) for days in (1, 31, 61, 91, 181)}
        for days, buyer in crossing.items():
            invoice(buyer, amount=100, due=AS_OF - timedelta(days=days))
        yesterday = BuyerFactory(tenant=tenant_a)  # crossed 31 days a day earlier
        invoice(yesterday, amount=100, due=AS_OF - timedelta(days=32))
        paid = BuyerFactory(tenant=tenant_a)
        invoice(paid, amount=100, paid=100, due=AS_OF - timedelta(days=31), status="paid")
        found = buyers_with_new_overdues(
            tenant=tenant_a, since=AS_OF - timedelta(days=1), as_of=AS_OF
        )
        assert found == sorted(buyer.pk for buyer in crossing.values())
        two_days = buyers_with_new_overdues(
            tenant=tenant_a, since=AS_OF - timedelta(days=2), as_of=AS_OF
        )
        assert yesterday.pk in two_days


def test_the_daily_detection_asks_for_a_rescore_of_the_tenants_new_overdues(
    tenant_a, tenant_b, monkeypatch
):
    asked = []
    monkeypatch.setattr(
        "monitoring.events.buyer_risk_changed", lambda **kwargs: asked.append(kwargs)
    )
    today = rescoring.today()
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        invoice(buyer, amount=100, due=today - timedelta(days=61))
        assert rescoring.new_overdues_rescore(tenant=tenant_a, as_of=today) == 1
    with active(tenant_b):
        assert rescoring.new_overdues_rescore(tenant=tenant_b, as_of=today) == 0
    assert asked == [
        {"tenant_id": tenant_a.pk, "buyer_ids": [buyer.pk], "reason": "overdue_threshold"}
    ]


@pytest.mark.parametrize(
    ("beat_task", "tenant_task"),
    [
        ("rescore_all_tenants", "monitoring.monthly_run_start"),
        ("detect_new_overdues", "monitoring.rescore_new_overdues"),
    ],
)
def test_the_periodic_rescoring_jobs_run_once_per_active_tenant(
    tenant_a, tenant_b, sent_tasks, beat_task, tenant_task
):
    from monitoring import tasks

    TenantFactory(slug="dormant", is_active=False)

    getattr(tasks, beat_task)()

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        (tenant_task, (rescoring.today().isoformat(),), {"tenant_id": tenant.pk})
        for tenant in (tenant_a, tenant_b)
    ]


def test_a_tenants_monthly_run_starts_once_and_resumes_until_it_succeeds(
    tenant_a, sent_tasks, django_capture_on_commit_callbacks
):
    with active(tenant_a), django_capture_on_commit_callbacks(execute=True):
        first = monthly_run_start(tenant=tenant_a, period=date(2026, 12, 3))
    with active(tenant_a), django_capture_on_commit_callbacks(execute=True):
        again = monthly_run_start(tenant=tenant_a, period=date(2026, 12, 1))
    assert first == again  # the same run, enqueued again to resume
    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.rescore_run", (first,), {"tenant_id": tenant_a.pk})
    ] * 2
    with active(tenant_a):
        run = RescoreRun.objects.get()
        assert (run.period, run.trigger, run.status) == (date(2026, 12, 1), "monthly", "queued")
        RescoreRun.objects.update(status="succeeded")
        assert monthly_run_start(tenant=tenant_a, period=date(2026, 12, 1)) is None


def test_the_monthly_job_is_scheduled_on_the_first_at_two():
    from creditguard.settings import base

    entry = next(
        e
        for e in base.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "monitoring.rescore_all_tenants"
    )
    assert entry["schedule"] == crontab(day_of_month=1, hour=2, minute=0)
    assert any(
        e["task"] == "monitoring.detect_new_overdues" for e in base.CELERY_BEAT_SCHEDULE.values()
    )


# --- A real worker, killed mid-run ----------------------------------------------------------------

KILL_TEST_BUYERS = 3000
KILL_TEST_CHUNK = 250


def start_worker(queue: str) -> subprocess.Popen:
    """A Celery worker in its own process group (so the whole group can be SIGKILLed)."""
    from creditguard.celery import app

    hostname = f"rescore-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditguard.settings.test",
        "CREDITGUARD_TEST_DATABASE_NAME": connections["default"].settings_dict["NAME"],
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creditguard", "worker", "--pool", "prefork",
         "--concurrency", "1", "--queues", queue, "--hostname", hostname, "--loglevel", "WARNING",
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        env=env, cwd=settings.BASE_DIR, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[hostname], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the test Celery worker did not start")
    return process


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


def wait_for(condition, *, timeout: float, step: float = 0.02, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"timed out waiting for {what}")


def run_state(tenant, run_id):
    """(status, scored_buyers, scores stored, alerts stored), read in one statement (one snapshot)."""
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.status, r.scored_buyers, r.alerts_raised, "
            "(SELECT COUNT(*) FROM monitoring_buyerscore s WHERE s.period = r.period), "
            "(SELECT COUNT(*) FROM monitoring_alert) "
            "FROM monitoring_rescorerun r WHERE r.id = %s",
            [run_id],
        )
        return cursor.fetchone()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_resumes_without_duplicate_scores_or_alerts():
    from monitoring.tasks import rescore_run

    tenant = TenantFactory(slug="kill-test")
    period = period_of(rescoring.today())
    previous = period_of(period - timedelta(days=1))
    with tenant_context(tenant):
        buyers = Buyer.objects.bulk_create(
            Buyer(tenant=tenant, erp_reference=f"K-{n:05d}", legal_name=f"Buyer {n}", country_id="DE",
                  nace_code="46.69", nace_section="G", currency="EUR")
            for n in range(KILL_TEST_BUYERS)
        )  # fmt: skip
        # Last month every buyer was grade 1 (by the same model): this month's grades are
        # downgrades, so each chunk raises alerts too.
        BuyerScore.objects.bulk_create(
            BuyerScore(tenant=tenant, buyer=buyer, period=previous, model_version=scoring.MODEL_VERSION, score=Decimal(95),
                       grade=1, probability_of_default=Decimal("0.0005"))
            for buyer in buyers
        )  # fmt: skip
        Invoice.objects.bulk_create(
            Invoice(tenant=tenant, buyer=buyer, erp_reference=f"KI-{buyer.pk}", issue_date=period - timedelta(days=60),
                    due_date=period - timedelta(days=30), amount=Decimal(1000), currency="EUR")
            for buyer in buyers
        )  # fmt: skip
        run = RescoreRun.objects.create(tenant=tenant, period=period, trigger="monthly")

    queue = f"rescore-kill-{uuid.uuid4().hex[:8]}"
    arguments = {
        "args": [run.pk],
        "kwargs": {"tenant_id": tenant.pk, "chunk_size": KILL_TEST_CHUNK},
        "queue": queue,
    }
    worker = start_worker(queue)
    try:
        rescore_run.apply_async(**arguments)
        wait_for(
            lambda: 0 < run_state(tenant, run.pk)[1] < KILL_TEST_BUYERS,
            timeout=60,
            what="a partial run",
        )
        kill(worker)
    finally:
        kill(worker)

    status, scored, alerts_raised, scores, alerts = run_state(tenant, run.pk)
    assert status == "running"
    assert 0 < scored < KILL_TEST_BUYERS
    # Scores, alerts and progress of a chunk commit together: the chunk in flight left nothing.
    assert (scores, alerts) == (scored, alerts_raised)

    # The dead worker's session, and with it the run's advisory lock, goes away; the run is
    # enqueued again (as `monthly_run_start` does for an unfinished run) and resumes.
    def lock_released():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s",
                [rescoring._RUN_LOCK_NAMESPACE, run.pk],
            )
            return cursor.fetchone()[0] == 0

    wait_for(lock_released, timeout=30, step=0.1, what="the dead worker's lock")
    worker = start_worker(queue)
    try:
        rescore_run.apply_async(**arguments)
        wait_for(
            lambda: run_state(tenant, run.pk)[0] == "succeeded",
            timeout=60,
            step=0.1,
            what="the run",
        )
    finally:
        kill(worker)

    status, scored, alerts_raised, scores, alerts = run_state(tenant, run.pk)
    assert (status, scored, scores) == ("succeeded", KILL_TEST_BUYERS, KILL_TEST_BUYERS)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT buyer_id) FROM monitoring_buyerscore WHERE period = %s",
            [period],
        )
        assert cursor.fetchone() == (KILL_TEST_BUYERS, KILL_TEST_BUYERS)
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM monitoring_alert GROUP BY buyer_id, rule, condition_key "
            "HAVING COUNT(*) > 1) duplicates"
        )
        assert cursor.fetchone()[0] == 0
        assert Alert.objects.filter(rule="grade_downgrade").count() == KILL_TEST_BUYERS
    assert alerts == alerts_raised
