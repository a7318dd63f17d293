"""Buyer pages: the list, the create/edit form, the credit file and its small write forms.

Views parse input, call one service (`buyers.services`) or selector (`buyers.selectors`) and
render. Buyers are looked up through the tenant-scoped manager, so another tenant's buyer is
"not found", exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from creditguard.accounts.roles import Permission
from creditguard.reference.fx import CENT
from creditguard.reference.nace import SECTIONS, section_name, title_of
from creditguard.web.decorators import tenant_view

from . import receivables, selectors, services
from .charts import aging_bars
from .exports import CONTENT_TYPES, EXPORT_MAX_ROWS, csv_bytes
from .figures import figures_fresh
from .forms import (
    BuyerFilterForm,
    BuyerForm,
    DisputeOpenForm,
    DisputeResolveForm,
    DocumentForm,
    InstalmentPaymentForm,
    InvoiceFilterForm,
    NoteForm,
    PaymentPlanForm,
    StatementForm,
    new_reference,
)
from .models import Buyer, BuyerDocument, Dispute, Instalment
from .records import (
    STATEMENT_FIGURE_LABELS,
    STATEMENT_OPTIONAL_FIGURE_LABELS,
    buyer_record,
    parse_record,
)
from .signals import buyer_file_panel_context, buyer_list_policy_choices

PAGE_SIZE = 50
# Columns the list sorts by, and the direction a first click sorts in: names A→Z, amounts and
# dates largest/newest first (what a credit team looks for).
SORT_COLUMNS = {
    "name": "",
    "country": "",
    "exposure": "-",
    "overdue": "-",
    "updated": "-",
    # Risk first: the worst grade (10) and the lowest score, the fullest limit, the largest
    # limit and cover.
    "grade": "-",
    "score": "",
    "limit": "-",
    "utilisation": "-",
    "cover": "-",
}
# (ratio key from `receivables.financial_ratios`, label, "times" or "percent")
STATEMENT_RATIOS = [
    ("current_ratio", gettext_lazy("Current ratio"), "times"),
    ("equity_ratio", gettext_lazy("Equity ratio"), "percent"),
    ("debt_to_equity", gettext_lazy("Debt to equity"), "times"),
    ("ebit_margin", gettext_lazy("EBIT margin"), "percent"),
    ("net_margin", gettext_lazy("Net margin"), "percent"),
    ("return_on_assets", gettext_lazy("Return on assets"), "percent"),
]
INVOICES_PER_PAGE = 25
PAYMENTS_SHOWN = 10
NOTES_SHOWN = 50
# Service error keys that are called differently in the buyer form.
BUYER_FIELD_ALIASES = {"country_id": "country", "parent_id": "parent_erp_reference"}


# --- Helpers ---------------------------------------------------------------------------------


def _buyer_or_404(buyer_id: int) -> Buyer:
    buyer = Buyer.objects.select_related("country", "parent").filter(pk=buyer_id).first()
    if buyer is None:
        raise Http404
    return buyer


def _credit_file_url(buyer: Buyer, section: str = "") -> str:
    url = reverse("buyers:detail", args=[buyer.pk])
    return f"{url}#{section}" if section else url


def _add_service_errors(
    form: forms.Form, error: ValidationError, aliases: Mapping[str, str] | None = None
) -> None:
    """Put a service's ValidationError on the form: by field where the form has it."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, field_messages in error.message_dict.items():
        field = (aliases or {}).get(key, key)
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _sector_name(letter: str, language: str) -> str:
    return section_name(letter, language) if letter in SECTIONS else ""


# --- List ------------------------------------------------------------------------------------


