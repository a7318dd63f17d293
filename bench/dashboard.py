"""Pages at scale: p95 server time at 100,000 and at 5,000,000 invoices in one database.

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/dashboard.py [--small 100000] [--large 5000000] [--requests 30]

1. A throwaway database (``cg_bench_dashboard`` on the cluster of DATABASE_URL; ``--keep``
   reuses it and its data on the next run) is created and migrated as the owner role.
2. Two tenants, ~20 invoices per buyer (1 + an exponential with mean 19, per buyer: a credit
   file looks alike at both sizes): the small one with about --small invoices, the large one
   with about --large (buyers = invoices / 20). Buyers and invoices are generated inside PostgreSQL (INSERT ... SELECT over
   generate_series, as the owner: the fastest bulk path, no round trip per row), with a
   realistic mix: 12 countries, 8 sectors, 85% of invoices in EUR and the rest in USD, GBP,
   CNY and CHF, two years of history, most old invoices paid, some partly paid, disputed or
   written off, some overdue. Scores (one per buyer), own limits (70% of buyers; some blocked
   or expired), insurer covers with their decisions (40%), open alerts (5%) and 100 pending
   limit requests go in through the ORM (`bulk_create`, runtime role).
3. Both tables are ANALYZEd, then the maintained figures are warmed (`buyers.figures.refresh_all`,
   timed: that is the daily job's cost at each size) and ANALYZEd in turn.
4. For each size, ``--requests`` requests (after 3 warm-ups) of each page with Django's test
   Client **in-process** (server time = the whole Django request: middleware, queries,
   template; no network, no gunicorn), signed in as the tenant's admin: the dashboard, the
   buyer list (grade filter, sorted by exposure), the Limits overview, the approval queue, and
   a credit file (a different random buyer each request).
5. Prints p50/p95 per page and size, the ratio p95(large)/p95(small) (target <= 1.5) and
   p95 at the large size (target <= 300 ms); exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditguard.settings.local")

BENCH_DB = "cg_bench_dashboard"
TARGET_RATIO = 1.5
TARGET_P95_MS = 300.0
INVOICES_PER_BUYER = 20
COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "GB", "US", "CN", "CH")
SECTORS = (("46.69", "G"), ("25.11", "C"), ("41.20", "F"), ("49.41", "H"), ("62.01", "J"),
           ("10.89", "C"), ("47.11", "G"), ("71.12", "M"))  # fmt: skip


def bench_database_url() -> str:
    from creditguard import devstack

    url = urlparse(os.environ.get("DATABASE_URL") or devstack.EMBEDDED_DATABASE_URL)
    return urlunparse(url._replace(path=f"/{BENCH_DB}"))


def psql_admin(sql: str) -> None:
    """Run `sql` on the cluster's `postgres` database as the owner (create/drop database)."""
    import psycopg2

    url = urlparse(bench_database_url())
    connection = psycopg2.connect(
        dbname="postgres",
        host=url.hostname,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def prepare_database(*, keep: bool) -> None:
    if not keep:
        psql_admin(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    try:
        psql_admin(f"CREATE DATABASE {BENCH_DB}")
    except Exception as error:
        if "already exists" not in str(error):
            raise
    env = {**os.environ, "DATABASE_URL": bench_database_url(), "CREDITGUARD_DB_ROLE": "owner"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True
    )
    subprocess.run(
        [sys.executable, "manage.py", "import_fx_rates", "--demo"],
        cwd=BASE_DIR,
        env={**env, "CREDITGUARD_DB_ROLE": ""},
        check=True,
        stdout=subprocess.DEVNULL,
    )


os.environ["DATABASE_URL"] = bench_database_url()
if "--keep" not in sys.argv:
    prepare_database(keep=False)
else:
    prepare_database(keep=True)

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from buyers.figures import refresh_all  # noqa: E402
from buyers.models import Buyer, Invoice, PortfolioSnapshot  # noqa: E402
from creditguard.accounts.models import Membership  # noqa: E402
from creditguard.tenancy.context import tenant_context  # noqa: E402
from creditguard.tenancy.models import Tenant  # noqa: E402
from monitoring.models import Alert, BuyerScore  # noqa: E402
from policies.models import CoverDecision, CreditLimit, InsurerCover, LimitRequest  # noqa: E402


def owner_connection() -> psycopg2.extensions.connection:
    database = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=database["NAME"],
        host=database["HOST"],
        port=database["PORT"] or 5432,
        user=settings.DATABASE_OWNER_CREDENTIALS["USER"],
        password=settings.DATABASE_OWNER_CREDENTIALS["PASSWORD"] or None,
    )


# --- Data -------------------------------------------------------------------------------------


def generate_ledger(tenant: Tenant, invoices: int, today: date) -> None:
    """Buyers and invoices inside PostgreSQL, as the owner (no round trip per row)."""
    buyers = max(1, invoices // INVOICES_PER_BUYER)
    countries = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTRIES) + "]"
    codes = "ARRAY[" + ",".join(f"'{code}'" for code, _section in SECTORS) + "]"
    sections = "ARRAY[" + ",".join(f"'{section}'" for _code, section in SECTORS) + "]"
    owner = owner_connection()
    try:
        with owner, owner.cursor() as cursor:
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.pk)])
            cursor.execute("SELECT setseed(0.42)")
            cursor.execute(
                f"""
                INSERT INTO buyers_buyer (tenant_id, erp_reference, legal_name,
                    registration_number, vat_number, lei, city, address, nace_code, nace_section,
                    currency, payment_terms_days, status, created_at, updated_at, country_id)
                SELECT %(tenant)s, 'B' || lpad(n::text, 7, '0'),
                       'Bench buyer ' || n || ' ' || (ARRAY['GmbH','SAS','S.p.A.','Ltd','B.V.',
                       'Co., Ltd.'])[1 + n %% 6], '', '', '', '', '',
                       ({codes})[1 + n %% {len(SECTORS)}], ({sections})[1 + n %% {len(SECTORS)}],
                       'EUR', (ARRAY[30, 45, 60, 90])[1 + n %% 4],
                       CASE WHEN n %% 97 = 0 THEN 'on_hold' WHEN n %% 211 = 0 THEN 'insolvent'
                            ELSE 'active' END,
                       now(), now(), ({countries})[1 + (n * 7) %% {len(COUNTRIES)}]
                FROM generate_series(1, %(buyers)s) n
                """,
                {"tenant": tenant.pk, "buyers": buyers},
            )
            # Invoices per buyer: 1 + an exponential with mean 19, drawn per buyer, so a
            # buyer's file looks alike at every tenant size (no account grows with the tenant).
            cursor.execute(
                """
                INSERT INTO buyers_invoice (tenant_id, buyer_id, erp_reference, number,
                    issue_date, due_date, amount, currency, paid_amount, paid_date, status,
                    updated_at)
                SELECT %(tenant)s, buyer_id, 'I' || n, 'INV-' || n, issue, issue + terms,
                       amount, currency,
                       CASE status WHEN 'paid' THEN amount WHEN 'written_off' THEN 0
                                   WHEN 'partially_paid' THEN round(amount / 2, 2) ELSE 0 END,
                       CASE WHEN status = 'paid'
                            THEN issue + terms + (random() * 50)::int - 10 END,
                       status, now()
                FROM (
                    SELECT row_number() OVER () AS n, buyer_id, issue, terms, amount, currency,
                           CASE WHEN r < 0.01 THEN 'written_off'
                                WHEN r < 0.03 THEN 'disputed'
                                WHEN issue + terms < %(today)s::date - 60
                                     THEN CASE WHEN r < 0.93 THEN 'paid' ELSE 'open' END
                                WHEN r < 0.45 THEN 'paid'
                                WHEN r < 0.55 THEN 'partially_paid'
                                ELSE 'open' END AS status
                    FROM (
                        SELECT b.id AS buyer_id,
                               %(today)s::date - (random() * 720)::int AS issue,
                               (ARRAY[30, 45, 60, 90])[1 + (random() * 3)::int] AS terms,
                               round((100 + random() * random() * 80000)::numeric, 2) AS amount,
                               CASE WHEN random() < 0.85 THEN 'EUR'
                                    ELSE (ARRAY['USD', 'GBP', 'CNY', 'CHF'])
                                         [1 + (random() * 3)::int] END AS currency,
                               random() AS r
                        FROM (SELECT id, 1 + floor(-ln(1 - random()) * %(mean)s)::int AS k
                              FROM buyers_buyer WHERE tenant_id = %(tenant)s) b,
                             generate_series(1, b.k)
                    ) raw
                ) rows
                """,
                {"tenant": tenant.pk, "today": today, "mean": INVOICES_PER_BUYER - 1},
            )
    finally:
        owner.close()


