"""Human-readable, translated sentences for the codes the pure modules return.

The pure modules (`recommendation`, `credit_check`, `approval`) return codes and numbers; pages
and the API turn them into sentences here, in the language of the request.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from .approval import Breach, Objection, PolicyBreach
from .credit_check import Reason, ReasonCode, ReasonValue
from .recommendation import Step


def amount_text(value: Decimal | None, currency: str) -> str:
    """1234567.5 EUR → "1,234,568 EUR" (half up, like the `money` template filter)."""
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP):,.0f} {currency}"


def _money(value: ReasonValue, currency: str) -> str:
    """`amount_text` of an amount among a step's or a reason's values."""
    if not isinstance(value, Decimal):
        raise TypeError(f"not an amount: {value!r}")
    return amount_text(value, currency)


def _percent(value: ReasonValue) -> str:
    if not isinstance(value, Decimal):
        raise TypeError(f"not a percentage: {value!r}")
    return f"{value.normalize():f}%"


def step_text(step: Step, currency: str) -> str:
    values = step.values
    amount = amount_text(step.amount, currency)
    texts = {
        "unrated_insured_only": lambda: (
            _("The buyer has no grade yet, so only insured credit is recommended: %(amount)s.")
            % {"amount": amount}
        ),
        "band_maximum": lambda: (
            _("Grade %(grade)s: the policy allows at most %(amount)s.")
            % {"grade": values.get("grade"), "amount": amount}
        ),
        "equity_cap": lambda: (
            _("%(percent)s of equity (%(equity)s) = %(amount)s.")
            % {
                "percent": _percent(values["percent"]),
                "equity": _money(values["equity"], currency),
                "amount": amount,
            }
        ),
        "revenue_cap": lambda: (
            _("%(percent)s of revenue (%(revenue)s) = %(amount)s.")
            % {
                "percent": _percent(values["percent"]),
                "revenue": _money(values["revenue"], currency),
                "amount": amount,
            }
        ),
        "no_financials_cap": lambda: (
            _("No financial statement on file: at most %(amount)s without financials.")
            % {"amount": amount}
        ),
        "insurer_cover_raises": lambda: (
            _("Insurer cover of %(cover)s raises the recommendation to %(amount)s.")
            % {
                "cover": _money(values["insurer_cover"], currency),
                "amount": amount,
            }
        ),
        "insurance_required_cap": lambda: (
            _("Credit above %(threshold)s must be insured (cover %(cover)s): at most %(amount)s.")
            % {
                "threshold": _money(values["insurance_required_above"], currency),
                "cover": _money(values["insurer_cover"], currency),
                "amount": amount,
            }
        ),
        "rounded_down": lambda: _("Rounded down to %(amount)s.") % {"amount": amount},
        "requested_amount": lambda: (
            _("The requested %(amount)s is within the policy.") % {"amount": amount}
        ),
        "terms_capped": lambda: (
            _("Payment terms limited to %(days)s days by the policy.")
            % {"days": values.get("maximum")}
        ),
        "below_exposure": lambda: (
            _("Below the current exposure of %(exposure)s: the buyer would be over its limit.")
            % {"exposure": _money(values["exposure"], currency)}
        ),
    }
    return texts[step.code]() if step.code in texts else step.code


def reason_text(reason: Reason, currency: str) -> str:
    values = reason.values
    code = reason.code
    if code == ReasonCode.BLOCKED:
        return _("The buyer or its credit limit is blocked.")
    if code == ReasonCode.NO_LIMIT:
        if values.get("limit_status") == "expired":
            return _("The buyer's credit limit expired on %(date)s.") % {
                "date": values.get("expiry_date")
            }
        return _("The buyer has no credit limit.")
    if code == ReasonCode.OVER_LIMIT:
        return _(
            "Exposure %(exposure)s plus this order %(order)s exceeds the limit %(limit)s by "
            "%(excess)s."
        ) % {
            "exposure": _money(values["exposure"], currency),
            "order": _money(values["order_amount"], currency),
            "limit": _money(values["limit"], currency),
            "excess": _money(values["excess"], currency),
        }
    if code == ReasonCode.OVERDUE_BEYOND_THRESHOLD:
        return _("%(amount)s is overdue by more than %(days)s days (tolerated: %(threshold)s).") % {
            "amount": _money(values["overdue_amount"], currency),
            "days": values["days"],
            "threshold": _money(values["threshold"], currency),
        }
    if code == ReasonCode.GRADE_BELOW_MINIMUM:
        return _(
            "Grade %(grade)s is worse than the lowest grade accepted for new orders (%(lowest)s)."
        ) % {
            "grade": values["grade"],
            "lowest": values["lowest_acceptable_grade"],
        }
    if code == ReasonCode.TERMS_BEYOND_POLICY:
        return _("Payment terms of %(days)s days exceed the %(max)s days allowed.") % {
            "days": values["terms_days"],
            "max": values["max_terms_days"],
        }
    return str(code)


def objection_text(objection: Objection) -> str:
    return {
        Objection.NOT_PENDING: _("This request is not awaiting a decision."),
        Objection.NO_PERMISSION: _("Your role may not decide on credit limits."),
        Objection.OWN_REQUEST: _("You cannot decide on your own request."),
        Objection.ABOVE_AUTHORITY: _("The amount is above your approval authority."),
        Objection.ALREADY_APPROVED: _(
            "You have already approved this request; the second approval must come from "
            "someone else."
        ),
        Objection.AMOUNT_NOT_BELOW: _("A partial approval must be below the amount on the table."),
        Objection.AMOUNT_NOT_POSITIVE: _("Enter an amount greater than zero."),
        Objection.COMMENT_REQUIRED: _("Say why in the comment."),
        Objection.OVERRIDE_NOT_ALLOWED: _(
            "Your role may not override the credit policy: approve within it, refuse or ask "
            "for information."
        ),
    }[objection]


def breach_text(breach: PolicyBreach, currency: str) -> str:
    """One sentence per way an approval leaves the credit policy, with both figures."""
    value, limit = breach.value, breach.limit
    if breach.code == Breach.GRADE_BELOW_MINIMUM:
        return _(
            "Grade %(grade)s is worse than the policy's lowest acceptable grade %(minimum)s."
        ) % {"grade": value, "minimum": limit}
    if breach.code == Breach.TERMS_ABOVE_MAXIMUM:
        return _(
            "Terms of %(days)s days are above the policy's maximum of %(maximum)s days for "
            "this grade."
        ) % {"days": value, "maximum": limit}
    amounts = {
        "amount": amount_text(Decimal(value), currency),
        "limit": amount_text(Decimal(limit), currency),
    }
    return {
        Breach.NO_CREDIT_BAND: _(
            "The policy grants no credit at this grade; %(amount)s would be approved."
        ),
        Breach.AMOUNT_ABOVE_BAND_MAXIMUM: _(
            "%(amount)s is above the policy's maximum limit of %(limit)s for this grade."
        ),
        Breach.AMOUNT_ABOVE_EQUITY_CAP: _(
            "%(amount)s is above the policy's cap of %(limit)s based on the buyer's equity."
        ),
        Breach.AMOUNT_ABOVE_REVENUE_CAP: _(
            "%(amount)s is above the policy's cap of %(limit)s based on the buyer's revenue."
        ),
        Breach.AMOUNT_ABOVE_NO_FINANCIALS_CAP: _(
            "%(amount)s is above the policy's limit of %(limit)s for a buyer without financial "
            "statements."
        ),
        Breach.AMOUNT_ABOVE_RECOMMENDATION: _(
            "%(amount)s is above the recommended limit of %(limit)s."
        ),
    }[breach.code] % amounts
