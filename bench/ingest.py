"""Invoice ingestion: the bulk API over HTTP against PostgreSQL's binary COPY.

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/ingest.py [--invoices 200000] [--batch 10000] [--single 500]

1. Creates four fresh tenants with 1,000 buyers and a write API key each.
2. COPY, all at once: loads the N invoices into buyers_invoice with one binary COPY in one
   transaction, as the owner role (PostgreSQL refuses COPY FROM into a table with row-level
   security for the runtime role).
3. Starts gunicorn (2 sync workers) on a free 127.0.0.1 port against the same database.
4. API and COPY by batch, interleaved: for every --batch invoices, a binary COPY of them in
   a transaction of its own (another tenant), then a POST of the same invoices to
   /api/v1/invoices/bulk; requests go one after the other. Interleaving gives both the same
   share of whatever else the machine is doing.
5. Single: posts a sample one invoice per request, to /api/v1/invoices/ when that endpoint
   exists, else to /api/v1/invoices/bulk with one record.
6. Prints rows/s for each and checks the target, API >= 0.3 x COPY, against the faster COPY.
   Deletes its tenants (as the owner role).

Both sides get their payload prepared before the clock starts (the JSON bodies, the COPY
buffer): what is timed is transfer plus everything the server and the database do, commit
included. The gap to COPY is therefore HTTP, authentication, JSON parsing, validation and
the staging table + INSERT ... ON CONFLICT of the bulk path.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import struct
import subprocess
import sys
import time
from contextlib import closing, suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditguard.settings.local")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
import psycopg2  # noqa: E402
import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from buyers.bulk import bulk_upsert  # noqa: E402
from buyers.models import Buyer, Invoice  # noqa: E402
from creditguard.api.models import ApiKey, generate_raw_key, hash_secret  # noqa: E402
from creditguard.tenancy.context import tenant_context  # noqa: E402
from creditguard.tenancy.models import Tenant  # noqa: E402

BUYERS = 1_000
TARGET_RATIO = 0.3


# --- Data -----------------------------------------------------------------------------------


def make_invoices(count: int, seed: int = 42) -> list[dict]:
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    invoices = []
    for n in range(count):
        issue = start + timedelta(days=rng.randrange(600))
        amount = Decimal(rng.randrange(5_000, 5_000_000)) / 100
        paid = amount if rng.random() < 0.3 else Decimal(0)
        invoices.append(
            {
                "erp_reference": f"INV-{n:08d}",
                "buyer_erp_reference": f"B-{rng.randrange(BUYERS):05d}",
                "number": f"{issue.year}-{n:08d}",
                "issue_date": issue.isoformat(),
                "due_date": (issue + timedelta(days=rng.choice((30, 45, 60, 90)))).isoformat(),
                "amount": f"{amount:.2f}",
                "currency": "EUR",
                "paid_amount": f"{paid:.2f}",
            }
        )
    return invoices


def create_tenant(slug: str, *, with_key: bool) -> tuple[Tenant, str | None]:
    tenant = Tenant.objects.create(name=f"Benchmark {slug}", slug=slug)
    raw_key = None
    with tenant_context(tenant):
        if with_key:
            raw_key, prefix = generate_raw_key()
            ApiKey.objects.create(
                tenant=tenant,
                name="bench",
                prefix=prefix,
                hashed_key=hash_secret(raw_key),
                scope=ApiKey.Scope.WRITE,
            )
        buyers = [
            {
                "erp_reference": f"B-{n:05d}",
                "legal_name": f"Bench Buyer {n} GmbH",
                "country": "DE",
                "nace_code": "46.69",
                "currency": "EUR",
            }
            for n in range(BUYERS)
        ]
        bulk_upsert(tenant=tenant, actor=None, kind="buyers", records=buyers)
    return tenant, raw_key


# --- PostgreSQL binary COPY -------------------------------------------------------------------

PG_EPOCH = date(2000, 1, 1)
PG_EPOCH_TS = datetime(2000, 1, 1, tzinfo=UTC)


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def _bigint(value: int) -> bytes:
    return struct.pack("!iq", 8, value)


def _date(value: str) -> bytes:
    return struct.pack("!ii", 4, (date.fromisoformat(value) - PG_EPOCH).days)


def _numeric(value: str) -> bytes:
    """A non-negative amount with 2 decimals in PostgreSQL's binary numeric format."""
    cents = int(Decimal(value) * 100)
    integer, fraction = divmod(cents, 100)
    groups = []
    while integer:
        integer, group = divmod(integer, 10_000)
        groups.insert(0, group)
    weight = len(groups) - 1
    groups.append(fraction * 100)  # 2 decimals fill the top of a 4-digit base-10000 group
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack("!hhhh", len(groups), weight, 0, 2)
    body = struct.pack(f"!{len(groups)}h", *groups)
    return struct.pack("!i", len(header) + len(body)) + header + body


