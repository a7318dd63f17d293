"""A scorecard's life after training: shadow mode, four-eyes promotion and retirement."""

import pytest
from django.core.exceptions import ValidationError

from creditguard.audit.models import AuditEvent
from monitoring.modellab import lifecycle, registry
from monitoring.modellab.lifecycle import PendingRequest, StepNotAllowed, WrongStatus
from monitoring.models import RescoreRun, ScoringModel
from tests.conftest import active
from tests.factories import ApiKeyFactory, MembershipFactory
from tests.monitoring.test_model_registry import scoring_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="credit_manager", user__email="manager@a.example"
        ).user


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user


def status_of(model):
    return ScoringModel.objects.get(pk=model.pk).status


def test_starting_a_shadow_run_puts_the_previous_shadow_model_back_to_trained(tenant_a, owner):
    with active(tenant_a):
        old = scoring_model(tenant_a, version="t-1", status="shadow")
        new = scoring_model(tenant_a, version="t-2")
        lifecycle.shadow_start(tenant=tenant_a, actor=owner, model=new)
        assert (status_of(old), status_of(new)) == ("trained", "shadow")
        assert registry.shadow_model() == new
        event = AuditEvent.objects.get(action="scoring_model.shadow_start")
        assert (event.object_id, event.after["replaced"]) == (str(new.pk), ["t-1"])
        with pytest.raises(WrongStatus, match="already in shadow"):
            lifecycle.shadow_start(tenant=tenant_a, actor=owner, model=new)
        lifecycle.shadow_stop(tenant=tenant_a, actor=owner, model=new)
        assert status_of(new) == "trained"
        with pytest.raises(WrongStatus, match="not in shadow"):
            lifecycle.shadow_stop(tenant=tenant_a, actor=owner, model=new)


@pytest.mark.parametrize("status", ["training", "failed", "active", "retired"])
def test_only_a_trained_model_runs_in_shadow(tenant_a, owner, status):
    with active(tenant_a):
        model = scoring_model(tenant_a, status=status)
        with pytest.raises(WrongStatus):
            lifecycle.shadow_start(tenant=tenant_a, actor=owner, model=model)


def test_a_promotion_needs_a_manager_a_person_and_a_note(tenant_a, owner, teammate, viewer):
    with active(tenant_a):
        model = scoring_model(tenant_a)
        key = ApiKeyFactory(tenant=tenant_a, scope="write")
        for refused in (viewer, teammate):  # a viewer, an analyst
            with pytest.raises(StepNotAllowed, match="credit managers and administrators"):
                lifecycle.promotion_request(tenant=tenant_a, actor=refused, model=model, note="x")
        with pytest.raises(StepNotAllowed, match="an API key is not a person"):
            lifecycle.promotion_request(tenant=tenant_a, actor=key, model=model, note="x")
        with pytest.raises(ValidationError) as missing:
            lifecycle.promotion_request(tenant=tenant_a, actor=owner, model=model, note="  ")
        assert list(missing.value.message_dict) == ["note"]
        lifecycle.promotion_request(tenant=tenant_a, actor=owner, model=model, note="AUC +0.08")
        model.refresh_from_db()
        assert (model.promotion_requested_by, model.promotion_note) == (owner, "AUC +0.08")
        assert lifecycle.pending_request(model) == PendingRequest.PROMOTION
        with pytest.raises(WrongStatus, match="already waiting"):
            lifecycle.promotion_request(tenant=tenant_a, actor=owner, model=model, note="again")


def test_a_promotion_is_approved_by_a_second_person_only(
    tenant_a, owner, manager, viewer, django_capture_on_commit_callbacks, sent_tasks
):
    with active(tenant_a):
        previous = scoring_model(tenant_a, version="t-1", status="active")
        other_shadow = scoring_model(tenant_a, version="t-2", status="shadow")
        model = scoring_model(tenant_a, version="t-3", trained_by=manager)
        lifecycle.promotion_request(tenant=tenant_a, actor=owner, model=model, note="Better AUC")
        with pytest.raises(StepNotAllowed, match="Four eyes"):
            lifecycle.promotion_approve(tenant=tenant_a, actor=owner, model=model)
        with pytest.raises(StepNotAllowed):
            lifecycle.promotion_approve(tenant=tenant_a, actor=viewer, model=model)
        assert status_of(model) == "trained"

        # The trainer may approve a promotion somebody else asked for: two people looked at it.
        with django_capture_on_commit_callbacks(execute=True):
            run = lifecycle.promotion_approve(tenant=tenant_a, actor=manager, model=model)
        model.refresh_from_db()
        assert (model.status, model.promoted_by) == ("active", manager)
        assert model.promoted_at is not None
        assert (status_of(previous), status_of(other_shadow)) == ("retired", "trained")
        assert ScoringModel.objects.get(pk=previous.pk).retired_at is not None
        assert registry.active_model() == model and registry.shadow_model() is None
        assert lifecycle.pending_request(model) is None
        assert (run.trigger, run.status, run.requested_by) == ("manual", "queued", manager)
        assert RescoreRun.objects.count() == 1
        event = AuditEvent.objects.get(action="scoring_model.promote")
        assert (event.actor_user, event.after["requested_by"], event.after["retired"]) == (
            manager,
            owner.get_username(),
            ["t-1"],
        )
    assert [(task.name, task.args) for task in sent_tasks] == [
        ("monitoring.rescore_run", (run.pk,))
    ]


