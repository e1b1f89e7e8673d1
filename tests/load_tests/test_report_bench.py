"""The report benchmark's pure helpers: PKCE, the sign-in page, the redirect, the batch body."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from load_tests.report_bench import (
    batch_body,
    code_from_redirect,
    cookie_pair,
    csrf_from,
    draw,
    pkce_challenge,
    save_state,
)

CALLBACK = "http://127.0.0.1:53682/callback"


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_csrf_token_is_read_from_the_form() -> None:
    page = '<form method="post"><input type="hidden" name="csrf_token" value="a-b_c9"></form>'
    assert csrf_from(page) == "a-b_c9"
    assert csrf_from("<p>no form</p>") is None


def test_cookie_pair_finds_the_named_cookie() -> None:
    headers = [
        "other=1; Path=/",
        "xinyong_session=eyJj.abc=; HttpOnly; Path=/; SameSite=Lax",
    ]
    assert cookie_pair(headers, "xinyong_session") == "xinyong_session=eyJj.abc="
    assert cookie_pair(headers, "xinyong") is None
    assert cookie_pair([], "xinyong_session") is None


def test_code_is_taken_from_the_redirect_back() -> None:
    location = f"{CALLBACK}?code=c0de&state=s1"
    assert code_from_redirect(location, CALLBACK, "s1") == "c0de"


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:53682/callback?code=c0de&state=other",
        "http://127.0.0.1:9999/callback?code=c0de&state=s1",
        f"{CALLBACK}?error=access_denied&state=s1",
    ],
)
def test_a_wrong_redirect_is_refused(location: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        code_from_redirect(location, CALLBACK, "s1")


def test_batch_body_names_each_subject_and_token_only() -> None:
    items = [
        {"subject_id": "sub_1", "consent_token": "ct_1", "consent_id": "con_1"},
        {"subject_id": "sub_2", "consent_token": "ct_2", "consent_id": "con_2"},
    ]
    assert json.loads(batch_body(items)) == {
        "items": [
            {"subject_id": "sub_1", "consent_token": "ct_1"},
            {"subject_id": "sub_2", "consent_token": "ct_2"},
        ]
    }


def test_draw_gives_distinct_indexes_in_range() -> None:
    groups = draw(50, 12, 10, random.Random(1))
    assert len(groups) == 50
    for group in groups:
        assert len(group) == len(set(group)) == 10
        assert all(0 <= i < 12 for i in group)
    assert draw(5, 3, 1, random.Random(7)) == draw(5, 3, 1, random.Random(7))


def test_state_is_saved_into_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    # prepare used to fail here, after minutes of seeding, when --state named a new folder.
    path = tmp_path / "run" / "state.json"
    save_state(path, {"client_secret": "s"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"client_secret": "s"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