def generate_credit_data(tenant: Tenant, today: date) -> None:
    """Scores, limits, covers, alerts and pending requests through the ORM (runtime role)."""
    rng = random.Random(tenant.pk)
    with tenant_context(tenant):
        ids = list(Buyer.objects.order_by("pk").values_list("pk", flat=True))
        period = today.replace(day=1)
        BuyerScore.objects.bulk_create(
            (
                BuyerScore(
                    tenant=tenant,
                    buyer_id=pk,
                    period=period,
                    model_version="bench-1",
                    score=Decimal(100 - grade * 9 + rng.randrange(0, 8)),
                    grade=grade,
                    probability_of_default=Decimal("0.00100") * grade * grade,
                    factors=[],
                )
                for pk in ids
                for grade in [min(10, max(1, round(rng.gauss(4.5, 2))))]
            ),
            batch_size=5000,
        )
        limits = []
        for pk in ids:
            if rng.random() < 0.7:
                status = rng.choices(["active", "blocked", "expired"], [92, 3, 5])[0]
                limits.append(
                    CreditLimit(
                        tenant=tenant,
                        buyer_id=pk,
                        amount=Decimal(rng.randrange(10, 500)) * 1000,
                        currency="EUR",
                        payment_terms_days=rng.choice([30, 60, 90]),
                        status=status,
                        risk_class=rng.choice(["low", "medium", "high"]),
                        granted_on=today - timedelta(days=rng.randrange(30, 700)),
                        review_date=today + timedelta(days=rng.randrange(-20, 300)),
                        expiry_date=today + timedelta(days=rng.randrange(10, 400)),
                    )
                )
        CreditLimit.objects.bulk_create(limits, batch_size=5000)
        covers = [
            InsurerCover(
                tenant=tenant,
                buyer_id=pk,
                insurer="Bench Credit Insurance",
                amount=Decimal(rng.randrange(10, 400)) * 1000,
                currency="EUR",
                decision_date=today - timedelta(days=rng.randrange(10, 600)),
                status="granted",
            )
            for pk in ids
            if rng.random() < 0.4
        ]
        InsurerCover.objects.bulk_create(covers, batch_size=5000)
        CoverDecision.objects.bulk_create(
            (
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
            ),
            batch_size=5000,
        )
        Alert.objects.bulk_create(
            (
                Alert(
                    tenant=tenant,
                    buyer_id=pk,
                    rule="overdue",
                    condition_key=f"bench:{pk}",
                    severity=rng.choice(["low", "medium", "high"]),
                    title="Invoices overdue",
                    risk_event_at=timezone.now() - timedelta(days=rng.randrange(1, 30)),
                )
                for pk in ids
                if rng.random() < 0.05
            ),
            batch_size=5000,
        )
        LimitRequest.objects.bulk_create(
            LimitRequest(
                tenant=tenant,
                buyer_id=pk,
                amount=Decimal(rng.randrange(20, 600)) * 1000,
                currency="EUR",
                payment_terms_days=rng.choice([30, 60, 90]),
                justification="Bench request",
                source="web",
                requested_by_label="bench",
            )
            for pk in rng.sample(ids, min(100, len(ids)))
        )