def test_nothing_to_approve_without_a_request(tenant_a, owner):
    with active(tenant_a):
        model = scoring_model(tenant_a, status="shadow")
        with pytest.raises(WrongStatus, match="No promotion"):
            lifecycle.promotion_approve(tenant=tenant_a, actor=owner, model=model)


def test_a_rejection_needs_a_reason_and_clears_the_request(tenant_a, owner, manager):
    with active(tenant_a):
        model = scoring_model(tenant_a, status="shadow")
        with pytest.raises(WrongStatus):
            lifecycle.promotion_reject(tenant=tenant_a, actor=manager, model=model, reason="no")
        lifecycle.promotion_request(tenant=tenant_a, actor=owner, model=model, note="Try it")
        with pytest.raises(ValidationError) as missing:
            lifecycle.promotion_reject(tenant=tenant_a, actor=manager, model=model, reason="")
        assert list(missing.value.message_dict) == ["reason"]
        lifecycle.promotion_reject(
            tenant=tenant_a, actor=manager, model=model, reason="Shadow for one more month"
        )
        model.refresh_from_db()
        assert (model.status, model.promotion_requested_by, model.promotion_note) == (
            "shadow",
            None,
            "",
        )
        event = AuditEvent.objects.get(action="scoring_model.promotion_reject")
        assert event.after | {"status": None} == {
            "version": "t-2026.1", "status": None, "request": "promotion",
            "requested_by": owner.get_username(), "note": "Try it",
            "reason": "Shadow for one more month",
        }  # fmt: skip


def test_retiring_the_active_model_is_four_eyes_and_returns_to_the_built_in(
    tenant_a, owner, manager, django_capture_on_commit_callbacks, sent_tasks
):
    with active(tenant_a):
        model = scoring_model(tenant_a, status="trained")
        lifecycle.promotion_request(tenant=tenant_a, actor=owner, model=model, note="Go")
        lifecycle.promotion_approve(tenant=tenant_a, actor=manager, model=model)
        model.refresh_from_db()
        with pytest.raises(WrongStatus, match="second person"):
            lifecycle.model_retire(tenant=tenant_a, actor=owner, model=model)
        lifecycle.retirement_request(
            tenant=tenant_a, actor=manager, model=model, note="Drifted in Q3"
        )
        model.refresh_from_db()
        assert lifecycle.pending_request(model) == PendingRequest.RETIREMENT
        with pytest.raises(StepNotAllowed, match="Four eyes"):
            lifecycle.request_approve(tenant=tenant_a, actor=manager, model=model)
        RescoreRun.objects.update(status="succeeded")
        run = lifecycle.request_approve(tenant=tenant_a, actor=owner, model=model)
        model.refresh_from_db()
        assert (model.status, registry.active_model()) == ("retired", None)
        assert registry.official_version() == "cg-2026.2"
        assert run.status == "queued"
        assert AuditEvent.objects.filter(action="scoring_model.retire").count() == 1


def test_a_model_nothing_depends_on_is_retired_at_once(tenant_a, owner):
    with active(tenant_a):
        for status in ("trained", "shadow", "failed"):
            model = scoring_model(tenant_a, version=f"t-{status}", status=status)
            lifecycle.model_retire(tenant=tenant_a, actor=owner, model=model)
            assert status_of(model) == "retired"
        with pytest.raises(WrongStatus):
            lifecycle.model_retire(tenant=tenant_a, actor=owner, model=model)


def test_another_tenants_model_cannot_be_touched(tenant_a, tenant_b, owner, outsider):
    with active(tenant_a):
        model = scoring_model(tenant_a)
    with active(tenant_b), pytest.raises(ScoringModel.DoesNotExist):
        lifecycle.shadow_start(tenant=tenant_b, actor=outsider, model=model)
