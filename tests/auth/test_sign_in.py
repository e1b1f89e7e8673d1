"""Subjects signing in: the sign-in page, its cookie and CSRF protection, lockout per account and
throttling per address, and the accounts themselves (API.md "Subjects signing in")."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.app import create_app
from auth import service
from auth.credentials import verify_password
from auth.errors import AccountError
from auth.models import SubjectAccount
from credit import clock
from credit.identifiers import InvalidIdentifier
from credit.models import Subject
from tests.auth.conftest import (
    CLI,
    PASSWORD,
    authorize_query,
    bearer,
    csrf_from,
    exchange_code,
    loopback,
    make_account,
    pkce,
    platform,
    redirect_params,
    sign_in_and_authorize,
    unique_address,
)
from tests.conftest import TEST_SECRETS
from tests.factories import make_entity, new_uscc

ID_NUMBER = "370306198001010011"
WRONG_PASSWORD = "not the right password"


def _query() -> dict[str, str]:
    return authorize_query(CLI, loopback(), "subject", pkce()[1])


def _post(
    client: FlaskClient, query: dict[str, str], username: str, password: str, csrf: str | None
) -> TestResponse:
    data = {"username": username, "password": password}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/oauth/authorize", query_string=query, data=data)


def _account(db_session: Session, username: str) -> SubjectAccount:
    db_session.expire_all()
    account = db_session.scalars(
        select(SubjectAccount).where(SubjectAccount.username == username)
    ).one()
    return account


def _assert_form_again(response: TestResponse) -> None:
    assert response.status_code == 200
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert 'name="password"' in html
    assert "Wrong username or password" in html


def _assert_not_signed_in(client: FlaskClient) -> None:
    page = client.get("/oauth/authorize", query_string=_query())
    assert page.status_code == 200
    assert 'name="password"' in page.get_data(as_text=True)


# --- the page ---------------------------------------------------------------------------------


def test_sign_in_page_is_a_form_that_nobody_frames_or_caches(client: FlaskClient) -> None:
    query = _query()

    page = client.get("/oauth/authorize", query_string=query)

    assert page.status_code == 200
    assert page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert re.search(r'<form method="post" action="/oauth/authorize\?[^"]*code_challenge=', html)
    assert re.search(r'<input type="text" id="username" name="username"', html)
    assert re.search(r'<input type="password" id="password" name="password"', html)
    assert re.search(r'<input type="hidden" name="csrf_token" value="[\w-]{32,}"', html)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_lax_and_not_secure_over_http(client: FlaskClient) -> None:
    page = client.get("/oauth/authorize", query_string=_query())

    cookies = [c for c in page.headers.getlist("Set-Cookie") if c.startswith("xinyong_session=")]
    assert len(cookies) == 1
    attributes = [a.strip().lower() for a in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes


def test_session_cookie_is_secure_over_https(client: FlaskClient) -> None:
    page = client.get("/oauth/authorize", query_string=_query(), base_url="https://localhost")

    cookies = [c for c in page.headers.getlist("Set-Cookie") if c.startswith("xinyong_session=")]
    assert len(cookies) == 1
    attributes = [a.strip().lower() for a in cookies[0].split(";")]
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_what_the_user_typed_is_escaped(client: FlaskClient) -> None:
    query = _query()
    page = client.get("/oauth/authorize", query_string=query)

    again = _post(client, query, '"><script>alert(1)</script>', WRONG_PASSWORD, csrf_from(page))

    html = again.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert WRONG_PASSWORD not in html


def test_error_page_escapes_the_redirect_uri(client: FlaskClient) -> None:
    query = authorize_query(CLI, "https://x.example/<script>alert(1)</script>", "subject", "c" * 43)

    response = client.get("/oauth/authorize", query_string=query)

    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_sign_in_lasts_twelve_hours(client: FlaskClient, db_session: Session, app: Flask) -> None:
    username, password, _subject = make_account(db_session, app)
    redirect_params(sign_in_and_authorize(client, CLI, loopback(), username, password))

    with clock.frozen_at(clock.now() + timedelta(hours=11, minutes=59)):
        redirect_params(client.get("/oauth/authorize", query_string=_query()))
    with clock.frozen_at(clock.now() + timedelta(hours=12, minutes=1)):
        _assert_not_signed_in(client)


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("csrf", [None, "", "forged-token-value-that-is-long-enough-0123"])
def test_sign_in_without_the_right_csrf_token_is_refused(
    client: FlaskClient, db_session: Session, app: Flask, csrf: str | None
) -> None:
    username, password, _subject = make_account(db_session, app)
    query = _query()
    client.get("/oauth/authorize", query_string=query)

    response = _post(client, query, username, password, csrf)

    assert response.status_code == 400
    assert "Location" not in response.headers
    _assert_not_signed_in(client)
    assert _account(db_session, username).failed_attempts == 0


def test_csrf_token_of_another_session_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    query = _query()
    attacker = app.test_client()
    attacker_token = csrf_from(attacker.get("/oauth/authorize", query_string=query))
    client.get("/oauth/authorize", query_string=query)

    response = _post(client, query, username, password, attacker_token)

    assert response.status_code == 400
    _assert_not_signed_in(client)


def test_sign_in_without_a_session_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)

    response = _post(client, _query(), username, password, "whatever-the-attacker-chose")

    assert response.status_code == 400
    assert "Location" not in response.headers


# --- wrong passwords, lockout -----------------------------------------------------------------


def test_wrong_password_shows_the_form_again(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, _password, _subject = make_account(db_session, app)
    query = _query()
    csrf = csrf_from(client.get("/oauth/authorize", query_string=query))

    response = _post(client, query, username, WRONG_PASSWORD, csrf)

    _assert_form_again(response)
    assert f'value="{username}"' in response.get_data(as_text=True)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert _account(db_session, username).failed_attempts == 1
    _assert_not_signed_in(client)


def test_unknown_username_looks_like_a_wrong_password(client: FlaskClient) -> None:
    query = _query()
    csrf = csrf_from(client.get("/oauth/authorize", query_string=query))

    response = _post(client, query, new_uscc(), PASSWORD, csrf)

    _assert_form_again(response)


def test_username_with_a_nul_character_is_a_wrong_password_not_a_500(
    client: FlaskClient,
) -> None:
    query = _query()
    csrf = csrf_from(client.get("/oauth/authorize", query_string=query))

    response = _post(client, query, "9137\x000306", PASSWORD, csrf)

    _assert_form_again(response)


def test_account_is_locked_after_five_failures(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    query = _query()
    csrf = csrf_from(client.get("/oauth/authorize", query_string=query))
    for _ in range(4):
        _assert_form_again(_post(client, query, username, WRONG_PASSWORD, csrf))
    assert _account(db_session, username).locked_until is None

    _assert_form_again(_post(client, query, username, WRONG_PASSWORD, csrf))

    locked_until = _account(db_session, username).locked_until
    assert locked_until is not None
    assert timedelta(seconds=50) < locked_until - clock.now() <= timedelta(minutes=1)
    # The right password is refused while the account is locked...
    _assert_form_again(_post(client, query, username, password, csrf))
    _assert_not_signed_in(client)
    # ...and lets the subject in once the lock has passed.
    with clock.frozen_at(locked_until + timedelta(seconds=1)):
        response = _post(client, query, username, password, csrf)
        _target, params = redirect_params(response)
        assert params["code"]
    account = _account(db_session, username)
    assert account.failed_attempts == 0
    assert account.locked_until is None


def test_lockout_doubles_with_further_failures(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, _password, _subject = make_account(db_session, app)
    query = _query()
    csrf = csrf_from(client.get("/oauth/authorize", query_string=query))
    for _ in range(5):
        _post(client, query, username, WRONG_PASSWORD, csrf)
    first_lock = _account(db_session, username).locked_until
    assert first_lock is not None

    moment = first_lock + timedelta(seconds=1)
    with clock.frozen_at(moment):
        _assert_form_again(_post(client, query, username, WRONG_PASSWORD, csrf))

    second_lock = _account(db_session, username).locked_until
    assert second_lock is not None
    assert second_lock - moment == timedelta(minutes=2)


# --- per-address throttle ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def throttled_app(
    engine: Engine,
    database_url: str,
    redis_url: str | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """An app allowing 3 failed sign-ins per address in 15 minutes (Redis when configured)."""
    throttled = create_app(
        {
            "DATABASE_URL": database_url,
            "LOG_JSON": False,
            **TEST_SECRETS,
            "REDIS_URL": redis_url,
            "SIGNIN_FAILURES_PER_ADDRESS": "3/15 minutes",
        },
        instance_path=tmp_path_factory.mktemp("throttled"),
    )
    yield throttled
    engine_of_app = platform(throttled).db.engine
    assert engine_of_app is not None
    engine_of_app.dispose()


@pytest.fixture
def throttled_client(
    throttled_app: Flask, connection: Connection, db_session: Session
) -> Iterator[Callable[..., FlaskClient]]:
    """Test clients of the throttled app, each from its own address, in this test's transaction."""
    services = platform(throttled_app)
    services.db.session.remove()
    services.db.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    services.oauth.keys.invalidate()

    def new_client(address: str | None = None) -> FlaskClient:
        test_client = throttled_app.test_client()
        test_client.environ_base["REMOTE_ADDR"] = address or unique_address()
        return test_client

    try:
        yield new_client
    finally:
        services.db.session.remove()
        services.db.session_factory.configure(bind=services.db.engine)
        services.oauth.keys.invalidate()