def ensure_tenant(slug: str, invoices: int, today: date) -> tuple[Tenant, bool]:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is not None:
        return tenant, False
    tenant = Tenant.objects.create(name=f"Bench {invoices:,} invoices", slug=slug)
    user = get_user_model().objects.create_user(
        username=f"{slug}@bench.example", email=f"{slug}@bench.example", password=None
    )
    with tenant_context(tenant):
        Membership.objects.create(tenant=tenant, user=user, role="admin")
    started = time.perf_counter()
    generate_ledger(tenant, invoices, today)
    generate_credit_data(tenant, today)
    with tenant_context(tenant):
        invoices_made = Invoice.objects.count()
        buyers_made = Buyer.objects.count()
    print(
        f"  {slug}: {buyers_made:,} buyers, {invoices_made:,} invoices generated in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return tenant, True


def analyze() -> None:
    owner = owner_connection()
    owner.autocommit = True
    try:
        with owner.cursor() as cursor:
            cursor.execute("ANALYZE")
    finally:
        owner.close()


# --- Measuring --------------------------------------------------------------------------------


def pages(tenant: Tenant) -> dict[str, Callable[[random.Random], str]]:
    with tenant_context(tenant):
        buyer_ids = list(Buyer.objects.order_by("?").values_list("pk", flat=True)[:500])
    return {
        "dashboard": lambda rng: reverse("dashboard"),
        "buyer list (grade>=6, -exposure)": lambda rng: (
            reverse("buyers:list") + "?grade_min=6&sort=-exposure"
        ),
        "limits overview": lambda rng: reverse("limits:overview"),
        "approval queue": lambda rng: reverse("limits:queue"),
        "credit file": lambda rng: reverse("buyers:detail", args=[rng.choice(buyer_ids)]),
    }


def measure(tenant: Tenant, requests: int) -> dict[str, list[float]]:
    user = get_user_model().objects.get(username=f"{tenant.slug}@bench.example")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    for name, url_for in pages(tenant).items():
        for _ in range(3):  # warm-up: connections, template caches
            response = client.get(url_for(rng))
            assert response.status_code == 200, (name, response.status_code)
        times = []
        for _ in range(requests):
            url = url_for(rng)
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, url, response.status_code)
        timings[name] = times
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=5_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="reuse the database and its data")
    parser.add_argument(
        "--generate-only", action="store_true", help="create the data and stop (then --keep)"
    )
    args = parser.parse_args()
    # No setup_test_environment(): its instrumented template rendering would be measured too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1", "testserver"]
    today = timezone.localdate()
    sizes = {"small": args.small, "large": args.large}
    tenants = {}
    generated = False
    for label, invoices in sizes.items():
        tenant, created = ensure_tenant(f"bench-{label}-{invoices}", invoices, today)
        tenants[label] = tenant
        generated |= created
    if generated:
        analyze()
    if args.generate_only:
        return 0
    refreshed = False
    for label, tenant in tenants.items():
        with tenant_context(tenant):
            if PortfolioSnapshot.objects.filter(as_of=today).exists():
                continue  # warmed by an earlier run today (--keep)
            started = time.perf_counter()
            refresh_all(tenant=tenant, as_of=today)
        refreshed = True
        print(
            f"  figures refresh_all ({sizes[label]:,} invoices): "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
    if refreshed:
        # The figures rows are new to the planner too (autovacuum would analyse them in time;
        # the bench cluster may run without it).
        analyze()
    connection.close()

    results = {label: measure(tenant, args.requests) for label, tenant in tenants.items()}
    print()
    print(f"p95 server time, Django test Client in-process, {args.requests} requests each (ms)")
    header = f"{'page':34} {'p95 small':>10} {'p95 large':>10} {'ratio':>7} {'p50 large':>10}"
    print(header)
    print("-" * len(header))
    ok = True
    for name in results["small"]:
        small, large = p95(results["small"][name]), p95(results["large"][name])
        ratio = large / small
        passed = ratio <= TARGET_RATIO and large <= TARGET_P95_MS
        ok &= passed
        print(
            f"{name:34} {small:10.1f} {large:10.1f} {ratio:7.2f} "
            f"{statistics.median(results['large'][name]):10.1f}  {'PASS' if passed else 'FAIL'}"
        )
    print(
        f"targets: ratio p95 {args.large:,}/{args.small:,} invoices <= {TARGET_RATIO}, "
        f"p95 at {args.large:,} <= {TARGET_P95_MS:.0f} ms: {'PASS' if ok else 'FAIL'}"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
