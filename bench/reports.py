"""PDF reports at scale: the monthly portfolio risk report of N buyers and of 2N, in one run.

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/reports.py [--buyers 2000] [--invoices 10] [--repeat 2]

1. Creates two fresh tenants, "N" with ``--buyers`` buyers and "2N" with twice as many, each
   buyer with ``--invoices`` invoices (five months of trade, most settled, some overdue), a
   monthly score, a credit limit for 90 % of them and insurer cover under one
   credit-insurance policy for most, in a few countries and sectors; then runs the coverage
   sweep so the insured figures exist. Everything goes through the services
   (`buyers.bulk.bulk_upsert`) or plain ORM bulk inserts, as the runtime role.
2. Generates the tenant's monthly portfolio risk report with the service the Celery task calls
   (`portfolio.reports.services.report_generate`): gather the figures from the selectors,
   render the HTML, write the PDF with WeasyPrint, store the file. One warm-up report first
   (WeasyPrint loads its fonts once per process); then ``--repeat`` reports per tenant,
   alternating, the fastest of each counting.
3. Prints the time of each step per tenant, the pages and size of the PDF, the ratio 2N ÷ N and
   ``target ratio <= 2.1: PASS/FAIL`` (exit status 1 on FAIL). Deletes its tenants and files.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import delete_tenants  # (importing it runs django.setup())

from buyers.bulk import bulk_upsert
from buyers.models import Buyer
from creditguard import pdf
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from monitoring.models import BuyerScore
from policies.models import (
    CoverDecision,
    CreditLimit,
    InsurancePolicy,
    InsurerCover,
    PolicyVersion,
)
from policies.services.coverage import coverage_sweep
from portfolio.models import Report
from portfolio.reports import services

RATIO_TARGET = 2.1
logging.getLogger("weasyprint").setLevel(logging.WARNING)  # one line per layout step otherwise
logging.getLogger("fontTools").setLevel(logging.WARNING)
COUNTRIES = ["DE", "DE", "DE", "FR", "FR", "IT", "ES", "NL", "PL", "US", "CN", "GB"]
SECTORS = [("46.69", "G"), ("25.11", "C"), ("49.41", "H"), ("62.01", "J"), ("41.20", "F")]


def create_tenant(
    slug: str, *, buyers: int, invoices: int, created: list[Tenant], seed: int = 11
) -> Tenant:
    """A tenant with its book (see the module docstring), appended to `created` first so that
    it is deleted even when filling it fails."""
    rng = random.Random(seed)
    today = date.today()
    tenant = Tenant.objects.create(name=f"Benchmark {slug}", slug=slug)
    created.append(tenant)
    with tenant_context(tenant):
        bulk_upsert(
            tenant=tenant,
            actor=None,
            kind="buyers",
            records=[
                {
                    "erp_reference": f"B-{n:06d}",
                    "legal_name": f"Bench Buyer {n} GmbH",
                    "country": COUNTRIES[n % len(COUNTRIES)],
                    "nace_code": SECTORS[n % len(SECTORS)][0],
                    "currency": "EUR",
                }
                for n in range(buyers)
            ],
        )
        records = []
        for n in range(buyers):
            for k in range(invoices):
                issue = today - timedelta(days=rng.randrange(150))
                due = issue + timedelta(days=rng.choice((30, 60)))
                amount = Decimal(rng.randrange(50_000, 1_500_000)) / 100
                settled = due < today - timedelta(days=10) and rng.random() < 0.9
                records.append(
                    {
                        "erp_reference": f"I-{n:06d}-{k:03d}",
                        "buyer_erp_reference": f"B-{n:06d}",
                        "issue_date": issue.isoformat(),
                        "due_date": due.isoformat(),
                        "amount": f"{amount:.2f}",
                        "currency": "EUR",
                        "paid_amount": f"{amount if settled else 0:.2f}",
                        "paid_date": min(today, due + timedelta(days=5)).isoformat()
                        if settled
                        else None,
                    }
                )
        for start in range(0, len(records), 10_000):
            bulk_upsert(
                tenant=tenant, actor=None, kind="invoices", records=records[start : start + 10_000]
            )
        ids = list(Buyer.objects.order_by("pk").values_list("pk", flat=True))
        this_month = today.replace(day=1)
        last_month = (this_month - timedelta(days=1)).replace(day=1)
        grades = {pk: rng.choice((1, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9, 10)) for pk in ids}
        BuyerScore.objects.bulk_create(
            [
                BuyerScore(
                    tenant=tenant,
                    buyer_id=pk,
                    period=period,
                    model_version="bench",
                    score=Decimal(100 - grades[pk] * 9),
                    grade=max(1, grades[pk] - shift),
                    probability_of_default=Decimal("0.01"),
                )
                for pk in ids
                for period, shift in ((last_month, rng.choice((0, 0, 0, 1))), (this_month, 0))
            ]
        )
        policy = InsurancePolicy.objects.create(
            tenant=tenant, insurer="Bench Re", number=f"BR-{slug}", currency="EUR"
        )
        PolicyVersion.objects.create(
            tenant=tenant,
            policy=policy,
            version=1,
            effective_from=date(today.year, 1, 1),
            period_start=date(today.year, 1, 1),
            period_end=date(today.year, 12, 31),
            indemnity_commercial_pct=Decimal("90"),
            indemnity_political_pct=Decimal("90"),
            max_liability=Decimal("50000000"),
            covered_risks=["insolvency", "protracted_default"],
            covered_countries=["DE", "FR", "IT", "ES", "NL", "PL"],
            waiting_period_days=180,
            max_extension_days=60,
            notification_days=30,
            claim_filing_days=90,
            cover_notice_days=0,
            non_qualifying_loss=Decimal("0"),
            deductible_per_buyer=Decimal("0"),
            aggregate_first_loss=Decimal("0"),
            dcl_max_amount=Decimal("0"),
            dcl_report_max_age_days=365,
            dcl_min_on_time_payments=2,
            dcl_payment_lookback_days=365,
            premium_basis="turnover",
            premium_rate_pct=Decimal("0.18"),
            minimum_premium=Decimal("12000"),
            declaration_frequency="monthly",
            declaration_due_days=15,
        )
        limits, covers = [], []
        for pk in ids:
            if rng.random() < 0.1:
                continue
            amount = Decimal(rng.choice((10_000, 20_000, 30_000, 50_000)))
            limits.append(
                CreditLimit(
                    tenant=tenant,
                    buyer_id=pk,
                    amount=amount,
                    currency="EUR",
                    payment_terms_days=60,
                    status="active",
                    risk_class="medium",
                    granted_on=today,
                    review_date=today + timedelta(days=180),
                    expiry_date=today + timedelta(days=365),
                )
            )
            if rng.random() < 0.8:
                covers.append(
                    InsurerCover(
                        tenant=tenant,
                        buyer_id=pk,
                        policy=policy,
                        insurer="Bench Re",
                        amount=amount * Decimal("0.8"),
                        currency="EUR",
                        decision_date=today - timedelta(days=30),
                        status="granted",
                    )
                )
        CreditLimit.objects.bulk_create(limits)
        InsurerCover.objects.bulk_create(covers)
        CoverDecision.objects.bulk_create(
            [
                CoverDecision(
                    tenant=tenant,
                    cover=cover,
                    kind="grant",
                    amount=cover.amount,
                    currency="EUR",
                    decision_date=cover.decision_date,
                    effective_date=cover.decision_date,
                )
                for cover in covers
            ]
        )
        coverage_sweep(tenant=tenant, as_of=today)
    return tenant


def timed_pdf_writer(times: dict[str, float]) -> Callable[[str], bytes]:
    """`pdf.html_to_pdf`, timing itself into ``times["pdf"]``."""

    def write(html: str) -> bytes:
        started = time.perf_counter()
        result = pdf.html_to_pdf(html)
        times["pdf"] = time.perf_counter() - started
        return result

    return write


def one_report(tenant: Tenant, period: str) -> tuple[float, float, int, int]:
    """(total seconds, PDF seconds, pages, bytes) of one monthly report of `tenant`."""
    from pypdf import PdfReader

    with tenant_context(tenant):
        report = Report.objects.create(
            tenant=tenant, kind="portfolio_risk", period=period, language="en"
        )
    times: dict[str, float] = {}
    started = time.perf_counter()
    done = services.report_generate(
        tenant=tenant, report_id=report.pk, write_pdf=timed_pdf_writer(times)
    )
    total = time.perf_counter() - started
    if done is None or done.status != Report.Status.DONE:
        raise SystemExit(f"report failed: {done.error if done else 'missing'}")
    with tenant_context(tenant):
        with done.file.open("rb") as handle:
            content = handle.read()
        done.file.delete(save=False)
    return total, times["pdf"], len(PdfReader(BytesIO(content)).pages), len(content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=2_000)
    parser.add_argument("--invoices", type=int, default=10, help="invoices per buyer")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    stamp = int(time.time())
    tenants: list[Tenant] = []
    try:
        print(f"creating tenants: {args.buyers:,} and {2 * args.buyers:,} buyers ...", flush=True)
        small = create_tenant(
            f"bench-reports-n-{stamp}", buyers=args.buyers, invoices=args.invoices, created=tenants
        )
        large = create_tenant(
            f"bench-reports-2n-{stamp}",
            buyers=2 * args.buyers,
            invoices=args.invoices,
            created=tenants,
        )
        period = services.previous_month(date.today())
        one_report(small, period)  # warm-up: fonts, templates
        best: dict[str, tuple[float, float, int, int]] = {}
        for _round in range(args.repeat):
            for name, tenant in (("N", small), ("2N", large)):
                result = one_report(tenant, period)
                if name not in best or result[0] < best[name][0]:
                    best[name] = result
        print(
            f"{'tenant':<6} {'buyers':>8} {'total s':>8} {'data+HTML s':>12} {'PDF s':>7} "
            f"{'pages':>6} {'bytes':>9}"
        )
        for name, buyers in (("N", args.buyers), ("2N", 2 * args.buyers)):
            total, pdf_seconds, pages, size = best[name]
            print(
                f"{name:<6} {buyers:>8,} {total:>8.2f} {total - pdf_seconds:>12.2f} "
                f"{pdf_seconds:>7.2f} {pages:>6} {size:>9,}"
            )
        ratio = best["2N"][0] / best["N"][0]
        verdict = "PASS" if ratio <= RATIO_TARGET else "FAIL"
        print(f"ratio 2N / N: {ratio:.2f}   target ratio <= {RATIO_TARGET}: {verdict}")
        return 0 if verdict == "PASS" else 1
    finally:
        for tenant in tenants:
            with tenant_context(tenant):
                for report in Report.objects.exclude(file=""):
                    report.file.delete(save=False)
        delete_tenants([tenant.pk for tenant in tenants])


if __name__ == "__main__":
    sys.exit(main())
