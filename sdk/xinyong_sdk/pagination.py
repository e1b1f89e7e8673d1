"""Cursor pagination (DESIGN.md §6): `{"items": [...], "next_cursor": "..." | null}`.

A list method returns a pager at once, without a request. Iterate it for the items, fetching
each page when the previous one is used up (`for x in pager`, `async for x in pager`); take one
page with `first_page()`, or walk the pages with `pages()`. Each iteration starts again from
the first page (or from the `cursor` the pager was made with).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["AsyncPager", "Page", "SyncPager"]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None

    @property
    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_of(data: Any) -> Page[Any]:
    """A page from the platform's answer."""
    items = data["items"]
    if not isinstance(items, list):
        raise TypeError("items is not a list")
    cursor = data.get("next_cursor")
    return Page(items=items, next_cursor=cursor if isinstance(cursor, str) and cursor else None)


class SyncPager(Generic[T]):
    """The items of a cursor-paginated list, fetched page by page as you iterate."""

    def __init__(self, fetch: Callable[[str | None], Page[T]], cursor: str | None = None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def first_page(self) -> Page[T]:
        """The first page only (one request)."""
        return self._fetch(self._cursor)

    def pages(self) -> Iterator[Page[T]]:
        """Every page, one request each, lazily."""
        cursor = self._cursor
        while True:
            page = self._fetch(cursor)
            yield page
            if page.next_cursor is None or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def to_list(self) -> list[T]:
        """Every item of every page (mind the size of the list)."""
        return list(self)


class AsyncPager(Generic[T]):
    """The items of a cursor-paginated list, fetched page by page as you `async for` them."""

    def __init__(
        self, fetch: Callable[[str | None], Awaitable[Page[T]]], cursor: str | None = None
    ) -> None:
        self._fetch = fetch
        self._cursor = cursor

    async def first_page(self) -> Page[T]:
        """The first page only (one request)."""
        return await self._fetch(self._cursor)

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Every page, one request each, lazily."""
        cursor = self._cursor
        while True:
            page = await self._fetch(cursor)
            yield page
            if page.next_cursor is None or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def to_list(self) -> list[T]:
        """Every item of every page (mind the size of the list)."""
        return [item async for item in self]
