"""The flask-smorest Api and Blueprint of the platform, subclassed once.

`Blueprint.errors(...)` documents the problem+json answers an operation can give, and
`Blueprint.public` marks an operation as open to anyone (no security requirement).
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
from apispec import BasePlugin
from flask import Flask, Response
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from api.errors import PROBLEM_CONTENT_TYPE, ProblemSchema, problem_from_http_exception

F = TypeVar("F", bound=Callable[..., Any])

# What each documented error status means on this platform, for the docs.
ERROR_DESCRIPTIONS = {
    400: "Bad input: a malformed parameter, identifier or cursor (see `detail` and `errors`).",
    401: "Missing or invalid credentials.",
    403: "The credentials do not allow this.",
    404: "Not found.",
    409: "Conflict with the current state.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    503: "A dependency is unavailable; retry later.",
}


REQUEST_ID_HEADER = {
    "description": "The request's id: a well-formed incoming `X-Request-ID` echoed, or a new one. "
    "Quote it when reporting a problem.",
    "schema": {"type": "string", "example": "9f1c2b7e4d5a4e0f8c3b2a1d0e9f8a7b"},
}


class ResponseHeadersPlugin(BasePlugin):
    """Documents the headers every response of the platform carries."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            for response in operation.get("responses", {}).values():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {})["X-Request-ID"] = {
                        "$ref": "#/components/headers/X_REQUEST_ID"
                    }


class Parser(FlaskParser):
    """Bad arguments are a 400 Bad Request, with the messages field by field."""

    DEFAULT_VALIDATION_STATUS = 400


class Api(flask_smorest.Api):
    """flask-smorest's Api answering every error as RFC 9457 problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Flask | None = None) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [ResponseHeadersPlugin()]})

    def _init_spec(self, *args: Any, **kwargs: Any) -> None:
        super()._init_spec(*args, **kwargs)
        self.spec.components.header("X_REQUEST_ID", REQUEST_ID_HEADER)

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


class Blueprint(flask_smorest.Blueprint):
    """The platform's Blueprint: problem+json error docs and security markers."""

    ARGUMENTS_PARSER = Parser()

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

    def public(self, func: F) -> F:
        """Mark an operation as open to anyone, without credentials."""
        return self.doc(security=[])(func)
