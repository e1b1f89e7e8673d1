"""The flask-smorest Api and Blueprint of the platform, subclassed once.

`Blueprint.errors(...)` documents the problem+json answers an operation can give, and
`Blueprint.public` marks an operation as open to anyone (no security requirement).
"""

from __future__ import annotations

import functools
import http
import json
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import flask_smorest
from apispec import BasePlugin
from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import InsufficientScopeError
from flask import Flask, Response, current_app, g, request
from flask_smorest import abort
from flask_smorest.utils import prepare_response
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from api.errors import PROBLEM_CONTENT_TYPE, ProblemSchema, problem, problem_from_http_exception
from api.ratelimit import UNLIMITED_PATHS
from auth.scopes import SCOPE_DESCRIPTIONS

F = TypeVar("F", bound=Callable[..., Any])

# What each documented error status means on this platform, for the docs.
ERROR_DESCRIPTIONS = {
    400: "Bad input: a malformed parameter, identifier or cursor (see `detail` and `errors`).",
    401: "Missing or invalid credentials.",
    403: "The credentials do not allow this.",
    404: "Not found.",
    409: "Conflict with the current state.",
    413: "The body is too large.",
    415: "The body is not JSON: send it with Content-Type: application/json.",
    429: "Too many requests: over the caller's rate limit (see `RateLimit`); retry after "
    "`Retry-After` seconds.",
    503: "A dependency is unavailable; retry later.",
}


REQUEST_ID_HEADER = {
    "description": "The request's id: a well-formed incoming `X-Request-ID` echoed, or a new one. "
    "Quote it when reporting a problem.",
    "schema": {"type": "string", "example": "9f1c2b7e4d5a4e0f8c3b2a1d0e9f8a7b"},
}


RATE_LIMIT_HEADERS = {
    "RATE_LIMIT_POLICY": {
        "description": "The limits that apply to the caller (draft-ietf-httpapi-ratelimit-headers, "
        "a structured field list): per minute, and a burst per second.",
        "schema": {"type": "string", "example": '"partner";q=1200;w=60, "partner-burst";q=50;w=1'},
    },
    "RATE_LIMIT": {
        "description": "What is left of each policy (`r`) and the seconds until it resets (`t`).",
        "schema": {"type": "string", "example": '"partner";r=1187;t=42, "partner-burst";r=49;t=1'},
    },
    "RETRY_AFTER": {
        "description": "Seconds to wait: never before the end of the window that was exceeded.",
        "schema": {"type": "integer", "example": 7},
    },
}
RATE_LIMIT_HEADER_REFS = {
    "RateLimit-Policy": {"$ref": "#/components/headers/RATE_LIMIT_POLICY"},
    "RateLimit": {"$ref": "#/components/headers/RATE_LIMIT"},
}


class ResponseHeadersPlugin(BasePlugin):
    """Documents the headers every response of the platform carries."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_kwargs: Any
    ) -> None:
        limited = not (path or "").startswith(UNLIMITED_PATHS)
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if limited:
                responses.setdefault("429", {"$ref": "#/components/responses/RATE_LIMITED"})
            for response in responses.values():
                if isinstance(response, dict) and "$ref" not in response:
                    headers = response.setdefault("headers", {})
                    headers["X-Request-ID"] = {"$ref": "#/components/headers/X_REQUEST_ID"}
                    if limited:
                        headers.update(RATE_LIMIT_HEADER_REFS)


class Parser(FlaskParser):
    """Bad arguments are a 400 Bad Request, with the messages field by field.

    JSON bodies are held to RFC 8259: a body in another media type is a 415, and what Python's
    parser would take beyond JSON (NaN, Infinity) or choke on (nesting too deep, numbers too
    long, unpaired surrogate escapes that no database can store) is a 400 saying so.
    """

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            if not req.content_length and not req.mimetype:
                return missing  # no body at all: the schema names what is missing
            abort(
                415,
                message="Send the body as JSON, with the header Content-Type: application/json.",
                slug="unsupported-media-type",
            )
        data = req.get_data(cache=True)
        if not data:
            return missing
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_not_json)
            # Unpaired surrogates (\ud800) parse, but are no Unicode text: find them now.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except json.JSONDecodeError:
            raise  # webargs answers it: 400 "Invalid JSON body."
        except UnicodeDecodeError:
            _bad_json("The body is not UTF-8 text, as JSON must be (RFC 8259 §8.1).")
        except _NotJson as exc:
            _bad_json(f"{exc} is not a JSON number (RFC 8259 §6); send amounts as decimal strings.")
        except RecursionError:
            _bad_json("The JSON body is nested too deeply.")
        except UnicodeEncodeError:
            _bad_json(
                "The JSON body holds an unpaired surrogate escape (such as \\ud800), which is "
                "no Unicode character."
            )
        except ValueError:  # an integer literal beyond Python's digit limit
            _bad_json("The JSON body holds a number with too many digits.")
        return value


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity in a body: Python's JSON parser takes them, JSON has none."""


def _not_json(constant: str) -> Any:
    raise _NotJson(constant)


def _bad_json(message: str) -> NoReturn:
    abort(400, message=message, slug="invalid-json")
    raise AssertionError("unreachable: abort raises")