def _sort_links(request: HttpRequest, current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the URL a click on its header goes to and its current direction."""
    links = {}
    for column, first_direction in SORT_COLUMNS.items():
        if current == column:
            direction, target = "ascending", f"-{column}"
        elif current == f"-{column}":
            direction, target = "descending", column
        else:
            direction, target = "", f"{first_direction}{column}"
        query = request.GET.copy()
        query.pop("page", None)
        query["sort"] = target
        links[column] = {"url": f"?{query.urlencode()}", "direction": direction}
    return links


def _list_filter_form(request: HttpRequest, language: str) -> BuyerFilterForm:
    """The list's filter form on `request.GET`, its choices the tenant's own values only
    (call `figures_fresh` first: they are cached on the figures)."""
    countries, sectors = selectors.scope_choices(tenant=request.tenant, language=language)
    form = BuyerFilterForm(
        request.GET,
        countries=countries,
        sectors=sectors,
        policies=buyer_list_policy_choices(tenant=request.tenant),
    )
    form.is_valid()  # invalid values are left out of `filters()`; the form shows their errors
    return form


def _active_filters(request: HttpRequest, form: BuyerFilterForm) -> list[dict[str, str]]:
    """The filters in force, each with its label and the URL of the list without it."""
    active = []
    data = getattr(form, "cleaned_data", {})
    for name, field in form.fields.items():
        value = data.get(name)
        if value in (None, "", False):
            continue
        if name in BuyerFilterForm.CHECKBOXES:
            text = str(field.label)
        elif isinstance(field, forms.ChoiceField):
            choice = dict(field.choices).get(value, value)  # type: ignore[arg-type]
            text = f"{field.label}: {choice}"
        else:
            text = f"{field.label}: {value}"
        query = request.GET.copy()
        query.pop(name, None)
        query.pop("page", None)
        active.append({"text": text, "url": f"?{query.urlencode()}"})
    return active


def _list_sort(request: HttpRequest) -> str:
    sort = request.GET.get("sort", "name")
    return sort if sort in selectors.BUYER_ORDERINGS else "name"


@tenant_view()
def buyer_list(request: HttpRequest) -> HttpResponse:
    language = get_language() or "en"
    figures_fresh(tenant=request.tenant)
    form = _list_filter_form(request, language)
    sort = _list_sort(request)
    filters = form.filters()
    buyers = selectors.buyer_list(
        tenant=request.tenant, filters=filters, ordering=sort, language=language
    )
    paginator = Paginator(buyers, PAGE_SIZE)
    # The count over every matching buyer, once per change of the figures, not per page view.
    paginator.count = selectors.buyer_list_count(tenant=request.tenant, filters=filters)
    page = paginator.get_page(request.GET.get("page"))
    for buyer in page.object_list:
        buyer.sector_name = _sector_name(buyer.nace_section, language)
    query = request.GET.copy()
    query.pop("page", None)
    active_filters = _active_filters(request, form)
    clear_query = f"?sort={sort}" if "sort" in request.GET else ""
    return render(
        request,
        "buyers/list.html",
        {
            "form": form,
            "page": page,
            "query_string": query.urlencode(),
            "sort_links": _sort_links(request, sort),
            "active_filters": active_filters,
            "is_filtered": bool(active_filters),
            "clear_url": reverse("buyers:list") + clear_query,
            "export_url": reverse("buyers:export") + (f"?{query.urlencode()}" if query else ""),
            # Every buyer has a sector, so no sectors means no buyers at all.
            "has_buyers": len(form.fields["sector"].choices) > 1,
            "currency": request.tenant.base_currency,
        },
    )


def _export_rows(buyers: Iterable[Buyer], language: str) -> Iterator[tuple[Any, ...]]:
    for buyer in buyers:
        yield (
            buyer.erp_reference,
            buyer.legal_name,
            buyer.country_id,
            buyer.country.localized_name,
            buyer.nace_section,
            _sector_name(buyer.nace_section, language),
            buyer.get_status_display(),
            buyer.grade,
            buyer.score,
            buyer.exposure,
            buyer.overdue,
            buyer.credit_limit,
            None if buyer.utilisation is None else (buyer.utilisation * 100).quantize(CENT),
            buyer.cover,
        )


@never_cache
@tenant_view()
def buyer_export(request: HttpRequest) -> HttpResponse:
    """The list as filtered and sorted on the page (same parameters), as CSV in base currency."""
    language = get_language() or "en"
    figures_fresh(tenant=request.tenant)
    form = _list_filter_form(request, language)
    buyers = selectors.buyer_list(
        tenant=request.tenant,
        filters=form.filters(),
        ordering=_list_sort(request),
        language=language,
    )
    limit = EXPORT_MAX_ROWS["csv"]
    rows = list(buyers[: limit + 1])
    if len(rows) > limit:
        messages.error(
            request,
            _("An export holds at most %(count)s rows. Narrow it with a filter.")
            % {"count": f"{limit:,}"},
        )
        return redirect(reverse("buyers:list") + f"?{request.GET.urlencode()}")
    currency = request.tenant.base_currency
    columns = [
        _("ERP reference"),
        _("Buyer"),
        _("Country code"),
        _("Country"),
        _("Sector code"),
        _("Sector"),
        _("Status"),
        _("Grade"),
        _("Score"),
        _("Exposure (%(currency)s)") % {"currency": currency},
        _("Overdue (%(currency)s)") % {"currency": currency},
        _("Credit limit (%(currency)s)") % {"currency": currency},
        _("Limit used (%)"),
        _("Insurer cover (%(currency)s)") % {"currency": currency},
    ]
    response = HttpResponse(
        csv_bytes(columns, _export_rows(rows, language)), content_type=CONTENT_TYPES["csv"]
    )
    filename = f"buyers-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Create and edit -------------------------------------------------------------------------


def _buyer_form_page(request: HttpRequest, buyer: Buyer | None) -> HttpResponse:
    if buyer is None:
        initial: dict[str, Any] = {
            "currency": request.tenant.base_currency,
            "payment_terms_days": 30,
            "status": Buyer.Status.ACTIVE,
        }
    else:
        initial = buyer_record(buyer)
    form = BuyerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            record = parse_record("buyers", form.cleaned_data)
            if buyer is None:
                buyer = services.buyer_create(
                    tenant=request.tenant, actor=request.user, record=record
                )
                message = _("%(buyer)s was created.")
            else:
                buyer = services.buyer_update(
                    tenant=request.tenant, actor=request.user, buyer=buyer, record=record
                )
                message = _("%(buyer)s was saved.")
        except ValidationError as error:
            _add_service_errors(form, error, BUYER_FIELD_ALIASES)
        else:
            messages.success(request, message % {"buyer": buyer.legal_name})
            return redirect(_credit_file_url(buyer))
    if form.errors:
        messages.error(request, _("Please correct the errors below."))
    return render(request, "buyers/form.html", {"form": form, "buyer": buyer})


@tenant_view(Permission.EDIT_RECEIVABLES)
def buyer_create(request: HttpRequest) -> HttpResponse:
    return _buyer_form_page(request, None)


@tenant_view(Permission.EDIT_RECEIVABLES)
def buyer_edit(request: HttpRequest, buyer_id: int) -> HttpResponse:
    return _buyer_form_page(request, _buyer_or_404(buyer_id))


# --- Credit file -----------------------------------------------------------------------------


def _statement_table(statements: list[selectors.StatementView]) -> dict[str, list]:
    figures = [
        {
            "label": label,
            "values": [getattr(view.statement, name) for view in statements],
        }
        for name, label in STATEMENT_FIGURE_LABELS
    ]
    # An optional figure gets a row once any statement shown gives it ("—" where not given).
    for name, label in STATEMENT_OPTIONAL_FIGURE_LABELS:
        values = [getattr(view.statement, name) for view in statements]
        if any(value is not None for value in values):
            figures.append({"label": label, "values": values})
    ratios = [
        {
            "label": label,
            "kind": kind,
            "values": [view.ratios.get(name) for view in statements],
        }
        for name, label, kind in STATEMENT_RATIOS
    ]
    return {"figures": figures, "ratios": ratios}


def _invoices(request: HttpRequest, buyer: Buyer, as_of: date) -> dict[str, Any]:
    """One page of the buyer's invoices, filtered by the credit file's invoice filter."""
    form = InvoiceFilterForm(request.GET)
    form.is_valid()  # a field with an error filters nothing; the form shows the error
    data = getattr(form, "cleaned_data", {})
    invoices = selectors.credit_file_invoices(
        buyer=buyer,
        as_of=as_of,
        status=data.get("status") or "",
        due_from=data.get("due_from"),
        due_to=data.get("due_to"),
        search=(data.get("number") or "").strip(),
    )
    page = Paginator(invoices, INVOICES_PER_PAGE).get_page(request.GET.get("page"))
    for invoice in page.object_list:
        invoice.days_past_due = (
            receivables.days_past_due(due_date=invoice.due_date, as_of=as_of)
            if invoice.status in selectors.OPEN_STATUSES
            else 0
        )
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "form": form,
        "page": page,
        "open": [i for i in page.object_list if i.status in selectors.OPEN_STATUSES],
        "closed": [i for i in page.object_list if i.status not in selectors.OPEN_STATUSES],
        "query_string": query.urlencode(),
        "is_filtered": any(data.get(name) for name in form.fields),
    }


@tenant_view()
def buyer_detail(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    credit_file = selectors.buyer_credit_file(tenant=request.tenant, buyer=buyer)
    language = get_language() or "en"
    can_edit = request.membership.allows(Permission.EDIT_RECEIVABLES)
    return render(
        request,
        "buyers/detail.html",
        {
            "buyer": buyer,
            "file": credit_file,
            "sector_name": _sector_name(buyer.nace_section, language),
            "nace_title": title_of(buyer.nace_code),
            "aging_bars": aging_bars(credit_file.aging),
            "subsidiaries": [m for m in credit_file.group_members if m.parent_id == buyer.pk],
            "statement_table": _statement_table(credit_file.statements),
            "invoices": _invoices(request, buyer, credit_file.as_of),
            "payments": buyer.payments.prefetch_related("allocations__invoice")[:PAYMENTS_SHOWN],
            "disputes": buyer.disputes.select_related("invoice").order_by(
                "status", "-opened_date", "-id"
            ),
            "notes": buyer.notes.select_related("author")[:NOTES_SHOWN],
            "documents": buyer.documents.select_related("uploaded_by"),
            "can_edit": can_edit,
            "note_form": NoteForm() if can_edit else None,
            "document_form": DocumentForm() if can_edit else None,
            "instalment_form": InstalmentPaymentForm() if can_edit else None,
            **buyer_file_panel_context(tenant=request.tenant, buyer=buyer),
        },
    )


# --- Financial statements --------------------------------------------------------------------


@tenant_view(Permission.EDIT_RECEIVABLES)
def statement_create(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    form = StatementForm(
        request.POST or None, initial={"currency": buyer.currency, "period_months": 12}
    )
    if request.method == "POST" and form.is_valid():
        try:
            changes = {**form.cleaned_data, "buyer_erp_reference": buyer.erp_reference}
            statement = services.statement_save(
                tenant=request.tenant,
                actor=request.user,
                buyer=buyer,
                record=parse_record("financial_statements", changes),
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("The statement for the period ending %(date)s was saved.")
                % {"date": statement.period_end.isoformat()},
            )
            return redirect(_credit_file_url(buyer, "financials"))
    return render(request, "buyers/statement_form.html", {"form": form, "buyer": buyer})


# --- Disputes --------------------------------------------------------------------------------


@tenant_view(Permission.EDIT_RECEIVABLES)
def dispute_open(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    initial: dict[str, Any] = {
        "erp_reference": new_reference("DSP"),
        "currency": buyer.currency,
        "opened_date": selectors.today(),
    }
    form = DisputeOpenForm(request.POST or None, buyer=buyer, initial=initial)
    invoice_id = request.GET.get("invoice", "")
    if request.method == "GET" and invoice_id.isdigit():
        # "Dispute" next to an invoice in the credit file: start from that invoice.
        invoice = form.fields["invoice"].queryset.filter(pk=invoice_id).first()
        if invoice is not None:
            form.initial.update(
                invoice=invoice.pk, amount=invoice.outstanding, currency=invoice.currency
            )
    if request.method == "POST" and form.is_valid():
        try:
            services.dispute_open(
                tenant=request.tenant, actor=request.user, buyer=buyer, **form.cleaned_data
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("The dispute was opened."))
            return redirect(_credit_file_url(buyer, "disputes"))
    return render(request, "buyers/dispute_form.html", {"form": form, "buyer": buyer})


@tenant_view(Permission.EDIT_RECEIVABLES)
def dispute_resolve(request: HttpRequest, buyer_id: int, dispute_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    dispute = Dispute.objects.select_related("invoice").filter(pk=dispute_id, buyer=buyer).first()
    if dispute is None:
        raise Http404
    form = DisputeResolveForm(request.POST or None, initial={"resolved_date": selectors.today()})
    if request.method == "POST" and form.is_valid():
        try:
            services.dispute_resolve(
                tenant=request.tenant, actor=request.user, dispute=dispute, **form.cleaned_data
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("The dispute was resolved."))
            return redirect(_credit_file_url(buyer, "disputes"))
    return render(
        request,
        "buyers/dispute_resolve.html",
        {"form": form, "buyer": buyer, "dispute": dispute},
    )


# --- Payment plans ---------------------------------------------------------------------------


@tenant_view(Permission.EDIT_RECEIVABLES)
def payment_plan_create(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    initial = {
        "erp_reference": new_reference("PLAN"),
        "agreed_date": selectors.today(),
        "currency": buyer.currency,
    }
    form = PaymentPlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_plan_create(
                tenant=request.tenant,
                actor=request.user,
                buyer=buyer,
                as_of=selectors.today(),
                **form.cleaned_data,
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("The payment plan was agreed."))
            return redirect(_credit_file_url(buyer, "payment-plans"))
    return render(request, "buyers/payment_plan_form.html", {"form": form, "buyer": buyer})


@tenant_view(Permission.EDIT_RECEIVABLES)
@require_POST
def instalment_pay(request: HttpRequest, buyer_id: int, instalment_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    instalment = (
        Instalment.objects.select_related("plan")
        .filter(pk=instalment_id, plan__buyer=buyer)
        .first()
    )
    if instalment is None:
        raise Http404
    form = InstalmentPaymentForm(request.POST)
    if form.is_valid():
        try:
            services.instalment_record_payment(
                tenant=request.tenant,
                actor=request.user,
                instalment=instalment,
                as_of=selectors.today(),
                **form.cleaned_data,
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("The instalment payment was recorded."))
    else:
        messages.error(request, _("Enter the amount and the date it was paid."))
    return redirect(_credit_file_url(buyer, "payment-plans"))


# --- Notes and documents ---------------------------------------------------------------------


@tenant_view(Permission.EDIT_RECEIVABLES)
@require_POST
def note_add(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    try:
        services.note_add(
            tenant=request.tenant,
            actor=request.user,
            buyer=buyer,
            body=request.POST.get("body", ""),
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The note was added."))
    return redirect(_credit_file_url(buyer, "notes"))


@tenant_view(Permission.EDIT_RECEIVABLES)
@require_POST
def document_upload(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to upload."))
        return redirect(_credit_file_url(buyer, "documents"))
    try:
        document = services.document_upload(
            tenant=request.tenant,
            actor=request.user,
            buyer=buyer,
            title=form.cleaned_data["title"],
            upload=form.cleaned_data["file"],
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("%(title)s was uploaded.") % {"title": document.title})
    return redirect(_credit_file_url(buyer, "documents"))


@tenant_view()
def document_download(request: HttpRequest, buyer_id: int, document_id: int) -> HttpResponse:
    """Documents are served only through this view: MEDIA_ROOT is not web-served, so the
    tenant check (the scoped manager and row-level security) guards every download."""
    buyer = _buyer_or_404(buyer_id)
    document = BuyerDocument.objects.filter(pk=document_id, buyer=buyer).first()
    if document is None:
        raise Http404
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(
        handle,
        as_attachment=True,
        filename=document.file.name.rsplit("/", 1)[-1],
        content_type=document.content_type,
    )
