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


# Request fields and filters that name another resource: `<singular>` / `<singular>_id` take its
# id, `<singular>_erp_reference` its ERP reference (`buyer`, `buyer_id`, `buyer_erp_reference`).
ID_SUFFIXES = ("", "_id")
ERP_REFERENCE_SUFFIX = "_erp_reference"
LOCATION_WORDS = {"path": "path parameter", "query": "filter"}


def add_links(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: OpenAPI links from what a create returns to the
    operations that take it, derived from the paths so they follow the endpoints as they change.

    A `POST /api/v1/<things>/` whose answer has an `id` links to every operation on
    `/api/v1/<things>/{id}/…`; if the answer has an `erp_reference`, also to the operations
    keyed by it (`…/by-reference/{erp_reference}/`, `…/by-<thing>/{erp_reference}/`), and to
    every operation without path parameters whose body fields or filters name a `<thing>`
    (`buyer_erp_reference`, `buyer`). Integrators read what to call next; Schemathesis follows
    the links in stateful tests."""
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    for collection, path_item in paths.items():
        create = path_item.get("post")
        if "{" in collection or not isinstance(create, dict):
            continue
        for status, response in create.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            created = _resolve(_json_schema(response), components).get("properties", {})
            if "id" not in created:
                continue
            thing = _singular(collection)
            links = {}
            for path, item in paths.items():
                for operation in item.values():
                    if not isinstance(operation, dict) or operation is create:
                        continue
                    link = _link_to(path, operation, collection, thing, created, components)
                    if link is not None:
                        links[operation["operationId"]] = link
            if links:
                response["links"] = links
    return result


def _link_to(
    path: str,
    operation: dict[str, Any],
    collection: str,
    thing: str,
    created: dict[str, Any],
    components: dict[str, Any],
) -> dict[str, Any] | None:
    """The link from a new `thing` (answer properties `created`) to `operation`, if it takes one."""
    path_parameters = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    by_erp_reference = f"/by-{thing.replace('_', '-')}/{{erp_reference}}"
    parameters: dict[str, str] = {}
    body: dict[str, str] = {}
    if path_parameters == {"id"} and (path + "/").startswith(f"{collection}{{id}}/"):
        parameters["path.id"] = "$response.body#/id"
    elif path_parameters == {"erp_reference"} and "erp_reference" in created:
        if path.startswith(f"{collection}by-reference/") or by_erp_reference in path:
            parameters["path.erp_reference"] = "$response.body#/erp_reference"
    elif not path_parameters:
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                expression = _expression_for(parameter["name"], parameter.get("schema", {}), thing)
                if expression is not None and _field(expression) in created:
                    parameters[f"query.{parameter['name']}"] = expression
        request_body = _resolve(_json_schema(operation.get("requestBody", {})), components)
        for name, field in request_body.get("properties", {}).items():
            expression = _expression_for(name, field, thing)
            if expression is not None and _field(expression) in created:
                body[name] = expression
    if not parameters and not body:
        return None
    link: dict[str, Any] = {"operationId": operation["operationId"]}
    if parameters:
        link["parameters"] = parameters
    if body:
        # Only these fields of the body; the others are the caller's.
        link["requestBody"] = body
    passed = [
        f"`{_field(expression)}` as the {LOCATION_WORDS[target.split('.')[0]]} `{target.split('.')[-1]}`"
        for target, expression in parameters.items()
    ] + [f"`{_field(expression)}` as the body field `{name}`" for name, expression in body.items()]
    link["description"] = f"The new {thing.replace('_', ' ')}'s " + ", ".join(passed) + "."
    return link


def _expression_for(name: str, schema: dict[str, Any], thing: str) -> str | None:
    if name == thing + ERP_REFERENCE_SUFFIX and schema.get("type") == "string":
        return "$response.body#/erp_reference"
    if name in {thing + suffix for suffix in ID_SUFFIXES} and schema.get("type") in {
        "integer",
        "number",
    }:
        return "$response.body#/id"
    return None


def _field(expression: str) -> str:
    return expression.rsplit("/", 1)[-1]


def _singular(collection: str) -> str:
    """`/api/v1/limit-requests/` → `limit_request`, `/api/v1/insurance-policies/` → `insurance_policy`."""
    name = collection.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")
    if name.endswith("ies"):
        return name[: -len("ies")] + "y"
    return name.removesuffix("s")


def _json_schema(holder: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = holder.get("content", {}).get("application/json", {}).get("schema", {})
    return schema


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema
