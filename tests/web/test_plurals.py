"""One of a thing is singular, in the texts that count ("1 dispute", not "1 disputes")."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

from claims.dossier import INSURED_OUTSTANDING, _step_detail


def _block(template: str, opening: str) -> str:
    """The one {% blocktranslate %} of a template that starts with `opening`."""
    source = (Path("templates") / template).read_text(encoding="utf-8")
    [block] = re.findall(
        r"\{% blocktranslate " + re.escape(opening) + r".*?\{% endblocktranslate %\}", source
    )
    return block


def render(source: str, **context) -> str:
    with translation.override("en"):
        return Template("{% load i18n money %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("invoices", "expected"),
    [(1, "1 of 1 invoice eligible"), (3, "2 of 3 invoices eligible")],
)
def test_the_claim_calculation_counts_invoices(invoices, expected):
    eligible = min(invoices, 2)
    with translation.override("en"):
        text = _step_detail(
            INSURED_OUTSTANDING, {"invoices": invoices, "eligible_invoices": eligible}
        )

    assert text == expected


@pytest.mark.parametrize(
    ("pending", "in_default", "expected"),
    [
        (1, 1, ["Left out: 1 score whose", "Also left out: 1 score of a buyer already"]),
        (1200, 2, ["Left out: 1,200 scores whose", "Also left out: 2 scores of buyers"]),
    ],
)
def test_the_back_test_counts_left_out_scores(pending, in_default, expected):
    text = render(
        _block("monitoring/backtest.html", "count counter=report.pending with pending=")
        + _block("monitoring/backtest.html", "count counter=report.already_in_default "),
        report={"pending": pending, "already_in_default": in_default},
    )

    assert all(part in text for part in expected), text


@pytest.mark.parametrize(("payments", "word"), [(1, "invoice was"), (6, "invoices were")])
def test_the_policy_terms_count_on_time_payments(payments, word):
    text = render(
        _block("policies/insurance/_terms_facts.html", "count payments="),
        v={"dcl_min_on_time_payments": payments, "dcl_payment_lookback_days": 365},
    )

    assert text == f"{payments} {word} paid on time in the last 365 days"
