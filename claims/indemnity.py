"""The indemnity of a claim: what the insurer pays for a buyer's unpaid invoices.

The calculation, in the policy's currency, each step rounded to cents (ROUND_HALF_UP) and kept
in the breakdown so a person can follow it:

1. ``insured_outstanding`` — each eligible invoice is insured up to the cover in force at its
   delivery (its issue date). Invoices are taken oldest delivery first (issue date, then id) and
   the buyer's running total is capped by the cover of each delivery:
   ``insured = min(outstanding, max(0, cover at its delivery - insured before it))``.
   So no invoice is insured beyond the cover that applied when it was delivered, and the
   buyer's total never exceeds the highest of those covers. Ineligible invoices count nothing.
2. ``non_qualifying_loss`` — our reading of the NQL: a per-claim threshold that is also borne
   by the insured. When the insured loss is below it nothing is paid; otherwise it is deducted
   (``max(0, loss - NQL)``), as the issue's formula states ("− non-qualifying loss").
3. ``deductible`` — the policy's per-buyer deductible is deducted.
4. ``aggregate_first_loss`` — the part of the policy-year aggregate first loss not yet absorbed
   by earlier claims (``afl_absorbed``) is absorbed by this claim first.
5. ``indemnity_percentage`` — the rest × the indemnity % (commercial for insolvency and
   protracted default, political for political risk).
6. ``maximum_liability`` — capped by what is left of the policy's maximum liability after the
   indemnities already paid or approved in the policy year.

The result is never negative, never above (highest cover × indemnity %), never above the
remaining maximum liability, and never decreases when more is claimed (every step is
monotone). No Django model or database access: services pass the facts in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from django.utils.translation import gettext_lazy as _

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")
HUNDRED: Final = Decimal("100")

INSOLVENCY: Final = "insolvency"
PROTRACTED_DEFAULT: Final = "protracted_default"
POLITICAL: Final = "political"
CAUSES: Final = (INSOLVENCY, PROTRACTED_DEFAULT, POLITICAL)

INSURED_OUTSTANDING: Final = "insured_outstanding"
NON_QUALIFYING_LOSS: Final = "non_qualifying_loss"
DEDUCTIBLE: Final = "deductible"
AGGREGATE_FIRST_LOSS: Final = "aggregate_first_loss"
INDEMNITY_PERCENTAGE: Final = "indemnity_percentage"
MAXIMUM_LIABILITY: Final = "maximum_liability"

STEP_LABELS: Final = {
    INSURED_OUTSTANDING: _("Eligible outstanding, each invoice capped by its cover at delivery"),
    NON_QUALIFYING_LOSS: _("Non-qualifying loss (nothing is paid below it)"),
    DEDUCTIBLE: _("Deductible per buyer"),
    AGGREGATE_FIRST_LOSS: _("Aggregate first loss not yet absorbed this policy year"),
    INDEMNITY_PERCENTAGE: _("Indemnity percentage"),
    MAXIMUM_LIABILITY: _("Remaining maximum liability of the policy year"),
}


def cents(amount: Decimal) -> Decimal:
    """`amount` rounded to cents, halves away from zero."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class InvoiceLine:
    """One claimed invoice, in the policy's currency."""

    invoice_id: int
    delivered_on: date
    outstanding: Decimal
    cover_at_delivery: Decimal
    eligible: bool


@dataclass(frozen=True)
class Terms:
    """The policy terms the indemnity depends on (percentages as 0-100)."""

    indemnity_commercial_pct: Decimal
    indemnity_political_pct: Decimal
    max_liability: Decimal
    non_qualifying_loss: Decimal = ZERO
    deductible_per_buyer: Decimal = ZERO
    aggregate_first_loss: Decimal = ZERO

    def percentage(self, cause: str) -> Decimal:
        if cause not in CAUSES:
            raise ValueError(f"unknown cause {cause!r}")
        if cause == POLITICAL:
            return self.indemnity_political_pct
        return self.indemnity_commercial_pct


