"""The insured split (pure rule, properties, SQL agreement) and the daily coverage sweep on a
small portfolio with disputed, lost-cover and over-cover invoices."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from creditguard.audit.models import AuditEvent
from policies.insurance import coverage
from policies.insurance.coverage import CoverageItem, insured_split
from policies.models import (
    ExtensionRequest,
    InvoiceCoverage,
    OverdueNotification,
    OverdueNotificationItem,
)
from policies.services.coverage import SWEEP_ACTION, coverage_sweep
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    CoverDecisionFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    PolicyVersionFactory,
)

D = Decimal
AS_OF = date(2026, 6, 30)


def item(invoice_id, due, outstanding, *, disputed=False, lost=False, in_period=True):
    return CoverageItem(
        invoice_id=invoice_id,
        due_date=due,
        outstanding=D(outstanding),
        disputed=disputed,
        cover_lost=lost,
        in_cover_period=in_period,
    )


# --- Pure rule ---------------------------------------------------------------------------------


def test_cover_goes_to_the_oldest_eligible_invoices_first():
    items = [
        item(3, date(2026, 5, 1), "400"),
        item(1, date(2026, 4, 1), "500"),
        item(2, date(2026, 4, 1), "300"),  # same due date: the lower id first
        item(4, date(2026, 3, 1), "200", disputed=True),
        item(5, date(2026, 2, 1), "100", lost=True),
    ]
    splits = {s.invoice_id: s for s in insured_split(items, cover=D("1000"))}
    assert [s.invoice_id for s in insured_split(items, cover=D("1000"))] == [5, 4, 1, 2, 3]
    assert (splits[1].insured, splits[1].over_cover, splits[1].uninsured) == (D(500), 0, 0)
    assert (splits[2].insured, splits[2].over_cover) == (D(300), 0)
    assert (splits[3].insured, splits[3].over_cover, splits[3].uninsured) == (
        D(200),
        D(200),
        D(200),
    )
    # Disputed and lost-cover invoices are uninsured, and not over cover: they don't count.
    assert (splits[4].insured, splits[4].uninsured, splits[4].over_cover) == (0, D(200), 0)
    assert (splits[5].insured, splits[5].uninsured, splits[5].over_cover) == (0, D(100), 0)


def test_without_cover_every_eligible_invoice_is_over_cover():
    [split] = insured_split([item(1, date(2026, 4, 1), "250.50")], cover=D(0))
    assert (split.insured, split.uninsured, split.over_cover) == (0, D("250.50"), D("250.50"))


def test_an_invoice_outside_the_cover_period_is_not_eligible():
    [split] = insured_split([item(1, date(2026, 4, 1), "100", in_period=False)], cover=D(1000))
    assert (split.insured, split.over_cover, split.uninsured) == (0, 0, D(100))


def test_cover_lost_only_when_the_deadline_passed_unnotified():
    deadline = date(2026, 6, 29)
    assert coverage.is_cover_lost(notify_by=deadline, as_of=AS_OF, sent_on=None)
    assert not coverage.is_cover_lost(notify_by=deadline, as_of=AS_OF, sent_on=deadline)
    assert coverage.is_cover_lost(notify_by=deadline, as_of=AS_OF, sent_on=AS_OF)  # sent late
    assert not coverage.is_cover_lost(notify_by=AS_OF, as_of=AS_OF, sent_on=None)


money = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
items_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=200), money, st.booleans(), st.booleans(), st.booleans()
    ),
    max_size=25,
)


def _items(raw):
    return [
        item(
            n + 1,
            date(2026, 1, 1) + timedelta(days=days),
            amount,
            disputed=d,
            lost=lost,
            in_period=p,
        )
        for n, (days, amount, d, lost, p) in enumerate(raw)
    ]


@given(raw=items_strategy, cover=st.decimals(min_value=D(0), max_value=D("500000"), places=2))
def test_insured_never_exceeds_cover_nor_outstanding_and_disputed_is_never_insured(raw, cover):
    items = _items(raw)
    splits = insured_split(items, cover=cover)
    assert sum((s.insured for s in splits), D(0)) <= cover
    by_id = {i.invoice_id: i for i in items}
    for split in splits:
        assert 0 <= split.insured <= split.outstanding
        assert split.insured + split.uninsured == split.outstanding
        assert split.over_cover >= 0
        if by_id[split.invoice_id].disputed:
            assert split.insured == 0
    eligible = sum((i.outstanding for i in items if i.eligible), D(0))
    # Either the cover is used up or every eligible invoice is fully insured.
    assert sum((s.insured for s in splits), D(0)) == min(cover, eligible)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(4))
def test_the_sql_split_agrees_with_the_pure_rule(seed):
    rng = random.Random(seed)
    rows, covers, items_by_buyer = [], {}, {}
    invoice_id = 0
    for buyer_id in range(1, 15):
        covers[buyer_id] = D(rng.choice([0, 500, 1000, 5000, 20000]))
        for _ in range(rng.randint(0, 12)):
            invoice_id += 1
            it = item(
                invoice_id,
                date(2026, 1, 1) + timedelta(days=rng.randint(0, 60)),  # many ties on due date
                D(rng.randint(1, 400000)) / 100,
                disputed=rng.random() < 0.15,
                lost=rng.random() < 0.15,
            )
            items_by_buyer.setdefault(buyer_id, []).append(it)
            rows.append((buyer_id, it))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH source AS (
                SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::numeric[],
                                     %s::boolean[], %s::numeric[])
                    AS t(buyer_id, invoice_id, due_date, outstanding, eligible, cover)
            )
            SELECT invoice_id, insured, uninsured, over_cover FROM ({coverage.insured_split_sql("source")}) x
            """,
            [
                [b for b, _ in rows],
                [i.invoice_id for _, i in rows],
                [i.due_date for _, i in rows],
                [i.outstanding for _, i in rows],
                [i.eligible for _, i in rows],
                [covers[b] for b, _ in rows],
            ],
        )
        sql = {r[0]: r[1:] for r in cursor.fetchall()}
    for buyer_id, buyer_items in items_by_buyer.items():
        for split in insured_split(buyer_items, cover=covers[buyer_id]):
            assert sql[split.invoice_id] == (split.insured, split.uninsured, split.over_cover)


