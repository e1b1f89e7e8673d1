"""Cursor pagination: signed cursors round-trip; other lists, filters or keys are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from api.pagination import CursorCodec, InvalidCursor

KEY = "dGVzdC1zZWNyZXQta2V5LWZvci1jdXJzb3JzLW9ubHktMzJieXRlcw=="
FILTERS: dict[str, Any] = {"q": "丝绸", "kind": "enterprise"}

positions = st.lists(st.one_of(st.integers(), st.text(max_size=40)), min_size=1, max_size=4)
filter_values = st.dictionaries(
    st.text(min_size=1, max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=20))
)


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec(KEY)


class TestRoundTrip:
    @pytest.mark.parametrize(
        "position", [[42], ["2026-06-01", 17], ["淄博市", "rec_0001"], [0, -1]]
    )
    def test_examples(self, codec: CursorCodec, position: list[Any]) -> None:
        cursor = codec.encode("entities", FILTERS, position)
        assert codec.decode(cursor, "entities", FILTERS) == position

    @given(position=positions, filters=filter_values)
    def test_any_position_round_trips(self, position: list[Any], filters: dict[str, Any]) -> None:
        codec = CursorCodec(KEY)
        cursor = codec.encode("records", filters, position)

        assert codec.decode(cursor, "records", filters) == position
        assert cursor.isascii()  # fit for a query string

    def test_filter_order_does_not_matter(self, codec: CursorCodec) -> None:
        cursor = codec.encode("entities", {"q": "丝绸", "kind": None}, [1])
        assert codec.decode(cursor, "entities", {"kind": None, "q": "丝绸"}) == [1]

    def test_datetime_filters(self, codec: CursorCodec) -> None:
        since = datetime(2026, 1, 1, tzinfo=UTC)
        cursor = codec.encode("changes", {"since": since}, ["2026-01-02T00:00:00+00:00", 5])

        assert codec.decode(cursor, "changes", {"since": since}) == ["2026-01-02T00:00:00+00:00", 5]
        with pytest.raises(InvalidCursor):
            codec.decode(cursor, "changes", {"since": datetime(2026, 1, 2, tzinfo=UTC)})


class TestRefused:
    @given(text=st.text())
    def test_arbitrary_strings_never_decode(self, text: str) -> None:
        with pytest.raises(InvalidCursor):
            CursorCodec(KEY).decode(text, "entities", FILTERS)

    def test_cursor_of_another_listing(self, codec: CursorCodec) -> None:
        cursor = codec.encode("entities", FILTERS, [42])
        with pytest.raises(InvalidCursor, match="another list"):
            codec.decode(cursor, "records", FILTERS)

    @pytest.mark.parametrize(
        "other",
        [
            {"q": "丝", "kind": "enterprise"},
            {"q": "丝绸", "kind": None},
            {"q": "丝绸"},
            {"q": "丝绸", "kind": "enterprise", "page_size": 20},
            {},
        ],
    )
    def test_cursor_for_other_filters(self, codec: CursorCodec, other: dict[str, Any]) -> None:
        cursor = codec.encode("entities", FILTERS, [42])
        with pytest.raises(InvalidCursor, match="other filters"):
            codec.decode(cursor, "entities", other)

    def test_cursor_signed_with_another_key(self, codec: CursorCodec) -> None:
        foreign = CursorCodec("another-secret-key-of-another-platform").encode(
            "entities", FILTERS, [42]
        )
        with pytest.raises(InvalidCursor, match="not one this platform issued"):
            codec.decode(foreign, "entities", FILTERS)

    @given(position=positions, index=st.integers(min_value=0))
    def test_any_altered_character_is_refused(self, position: list[Any], index: int) -> None:
        codec = CursorCodec(KEY)
        cursor = codec.encode("entities", FILTERS, position)
        index %= len(cursor)
        replacement = "A" if cursor[index] != "A" else "B"
        altered = cursor[:index] + replacement + cursor[index + 1 :]
        try:
            decoded = codec.decode(altered, "entities", FILTERS)
        except InvalidCursor:
            return
        # base64 padding bits can absorb a change; then the position must be unchanged.
        assert decoded == position

    @pytest.mark.parametrize(
        "payload",
        [
            {"listing": "entities"},
            ["entities", "fingerprint"],
            ["entities", "fingerprint", [1], "extra"],
            ["entities", None, "not-a-list"],
            "entities",
            42,
            None,
        ],
    )
    def test_signed_but_malformed_payloads(self, payload: Any) -> None:
        # The same key and salt as the codec: only the structure checks stand in the way.
        forged = URLSafeSerializer(KEY, salt="xinyong.cursor.v1").dumps(payload)
        with pytest.raises(InvalidCursor):
            CursorCodec(KEY).decode(forged, "entities", FILTERS)

    def test_signed_payload_with_right_fingerprint_but_bad_position(self) -> None:
        codec = CursorCodec(KEY)
        fingerprint = codec._fingerprint(FILTERS)
        forged = URLSafeSerializer(KEY, salt="xinyong.cursor.v1").dumps(
            ["entities", fingerprint, {"id": 1}]
        )
        with pytest.raises(InvalidCursor):
            codec.decode(forged, "entities", FILTERS)