@dataclass(frozen=True)
class Step:
    """One step: the amount before and after it, and the figures it used."""

    code: str
    before: Decimal
    after: Decimal
    params: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(STEP_LABELS[self.code])

    def as_json(self) -> dict[str, str | dict[str, str]]:
        return {
            "code": self.code,
            "before": str(self.before),
            "after": str(self.after),
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class InsuredLine:
    invoice_id: int
    outstanding: Decimal
    insured: Decimal


@dataclass(frozen=True)
class IndemnityResult:
    amount: Decimal
    claimed: Decimal
    insured: Decimal
    afl_absorbed: Decimal
    steps: list[Step]
    lines: list[InsuredLine]

    def as_json(self) -> dict[str, object]:
        return {
            "amount": str(self.amount),
            "claimed": str(self.claimed),
            "insured": str(self.insured),
            "afl_absorbed": str(self.afl_absorbed),
            "steps": [step.as_json() for step in self.steps],
            "lines": [
                {
                    "invoice_id": line.invoice_id,
                    "outstanding": str(line.outstanding),
                    "insured": str(line.insured),
                }
                for line in self.lines
            ],
        }


def insured_lines(lines: Sequence[InvoiceLine]) -> list[InsuredLine]:
    """Each invoice's insured part (step 1), in the order of `lines`."""
    insured: dict[int, Decimal] = {}
    running = ZERO
    for line in sorted(lines, key=lambda item: (item.delivered_on, item.invoice_id)):
        outstanding = cents(max(line.outstanding, ZERO))
        if not line.eligible:
            insured[line.invoice_id] = ZERO
            continue
        room = max(ZERO, cents(line.cover_at_delivery) - running)
        part = min(outstanding, room)
        insured[line.invoice_id] = part
        running += part
    return [
        InsuredLine(
            invoice_id=line.invoice_id,
            outstanding=cents(max(line.outstanding, ZERO)),
            insured=insured[line.invoice_id],
        )
        for line in lines
    ]


def indemnity(
    *,
    lines: Sequence[InvoiceLine],
    terms: Terms,
    cause: str,
    afl_absorbed: Decimal = ZERO,
    liability_used: Decimal = ZERO,
) -> IndemnityResult:
    """The indemnity for `lines` under `terms`.

    `afl_absorbed`: the aggregate first loss already absorbed by earlier claims of the policy
    year; `liability_used`: the indemnity already paid or approved in the policy year.
    """
    percentage = terms.percentage(cause)
    steps: list[Step] = []
    insured = insured_lines(lines)
    claimed = cents(sum((line.outstanding for line in insured), ZERO))
    amount = cents(sum((line.insured for line in insured), ZERO))
    steps.append(
        Step(
            INSURED_OUTSTANDING,
            claimed,
            amount,
            {
                "invoices": str(len(insured)),
                "eligible_invoices": str(sum(1 for line in lines if line.eligible)),
            },
        )
    )

    nql = cents(max(terms.non_qualifying_loss, ZERO))
    after = ZERO if amount < nql else cents(amount - nql)
    steps.append(Step(NON_QUALIFYING_LOSS, amount, after, {"non_qualifying_loss": str(nql)}))
    amount = after

    deductible = cents(max(terms.deductible_per_buyer, ZERO))
    after = cents(max(ZERO, amount - deductible))
    steps.append(Step(DEDUCTIBLE, amount, after, {"deductible": str(deductible)}))
    amount = after

    afl = cents(max(terms.aggregate_first_loss, ZERO))
    already = cents(max(afl_absorbed, ZERO))
    remaining_afl = max(ZERO, afl - already)
    absorbed_now = min(remaining_afl, amount)
    after = cents(amount - absorbed_now)
    steps.append(
        Step(
            AGGREGATE_FIRST_LOSS,
            amount,
            after,
            {
                "aggregate_first_loss": str(afl),
                "already_absorbed": str(already),
                "remaining": str(remaining_afl),
                "absorbed_by_this_claim": str(absorbed_now),
            },
        )
    )
    amount = after

    after = cents(amount * percentage / HUNDRED)
    steps.append(
        Step(INDEMNITY_PERCENTAGE, amount, after, {"percentage": str(percentage), "cause": cause})
    )
    amount = after

    max_liability = cents(max(terms.max_liability, ZERO))
    used = cents(max(liability_used, ZERO))
    remaining = max(ZERO, max_liability - used)
    after = min(amount, remaining)
    steps.append(
        Step(
            MAXIMUM_LIABILITY,
            amount,
            after,
            {
                "maximum_liability": str(max_liability),
                "already_used": str(used),
                "remaining": str(remaining),
            },
        )
    )
    return IndemnityResult(
        amount=after,
        claimed=claimed,
        insured=steps[0].after,
        afl_absorbed=absorbed_now,
        steps=steps,
        lines=insured,
    )


@dataclass(frozen=True)
class RecoverySplit:
    insurer_share: Decimal
    insured_share: Decimal


def recovery_split(
    *,
    amount: Decimal,
    loss: Decimal,
    paid_indemnity: Decimal,
    recovered_before: Decimal,
    insurer_share_before: Decimal,
) -> RecoverySplit:
    """How a recovery on a paid claim is shared between the insurer and the insured.

    The rule: the part of the recovery that, with the recoveries before it, stays within the
    loss (the claimed outstanding) is shared pro rata, the insurer taking
    ``paid indemnity ÷ loss`` of it; the insurer's cumulative share never exceeds the indemnity
    it paid; whatever exceeds the loss, and the rest, goes to the insured.
    """
    amount = cents(amount)
    if loss <= 0 or paid_indemnity <= 0:
        return RecoverySplit(ZERO, amount)
    ratio = min(Decimal(1), paid_indemnity / loss)
    within = min(amount, max(ZERO, cents(loss) - cents(recovered_before)))
    insurer = cents(within * ratio)
    insurer = max(ZERO, min(insurer, cents(paid_indemnity) - cents(insurer_share_before)))
    return RecoverySplit(insurer, amount - insurer)


def write_off_room(
    *, loss: Decimal, indemnity_paid: Decimal, recovered: Decimal, written_off: Decimal
) -> Decimal:
    """The most that can still be written off: loss − indemnity − recoveries − earlier write-offs."""
    return max(ZERO, cents(loss - indemnity_paid - recovered - written_off))
