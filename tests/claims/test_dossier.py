"""The claim dossier PDF: rendered by WeasyPrint and its text read back, in English and in
Chinese, with the Chinese buyer's name as glyphs; the eligibility reasons and the calculation
steps in words; another tenant's claim is not found."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims import dossier, services
from creditguard.dates import today
from tests.claims.claim_pages_support import drafted_claim, sent_notification
from tests.conftest import active
from tests.insurance.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(tenant_a, owner):
    with active(tenant_a):
        claim = drafted_claim(tenant_a, owner, sent_notification(tenant_a, owner))
        services.claim_comment(tenant=tenant_a, actor=owner, claim=claim, comment="Called them.")
        services.claim_document_add(
            tenant=tenant_a,
            actor=owner,
            claim=claim,
            title="Proof of debt",
            uploaded_file=SimpleUploadedFile("proof.pdf", b"%PDF-1.4 x", "application/pdf"),
        )
        services.claim_submit(tenant=tenant_a, actor=owner, claim=claim)
        claim.refresh_from_db()
        return claim


def test_the_dossier_reads_in_english(client, owner, claim):
    client.force_login(owner)
    response = client.get(reverse("claims:pdf", args=[claim.pk]), {"lang": "en"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"claim-dossier-{claim.number}.pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert "Claim dossier" in text and claim.number in text
    assert "上海华东贸易有限公司" in text and "91310000MA1FL0XX1" in text
    assert "TCI-518233" in text and "Allianz Trade" in text and "Tenant A Ltd" in text
    assert "INV-2027-0042" in text and "INV-2027-0043" in text
    assert "Cover in force at delivery" in text
    assert "Indemnity percentage" in text
    assert "Called them." in text and "Proof of debt" in text
    assert "Submitted" in text


def test_the_dossier_reads_in_chinese(client, owner, claim):
    client.force_login(owner)
    response = client.get(reverse("claims:pdf", args=[claim.pk]), {"lang": "zh-hans"})
    text = pdf_text(response.content)
    assert "上海华东贸易有限公司" in text and "浦东新区世纪大道" in text
    assert "买方" in text and "到期日" in text  # labels in Chinese ("Buyer", "Due date")
    assert "INV-2027-0042" in text and claim.number in text


def test_an_unknown_language_falls_back_to_the_page_language(client, owner, claim):
    client.force_login(owner)
    response = client.get(reverse("claims:pdf", args=[claim.pk]), {"lang": "xx"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_the_sheet_words_each_check_and_step(tenant_a, claim):
    with active(tenant_a):
        sheet = dossier.claim_sheet(claim, as_of=today())
        later = dossier.claim_sheet(claim, as_of=claim.sla_due_on + timedelta(days=1))
    assert [row.number for row in sheet.invoices] == ["INV-2027-0043", "INV-2027-0042"]
    reasons = [check.reason for row in sheet.invoices for check in row.checks]
    assert reasons and all(reason and "_" not in reason for reason in reasons)
    assert sheet.steps[0].code == "insured_outstanding"
    assert sheet.steps[-1].after == claim.indemnity_amount
    assert not sheet.sla_overdue and later.sla_overdue


def test_reason_and_step_texts():
    assert dossier.reason_text(
        "filed_late", {"filed_on": "2027-01-02", "claim_by": "2027-01-01"}
    ) == ("Filed on 2027-01-02, after the deadline 2027-01-01.")
    assert dossier.reason_text("notified", {}) == "Notified on —; deadline —."
    assert dossier.reason_text("something_new", {}) == "something_new"
    assert (
        dossier.breakdown_steps(
            {
                "steps": [
                    {
                        "code": "deductible",
                        "before": "10",
                        "after": "5",
                        "params": {"deductible": "5.00"},
                    }
                ]
            }
        )[0].detail
        == "Deductible: 5.00"
    )
    assert dossier.breakdown_steps(None) == []


def test_an_outsider_cannot_read_the_dossier(client, outsider, claim):
    client.force_login(outsider)
    assert client.get(reverse("claims:pdf", args=[claim.pk])).status_code == 404
