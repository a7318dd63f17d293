"""Model lab on a synthetic portfolio: does a trained scorecard beat the built-in model?

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/model.py [--buyers 4000 --years 6 --seed 7] [--keep]

1. Creates a scratch database (`bench_model_<pid>`, migrated like a test database, dropped at
   the end; `--keep` keeps it) and one tenant, and loads with COPY, as the owner role, a
   portfolio simulated by `monitoring/modellab/simulation.py`: a latent health per buyer (AR(1) with a common
   business cycle), annual statements with every Altman input and the optional figures
   (published 3–6 months after the year-end), monthly invoices whose lateness grows as health
   falls, legal events, and defaults drawn from a hazard that rises as health falls
   (insolvency proceedings dated, status insolvent from that day). The product's country and
   sector ratings are copied with an effective date before the history starts, so the
   built-in model has them in every past month (the reference data's own rows start in 2026).
2. Back-fills the history month by month with the built-in model (`monitoring.backfill`).
3. Trains a scorecard in the model lab on the first half of the months, the second half being
   its out-of-time test window (`monitoring.modellab.training`).
4. Calibrates the trained scorecard's PDs on the training window: `monitoring.calibration.
   calibrate` when it has the model's scores; a model neither promoted nor in shadow has none,
   and then the PDs its training calibrated on the training window (same maths) are used.
5. On the test window, on the same observations (buyer-months with a known 12-month outcome,
   `monitoring.backtest.outcome`), prints the AUC with its 95 % interval of Altman Z'' alone,
   of ``cg-2026.1`` (the model as of before "missing is neutral", loaded from git history),
   of the built-in ``cg-2026.2`` and of the trained scorecard, the difference trained − built-in
   with a buyer-clustered bootstrap interval, and per grade the calibrated PD against the
   observed default rate; PASS/FAIL for trained − built-in ≥ 0.05 and PD within × 1.5 of the
   observed rate in every grade with enough observations. Exit status 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditguard.settings.local")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from scratch import copy_rows, create_database, drop_database, owner_role  # noqa: E402

import creditguard.queue  # noqa: E402
from creditguard.dates import today  # noqa: E402
from creditguard.reference.nace import divisions_of  # noqa: E402
from creditguard.tenancy.context import tenant_context  # noqa: E402
from creditguard.tenancy.models import Tenant  # noqa: E402
from monitoring import backtest, rescoring, scoring, selectors  # noqa: E402
from monitoring.modellab import simulation as model_sim  # noqa: E402
from monitoring.models import CountryRisk, SectorRisk  # noqa: E402

AUC_GAIN_TARGET = 0.05
PD_RATIO_TARGET = 1.5
# A grade's observed default rate is judged only with this many distinct defaulted buyers (the
# same buyer's monthly scores share one outcome, so buyer-months overstate the evidence).
MIN_GRADE_DEFAULTED_BUYERS = 10
MIN_GRADE_OBSERVATIONS = 300
BOOTSTRAP_ROUNDS = 300
STATEMENT_FIGURES = (
    "revenue", "ebit", "net_income", "total_assets", "current_assets", "current_liabilities",
    "total_liabilities", "retained_earnings", "equity", "interest_expense", "gross_profit",
    "depreciation_amortisation", "cost_of_sales", "inventory", "trade_receivables", "cash",
    "short_term_debt", "provisions", "prior_period_revenue",
)  # fmt: skip

settings.DEBUG = False  # no `connection.queries` bookkeeping


# --- Progress -----------------------------------------------------------------------------------


class Steps:
    """Wall time of each step, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        print(f"{label} ...", flush=True)
        try:
            yield
        finally:
            self.seconds[label] = time.perf_counter() - started
            print(f"{label}: {self.seconds[label]:.1f} s", flush=True)


# --- Loading the simulated portfolio -------------------------------------------------------------


def reference_ratings() -> tuple[dict[str, int], dict[str, int]]:
    """The ratings in force today (the product's reference data)."""
    countries: dict[str, int] = {}
    for code, rating in CountryRisk.objects.order_by("country_id", "-effective_date").values_list(
        "country_id", "rating"
    ):
        countries.setdefault(code, rating)
    sectors: dict[str, int] = {}
    for code, rating in SectorRisk.objects.order_by("nace_section", "-effective_date").values_list(
        "nace_section", "rating"
    ):
        sectors.setdefault(code, rating)
    return countries, sectors


