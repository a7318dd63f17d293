"""The recommended credit limit for a buyer (pure: no Django, no database).

Every amount is in the tenant's base currency. A credit limit is a ceiling on the buyer's
*total* exposure (open receivables), not an amount on top of it, so exposure is not subtracted;
a recommendation below the current exposure is flagged instead (`below_exposure`).

The rule, step by step (each step is recorded so the reasoning can be shown):

1. Unrated buyer (no grade): the credit policy cannot be applied, so only insured credit is
   recommended: `insurer cover` (0 without cover). Terms are not capped. Skip to step 7.
2. `band maximum`: the absolute maximum of the policy band for the buyer's grade.
3. `equity cap` = max(equity, 0) × band % of equity, when the band sets one and a financial
   statement is on file. `revenue cap` = revenue × band % of revenue, likewise.
4. `no financials cap`: when the band sets a % cap but no financial statement is on file, the
   policy's limit without financials applies instead of the % caps.
5. policy cap = the smallest of steps 2–4.
6. Insurer cover:
   a. raises: insured credit carries little risk, so a cover above the policy cap raises the
      recommendation to min(cover, band maximum) (never above the band maximum);
   b. caps: when the band requires insurance above an amount, credit above that amount must be
      insured: the recommendation is at most max(that amount, cover).
7. Rounded down to a multiple of `ROUNDING_STEP` (limits are set in round amounts).
8. At most the requested amount, when there is a request.
9. Terms: the requested terms, at most the band's maximum payment terms (the band's maximum
   when none were requested).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TypeAlias

ZERO = Decimal("0")
HUNDRED = Decimal("100")
ROUNDING_STEP = Decimal("1000")

# A figure behind a step: an amount, a grade, a percentage or a number of days.
StepValue: TypeAlias = Decimal | int | None


@dataclass(frozen=True)
class Band:
    """One grade band of a credit policy, amounts in base currency."""

    grade_from: int
    grade_to: int
    max_payment_terms_days: int
    max_limit: Decimal
    max_limit_equity_pct: Decimal | None = None
    max_limit_revenue_pct: Decimal | None = None
    insurance_required_above: Decimal | None = None
    four_eyes: bool = False

    def covers(self, grade: int) -> bool:
        return self.grade_from <= grade <= self.grade_to


@dataclass(frozen=True)
class Financials:
    """The latest financial statement's figures, converted to base currency."""

    equity: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class Step:
    """One line of reasoning: `code` names the rule, `amount` its result."""

    code: str
    amount: Decimal | None = None
    values: dict[str, StepValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Recommendation:
    amount: Decimal
    payment_terms_days: int | None
    binding: str  # the code of the step that set the amount
    steps: tuple[Step, ...]
    warnings: tuple[Step, ...] = ()


def band_for_grade(bands: list[Band], grade: int | None) -> Band | None:
    if grade is None:
        return None
    return next((band for band in bands if band.covers(grade)), None)


def round_down(amount: Decimal, step: Decimal = ROUNDING_STEP) -> Decimal:
    return (amount / step).to_integral_value(rounding=ROUND_DOWN) * step


def recommend(
    *,
    grade: int | None,
    band: Band | None,
    financials: Financials | None,
    exposure: Decimal,
    insurer_cover: Decimal,
    limit_without_financials: Decimal,
    requested_amount: Decimal | None = None,
    requested_terms_days: int | None = None,
) -> Recommendation:
    steps: list[Step] = []
    if grade is None or band is None:
        candidate = insurer_cover
        binding = "unrated_insured_only"
        steps.append(Step(binding, candidate, {"insurer_cover": insurer_cover}))
    else:
        candidate, binding = _policy_cap(
            grade=grade,
            band=band,
            financials=financials,
            limit_without_financials=limit_without_financials,
            steps=steps,
        )
        candidate, binding = _apply_insurer_cover(
            band=band,
            candidate=candidate,
            binding=binding,
            insurer_cover=insurer_cover,
            steps=steps,
        )

    rounded = round_down(max(candidate, ZERO))
    if rounded != candidate:
        steps.append(Step("rounded_down", rounded, {"step": ROUNDING_STEP}))
    amount = rounded
    if requested_amount is not None and requested_amount < amount:
        amount = requested_amount
        binding = "requested_amount"
        steps.append(Step(binding, amount))

    terms = requested_terms_days
    if band is not None:
        if terms is None:
            terms = band.max_payment_terms_days
        elif terms > band.max_payment_terms_days:
            terms = band.max_payment_terms_days
            steps.append(
                Step(
                    "terms_capped",
                    None,
                    {"requested": requested_terms_days, "maximum": band.max_payment_terms_days},
                )
            )

    warnings = []
    if amount < exposure:
        warnings.append(Step("below_exposure", amount, {"exposure": exposure}))
    return Recommendation(
        amount=amount,
        payment_terms_days=terms,
        binding=binding,
        steps=tuple(steps),
        warnings=tuple(warnings),
    )


def _policy_cap(
    *,
    grade: int,
    band: Band,
    financials: Financials | None,
    limit_without_financials: Decimal,
    steps: list[Step],
) -> tuple[Decimal, str]:
    caps: list[tuple[Decimal, str]] = [(band.max_limit, "band_maximum")]
    steps.append(
        Step(
            "band_maximum",
            band.max_limit,
            {"grade": grade, "grade_from": band.grade_from, "grade_to": band.grade_to},
        )
    )
    uses_financials = (
        band.max_limit_equity_pct is not None or band.max_limit_revenue_pct is not None
    )
    if uses_financials and financials is None:
        caps.append((limit_without_financials, "no_financials_cap"))
        steps.append(Step("no_financials_cap", limit_without_financials))
    elif financials is not None:
        if band.max_limit_equity_pct is not None:
            equity_cap = max(financials.equity, ZERO) * band.max_limit_equity_pct / HUNDRED
            caps.append((equity_cap, "equity_cap"))
            steps.append(
                Step(
                    "equity_cap",
                    equity_cap,
                    {"equity": financials.equity, "percent": band.max_limit_equity_pct},
                )
            )
        if band.max_limit_revenue_pct is not None:
            revenue_cap = max(financials.revenue, ZERO) * band.max_limit_revenue_pct / HUNDRED
            caps.append((revenue_cap, "revenue_cap"))
            steps.append(
                Step(
                    "revenue_cap",
                    revenue_cap,
                    {"revenue": financials.revenue, "percent": band.max_limit_revenue_pct},
                )
            )
    # The first of equal caps wins, so the band maximum is named when nothing is tighter.
    return min(caps, key=lambda cap: cap[0])


def _apply_insurer_cover(
    *, band: Band, candidate: Decimal, binding: str, insurer_cover: Decimal, steps: list[Step]
) -> tuple[Decimal, str]:
    if insurer_cover > candidate:
        raised = min(insurer_cover, band.max_limit)
        if raised > candidate:
            steps.append(Step("insurer_cover_raises", raised, {"insurer_cover": insurer_cover}))
            candidate, binding = raised, "insurer_cover_raises"
    if band.insurance_required_above is not None:
        insured_ceiling = max(band.insurance_required_above, insurer_cover)
        if candidate > insured_ceiling:
            steps.append(
                Step(
                    "insurance_required_cap",
                    insured_ceiling,
                    {
                        "insurance_required_above": band.insurance_required_above,
                        "insurer_cover": insurer_cover,
                    },
                )
            )
            candidate, binding = insured_ceiling, "insurance_required_cap"
    return candidate, binding
