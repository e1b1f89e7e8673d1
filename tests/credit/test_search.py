"""Substring search over Chinese names: search finds every substring of a name."""

from __future__ import annotations

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.factories import make_entity

cjk_names = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E50), min_size=2, max_size=8
)
# Letters whose lower case is one character, so a query keeps its length when lowered.
search_text = st.text(alphabet=st.sampled_from("abcXYZ09丝绸周村鑫瑞龘-"), min_size=2, max_size=12)


def _found(client: FlaskClient, q: str) -> list[str]:
    """Every code the search answers for `q`, across all pages."""
    found: list[str] = []
    params: dict[str, str | int] = {"q": q, "page_size": 100}
    while True:
        response = client.get("/v1/public/entities", query_string=params)
        assert response.status_code == 200, response.json
        found += [item["uscc"] for item in response.json["items"]]
        if response.json["next_cursor"] is None:
            return found
        params["cursor"] = response.json["next_cursor"]


class TestSearchFindsSubstrings:
    @settings(
        max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
    )
    @given(name=cjk_names, data=st.data())
    def test_any_substring_finds_the_entity(
        self, client: FlaskClient, db_session: Session, name: str, data: st.DataObject
    ) -> None:
        entity = make_entity(db_session, name=name)
        length = data.draw(st.integers(1, min(3, len(name))), label="length")
        start = data.draw(st.integers(0, len(name) - length), label="start")
        q = name[start : start + length]

        found = _found(client, q)

        assert entity.uscc in found, q
        assert len(found) == len(set(found))

    def test_a_non_substring_does_not_find_it(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session, name="淄博市周村区鑫瑞丝绸有限公司")

        assert entity.uscc in _found(client, "瑞丝")
        for q in ("丝瑞", "鑫丝", "绸缎", "瑞 丝"):
            assert entity.uscc not in _found(client, q), q

    def test_ascii_letters_match_regardless_of_case(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session, name="淄博ABC丝绸有限公司")
        for q in ("ABC", "abc", "Bc丝", "c"):
            assert entity.uscc in _found(client, q), q

    def test_full_width_letters_find_their_own_name(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        # Company names may be written with full-width Latin letters; searching the exact
        # characters of the name must find it on every database.
        entity = make_entity(db_session, name="淄博ＡＢＣ丝绸有限公司")
        for q in ("ＡＢＣ", "ＡＢＣ丝绸", "Ｂ"):
            assert entity.uscc in _found(client, q), q
