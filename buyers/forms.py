"""Forms for the buyer pages: they parse what the user typed; the services hold the rules.

Field names are the record keys the services read (`buyers.records`), so a service's
`ValidationError` lands on the field it names.
"""

import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditguard.reference.selectors import country_choices

from .models import Buyer, Dispute, Invoice
from .records import (
    INCOME_STATEMENT_FIGURES,
    STATEMENT_FIGURE_LABELS,
    STATEMENT_FIGURES,
    STATEMENT_OPTIONAL_FIGURE_LABELS,
    STATEMENT_OPTIONAL_FIGURES,
)
from .selectors import OPEN_STATUSES, BuyerListFilters

# Grades run from 1 (best) to 10 (worst), as `monitoring.scoring` assigns them.
GRADE_BEST, GRADE_WORST = 1, 10


def grade_bound_field(label: Any, *, placeholder: int) -> forms.IntegerField:
    """One end of a grade band filter (the lists that narrow to the dashboard's scope)."""
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=GRADE_BEST,
        max_value=GRADE_WORST,
        widget=forms.NumberInput(attrs={"placeholder": str(placeholder), "class": "narrow"}),
    )


class DecimalFieldOptions(TypedDict, total=False):
    """`forms.DecimalField` options, typed so that `**MONEY_FIELD` type-checks."""

    max_digits: int
    decimal_places: int
    min_value: int


MONEY_FIELD: DecimalFieldOptions = {"max_digits": 18, "decimal_places": 2}
CURRENCY_ERRORS = {"invalid": _("Use a three-letter ISO 4217 code, e.g. EUR.")}


def currency_field(label: str | None = None) -> forms.RegexField:
    """A currency code as typed (any case); the form's `clean_currency` upper-cases it."""
    return forms.RegexField(
        label=label or _("Currency"),
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages=CURRENCY_ERRORS,
        widget=forms.TextInput(attrs={"size": 4, "autocapitalize": "characters"}),
    )


def new_reference(prefix: str) -> str:
    """A suggested ERP reference for records created in the browser (the user may change it)."""
    return f"{prefix}-{timezone.localdate():%Y%m%d}-{secrets.token_hex(3).upper()}"


