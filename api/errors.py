"""RFC 9457 problem documents: the one error shape of the platform, produced in one place."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, Response, g, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import quote_etag

from auth.errors import NotASubject
from consent.errors import (
    ConsentConflict,
    ConsentError,
    ConsentNotFound,
    InvalidConsentRequest,
    LegalBasisRequired,
    NotAReader,
    OutsideGrant,
    ScopeMissing,
)
from credit.errors import (
    CaseNotFound,
    EntityNotFound,
    InvalidRecord,
    NotYourRecord,
    RecordConflict,
    RecordNotFound,
    SubjectNotFound,
)
from credit.identifiers import InvalidIdentifier

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:xinyong:problem:"

log = logging.getLogger(__name__)


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document."""

    type = ma.fields.String(
        required=True,
        metadata={
            "description": "A URI naming the kind of problem; `about:blank` for plain HTTP errors.",
            "example": "urn:xinyong:problem:invalid-identifier",
        },
    )
    title = ma.fields.String(
        required=True,
        metadata={
            "description": "A short summary of the kind of problem.",
            "example": "Bad Request",
        },
    )
    status = ma.fields.Integer(
        required=True, metadata={"description": "The HTTP status code.", "example": 400}
    )
    detail = ma.fields.String(
        required=True,
        metadata={
            "description": "What went wrong in this occurrence, and what to do about it.",
            "example": "91110000600037341M is not a valid unified social credit code: "
            "its check character should be L, not M.",
        },
    )
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "For validation failures: the messages for each offending field.",
            "example": {
                "page_size": ["Must be greater than or equal to 1 and less than or equal to 100."]
            },
        },
    )
    request_id = ma.fields.String(
        metadata={
            "description": "The request's id (also in `X-Request-ID`); quote it to the operator.",
            "example": "9f1c2b7e4d5a4e0f8c3b2a1d0e9f8a7b",
        }
    )


def _flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' {location: {field: [msg]}} (possibly nested) as {"field.sub": [msg]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                flat[name] = list(value)
            else:
                flat.update(_flatten_messages(value, name))
    elif isinstance(messages, list):
        flat[prefix or "_schema"] = [str(m) for m in messages]
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


_LOCATIONS = ("query", "json", "form", "headers", "view_args", "path", "files", "cookies")