def backdate_ratings(since: date) -> None:
    """The reference data's ratings, also in force from ``since``: as-of scoring of past months
    uses the rating in force then, and the shipped rows start in 2026."""
    countries, sectors = reference_ratings()
    CountryRisk.objects.bulk_create(
        CountryRisk(
            country_id=code,
            rating=rating,
            effective_date=since,
            source="bench/model.py: back-dated copy",
            data_version="bench",
        )
        for code, rating in countries.items()
    )
    SectorRisk.objects.bulk_create(
        SectorRisk(
            nace_section=code,
            rating=rating,
            effective_date=since,
            source="bench/model.py: back-dated copy",
        )
        for code, rating in sectors.items()
    )


def _day(number: int) -> str:
    return date.fromordinal(model_sim.EPOCH.toordinal() + number).isoformat()


def load(portfolio: model_sim.Portfolio, *, tenant_id: int) -> dict[str, int]:
    """COPY the portfolio into the tenant as the owner role (valid by construction)."""
    counts: dict[str, int] = {}
    n = portfolio.buyers
    with connection.cursor() as cursor:
        with suppress(DatabaseError):
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM buyers_buyer")
        first_id = cursor.fetchone()[0] + 1
        ids = list(range(first_id, first_id + n))
        start = f"{portfolio.start.isoformat()} 12:00:00+00"
        # A real NACE code that agrees with the section: the section's first division.
        nace_code = {letter: divisions_of(letter)[0] for letter in model_sim.SECTIONS}
        buyer_lines = []
        for i in range(n):
            default, section = portfolio.default_day[i], portfolio.section[i]
            status = "insolvent" if default else "active"
            # The as-of rules date the insolvency by the buyer record's last change.
            changed = f"{default.isoformat()} 12:00:00+00" if default else start
            buyer_lines.append(
                f"{ids[i]}\t{tenant_id}\tSIM-{i:06d}\tSimulated buyer {i}\t\t\t\t\t\t"
                f"{nace_code[section]}\t{section}\tEUR\t{portfolio.terms[i]}\t"
                f"{status}\t{start}\t{changed}\t{portfolio.country[i]}\n"
            )
        counts["buyers"] = copy_rows(
            cursor,
            "buyers_buyer",
            ["id", "tenant_id", "erp_reference", "legal_name", "registration_number",
             "vat_number", "lei", "city", "address", "nace_code", "nace_section", "currency",
             "payment_terms_days", "status", "created_at", "updated_at", "country_id"],
            buyer_lines,
        )  # fmt: skip
        cursor.execute("SELECT setval(pg_get_serial_sequence('buyers_buyer', 'id'), %s)", [ids[-1]])

        statement_lines = []
        for row in portfolio.statements:
            figures = "\t".join(f"{float(row[name]):.2f}" for name in STATEMENT_FIGURES)
            published = row["published_on"].isoformat()
            statement_lines.append(
                f"{tenant_id}\t{ids[row['buyer']]}\t{row['period_end'].isoformat()}\t12\tEUR\t"
                f"{figures}\t{published}\tt\tbench\t[]\t{published} 12:00:00+00\n"
            )
        counts["statements"] = copy_rows(
            cursor,
            "buyers_financialstatement",
            ["tenant_id", "buyer_id", "period_end", "period_months", "currency",
             *STATEMENT_FIGURES, "published_on", "audited", "source", "warnings", "created_at"],
            statement_lines,
        )  # fmt: skip

        buyer_ids = np.array(ids)[portfolio.invoice_buyer].tolist()
        paid = portfolio.invoice_paid
        is_paid = paid != model_sim.NEVER
        # The last change of a record is when it was paid, else when it was issued: the as-of
        # rules take an invoice as known from the earlier of its issue date and last change.
        changed = np.where(is_paid, paid, portfolio.invoice_issue).tolist()
        day_texts: dict[int, str] = {}

        def day(number: int) -> str:
            text = day_texts.get(number)
            if text is None:
                text = day_texts[number] = _day(number)
            return text

        invoice_lines = (
            f"{tenant_id}\t{buyer}\tINV-{k:08d}\t{k}\t{day(issue)}\t{day(due)}\t{amount:.2f}\tEUR\t"
            f"{amount if settled else 0:.2f}\t{day(paid_on) if settled else chr(92) + 'N'}\t"
            f"{'paid' if settled else 'open'}\t{day(last)} 12:00:00+00\n"
            for k, (buyer, issue, due, amount, settled, paid_on, last) in enumerate(
                zip(buyer_ids, portfolio.invoice_issue.tolist(), portfolio.invoice_due.tolist(),
                    portfolio.invoice_amount.tolist(), is_paid.tolist(), paid.tolist(), changed,
                    strict=True)
            )
        )  # fmt: skip
        counts["invoices"] = copy_rows(
            cursor,
            "buyers_invoice",
            ["tenant_id", "buyer_id", "erp_reference", "number", "issue_date", "due_date",
             "amount", "currency", "paid_amount", "paid_date", "status", "updated_at"],
            invoice_lines,
        )  # fmt: skip
        counts["legal events"] = copy_rows(
            cursor,
            "monitoring_legalevent",
            ["tenant_id", "buyer_id", "kind", "event_date", "description", "source", "created_at"],
            (
                f"{tenant_id}\t{ids[i]}\t{kind}\t{day_.isoformat()}\t\tbench\t"
                f"{day_.isoformat()} 12:00:00+00\n"
                for i, kind, day_ in portfolio.legal_events
            ),
        )
        with suppress(DatabaseError):
            cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE")
    counts["defaults"] = sum(1 for day_ in portfolio.default_day if day_ is not None)
    return counts


