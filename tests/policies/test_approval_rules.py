"""Who may approve and when a request is decided (pure rules of `policies.approval`)."""

from decimal import Decimal

from policies.approval import (
    Approval,
    Objection,
    amount_on_the_table,
    objections,
    required_approvals,
    round_outcome,
)

THRESHOLD = Decimal("250000")


def may(**overrides) -> list[Objection]:
    arguments = {
        "is_pending": True,
        "may_decide": True,
        "decider_id": 2,
        "requester_id": 1,
        "approving": True,
        "amount": Decimal("100000"),
        "authority": Decimal("500000"),
        "earlier_approver_ids": set(),
    } | overrides
    return objections(**arguments)


def test_an_approver_within_authority_may_approve_someone_elses_request():
    assert may() == []


def test_nobody_decides_on_their_own_request():
    assert may(decider_id=1) == [Objection.OWN_REQUEST]
    assert may(decider_id=1, approving=False) == [Objection.OWN_REQUEST]


def test_an_amount_above_the_approvers_authority_is_refused():
    assert may(amount=Decimal("500000.01")) == [Objection.ABOVE_AUTHORITY]
    assert may(amount=Decimal("500000")) == []


def test_an_unknown_authority_covers_nothing():
    assert may(authority=None) == [Objection.ABOVE_AUTHORITY]


def test_refusing_needs_no_authority():
    assert may(approving=False, amount=None, authority=Decimal("0")) == []


def test_the_same_person_cannot_give_the_second_approval():
    assert may(earlier_approver_ids={2}) == [Objection.ALREADY_APPROVED]


def test_only_pending_requests_and_deciders_can_be_decided():
    assert may(is_pending=False, may_decide=False) == [
        Objection.NOT_PENDING,
        Objection.NO_PERMISSION,
    ]


def test_two_approvers_are_required_above_the_threshold_or_by_the_band():
    assert (
        required_approvals(amount=THRESHOLD, four_eyes_threshold=THRESHOLD, band_four_eyes=False)
        == 1
    )
    assert (
        required_approvals(
            amount=THRESHOLD + 1, four_eyes_threshold=THRESHOLD, band_four_eyes=False
        )
        == 2
    )
    assert (
        required_approvals(amount=Decimal(1), four_eyes_threshold=THRESHOLD, band_four_eyes=True)
        == 2
    )


def test_the_amount_on_the_table_is_the_smallest_approved_so_far():
    approvals = [Approval(approver_id=2, amount=Decimal("300000"))]

    assert amount_on_the_table(requested_amount=Decimal("400000"), approvals=[]) == Decimal(
        "400000"
    )
    assert amount_on_the_table(requested_amount=Decimal("400000"), approvals=approvals) == Decimal(
        "300000"
    )


def test_one_approval_above_the_threshold_is_not_enough():
    outcome = round_outcome(
        requested_amount=Decimal("400000"),
        approvals=[Approval(approver_id=2, amount=Decimal("400000"))],
        four_eyes_threshold=THRESHOLD,
        band_four_eyes=False,
    )

    assert (outcome.granted_amount, outcome.approvals_needed, outcome.approvals_given) == (
        None,
        2,
        1,
    )


def test_two_distinct_approvals_grant_the_smallest_approved_amount():
    outcome = round_outcome(
        requested_amount=Decimal("400000"),
        approvals=[
            Approval(approver_id=2, amount=Decimal("400000")),
            Approval(approver_id=3, amount=Decimal("300000")),
        ],
        four_eyes_threshold=THRESHOLD,
        band_four_eyes=False,
    )

    assert outcome.granted_amount == Decimal("300000")


def test_a_partial_approval_below_the_threshold_needs_one_approver():
    outcome = round_outcome(
        requested_amount=Decimal("400000"),
        approvals=[Approval(approver_id=2, amount=Decimal("200000"))],
        four_eyes_threshold=THRESHOLD,
        band_four_eyes=False,
    )

    assert (outcome.granted_amount, outcome.approvals_needed) == (Decimal("200000"), 1)