COPY_COLUMNS = (
    "tenant_id, buyer_id, erp_reference, number, issue_date, due_date, amount, currency, "
    "paid_amount, paid_date, status, updated_at"
)


def copy_buffer(tenant_id: int, buyer_ids: dict[str, int], invoices: list[dict]) -> bytes:
    now = datetime.now(UTC) - PG_EPOCH_TS
    updated_at = struct.pack("!iq", 8, now // timedelta(microseconds=1))
    null = struct.pack("!i", -1)
    parts = [b"PGCOPY\n\xff\r\n\x00", struct.pack("!ii", 0, 0)]
    tenant = _bigint(tenant_id)
    for invoice in invoices:
        status = "paid" if invoice["paid_amount"] == invoice["amount"] else "open"
        parts += [
            struct.pack("!h", 12),
            tenant,
            _bigint(buyer_ids[invoice["buyer_erp_reference"]]),
            _text(invoice["erp_reference"]),
            _text(invoice["number"]),
            _date(invoice["issue_date"]),
            _date(invoice["due_date"]),
            _numeric(invoice["amount"]),
            _text(invoice["currency"]),
            _numeric(invoice["paid_amount"]),
            null,
            _text(status),
            updated_at,
        ]
    parts.append(struct.pack("!h", -1))
    return b"".join(parts)


def load_by_copy(tenant: Tenant, payloads: list[bytes]) -> float:
    """Seconds to COPY each payload in a transaction of its own, commits included.

    As the owner role: PostgreSQL refuses COPY FROM into a table with row-level security for
    a role subject to it (the runtime role), so only the owner can take this path. The
    connection is opened before the clock starts, like the API's HTTP session.
    """
    with closing(owner_connection()) as owner:
        started = time.perf_counter()
        for payload in payloads:
            with owner, owner.cursor() as cursor:
                cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.pk)])
                cursor.copy_expert(
                    f"COPY buyers_invoice ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT binary)",
                    io.BytesIO(payload),
                )
        return time.perf_counter() - started


def owner_connection() -> psycopg2.extensions.connection:
    database = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=database["NAME"],
        host=database["HOST"],
        port=database["PORT"] or 5432,
        user=settings.DATABASE_OWNER_CREDENTIALS["USER"],
        password=settings.DATABASE_OWNER_CREDENTIALS["PASSWORD"] or None,
    )


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditguard.settings.local",
        "API_THROTTLE_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "creditguard.wsgi:application",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=BASE_DIR, env=env)