# --- The product's services ----------------------------------------------------------------------


class Queue:
    """Stands in for Celery: the services enqueue by task name after commit; the bench runs the
    work in-process (a worker of the development stack would look in another database)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._original = creditguard.queue.enqueue

    def __enter__(self) -> Queue:
        def record(
            task_name: str, /, *args: Any, countdown: float | None = None, **kwargs: Any
        ) -> None:
            self.sent.append((task_name, args, kwargs))

        creditguard.queue.enqueue = record
        return self

    def __exit__(self, *exc: object) -> None:
        creditguard.queue.enqueue = self._original


def bench_user(tenant: Tenant) -> Any:
    """A credit manager of the tenant: the model lab's services want a person."""
    from django.contrib.auth.models import User

    from creditguard.accounts.models import Membership

    user = User.objects.create_user(username=f"bench-model-{tenant.pk}", password=None)
    with tenant_context(tenant):
        Membership.objects.create(tenant=tenant, user=user, role="credit_manager")
    return user


def run_backfill(tenant: Tenant, user: Any, first: date, last: date) -> tuple[int, str]:
    from monitoring import backfill

    with Queue():
        with tenant_context(tenant):
            run = backfill.backfill_start(
                tenant=tenant, actor=user, first_period=first, last_period=last
            )
        backfill.backfill_execute(run.pk, tenant_id=tenant.pk, time_budget=None)
    with tenant_context(tenant):
        run.refresh_from_db()
    if run.status != "succeeded":
        raise SystemExit(f"back-fill {run.pk} ended {run.status}: {run.error}")
    return run.scores_written, run.model_version


def run_training(
    tenant: Tenant, user: Any, *, train: tuple[date, date], test: tuple[date, date]
) -> Any:
    from monitoring.modellab import training

    with Queue():
        with tenant_context(tenant):
            model = training.training_start(
                tenant=tenant,
                actor=user,
                train_from=train[0],
                train_to=train[1],
                test_from=test[0],
                test_to=test[1],
            )
        training.training_execute(model.pk, tenant_id=tenant.pk)
    with tenant_context(tenant):
        model.refresh_from_db()
    if model.status == "failed" or not model.spec:
        raise SystemExit(f"training of {model.version} ended {model.status}: {model.error}")
    return model


# --- Observations --------------------------------------------------------------------------------


def periods_between(first: date, last: date) -> list[date]:
    periods = [first]
    while periods[-1] < last:
        periods.append(model_sim.add_months(periods[-1], 1))
    return periods


