"""The model lab's demo for `manage.py seed_demo`: a tenant with six years of history.

The other demo tenants have two years of invoices and a handful of defaults: too little to
train a scorecard (`training.MIN_TRAINING_DEFAULTS` defaulted buyer-months before a 12-month
out-of-time test window). This tenant's book is simulated with known default mechanics
(`monitoring.modellab.simulation`: a latent health per buyer drives its statements, its payment
lateness, its legal events and its default) and loaded through the product's own paths: the
bulk API's `bulk_upsert` for buyers, statements (with their publication dates), invoices and
payments, `legal_event_record` for court, tax and insolvency events. Then, through the model
lab's services and in-process: the history is back-filled month by month, a scorecard is
trained on the early years and back-tested on the last complete year, put in shadow mode, the
current month is scored (official and shadow scores), and one credit manager asks for the
promotion so that a second person can approve it in the UI.

Deterministic (seeded) and idempotent: each step is skipped when its result exists. What the
services enqueue for Celery is dropped while this runs (`_work_in_process`): every piece of
that work is done here, in order (a worker taking the back-fill first would let the training
start on an incomplete history).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from django.db.models import DateTimeField, ExpressionWrapper, F

import creditguard.queue
from buyers.bulk import bulk_upsert
from buyers.demo import PROFILES, Profile, _disputes_and_plans, _payment_records, company_name
from buyers.figures import ANALYZABLE_AFTER_SEED, analyze_tables
from buyers.models import Buyer
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from .. import backfill
from ..models import (
    BackfillRun,
    BuyerScore,
    CountryRisk,
    LegalEvent,
    RescoreRun,
    ScoringModel,
    SectorRisk,
)
from ..rescoring import period_of, rescore_run_execute
from ..services import legal_event_record
from . import lifecycle, simulation, training

HISTORY_BUYERS = 1300
HISTORY_MONTHS = 72
SIMULATION_SEED = 7
BULK_CHUNK = 10_000
ANALYZED = (*ANALYZABLE_AFTER_SEED, "buyers_financialstatement")

# NACE section of the simulation → (NACE code, trade word EN, trade word ZH)
SECTION_TRADES: dict[str, list[tuple[str, str, str]]] = {
    "A": [("01.11", "Agrar", "农业"), ("01.61", "Farm Services", "农业服务")],
    "C": [
        ("28.41", "Machine Tools", "机床"),
        ("25.62", "Precision Engineering", "精密工程"),
        ("22.29", "Plastics", "塑料制品"),
        ("29.32", "Automotive Parts", "汽车零部件"),
        ("10.89", "Foods", "食品"),
        ("20.16", "Chemicals", "化工"),
        ("27.11", "Electric Motors", "电机"),
        ("24.10", "Steel", "钢铁"),
    ],
    "F": [("41.20", "Construction", "建设"), ("43.21", "Electrical Installations", "电气安装")],
    "G": [
        ("46.69", "Industrial Supply", "工业供应"),
        ("47.52", "Hardware Stores", "五金"),
        ("45.31", "Motor Trade", "汽配贸易"),
    ],
    "H": [("49.41", "Logistics", "物流"), ("52.10", "Warehousing", "仓储")],
    "I": [("55.10", "Hotels", "酒店"), ("56.10", "Catering", "餐饮")],
    "J": [("62.01", "Systems", "系统"), ("63.11", "Data Services", "数据服务")],
    "M": [("71.12", "Engineering Consultants", "工程咨询")],
    "N": [("77.32", "Equipment Rental", "设备租赁"), ("81.21", "Facility Services", "物业服务")],
}
# Name parts (prefixes, legal forms, cities) of the simulation's countries that the other
# demo tenants do not have.
EXTRA_COUNTRIES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "BE": (
        ["Flandria", "Brabant", "Ardennes", "Schelde", "Meuse"],
        ["NV", "BV", "SRL"],
        ["Antwerpen", "Gent", "Liège", "Bruxelles"],
    ),
}
NO_VAT_NUMBER = ("TR", "BR", "IN")
EVENT_TEXTS = {
    "court_judgment": ("Court register", "Judgment for payment obtained by a supplier"),
    "tax_lien": ("Tax office", "Tax lien registered"),
    "payment_default": ("Credit bureau", "Payment default reported by a trade creditor"),
    "management_change": ("Commercial register", "Managing director replaced"),
    "insolvency_proceedings": ("Insolvency register", "Insolvency proceedings opened"),
}
PROMOTION_NOTE = (
    "Out-of-time back-test on the last complete year beats the built-in model; shadow scores "
    "look sensible. Please review the factors and approve."
)


@contextmanager
def _work_in_process() -> Iterator[None]:
    """Drop what the services enqueue: the demo does that work itself, in order."""
    original = creditguard.queue.enqueue

    def dropped(task_name: str, /, *args: Any, countdown: float | None = None, **kw: Any) -> None:
        return None

    creditguard.queue.enqueue = dropped
    try:
        yield
    finally:
        creditguard.queue.enqueue = original


def _ratings_in_force(on: date) -> tuple[dict[str, int], dict[str, int]]:
    """Country and sector ratings in force on ``on`` (the simulation's buyers reflect them)."""
    countries: dict[str, int] = {}
    for code, rating in (
        CountryRisk.objects.filter(effective_date__lte=on)
        .order_by("country_id", "-effective_date")
        .values_list("country_id", "rating")
    ):
        countries.setdefault(code, rating)
    sectors: dict[str, int] = {}
    for code, rating in (
        SectorRisk.objects.filter(effective_date__lte=on)
        .order_by("nace_section", "-effective_date")
        .values_list("nace_section", "rating")
    ):
        sectors.setdefault(code, rating)
    return countries, sectors


def _money(value: float) -> str:
    return f"{value:.2f}"


def _day(number: int) -> str:
    return date.fromordinal(simulation.EPOCH.toordinal() + number).isoformat()


def seed_demo_history(*, tenant: Tenant, as_of: date, buyer_count: int = HISTORY_BUYERS) -> bool:
    """Simulate six years of the tenant's book and load it; False when it already had buyers."""
    with tenant_context(tenant):
        if Buyer.objects.exists():
            return False
    countries, sectors = _ratings_in_force(as_of)
    current = period_of(as_of)
    portfolio = simulation.simulate(
        buyers=buyer_count,
        start=simulation.add_months(current, -HISTORY_MONTHS),
        end=simulation.add_months(current, 1),
        today=as_of,
        country_ratings=countries,
        sector_ratings=sectors,
        seed=SIMULATION_SEED,
    )
    rng = random.Random(f"creditguard-demo-{tenant.slug}")
    buyers = _buyer_records(rng, portfolio)
    references = [record["erp_reference"] for record in buyers]
    statements = _statement_records(rng, portfolio, references)
    invoices = _invoice_records(portfolio, references)
    with _work_in_process():
        _load(tenant, "buyers", buyers)
        _load(tenant, "financial_statements", statements)
        _load(tenant, "invoices", invoices)
        _load(tenant, "payments", _payment_records(invoices, as_of=as_of))
        with tenant_context(tenant):
            by_reference = {buyer.erp_reference: buyer for buyer in Buyer.objects.all()}
            for index, kind, day in sorted(portfolio.legal_events, key=lambda event: event[2]):
                source, description = EVENT_TEXTS[kind]
                legal_event_record(
                    tenant=tenant,
                    actor=None,
                    buyer=by_reference[references[index]],
                    kind=kind,
                    event_date=day,
                    source=source,
                    description=description,
                )
            # Recorded when they happened, as a running monitoring would have: the legal-event
            # alert rule warns of events learned of recently, and these are years old.
            LegalEvent.objects.update(
                created_at=ExpressionWrapper(
                    F("event_date") + timedelta(hours=12), output_field=DateTimeField()
                )
            )
        with tenant_context(tenant):
            _disputes_and_plans(
                rng, tenant=tenant, profiles=_profiles(portfolio, references), as_of=as_of
            )
    return True


def _profiles(portfolio: simulation.Portfolio, references: list[str]) -> dict[str, Profile]:
    """The going buyers' payment profiles as the other demo tenants name them, by their health
    in the last month: the weakest are "failing", then "late" (disputes and payment plans pick
    among them)."""
    named = {profile.name: profile for profile, _weight in PROFILES}
    last = portfolio.health[:, -1]
    return {
        references[index]: named[
            "failing"
            if health < -1.2
            else "late"
            if health < -0.6
            else "slow"
            if health < 0.2
            else "prompt"
        ]
        for index, health in enumerate(last.tolist())
        if portfolio.default_day[index] is None
    }


def _load(tenant: Tenant, kind: str, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), BULK_CHUNK):
        with tenant_context(tenant):
            bulk_upsert(
                tenant=tenant, actor=None, kind=kind, records=records[start : start + BULK_CHUNK]
            )


