"""Request ids: every response carries `X-Request-ID`, echoing a well-formed incoming one."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def init_app(app: Flask) -> None:
    """Assign an id before each request and send it back after."""

    @app.before_request
    def _assign() -> None:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or uuid.uuid4().hex
        return response
