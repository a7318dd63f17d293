"""The activity feed tells recent events in plain words, in the reader's language, and shows only
what the reader's role may see; ERP bulk writes are summed, system jobs left out."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from buyers.bulk import _UPSERTS
from claims import workflow
from creditguard.audit.activity import (
    _ACTIONS,
    _BATCHES,
    activity_feed,
    describe_events,
    registered_actions,
)
from creditguard.audit.models import AuditEvent
from creditguard.audit.services import audit_record
from policies.models import LimitDecision
from policies.services.coverage import SWEEP_ACTION
from policies.services.overdue_notifications import PROPOSE_ACTION, UPDATE_ACTION
from tests.conftest import active
from tests.factories import (
    ApiKeyFactory,
    AuditEventFactory,
    BuyerFactory,
    LimitRequestFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db

SOURCE_PACKAGES = ["creditguard", "buyers", "monitoring", "policies", "claims", "portfolio"]
# `action=f"..."` in the services, and the values each placeholder takes.
F_STRING_ACTIONS = {
    "limit_request.{kind}": [f"limit_request.{kind}" for kind in LimitDecision.Kind.values],
    "claim.{target}": [
        f"claim.{status}"
        for status in (
            workflow.SUBMITTED,
            workflow.UNDER_REVIEW,
            *workflow.DECISIONS,
            workflow.PAID,
            workflow.WITHDRAWN,
        )
    ],
    "{kind}.bulk_upsert": [f"{kind}.bulk_upsert" for kind in _UPSERTS],
}
CONSTANT_ACTIONS = {
    "SWEEP_ACTION": SWEEP_ACTION,
    "PROPOSE_ACTION": PROPOSE_ACTION,
    "UPDATE_ACTION": UPDATE_ACTION,
}
ACTION_LITERAL = re.compile(
    r"""action=(f?)"([a-z_{}]+\.[a-z_{}.]+)"(?:\s+if\s.+?\selse\s+"([a-z_.]+)")?"""
)
ACTION_CONSTANT = re.compile(r"action=([A-Z_]+)(?:\s+if\s.+?\selse\s+([A-Z_]+))?[,)\n]")


def audited_actions() -> set[str]:
    """Every action code a service writes, read from the source as `grep` would."""
    root = Path(settings.BASE_DIR)
    actions: set[str] = set()
    for package in SOURCE_PACKAGES:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            text = path.read_text()
            for is_f_string, action, alternative in ACTION_LITERAL.findall(text):
                if is_f_string:
                    assert action in F_STRING_ACTIONS, f"{path}: new f-string action {action}"
                    actions.update(F_STRING_ACTIONS[action])
                else:
                    actions.add(action)
                if alternative:
                    actions.add(alternative)
            for constant, alternative in ACTION_CONSTANT.findall(text):
                for name in filter(None, (constant, alternative)):
                    assert name in CONSTANT_ACTIONS, f"{path}: new action constant {name}"
                    actions.add(CONSTANT_ACTIONS[name])
    return actions


ALL_ACTIONS = sorted(audited_actions())
# Told as what happened to the object: only the nightly review writes them.
ACTIONS_WITHOUT_ACTOR = {"credit_limit.expire", "insurer_cover.expire"}


def test_the_source_scan_finds_the_audited_actions():
    assert {
        "limit_request.approve_partially",
        "invoices.bulk_upsert",
        "claim.partially_approved",
        "user.two_factor_enable",
        "insurance.coverage_sweep",
        "credit_limit.grant",
        "credit_limit.change",
    } <= set(ALL_ACTIONS)
    assert len(ALL_ACTIONS) > 60


def test_every_audited_action_has_a_describer():
    missing = sorted(set(ALL_ACTIONS) - registered_actions())
    assert missing == [], "register words for these actions in the app's activity.py"


@pytest.fixture
def admin_membership(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="admin", user__first_name="Ada", user__last_name="Admin"
        )


@pytest.fixture
def viewer_membership(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a,
            role="viewer",
            user__first_name="Vic",
            user__last_name="Viewer",
            user__email="viewer@a.example",
        )


@pytest.fixture
def anna(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a,
            role="credit_manager",
            user__first_name="Anna",
            user__last_name="Lee",
            user__email="anna@a.example",
        ).user


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_each_action_reads_as_words_without_its_code(tenant_a, admin_membership, action, language):
    # The object is gone and the values are missing: the sentence still holds.
    event = AuditEvent(
        tenant=tenant_a,
        actor_user=admin_membership.user,
        actor_label=admin_membership.user.email,
        action=action,
        object_type="",
        object_id="",
        created_at=timezone.now(),
        after={},
    )

    with active(tenant_a), translation.override(language):
        [item] = describe_events([event], membership=admin_membership)

    assert "Ada Admin" in item.text or action in ACTIONS_WITHOUT_ACTOR
    assert action not in item.text and "_" not in item.text
    assert "%(" not in item.text and "None" not in item.text


def test_a_partial_approval_reads_as_a_sentence_with_the_amount(tenant_a, anna, viewer_membership):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Müller GmbH")
        request = LimitRequestFactory(
            tenant=tenant_a, buyer=buyer, amount=Decimal("300000"), currency="EUR"
        )
        audit_record(
            tenant=tenant_a,
            actor=anna,
            action="limit_request.approve_partially",
            obj=request,
            after={"decided_amount": Decimal("225000.00"), "status": "partially_approved"},
        )

        [item] = activity_feed(tenant=tenant_a, membership=viewer_membership)

    assert item.text == (
        "Anna Lee approved a credit limit of 225,000.00 EUR for Müller GmbH (partially)"
    )
    assert item.actor_display == "Anna Lee"
    assert item.url == reverse("limits:request-detail", args=[request.pk])


def test_a_viewer_sees_business_events_but_no_administration(
    tenant_a, owner, viewer_membership, admin_membership
):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Acme Buyer SA")
        audit_record(tenant=tenant_a, actor=owner, action="buyer.create", obj=buyer)
        audit_record(
            tenant=tenant_a,
            actor=owner,
            action="membership.add",
            obj=viewer_membership,
            after={"email": "viewer@a.example", "role": "viewer"},
        )
        key = ApiKeyFactory(tenant=tenant_a, name="Secret ERP key")
        audit_record(
            tenant=tenant_a, actor=owner, action="api_key.create", obj=key, after={"name": "x"}
        )
        AuditEventFactory(tenant=tenant_a, action="test.unknown", object_label="Thing")

        viewer_feed = activity_feed(tenant=tenant_a, membership=viewer_membership)
        admin_feed = activity_feed(tenant=tenant_a, membership=admin_membership)

    assert [item.text for item in viewer_feed] == [
        f"{owner.get_full_name()} added the buyer Acme Buyer SA"
    ]
    assert len(admin_feed) == 4
    assert "CreditGuard (automatic) made a change to Thing" in [item.text for item in admin_feed]


def test_a_viewer_sees_the_erp_integration_not_the_api_key(
    tenant_a, viewer_membership, admin_membership
):
    with active(tenant_a):
        key = ApiKeyFactory(tenant=tenant_a, name="SAP prod key")
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Keyed Buyer")
        audit_record(tenant=tenant_a, actor=key, action="buyer.create", obj=buyer)

        [seen_by_viewer] = activity_feed(tenant=tenant_a, membership=viewer_membership)
        [seen_by_admin] = activity_feed(tenant=tenant_a, membership=admin_membership)

    assert seen_by_viewer.text == "ERP integration added the buyer Keyed Buyer"
    assert "SAP prod key" not in seen_by_viewer.actor_display
    assert seen_by_admin.actor_display == "ERP integration (SAP prod key)"


def test_erp_bulk_writes_are_summed_into_one_line(tenant_a, anna, viewer_membership):
    with active(tenant_a):
        key = ApiKeyFactory(tenant=tenant_a, name="ERP")
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Early Buyer")
        audit_record(tenant=tenant_a, actor=anna, action="buyer.note", obj=buyer)
        for _batch in range(25):
            audit_record(
                tenant=tenant_a,
                actor=key,
                action="invoices.bulk_upsert",
                after={"created": 30, "updated": 10, "count": 40},
            )
        audit_record(
            tenant=tenant_a,
            actor=key,
            action="payments.bulk_upsert",
            after={"created": 1, "updated": 0, "count": 1},
        )
        audit_record(tenant=tenant_a, actor=None, action=SWEEP_ACTION, after={"buyers": 3})

        feed = activity_feed(tenant=tenant_a, membership=viewer_membership)

    assert [item.text for item in feed] == [
        "ERP integration synchronised 1,000 invoices, 1 payment",
        "Anna Lee added a note to Early Buyer",
    ]
    assert feed[0].count == 26
    assert feed[0].url is None  # the audit trail is not the viewer's


def test_bulk_writes_link_auditors_to_the_audit_trail(tenant_a, admin_membership):
    with active(tenant_a):
        key = ApiKeyFactory(tenant=tenant_a, name="ERP")
        audit_record(tenant=tenant_a, actor=key, action="buyers.bulk_upsert", after={"count": 2})

        [item] = activity_feed(tenant=tenant_a, membership=admin_membership)

    assert item.text == "ERP integration (ERP) synchronised 2 buyers"
    assert item.url.startswith(reverse("audit-log") + "?")


def test_system_jobs_are_left_out(tenant_a, admin_membership):
    with active(tenant_a):
        audit_record(tenant=tenant_a, actor=None, action=SWEEP_ACTION, after={"buyers": 3})
        audit_record(tenant=tenant_a, actor=None, action="claim.recompute")

        assert activity_feed(tenant=tenant_a, membership=admin_membership) == []


def test_the_feed_in_chinese_shows_no_action_code(tenant_a, anna, viewer_membership):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Müller GmbH")
        request = LimitRequestFactory(tenant=tenant_a, buyer=buyer)
        for action in ("limit_request.create", "limit_request.approve_partially", "buyer.note"):
            audit_record(tenant=tenant_a, actor=anna, action=action, obj=request)

        with translation.override("zh-hans"):
            feed = activity_feed(tenant=tenant_a, membership=viewer_membership)

    assert len(feed) == 3
    for item in feed:
        assert not re.search(r"[a-z_]+\.[a-z_]+", item.text), item.text


def test_the_feed_shows_only_the_active_tenants_events(
    tenant_a, tenant_b, viewer_membership, outsider
):
    with active(tenant_b):
        buyer_b = BuyerFactory(tenant=tenant_b, legal_name="Tenant B Buyer")
        audit_record(tenant=tenant_b, actor=outsider, action="buyer.create", obj=buyer_b)
    with active(tenant_a):
        buyer_a = BuyerFactory(tenant=tenant_a, legal_name="Tenant A Buyer")
        audit_record(tenant=tenant_a, actor=None, action="buyer.create", obj=buyer_a)

        feed = activity_feed(tenant=tenant_a, membership=viewer_membership)

    assert [item.text for item in feed] == [
        "CreditGuard (automatic) added the buyer Tenant A Buyer"
    ]


def _many_events(tenant, actor, count):
    key = ApiKeyFactory(tenant=tenant, name=f"ERP {count}")
    for index in range(count):
        buyer = BuyerFactory(tenant=tenant, legal_name=f"Buyer {count}-{index}")
        request = LimitRequestFactory(tenant=tenant, buyer=buyer)
        audit_record(tenant=tenant, actor=actor, action="buyer.create", obj=buyer)
        audit_record(tenant=tenant, actor=key, action="limit_request.create", obj=request)
        audit_record(tenant=tenant, actor=key, action="invoices.bulk_upsert", after={"count": 5})


def test_the_feed_runs_the_same_few_queries_for_any_number_of_events(
    tenant_a, anna, viewer_membership, django_assert_max_num_queries
):
    with active(tenant_a):
        _many_events(tenant_a, anna, 3)
        with django_assert_max_num_queries(4):  # events, bulk writes, buyers, requests
            small = activity_feed(tenant=tenant_a, membership=viewer_membership, limit=30)
        _many_events(tenant_a, anna, 20)
        with django_assert_max_num_queries(4):
            large = activity_feed(tenant=tenant_a, membership=viewer_membership, limit=30)

    assert len(small) == 7 and len(large) == 30


def test_an_old_bulk_write_does_not_push_out_newer_events(tenant_a, anna, viewer_membership):
    with active(tenant_a):
        key = ApiKeyFactory(tenant=tenant_a, name="ERP")
        with mock.patch(
            "django.utils.timezone.now", return_value=timezone.now() - timedelta(days=3)
        ):
            audit_record(
                tenant=tenant_a, actor=key, action="invoices.bulk_upsert", after={"count": 9}
            )
        buyer = BuyerFactory(tenant=tenant_a, legal_name="New Buyer")
        for _index in range(3):
            audit_record(tenant=tenant_a, actor=anna, action="buyer.note", obj=buyer)

        feed = activity_feed(tenant=tenant_a, membership=viewer_membership, limit=3)

    assert [item.text for item in feed] == ["Anna Lee added a note to New Buyer"] * 3


def test_the_dashboard_shows_the_feed_in_plain_words(client, tenant_a, anna, viewer_membership):
    with active(tenant_a):
        key = ApiKeyFactory(tenant=tenant_a, name="SAP prod key")
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Müller GmbH")
        audit_record(tenant=tenant_a, actor=key, action="buyer.create", obj=buyer)
        audit_record(tenant=tenant_a, actor=key, action="invoices.bulk_upsert", after={"count": 3})
    client.force_login(viewer_membership.user)

    page = client.get(reverse("dashboard")).content.decode()

    assert "ERP integration added the buyer Müller GmbH" in page
    assert "ERP integration synchronised 3 invoices" in page
    assert "SAP prod key" not in page and "bulk_upsert" not in page


def test_every_registered_action_is_still_written_somewhere():
    stale = sorted(set(_ACTIONS) | set(_BATCHES))
    assert sorted(set(stale) - set(ALL_ACTIONS)) == []


def test_the_demo_erp_sync_shows_as_one_line(tenant_a, owner, viewer_membership):
    from buyers.demo import DEMO_ERP_KEY_NAME, seed_demo_erp_sync
    from tests.factories import InvoiceFactory

    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        for _index in range(3):
            InvoiceFactory(tenant=tenant_a, buyer=buyer)

    assert seed_demo_erp_sync(tenant=tenant_a, admin_email=owner.email)
    assert not seed_demo_erp_sync(tenant=tenant_a, admin_email=owner.email)

    with active(tenant_a):
        feed = activity_feed(tenant=tenant_a, membership=viewer_membership)
    assert [item.text for item in feed] == ["ERP integration synchronised 3 invoices"]
    assert DEMO_ERP_KEY_NAME not in feed[0].actor_display