def risk_frames(tenant: Tenant, periods: list[date], buyer_ids: list[int]) -> pd.DataFrame:
    """The as-of risk frames of every period (the back-fill's and the training's inputs)."""
    frames = []
    for period in periods:
        with tenant_context(tenant):
            frame = rescoring.buyer_risk_frame(
                tenant_id=tenant.pk, buyer_ids=buyer_ids, as_of=period
            )
        frame["period"] = period
        frames.append(frame.reset_index())
    return pd.concat(frames, ignore_index=True)


def with_outcomes(frame: pd.DataFrame, defaults: dict[int, date], as_of: date) -> pd.DataFrame:
    """Keep the rows whose 12-month outcome is known; ``defaulted`` 1/0."""
    outcomes = [
        backtest.outcome(
            period=period, known_on=period, first_default_on=defaults.get(buyer), as_of=as_of
        )
        for buyer, period in zip(frame["buyer_id"].tolist(), frame["period"].tolist(), strict=True)
    ]
    kept = frame.assign(outcome=outcomes)
    kept = kept[kept["outcome"].isin([backtest.Outcome.DEFAULTED, backtest.Outcome.PERFORMING])]
    kept = kept.assign(defaulted=(kept["outcome"] == backtest.Outcome.DEFAULTED).astype(int))
    return kept.drop(columns="outcome").reset_index(drop=True)