class Api(flask_smorest.Api):
    """flask-smorest's Api answering every error as RFC 9457 problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Flask | None = None) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [ResponseHeadersPlugin()]})

    def _init_spec(self, *args: Any, **kwargs: Any) -> None:
        super()._init_spec(*args, **kwargs)
        self.spec.components.header("X_REQUEST_ID", REQUEST_ID_HEADER)
        for name, header in RATE_LIMIT_HEADERS.items():
            self.spec.components.header(name, header)

        self.spec.components.security_scheme(
            "oauth2",
            {
                "type": "oauth2",
                "description": "Access tokens (RFC 9068 JWTs) from `/oauth/token`.",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "/oauth/token",
                        "scopes": SCOPE_DESCRIPTIONS,
                    },
                    "authorizationCode": {
                        "authorizationUrl": "/oauth/authorize",
                        "tokenUrl": "/oauth/token",
                        "scopes": SCOPE_DESCRIPTIONS,
                    },
                },
            },
        )
        self.spec.components.security_scheme(
            "clientBasic",
            {"type": "http", "scheme": "basic", "description": "client_secret_basic"},
        )
        self.spec.components.security_scheme(
            "clientPost",
            {
                "type": "apiKey",
                "in": "query",
                "name": "client_secret",
                "description": "client_secret_post: `client_id` and `client_secret` as form "
                "fields of the request body (OpenAPI has no form-field scheme).",
            },
        )

    def handle_http_exception(self, error: HTTPException) -> Response:
        return problem_from_http_exception(error)

    def _register_responses(self) -> None:
        # flask-smorest registers its error components as application/json; ours are problems.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
        limited: dict[str, Any] = {
            "description": ERROR_DESCRIPTIONS[429],
            "schema": self.ERROR_SCHEMA,
            "headers": {
                "Retry-After": {"$ref": "#/components/headers/RETRY_AFTER"},
                "X-Request-ID": {"$ref": "#/components/headers/X_REQUEST_ID"},
                **RATE_LIMIT_HEADER_REFS,
            },
        }
        prepare_response(limited, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("RATE_LIMITED", limited)


class Blueprint(flask_smorest.Blueprint):
    """The platform's Blueprint: problem+json error docs and security markers."""

    ARGUMENTS_PARSER = Parser()

    def _check_not_modified(self, etag: str) -> None:
        # flask-smorest answers 304 by raising, before the ETag is on any response: keep it
        # for the 304 (api/errors.py), which must carry it (RFC 9110 §15.4.5).
        g.not_modified_etag = etag
        super()._check_not_modified(etag)

    def errors(self, *statuses: int) -> Callable[[F], F]:
        """Document the problem+json answers `statuses` of the decorated operation."""

        def decorator(func: F) -> F:
            for status in statuses:
                func = self.alt_response(
                    status,
                    schema=ProblemSchema,
                    description=ERROR_DESCRIPTIONS.get(status, http.HTTPStatus(status).phrase),
                    content_type=PROBLEM_CONTENT_TYPE,
                )(func)
            return func

        return decorator

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Any:
        """flask-smorest's `arguments`; a JSON body also documents the 415 of another type."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse

        def decorator(func: F) -> F:
            return self.errors(415)(parse(func))

        return decorator

    def requires(self, *scopes: str) -> Callable[[F], F]:
        """Require a valid access token carrying every one of `scopes` (401 / 403 otherwise)."""

        def decorator(func: F) -> F:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                protector = current_app.extensions["xinyong"].oauth.protector
                checked = g.get("authenticated_token")
                try:
                    if checked is None:
                        g.token = protector.validate_request(
                            scopes=list(scopes), request=FlaskJsonRequest(request)
                        )
                    else:
                        # The rate limiter validated the token already (api/ratelimit.py).
                        validator = protector.get_token_validator("bearer")
                        if validator.scope_insufficient(checked.get("scope", []), list(scopes)):
                            raise InsufficientScopeError()
                        g.token = checked
                except OAuth2Error as error:
                    return bearer_problem(error, scopes)
                return func(*args, **kwargs)

            documented = self.errors(401, 403)(wrapper)
            return self.doc(security=[{"oauth2": list(scopes)}])(documented)

        return decorator

    def public(self, func: F) -> F:
        """Mark an operation as open to anyone, without credentials."""
        return self.doc(security=[])(func)


def bearer_problem(error: OAuth2Error, scopes: Sequence[str] = ()) -> Response:
    """A 401 or 403 problem document with its RFC 6750 `WWW-Authenticate` challenge."""
    status = error.status_code or 401
    # RFC 6750 §3: every 401 and 403 of a protected resource carries a Bearer challenge.
    if error.error in ("missing_authorization", "unsupported_token_type"):
        # RFC 6750 §3.1: no error code when the request carries no bearer token at all.
        challenge = 'Bearer realm="xinyong"'
        detail = "This operation needs an access token: send `Authorization: Bearer <token>`."
    elif error.error == "insufficient_scope":
        needed = " ".join(scopes)
        challenge = f'Bearer realm="xinyong", error="insufficient_scope", scope="{needed}"'
        detail = f"The access token does not carry the scope this operation needs: {needed}."
    else:
        challenge = 'Bearer realm="xinyong", error="invalid_token"'
        detail = "The access token is invalid, expired or revoked; get a new one."
    # Only the challenge: Authlib's own headers would also set Content-Type to plain JSON.
    headers = {"WWW-Authenticate": challenge}
    return problem(status, detail, slug=error.error.replace("_", "-"), headers=headers)
