"""The back-test page: a window of months, the intervals and PD flags, and the score history
panel (start a back-fill with MANAGE_MONITORING, its progress, the last runs)."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from creditguard.tenancy.context import tenant_context
from monitoring import backfill
from monitoring.models import BackfillRun, BuyerScore
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    BuyerScoreFactory,
    InvoiceFactory,
    LegalEventFactory,
    MembershipFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db

PAGE = reverse("monitoring:backtest")


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(backfill, "today", lambda: date(2026, 12, 7))


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer").user


@pytest.fixture
def history(tenant_a):
    """Back-filled January 2023 and 2024: grade 6 with 6 of 20 defaults each year against a PD
    of 1.6 %, grade 2 without defaults."""
    with active(tenant_a):
        for period in (date(2023, 1, 1), date(2024, 1, 1)):
            for number in range(20):
                for grade, score, pd in ((6, 30 + number, "0.01600"), (2, 80 + number, "0.00100")):
                    buyer = BuyerFactory(tenant=tenant_a)
                    row = BuyerScoreFactory(
                        buyer=buyer,
                        period=period,
                        grade=grade,
                        score=Decimal(score),
                        probability_of_default=Decimal(pd),
                        model_version="cg-test",
                        trigger="backfill",
                    )
                    BuyerScore.objects.filter(pk=row.pk).update(as_of=period)
                    if grade == 6 and number % 3 == 0 and number < 18:
                        LegalEventFactory(
                            buyer=buyer,
                            kind="insolvency_filing",
                            event_date=period.replace(month=6),
                        )


@pytest.fixture
def invoices(tenant_a):
    with active(tenant_a):
        for _ in range(2):
            InvoiceFactory(
                buyer=BuyerFactory(tenant=tenant_a),
                tenant=tenant_a,
                issue_date=date(2025, 2, 10),
                due_date=date(2025, 2, 10) + timedelta(days=30),
            )


def test_the_page_shows_the_intervals_and_flags_a_pd_that_is_too_low(client, teammate, history):
    client.force_login(teammate)

    response = client.get(PAGE)

    assert response.status_code == 200
    [item] = response.context["reports"]
    assert item["result"].grades_off == [6]
    text = page_text(response)
    # Grade 6: 40 observations, 12 defaults, 30 %, exact interval 16.56 %–46.53 %, PD 1.60 %.
    assert "6 40 12 30.00% 16.56%–46.53% 1.60% too low" in text
    assert "2 40 0 0.00% 0.00%–8.81% 0.10%" in text
    assert "95% interval 8.00%–24.74%" in text  # the overall default rate
    assert "Clopper–Pearson" in text
    grade_6 = item["grades"][5]
    assert (
        grade_6["interval"]["left"]
        < grade_6["observed_at"]
        < (grade_6["interval"]["left"] + grade_6["interval"]["width"])
    )


def test_the_window_of_months_filters_the_back_test(client, teammate, history):
    client.force_login(teammate)

    response = client.get(PAGE, {"first_period": "2024-01", "last_period": "2024-12"})

    [item] = response.context["reports"]
    assert (item["result"].first_period, item["result"].observations) == (date(2024, 1, 1), 40)
    assert response.context["filtered"]
    assert 'value="2024-01"' in response.content.decode()
    empty = client.get(PAGE, {"last_period": "2022-12"})
    assert empty.context["reports"] == [] and "No scores in these months." in page_text(empty)


def test_a_window_the_wrong_way_round_is_explained_and_ignored(client, teammate, history):
    client.force_login(teammate)

    response = client.get(PAGE, {"first_period": "2024-06", "last_period": "2024-01"})

    assert "The first month must not come after the last month." in page_text(response)
    assert response.context["reports"][0]["result"].observations == 80


def test_a_credit_manager_starts_a_back_fill_and_sees_its_progress(
    client, owner, tenant_a, invoices, django_capture_on_commit_callbacks, sent_tasks
):
    client.force_login(owner)
    form = page_text(client.get(PAGE))
    assert "Score the history" in form

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, {"first_period": "2025-03", "last_period": ""}, follow=True)

    with active(tenant_a):
        run = BackfillRun.objects.get()
    assert (run.first_period, run.last_period, run.requested_by) == (
        date(2025, 3, 1),
        date(2026, 11, 1),
        owner,
    )
    assert [task.name for task in sent_tasks] == ["monitoring.backfill_run"]
    text = page_text(response)
    assert "Scoring the history from Mar 2025 to Nov 2026 has started." in text
    assert "Scoring Mar 2025 to Nov 2026" in text and "0 / 21 months scored" in text
    progress_url = reverse("monitoring:backfill-progress", args=[run.pk])
    assert f'data-progress-url="{progress_url}"' in response.content.decode()
    progress = client.get(progress_url).json()
    assert (progress["status"], progress["processed_rows"], progress["total_rows"]) == (
        "queued",
        0,
        21,
    )


def test_an_impossible_back_fill_is_explained(client, owner, tenant_a, invoices):
    client.force_login(owner)

    response = client.post(PAGE, {"last_period": "2026-12"}, follow=True)

    assert "The last month can be 2026-11 at the latest." in page_text(response)
    with active(tenant_a):
        assert not BackfillRun.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "teammate"])
def test_viewers_and_analysts_see_the_runs_but_cannot_start_one(
    client, request, tenant_a, invoices, role
):
    client.force_login(request.getfixturevalue(role))
    with active(tenant_a):
        run = BackfillRun.objects.create(
            tenant=tenant_a,
            first_period=date(2025, 1, 1),
            last_period=date(2025, 6, 1),
            model_version="cg-2026.2",
            status="succeeded",
            total_periods=6,
            done_periods=6,
            scores_written=1234,
        )

    page = client.get(PAGE)
    refused = client.post(PAGE, {})

    assert "Score the history" not in page_text(page)
    assert "Jan 2025 – Jun 2025" in page_text(page) and "1,234" in page_text(page)
    assert refused.status_code == 403
    with active(tenant_a):
        assert list(BackfillRun.objects.values_list("pk", flat=True)) == [run.pk]


def test_another_tenants_back_fill_is_not_found(client, outsider, tenant_a):
    with active(tenant_a):
        run = BackfillRun.objects.create(
            tenant=tenant_a,
            first_period=date(2025, 1, 1),
            last_period=date(2025, 6, 1),
            model_version="cg-2026.2",
        )
    client.force_login(outsider)

    progress = client.get(reverse("monitoring:backfill-progress", args=[run.pk]))
    page = client.get(PAGE)

    assert progress.status_code == 404
    assert page.context["backfills"] == [] and page.context["active_backfill"] is None


# --- The back-test is cached until its inputs change ------------------------------------------
# Real commits: the cache renews when the figures' refresh commits (`cached_on_figures`).


def _book(tenant):
    """Twenty buyers scored in January 2023 (grade 6: 30–49 points; one in four defaulted)."""
    with tenant_context(tenant):
        for number in range(20):
            buyer = BuyerFactory(tenant=tenant)
            row = BuyerScoreFactory(
                buyer=buyer,
                period=date(2023, 1, 1),
                grade=6,
                score=Decimal(30 + number),
                model_version="cg-test",
                trigger="backfill",
            )
            BuyerScore.objects.filter(pk=row.pk).update(as_of=date(2023, 1, 1))
            if number % 4 == 0:
                LegalEventFactory(
                    buyer=buyer, kind="insolvency_filing", event_date=date(2023, 6, 1)
                )


def _reports_reading_scores(tenant):
    """One request's back-tests (its transaction commits), and whether computing them read
    the score table rather than the cache."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitoring import selectors

    with tenant_context(tenant), CaptureQueriesContext(connection) as queries:
        reports = selectors.backtest_reports(first_period=date(2023, 1, 1))
    read = any(
        "COPY" in query["sql"] and "monitoring_buyerscore" in query["sql"] for query in queries
    )
    return [(r.model_version, r.observations, r.defaults) for r in reports], read