class BuyerFilterForm(forms.Form):
    """The list page's search and filters (GET; the names are the list's URL parameters).

    A value that is not a choice (e.g. an unknown country) filters nothing; a number out of
    range is an error on its field, and that filter is left out.
    """

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, ERP ref, registration or VAT no.")}
        ),
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Buyer.Status.choices],
    )
    policy = forms.TypedChoiceField(
        label=_("Insurance policy"), required=False, coerce=int, empty_value=None
    )
    grade_min = grade_bound_field(_("Grade from"), placeholder=GRADE_BEST)
    grade_max = grade_bound_field(_("Grade to"), placeholder=GRADE_WORST)
    utilisation_min = forms.DecimalField(
        label=_("Limit used at least (%)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=7,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"placeholder": "80", "class": "narrow"}),
    )
    overdue = forms.BooleanField(label=_("Overdue"), required=False)
    over_limit = forms.BooleanField(label=_("Over limit"), required=False)
    no_limit = forms.BooleanField(label=_("No limit"), required=False)
    uninsured = forms.BooleanField(label=_("Uninsured"), required=False)

    CHECKBOXES = ("overdue", "over_limit", "no_limit", "uninsured")

    def __init__(
        self,
        *args,
        countries: list[tuple[str, str]],
        sectors: list[tuple[str, str]],
        policies: list[tuple[int, str]] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", _("All countries")), *countries]
        self.fields["sector"].choices = [("", _("All sectors")), *sectors]
        self.fields["policy"].choices = [("", _("All policies")), *(policies or [])]
        for name in ("country", "sector", "status", "policy", *self.CHECKBOXES):
            self.fields[name].widget.attrs["data-autosubmit"] = ""
        for name in self.CHECKBOXES:
            self.fields[name].widget.attrs["value"] = "1"  # ?overdue=1, as the links use

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        lowest, highest = cleaned.get("grade_min"), cleaned.get("grade_max")
        if lowest is not None and highest is not None and lowest > highest:
            self.add_error(
                "grade_max", _("The grade to must not be better (lower) than the grade from.")
            )
            cleaned.pop("grade_max", None)
        return cleaned

    def filters(self) -> BuyerListFilters:
        """The valid filters (call `is_valid()` first); a field with an error filters nothing."""
        data = getattr(self, "cleaned_data", {})
        return BuyerListFilters(
            search=(data.get("q") or "").strip(),
            country=data.get("country") or "",
            sector=data.get("sector") or "",
            status=data.get("status") or "",
            grade_min=data.get("grade_min"),
            grade_max=data.get("grade_max"),
            policy_id=data.get("policy"),
            overdue=bool(data.get("overdue")),
            over_limit=bool(data.get("over_limit")),
            no_limit=bool(data.get("no_limit")),
            uninsured=bool(data.get("uninsured")),
            utilisation_min=data.get("utilisation_min"),
        )


class InvoiceFilterForm(forms.Form):
    """The credit file's invoice filter (GET): status, due-date range, invoice number."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All invoices")),
            ("open", _("Open")),
            ("overdue", _("Overdue")),
            ("paid", _("Paid")),
            ("disputed", _("Disputed")),
        ],
    )
    due_from = forms.DateField(
        label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = forms.DateField(
        label=_("Due to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    number = forms.CharField(
        label=_("Invoice number"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Number or ERP ref")}),
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        first, last = cleaned.get("due_from"), cleaned.get("due_to")
        if first and last and first > last:
            self.add_error("due_to", _("The end of the due-date range is before its start."))
            cleaned.pop("due_to", None)
        return cleaned


class BuyerForm(forms.Form):
    erp_reference = forms.CharField(
        label=_("ERP reference"),
        max_length=64,
        help_text=_("The buyer's customer number in your ERP; unique in your company."),
    )
    legal_name = forms.CharField(label=_("Legal name"), max_length=200)
    registration_number = forms.CharField(
        label=_("Registration number"), max_length=64, required=False
    )
    vat_number = forms.CharField(label=_("VAT number"), max_length=32, required=False)
    lei = forms.CharField(
        label=_("LEI"),
        max_length=20,
        required=False,
        help_text=_("Legal Entity Identifier, 20 characters."),
    )
    country = forms.ChoiceField(label=_("Country"))
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    nace_code = forms.CharField(
        label=_("NACE code"),
        max_length=5,
        help_text=_("NACE Rev. 2 division, group or class, e.g. 46, 46.6 or 46.69."),
        widget=forms.TextInput(attrs={"size": 6}),
    )
    parent_erp_reference = forms.CharField(
        label=_("Parent company (ERP reference)"),
        max_length=64,
        required=False,
        help_text=_("For group exposure; leave empty if the buyer has no parent."),
    )
    currency = currency_field(_("Invoicing currency"))
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"), min_value=0, max_value=365, initial=30
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=Buyer.Status.choices, initial=Buyer.Status.ACTIVE
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Per request: the names follow the active language.
        self.fields["country"].choices = [("", "—"), *country_choices()]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class StatementForm(forms.Form):
    """Period and currency, then one field per figure of `buyers.records.STATEMENT_FIGURES`."""

    period_end = forms.DateField(
        label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_months = forms.IntegerField(
        label=_("Months covered"), min_value=1, max_value=24, initial=12
    )
    currency = currency_field()
    audited = forms.BooleanField(label=_("Audited"), required=False)
    source = forms.CharField(
        label=_("Source"),
        max_length=60,
        required=False,
        help_text=_("Where the figures come from, e.g. annual report 2024."),
    )
    published_on = forms.DateField(
        label=_("Published on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "The day the figures became known (published or received), on or after the period "
            "end. Scores of earlier days do not use them. Empty: six months after the period "
            "end, or today if earlier."
        ),
    )
    field_order = [
        "period_end",
        "period_months",
        "currency",
        "published_on",
        *STATEMENT_FIGURES,
        *STATEMENT_OPTIONAL_FIGURES,
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, label in STATEMENT_FIGURE_LABELS:
            self.fields[name] = forms.DecimalField(label=label, **MONEY_FIELD)
        for name, label in STATEMENT_OPTIONAL_FIGURE_LABELS:
            self.fields[name] = forms.DecimalField(label=label, required=False, **MONEY_FIELD)
        self.order_fields(self.field_order)

    def income_statement_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in STATEMENT_FIGURES if name in INCOME_STATEMENT_FIGURES]

    def balance_sheet_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in STATEMENT_FIGURES if name not in INCOME_STATEMENT_FIGURES]

    def optional_fields(self) -> list[forms.BoundField]:
        """The optional figures (the finer ratios need them; empty = not given)."""
        return [self[name] for name in STATEMENT_OPTIONAL_FIGURES]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class DisputeOpenForm(forms.Form):
    erp_reference = forms.CharField(
        label=_("Reference"),
        max_length=64,
        help_text=_("Your reference for this dispute; unique in your company."),
    )
    invoice = forms.ModelChoiceField(
        label=_("Invoice"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label=_("— No particular invoice —"),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=Dispute.Reason.choices)
    amount = forms.DecimalField(label=_("Disputed amount"), min_value=0, **MONEY_FIELD)
    currency = currency_field()
    opened_date = forms.DateField(
        label=_("Opened on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, buyer: Buyer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        field.queryset = Invoice.objects.filter(buyer=buyer, status__in=OPEN_STATUSES).order_by(
            "due_date", "id"
        )
        field.label_from_instance = lambda invoice: (
            f"{invoice} · {invoice.due_date:%Y-%m-%d} · {invoice.outstanding:,.2f} "
            f"{invoice.currency}"
        )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean(self) -> dict:
        cleaned = super().clean()
        invoice = cleaned.get("invoice")
        currency = cleaned.get("currency")
        if invoice is not None and currency and currency != invoice.currency:
            self.add_error(
                "currency",
                _("The invoice is in %(currency)s; enter the amount in that currency.")
                % {"currency": invoice.currency},
            )
        return cleaned


class DisputeResolveForm(forms.Form):
    resolved_date = forms.DateField(
        label=_("Resolved on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=200,
        help_text=_("E.g. credit note issued, buyer accepted the invoice."),
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("What happened, what was agreed…")}
        ),
    )


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, image, CSV, text, Excel or Word; at most 10 MB."),
    )


class InstalmentPaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, **MONEY_FIELD)
    paid_date = forms.DateField(label=_("Paid on"), widget=forms.DateInput(attrs={"type": "date"}))


class PaymentPlanForm(forms.Form):
    erp_reference = forms.CharField(
        label=_("Reference"),
        max_length=64,
        help_text=_("Your reference for this plan; unique in your company."),
    )
    agreed_date = forms.DateField(
        label=_("Agreed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    currency = currency_field()
    instalments = forms.CharField(
        label=_("Instalments"),
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "2025-07-31 5000\n2025-08-31 5000"}),
        help_text=_("One instalment a line: due date (YYYY-MM-DD) and amount."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_instalments(self) -> list[tuple[date, Decimal]]:
        instalments = []
        for number, line in enumerate(self.cleaned_data["instalments"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.replace(";", " ").replace(",", " ").split()
            try:
                due_date = date.fromisoformat(parts[0])
                amount = Decimal(parts[1])
                if len(parts) != 2 or not amount.is_finite():
                    raise ValueError
            except (IndexError, ValueError, InvalidOperation):
                raise forms.ValidationError(
                    _("Line %(line)s: write a date and an amount, e.g. 2025-07-31 5000.")
                    % {"line": number}
                ) from None
            instalments.append((due_date, amount))
        return instalments
