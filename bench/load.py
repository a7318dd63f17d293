"""Load: a mixed workload with locust against gunicorn and the demo data; 0 errors expected.

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/load.py [--users 20] [--spawn-rate 5] [--run-time 60] [--batch 20]

Needs the demo data (`manage.py seed_demo`; `make load` migrates and seeds first).

1. Creates a read-write API key for the demo tenant Acme with `api_key_create` (the service
   behind Settings -> API keys, audited, as Acme's administrator).
2. Starts gunicorn (2 sync workers, as bench/ingest.py does) on a free 127.0.0.1 port.
3. Runs locust headless (`bench/locustfile.py`) for `--run-time` seconds with `--users` users
   started `--spawn-rate` per second; three in five are browser users signed in as Acme's
   demo users (dashboard, buyer list, buyer pages, limits, alerts feed), two in five are ERP
   integrations (`POST /api/v1/invoices/bulk` of `--batch` new invoices of demo buyers,
   `POST /api/v1/credit-checks`, open alerts, scores).
4. Prints requests, failures, error rate, p50 and p95 per endpoint and in total, and the
   request rate; exits 1 if any request failed or the workload raised.
5. Revokes the key and deletes the invoices the run pushed (as the owner role), so the demo
   portfolio is as before; the audit trail keeps the key and the bulk writes.

Every request goes to 127.0.0.1; locust stops by itself after `--run-time` seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.contrib.auth import get_user_model
from ingest import free_port, owner_connection, start_gunicorn, wait_until_up  # django.setup()

from buyers.models import Buyer
from creditguard.api.models import ApiKey
from creditguard.api.services import api_key_create, api_key_revoke
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from portfolio.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS

BENCH_DIR = Path(__file__).resolve().parent
TENANT_SLUG = "acme"
KEY_OWNER = "admin@acme.example"


def demo_users(slug: str) -> list[str]:
    """The demo users of one tenant only (a user of two tenants may land in the other)."""
    return [email for email, _name, roles in DEMO_USERS if set(roles) == {slug}]


def run_locust(*, base_url: str, plan_path: Path, workdir: Path, args) -> int:
    command = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(BENCH_DIR / "locustfile.py"),
        "--headless",
        "--host",
        base_url,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.run_time}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(workdir / "load"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {**os.environ, "CREDITGUARD_LOAD_PLAN": str(plan_path)}
    with open(workdir / "locust.log", "wb") as log:
        finished = subprocess.run(
            command,
            cwd=workdir,  # no locust.conf of the project's tree is picked up
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=args.run_time + 120,
            check=False,
        )
    return finished.returncode


def delete_pushed_invoices(tenant: Tenant, prefix: str) -> int:
    """As the owner role: the invoices the run created, so the demo portfolio is unchanged."""
    owner = owner_connection()
    try:
        with owner, owner.cursor() as cursor:
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.pk)])
            cursor.execute(
                "DELETE FROM buyers_invoice WHERE tenant_id = %s AND erp_reference LIKE %s",
                [tenant.pk, f"{prefix}%"],
            )
            return cursor.rowcount
    finally:
        owner.close()


def print_table(stats_csv: Path) -> tuple[int, int]:
    """The per-endpoint table from locust's CSV; returns (requests, failures) in total."""
    with open(stats_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    endpoints = sorted(
        (row for row in rows if row["Name"] != "Aggregated"),
        key=lambda row: row["Name"].split(" ", 1)[1] if " " in row["Name"] else row["Name"],
    )
    width = max(len(row["Name"]) for row in rows) + 2
    print(
        f"{'endpoint':<{width}} {'requests':>9} {'failures':>9} {'errors':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8}"
    )
    for row in [*endpoints, total]:
        name = "total" if row is total else row["Name"]
        requests_, failures = int(row["Request Count"]), int(row["Failure Count"])
        error_rate = failures / requests_ if requests_ else 0.0
        print(
            f"{name:<{width}} {requests_:>9,} {failures:>9,} {error_rate:>8.2%} "
            f"{row['50%']:>8} {row['95%']:>8}"
        )
    print(f"\nrequests/s over the run: {float(total['Requests/s']):.1f}")
    return int(total["Request Count"]), int(total["Failure Count"])


def print_problems(workdir: Path) -> int:
    """Prints the failures and exceptions locust reported; returns the number of exceptions."""
    exceptions = 0
    for name, line in (
        ("load_failures.csv", "  {Occurrences} x {Method} {Name}: {Error}"),
        ("load_exceptions.csv", "  {Count} x {Message}\n{Traceback}"),
    ):
        path = workdir / name
        if not path.exists():
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if rows:
            exceptions += sum(int(row.get("Count", 0)) for row in rows)
            print(f"\n{name.removeprefix('load_').removesuffix('.csv')}:")
            for row in rows:
                print(line.format(**row)[:2000])
    return exceptions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent users")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second")
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    parser.add_argument("--batch", type=int, default=20, help="invoices per bulk request")
    args = parser.parse_args()

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        raise SystemExit("No demo data: run `manage.py seed_demo` first (`make load` does).")
    key_owner = get_user_model().objects.get(email=KEY_OWNER)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    prefix = f"LOAD-{stamp}-"
    with tenant_context(tenant):
        api_key, raw_key = api_key_create(
            tenant=tenant, actor=key_owner, name=f"load test {stamp}", scope=ApiKey.Scope.WRITE
        )
        buyers = list(Buyer.objects.values_list("pk", "erp_reference"))

    load_before = os.getloadavg()[0]
    gunicorn = None
    with tempfile.TemporaryDirectory(prefix="creditguard-load-") as scratch:
        workdir = Path(scratch)
        plan_path = workdir / "plan.json"
        plan_path.write_text(
            json.dumps(
                {
                    "api_key": raw_key,
                    "password": DEMO_PASSWORD,
                    "users": demo_users(TENANT_SLUG),
                    "buyer_ids": [pk for pk, _reference in buyers],
                    "buyer_references": [reference for _pk, reference in buyers],
                    "reference_prefix": prefix,
                    "batch": args.batch,
                }
            )
        )
        try:
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            gunicorn = start_gunicorn(port)
            wait_until_up(base_url, raw_key, gunicorn)
            print(
                f"locust: {args.users} users (browser : ERP = 3 : 2), {args.spawn_rate:g} started/s, "
                f"{args.run_time} s against {base_url} (gunicorn, 2 sync workers), "
                f"tenant {tenant.name}, {len(buyers)} buyers",
                flush=True,
            )
            locust_status = run_locust(
                base_url=base_url, plan_path=plan_path, workdir=workdir, args=args
            )
        finally:
            if gunicorn is not None:
                gunicorn.terminate()
                gunicorn.wait(timeout=30)
            with tenant_context(tenant):
                api_key_revoke(tenant=tenant, actor=key_owner, api_key=api_key)
            deleted = delete_pushed_invoices(tenant, prefix)

        stats_csv = workdir / "load_stats.csv"
        if not stats_csv.exists():
            sys.stdout.write((workdir / "locust.log").read_text(errors="replace"))
            raise SystemExit(f"locust wrote no statistics (exit status {locust_status})")
        print()
        requests_, failures = print_table(stats_csv)
        exceptions = print_problems(workdir)
        if locust_status not in (0, 1):  # 1: locust saw failures, reported above
            sys.stdout.write((workdir / "locust.log").read_text(errors="replace"))
    print(
        f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
        f"{deleted:,} pushed invoices deleted, API key revoked"
    )
    held = requests_ > 0 and failures == 0 and exceptions == 0 and locust_status in (0, 1)
    print(
        f"load held with 0 errors: {'PASS' if held else 'FAIL'} "
        f"({failures:,} failed requests, {exceptions:,} exceptions in the workload)"
    )
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
