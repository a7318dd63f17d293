"""Insurance policy pages: the list, a new policy, a policy's terms, versions, named buyers and
cover table, an endorsement, the named buyers, an insurer's decision on a buyer and a cover's
history.

Views parse input with a form, call one service or selector and render. Objects are looked up
through tenant-scoped managers, so another tenant's policy or buyer is "not found", exactly like
a missing one. Reading needs VIEW; every write needs MANAGE_INSURANCE.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from buyers.models import Buyer
from creditguard.accounts.roles import Permission
from creditguard.dates import today
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.tenancy.models import Tenant
from creditguard.web.decorators import tenant_view

from ..insurance import kpis, policy_selectors
from ..insurance.scope import covered_buyers, version_in_force, versions_in_force
from ..insurance.terms import TERM_FIELDS
from ..models import CoveredRisk, InsurancePolicy, InsurerCover, PolicyBuyer, PolicyVersion
from ..services import covers as cover_services
from ..services import insurance as insurance_services
from .policy_forms import (
    CoverDecisionForm,
    EndorsementForm,
    PolicyBuyerForm,
    PolicyCreateForm,
    PolicyTermsForm,
)

PAGE_SIZE = 50


def _member(request: TenantHttpRequest) -> tuple[Tenant, User]:
    """The tenant and the user of a request `tenant_view` let in (a signed-in member)."""
    tenant, user = request.tenant, request.user
    if tenant is None or not isinstance(user, User):
        raise PermissionDenied
    return tenant, user


def _policy_or_404(pk: int) -> InsurancePolicy:
    policy = InsurancePolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise Http404
    return policy


def _buyer_or_404(pk: int) -> Buyer:
    buyer = Buyer.objects.select_related("country").filter(pk=pk).first()
    if buyer is None:
        raise Http404
    return buyer


def _terms_view(version: PolicyVersion | None) -> dict[str, Any] | None:
    """The terms in force, with the JSON lists as typed rows, for the templates."""
    if version is None:
        return None
    terms = insurance_services.terms_of(version)
    return {
        "version": version,
        "risks": [CoveredRisk(risk).label for risk in version.covered_risks],
        "premium_rate": _rate(version.premium_rate_pct),
        "groups": [
            {"name": group.name, "countries": group.countries, "rate": _rate(group.rate_pct)}
            for group in terms.country_group_rates
        ],
        "tiers": [
            {"up_to": tier.up_to, "rate": _rate(tier.rate_pct)} for tier in terms.premium_tiers
        ],
    }


def _rate(value: Decimal) -> str:
    """0.18000 → "0.18": rates are shown as the policy states them."""
    return f"{value.normalize():f}"


# --- List and create -------------------------------------------------------------------------


@tenant_view()
def policy_list(request: TenantHttpRequest) -> HttpResponse:
    tenant, _user = _member(request)
    on = today()
    versions = versions_in_force(on=on)
    policies = list(policy_selectors.insurance_policies())
    rows = [
        {
            "policy": policy,
            "terms": versions.get(policy.pk),
            "kpis": kpis.policy_kpis(tenant=tenant, policy=policy, as_of=on),
        }
        for policy in policies
    ]
    return render(
        request,
        "policies/insurance/policy_list.html",
        {
            "rows": rows,
            "today": on,
            "portfolio": kpis.portfolio_insurance_kpis(tenant=tenant, as_of=on),
        },
    )


@tenant_view(Permission.MANAGE_INSURANCE)
def policy_create(request: TenantHttpRequest) -> HttpResponse:
    tenant, user = _member(request)
    on = today()
    # Typical whole-turnover terms to start from; every one is the policyholder's to change.
    initial = {
        "currency": tenant.base_currency,
        "period_start": on.replace(month=1, day=1),
        "period_end": on.replace(month=12, day=31),
        "covered_risks": ["insolvency", "protracted_default"],
        "indemnity_commercial_pct": 90,
        "indemnity_political_pct": 0,
        "waiting_period_days": 180,
        "max_extension_days": 60,
        "notification_days": 30,
        "claim_filing_days": 90,
        "cover_notice_days": 0,
        "premium_basis": "turnover",
    }
    form = PolicyCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policy = insurance_services.insurance_policy_create(
                tenant=tenant,
                actor=user,
                insurer=data["insurer"],
                number=data["number"],
                name=data["name"],
                currency=data["currency"],
                effective_from=data["effective_from"],
                terms=form.terms(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Policy %(number)s recorded.") % {"number": policy.number})
            return redirect("insurance:detail", policy.pk)
    return render(request, "policies/insurance/policy_form.html", {"form": form})


# --- Detail ----------------------------------------------------------------------------------


@tenant_view()
def policy_detail(request: TenantHttpRequest, pk: int) -> HttpResponse:
    tenant, _user = _member(request)
    policy = _policy_or_404(pk)
    on = today()
    in_force = version_in_force(policy=policy, on=on)
    in_scope = covered_buyers(policy=policy, on=on)
    page = Paginator(
        in_scope.select_related("country").order_by("legal_name", "id"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = policy_selectors.cover_rows(policy=policy, buyers=list(page.object_list), as_of=on)
    figures = kpis.buyer_coverage(policy=policy, buyer_ids=[row.buyer.pk for row in rows])
    rows = [replace(row, figure=figures.get(row.buyer.pk)) for row in rows]
    return render(
        request,
        "policies/insurance/policy_detail.html",
        {
            "policy": policy,
            "kpis": kpis.policy_kpis(tenant=tenant, policy=policy, as_of=on),
            "terms": _terms_view(in_force),
            "versions": list(policy_selectors.policy_versions(policy)),
            "named": PolicyBuyer.objects.filter(policy=policy)
            .select_related("buyer")
            .order_by("kind", "buyer__legal_name"),
            "page": page,
            "rows": rows,
            "out_of_scope": policy_selectors.covers_out_of_scope(
                policy=policy, in_scope_ids=in_scope, as_of=on
            ),
            "today": on,
            "active": "policy",
        },
    )


# --- Endorse ---------------------------------------------------------------------------------


@tenant_view(Permission.MANAGE_INSURANCE)
def policy_endorse(request: TenantHttpRequest, pk: int) -> HttpResponse:
    tenant, user = _member(request)
    policy = _policy_or_404(pk)
    on = today()
    base = (
        version_in_force(policy=policy, on=on)
        or PolicyVersion.objects.filter(policy=policy).order_by("effective_from", "version").first()
    )
    initial: dict[str, Any] = {"effective_from": on}
    if base is not None:
        initial.update(PolicyTermsForm.initial_of(base))
    form = EndorsementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        terms = form.terms()
        try:
            version = insurance_services.insurance_policy_endorse(
                tenant=tenant,
                actor=user,
                policy=policy,
                effective_from=data["effective_from"],
                endorsement_reference=data["endorsement_reference"],
                change_note=data["change_note"],
                changes={name: getattr(terms, name) for name in TERM_FIELDS},
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("Version %(version)s recorded, effective %(date)s.")
                % {"version": version.version, "date": version.effective_from.isoformat()},
            )
            return redirect("insurance:detail", policy.pk)
    return render(
        request,
        "policies/insurance/policy_endorse.html",
        {"form": form, "policy": policy, "base": base},
    )


# --- Named buyers ----------------------------------------------------------------------------


@tenant_view()
@require_http_methods(["GET", "POST"])
def policy_buyers(request: TenantHttpRequest, pk: int) -> HttpResponse:
    """GET lists the named buyers; POST (MANAGE_INSURANCE) names one, or with `remove` set to
    a buyer id stops naming it."""
    tenant, user = _member(request)
    policy = _policy_or_404(pk)
    posted = request.method == "POST"
    form = PolicyBuyerForm(request.POST if posted and "remove" not in request.POST else None)
    if posted:
        if request.membership is None or not request.membership.allows(Permission.MANAGE_INSURANCE):
            raise PermissionDenied
        if "remove" in request.POST:
            remove = str(request.POST["remove"])
            buyer = _buyer_or_404(int(remove)) if remove.isdigit() else None
            if buyer is None:
                raise Http404
            if insurance_services.policy_buyer_remove(
                tenant=tenant, actor=user, policy=policy, buyer=buyer
            ):
                messages.success(
                    request,
                    _("%(buyer)s is no longer named on the policy.") % {"buyer": buyer.legal_name},
                )
            return redirect("insurance:buyers", policy.pk)
        if form.is_valid():
            buyer = form.cleaned_data["buyer"]
            try:
                insurance_services.policy_buyer_set(
                    tenant=tenant,
                    actor=user,
                    policy=policy,
                    buyer=buyer,
                    kind=form.cleaned_data["kind"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request, _("%(buyer)s is named on the policy.") % {"buyer": buyer.legal_name}
                )
                return redirect("insurance:buyers", policy.pk)
    named = (
        PolicyBuyer.objects.filter(policy=policy)
        .select_related("buyer", "buyer__country")
        .order_by("kind", "buyer__legal_name")
    )
    return render(
        request,
        "policies/insurance/policy_buyers.html",
        {"policy": policy, "named": named, "form": form, "active": "policy"},
    )


# --- Cover -----------------------------------------------------------------------------------


def _cover_of(policy: InsurancePolicy, buyer: Buyer) -> InsurerCover | None:
    return (
        InsurerCover.objects.filter(buyer=buyer, insurer__iexact=policy.insurer)
        .select_related("policy")
        .first()
    )


@tenant_view(Permission.MANAGE_INSURANCE)
def cover_decide(request: TenantHttpRequest, pk: int, buyer_pk: int) -> HttpResponse:
    tenant, user = _member(request)
    policy = _policy_or_404(pk)
    buyer = _buyer_or_404(buyer_pk)
    cover = _cover_of(policy, buyer)
    initial = {
        "currency": cover.currency if cover else policy.currency,
        "decision_date": today(),
        "kind": "grant" if cover is None or cover.status not in InsurerCover.IN_FORCE else "",
    }
    form = CoverDecisionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = cover_services.cover_decision_record(
                tenant=tenant,
                actor=user,
                buyer=buyer,
                policy=policy,
                kind=data["kind"],
                amount=data["amount"] if data["amount"] is not None else cover_services.ZERO,
                currency=data["currency"],
                decision_date=data["decision_date"],
                expiry_date=data["expiry_date"],
                conditions=data["conditions"],
                reference=data["reference"],
            )
        except ValidationError as error:
            for key, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(key if key in form.fields else None, message)
        else:
            messages.success(
                request,
                _("Decision recorded for %(buyer)s, effective %(date)s.")
                % {"buyer": buyer.legal_name, "date": decision.effective_date.isoformat()},
            )
            return redirect(reverse("insurance:detail", args=[policy.pk]) + "#cover")
    return render(
        request,
        "policies/insurance/cover_decide.html",
        {"form": form, "policy": policy, "buyer": buyer, "cover": cover},
    )


@tenant_view()
def cover_history(request: TenantHttpRequest, pk: int, buyer_pk: int) -> HttpResponse:
    policy = _policy_or_404(pk)
    buyer = _buyer_or_404(buyer_pk)
    cover = _cover_of(policy, buyer)
    on = today()
    row = policy_selectors.cover_rows(policy=policy, buyers=[buyer], as_of=on)[0]
    return render(
        request,
        "policies/insurance/cover_history.html",
        {
            "policy": policy,
            "buyer": buyer,
            "cover": cover,
            "row": row,
            "decisions": list(policy_selectors.cover_history(cover)) if cover else [],
            "today": on,
        },
    )
