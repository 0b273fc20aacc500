"""Open311 responses: the same data as JSON or as the spec's XML, and errors in the spec's shape.

JSON follows the spec's "Spark convention" mapping of the XML: a list of services is a JSON array, and so
on. XML is UTF-8 with the declaration, no namespace, lists as repeated child elements (``services`` →
``service``, ``attributes`` → ``attribute`` ...), booleans as ``true``/``false`` and an absent value as an
empty element. Text is escaped by the serializer; characters XML 1.0 cannot carry are dropped.

Errors are ``[{"code": 400, "description": "..."}]`` / ``<errors><error><code>400</code>...``: 400 for a
request that cannot be fulfilled, 403 for a missing or wrong api_key, 404 for what does not exist (plus
409 for a resend conflict and 429 for the read limit). The description is in the caller's language; the
platform's own error code is in the ``X-Error-Code`` header.
"""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

from flask import Response, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from engine import errors as E

from .errors import HTTP_MESSAGES, language, localize_schema_messages

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
ITEM_TAGS = {"services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
             "errors": "error", "endpoints": "endpoint", "formats": "format"}
# Characters XML 1.0 cannot carry at all (control characters other than tab and line breaks).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
STATUS = ((E.ValidationFailed, 400), (E.NotFound, 404), (E.AuthenticationFailed, 403), (E.PermissionDenied, 403),
          (E.TooManyAttempts, 429), (E.Conflict, 409))


def response_format() -> str:
    """The format the caller asked for by the resource's suffix (JSON when there is none)."""
    fmt = (request.view_args or {}).get("fmt")
    if fmt in ("json", "xml"):
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


def render(data, fmt: str, root: str, status: int = 200) -> Response:
    if fmt == "xml":
        element = ET.Element(root)
        _fill(element, root, data)
        return Response(XML_DECLARATION + ET.tostring(element, encoding="utf-8"), status=status, content_type=XML_TYPE)
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type=JSON_TYPE)


def _fill(element: ET.Element, tag: str, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, (list, tuple)):
        child = ITEM_TAGS.get(tag, "item")
        for item in value:
            _fill(ET.SubElement(element, child), child, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))


def errors_response(status: int, descriptions: list[str], code: str, fmt: str | None = None) -> Response:
    body = [{"code": status, "description": d} for d in descriptions]
    response = render(body, fmt or response_format(), "errors", status)
    response.headers["X-Error-Code"] = code
    return response


def _status(error: E.DomainError) -> int:
    return next((status for cls, status in STATUS if isinstance(error, cls)), 400)


def _field_messages(details, lang: str, prefix: str = "") -> list[str]:
    """{field: [{message_zh, message_en}]}, nested for dicts and lists, as "field: message" lines."""
    key = "message_en" if lang == "en" else "message_zh"
    lines = []
    for field, messages in (details.items() if isinstance(details, dict) else ()):
        name = f"{prefix}.{field}" if prefix else str(field)
        if isinstance(messages, dict):
            lines += _field_messages(messages, lang, name)
        for message in messages if isinstance(messages, list) else ():
            if isinstance(message, dict) and message.get(key):
                lines.append(f"{name}: {message[key]}")
    return lines


def domain_error_response(error: E.DomainError) -> Response:
    lang = language()
    status = _status(error)
    lines = _field_messages(error.details, lang) if isinstance(error, E.ValidationFailed) else []
    response = errors_response(status, lines or [error.message(lang)], error.code)
    if isinstance(error, E.TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def schema_error_response(error: ValidationError) -> Response:
    lang = language()
    lines = _field_messages(localize_schema_messages(error.messages), lang)
    fallback = "The submitted data is invalid" if lang == "en" else "提交的数据不符合要求"
    return errors_response(400, lines or [fallback], "validation_failed")


def http_error_response(error: HTTPException) -> Response:
    zh, en = HTTP_MESSAGES.get(error.code, (error.name, error.name))
    return errors_response(error.code or 400, [en if language() == "en" else zh], f"http_{error.code}")
