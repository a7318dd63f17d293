from django.http import HttpResponse
from django.shortcuts import render

from buyers.charts import aging_bars
from buyers.selectors import portfolio_summary
from claims.selectors import claims_kpis
from creditguard.audit.selectors import audit_events
from creditguard.dates import today
from creditguard.reference.models import Country
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.web.decorators import tenant_view
from policies.insurance.kpis import portfolio_insurance_kpis


@tenant_view()
def dashboard(request: TenantHttpRequest) -> HttpResponse:
    assert request.tenant is not None  # tenant_view
    summary = portfolio_summary(tenant=request.tenant)
    country_names = {
        country.code: country.localized_name
        for country in Country.objects.filter(
            code__in=[code for code, _exposure in summary.top_countries]
        )
    }
    return render(
        request,
        "portfolio/dashboard.html",
        {
            "summary": summary,
            "aging_bars": aging_bars(summary.aging),
            "top_countries": [
                (code, country_names.get(code, code), exposure)
                for code, exposure in summary.top_countries
            ],
            "recent_events": audit_events()[:10],
            "insurance": portfolio_insurance_kpis(tenant=request.tenant, as_of=today()),
            "claims": claims_kpis(tenant=request.tenant, as_of=today()),
        },
    )