def test_failures_per_address_are_throttled(
    throttled_client: Callable[..., FlaskClient], db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    attacker = throttled_client()
    query = _query()
    csrf = csrf_from(attacker.get("/oauth/authorize", query_string=query))
    for _ in range(3):
        _assert_form_again(_post(attacker, query, username, WRONG_PASSWORD, csrf))

    fourth = _post(attacker, query, username, password, csrf)

    assert fourth.status_code == 429
    assert "Location" not in fourth.headers
    assert 0 < int(fourth.headers["Retry-After"]) <= 15 * 60
    assert fourth.content_type.startswith("text/html")
    assert fourth.headers["X-Frame-Options"] == "DENY"
    # The account is not locked (3 < 5): another address signs in with the right password.
    other = throttled_client()
    verifier, challenge = pkce()
    response = sign_in_and_authorize(
        other, CLI, loopback(), username, password, challenge=challenge
    )
    _target, params = redirect_params(response)
    tokens = exchange_code(other, CLI, params["code"], loopback(), verifier)
    assert tokens.status_code == 200
    assert tokens.json is not None
    assert other.get("/v1/me", headers=bearer(tokens.json["access_token"])).status_code == 200


def test_successful_sign_ins_are_not_counted(
    throttled_client: Callable[..., FlaskClient], db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    address = unique_address()

    for _ in range(4):  # one more than the limit on failures
        browser = throttled_client(address)
        response = sign_in_and_authorize(browser, CLI, loopback(), username, password)
        _target, params = redirect_params(response)
        assert params["code"]


# --- accounts ---------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(db_session: Session, app: Flask) -> None:
    identities = platform(app).identities
    accounts = [
        service.create_account(
            db_session=db_session,
            identities=identities,
            password=PASSWORD,
            uscc=make_entity(db_session).uscc,
        )
        for _ in range(2)
    ]
    db_session.commit()

    one, two = (_account(db_session, account.username) for account in accounts)

    for account in (one, two):
        assert account.password_hash.startswith("$argon2id$")
        assert PASSWORD not in account.password_hash
        assert verify_password(PASSWORD, account.password_hash)
    assert not verify_password(WRONG_PASSWORD, one.password_hash)
    assert one.password_hash != two.password_hash  # salted


def test_legal_person_username_is_its_uscc(db_session: Session, app: Flask) -> None:
    username, _password, subject = make_account(db_session, app)

    assert username == subject.uscc


def test_create_account_refusals(db_session: Session, app: Flask) -> None:
    identities = platform(app).identities
    subject = make_entity(db_session)

    with pytest.raises(AccountError, match="10 characters"):
        service.create_account(
            db_session=db_session, identities=identities, password="ninechars", uscc=subject.uscc
        )
    with pytest.raises(AccountError, match="no legal person"):
        service.create_account(
            db_session=db_session, identities=identities, password=PASSWORD, uscc=new_uscc()
        )
    with pytest.raises(InvalidIdentifier):
        service.create_account(
            db_session=db_session, identities=identities, password=PASSWORD, uscc="91370306ABC"
        )
    with pytest.raises(AccountError):
        service.create_account(db_session=db_session, identities=identities, password=PASSWORD)
    with pytest.raises(AccountError):
        service.create_account(
            db_session=db_session,
            identities=identities,
            password=PASSWORD,
            uscc=subject.uscc,
            id_number=ID_NUMBER,
            name="张三",
        )
    with pytest.raises(AccountError, match="name"):
        service.create_account(
            db_session=db_session, identities=identities, password=PASSWORD, id_number=ID_NUMBER
        )
    with pytest.raises(InvalidIdentifier):
        service.create_account(
            db_session=db_session,
            identities=identities,
            password=PASSWORD,
            id_number="370306198001010012",  # wrong check digit
            name="张三",
        )


def test_short_password_boundary(db_session: Session, app: Flask) -> None:
    identities = platform(app).identities
    subject = make_entity(db_session)

    with pytest.raises(AccountError):
        service.create_account(
            db_session=db_session, identities=identities, password="x" * 9, uscc=subject.uscc
        )
    account = service.create_account(
        db_session=db_session, identities=identities, password="x" * 10, uscc=subject.uscc
    )
    assert account.username == subject.uscc


def test_one_account_per_subject(db_session: Session, app: Flask) -> None:
    username, _password, subject = make_account(db_session, app)

    with pytest.raises(AccountError, match="already has an account"):
        service.create_account(
            db_session=db_session,
            identities=platform(app).identities,
            password="another password",
            uscc=subject.uscc,
        )
    assert _account(db_session, username).subject_pk == subject.id


def test_natural_person_account_never_shows_the_identity_number(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    identities = platform(app).identities

    account = service.create_account(
        db_session=db_session,
        identities=identities,
        password=PASSWORD,
        id_number=ID_NUMBER,
        name="张三",
    )
    db_session.commit()

    assert re.fullmatch(r"p\d{10}", account.username)
    assert ID_NUMBER not in account.username
    subject = db_session.get(Subject, account.subject_pk)
    assert subject is not None
    assert subject.kind == "natural_person"
    assert subject.name == "张三"
    assert subject.uscc is None
    assert subject.id_number_hash == identities.lookup_hash(ID_NUMBER)
    assert subject.id_number_ciphertext is not None
    assert ID_NUMBER.encode() not in subject.id_number_ciphertext
    assert identities.decrypt(subject.id_number_ciphertext) == ID_NUMBER
    row = db_session.execute(
        text("SELECT * FROM subjects WHERE id = :id"), {"id": subject.id}
    ).one()
    assert all(ID_NUMBER not in str(value) for value in row)
    # A second account for the same person is refused.
    with pytest.raises(AccountError, match="already has an account"):
        service.create_account(
            db_session=db_session,
            identities=identities,
            password=PASSWORD,
            id_number=ID_NUMBER,
            name="张三",
        )
    # The person signs in, and /v1/me answers without the identity number.
    verifier, challenge = pkce()
    response = sign_in_and_authorize(
        client, CLI, loopback(), account.username, PASSWORD, challenge=challenge
    )
    _target, params = redirect_params(response)
    tokens = exchange_code(client, CLI, params["code"], loopback(), verifier)
    assert tokens.json is not None
    me = client.get("/v1/me", headers=bearer(tokens.json["access_token"]))
    assert me.status_code == 200
    assert me.json is not None
    assert me.json["kind"] == "natural_person"
    assert me.json["name"] == "张三"
    assert me.json["uscc"] is None
    assert me.json["subject_id"] == subject.subject_id
    assert ID_NUMBER not in me.get_data(as_text=True)


def test_a_legal_persons_code_signs_in_typed_in_lower_case(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)

    response = sign_in_and_authorize(client, CLI, loopback(), username.lower(), password)

    assert response.status_code == 302
    assert "code=" in response.headers["Location"]


def test_a_non_bearer_authorization_is_answered_like_a_missing_token(client: FlaskClient) -> None:
    response = client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    # RFC 6750 §3.1: no error code when the request carries no bearer token.
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="xinyong"'