def _buyer_records(rng: random.Random, portfolio: simulation.Portfolio) -> list[dict[str, Any]]:
    records = []
    names: set[str] = set()
    for index in range(portfolio.buyers):
        country = portfolio.country[index]
        nace, trade_en, trade_zh = rng.choice(SECTION_TRADES[portfolio.section[index]])
        parts = EXTRA_COUNTRIES.get(country)
        name = company_name(rng, country, trade=(trade_en, trade_zh), taken=names, parts=parts)
        cities = parts[2] if parts else _cities(country)
        records.append(
            {
                "erp_reference": f"N-{10000 + index}",
                "legal_name": name,
                "registration_number": f"{country}{rng.randint(100000, 999999)}",
                "vat_number": ""
                if country in NO_VAT_NUMBER
                else f"{country}{rng.randint(100000000, 999999999)}",
                "country": country,
                "city": rng.choice(cities),
                "nace_code": nace,
                "currency": "EUR",
                "payment_terms_days": int(portfolio.terms[index]),
                "status": "insolvent" if portfolio.default_day[index] else "active",
            }
        )
    return records


def _cities(country: str) -> list[str]:
    from buyers.demo import COUNTRIES

    return COUNTRIES[country][4]


def _statement_records(
    rng: random.Random, portfolio: simulation.Portfolio, references: list[str]
) -> list[dict[str, Any]]:
    figures = (
        "revenue", "ebit", "net_income", "total_assets", "current_assets",
        "current_liabilities", "total_liabilities", "retained_earnings", "equity",
        "interest_expense", "gross_profit", "depreciation_amortisation", "cost_of_sales",
        "inventory", "trade_receivables", "cash", "short_term_debt", "provisions",
        "prior_period_revenue",
    )  # fmt: skip
    return [
        {
            "buyer_erp_reference": references[row["buyer"]],
            "period_end": row["period_end"].isoformat(),
            "period_months": 12,
            "currency": "EUR",
            **{name: _money(float(row[name])) for name in figures},
            "published_on": row["published_on"].isoformat(),
            "audited": rng.random() < 0.6,
            "source": "annual report",
        }
        for row in portfolio.statements
    ]


