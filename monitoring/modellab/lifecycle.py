"""A tenant scorecard's life after training: shadow mode, four-eyes promotion, retirement.

::

    training ─► trained ◄──► shadow            (shadow_start / shadow_stop; one shadow at a time)
       │           │            │
       ▼           └────┬───────┘
     failed             ▼  promotion_request (A) + promotion_approve (B ≠ A)
                      active ──► retired        (retirement_request (A) + retirement_approve (B))
                                                 trained / shadow / failed: model_retire

Rules (services trust typed input; the edge checks the role for shadow and plain retirement):

- **Shadow**: a trained model scores beside the official one in every re-scoring
  (`monitoring.modellab.registry`); starting one puts any other shadow model back to trained.
- **Promotion is four-eyes**: a credit manager or administrator (MANAGE_MONITORING) asks for it
  with a note saying why; *another* person with MANAGE_MONITORING approves it (or anyone with
  MANAGE_MONITORING rejects it with a reason; the requester may withdraw that way). Both steps
  need a signed-in person: an API key is not a person. Approval retires the previous active
  model, makes this one active, ends any shadow run (it compared against the old official
  model) and starts a "Rescore now" run so the official scores move to the new model.
- **Who may approve**: anyone with MANAGE_MONITORING but the requester. The person who trained
  the model *may* approve when someone else asked for the promotion: two distinct people have
  then looked at it, which is what four eyes means, and a small tenant with two credit managers
  can still promote. (Requiring a third person, distinct from the trainer too, would lock out
  such tenants without adding a pair of eyes the request has not already brought.)
- **Retiring the active model is four-eyes too**: it changes every official score (the tenant
  goes back to the built-in model), so it is requested with a note and approved by a second
  person, like a promotion. While the model is active, its ``promotion_requested_*`` fields hold
  that pending retirement request (a request newer than the promotion); the full history of
  requests and decisions is in the audit trail. A model that is not active (trained, in shadow,
  failed) is retired by one person: no official score depends on it.

The re-scoring after an approval is `rescoring.rescore_now`: when a "Rescore now" run is
already going, the approval joins it rather than start a second one. The registry is read per
chunk, so its remaining chunks score with the new official model; the buyers it scored before
the approval keep the previous model's score (their `model_version` says so) until the next run.

Every step runs in a transaction under a per-tenant advisory lock (two approvals at once must
not make two models active) and writes an audit record.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.audit.services import audit_record
from creditguard.progress import percent_done
from creditguard.tenancy.models import Tenant

from .. import rescoring
from ..models import RescoreRun, ScoringModel

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

Status = ScoringModel.Status
_LOCK_NAMESPACE = 0x4D4C4142  # "MLAB": first key of the per-tenant model-lab lock
PROMOTABLE = (Status.TRAINED, Status.SHADOW)


class ModelLabError(Exception):
    """A lifecycle step that cannot be taken; ``message`` says why (translated)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class StepNotAllowed(ModelLabError):
    """The actor may not take this step (an API key, no permission, the requester approving)."""


class WrongStatus(ModelLabError):
    """The model is not in a status that allows the step (or no request is waiting)."""


class PendingRequest(StrEnum):
    PROMOTION = "promotion"
    RETIREMENT = "retirement"


def pending_request(model: ScoringModel) -> PendingRequest | None:
    """What is waiting for a second person on ``model``: its promotion, its retirement, or
    nothing."""
    requested_at = model.promotion_requested_at
    if requested_at is None:
        return None
    if model.status in PROMOTABLE:
        return PendingRequest.PROMOTION
    if model.status == Status.ACTIVE and (
        model.promoted_at is None or requested_at > model.promoted_at
    ):
        return PendingRequest.RETIREMENT
    return None


def may_decide(model: ScoringModel, user: User) -> bool:
    """Whether ``user`` is not the one who asked for ``model``'s pending request (pages show the
    approve button only then; the role is the caller's check)."""
    return pending_request(model) is not None and model.promotion_requested_by_id != user.pk


def training_progress(model: ScoringModel) -> dict[str, Any]:
    """What a progress bar polls while ``model`` trains: status, steps done of the total,
    percent (100 only once trained), whether it ended, and the error of a failed training."""
    total, done = model.progress_total, min(model.progress_done, model.progress_total)
    percent = percent_done(done, total, finished=model.status != Status.TRAINING)
    return {
        "status": model.status,
        "status_label": str(model.get_status_display()),
        "done_steps": done,
        "total_steps": total,
        "percent": percent,
        "done": model.status != Status.TRAINING,
        "error": model.error,
    }


# --- Shadow ------------------------------------------------------------------------------------


