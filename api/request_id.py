"""Request ids (every response carries `X-Request-ID`, echoing a well-formed incoming one), and
the refusal of NUL characters, which no field of the platform can hold."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from api.errors import problem

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def init_app(app: Flask) -> None:
    """Assign an id before each request and send it back after."""

    @app.before_request
    def _assign() -> None:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex

    @app.before_request
    def _refuse_nul() -> Response | None:
        # PostgreSQL cannot store NUL in text: refuse it up front with a 400. The OAuth
        # endpoints answer in their own standard shapes and guard their inputs themselves.
        if request.path.startswith("/oauth/"):
            return None
        values = [request.path, *request.args.values()]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += request.form.values()
        if any("\x00" in value for value in values):
            return problem(
                400,
                "The request holds a NUL character (0x00), which no field accepts; remove it.",
                slug="nul-character",
            )
        return None

    @app.after_request
    def _echo(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or uuid.uuid4().hex
        return response