# --- The sweep ---------------------------------------------------------------------------------


def _policy(tenant, **terms):
    version = PolicyVersionFactory(
        policy=InsurancePolicyFactory(tenant=tenant),
        version=1,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        effective_from=date(2026, 1, 1),
        **{"covered_countries": ["DE"], **terms},
    )
    return version.policy


def _cover(buyer, policy, amount, *, currency="EUR"):
    cover = InsurerCoverFactory(
        buyer=buyer, policy=policy, amount=D(amount), currency=currency, history=False
    )
    CoverDecisionFactory(
        cover=cover,
        kind="grant",
        amount=D(amount),
        currency=currency,
        decision_date=date(2026, 1, 10),
        effective_date=date(2026, 1, 10),
    )
    return cover


def _sent_notice(policy, buyer, invoices, *, granted_until=None, status="sent", sent_on=None):
    notice = OverdueNotification.objects.create(
        tenant=policy.tenant,
        policy=policy,
        buyer=buyer,
        status=status,
        deadline=AS_OF,
        overdue_amount=D("1"),
        currency="EUR",
        sent_on=(sent_on or AS_OF - timedelta(days=5)) if status == "sent" else None,
    )
    for invoice in invoices:
        OverdueNotificationItem.objects.create(
            tenant=policy.tenant,
            notification=notice,
            invoice=invoice,
            due_date=invoice.due_date,
            outstanding=invoice.amount,
            currency=invoice.currency,
            notify_by=AS_OF,
        )
    if granted_until:
        ExtensionRequest.objects.create(
            tenant=policy.tenant,
            notification=notice,
            kind="extension",
            requested_until=granted_until,
            status="granted",
            decided_on=AS_OF - timedelta(days=2),
        )
    return notice