def load_cg_2026_1() -> ModuleType | None:
    """`monitoring/scoring.py` as of the last commit with ``cg-2026.1`` (git history)."""
    try:
        changed = subprocess.run(
            ["git", "log", "-1", "--format=%H", "-S", 'MODEL_VERSION = "cg-2026.1"', "--",
             "monitoring/scoring.py"],
            cwd=BASE_DIR, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        source = subprocess.run(
            ["git", "show", f"{changed}^:monitoring/scoring.py"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if 'MODEL_VERSION = "cg-2026.1"' not in source:
        return None
    spec = importlib.util.spec_from_loader("bench_scoring_cg_2026_1", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, "monitoring/scoring.py@cg-2026.1", "exec"), module.__dict__)
    return module


# --- Statistics ----------------------------------------------------------------------------------


def fast_auc(risk: np.ndarray, defaulted: np.ndarray) -> float:
    """Mann–Whitney AUC of ``risk`` (higher = riskier), ties one half (as `backtest.auc`)."""
    from scipy.stats import rankdata

    ranks = rankdata(risk)
    n_bad = defaulted.sum()
    n_good = len(defaulted) - n_bad
    return float((ranks[defaulted == 1].sum() - n_bad * (n_bad + 1) / 2) / (n_bad * n_good))


def auc_with_interval(safety: np.ndarray, defaulted: np.ndarray) -> tuple[float, float, float]:
    """The product's AUC (`backtest.auc`, higher score = safer) and its Hanley–McNeil interval."""
    area = backtest.auc(safety.tolist(), defaulted.astype(bool).tolist())
    assert area is not None
    n_bad = int(defaulted.sum())
    error = backtest.auc_standard_error(
        area, n_defaulted=n_bad, n_performing=len(defaulted) - n_bad
    )
    return area, area - backtest.Z_95 * error, area + backtest.Z_95 * error


def clustered_bootstrap(
    buyers: np.ndarray,
    defaulted: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    *,
    rounds: int,
    seed: int,
) -> tuple[float, float]:
    """95 % interval of ``statistic(rows)`` resampling whole buyers (a buyer's monthly
    observations share one outcome, so rows are not independent)."""
    rng = np.random.default_rng(seed)
    unique, inverse = np.unique(buyers, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == k) for k in range(len(unique))]
    values = []
    for _round in range(rounds):
        picked = rng.integers(0, len(unique), len(unique))
        rows = np.concatenate([rows_of[k] for k in picked])
        if 0 < defaulted[rows].sum() < len(rows):
            values.append(statistic(rows))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


# --- Main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=4000)
    parser.add_argument("--years", type=int, default=6, help="scored years (half train, half test)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cycle",
        type=float,
        default=model_sim.CYCLE_SD,
        help="standard deviation of the business cycle in health units (0: none)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    options = parser.parse_args()

    on = today()
    last = model_sim.add_months(on.replace(day=1), -12)  # the last month with a known outcome
    first = model_sim.add_months(last, -(12 * options.years - 1))
    test_first = model_sim.add_months(first, 12 * (options.years // 2))
    train = (first, model_sim.add_months(test_first, -1))
    test = (test_first, last)
    simulation_start = date(first.year - 2, 1, 1)

    steps = Steps()
    load_at_start = os.getloadavg()[0]
    started = time.perf_counter()
    with steps.step("scratch database (migrate)"):
        original = create_database("model")
    print(f"scratch database {connection.settings_dict['NAME']}", flush=True)
    notes: list[str] = []
    try:
        with owner_role():
            countries, sectors = reference_ratings()
            with steps.step("simulate"):
                portfolio = model_sim.simulate(
                    buyers=options.buyers,
                    start=simulation_start,
                    end=model_sim.add_months(on.replace(day=1), 1),
                    today=on,
                    country_ratings=countries,
                    sector_ratings=sectors,
                    seed=options.seed,
                    cycle_sd=options.cycle,
                )
            with steps.step("load (COPY)"):
                tenant = Tenant.objects.create(name="Bench model lab", slug="bench-model")
                backdate_ratings(date(simulation_start.year - 1, 1, 1))
                counts = load(portfolio, tenant_id=tenant.pk)
            print(", ".join(f"{value:,} {key}" for key, value in counts.items()), flush=True)
        tenant = Tenant.objects.get(pk=tenant.pk)
        user = bench_user(tenant)

        with steps.step(f"back-fill {first:%Y-%m}..{last:%Y-%m} (built-in model)"):
            written, builtin_version = run_backfill(tenant, user, first, last)
        print(f"{written:,} scores of {builtin_version}", flush=True)

        with steps.step(
            f"train {train[0]:%Y-%m}..{train[1]:%Y-%m}, test {test[0]:%Y-%m}..{test[1]:%Y-%m}"
        ):
            model = run_training(tenant, user, train=train, test=test)
        features = [feature["name"] for feature in model.spec.get("features", [])]
        print(f"{model.version}: {len(features)} features: {', '.join(features)}", flush=True)
        own_test = model.metrics.get("test", {})
        print(
            "the model lab's own out-of-time back-test: AUC "
            f"{(own_test.get('model') or {}).get('auc')} trained vs "
            f"{(own_test.get('builtin') or {}).get('auc')} built-in "
            f"(training AUC {model.metrics.get('training', {}).get('auc')}, "
            f"period step {model.metrics.get('period_step')})",
            flush=True,
        )

        from buyers.models import Buyer

        with tenant_context(tenant):
            defaults = selectors.default_dates()
            buyer_ids = sorted(Buyer.objects.values_list("pk", flat=True))

        with steps.step("calibrate PDs on the training window"):
            from monitoring.calibration import services as calibration_services

            calibration_table: dict[int, Decimal] | None = None
            try:
                with tenant_context(tenant):
                    calibration = calibration_services.calibrate(
                        tenant=tenant,
                        actor=user,
                        model_version=model.version,
                        first_period=train[0],
                        last_period=train[1],
                    )
                calibration_table = {
                    int(grade): Decimal(value) for grade, value in calibration.pd_by_grade.items()
                }
                calibration_counts = (calibration.observations, calibration.defaults)
            except ValidationError as error:
                # `calibrate` reads the back-test tables, which hold the official model's
                # scores (and shadow scores); a freshly trained model has none yet. Its training
                # calibrated its PDs on the training window with the same maths
                # (`calibrate_grades`, same prior): those are the spec's `pd_by_grade`.
                notes.append(
                    f"calibration: `calibrate(model_version={model.version!r})` refused "
                    f"({' '.join(error.messages)[:90]}...); the PDs are the ones the training "
                    "calibrated on the training window (`training.calibrated_pds`, the same "
                    "`calibrate_grades` maths and prior), stored in the spec"
                )
                calibration_table = None
                metrics_training = model.metrics.get("training", {})
                calibration_counts = (
                    int(metrics_training.get("observations") or 0),
                    int(metrics_training.get("defaults") or 0),
                )

        with steps.step("test-window observations (as-of risk frames)"):
            frame = with_outcomes(
                risk_frames(tenant, periods_between(*test), buyer_ids), defaults, on
            )
            with tenant_context(tenant):
                backfilled = selectors.backtest_observations(
                    model_version=builtin_version, first_period=test[0], last_period=test[1]
                )
            stored = pd.DataFrame(
                [(item.buyer_id, item.period, float(item.score)) for item in backfilled],
                columns=["buyer_id", "period", "stored_score"],
            )
            frame = frame.merge(stored, on=["buyer_id", "period"], how="inner")

        with steps.step("score the test window"):
            from monitoring.modellab.features import feature_frame

            builtin = scoring.score_frame(frame)
            mismatches = int((np.abs(builtin["score"] - frame["stored_score"]) > 0.005).sum())
            trained = score_with_spec(model.spec, frame, pd_by_grade=calibration_table)
            z_score = feature_frame(frame)["z_score"].to_numpy(dtype=float)
            old = load_cg_2026_1()
            old_scores = old.score_frame(frame)["score"].to_numpy(dtype=float) if old else None
    finally:
        if options.keep:
            print(f"kept {connection.settings_dict['NAME']}")
        else:
            drop_database(original)
    total = time.perf_counter() - started

    defaulted = frame["defaulted"].to_numpy()
    buyers = frame["buyer_id"].to_numpy()
    z_missing = int(np.isnan(z_score).sum())
    z_filled = np.where(np.isnan(z_score), np.nanmedian(z_score), z_score)
    columns: list[tuple[str, np.ndarray]] = [("Altman Z'' alone", z_filled)]
    if old_scores is not None:
        columns.append(("cg-2026.1 (before missing is neutral)", old_scores))
    columns.append((f"built-in {builtin_version}", builtin["score"].to_numpy(dtype=float)))
    columns.append((f"trained {model.version}", trained["score"].to_numpy(dtype=float)))

    print()
    print(
        f"Model lab on a synthetic portfolio: {options.buyers:,} buyers, seed {options.seed}, "
        f"{counts['defaults']:,} defaults in {simulation_start:%Y-%m}..{on:%Y-%m}"
    )
    print(
        f"test window {test[0]:%Y-%m}..{test[1]:%Y-%m}: {len(frame):,} buyer-months with a known "
        f"12-month outcome, {int(defaulted.sum()):,} defaulted "
        f"({frame.loc[frame['defaulted'] == 1, 'buyer_id'].nunique():,} buyers), "
        f"default rate {defaulted.mean():.2%}; same observations for every model"
    )
    print(f"{'model':<44}{'AUC':>8}{'95 % interval':>20}")
    areas = {}
    for label, safety in columns:
        area, low, high = auc_with_interval(safety, defaulted)
        areas[label] = area
        print(f"{label:<44}{area:>8.4f}      [{low:.4f}, {high:.4f}]")
    builtin_safety = columns[-2][1]
    trained_safety = columns[-1][1]
    gain = areas[columns[-1][0]] - areas[columns[-2][0]]
    gain_low, gain_high = clustered_bootstrap(
        buyers,
        defaulted,
        lambda rows: (
            fast_auc(-trained_safety[rows], defaulted[rows])
            - fast_auc(-builtin_safety[rows], defaulted[rows])
        ),
        rounds=BOOTSTRAP_ROUNDS,
        seed=options.seed,
    )
    print(
        "(intervals: Hanley & McNeil, as the product's back-test shows them; they treat "
        "buyer-months as independent and are too narrow)"
    )
    if z_missing:
        print(f"Z'' unknown (no statement known) for {z_missing:,} rows: scored at the median")
    if old_scores is not None:
        differing = int((np.abs(old_scores - builtin_safety) > 0.005).sum())
        print(
            f"cg-2026.1 and {builtin_version} differ on {differing:,} of {len(frame):,} rows "
            "(they differ only where data is missing)"
        )
    else:
        print("cg-2026.1: not in the git history here, not measured")
    print(f"back-filled scores vs re-scored on the same frames: {mismatches} mismatches")

    gain_ok = gain >= AUC_GAIN_TARGET
    print(
        f"trained - built-in = {gain:+.4f}  (95 % buyer-clustered bootstrap "
        f"[{gain_low:+.4f}, {gain_high:+.4f}]; target >= {AUC_GAIN_TARGET})  "
        f"{'PASS' if gain_ok else 'FAIL'}"
    )

    print()
    print(
        f"PDs of {model.version} calibrated on {train[0]:%Y-%m}..{train[1]:%Y-%m} "
        f"({calibration_counts[0]:,} observations, {calibration_counts[1]:,} defaults) vs the "
        f"default rate observed in {test[0]:%Y-%m}..{test[1]:%Y-%m}"
    )
    print(
        f"{'grade':>5}{'buyer-months':>14}{'defaults':>10}{'buyers':>8}{'observed':>11}"
        f"{'PD':>10}{'PD/obs':>8}  result"
    )
    by_grade = frame.assign(
        grade=trained["grade"].to_numpy(), pd=trained["probability_of_default"].to_numpy()
    )
    judged, passed, thin = 0, 0, []
    for grade in range(1, 11):
        rows = by_grade[by_grade["grade"] == grade]
        if rows.empty:
            continue
        observations = len(rows)
        defaults_count = int(rows["defaulted"].sum())
        defaulted_buyers = rows.loc[rows["defaulted"] == 1, "buyer_id"].nunique()
        observed = defaults_count / observations
        probability = float(rows["pd"].mean())
        ratio = probability / observed if observed else float("inf")
        enough = (
            defaulted_buyers >= MIN_GRADE_DEFAULTED_BUYERS
            and observations >= MIN_GRADE_OBSERVATIONS
        )
        if enough:
            judged += 1
            ok = 1 / PD_RATIO_TARGET <= ratio <= PD_RATIO_TARGET
            passed += ok
            result = "PASS" if ok else "FAIL"
        else:
            thin.append(grade)
            result = "too thin"
        print(
            f"{grade:>5}{observations:>14,}{defaults_count:>10,}{defaulted_buyers:>8}"
            f"{observed:>11.3%}{probability:>10.3%}{ratio:>8.2f}  {result}"
        )
    pd_ok = judged > 0 and passed == judged
    train_rate = calibration_counts[1] / calibration_counts[0] if calibration_counts[0] else 0.0
    print(
        f"default rate: training window {train_rate:.2%}, test window {defaulted.mean():.2%}; "
        f"mean calibrated PD on the test window {by_grade['pd'].mean():.2%} "
        f"(x{by_grade['pd'].mean() / defaulted.mean():.2f} the observed rate)"
    )
    # Why a grade misses, when one does: the PDs are known when the test window starts, the
    # default rates of its years move with the business cycle (see `--cycle`).
    years = by_grade.assign(year=pd.to_datetime(by_grade["period"]).dt.year)
    judged_grades = [g for g in range(1, 11) if g not in thin and (by_grade["grade"] == g).any()]
    print(
        "per test year: observed default rate against the mean calibrated PD, and the observed "
        "rate of each judged grade"
    )
    print(
        f"{'year':>5}{'buyer-months':>14}{'observed':>11}{'mean PD':>10}{'PD/obs':>8}  "
        + "".join(f"{f'grade {g}':>10}" for g in judged_grades)
    )
    for year, rows in years.groupby("year"):
        observed_rate = rows["defaulted"].mean()
        mean_pd = float(rows["pd"].mean())
        per_grade = "".join(
            f"{rows.loc[rows['grade'] == g, 'defaulted'].mean():>10.3%}" for g in judged_grades
        )
        print(
            f"{year:>5}{len(rows):>14,}{observed_rate:>11.3%}{mean_pd:>10.3%}"
            f"{mean_pd / observed_rate if observed_rate else float('inf'):>8.2f}  {per_grade}"
        )
    print(
        f"calibrated PD within x{PD_RATIO_TARGET} of the observed rate: {passed} of {judged} "
        f"grades with enough observations (at least {MIN_GRADE_DEFAULTED_BUYERS} defaulted "
        f"buyers and {MIN_GRADE_OBSERVATIONS} buyer-months); too thin: "
        f"{', '.join(map(str, thin)) or 'none'}  {'PASS' if pd_ok else 'FAIL'}"
    )
    print()
    for label, seconds in steps.seconds.items():
        print(f"{label:<60}{seconds:>8.1f} s")
    print(f"{'total':<60}{total:>8.1f} s")
    print(f"load average {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    for note in notes:
        print(f"note: {note}")
    return 0 if gain_ok and pd_ok else 1


def score_with_spec(spec: Any, frame: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    from monitoring.modellab.scorecard import score_with_spec as score

    return score(spec, frame, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
