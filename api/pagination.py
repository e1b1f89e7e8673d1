"""Cursor pagination: opaque, signed cursors bound to the list and the filters they came from."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import marshmallow as ma
from itsdangerous import BadSignature, URLSafeSerializer

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class InvalidCursor(ValueError):
    """A cursor that this platform did not issue for this list and these filters."""


class PageArgsSchema(ma.Schema):
    """The arguments of every cursor-paginated list."""

    page_size = ma.fields.Integer(
        load_default=DEFAULT_PAGE_SIZE,
        validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": "How many items per page (1–100).", "example": 20},
    )
    cursor = ma.fields.String(
        validate=[
            ma.validate.Length(min=1, max=512),
            ma.validate.Regexp(
                r"^[A-Za-z0-9_.\-]+(?!\n)$", error="A cursor holds only URL-safe characters."
            ),
        ],
        # No example: "try it out" in the docs would send it, and only real cursors are valid.
        metadata={
            "description": "The `next_cursor` of the previous page; omit for the first page."
        },
    )


def next_cursor_field() -> ma.fields.String:
    """The `next_cursor` member of every page."""
    return ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Pass as `cursor` for the next page; null on the last page.",
            "example": "WyJlbnRpdGllcyIsIjVhM2YiLFs0Ml1d.Kq3sJ3f0w1Qx8Jm2dQ",
        },
    )


class CursorCodec:
    """Signs cursors with the platform's secret key so that a forged one is refused."""

    def __init__(self, secret_key: str | bytes) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="xinyong.cursor.v1")

    @staticmethod
    def _fingerprint(filters: dict[str, Any]) -> str:
        canonical = json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def encode(self, listing: str, filters: dict[str, Any], position: list[Any]) -> str:
        """A cursor for the page after `position` in `listing` under `filters`."""
        return str(self._serializer.dumps([listing, self._fingerprint(filters), position]))

    def decode(self, cursor: str, listing: str, filters: dict[str, Any]) -> list[Any]:
        """The position a cursor points after; InvalidCursor if it is not ours for this list."""
        try:
            payload = self._serializer.loads(cursor)
        except BadSignature as exc:
            raise InvalidCursor(
                "The cursor is not one this platform issued. Pass `next_cursor` from the "
                "previous page unchanged, or omit `cursor` to start from the first page."
            ) from exc
        if (
            not isinstance(payload, list)
            or len(payload) != 3
            or payload[0] != listing
            or not isinstance(payload[2], list)
        ):
            raise InvalidCursor("The cursor belongs to another list; omit it to start again.")
        if payload[1] != self._fingerprint(filters):
            raise InvalidCursor(
                "The cursor was issued for other filters; keep the filters of the first page "
                "while paging, or omit `cursor` to start again."
            )
        return payload[2]