@transaction.atomic
def shadow_start(*, tenant: Tenant, actor: Actor, model: ScoringModel) -> ScoringModel:
    """Run ``model`` (trained) in shadow mode; the tenant's other shadow model, if any, goes back
    to trained. The role check (MANAGE_MONITORING or a write key) is the caller's."""
    model = _locked(tenant, model)
    if model.status == Status.SHADOW:
        raise WrongStatus(_("The model is already in shadow mode."))
    if model.status != Status.TRAINED:
        raise WrongStatus(_("Only a trained model can run in shadow mode."))
    replaced = list(
        ScoringModel.objects.filter(status=Status.SHADOW).values_list("version", flat=True)
    )
    ScoringModel.objects.filter(status=Status.SHADOW).update(status=Status.TRAINED)
    _set(model, status=Status.SHADOW)
    _audit(
        tenant=tenant,
        actor=actor,
        action="scoring_model.shadow_start",
        model=model,
        extra={"replaced": replaced},
    )
    return model


@transaction.atomic
def shadow_stop(*, tenant: Tenant, actor: Actor, model: ScoringModel) -> ScoringModel:
    """End ``model``'s shadow run: back to trained (its shadow scores stay)."""
    model = _locked(tenant, model)
    if model.status != Status.SHADOW:
        raise WrongStatus(_("The model is not in shadow mode."))
    _set(model, status=Status.TRAINED)
    _audit(tenant=tenant, actor=actor, action="scoring_model.shadow_stop", model=model)
    return model


# --- Promotion (four eyes) ---------------------------------------------------------------------


@transaction.atomic
def promotion_request(
    *, tenant: Tenant, actor: Actor, model: ScoringModel, note: str
) -> ScoringModel:
    """Ask for ``model`` (trained or in shadow) to become the tenant's official model. A second
    person approves (`promotion_approve`). ``note``: why, required."""
    user = _manager(actor)
    model = _locked(tenant, model)
    if model.status not in PROMOTABLE:
        raise WrongStatus(_("Only a trained model or one in shadow mode can be promoted."))
    if pending_request(model) is not None:
        raise WrongStatus(_("A promotion of this model is already waiting for approval."))
    note = _required(note, "note", _("Say why the model should become the official one."))
    _set(
        model,
        promotion_requested_by=user,
        promotion_requested_at=timezone.now(),
        promotion_note=note,
    )
    _audit(
        tenant=tenant,
        actor=actor,
        action="scoring_model.promotion_request",
        model=model,
        extra={"note": note},
    )
    return model


@transaction.atomic
def promotion_approve(*, tenant: Tenant, actor: Actor, model: ScoringModel) -> RescoreRun:
    """Approve ``model``'s pending promotion (a person other than the requester): the previous
    active model is retired, this one becomes active, any shadow run ends, and a "Rescore now"
    run starts (returned) so every official score moves to the new model."""
    user = _manager(actor)
    model = _locked(tenant, model)
    if pending_request(model) != PendingRequest.PROMOTION:
        raise WrongStatus(_("No promotion of this model is waiting for approval."))
    _second_person(model, user)
    now = timezone.now()
    previous = list(
        ScoringModel.objects.filter(status=Status.ACTIVE).values_list("version", flat=True)
    )
    # Retire first: at most one active model per tenant (a unique index, checked per statement).
    ScoringModel.objects.filter(status=Status.ACTIVE).update(status=Status.RETIRED, retired_at=now)
    ScoringModel.objects.filter(status=Status.SHADOW).exclude(pk=model.pk).update(
        status=Status.TRAINED
    )
    _set(model, status=Status.ACTIVE, promoted_by=user, promoted_at=now)
    _audit(
        tenant=tenant,
        actor=actor,
        action="scoring_model.promote",
        model=model,
        extra={"requested_by": _username(model.promotion_requested_by), "retired": previous},
    )
    return rescoring.rescore_now(tenant=tenant, actor=actor)


@transaction.atomic
def promotion_reject(
    *, tenant: Tenant, actor: Actor, model: ScoringModel, reason: str
) -> ScoringModel:
    """Turn down ``model``'s pending request (promotion or retirement) with a reason. Anyone
    with MANAGE_MONITORING may, the requester included (a withdrawal)."""
    _manager(actor)
    model = _locked(tenant, model)
    kind = pending_request(model)
    if kind is None:
        raise WrongStatus(_("No request on this model is waiting for a decision."))
    reason = _required(reason, "reason", _("Say why the request is turned down."))
    after = {
        "request": kind.value,
        "requested_by": _username(model.promotion_requested_by),
        "note": model.promotion_note,
        "reason": reason,
    }
    _set(model, promotion_requested_by=None, promotion_requested_at=None, promotion_note="")
    _audit(
        tenant=tenant,
        actor=actor,
        action="scoring_model.promotion_reject",
        model=model,
        extra=after,
    )
    return model


