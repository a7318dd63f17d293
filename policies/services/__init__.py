"""Writes for credit policy, limit requests and decisions, credit limits, insurer cover and
notifications, one module per sub-domain. Each service takes the tenant and the actor, runs in
a transaction and writes the audit record; the rules themselves are in the pure modules
(`approval`, `recommendation`, `schedule`).

One input contract: the edge (API serializer, page form) parses and validates the input once;
the services take typed keyword arguments (`CoverTerms` for a cover) and check only the rules
that need several fields together, the database or today's date.
"""

from .covers import COVER_FIELDS, CoverTerms, insurer_cover_save
from .limits import LIMIT_FIELDS, credit_limit_block, credit_limit_set, credit_limit_unblock
from .notifications import notifications_mark_read, notify
from .policy import BAND_FIELDS, POLICY_FIELDS, credit_policy_create, validate_bands
from .requests import (
    REQUEST_FIELDS,
    DecisionNotAllowed,
    PolicyOverrideRequired,
    limit_request_breaches,
    limit_request_create,
    limit_request_decide,
    limit_request_resubmit,
    limit_request_withdraw,
    policy_limits_for,
)
from .reviews import limit_reviews_run

__all__ = [
    "BAND_FIELDS",
    "COVER_FIELDS",
    "LIMIT_FIELDS",
    "POLICY_FIELDS",
    "REQUEST_FIELDS",
    "CoverTerms",
    "DecisionNotAllowed",
    "PolicyOverrideRequired",
    "credit_limit_block",
    "credit_limit_set",
    "credit_limit_unblock",
    "credit_policy_create",
    "insurer_cover_save",
    "limit_request_breaches",
    "limit_request_create",
    "limit_request_decide",
    "limit_request_resubmit",
    "limit_request_withdraw",
    "limit_reviews_run",
    "notifications_mark_read",
    "notify",
    "policy_limits_for",
    "validate_bands",
]
