"""Open data through the SDK against the live platform: search, entities, records and the change
feed, auto-paginated across several pages (sync and async), and errors with their request ids."""

from __future__ import annotations

import asyncio
import itertools
import math
from datetime import UTC, datetime
from typing import get_args

import httpx
import pytest
from xinyong_sdk import (
    AsyncClient,
    AsyncPager,
    Client,
    ConfigurationError,
    NotFoundError,
    Page,
    SyncPager,
    ValidationError,
)
from xinyong_sdk.types import PublicRecordKind

from tests.sdk.conftest import LivePlatform, new_uscc
from tests.sdk.transports import AsyncCountingTransport, CountingTransport

SEARCH = ("GET", "/v1/public/entities")


def test_search_pages_lazily_through_every_entity(live: LivePlatform) -> None:
    counting = CountingTransport()
    with (
        httpx.Client(transport=counting) as http,
        Client(live.base_url, http_client=http) as client,
    ):
        everyone = client.public.search(page_size=100).first_page()
        assert isinstance(everyone, Page)
        assert not everyone.has_next_page
        total = len(everyone.items)
        assert total >= 40
        counting.counts.clear()

        pager = client.public.search(page_size=7)
        assert isinstance(pager, SyncPager)
        assert counting.counts[SEARCH] == 0  # nothing is fetched before it is iterated
        first_ten = list(itertools.islice(pager, 10))
        assert counting.counts[SEARCH] == 2  # two pages of seven, no more
        assert [e["uscc"] for e in first_ten] == [e["uscc"] for e in everyone.items[:10]]

        counting.counts.clear()
        walked = list(pager)  # starts again from the first page
        assert counting.counts[SEARCH] == math.ceil(total / 7)
        assert [e["uscc"] for e in walked] == [e["uscc"] for e in everyone.items]
        assert len({e["subject_id"] for e in walked}) == total

        pages = list(pager.pages())
        assert [len(p) for p in pages[:-1]] == [7] * (len(pages) - 1)
        assert pages[-1].next_cursor is None
        resumed = client.public.search(page_size=7, cursor=pages[0].next_cursor).first_page()
        assert resumed.items == pages[1].items
    # The SDK leaves a caller's http_client open.
    own = httpx.Client()
    with Client(live.base_url, http_client=own) as client:
        client.public.search(page_size=1).first_page()
    assert not own.is_closed
    own.close()


def test_search_filters_and_one_entity(live: LivePlatform) -> None:
    with Client(live.base_url) as client:
        some = client.public.search(page_size=20).first_page().items
        sample = some[3]
        by_code = client.public.search(sample["uscc"]).first_page().items
        assert [e["subject_id"] for e in by_code] == [sample["subject_id"]]
        fragment = sample["name"][-4:-2]
        assert all(fragment in e["name"] for e in client.public.search(fragment, page_size=3))
        kind = sample["kind"]
        assert {e["kind"] for e in client.public.search(kind=kind, page_size=5)} == {kind}

        entity = client.public.entity(sample["uscc"])
        assert entity["subject_id"] == sample["subject_id"]
        assert set(entity["public_record_counts"]) == {
            "license", "penalty", "red_list", "black_list", "abnormal_operation"
        }  # fmt: skip
        with_records = next(
            e for e in some if sum(client.public.entity(e["uscc"])["public_record_counts"].values())
        )
        records = list(client.public.records(with_records["uscc"], page_size=1))
        counts = client.public.entity(with_records["uscc"])["public_record_counts"]
        assert len(records) == sum(counts.values())
        kinds: tuple[PublicRecordKind, ...] = get_args(PublicRecordKind)
        assert set(counts) == set(kinds)
        for kind_name in kinds:
            listed = list(client.public.records(with_records["uscc"], kind=kind_name))
            assert len(listed) == counts[kind_name]
            assert {r["kind"] for r in listed} <= {kind_name}