def _invoice(buyer, due, amount, **extra):
    return InvoiceFactory(
        buyer=buyer,
        tenant=buyer.tenant,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount=D(amount),
        **extra,
    )


@pytest.fixture
def portfolio(tenant_a):
    """Policy: 60 days' extension, 30 to notify (notify_by = due + 90), 180 waiting, 90 to file.

    Buyer A (cover 10,000): I1 due 2026-03-01 lost (notify_by 2026-05-30 < AS_OF, not notified),
    I2 due 2026-03-15 5,000 notified → eligible, I3 due 2026-05-01 disputed 2,000,
    I4 due 2026-06-01 4,000, I5 due 2026-06-15 3,000 (over cover by 2,000), paid I6.
    Buyer B (US, not covered by country). Buyer C (DE, no cover): everything over cover.
    """
    with active(tenant_a):
        policy = _policy(tenant_a)
        a = BuyerFactory(tenant=tenant_a, country_id="DE")
        b = BuyerFactory(tenant=tenant_a, country_id="US")
        c = BuyerFactory(tenant=tenant_a, country_id="DE")
        _cover(a, policy, "10000")
        inv = {
            "i1": _invoice(a, date(2026, 3, 1), "1000"),
            "i2": _invoice(a, date(2026, 3, 15), "5000"),
            "i3": _invoice(a, date(2026, 5, 1), "2000", status="disputed"),
            "i4": _invoice(a, date(2026, 6, 1), "4000"),
            "i5": _invoice(a, date(2026, 6, 15), "3000"),
            "i6": _invoice(a, date(2026, 6, 1), "700", status="paid", paid_amount=D("700")),
            "b1": _invoice(b, date(2026, 6, 1), "900"),
            "c1": _invoice(c, date(2026, 6, 1), "800.50"),
            # Issued before the cover period: not under the policy.
            "c2": InvoiceFactory(
                buyer=c,
                tenant=tenant_a,
                issue_date=date(2025, 11, 1),
                due_date=date(2026, 1, 1),
                amount=D("100"),
            ),
        }
        _sent_notice(policy, a, [inv["i2"]], granted_until=date(2026, 7, 31))
        yield {"policy": policy, "a": a, "b": b, "c": c, **inv}


def _rows():
    return {row.invoice_id: row for row in InvoiceCoverage.objects.all()}


def test_the_sweep_writes_deadlines_and_the_insured_split(tenant_a, portfolio):
    p = portfolio
    with active(tenant_a):
        result = coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        rows = _rows()
    assert (result.invoices, result.inserted, result.updated, result.deleted) == (6, 6, 0, 0)
    assert set(rows) == {p[k].pk for k in ("i1", "i2", "i3", "i4", "i5", "c1")}

    i1 = rows[p["i1"].pk]
    assert (i1.notify_by, i1.cover_lost, i1.notified) == (date(2026, 5, 30), True, False)
    assert (i1.insured, i1.uninsured, i1.over_cover) == (0, D(1000), 0)

    i2 = rows[p["i2"].pk]  # the granted extension moves the notification deadline
    assert (i2.extension_end, i2.notify_by, i2.notified, i2.cover_lost) == (
        date(2026, 7, 31),
        date(2026, 8, 30),
        True,
        False,
    )
    assert (i2.earliest_claim, i2.claim_by) == (date(2026, 9, 11), date(2026, 12, 10))
    assert (i2.insured, i2.over_cover) == (D(5000), 0)

    i3 = rows[p["i3"].pk]
    assert (i3.disputed, i3.insured, i3.uninsured, i3.over_cover) == (True, 0, D(2000), 0)

    assert (rows[p["i4"].pk].insured, rows[p["i4"].pk].over_cover) == (D(4000), 0)
    i5 = rows[p["i5"].pk]
    assert (i5.insured, i5.uninsured, i5.over_cover) == (D(1000), D(2000), D(2000))
    c1 = rows[p["c1"].pk]
    assert (c1.insured, c1.over_cover, c1.uninsured) == (0, D("800.50"), D("800.50"))
    assert all(row.as_of == AS_OF and row.policy_id == p["policy"].pk for row in rows.values())
    assert sum(r.insured for r in rows.values() if r.buyer_id == p["a"].pk) <= D(10000)


