"""The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3).

First-party public clients (`xinyong-cli` on any loopback port, `portal` on the platform's own
callback) skip the consent page; a confidential partner client gets it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from auth import service
from auth.models import AuthorizationCode, ClientStatus
from credit import clock
from tests.auth.conftest import (
    CLI,
    ISSUER,
    PORTAL,
    PORTAL_CALLBACK,
    assert_invalid_token,
    authorize_query,
    bearer,
    csrf_from,
    exchange_code,
    jwt_parts,
    loopback,
    make_account,
    make_client,
    pkce,
    redirect_params,
    refresh,
    sign_in_and_authorize,
)

BANK_CALLBACK = "https://bank.example.com/oauth/callback"


def _code_for(
    client: FlaskClient,
    username: str,
    password: str,
    client_id: str = CLI,
    redirect_uri: str | None = None,
) -> tuple[str, str, str]:
    """Sign in and authorize: (code, verifier, redirect_uri)."""
    redirect_uri = redirect_uri or loopback()
    verifier, challenge = pkce()
    response = sign_in_and_authorize(
        client, client_id, redirect_uri, username, password, challenge=challenge
    )
    _target, params = redirect_params(response)
    return params["code"], verifier, redirect_uri


def _assert_error_page(response: TestResponse, text: str | None = None) -> None:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.content_type.startswith("text/html")
    if text is not None:
        assert text in response.get_data(as_text=True)


# --- first-party public clients ---------------------------------------------------------------


def test_cli_loopback_flow_end_to_end(client: FlaskClient, db_session: Session, app: Flask) -> None:
    username, password, subject = make_account(db_session, app)
    redirect_uri = "http://127.0.0.1:8765/callback"
    verifier, challenge = pkce()

    response = sign_in_and_authorize(
        client, CLI, redirect_uri, username, password, challenge=challenge, state="xyz-123"
    )

    target, params = redirect_params(response)
    assert target == redirect_uri
    assert params["state"] == "xyz-123"
    assert set(params) == {"code", "state"}
    tokens = exchange_code(client, CLI, params["code"], redirect_uri, verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.headers["Cache-Control"] == "no-store"
    body = tokens.json
    assert body is not None
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "subject"
    assert body["refresh_token"]
    claims = jwt_parts(body["access_token"])[1]
    assert claims["sub"] == subject.subject_id
    assert claims["client_id"] == CLI
    assert claims["iss"] == ISSUER
    assert claims["scope"] == "subject"
    assert isinstance(claims["auth_time"], int)
    me = client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json == {
        "subject_id": subject.subject_id,
        "kind": "enterprise",
        "kind_label": "企业",
        "name": subject.name,
        "uscc": subject.uscc,
    }


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:65535/callback",
        "http://[::1]:49152/callback",
    ],
)
def test_cli_accepts_any_loopback_port(
    client: FlaskClient, db_session: Session, app: Flask, redirect_uri: str
) -> None:
    username, password, _subject = make_account(db_session, app)

    code, verifier, _redirect_uri = _code_for(client, username, password, CLI, redirect_uri)

    assert exchange_code(client, CLI, code, redirect_uri, verifier).status_code == 200


def test_portal_flow_with_the_platform_callback(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, subject = make_account(db_session, app)

    code, verifier, redirect_uri = _code_for(client, username, password, PORTAL, PORTAL_CALLBACK)

    tokens = exchange_code(client, PORTAL, code, redirect_uri, verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.json is not None
    assert tokens.json["refresh_token"]
    claims = jwt_parts(tokens.json["access_token"])[1]
    assert claims["client_id"] == PORTAL
    assert claims["sub"] == subject.subject_id
    me = client.get("/v1/me", headers=bearer(tokens.json["access_token"]))
    assert me.status_code == 200
    assert me.json is not None
    assert me.json["uscc"] == subject.uscc


def test_portal_without_redirect_uri_uses_its_registered_callback(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    verifier, challenge = pkce()

    response = sign_in_and_authorize(client, PORTAL, None, username, password, challenge=challenge)

    target, params = redirect_params(response)
    assert target == PORTAL_CALLBACK
    assert exchange_code(client, PORTAL, params["code"], None, verifier).status_code == 200


def test_signed_in_subject_is_not_asked_again(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    _code_for(client, username, password)
    verifier, challenge = pkce()

    again = client.get(
        "/oauth/authorize", query_string=authorize_query(CLI, loopback(9000), "subject", challenge)
    )

    _target, params = redirect_params(again)
    tokens = exchange_code(client, CLI, params["code"], loopback(9000), verifier)
    assert tokens.status_code == 200


def test_sign_in_page_comes_first(client: FlaskClient) -> None:
    _verifier, challenge = pkce()

    page = client.get(
        "/oauth/authorize", query_string=authorize_query(CLI, loopback(), "subject", challenge)
    )

    assert page.status_code == 200
    assert "Location" not in page.headers
    html = page.get_data(as_text=True)
    assert 'name="username"' in html
    assert 'name="password"' in html


# --- the authorization request ----------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/callback",
        "http://localhost:8765/callback",  # RFC 8252 §8.3: loopback IP literals, not localhost
        "http://127.0.0.1/callback",  # no port
        "https://127.0.0.1:8765/callback",
        "http://127.0.0.1:8765/callback#fragment",
        "http://10.0.0.1:8765/callback",
        "http://127.0.0.1:8765@evil.example.com/callback",
        "http://127.0.0.1.evil.example.com:8765/callback",
    ],
)
def test_cli_redirect_uri_not_registered_is_an_error_page(
    client: FlaskClient, redirect_uri: str
) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize", query_string=authorize_query(CLI, redirect_uri, "subject", challenge)
    )

    _assert_error_page(response)


@pytest.mark.parametrize(
    "path", ["/", "/callback/", "/callbacks", "/other", "/cb", "/callback/evil", "/CALLBACK"]
)
def test_cli_loopback_path_must_be_callback(client: FlaskClient, path: str) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(CLI, f"http://127.0.0.1:8765{path}", "subject", challenge),
    )

    _assert_error_page(response)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost/portal/callback/",
        "http://localhost/portal/other",
        "https://localhost/portal/callback",
        "http://evil.example.com/portal/callback",
        "http://127.0.0.1:8765/callback",  # loopback is for xinyong-cli only
    ],
)
def test_portal_redirect_uri_must_match_exactly(client: FlaskClient, redirect_uri: str) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(PORTAL, redirect_uri, "subject", challenge),
    )

    _assert_error_page(response)


def test_unknown_client_is_an_error_page(client: FlaskClient) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query("cli_unknown", loopback(), "subject", challenge),
    )

    _assert_error_page(response)


def test_client_id_with_a_nul_character_is_an_error_page_not_a_500(client: FlaskClient) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query("cli_\x00d1", loopback(), "subject", challenge),
    )

    _assert_error_page(response)


def test_suspended_client_is_an_error_page(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, _secret = make_client(db_session, app, redirect_uris=[BANK_CALLBACK])
    service.set_client_status(
        db_session=db_session, client_id=client_id, status=ClientStatus.SUSPENDED
    )
    db_session.commit()
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(client_id, BANK_CALLBACK, "credit.basic", challenge),
    )

    _assert_error_page(response)


def test_cli_without_redirect_uri_is_an_error_page(client: FlaskClient) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize", query_string=authorize_query(CLI, None, "subject", challenge)
    )

    _assert_error_page(response)


def test_client_without_redirect_uris_cannot_use_the_code_flow(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, _secret = make_client(db_session, app)
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(client_id, BANK_CALLBACK, "credit.basic", challenge),
    )

    _assert_error_page(response)


def _assert_redirected_error(response: TestResponse, error: str, redirect_uri: str) -> None:
    target, params = redirect_params(response)
    assert target == redirect_uri
    assert params["error"] == error
    assert params["state"] == "st-4b1d"
    assert "code" not in params


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (None, "S256"),  # missing code_challenge
        (None, None),  # no PKCE at all
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain"),
        ("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "plain"),  # a plain verifier
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None),  # method defaults to plain
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "s256"),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S512"),
        ("too-short", "S256"),
    ],
)
def test_pkce_s256_is_required(
    client: FlaskClient, challenge: str | None, method: str | None
) -> None:
    query = authorize_query(CLI, loopback(), "subject", challenge, method=method)

    response = client.get("/oauth/authorize", query_string=query)

    _assert_redirected_error(response, "invalid_request", loopback())


def test_pkce_is_required_of_confidential_clients_too(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, _secret = make_client(db_session, app, redirect_uris=[BANK_CALLBACK])

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(client_id, BANK_CALLBACK, "credit.basic", None, method=None),
    )

    _assert_redirected_error(response, "invalid_request", BANK_CALLBACK)


def test_scope_beyond_the_client_is_redirected_invalid_scope(client: FlaskClient) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(CLI, loopback(), "subject admin", challenge),
    )

    _assert_redirected_error(response, "invalid_scope", loopback())


def test_unsupported_response_type_is_redirected(client: FlaskClient) -> None:
    _verifier, challenge = pkce()

    response = client.get(
        "/oauth/authorize",
        query_string=authorize_query(CLI, loopback(), "subject", challenge, response_type="token"),
    )

    target, params = redirect_params(response)
    assert target == loopback()
    assert params["error"] in ("unsupported_response_type", "unauthorized_client")
    assert "access_token" not in response.headers["Location"]


# --- the token request ------------------------------------------------------------------------


def test_wrong_code_verifier_is_invalid_grant(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, _verifier, redirect_uri = _code_for(client, username, password)
    other_verifier, _challenge = pkce()

    response = exchange_code(client, CLI, code, redirect_uri, other_verifier)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_grant"
    assert "access_token" not in response.json


def test_missing_code_verifier_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, _verifier, redirect_uri = _code_for(client, username, password)

    response = exchange_code(client, CLI, code, redirect_uri, None)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_request"
    assert "access_token" not in response.json


def test_code_reused_is_refused_and_revokes_what_it_gave(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, verifier, redirect_uri = _code_for(client, username, password)
    first = exchange_code(client, CLI, code, redirect_uri, verifier)
    assert first.status_code == 200
    assert first.json is not None
    access = first.json["access_token"]
    assert client.get("/v1/me", headers=bearer(access)).status_code == 200

    second = exchange_code(client, CLI, code, redirect_uri, verifier)

    assert second.status_code == 400
    assert second.json is not None
    assert second.json["error"] == "invalid_grant"
    assert_invalid_token(client.get("/v1/me", headers=bearer(access)))
    # The refresh token it gave is revoked with it.
    refreshed = refresh(client, first.json["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json is not None
    assert refreshed.json["error"] == "invalid_grant"


def test_code_lives_60_seconds(client: FlaskClient, db_session: Session, app: Flask) -> None:
    username, password, _subject = make_account(db_session, app)
    code, verifier, redirect_uri = _code_for(client, username, password)
    row = db_session.scalars(
        select(AuthorizationCode).order_by(AuthorizationCode.id.desc())
    ).first()
    assert row is not None
    assert row.expires_at - clock.now() <= timedelta(seconds=60)
    assert row.expires_at - clock.now() > timedelta(seconds=50)

    with clock.frozen_at(clock.now() + timedelta(seconds=61)):
        response = exchange_code(client, CLI, code, redirect_uri, verifier)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_grant"


def test_code_still_works_just_before_expiry(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, verifier, redirect_uri = _code_for(client, username, password)

    with clock.frozen_at(clock.now() + timedelta(seconds=50)):
        response = exchange_code(client, CLI, code, redirect_uri, verifier)

    assert response.status_code == 200


def test_codes_are_stored_only_as_hashes(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, _verifier, _redirect_uri = _code_for(client, username, password)

    rows = db_session.scalars(select(AuthorizationCode)).all()

    assert rows
    assert all(code not in row.code_hash for row in rows)


def test_code_of_another_client_is_invalid_grant(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, verifier, _redirect_uri = _code_for(client, username, password, PORTAL, PORTAL_CALLBACK)

    as_cli = exchange_code(client, CLI, code, PORTAL_CALLBACK, verifier)

    assert as_cli.status_code == 400
    assert as_cli.json is not None
    assert as_cli.json["error"] == "invalid_grant"
    # The rightful client still can.
    assert exchange_code(client, PORTAL, code, PORTAL_CALLBACK, verifier).status_code == 200


def test_wrong_redirect_uri_at_the_token_endpoint_is_invalid_grant(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    code, verifier, redirect_uri = _code_for(client, username, password)

    for wrong in (loopback(1234), redirect_uri + "/", redirect_uri.upper(), None):
        response = exchange_code(client, CLI, code, wrong, verifier)

        assert response.status_code == 400, wrong
        assert response.json is not None
        assert response.json["error"] == "invalid_grant"
    # The refused attempts did not spend the code.
    assert exchange_code(client, CLI, code, redirect_uri, verifier).status_code == 200


def test_unknown_code_is_invalid_grant(client: FlaskClient) -> None:
    verifier, _challenge = pkce()

    response = exchange_code(client, CLI, "not-a-code-we-issued", loopback(), verifier)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_grant"


# --- a confidential partner client: the consent page ------------------------------------------


def _consent_page(
    client: FlaskClient, db_session: Session, app: Flask, challenge: str
) -> tuple[str, str, TestResponse]:
    client_id, secret = make_client(db_session, app, redirect_uris=[BANK_CALLBACK])
    username, password, _subject = make_account(db_session, app)
    page = sign_in_and_authorize(
        client, client_id, BANK_CALLBACK, username, password, "credit.basic", challenge
    )
    return client_id, secret, page


def test_partner_client_gets_the_consent_page(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    _verifier, challenge = pkce()

    _client_id, _secret, page = _consent_page(client, db_session, app, challenge)

    assert page.status_code == 200
    assert "Location" not in page.headers
    html = page.get_data(as_text=True)
    assert 'name="csrf_token"' in html
    assert 'name="decision" value="approve"' in html
    assert 'name="decision" value="deny"' in html
    assert "credit.basic" in html
    assert page.headers["X-Frame-Options"] == "DENY"


def test_partner_consent_approved_gives_a_code_for_the_partner(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    verifier, challenge = pkce()
    client_id, secret, page = _consent_page(client, db_session, app, challenge)
    query = authorize_query(client_id, BANK_CALLBACK, "credit.basic", challenge)

    approved = client.post(
        "/oauth/authorize",
        query_string=query,
        data={"csrf_token": csrf_from(page), "decision": "approve"},
    )

    target, params = redirect_params(approved)
    assert target == BANK_CALLBACK
    assert params["state"] == "st-4b1d"
    # A confidential client authenticates at the token endpoint...
    unauthenticated = exchange_code(client, client_id, params["code"], BANK_CALLBACK, verifier)
    assert unauthenticated.status_code == 401
    tokens = exchange_code(client, client_id, params["code"], BANK_CALLBACK, verifier, secret)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.json is not None
    claims = jwt_parts(tokens.json["access_token"])[1]
    assert claims["client_id"] == client_id
    assert claims["scope"] == "credit.basic"
    assert claims["sub"].startswith("sub_")


def test_partner_consent_denied_redirects_access_denied(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    _verifier, challenge = pkce()
    client_id, _secret, page = _consent_page(client, db_session, app, challenge)
    query = authorize_query(client_id, BANK_CALLBACK, "credit.basic", challenge)

    denied = client.post(
        "/oauth/authorize",
        query_string=query,
        data={"csrf_token": csrf_from(page), "decision": "deny"},
    )

    target, params = redirect_params(denied)
    assert target == BANK_CALLBACK
    assert params["error"] == "access_denied"
    assert params["state"] == "st-4b1d"
    assert "code" not in params


def test_partner_consent_is_never_given_by_a_get(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    _verifier, challenge = pkce()
    client_id, _secret, _page = _consent_page(client, db_session, app, challenge)
    query = authorize_query(client_id, BANK_CALLBACK, "credit.basic", challenge)

    response = client.get("/oauth/authorize", query_string={**query, "decision": "approve"})

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert 'value="approve"' in response.get_data(as_text=True)


def test_partner_consent_needs_the_csrf_token(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    _verifier, challenge = pkce()
    client_id, _secret, _page = _consent_page(client, db_session, app, challenge)
    query = authorize_query(client_id, BANK_CALLBACK, "credit.basic", challenge)

    forged = client.post("/oauth/authorize", query_string=query, data={"decision": "approve"})

    _assert_error_page(forged)
