"""Credit check latency: 1,000 sequential `POST /api/v1/credit-checks` against gunicorn.

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/credit_check.py [--calls 1000] [--buyers 500] [--invoices 40]

1. Creates a fresh tenant: `--buyers` buyers with `--invoices` open and paid invoices each,
   a credit policy, a grade for every buyer, limits for 90 % of them (some over limit, some
   blocked), insurer cover for most, and a read-only API key (credit checks need no write).
2. Starts gunicorn (2 sync workers, as bench/ingest.py does) on a free 127.0.0.1 port.
3. Warms both workers up, then sends `--calls` credit checks one after the other (one
   keep-alive session), each for a random buyer, amount and terms.
4. Prints p50 / p95 / p99 / max latency, the decisions and reasons seen, and the number of
   SQL queries one check makes (measured in-process). Deletes its tenant.

What is timed is the whole HTTP round trip: API-key authentication, the tenant transaction,
the three queries of the check (FX rates; policy with bands; the buyer with exposure,
overdue, limit and grade in one statement) and the JSON answer.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
import requests
from django.db import connection
from django.test import Client
from ingest import delete_tenants, free_port, start_gunicorn  # runs django.setup()

from buyers.bulk import bulk_upsert
from buyers.models import Buyer
from creditguard.api.models import ApiKey, generate_raw_key, hash_secret
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from monitoring.models import BuyerScore
from policies import services

PATH = "/api/v1/credit-checks"


def create_tenant(slug: str, *, buyers: int, invoices: int, seed: int = 7) -> tuple[Tenant, str]:
    rng = random.Random(seed)
    today = date.today()
    tenant = Tenant.objects.create(name=f"Benchmark {slug}", slug=slug)
    with tenant_context(tenant):
        raw_key, prefix = generate_raw_key()
        ApiKey.objects.create(
            tenant=tenant, name="bench", prefix=prefix, hashed_key=hash_secret(raw_key)
        )
        bulk_upsert(
            tenant=tenant,
            actor=None,
            kind="buyers",
            records=[
                {
                    "erp_reference": f"B-{n:05d}",
                    "legal_name": f"Bench Buyer {n} GmbH",
                    "country": "DE",
                    "nace_code": "46.69",
                    "currency": "EUR" if n % 5 else "USD",
                    "status": "on_hold" if n % 97 == 0 else "active",
                }
                for n in range(buyers)
            ],
        )
        records = []
        open_amounts = [Decimal(0)] * buyers
        for n in range(buyers):
            for k in range(invoices):
                # Five months of trade: most invoices due more than ten days ago are paid.
                issue = today - timedelta(days=rng.randrange(150))
                due = issue + timedelta(days=rng.choice((30, 60)))
                amount = Decimal(rng.randrange(50_000, 1_500_000)) / 100
                settled = due < today - timedelta(days=10) and rng.random() < 0.98
                paid = amount if settled else Decimal(0)
                open_amounts[n] += amount - paid
                records.append(
                    {
                        "erp_reference": f"I-{n:05d}-{k:03d}",
                        "buyer_erp_reference": f"B-{n:05d}",
                        "issue_date": issue.isoformat(),
                        "due_date": due.isoformat(),
                        "amount": f"{amount:.2f}",
                        "currency": "EUR" if n % 5 else "USD",
                        "paid_amount": f"{paid:.2f}",
                        "paid_date": min(
                            today, due + timedelta(days=rng.randrange(-5, 40))
                        ).isoformat()
                        if paid
                        else None,
                    }
                )
        for start in range(0, len(records), 10_000):
            bulk_upsert(
                tenant=tenant, actor=None, kind="invoices", records=records[start : start + 10_000]
            )
        services.credit_policy_create(
            tenant=tenant,
            actor=None,
            **{
                "effective_from": today,
                "four_eyes_threshold": 250_000,
                "lowest_acceptable_grade": 8,
                "overdue_hold_days": 60,
                "overdue_hold_amount": 5_000,
                "limit_without_financials": 50_000,
            },
            bands=[
                {
                    "grade_from": 1,
                    "grade_to": 4,
                    "max_payment_terms_days": 90,
                    "max_limit": 500_000,
                },
                {
                    "grade_from": 5,
                    "grade_to": 7,
                    "max_payment_terms_days": 60,
                    "max_limit": 200_000,
                },
                {
                    "grade_from": 8,
                    "grade_to": 10,
                    "max_payment_terms_days": 30,
                    "max_limit": 20_000,
                },
            ],
        )
        period = today.replace(day=1)
        by_reference = dict(Buyer.objects.values_list("erp_reference", "pk"))
        BuyerScore.objects.bulk_create(
            [
                BuyerScore(
                    tenant=tenant,
                    buyer_id=pk,
                    period=period,
                    model_version="bench",
                    score=Decimal(rng.randrange(0, 100)),
                    grade=rng.choice((1, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9)),
                    probability_of_default=Decimal("0.01"),
                )
                for pk in by_reference.values()
            ]
        )
        for reference, pk in by_reference.items():
            if rng.random() < 0.1:
                continue
            buyer = Buyer.objects.get(pk=pk)
            # Most limits leave room for the next orders; some are nearly used up.
            headroom = Decimal(str(rng.choice((0.9, 1.3, 1.6, 2.0, 2.5))))
            exposure = open_amounts[int(reference.removeprefix("B-"))]
            limit = services.credit_limit_set(
                tenant=tenant,
                actor=None,
                buyer=buyer,
                amount=max(Decimal(10_000), (exposure * headroom).quantize(Decimal(1000))),
                payment_terms_days=rng.choice((60, 90)),
                grade=None,
                granted_on=today,
            )
            if rng.random() < 0.02:
                services.credit_limit_block(tenant=tenant, actor=None, limit=limit, reason="bench")
            if rng.random() < 0.7:
                services.insurer_cover_save(
                    tenant=tenant,
                    actor=None,
                    buyer=buyer,
                    terms=services.CoverTerms(
                        insurer="Bench Re", amount=limit.amount, currency="EUR", decision_date=today
                    ),
                )
    return tenant, raw_key


def queries_per_check(raw_key: str, reference: str) -> int:
    """One check through Django in-process, counting every SQL statement it sends."""
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_HOST="localhost")
    body = {"buyer_erp_reference": reference, "order_amount": "1000.00"}
    client.post(PATH, body, content_type="application/json")  # warm caches (last_used_at)
    with connection.execute_wrapper(count):
        response = client.post(PATH, body, content_type="application/json")
    assert response.status_code == 200, response.content
    return len(statements)


def wait_until_up(base_url: str, raw_key: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            response = requests.get(
                f"{base_url}/api/v1/", headers={"Authorization": f"Bearer {raw_key}"}, timeout=30
            )
            if response.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(share * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--invoices", type=int, default=40, help="invoices per buyer")
    args = parser.parse_args()

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    rng = random.Random(11)
    tenant_ids: list[int] = []
    gunicorn = None
    try:
        print(f"creating {args.buyers} buyers with {args.invoices} invoices each ...", flush=True)
        tenant, raw_key = create_tenant(
            f"bench-check-{stamp}", buyers=args.buyers, invoices=args.invoices
        )
        tenant_ids.append(tenant.pk)
        queries = queries_per_check(raw_key, "B-00001")

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        gunicorn = start_gunicorn(port)
        wait_until_up(base_url, raw_key)
        session = requests.Session()
        headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
        bodies = [
            orjson.dumps(
                {
                    "buyer_erp_reference": f"B-{rng.randrange(args.buyers):05d}",
                    "order_amount": f"{Decimal(rng.randrange(10_000, 5_000_000)) / 100:.2f}",
                    "payment_terms_days": rng.choice((30, 30, 60)),
                }
            )
            for _ in range(args.calls + 100)
        ]
        for body in bodies[:100]:  # warm both workers up
            session.post(f"{base_url}{PATH}", data=body, headers=headers).raise_for_status()

        latencies: list[float] = []
        decisions: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for body in bodies[100:]:
            started = time.perf_counter()
            response = session.post(f"{base_url}{PATH}", data=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"credit check failed: {response.status_code} {response.text}")
            answer = response.json()
            decisions[answer["decision"]] += 1
            reasons.update(reason["code"] for reason in answer["reasons"])
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        if tenant_ids:
            delete_tenants(tenant_ids)

    latencies.sort()
    ms = [value * 1000 for value in latencies]
    print()
    print(f"POST {PATH}: {len(ms)} sequential calls, gunicorn 2 sync workers, 1 keep-alive client")
    print(f"{'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'mean':>8}   (ms)")
    print(
        f"{percentile(ms, 0.50):>8.1f} {percentile(ms, 0.95):>8.1f} {percentile(ms, 0.99):>8.1f} "
        f"{ms[-1]:>8.1f} {statistics.fmean(ms):>8.1f}"
    )
    print(f"SQL statements per check (in-process, incl. auth and tenant set-up): {queries}")
    print("decisions:", dict(decisions))
    print("reasons:", dict(reasons))
    return 0


if __name__ == "__main__":
    sys.exit(main())