# --- Retirement --------------------------------------------------------------------------------


@transaction.atomic
def retirement_request(
    *, tenant: Tenant, actor: Actor, model: ScoringModel, note: str
) -> ScoringModel:
    """Ask for the active ``model`` to be retired, so the tenant scores with the built-in model
    again; a second person approves (`retirement_approve`)."""
    user = _manager(actor)
    model = _locked(tenant, model)
    if model.status != Status.ACTIVE:
        raise WrongStatus(_("Only the active model needs a request to be retired."))
    if pending_request(model) is not None:
        raise WrongStatus(_("A retirement of this model is already waiting for approval."))
    note = _required(note, "note", _("Say why the model should be retired."))
    _set(
        model,
        promotion_requested_by=user,
        promotion_requested_at=timezone.now(),
        promotion_note=note,
    )
    _audit(
        tenant=tenant,
        actor=actor,
        action="scoring_model.retirement_request",
        model=model,
        extra={"note": note},
    )
    return model


@transaction.atomic
def retirement_approve(*, tenant: Tenant, actor: Actor, model: ScoringModel) -> RescoreRun:
    """Approve the active ``model``'s pending retirement (not by the requester): the tenant
    goes back to the built-in model and a "Rescore now" run starts (returned)."""
    user = _manager(actor)
    model = _locked(tenant, model)
    if pending_request(model) != PendingRequest.RETIREMENT:
        raise WrongStatus(_("No retirement of this model is waiting for approval."))
    _second_person(model, user)
    requested_by = _username(model.promotion_requested_by)
    _set(model, status=Status.RETIRED, retired_at=timezone.now())
    _audit(
        tenant=tenant,
        actor=actor,
        action="scoring_model.retire",
        model=model,
        extra={"requested_by": requested_by},
    )
    return rescoring.rescore_now(tenant=tenant, actor=actor)


def request_approve(*, tenant: Tenant, actor: Actor, model: ScoringModel) -> RescoreRun:
    """Approve whatever request is waiting on ``model`` (promotion or retirement)."""
    if pending_request(model) == PendingRequest.RETIREMENT:
        return retirement_approve(tenant=tenant, actor=actor, model=model)
    return promotion_approve(tenant=tenant, actor=actor, model=model)


@transaction.atomic
def model_retire(*, tenant: Tenant, actor: Actor, model: ScoringModel) -> ScoringModel:
    """Retire a model no official score depends on (trained, in shadow or failed). The role
    check is the caller's; the active model goes through `retirement_request`."""
    model = _locked(tenant, model)
    if model.status == Status.ACTIVE:
        raise WrongStatus(
            _("The active model is retired on request, with a second person's approval.")
        )
    if model.status not in (Status.TRAINED, Status.SHADOW, Status.FAILED):
        raise WrongStatus(_("This model cannot be retired now."))
    _set(
        model,
        status=Status.RETIRED,
        retired_at=timezone.now(),
        promotion_requested_by=None,
        promotion_requested_at=None,
        promotion_note="",
    )
    _audit(tenant=tenant, actor=actor, action="scoring_model.retire", model=model)
    return model


# --- Helpers -----------------------------------------------------------------------------------


def _locked(tenant: Tenant, model: ScoringModel) -> ScoringModel:
    """``model`` read again under the tenant's model-lab lock (within the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, tenant.pk & 0x7FFFFFFF]
        )
    return ScoringModel.objects.select_related("promotion_requested_by").get(pk=model.pk)


def _manager(actor: Actor) -> User:
    """The signed-in person behind ``actor``, who must hold MANAGE_MONITORING in the tenant."""
    if not isinstance(actor, User):
        raise StepNotAllowed(
            _("Promoting or retiring a model needs a signed-in person; an API key is not a person.")
        )
    membership = Membership.objects.filter(user=actor).first()
    if membership is None or not membership.allows(Permission.MANAGE_MONITORING):
        raise StepNotAllowed(
            _("Only credit managers and administrators may promote or retire models.")
        )
    return actor


def _second_person(model: ScoringModel, user: User) -> None:
    if model.promotion_requested_by_id == user.pk:
        raise StepNotAllowed(
            _("Four eyes: someone other than the person who asked must approve the request.")
        )


def _required(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: [message]})
    return text


def _set(model: ScoringModel, **values: Any) -> None:
    for name, value in values.items():
        setattr(model, name, value)
    model.save(update_fields=list(values))


def _username(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def _audit(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    model: ScoringModel,
    extra: dict[str, Any] | None = None,
) -> None:
    audit_record(
        tenant=tenant,
        actor=actor,
        action=action,
        obj=model,
        after={"version": model.version, "status": model.status, **(extra or {})},
    )
