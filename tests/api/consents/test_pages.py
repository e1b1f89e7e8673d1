"""The consent page behind `authorize_url`: sign-in, the request in plain words, the decision."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.consents.conftest import Party, SignedIn, World
from tests.auth.conftest import PASSWORD, csrf_from, unique_address


def _browser(app: Flask) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = unique_address()
    return browser


def _signed_in_page(browser: FlaskClient, url: str, owner: SignedIn) -> str:
    """Open the consent page, sign in on it: the page's HTML after sign-in."""
    first = browser.get(url)
    assert first.status_code == 200
    assert 'name="password"' in first.get_data(as_text=True)
    after = browser.post(
        url,
        data={"username": owner.username, "password": PASSWORD, "csrf_token": csrf_from(first)},
    )
    assert after.status_code == 200, after.get_data(as_text=True)
    return after.get_data(as_text=True)


def _status(world: World, bank: Party, asked: TestResponse) -> str:
    """The consent's status as the partner that asked reads it."""
    consent_id = asked.json["consent_id"]  # type: ignore[index]
    response = world.http.get(f"/v1/consents/{consent_id}", headers=bank.headers())
    return str(response.json["status"])  # type: ignore[index]


def _path(authorize_url: str) -> str:
    return authorize_url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_the_page_explains_the_request_and_approval_works(app: Flask, world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    asked = world.request(
        bank, owner.subject, ["tax", "judicial"], purpose="other", purpose_note="设备融资租赁"
    )
    url = _path(asked.json["authorize_url"])  # type: ignore[index]
    browser = _browser(app)

    html = _signed_in_page(browser, url, owner)
    for text in (
        "周村农商银行",
        "银行",
        "纳税信用",
        "Tax credit level",
        "司法信息",
        "Court enforcement",
        "设备融资租赁",
        "北京时间",
        "撤销",
        "revoke",
        'name="decision" value="approve"',
        'name="decision" value="deny"',
    ):
        assert text in html, text

    page = browser.get(url)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"

    approved = browser.post(url, data={"decision": "approve", "csrf_token": csrf_from(page)})
    assert approved.status_code == 200
    assert "已授权" in approved.get_data(as_text=True)
    assert _status(world, bank, asked) == "authorised"


def test_deny_rejects(app: Flask, world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    asked = world.request(bank, owner.subject)
    url = _path(asked.json["authorize_url"])  # type: ignore[index]
    browser = _browser(app)
    _signed_in_page(browser, url, owner)
    page = browser.get(url)

    denied = browser.post(url, data={"decision": "deny", "csrf_token": csrf_from(page)})

    assert denied.status_code == 200
    assert "已拒绝" in denied.get_data(as_text=True)
    again = browser.post(url, data={"decision": "approve", "csrf_token": csrf_from(page)})
    assert again.status_code == 409  # decided once: the page says so and offers no form
    assert 'value="approve"' not in again.get_data(as_text=True)
    assert _status(world, bank, asked) == "rejected"


def test_a_decision_without_the_csrf_token_changes_nothing(app: Flask, world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    asked = world.request(bank, owner.subject)
    url = _path(asked.json["authorize_url"])  # type: ignore[index]
    browser = _browser(app)
    _signed_in_page(browser, url, owner)

    for data in ({"decision": "approve"}, {"decision": "approve", "csrf_token": "forged"}):
        forged = browser.post(url, data=data)
        assert forged.status_code == 400
    assert _status(world, bank, asked) == "awaiting_authorisation"


def test_another_subject_sees_no_such_request(app: Flask, world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    stranger = world.subject(with_records=False)
    asked = world.request(bank, owner.subject)
    url = _path(asked.json["authorize_url"])  # type: ignore[index]
    browser = _browser(app)

    first = browser.get(url)
    refused = browser.post(
        url,
        data={
            "username": stranger.username,
            "password": PASSWORD,
            "csrf_token": csrf_from(first),
        },
    )

    assert refused.status_code == 404
    assert "周村农商银行" not in refused.get_data(as_text=True)
    missing = browser.get("/consents/con_doesnotexist")
    assert missing.status_code == 404
    too_long = _browser(app).get("/consents/" + "0" * 41)
    assert too_long.status_code == 404


def test_a_wrong_password_shows_the_form_again(app: Flask, world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    asked = world.request(bank, owner.subject)
    url = _path(asked.json["authorize_url"])  # type: ignore[index]
    browser = _browser(app)
    first = browser.get(url)

    wrong = browser.post(
        url, data={"username": owner.username, "password": "nope", "csrf_token": csrf_from(first)}
    )

    assert wrong.status_code == 200
    html = wrong.get_data(as_text=True)
    assert "Wrong username or password" in html
    assert 'name="decision"' not in html