def wait_until_up(base_url: str, raw_key: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        with suppress(requests.RequestException):
            response = requests.get(
                f"{base_url}/api/v1/", headers={"Authorization": f"Bearer {raw_key}"}, timeout=30
            )
            if response.status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def single_invoice_endpoint() -> tuple[str, bool]:
    """The one-invoice endpoint if there is one (path, True), else the bulk one (path, False)."""
    try:
        view = resolve("/api/v1/invoices/").func
    except Resolver404:
        return "/api/v1/invoices/bulk", False
    view_class = getattr(view, "view_class", None)
    if view_class is not None and hasattr(view_class, "post"):
        return "/api/v1/invoices/", True
    return "/api/v1/invoices/bulk", False


# --- Clean-up ---------------------------------------------------------------------------------


def delete_tenants(tenant_ids: list[int]) -> None:
    """As the owner role: every tenant-owned row of the tenants, then the tenants."""
    owner = owner_connection()
    try:
        with owner, owner.cursor() as cursor:
            cursor.execute(
                "SELECT c.table_name FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' "
                "AND t.table_type = 'BASE TABLE'"
            )
            tables = [row[0] for row in cursor.fetchall()]
            for tenant_id in tenant_ids:
                # Foreign keys are deferred, so the order of the deletes does not matter; the
                # setting keeps this working for an owner that is subject to row-level security.
                cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
                for table in tables:
                    cursor.execute(f'DELETE FROM "{table}" WHERE tenant_id = %s', [tenant_id])
            cursor.execute("DELETE FROM tenancy_tenant WHERE id = ANY(%s)", [tenant_ids])
    finally:
        owner.close()


# --- Main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=500, help="one-per-request sample size")
    args = parser.parse_args()

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    invoices = make_invoices(args.invoices)
    chunks = [invoices[start : start + args.batch] for start in range(0, len(invoices), args.batch)]
    load_before = os.getloadavg()[0]
    tenant_ids: list[int] = []
    gunicorn = None
    try:
        tenants = {}
        keys = {}
        for name in ("copy-one", "copy-batched", "api", "single"):
            tenant, raw_key = create_tenant(f"bench-{name}-{stamp}", with_key=True)
            tenant_ids.append(tenant.pk)
            tenants[name], keys[name] = tenant, raw_key

        payloads = {}
        for name, parts in (("copy-one", [invoices]), ("copy-batched", chunks)):
            with tenant_context(tenants[name]):
                buyer_ids = dict(Buyer.objects.values_list("erp_reference", "id"))
            payloads[name] = [copy_buffer(tenants[name].pk, buyer_ids, part) for part in parts]
        # All rows in one COPY first, while the table is smallest.
        copy_seconds = {"copy-one": load_by_copy(tenants["copy-one"], payloads["copy-one"])}

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        gunicorn = start_gunicorn(port)
        wait_until_up(base_url, keys["api"], gunicorn)
        session = requests.Session()

        def headers(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[name]}", "Content-Type": "application/json"}

        # Warm both workers up on the bulk path, in the tenant of the single-record sample.
        for round_ in range(6):
            warm_up = [
                {**invoice, "erp_reference": f"WARM-{round_}-{n}"}
                for n, invoice in enumerate(invoices[:200])
            ]
            session.post(
                f"{base_url}/api/v1/invoices/bulk",
                data=orjson.dumps({"records": warm_up}),
                headers=headers("single"),
            ).raise_for_status()

        # API and batched COPY, interleaved batch by batch so that both see the same load
        # from whatever else runs on the machine.
        bodies = [orjson.dumps({"records": chunk}) for chunk in chunks]
        request_seconds = []
        copy_seconds["copy-batched"] = 0.0
        for body, payload in zip(bodies, payloads["copy-batched"], strict=True):
            copy_seconds["copy-batched"] += load_by_copy(tenants["copy-batched"], [payload])
            sent = time.perf_counter()
            response = session.post(
                f"{base_url}/api/v1/invoices/bulk", data=body, headers=headers("api")
            )
            request_seconds.append(time.perf_counter() - sent)
            if response.status_code != 200:
                raise SystemExit(f"bulk POST failed: {response.status_code} {response.text[:500]}")
        api_seconds = sum(request_seconds)

        # One invoice per request, on a sample.
        path, is_single_endpoint = single_invoice_endpoint()
        sample = invoices[: args.single]
        single_bodies = [
            orjson.dumps(invoice if is_single_endpoint else {"records": [invoice]})
            for invoice in sample
        ]
        started = time.perf_counter()
        for body in single_bodies:
            response = session.post(f"{base_url}{path}", data=body, headers=headers("single"))
            if response.status_code not in (200, 201):
                raise SystemExit(
                    f"POST {path} failed: {response.status_code} {response.text[:500]}"
                )
        single_seconds = time.perf_counter() - started

        for name in ("copy-one", "copy-batched", "api"):
            with tenant_context(tenants[name]):
                stored = Invoice.objects.count()
            if stored != len(invoices):
                raise SystemExit(f"{name}: {stored} invoices stored, {len(invoices)} expected")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        if tenant_ids:
            delete_tenants(tenant_ids)

    # The baseline is the faster COPY, whichever it was on this run.
    copy_rate = len(invoices) / min(copy_seconds.values())
    single_label = (
        "POST /invoices/ (1 per request)"
        if is_single_endpoint
        else "POST /invoices/bulk (1 per request)"
    )
    rows = [
        ("binary COPY (1 transaction)", len(invoices), copy_seconds["copy-one"]),
        (
            f"binary COPY ({args.batch:,} per transaction)",
            len(invoices),
            copy_seconds["copy-batched"],
        ),
        (f"POST /invoices/bulk ({args.batch:,} per request)", len(invoices), api_seconds),
        (single_label, len(sample), single_seconds),
    ]
    print()
    print(f"{'method':<40} {'rows':>9} {'seconds':>9} {'rows/s':>10} {'x COPY':>7}")
    for method, count, seconds in rows:
        rate = count / seconds
        print(f"{method:<40} {count:>9,} {seconds:>9.2f} {rate:>10,.0f} {rate / copy_rate:>7.2f}")
    request_seconds.sort()
    print(
        f"\nbulk requests: fastest {request_seconds[0]:.3f} s, median "
        f"{request_seconds[len(request_seconds) // 2]:.3f} s, slowest {request_seconds[-1]:.3f} s"
        f"; load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end"
    )
    ratio = (len(invoices) / api_seconds) / copy_rate
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"target API >= {TARGET_RATIO} x COPY (the faster one): {verdict} ({ratio:.2f} x)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