def _invoice_records(
    portfolio: simulation.Portfolio, references: list[str]
) -> list[dict[str, Any]]:
    records = []
    for number, (buyer, issue, due, amount, paid) in enumerate(
        zip(
            portfolio.invoice_buyer.tolist(),
            portfolio.invoice_issue.tolist(),
            portfolio.invoice_due.tolist(),
            portfolio.invoice_amount.tolist(),
            portfolio.invoice_paid.tolist(),
            strict=True,
        )
    ):
        settled = paid != simulation.NEVER
        issue_day = _day(issue)
        records.append(
            {
                "erp_reference": f"{references[buyer]}-INV-{number:06d}",
                "buyer_erp_reference": references[buyer],
                "number": f"{issue_day[:4]}-{100000 + number}",
                "issue_date": issue_day,
                "due_date": _day(due),
                "amount": _money(amount),
                "currency": "EUR",
                "paid_amount": _money(amount) if settled else "0.00",
                "paid_date": _day(paid) if settled else None,
            }
        )
    return records


def seed_demo_model_lab(
    *, tenant: Tenant, as_of: date, trainer_email: str, requester_email: str
) -> list[str]:
    """Back-fill, train, shadow, score the current month and ask for the promotion, each once;
    returns what was done (for the command's output)."""
    from django.contrib.auth.models import User

    trainer = User.objects.get(username=trainer_email)
    requester = User.objects.get(username=requester_email)
    done: list[str] = []
    with _work_in_process():
        with tenant_context(tenant):
            has_backfill = BackfillRun.objects.exists()
        if not has_backfill:
            # Without fresh statistics the planner takes the new tenant's rows for a few and
            # every month's as-of query nests loops over them (minutes instead of seconds).
            analyze_tables(ANALYZED)
            with tenant_context(tenant):
                run = backfill.backfill_start(tenant=tenant, actor=trainer)
            backfill.backfill_execute(run.pk, tenant_id=tenant.pk, time_budget=None)
            analyze_tables(["monitoring_buyerscore"])
            done.append(f"history back-filled {run.first_period:%Y-%m}..{run.last_period:%Y-%m}")
        with tenant_context(tenant):
            model = ScoringModel.objects.order_by("pk").first()
        trained_now = model is None
        if model is None:
            with tenant_context(tenant):
                model = training.training_start(tenant=tenant, actor=trainer)
            training.training_execute(model.pk, tenant_id=tenant.pk)
            with tenant_context(tenant):
                model.refresh_from_db()
                if model.status == ScoringModel.Status.TRAINED:
                    model = lifecycle.shadow_start(tenant=tenant, actor=trainer, model=model)
            done.append(f"scorecard {model.version} trained ({model.get_status_display()})")
        with tenant_context(tenant):
            monthly = RescoreRun.objects.filter(trigger=BuyerScore.Trigger.MONTHLY).exists()
            if not monthly:
                run_now = RescoreRun.objects.create(
                    tenant=tenant, period=period_of(as_of), trigger=BuyerScore.Trigger.MONTHLY
                )
        if not monthly:
            rescore_run_execute(tenant_id=tenant.pk, run_id=run_now.pk, as_of=as_of)
            done.append("current month scored (official and shadow)")
        with tenant_context(tenant):
            model.refresh_from_db()
            # Asked once, after the training: a request turned down in the UI stays so.
            if trained_now and model.status == ScoringModel.Status.SHADOW:
                lifecycle.promotion_request(
                    tenant=tenant, actor=requester, model=model, note=PROMOTION_NOTE
                )
                done.append(f"promotion of {model.version} waiting for a second person")
    return done
