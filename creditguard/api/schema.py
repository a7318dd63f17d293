from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "creditguard.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "cg_<prefix>_<secret>",
            "description": "A tenant API key created under Settings → API keys.",
        }


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Invalid fields (400); bulk endpoints add the record's index.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "index": {"type": "integer"},
                },
            },
        },
        "retry_after": {"type": "integer"},
    },
}

# Every operation can answer these; those with a body or parameters also 400 (invalid input),
# and those with an id in the path 404. Declared once here instead of on each view.
COMMON_ERRORS = {
    "401": "Not authenticated: no, invalid or revoked API key.",
    "403": "Permission denied: the key's scope or the member's role does not allow it.",
    "404": "Not found, or another tenant's.",
    "405": "Method not allowed.",
    "400": "Invalid input, with the fields in `errors`.",
    "409": "Conflict with the current state, or with a record written at the same time.",
    "413": "The request body is too large.",
    "415": "Unsupported media type: send application/json.",
    "429": "Too many requests; see Retry-After.",
    "503": "A service the API depends on is briefly unavailable; see Retry-After.",
}


def add_problem_responses(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the problem document as a component, and the error
    answers every operation can give, so clients (and Schemathesis) know the whole contract."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in COMMON_ERRORS.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": reference}},
                    },
                )
    return result