def test_a_second_sweep_changes_only_what_changed_and_removes_paid_invoices(tenant_a, portfolio):
    p = portfolio
    with active(tenant_a):
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        again = coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)

        p["i4"].status, p["i4"].paid_amount = "paid", p["i4"].amount
        p["i4"].save()
        later = coverage_sweep(tenant=tenant_a, as_of=AS_OF + timedelta(days=1))
        rows = _rows()
    assert later.deleted == 1 and p["i4"].pk not in rows
    # I5 moves up into the cover I4 freed: only its row changes.
    assert later.updated == 1
    assert rows[p["i5"].pk].insured == D(3000) and rows[p["i5"].pk].as_of == AS_OF + timedelta(1)
    assert rows[p["i2"].pk].as_of == AS_OF


def test_the_cover_in_another_currency_is_converted_with_the_rates_of_the_day(tenant_a):
    from creditguard.reference.models import FxRate

    with active(tenant_a):
        FxRate.objects.create(currency="USD", rate_date=AS_OF, units_per_eur=D("1.25"))
        policy = _policy(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE")
        _cover(buyer, policy, "1000", currency="USD")  # 800 EUR
        invoice = _invoice(buyer, date(2026, 6, 20), "1000")
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        row = InvoiceCoverage.objects.get(invoice=invoice)
    assert (row.insured, row.over_cover) == (D(800), D(200))


def test_an_unsent_notification_does_not_save_the_cover(tenant_a, portfolio):
    p = portfolio
    with active(tenant_a):
        _sent_notice(p["policy"], p["a"], [p["i1"]], status="reviewed")
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        row = InvoiceCoverage.objects.get(invoice=p["i1"])
    assert (row.notified, row.cover_lost) == (False, True)


def test_the_sweep_is_recorded_and_sees_only_its_tenant(tenant_a, tenant_b, portfolio):
    with active(tenant_b):
        policy = _policy(tenant_b)
        buyer = BuyerFactory(tenant=tenant_b, country_id="DE")
        _cover(buyer, policy, "500")
        _invoice(buyer, date(2026, 6, 1), "100")
        assert coverage_sweep(tenant=tenant_b, as_of=AS_OF).invoices == 1
    with active(tenant_a):
        assert coverage_sweep(tenant=tenant_a, as_of=AS_OF).invoices == 6
        assert InvoiceCoverage.objects.count() == 6
        event = AuditEvent.objects.filter(action=SWEEP_ACTION).latest("id")
        assert event.after["as_of"] == AS_OF.isoformat() and event.actor_label == "system"


def test_the_sweep_refuses_to_run_for_another_tenant(tenant_a, tenant_b):
    with active(tenant_a), pytest.raises(RuntimeError):
        coverage_sweep(tenant=tenant_b, as_of=AS_OF)


def test_an_invoice_notified_after_its_deadline_has_lost_its_cover(tenant_a, portfolio):
    """The sweep and the notification pages apply one rule (`coverage.is_cover_lost`): sent,
    but after ``notify_by``, is lost all the same."""
    p = portfolio
    with active(tenant_a):
        late = _invoice(p["a"], date(2026, 3, 1), "700.00")  # notify by 2026-05-30
        _sent_notice(p["policy"], p["a"], [late], sent_on=date(2026, 6, 10))
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        row = InvoiceCoverage.objects.get(invoice=late)
    assert (row.notify_by, row.notified, row.cover_lost) == (date(2026, 5, 30), True, True)
    assert (row.insured, row.uninsured) == (0, D(700))