def test_change_feed_pages_oldest_first(live: LivePlatform) -> None:
    since = datetime(2000, 1, 1, tzinfo=UTC)
    with Client(live.base_url) as client:
        everything = list(client.public.changes(since, page_size=100))
        assert len(everything) > 13
        paged = list(client.public.changes(since.isoformat(), page_size=6))
        assert [c["record_id"] + c["change"] for c in paged] == [
            c["record_id"] + c["change"] for c in everything
        ]
        times = [datetime.fromisoformat(c["at"]) for c in paged]
        assert times == sorted(times)
        with pytest.raises(ValueError, match="timezone-aware"):
            client.public.changes(datetime(2026, 1, 1))


def test_errors_carry_the_request_id_of_the_request(live: LivePlatform) -> None:
    counting = CountingTransport()
    with (
        httpx.Client(transport=counting) as http,
        Client(live.base_url, http_client=http) as client,
    ):
        unknown = new_uscc()
        with pytest.raises(NotFoundError) as missing:
            client.public.entity(unknown)
        error = missing.value
        assert error.status == 404
        assert error.type == "urn:xinyong:problem:entity-not-found"
        assert error.request_id == error.problem["request_id"] == error.headers["x-request-id"]
        assert error.request_id == counting.request_ids[-1]  # the id the SDK sent, echoed
        assert unknown in error.detail
        assert error.request_id in str(error)

        bad = unknown[:-1] + ("0" if unknown[-1] != "0" else "1")
        with pytest.raises(ValidationError) as malformed:
            client.public.entity(bad)
        assert malformed.value.status == 400
        assert malformed.value.type == "urn:xinyong:problem:invalid-identifier"
        assert list(malformed.value.errors) == ["uscc"]
        with pytest.raises(ValidationError) as too_big:
            client.public.search(page_size=1000).first_page()
        assert "page_size" in too_big.value.errors
        with pytest.raises(ValidationError) as bad_cursor:
            client.public.search(cursor="not-a-cursor").first_page()
        assert bad_cursor.value.type == "urn:xinyong:problem:invalid-cursor"
        with pytest.raises(ValidationError) as bad_time:
            client.public.changes("yesterday").first_page()
        assert bad_time.value.errors == {"since": ["Not a valid datetime."]}
        with pytest.raises(ValueError, match="uscc"):
            client.public.entity("")
        # Identifiers are path segments, percent-encoded: nothing reaches another path.
        with pytest.raises(NotFoundError) as elsewhere:
            client.public.entity("../../../v1/public/entities")
        assert elsewhere.value.type == "about:blank"
        with pytest.raises(ValueError, match="dot-segment"):
            client.public.records("..")
    with Client(live.base_url) as anonymous, pytest.raises(ConfigurationError):
        anonymous.consents.get("con_0")


def test_async_pagination(live: LivePlatform) -> None:
    async def walk() -> None:
        counting = AsyncCountingTransport()
        async with (
            httpx.AsyncClient(transport=counting) as http,
            AsyncClient(live.base_url, http_client=http) as client,
        ):
            everyone = (await client.public.search(page_size=100).first_page()).items
            pager = client.public.search(page_size=9)
            assert isinstance(pager, AsyncPager)
            counting.counts.clear()
            seen = [e["uscc"] async for e in pager]
            assert seen == [e["uscc"] for e in everyone]
            assert counting.counts[SEARCH] == math.ceil(len(everyone) / 9)
            sizes = [len(page) async for page in pager.pages()]
            assert sum(sizes) == len(everyone)
            assert max(sizes) == 9
            entities = await asyncio.gather(
                *(client.public.entity(e["uscc"]) for e in everyone[:12])
            )
            assert [e["uscc"] for e in entities] == [e["uscc"] for e in everyone[:12]]
            with pytest.raises(NotFoundError) as missing:
                await client.public.entity(new_uscc())
            assert missing.value.request_id
            changes = await client.public.changes(
                "2000-01-01T00:00:00+08:00", page_size=4
            ).to_list()
            assert len(changes) > 13

    asyncio.run(walk())