def problem_document(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of a problem; `extra` adds extension members (RFC 9457 §3.2)."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{slug}" if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    return body


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A problem+json response; `extra` adds extension members (RFC 9457 §3.2)."""
    body = problem_document(status, detail, slug=slug, title=title, errors=errors, extra=extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status)
    response.content_type = PROBLEM_CONTENT_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_from_http_exception(error: HTTPException) -> Response:
    """Turn a werkzeug/webargs HTTP exception into a problem document."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 304:
        # RFC 9110 §15.4.5: no content, and the ETag that a 200 would have carried.
        etag = g.get("not_modified_etag")
        return Response(status=304, headers={"ETag": quote_etag(etag)} if etag else None)
    if status >= 500:
        original = getattr(error, "original_exception", None)
        log.error(
            "unhandled error",
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
        return problem(
            status,
            "The server could not answer this request. Quote the request id to the operator.",
        )
    errors = None
    detail = data.get("message") or error.description or HTTPStatus(status).description
    slug = data.get("slug")
    if "messages" in data or "errors" in data:
        raw = data.get("errors", data.get("messages"))
        if isinstance(raw, dict) and set(raw) <= set(_LOCATIONS):
            # {location: {field: [msg]}}, or {location: [msg]} when the whole body is unreadable
            # (webargs' "Invalid JSON body."): that one is keyed by the location itself.
            raw = {
                k: v
                for location, messages in raw.items()
                for k, v in (
                    messages.items() if isinstance(messages, dict) else [(location, messages)]
                )
            }
        errors = _flatten_messages(raw)
        if "message" not in data:
            fields = ", ".join(sorted(errors))
            detail = f"The request has invalid values for: {fields}. See `errors` for each field."
        slug = slug or "validation"
    headers = dict(data.get("headers") or {})
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(status, str(detail), slug=slug, errors=errors, headers=headers)


CONSENT_DENIED = (
    "No authorised consent covers this read. Send, in `Consent-Token`, the token of a consent "
    "that this subject gave to this client, that is authorised and unexpired, and that covers "
    "every category asked for."
)


def consent_problem(error: ConsentError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, problem document and headers of a consent-domain refusal."""
    headers: dict[str, str] = {}
    errors: dict[str, list[str]] | None = None
    if isinstance(error, InvalidConsentRequest):
        status, slug, detail = (
            400,
            "validation",
            "The consent request has invalid values; see `errors`.",
        )
        errors = error.errors
    elif isinstance(error, ConsentNotFound):
        status, slug = 404, "consent-not-found"
        detail = f"There is no consent {error} of yours."
    elif isinstance(error, ConsentConflict):
        status, slug, detail = 409, "consent-conflict", f"Not possible now: {error}."
    elif isinstance(error, ScopeMissing):
        needed = " ".join(error.scopes)
        status, slug = 403, "insufficient-scope"
        detail = (
            f"The access token does not carry the scopes of the categories asked for: {needed}."
        )
        headers["WWW-Authenticate"] = (
            f'Bearer realm="xinyong", error="insufficient_scope", scope="{needed}"'
        )
    elif isinstance(error, LegalBasisRequired):
        status, slug = 403, "legal-basis-required"
        detail = (
            "Government and judicial reads must state their legal basis in the `Legal-Basis` "
            "header: 1 to 500 characters of text, without control characters."
        )
    elif isinstance(error, OutsideGrant):
        status, slug = 403, "outside-grant"
        named = ", ".join(error.categories) or "none"
        detail = f"This client's registration does not grant these categories: {named}."
    elif isinstance(error, NotAReader):
        status, slug = 403, "not-a-reader"
        detail = "Clients of this kind do not read credit reports."
    else:  # ConsentDenied, and anything else of the domain: say nothing of the subject.
        status, slug, detail = 403, "consent-required", CONSENT_DENIED
    return status, problem_document(status, detail, slug=slug, errors=errors), headers


def register_error_handlers(app: Flask) -> None:
    """Map the domain's exceptions to problem documents, in this one place."""

    @app.errorhandler(InvalidIdentifier)
    def _invalid_identifier(error: InvalidIdentifier) -> Response:
        # A code in the path: name it in `errors` like any other field (DESIGN.md §6). Codes
        # in a body are named where they are read (e.g. `subject.uscc` of a consent request).
        fields = [name for name in ("uscc",) if name in (request.view_args or {})]
        errors = {name: [str(error)] for name in fields} or None
        return problem(400, str(error), slug="invalid-identifier", errors=errors)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> Response:
        # The database is down, unreachable or (embedded SQLite) busy: the request may succeed
        # in a moment, so 503 with Retry-After rather than a 500.
        log.error("database unavailable", exc_info=error)
        return problem(
            503,
            "The database is unavailable or busy; retry in a moment. If this persists, quote "
            "the request id to the operator.",
            slug="database-unavailable",
            headers={"Retry-After": "1"},
        )

    @app.errorhandler(ConsentError)
    def _consent_error(error: ConsentError) -> Response:
        status, body, headers = consent_problem(error)
        response = Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers)
        response.content_type = PROBLEM_CONTENT_TYPE
        return response

    @app.errorhandler(NotASubject)
    def _not_a_subject(_error: NotASubject) -> Response:
        return problem(
            403, "This token was not issued to a signed-in subject.", slug="not-a-subject"
        )

    @app.errorhandler(InvalidRecord)
    def _invalid_record(error: InvalidRecord) -> Response:
        return problem(
            400,
            "The record has invalid values; see `errors` for each field.",
            slug="validation",
            errors=error.errors,
        )

    @app.errorhandler(RecordNotFound)
    def _record_not_found(error: RecordNotFound) -> Response:
        return problem(404, str(error), slug="record-not-found")

    @app.errorhandler(RecordConflict)
    def _record_conflict(error: RecordConflict) -> Response:
        return problem(409, f"Not possible now: {error}.", slug="record-conflict")

    @app.errorhandler(SubjectNotFound)
    def _subject_not_found(error: SubjectNotFound) -> Response:
        return problem(404, str(error), slug="subject-not-found")

    @app.errorhandler(EntityNotFound)
    def _entity_not_found(error: EntityNotFound) -> Response:
        return problem(404, str(error), slug="entity-not-found")

    @app.errorhandler(NotYourRecord)
    def _not_your_record(error: NotYourRecord) -> Response:
        return problem(404, str(error), slug="record-not-found")

    @app.errorhandler(CaseNotFound)
    def _case_not_found(error: CaseNotFound) -> Response:
        return problem(404, str(error), slug="case-not-found")
