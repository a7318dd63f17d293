"""Back-filling the score history: month by month as of each month's first day, existing scores
kept, no alerts, resumable, one at a time, and never another tenant's buyers."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from buyers.models import FinancialStatement
from creditguard.audit.models import AuditEvent
from creditguard.locks import job_lock_held
from monitoring import backfill, rescoring
from monitoring.backfill import (
    backfill_execute,
    backfill_progress,
    backfill_start,
    backfill_window,
    buyers_first_known,
    periods_between,
)
from monitoring.models import Alert, BackfillRun, BuyerScore, LegalEvent
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    BuyerScoreFactory,
    FinancialStatementFactory,
    InvoiceFactory,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)
FIRST, LAST = date(2025, 1, 1), date(2025, 6, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(backfill, "today", lambda: TODAY)


def invoice(buyer, *, issued, paid_on=None):
    due = issued + timedelta(days=30)
    return InvoiceFactory(
        buyer=buyer,
        tenant=buyer.tenant,
        issue_date=issued,
        due_date=due,
        amount=Decimal(1000),
        paid_amount=Decimal(1000) if paid_on else Decimal(0),
        paid_date=paid_on,
        status="paid" if paid_on else "open",
    )


@pytest.fixture
def history(tenant_a):
    """Buyer "early" known since December 2024 (an invoice, paid late; a statement published in
    April 2024); "late" known from its first invoice in March 2025; "unknown" has nothing."""
    with active(tenant_a):
        early = BuyerFactory(tenant=tenant_a, legal_name="Early GmbH")
        late = BuyerFactory(tenant=tenant_a, legal_name="Late GmbH")
        unknown = BuyerFactory(tenant=tenant_a, legal_name="Unknown GmbH")
        invoice(early, issued=date(2024, 12, 10), paid_on=date(2025, 3, 1))
        invoice(early, issued=date(2025, 4, 20))
        FinancialStatementFactory(
            buyer=early,
            tenant=tenant_a,
            period_end=date(2023, 12, 31),
            published_on=date(2024, 4, 30),
        )
        invoice(late, issued=date(2025, 3, 15))
    return early, late, unknown


def start(tenant, *, first=FIRST, last=LAST, actor=None):
    with active(tenant):
        return backfill_start(tenant=tenant, actor=actor, first_period=first, last_period=last)


def backfill_scores(tenant):
    with active(tenant):
        return {
            (score.buyer_id, score.period): score
            for score in BuyerScore.objects.filter(trigger=BuyerScore.Trigger.BACKFILL)
        }


def expected_score(tenant, buyer, period):
    """The score of ``buyer`` as of ``period`` computed directly: the back-fill must match."""
    with active(tenant):
        frame = rescoring.buyer_risk_frame(tenant_id=tenant.pk, buyer_ids=[buyer.pk], as_of=period)
        version, scored = backfill._score(frame)
    return version, scored.loc[buyer.pk, "score"], scored.loc[buyer.pk, "grade"]


# --- The window ----------------------------------------------------------------------------------


def test_the_window_runs_from_the_first_month_that_knows_data_to_last_month(tenant_a, history):
    with active(tenant_a):
        window = backfill_window(tenant=tenant_a)

    # The statement was published on 30 April 2024, before the first invoice: May 2024 is the
    # first month whose first day knows something.
    assert (window.first_period, window.last_period) == (date(2024, 5, 1), date(2026, 11, 1))
    assert window.periods == 31


def test_data_on_the_first_of_a_month_is_known_in_that_month(tenant_a):
    with active(tenant_a):
        invoice(BuyerFactory(tenant=tenant_a), issued=date(2025, 5, 1))
        assert backfill_window(tenant=tenant_a).first_period == date(2025, 5, 1)


def test_the_window_goes_back_at_most_ten_years(tenant_a):
    with active(tenant_a):
        invoice(BuyerFactory(tenant=tenant_a), issued=date(2001, 3, 3))
        window = backfill_window(tenant=tenant_a)

    assert (window.first_period, window.periods) == (date(2016, 12, 1), 120)


def test_a_statement_known_earlier_than_any_invoice_starts_the_window(tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        invoice(buyer, issued=date(2025, 5, 1))
        FinancialStatementFactory(
            buyer=buyer,
            tenant=tenant_a,
            period_end=date(2022, 12, 31),
            published_on=date(2023, 3, 1),
        )
        assert backfill_window(tenant=tenant_a).first_period == date(2023, 3, 1)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        pytest.param(None, date(2026, 12, 1), "last_period", id="the-current-month"),
        pytest.param(date(2025, 6, 1), date(2025, 5, 31), "first_period", id="first-after-last"),
        pytest.param(date(2010, 1, 1), date(2020, 1, 1), "first_period", id="over-ten-years"),
    ],
)
def test_an_impossible_window_is_refused(tenant_a, history, first, last, field):
    with active(tenant_a), pytest.raises(ValidationError) as refused:
        backfill_window(tenant=tenant_a, first_period=first, last_period=last)

    assert field in refused.value.message_dict


def test_a_tenant_without_history_has_nothing_to_back_fill(tenant_a):
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a)
        with pytest.raises(ValidationError, match="no invoices or financial statements"):
            backfill_start(tenant=tenant_a, actor=None)
        assert not BackfillRun.objects.exists()


def test_periods_are_the_first_days_of_the_months_both_ends_included():
    assert periods_between(date(2024, 11, 20), date(2025, 2, 3)) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]


# --- Running -------------------------------------------------------------------------------------


def test_the_history_is_scored_month_by_month_as_of_each_months_first_day(tenant_a, history):
    early, late, _unknown = history
    expected = {
        (buyer.pk, period): expected_score(tenant_a, buyer, period)
        for buyer, periods in ((early, periods_between(FIRST, LAST)), (late, [date(2025, 4, 1)]))
        for period in periods
    }
    run = start(tenant_a)

    assert backfill_execute(run.pk, tenant_id=tenant_a.pk, chunk_size=1)

    scores = backfill_scores(tenant_a)
    # "late" is known from its first invoice (15 March 2025), so from April; "unknown" never.
    assert sorted((buyer_id, period) for buyer_id, period in scores) == sorted(
        [(early.pk, period) for period in periods_between(FIRST, LAST)]
        + [(late.pk, period) for period in periods_between(date(2025, 4, 1), LAST)]
    )
    for (buyer_id, period), score in scores.items():
        assert score.as_of == period
        if (buyer_id, period) in expected:
            version, value, grade = expected[buyer_id, period]
            assert (score.model_version, score.score, score.grade) == (
                version,
                Decimal(str(value)).quantize(Decimal("0.01")),
                grade,
            )
    with active(tenant_a):
        run.refresh_from_db()
        assert not Alert.objects.exists()  # history raises no alerts
    assert (run.status, run.done_periods, run.total_periods) == ("succeeded", 6, 6)
    assert run.scores_written == len(scores) == 9
    assert run.started_at and run.finished_at


def test_a_later_statement_and_event_do_not_change_the_past_scores(tenant_a, history):
    early, _late, _unknown = history
    before = expected_score(tenant_a, early, LAST)
    with active(tenant_a):
        FinancialStatementFactory(
            buyer=early,
            tenant=tenant_a,
            period_end=date(2024, 12, 31),
            published_on=date(2025, 9, 30),  # after June 2025
            ebit=Decimal(-3_000_000),
            retained_earnings=Decimal(-2_000_000),
        )
        LegalEvent.objects.create(
            tenant=tenant_a, buyer=early, kind="insolvency_filing", event_date=date(2025, 8, 1)
        )
    run = start(tenant_a)

    backfill_execute(run.pk, tenant_id=tenant_a.pk)

    score = backfill_scores(tenant_a)[early.pk, LAST]
    assert (score.score, score.grade) == (
        Decimal(str(before[1])).quantize(Decimal("0.01")),
        before[2],
    )


def test_existing_scores_are_kept(tenant_a, history):
    early, _late, _unknown = history
    with active(tenant_a):
        kept = BuyerScoreFactory(
            buyer=early, period=date(2025, 2, 1), model_version="monthly-1", trigger="monthly"
        )
    run = start(tenant_a)

    backfill_execute(run.pk, tenant_id=tenant_a.pk)

    with active(tenant_a):
        stored = BuyerScore.objects.get(buyer=early, period=date(2025, 2, 1))
        run.refresh_from_db()
    assert (stored.pk, stored.model_version, stored.trigger) == (kept.pk, "monthly-1", "monthly")
    assert (early.pk, date(2025, 2, 1)) not in backfill_scores(tenant_a)
    assert run.scores_written == 8


def test_a_run_that_fails_midway_resumes_where_it_stopped(tenant_a, history, monkeypatch):
    real_chunk = backfill.backfill_chunk
    calls = []

    def dying_chunk(**kwargs):
        calls.append(kwargs["period"])
        if len(calls) == 4:
            raise RuntimeError("worker lost its database")
        return real_chunk(**kwargs)

    monkeypatch.setattr(backfill, "backfill_chunk", dying_chunk)
    run = start(tenant_a)

    with pytest.raises(RuntimeError):
        backfill_execute(run.pk, tenant_id=tenant_a.pk, chunk_size=1)

    with active(tenant_a):
        run.refresh_from_db()
    assert run.status == "failed" and run.error == "RuntimeError: worker lost its database"
    assert 0 < run.done_periods < 6
    # The chunk that failed left nothing; the ones before it are counted.
    assert run.scores_written == len(backfill_scores(tenant_a)) == 3
    assert backfill_progress(run)["done"] is True

    monkeypatch.setattr(backfill, "backfill_chunk", real_chunk)
    assert backfill_execute(run.pk, tenant_id=tenant_a.pk, chunk_size=1)

    with active(tenant_a):
        run.refresh_from_db()
        assert BuyerScore.objects.filter(trigger="backfill").count() == 9
    assert (run.status, run.error, run.done_periods, run.scores_written) == ("succeeded", "", 6, 9)


def test_a_run_out_of_time_goes_on_in_a_new_task(
    tenant_a, history, django_capture_on_commit_callbacks, sent_tasks
):
    run = start(tenant_a)

    with django_capture_on_commit_callbacks(execute=True):
        assert backfill_execute(
            run.pk, tenant_id=tenant_a.pk, chunk_size=1, time_budget=timedelta(0)
        )

    with active(tenant_a):
        run.refresh_from_db()
    assert run.status == "running" and run.scores_written == 1
    assert [(task.name, task.args) for task in sent_tasks][-1] == (
        "monitoring.backfill_run",
        (run.pk,),
    )
    assert backfill_execute(run.pk, tenant_id=tenant_a.pk, time_budget=None)
    with active(tenant_a):
        run.refresh_from_db()
    assert (run.status, run.scores_written) == ("succeeded", 9)


def test_a_finished_run_is_not_run_again(tenant_a, history):
    run = start(tenant_a)
    backfill_execute(run.pk, tenant_id=tenant_a.pk)
    with active(tenant_a):
        BuyerScore.objects.filter(trigger="backfill").delete()

    assert backfill_execute(run.pk, tenant_id=tenant_a.pk)

    assert backfill_scores(tenant_a) == {}


def test_a_run_held_by_another_worker_is_left_alone(tenant_a, history):
    run = start(tenant_a)
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s, %s)", [backfill._LOCK_NAMESPACE, run.pk & 0x7FFFFFFF]
            )
        assert backfill_execute(run.pk, tenant_id=tenant_a.pk) is False
        with active(tenant_a):
            assert job_lock_held(backfill._LOCK_NAMESPACE, run.pk)
    finally:
        other.close()

    assert backfill_scores(tenant_a) == {}


def test_the_task_runs_the_back_fill(tenant_a, history):
    from monitoring.tasks import backfill_run

    run = start(tenant_a)

    backfill_run(run.pk, tenant_id=tenant_a.pk)

    with active(tenant_a):
        run.refresh_from_db()
    assert run.status == "succeeded"


# --- Starting ------------------------------------------------------------------------------------


def test_a_start_is_audited_and_enqueued_after_commit(
    tenant_a, owner, history, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = start(tenant_a, actor=owner)

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.backfill_run", (run.pk,), {"tenant_id": tenant_a.pk})
    ]
    assert (run.status, run.total_periods, run.requested_by) == ("queued", 6, owner)
    with active(tenant_a):
        event = AuditEvent.objects.get(action="monitoring.backfill_start")
    assert (event.actor_user, event.object_id) == (owner, str(run.pk))
    assert event.after == {"first_period": "2025-01-01", "last_period": "2025-06-01", "periods": 6}


def test_one_back_fill_at_a_time(tenant_a, history, django_capture_on_commit_callbacks, sent_tasks):
    first = start(tenant_a)
    second = start(tenant_a, first=date(2024, 1, 1))

    assert second.pk == first.pk
    with active(tenant_a):
        assert BackfillRun.objects.count() == 1
        assert AuditEvent.objects.filter(action="monitoring.backfill_start").count() == 1
        # Its worker died (running, nobody holds the lock): a start resumes it.
        BackfillRun.objects.update(status="running")
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        third = start(tenant_a)
    assert third.pk == first.pk
    assert [task.name for task in sent_tasks] == ["monitoring.backfill_run"]

    with active(tenant_a):
        BackfillRun.objects.update(status="succeeded")
    assert start(tenant_a).pk != first.pk


def test_a_back_fill_never_scores_another_tenants_buyers(tenant_a, tenant_b, history):
    with active(tenant_b):
        theirs = BuyerFactory(tenant=tenant_b)
        invoice(theirs, issued=date(2024, 6, 1))
    run = start(tenant_a)

    backfill_execute(run.pk, tenant_id=tenant_a.pk)

    with active(tenant_a):
        assert theirs.pk not in buyers_first_known(tenant=tenant_a)
    with active(tenant_b):
        assert not BuyerScore.objects.exists()
        assert not BackfillRun.objects.exists()
    assert len(backfill_scores(tenant_a)) == 9


def test_progress_stays_below_100_percent_until_the_run_succeeds(tenant_a, history):
    run = start(tenant_a)
    run.status, run.done_periods = "running", 6

    assert backfill_progress(run)["percent"] == 99
    run.status = "succeeded"
    assert backfill_progress(run) | {"status_label": ""} == {
        "status": "succeeded",
        "status_label": "",
        "done_periods": 6,
        "total_periods": 6,
        "percent": 100,
        "scores_written": 0,
        "done": True,
        "error": "",
    }


def test_a_statement_counts_from_the_day_it_became_known(tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        statement = FinancialStatementFactory(
            buyer=buyer, tenant=tenant_a, period_end=date(2024, 12, 31), published_on=None
        )
        FinancialStatement.objects.filter(pk=statement.pk).update(published_on=date(2025, 3, 10))
        assert buyers_first_known(tenant=tenant_a) == {buyer.pk: date(2025, 3, 10)}


def test_the_tenants_official_model_scores_the_history(tenant_a, history, monkeypatch):
    from monitoring import scoring
    from monitoring.modellab import registry

    monkeypatch.setattr(registry, "official_version", lambda: "lab-7")
    monkeypatch.setattr(
        registry, "score_for_tenant", lambda frame: ("lab-7", scoring.score_frame(frame))
    )
    run = start(tenant_a)

    backfill_execute(run.pk, tenant_id=tenant_a.pk)

    with active(tenant_a):
        run.refresh_from_db()
    assert run.model_version == "lab-7"
    assert {score.model_version for score in backfill_scores(tenant_a).values()} == {"lab-7"}
