"""Mixed workload for `bench/load.py`: signed-in browser users and ERP integrations.

Run by `bench/load.py`, which starts the server, creates the API key and writes the plan
(JSON) named by CREDITGUARD_LOAD_PLAN:

    {"api_key": "cg_...", "password": "...", "users": ["credit.manager@acme.example", ...],
     "buyer_ids": [...], "buyer_references": [...], "reference_prefix": "LOAD-...",
     "batch": 20}

This module runs inside locust (gevent), so it imports neither Django nor the project.
Every response that is not what a client expects is a failure: a 4xx/5xx, a sign-in that
is not a redirect away from the form, a bulk answer that did not create every record, a credit check
without a decision.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from locust import HttpUser, between, task

PLAN = json.loads(Path(os.environ["CREDITGUARD_LOAD_PLAN"]).read_text(encoding="utf-8"))
_users = itertools.cycle(PLAN["users"])
_invoice_numbers = itertools.count(1)


class BrowserUser(HttpUser):
    """A credit team member clicking through the app: dashboard, buyers, limits, alerts."""

    weight = 3
    wait_time = between(1, 3)

    def on_start(self) -> None:
        email = next(_users)
        self.client.get("/login/", name="GET /login/")
        with self.client.post(
            "/login/",
            data={
                "username": email,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            name="POST /login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # Signed in is a redirect away from the form; a wrong password answers 200.
            if response.status_code != 302 or "/login/" in response.headers.get("Location", ""):
                response.failure(f"sign-in as {email} failed ({response.status_code})")

    def page(self, path: str, name: str) -> None:
        """A page as the signed-in user sees it; being sent to the sign-in form is a failure."""
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.ok and urlsplit(response.url).path == "/login/":
                response.failure("redirected to the sign-in form")

    @task(3)
    def dashboard(self) -> None:
        self.page("/", "GET / (dashboard)")

    @task(2)
    def buyer_list(self) -> None:
        self.page("/buyers/", "GET /buyers/")

    @task(4)
    def buyer_detail(self) -> None:
        self.page(f"/buyers/{random.choice(PLAN['buyer_ids'])}/", "GET /buyers/[id]/")

    @task(1)
    def limits_overview(self) -> None:
        self.page("/limits/", "GET /limits/")

    @task(1)
    def buyer_limit(self) -> None:
        self.page(f"/limits/buyers/{random.choice(PLAN['buyer_ids'])}/", "GET /limits/buyers/[id]/")

    @task(2)
    def alerts_feed(self) -> None:
        self.page("/monitoring/", "GET /monitoring/ (alerts)")


class ErpUser(HttpUser):
    """An ERP integration: pushes open items, asks for credit decisions, pulls alerts/grades."""

    weight = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {PLAN['api_key']}"

    @task(2)
    def invoices_bulk(self) -> None:
        today = date.today()
        records = []
        for _ in range(PLAN["batch"]):
            number = next(_invoice_numbers)
            issue = today - timedelta(days=random.randrange(30))
            records.append(
                {
                    "erp_reference": f"{PLAN['reference_prefix']}{number:07d}",
                    "buyer_erp_reference": random.choice(PLAN["buyer_references"]),
                    "number": f"{PLAN['reference_prefix']}{number:07d}",
                    "issue_date": issue.isoformat(),
                    "due_date": (issue + timedelta(days=60)).isoformat(),
                    "amount": f"{random.randrange(10_000, 500_000) / 100:.2f}",
                    "currency": "EUR",
                }
            )
        with self.client.post(
            "/api/v1/invoices/bulk",
            json={"records": records},
            name="POST /api/v1/invoices/bulk",
            catch_response=True,
        ) as response:
            if response.ok and response.json().get("created") != len(records):
                response.failure(f"expected {len(records)} created: {response.text[:200]}")

    @task(5)
    def credit_check(self) -> None:
        with self.client.post(
            "/api/v1/credit-checks",
            json={
                "buyer_erp_reference": random.choice(PLAN["buyer_references"]),
                "order_amount": f"{random.randrange(100_000, 10_000_000) / 100:.2f}",
                "payment_terms_days": random.choice((30, 60, 90)),
            },
            name="POST /api/v1/credit-checks",
            catch_response=True,
        ) as response:
            if response.ok and response.json().get("decision") not in ("approve", "hold"):
                response.failure(f"no decision: {response.text[:200]}")

    @task(2)
    def open_alerts(self) -> None:
        self.client.get("/api/v1/alerts/?status=open", name="GET /api/v1/alerts/?status=open")

    @task(2)
    def scores(self) -> None:
        self.client.get("/api/v1/scores/", name="GET /api/v1/scores/")
