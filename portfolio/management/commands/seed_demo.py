"""Idempotent demo data: three tenants, one user per role, one user in all of them.

acme and huadong have two years of invoices and monthly scores; nordwind has six years of
simulated history for the model lab (`monitoring.modellab.demo`): a back-filled score history,
a trained scorecard in shadow mode and a promotion waiting for a second person.

Each capability adds its part through `seed_demo_<app>` functions called from here, so that
`make run` shows every feature with realistic numbers. Running it twice changes nothing.
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from buyers.demo import seed_demo_buyers, seed_demo_erp_sync
from buyers.figures import ANALYZABLE_AFTER_SEED, analyze_tables, refresh_all
from buyers.imports.demo import seed_demo_import_drafts
from claims.demo import seed_demo_claims
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Role
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from monitoring.demo import refresh_demo_alerts, seed_demo_calibration, seed_demo_monitoring
from monitoring.modellab.demo import HISTORY_BUYERS, seed_demo_history, seed_demo_model_lab
from policies.demo import seed_demo_policies
from portfolio.demo import seed_demo_portfolio_history
from portfolio.reports.demo import seed_demo_reports

DEMO_PASSWORD = "creditguard-demo"

DEMO_TENANTS: list[dict[str, Any]] = [
    {"slug": "acme", "name": "Acme Industrial Supplies GmbH", "base_currency": "EUR"},
    {
        "slug": "huadong",
        "name": "华东精密机械有限公司 Huadong Precision Machinery",
        "base_currency": "CNY",
    },
    # Six years of simulated history: enough defaults to train a scorecard in the model lab.
    {"slug": "nordwind", "name": "Nordwind Handel GmbH", "base_currency": "EUR", "history": True},
]

# (email, full name, {tenant slug: (role, approval authority)})
DEMO_USERS = [
    ("admin@acme.example", "Anna Berger", {"acme": (Role.ADMIN, "2000000")}),
    ("credit.manager@acme.example", "Carl Vogel", {"acme": (Role.CREDIT_MANAGER, "500000")}),
    ("senior.approver@acme.example", "Sabine Roth", {"acme": (Role.CREDIT_MANAGER, "5000000")}),
    ("analyst@acme.example", "Li Na Schmidt", {"acme": (Role.ANALYST, "0")}),
    ("viewer@acme.example", "Victor Weiss", {"acme": (Role.VIEWER, "0")}),
    ("admin@huadong.example", "王芳 Wang Fang", {"huadong": (Role.ADMIN, "15000000")}),
    (
        "credit.manager@huadong.example",
        "陈伟 Chen Wei",
        {"huadong": (Role.CREDIT_MANAGER, "4000000")},
    ),
    ("analyst@huadong.example", "刘洋 Liu Yang", {"huadong": (Role.ANALYST, "0")}),
    ("viewer@huadong.example", "赵敏 Zhao Min", {"huadong": (Role.VIEWER, "0")}),
    ("admin@nordwind.example", "Jens Petersen", {"nordwind": (Role.ADMIN, "3000000")}),
    (
        "credit.manager@nordwind.example",
        "Maren Albers",
        {"nordwind": (Role.CREDIT_MANAGER, "750000")},
    ),
    # The second person of the model lab's four eyes: approves the pending promotion.
    (
        "risk.analyst@nordwind.example",
        "Tobias Krüger",
        {"nordwind": (Role.CREDIT_MANAGER, "750000")},
    ),
    ("analyst@nordwind.example", "Ole Jensen", {"nordwind": (Role.ANALYST, "0")}),
    ("viewer@nordwind.example", "Frieda Hansen", {"nordwind": (Role.VIEWER, "0")}),
    (
        "cfo@group.example",
        "Helena Marsh",
        {
            "acme": (Role.ADMIN, "10000000"),
            "huadong": (Role.CREDIT_MANAGER, "20000000"),
            "nordwind": (Role.ADMIN, "10000000"),
        },
    ),
]
# nordwind's model lab: who trained the scorecard, who asked for its promotion.
MODEL_TRAINER = "credit.manager@nordwind.example"
MODEL_REQUESTER = "credit.manager@nordwind.example"


class Command(BaseCommand):
    help = "Load the demo portfolio (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--buyers", type=int, default=320, help="buyers per tenant")
        parser.add_argument(
            "--history-buyers",
            type=int,
            default=HISTORY_BUYERS,
            help="buyers of the tenant with six years of history (nordwind)",
        )

    def handle(self, *args, buyers: int, history_buyers: int, **options) -> None:
        tenants = {spec["slug"]: self._tenant(spec) for spec in DEMO_TENANTS}
        self._users(tenants)
        call_command("import_fx_rates", demo=True, stdout=self.stdout)
        as_of = timezone.localdate()
        with_history = {spec["slug"] for spec in DEMO_TENANTS if spec.get("history")}
        for tenant in tenants.values():
            if tenant.slug in with_history:
                first_seed = seed_demo_history(
                    tenant=tenant, as_of=as_of, buyer_count=history_buyers
                )
                if first_seed:
                    self.stdout.write(f"  {tenant.name}: six years of simulated history loaded")
                for step in seed_demo_model_lab(
                    tenant=tenant,
                    as_of=as_of,
                    trainer_email=MODEL_TRAINER,
                    requester_email=MODEL_REQUESTER,
                ):
                    self.stdout.write(f"  {tenant.name}: {step}")
            else:
                if seed_demo_buyers(tenant=tenant, buyer_count=buyers, as_of=as_of):
                    self.stdout.write(f"  {tenant.name}: demo buyer portfolio created")
                first_seed = seed_demo_monitoring(tenant=tenant, as_of=as_of)
                if first_seed:
                    self.stdout.write(f"  {tenant.name}: two years of monthly scores and alerts")
            calibration = seed_demo_calibration(tenant=tenant)
            if calibration is not None:
                self.stdout.write(
                    f"  {tenant.name}: PDs of {calibration.model_version} calibrated on "
                    f"{calibration.defaults} defaults"
                )
            # A tenant loaded after others: without fresh statistics the planner takes its
            # invoices for one row and the policy seeding below nests loops over all of them.
            analyze_tables(ANALYZABLE_AFTER_SEED)
            if seed_demo_policies(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: demo credit policy and limits created")
            if seed_demo_claims(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: demo claims in every state")
            admins = [
                email
                for email, _n, roles in DEMO_USERS
                if roles.get(tenant.slug, ("",))[0] == Role.ADMIN
            ]
            if admins and seed_demo_erp_sync(tenant=tenant, admin_email=admins[0]):
                self.stdout.write(f"  {tenant.name}: a nightly ERP sync through the API")
            refresh_demo_alerts(tenant=tenant, as_of=as_of, first_seed=first_seed)
            if seed_demo_import_drafts(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: an import draft as Excel writes it locally")
            # The planner must know the demo rows, and the pages read maintained figures.
            analyze_tables(ANALYZABLE_AFTER_SEED)
            with tenant_context(tenant):
                refresh_all(tenant=tenant, as_of=as_of)
            if seed_demo_portfolio_history(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: a year of month-end figures (DSO trend)")
            if seed_demo_reports(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: archived reports (monthly risk, health check)")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/"))
        self.stdout.write(f"  password for every demo user: {DEMO_PASSWORD}")
        for email, _name, roles in DEMO_USERS:
            where = ", ".join(f"{slug}: {role.label}" for slug, (role, _a) in roles.items())
            self.stdout.write(f"  {email:34} {where}")

    def _tenant(self, spec: dict[str, Any]) -> Tenant:
        tenant, _created = Tenant.objects.get_or_create(
            slug=spec["slug"],
            defaults={"name": spec["name"], "base_currency": spec["base_currency"]},
        )
        return tenant

    @transaction.atomic
    def _users(self, tenants: dict[str, Tenant]) -> None:
        User = get_user_model()
        for email, full_name, roles in DEMO_USERS:
            first_name, _sep, last_name = full_name.partition(" ")
            user, created = User.objects.get_or_create(
                username=email,
                defaults={"email": email, "first_name": first_name, "last_name": last_name},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            for slug, (role, authority) in roles.items():
                tenant = tenants[slug]
                with tenant_context(tenant):
                    Membership.objects.get_or_create(
                        user=user,
                        defaults={
                            "tenant": tenant,
                            "role": role,
                            "approval_authority": Decimal(authority),
                            "approval_currency": tenant.base_currency,
                        },
                    )
