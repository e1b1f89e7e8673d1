"""Keyset paging of the API's lists with the platform's signed cursors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask_smorest import abort

from api.context import platform
from api.pagination import InvalidCursor

T = TypeVar("T")


def position_after(
    cursor: str | None, listing: str, filters: dict[str, Any], parse: Callable[[list[Any]], T]
) -> T | None:
    """The keyset position a cursor points after, or None on the first page; 400 if bad."""
    if cursor is None:
        return None
    try:
        return parse(platform().cursors.decode(cursor, listing, filters))
    except InvalidCursor as exc:
        abort(400, message=str(exc), slug="invalid-cursor")
    except (ValueError, TypeError, IndexError):
        abort(400, message="The cursor is damaged; omit it to start again.", slug="invalid-cursor")
    raise AssertionError("unreachable: abort raises")


def page_of(
    rows: Sequence[T],
    page_size: int,
    listing: str,
    filters: dict[str, Any],
    position: Callable[[T], list[Any]],
) -> tuple[Sequence[T], str | None]:
    """The page (rows fetched with one extra) and the cursor of the next one, if any."""
    if len(rows) <= page_size:
        return rows, None
    rows = rows[:page_size]
    return rows, platform().cursors.encode(listing, filters, position(rows[-1]))
