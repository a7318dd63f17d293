"""Demo portfolio for `manage.py seed_demo`: buyers across many countries and sectors, 24 months
of invoices with realistic lateness, disputes, payment plans and a few failing buyers.

Deterministic (seeded per tenant) and idempotent: a tenant that already has buyers is left as it
is. Everything is written through the same services as the API and imports.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from . import services
from .bulk import bulk_upsert
from .models import Buyer, Invoice

# country → (currency, share of buyers, name parts (prefixes, suffixes), legal forms, cities)
COUNTRIES: dict[str, tuple[str, int, list[str], list[str], list[str]]] = {
    "DE": (
        "EUR",
        18,
        ["Nord", "Süd", "Rhein", "Alpen", "Hanse", "Elb", "Schwarzwald"],
        ["GmbH", "AG", "GmbH & Co. KG"],
        ["Hamburg", "München", "Köln", "Stuttgart", "Leipzig"],
    ),
    "FR": (
        "EUR",
        9,
        ["Atlantique", "Provence", "Lumière", "Bretagne", "Loire"],
        ["SAS", "SA", "SARL"],
        ["Lyon", "Paris", "Nantes", "Lille"],
    ),
    "IT": (
        "EUR",
        8,
        ["Adriatica", "Lombarda", "Toscana", "Veneta", "Sole"],
        ["S.p.A.", "S.r.l."],
        ["Milano", "Torino", "Bologna", "Napoli"],
    ),
    "ES": (
        "EUR",
        6,
        ["Ibérica", "Levante", "Cantábrica", "Sol"],
        ["S.A.", "S.L."],
        ["Madrid", "Valencia", "Bilbao"],
    ),
    "NL": (
        "EUR",
        5,
        ["Delta", "Polder", "Oranje", "Noordzee"],
        ["B.V.", "N.V."],
        ["Rotterdam", "Eindhoven", "Utrecht"],
    ),
    "PL": (
        "PLN",
        6,
        ["Wisła", "Bałtyk", "Karpaty", "Mazowsze"],
        ["Sp. z o.o.", "S.A."],
        ["Warszawa", "Kraków", "Poznań"],
    ),
    "CZ": ("CZK", 3, ["Vltava", "Morava", "Šumava"], ["s.r.o.", "a.s."], ["Praha", "Brno"]),
    "AT": ("EUR", 3, ["Donau", "Tirol", "Wien"], ["GmbH", "AG"], ["Wien", "Linz", "Graz"]),
    "CH": ("CHF", 3, ["Helvetia", "Jura", "Säntis"], ["AG", "SA"], ["Zürich", "Basel", "Genève"]),
    "GB": (
        "GBP",
        7,
        ["Thames", "Pennine", "Albion", "Mercia"],
        ["Ltd", "plc"],
        ["Birmingham", "Manchester", "Leeds"],
    ),
    "SE": ("SEK", 2, ["Nordic", "Vänern", "Skandia"], ["AB"], ["Göteborg", "Malmö"]),
    "US": (
        "USD",
        7,
        ["Pacific", "Great Lakes", "Lone Star", "Liberty", "Cascade"],
        ["Inc.", "LLC", "Corp."],
        ["Chicago", "Houston", "Columbus"],
    ),
    "CN": (
        "CNY",
        7,
        ["华东", "长江", "珠江", "华北", "东方"],
        ["有限公司", "股份有限公司"],
        ["上海", "苏州", "深圳", "天津"],
    ),
    "JP": ("JPY", 2, ["Sakura", "Fuji", "Kansai"], ["K.K."], ["Osaka", "Nagoya"]),
    "KR": ("KRW", 1, ["Hanil", "Daehan"], ["Co., Ltd."], ["Busan", "Incheon"]),
    "IN": ("INR", 2, ["Deccan", "Ganga", "Sahyadri"], ["Pvt. Ltd."], ["Pune", "Chennai"]),
    "TR": (
        "TRY",
        2,
        ["Anadolu", "Marmara", "Ege"],
        ["A.Ş.", "Ltd. Şti."],
        ["İstanbul", "İzmir", "Bursa"],
    ),
    "BR": (
        "BRL",
        2,
        ["Paulista", "Amazonas", "Atlântico"],
        ["Ltda.", "S.A."],
        ["São Paulo", "Curitiba"],
    ),
    "MX": (
        "MXN",
        2,
        ["Azteca", "Sierra", "Pacífico"],
        ["S.A. de C.V."],
        ["Monterrey", "Guadalajara"],
    ),
    "AE": ("AED", 1, ["Gulf", "Oasis"], ["LLC", "FZE"], ["Dubai", "Sharjah"]),
    "ZA": ("ZAR", 1, ["Cape", "Highveld"], ["(Pty) Ltd"], ["Johannesburg", "Durban"]),
    "SG": ("SGD", 1, ["Lion City", "Straits"], ["Pte. Ltd."], ["Singapore"]),
    "HU": ("HUF", 1, ["Duna", "Tisza"], ["Kft.", "Zrt."], ["Budapest", "Győr"]),
    "RO": ("RON", 1, ["Carpați", "Dunărea"], ["S.R.L."], ["Cluj-Napoca", "Timișoara"]),
}
# (NACE code, trade word EN, trade word ZH)
TRADES = [
    ("46.69", "Industrial Supply", "工业供应"),
    ("28.41", "Machine Tools", "机床"),
    ("25.62", "Precision Engineering", "精密工程"),
    ("22.29", "Plastics", "塑料制品"),
    ("41.20", "Construction", "建设"),
    ("43.21", "Electrical Installations", "电气安装"),
    ("29.32", "Automotive Parts", "汽车零部件"),
    ("10.89", "Foods", "食品"),
    ("47.52", "Hardware Stores", "五金"),
    ("49.41", "Logistics", "物流"),
    ("20.16", "Chemicals", "化工"),
    ("27.11", "Electric Motors", "电机"),
    ("24.10", "Steel", "钢铁"),
    ("33.12", "Maintenance Services", "维修服务"),
    ("62.01", "Systems", "系统"),
    ("45.31", "Motor Trade", "汽配贸易"),
]


@dataclass(frozen=True)
class Profile:
    """How a buyer pays: share of invoices paid late, typical delay, share never paid."""

    name: str
    late_share: float
    mean_delay_days: int
    unpaid_share: float


PROFILES = [
    (Profile("prompt", 0.08, 4, 0.0), 45),
    (Profile("slow", 0.45, 18, 0.005), 35),
    (Profile("late", 0.75, 45, 0.02), 15),
    (Profile("failing", 0.9, 95, 0.35), 5),
]


def _money(value: float) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def seed_demo_buyers(*, tenant: Tenant, buyer_count: int = 320, as_of: date) -> bool:
    """Create the demo portfolio for `tenant`; returns False when it already had buyers."""
    rng = random.Random(f"creditguard-demo-{tenant.slug}")
    with tenant_context(tenant):
        if Buyer.objects.exists():
            return False
        buyers, profiles = _buyer_records(rng, tenant=tenant, count=buyer_count)
        bulk_upsert(tenant=tenant, actor=None, kind="buyers", records=buyers)
        bulk_upsert(
            tenant=tenant,
            actor=None,
            kind="financial_statements",
            records=_statement_records(rng, buyers, profiles, as_of=as_of),
        )
    invoices = _invoice_records(rng, buyers, profiles, as_of=as_of)
    for start in range(0, len(invoices), 10_000):
        with tenant_context(tenant):
            bulk_upsert(
                tenant=tenant, actor=None, kind="invoices", records=invoices[start : start + 10_000]
            )
    payments = _payment_records(invoices, as_of=as_of)
    for start in range(0, len(payments), 10_000):
        with tenant_context(tenant):
            bulk_upsert(
                tenant=tenant, actor=None, kind="payments", records=payments[start : start + 10_000]
            )
    with tenant_context(tenant):
        _disputes_and_plans(rng, tenant=tenant, profiles=profiles, as_of=as_of)
    return True


def _payment_records(invoices: list[dict], *, as_of: date) -> list[dict]:
    """Remittances for the invoices settled in the last six months, one payment each."""
    since = (as_of - timedelta(days=182)).isoformat()
    return [
        {
            "erp_reference": invoice["erp_reference"].replace("-INV-", "-PAY-"),
            "buyer_erp_reference": invoice["buyer_erp_reference"],
            "received_date": invoice["paid_date"],
            "amount": invoice["amount"],
            "currency": invoice["currency"],
            "allocations": [
                {"invoice_erp_reference": invoice["erp_reference"], "amount": invoice["amount"]}
            ],
        }
        for invoice in invoices
        if invoice["paid_date"]
        and invoice["paid_date"] >= since
        and invoice["paid_amount"] == invoice["amount"]
    ]


def company_name(
    rng: random.Random,
    country: str,
    *,
    trade: tuple[str, str],
    taken: set[str],
    parts: tuple[list[str], list[str], list[str]] | None = None,
) -> str:
    """A company name as the country writes it, e.g. "Hanse Machine Tools GmbH", not yet in
    ``taken`` (it is added). ``trade``: the trade word in English and Chinese; ``parts``:
    (prefixes, legal forms, cities) for a country missing from `COUNTRIES`."""
    prefixes, forms, cities = parts or COUNTRIES[country][2:]
    trade_en, trade_zh = trade
    while True:
        if country == "CN":
            name = f"{rng.choice(cities)}{rng.choice(prefixes)}{trade_zh}{rng.choice(forms)}"
        else:
            name = f"{rng.choice(prefixes)} {trade_en} {rng.choice(forms)}"
        if name not in taken:
            break
        prefixes = [*prefixes, f"{rng.choice(prefixes)}{rng.randint(2, 99)}"]
    taken.add(name)
    return name


def _buyer_records(
    rng: random.Random, *, tenant: Tenant, count: int
) -> tuple[list[dict], dict[str, Profile]]:
    countries = [code for code, spec in COUNTRIES.items() for _ in range(spec[1])]
    profile_pool = [profile for profile, weight in PROFILES for _ in range(weight)]
    records: list[dict] = []
    profiles: dict[str, Profile] = {}
    names: set[str] = set()
    for index in range(count):
        country = rng.choice(countries)
        currency, _weight, _prefixes, _forms, cities = COUNTRIES[country]
        nace, trade_en, trade_zh = rng.choice(TRADES)
        name = company_name(rng, country, trade=(trade_en, trade_zh), taken=names)
        reference = f"C-{10000 + index}"
        profiles[reference] = rng.choice(profile_pool)
        records.append(
            {
                "erp_reference": reference,
                "legal_name": name,
                "registration_number": f"{country}{rng.randint(100000, 999999)}",
                "vat_number": f"{country}{rng.randint(100000000, 999999999)}"
                if country not in ("US", "CN", "JP", "IN", "BR", "MX", "AE", "SG", "ZA", "KR")
                else "",
                "country": country,
                "city": rng.choice(cities),
                "nace_code": nace,
                "currency": currency if rng.random() < 0.7 else tenant.base_currency,
                "payment_terms_days": rng.choice([30, 30, 45, 60, 60, 90]),
                "status": "active",
            }
        )
    # A few groups: some buyers belong to a parent among the first buyers.
    for record in records[40:70]:
        record["parent_erp_reference"] = rng.choice(records[:12])["erp_reference"]
    for reference, profile in profiles.items():
        if profile.name == "failing" and rng.random() < 0.35:
            next(r for r in records if r["erp_reference"] == reference)["status"] = "insolvent"
    return records, profiles


def _statement_records(
    rng: random.Random, buyers: list[dict], profiles: dict[str, Profile], *, as_of: date
) -> list[dict]:
    records = []
    for buyer in buyers:
        if rng.random() < 0.25:
            continue  # no financials on file: common for small and foreign buyers
        profile = profiles[buyer["erp_reference"]]
        revenue = rng.lognormvariate(16.5, 1.1)
        margin = {"prompt": 0.08, "slow": 0.05, "late": 0.02, "failing": -0.04}[profile.name]
        for years_back in range(rng.choice([1, 2, 3])):
            year_end = date(as_of.year - 1 - years_back, 12, 31)
            drift = 1 - 0.06 * years_back
            year_revenue = revenue * drift
            total_assets = year_revenue * rng.uniform(0.5, 1.1)
            equity_ratio = {"prompt": 0.42, "slow": 0.3, "late": 0.18, "failing": 0.05}[
                profile.name
            ] + rng.uniform(-0.05, 0.05)
            equity = total_assets * equity_ratio
            total_liabilities = total_assets - equity
            ebit = year_revenue * (margin + rng.uniform(-0.02, 0.02))
            records.append(
                {
                    "buyer_erp_reference": buyer["erp_reference"],
                    "period_end": year_end.isoformat(),
                    "period_months": 12,
                    "currency": buyer["currency"],
                    "revenue": _money(year_revenue),
                    "ebit": _money(ebit),
                    "net_income": _money(ebit * 0.7),
                    "total_assets": _money(total_assets),
                    "current_assets": _money(total_assets * rng.uniform(0.35, 0.6)),
                    "current_liabilities": _money(total_liabilities * rng.uniform(0.4, 0.7)),
                    "total_liabilities": _money(total_liabilities),
                    "retained_earnings": _money(equity * rng.uniform(0.2, 0.7)),
                    "equity": _money(equity),
                    # Optional figures, derived without the generator (the sequence stays).
                    "interest_expense": _money(total_liabilities * 0.04),
                    "depreciation_amortisation": _money(total_assets * 0.05),
                    "prior_period_revenue": _money(revenue * (drift - 0.06)),
                    "audited": rng.random() < 0.6,
                    "source": "annual report",
                }
            )
    return records


def _invoice_records(
    rng: random.Random, buyers: list[dict], profiles: dict[str, Profile], *, as_of: date
) -> list[dict]:
    start = as_of - timedelta(days=730)
    records = []
    for buyer in buyers:
        profile = profiles[buyer["erp_reference"]]
        monthly = rng.choice([2, 3, 4, 6, 8])
        typical = rng.lognormvariate(9.3, 0.9)
        if buyer["currency"] in (
            "JPY",
            "KRW",
            "HUF",
            "CZK",
            "INR",
            "CNY",
            "TRY",
            "MXN",
            "ZAR",
            "SEK",
            "PLN",
            "BRL",
        ):
            typical *= {
                "JPY": 160,
                "KRW": 1450,
                "HUF": 390,
                "CZK": 25,
                "INR": 90,
                "CNY": 7.7,
                "TRY": 36,
                "MXN": 20,
                "ZAR": 20,
                "SEK": 11,
                "PLN": 4.3,
                "BRL": 5.9,
            }[buyer["currency"]]
        count = monthly * 24 + rng.randint(-5, 5)
        for number in range(count):
            issue = start + timedelta(days=rng.randint(0, 729))
            due = issue + timedelta(days=buyer["payment_terms_days"])
            amount = max(50.0, rng.lognormvariate(0, 0.6) * typical)
            # Failing buyers deteriorate: recent invoices are paid later and less often.
            recency = 1 - (as_of - issue).days / 730
            unpaid_share = profile.unpaid_share * (0.3 + 1.4 * recency)
            paid_amount, paid_date = Decimal(0), None
            late = rng.random() < profile.late_share * (
                0.6 + 0.8 * recency if profile.name == "failing" else 1
            )
            delay = (
                int(rng.expovariate(1 / profile.mean_delay_days)) if late else -rng.randint(0, 5)
            )
            pay_day = due + timedelta(days=delay)
            if rng.random() >= unpaid_share and pay_day <= as_of:
                paid_amount, paid_date = Decimal(_money(amount)), pay_day
            elif pay_day <= as_of and rng.random() < 0.3:
                paid_amount = Decimal(_money(amount * rng.uniform(0.2, 0.7)))
            records.append(
                {
                    "erp_reference": f"{buyer['erp_reference']}-INV-{number:04d}",
                    "buyer_erp_reference": buyer["erp_reference"],
                    "number": f"{issue.year}-{rng.randint(100000, 999999)}",
                    "issue_date": issue.isoformat(),
                    "due_date": due.isoformat(),
                    "amount": _money(amount),
                    "currency": buyer["currency"],
                    "paid_amount": str(paid_amount),
                    "paid_date": paid_date.isoformat() if paid_date else None,
                }
            )
    return records


def _disputes_and_plans(
    rng: random.Random, *, tenant: Tenant, profiles: dict[str, Profile], as_of: date
) -> None:
    open_invoices = list(
        Invoice.objects.filter(
            status=Invoice.Status.OPEN, due_date__gte=as_of - timedelta(days=150)
        )
        .select_related("buyer")
        .order_by("id")
    )
    for index, invoice in enumerate(rng.sample(open_invoices, min(len(open_invoices), 45))):
        opened = min(as_of, invoice.issue_date + timedelta(days=rng.randint(5, 40)))
        dispute = services.dispute_open(
            tenant=tenant,
            actor=None,
            buyer=invoice.buyer,
            invoice=invoice,
            erp_reference=f"DSP-{1000 + index}",
            reason=rng.choice(["quality", "quantity", "price", "other"]),
            amount=(invoice.outstanding * Decimal(rng.choice(["1", "0.5", "0.25"]))).quantize(
                Decimal("0.01")
            ),
            currency=invoice.currency,
            opened_date=opened,
            description=rng.choice(
                [
                    "Goods damaged in transit",
                    "Short delivery on two pallets",
                    "Price differs from the framework agreement",
                    "Late delivery penalty claimed",
                ]
            ),
        )
        if index % 3 == 0:
            services.dispute_resolve(
                tenant=tenant,
                actor=None,
                dispute=dispute,
                resolved_date=min(as_of, opened + timedelta(days=rng.randint(7, 30))),
                resolution=rng.choice(["Credit note issued", "Claim rejected, goods as ordered"]),
            )
    strugglers = [ref for ref, profile in profiles.items() if profile.name in ("late", "failing")]
    for index, reference in enumerate(rng.sample(strugglers, min(len(strugglers), 10))):
        buyer = Buyer.objects.get(erp_reference=reference)
        agreed = as_of - timedelta(days=rng.randint(60, 150))
        instalment_amount = Decimal(rng.randint(40, 200) * 100)
        plan = services.payment_plan_create(
            tenant=tenant,
            actor=None,
            buyer=buyer,
            erp_reference=f"PP-{500 + index}",
            agreed_date=agreed,
            currency=buyer.currency,
            instalments=[
                (agreed + timedelta(days=30 * (n + 1)), instalment_amount) for n in range(5)
            ],
            note="Agreed after overdue reminder",
            as_of=as_of,
        )
        for instalment in plan.instalments.filter(due_date__lte=as_of):
            broken = profiles[reference].name == "failing" and rng.random() < 0.6
            if not broken:
                services.instalment_record_payment(
                    tenant=tenant,
                    actor=None,
                    instalment=instalment,
                    amount=instalment.amount,
                    paid_date=instalment.due_date + timedelta(days=rng.randint(-3, 3)),
                    as_of=as_of,
                )


DEMO_ERP_KEY_NAME = "SAP S/4HANA nightly sync"
DEMO_ERP_BATCHES = 4
DEMO_ERP_BATCH_SIZE = 60


def seed_demo_erp_sync(*, tenant: Tenant, admin_email: str) -> bool:
    """The ERP's nightly sync through the API: a write key and a few bulk batches that send the
    latest invoices again, as an ERP does. The dashboard's activity sums them into one line (and
    names the key only to administrators). False when the key exists already."""
    from django.contrib.auth.models import User

    from creditguard.api.models import ApiKey
    from creditguard.api.services import api_key_create

    from .exports import INVOICE_COLUMNS

    with tenant_context(tenant):
        if ApiKey.objects.filter(name=DEMO_ERP_KEY_NAME).exists():
            return False
        admin = User.objects.filter(email=admin_email).first()
        if admin is None:
            return False
        api_key, _raw_key = api_key_create(
            tenant=tenant, actor=admin, name=DEMO_ERP_KEY_NAME, scope="write"
        )
        names = [name for name, _lookup in INVOICE_COLUMNS]
        rows = Invoice.objects.order_by("-issue_date", "-id").values_list(
            *(lookup for _name, lookup in INVOICE_COLUMNS)
        )[: DEMO_ERP_BATCHES * DEMO_ERP_BATCH_SIZE]
        records = [
            {
                name: value.isoformat() if isinstance(value, date) else value
                for name, value in zip(names, row, strict=True)
                if value is not None
            }
            for row in rows
        ]
    for start in range(0, len(records), DEMO_ERP_BATCH_SIZE):
        with tenant_context(tenant):
            bulk_upsert(
                tenant=tenant,
                actor=api_key,
                kind="invoices",
                records=records[start : start + DEMO_ERP_BATCH_SIZE],
            )
    return True
