"""The OpenAPI schema's error answers: one JSON shape, declared on every operation for the codes it can return.

Clients are generated from /api/schema/ and schemathesis checks the server against it
(tests/integration/test_api_schema.py), so an error code an operation can answer but the schema
does not list is a bug of the schema. The codes every operation shares follow from how DRF serves
it (authentication, throttling, a request body, an object in the path, paging) and are added here
once, by ``ApiAutoSchema``; codes only some views answer (404 of an unknown collection, 409, 413,
503) are declared on those views with ``error_responses``.
"""
from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

#: What each error code means in this API (the description of its response in the schema).
ERROR_MEANINGS: dict[int, str] = {
    400: "The request is malformed or invalid: `details` maps each field at fault to its messages "
         "(a list for errors of the whole request, `{\"detail\": ...}` for a body that cannot be parsed).",
    401: "The credentials given (an `Authorization: Token ...` header, a session) are not valid.",
    403: "The client may not do this (e.g. change a collection without logging in, or a missing CSRF token).",
    404: "The object in the path, the collection named, or the page asked for does not exist.",
    409: "The collection's index was built by another model than it is now configured with: rebuild it.",
    413: "The upload is larger than the server accepts.",
    415: "The body's Content-Type is not one this operation reads.",
    429: "Too many requests: wait as long as the Retry-After header says.",
    503: "The collection's model cannot be loaded on the server (e.g. its weights are missing).",
}

#: Some character other than whitespace.
NOT_BLANK = r"\S"
#: A field validator's pattern (checked on the trimmed value) -> the same rule for the value as sent.
#: "Some non-digit once trimmed" (a collection name, models.NOT_ONLY_DIGITS): a non-digit that is no
#: space, or a space between two other characters.
TRIMMED_PATTERNS = {r"\D": r"[^\d\s]|\S\s+\S"}

#: gunicorn's own answer (scripts/serve.sh) to a request line over its limit (4094 bytes), before Django sees it.
URI_TOO_LONG = {
    "description": "The URL is too long for the server (gunicorn's limit_request_line): an HTML page, not JSON.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}

_FIELD_MESSAGES = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_DETAILS_SCHEMA = {
    "oneOf": [
        {"type": "array", "items": {"type": "string"}, "description": "errors of the request as a whole"},
        {"type": "object", "additionalProperties": _FIELD_MESSAGES,
         "description": "field name (or `detail`, `non_field_errors`) -> its message(s)"},
    ]
}


@extend_schema_field(_DETAILS_SCHEMA)
class ErrorDetailsField(serializers.JSONField):
    """DRF's own error data, as its exception handler produced it (schema only: errors are never parsed)."""


class ErrorSerializer(serializers.Serializer):
    """Every API error (apps/core/api_errors.py): one readable sentence, the status, and DRF's details."""

    error = serializers.CharField(help_text="one readable sentence saying what is wrong")
    status = serializers.IntegerField(help_text="the HTTP status code, repeated")
    details = ErrorDetailsField(
        required=False,
        help_text="what DRF reported, per field; absent when the error was answered outside the API views "
                  "(an unknown URL, a bad Host header, a server error)",
    )


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses=...)`` entries for error codes only some views answer."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[code]) for code in codes}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error answers every operation can give."""

    def get_auth(self) -> list[dict]:
        """Reads of public collections need no credentials: say so (an empty requirement) wherever the view's
        permissions let anonymous clients read, not only for DRF's own IsAuthenticatedOrReadOnly."""
        auths = super().get_auth()
        anonymous_reads = any(getattr(p, "anonymous_reads", False) for p in self.view.get_permissions())
        if anonymous_reads and self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths

    def _get_response_bodies(self, direction: str = "response") -> dict:
        bodies = super()._get_response_bodies(direction)
        for code in sorted(self.common_error_codes()):
            if str(code) not in bodies:
                response = OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[code])
                bodies[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        if any(parameter["in"] == "query" for parameter in self._get_parameters()):
            bodies.setdefault("414", URI_TOO_LONG)
        return dict(sorted(bodies.items()))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A text field that may not be blank refuses whitespace too (DRF trims it first): say so with
        a pattern, or every client and fuzzer takes "  " for valid input."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (direction == "request" and isinstance(field, serializers.CharField) and not field.allow_blank
                and field.trim_whitespace and isinstance(schema, dict) and schema.get("type") == "string"
                and "pattern" not in schema):
            regexes = [v.regex.pattern for v in field.validators if isinstance(v, RegexValidator)]
            if not regexes:
                schema["pattern"] = NOT_BLANK
            elif len(regexes) == 1 and regexes[0] in TRIMMED_PATTERNS:
                schema["pattern"] = TRIMMED_PATTERNS[regexes[0]]
        return schema

    def common_error_codes(self) -> set[int]:
        """400 (malformed input, a bad Host header) and 403 anywhere; 401 where credentials are read;
        404 for an object in the path or a list's page; 415 for a body; 429 where requests are throttled."""
        codes = {400, 403}
        if self.view.get_authenticators():
            codes.add(401)
        if "{" in self.path or (self.method == "GET" and self._is_list_view()):
            codes.add(404)
        if self.method in ("POST", "PUT", "PATCH") and self._get_request_body():
            codes.add(415)
        if self.view.get_throttles():
            codes.add(429)
        return codes


_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _is_structured(schema: dict) -> bool:
    return schema.get("type") in ("array", "object") or "$ref" in schema


def json_text_values(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: a list or object in a query string or form field is sent as JSON text (how
    QueryTermsField reads a search's ``query``), so declare it so: a parameter's ``content`` is
    application/json, a form field's ``encoding`` contentType is application/json."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and _is_structured(schema):
                    del parameter["schema"]
                    parameter.pop("style", None)
                    parameter.pop("explode", None)
                    parameter["content"] = {"application/json": {"schema": schema}}
            for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
                if media_type not in _FORMS:
                    continue
                properties = _properties(result, body.get("schema", {}))
                encoding = {name: {"contentType": "application/json"} for name, prop in properties.items()
                            if _is_structured(prop) and prop.get("format") != "binary"}
                if encoding:
                    body["encoding"] = encoding
    return result


def _properties(result: dict, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = result["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema.get("properties", {})
