"""The API's JSON parser: strict, bounded, and safe to hand to PostgreSQL.

orjson rejects what Python's `json` lets through (lone surrogates, invalid UTF-8, NaN). On
top of that the parser refuses a body that is not a JSON object (every operation takes one),
NUL characters in any string (PostgreSQL cannot store them; reported by field) and nesting
deeper than `MAX_DEPTH` (which would otherwise end in a RecursionError). Bodies above
`DATA_UPLOAD_MAX_MEMORY_SIZE` are refused with 413 before they are read; the bulk endpoints
read their larger bodies themselves (`buyers.api.bulk`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import orjson
from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, renderers

MAX_DEPTH = 32
NUL_MESSAGE = "Null characters are not allowed."  # Django's ProhibitNullCharactersValidator


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def nul_fields(data: Any) -> list[str]:
    """Paths (`a.b[2].c`) of every string key or value in `data` holding a NUL character.

    Iterative, so a hostile nesting depth cannot exhaust the stack; raises ParseError beyond
    MAX_DEPTH levels."""
    found: list[str] = []
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise exceptions.ParseError(
                _("JSON nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH}
            )
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path or "non_field_errors")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    found.append(f"{path}.{key!r}" if path else repr(key))
                stack.append((f"{path}.{key}" if path else key, item, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((f"{path}[{index}]", item, depth + 1))
    return sorted(found)


class JSONParser(parsers.BaseParser):
    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit is not None and length and length.isdigit() and int(length) > limit:
            raise PayloadTooLarge()
        body = stream.read() if stream is not None else b""
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise exceptions.ParseError(
                _("JSON parse error: %(error)s") % {"error": error}
            ) from None
        if not isinstance(data, dict):
            # Every operation of the API takes an object (bulk endpoints parse their own bodies).
            raise exceptions.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        fields = nul_fields(data)
        if fields:
            raise exceptions.ValidationError({field: [_(NUL_MESSAGE)] for field in fields})
        return data