@pytest.mark.django_db(transaction=True)
def test_the_back_test_is_served_from_the_cache_until_a_score_or_a_default_changes():
    tenant = TenantFactory(slug="backtest-cache")
    _book(tenant)

    def served(expected):
        """Computed (the first request refreshes the figures: nothing is cached on them
        before that commits; the next one caches), then served from the cache."""
        assert _reports_reading_scores(tenant) == (expected, True)
        _reports_reading_scores(tenant)
        assert _reports_reading_scores(tenant) == (expected, False)

    served([("cg-test", 20, 5)])

    # A new score of the model: computed afresh.
    with tenant_context(tenant):
        row = BuyerScoreFactory(
            buyer=BuyerFactory(tenant=tenant),
            period=date(2023, 1, 1),
            grade=2,
            score=Decimal("90"),
            model_version="cg-test",
            trigger="backfill",
        )
        BuyerScore.objects.filter(pk=row.pk).update(as_of=date(2023, 1, 1))
    served([("cg-test", 21, 5)])

    # A default recorded as a legal event (not one of the figures' sources): afresh too.
    with tenant_context(tenant):
        LegalEventFactory(buyer=row.buyer, kind="insolvency_filing", event_date=date(2023, 5, 1))
    served([("cg-test", 21, 6)])

    # A score removed: afresh.
    with tenant_context(tenant):
        BuyerScore.objects.filter(pk=row.pk).delete()
    served([("cg-test", 20, 5)])

    # Another tenant's back-test is its own, cached or not.
    other = TenantFactory(slug="backtest-cache-other")
    assert _reports_reading_scores(other) == ([], False)
    assert _reports_reading_scores(other) == ([], False)
