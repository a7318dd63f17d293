"""Idempotent demo data: two tenants, one user per role, one user in both tenants.

Each capability adds its part through `seed_demo_<app>` functions called from here, so that
`make run` shows every feature with realistic numbers. Running it twice changes nothing.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from buyers.demo import seed_demo_buyers
from claims.demo import seed_demo_claims
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Role
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from monitoring.demo import refresh_demo_alerts, seed_demo_monitoring
from policies.demo import seed_demo_policies

DEMO_PASSWORD = "creditguard-demo"

DEMO_TENANTS = [
    {"slug": "acme", "name": "Acme Industrial Supplies GmbH", "base_currency": "EUR"},
    {
        "slug": "huadong",
        "name": "华东精密机械有限公司 Huadong Precision Machinery",
        "base_currency": "CNY",
    },
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
    (
        "cfo@group.example",
        "Helena Marsh",
        {"acme": (Role.ADMIN, "10000000"), "huadong": (Role.CREDIT_MANAGER, "20000000")},
    ),
]


class Command(BaseCommand):
    help = "Load the demo portfolio (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--buyers", type=int, default=320, help="buyers per tenant")

    def handle(self, *args, buyers: int, **options) -> None:
        tenants = {spec["slug"]: self._tenant(spec) for spec in DEMO_TENANTS}
        self._users(tenants)
        call_command("import_fx_rates", demo=True, stdout=self.stdout)
        as_of = timezone.localdate()
        for tenant in tenants.values():
            if seed_demo_buyers(tenant=tenant, buyer_count=buyers, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: demo buyer portfolio created")
            first_seed = seed_demo_monitoring(tenant=tenant, as_of=as_of)
            if first_seed:
                self.stdout.write(f"  {tenant.name}: two years of monthly scores and alerts")
            if seed_demo_policies(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: demo credit policy and limits created")
            if seed_demo_claims(tenant=tenant, as_of=as_of):
                self.stdout.write(f"  {tenant.name}: demo claims in every state")
            refresh_demo_alerts(tenant=tenant, as_of=as_of, first_seed=first_seed)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/"))
        self.stdout.write(f"  password for every demo user: {DEMO_PASSWORD}")
        for email, _name, roles in DEMO_USERS:
            where = ", ".join(f"{slug}: {role.label}" for slug, (role, _a) in roles.items())
            self.stdout.write(f"  {email:34} {where}")

    def _tenant(self, spec: dict) -> Tenant:
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
