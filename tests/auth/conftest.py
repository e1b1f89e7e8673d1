"""Builders and helpers for the OAuth tests: clients, subject accounts, PKCE, the sign-in flow.

Every test gets its own client address (`REMOTE_ADDR`), so that the per-address sign-in throttle
of the session app never carries failures from one test into another, and the signing keys are
reloaded inside the test's transaction, so that a key made by one test is never relied on by the
next one after its rollback.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import re
import secrets
from collections.abc import Iterator, Sequence
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.context import Platform
from auth import credentials, service
from credit.models import Subject
from tests.factories import make_entity

PROBLEM = "application/problem+json"
ISSUER = "http://localhost"
AUDIENCE = "http://localhost/v1"
PASSWORD = "correct horse battery staple"
CLI = service.CLI_CLIENT_ID
PORTAL = service.PORTAL_CLIENT_ID
PORTAL_CALLBACK = "http://localhost/portal/callback"
PARTNER_SCOPES = ("consents.request", "credit.basic")

_addresses = itertools.count(1)
_run = secrets.randbelow(250) + 1


def unique_address() -> str:
    """A client address no other test of this run uses."""
    n = next(_addresses)
    return f"10.{_run}.{n // 250}.{n % 250 + 1}"


def platform(app: Flask) -> Platform:
    services: Platform = app.extensions["xinyong"]
    return services


@pytest.fixture
def keys_of_this_test(app: Flask, db_session: Session) -> Iterator[None]:
    """Signing keys loaded (or made) inside this test's transaction, and forgotten after it."""
    keys = platform(app).oauth.keys
    keys.invalidate()
    yield
    keys.invalidate()


@pytest.fixture
def client(app: Flask, db_session: Session, keys_of_this_test: None) -> FlaskClient:
    """The test client, from an address of its own."""
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = unique_address()
    return test_client


# --- builders ---------------------------------------------------------------------------------


def make_client(
    db_session: Session,
    app: Flask,
    kind: str = "bank",
    scopes: Sequence[str] = PARTNER_SCOPES,
    categories: Sequence[str] = (),
    redirect_uris: Sequence[str] = (),
    name: str = "周村农商银行",
) -> tuple[str, str]:
    """A registered confidential client, committed: (client_id, client_secret)."""
    issued = service.create_client(
        db_session=db_session,
        hasher=platform(app).oauth.hasher,
        name=name,
        kind=kind,
        scopes=scopes,
        categories=categories,
        redirect_uris=redirect_uris,
    )
    db_session.commit()
    assert issued.client_secret is not None
    return issued.client.client_id, issued.client_secret


@functools.cache
def _argon2_once(password: str) -> str:
    return credentials.hash_password(password)


def make_account(
    db_session: Session, app: Flask, password: str = PASSWORD
) -> tuple[str, str, Subject]:
    """A legal person with a sign-in account, committed: (username, password, subject).

    Argon2 takes a fifth of a second here, so the hash of a password is made once and reused
    (same password, same salt); test_sign_in.py checks the hashing itself without this.
    """
    subject = make_entity(db_session)
    with mock.patch.object(service, "hash_password", _argon2_once):
        account = service.create_account(
            db_session=db_session,
            identities=platform(app).identities,
            password=password,
            uscc=subject.uscc,
        )
    db_session.commit()
    return account.username, password, subject


# --- protocol helpers -------------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An HTTP Basic `Authorization` header (client_secret_basic)."""
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def loopback(port: int = 53682) -> str:
    return f"http://127.0.0.1:{port}/callback"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (unverified) header and claims of a JWT."""
    header, payload, _signature = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload))


def assert_invalid_token(response: TestResponse) -> None:
    """A 401 from a protected endpoint: a Bearer challenge with invalid_token, a problem body."""
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert response.json is not None
    assert response.json["type"] == "urn:xinyong:problem:invalid-token"
    assert response.json["status"] == 401


def client_credentials(
    client: FlaskClient, client_id: str, secret: str, scope: str | None = None
) -> TestResponse:
    """POST /oauth/token with grant_type=client_credentials and client_secret_basic."""
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return client.post("/oauth/token", data=data, headers=basic(client_id, secret))


def access_token(client: FlaskClient, client_id: str, secret: str, scope: str | None = None) -> str:
    response = client_credentials(client, client_id, secret, scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.json["access_token"])  # type: ignore[index]


def authorize_query(
    client_id: str,
    redirect_uri: str | None,
    scope: str | None = "subject",
    challenge: str | None = None,
    *,
    state: str | None = "st-4b1d",
    method: str | None = "S256",
    **extra: str,
) -> dict[str, str]:
    """The query string of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
    query = {"response_type": "code", "client_id": client_id}
    for name, value in (
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", method),
    ):
        if value is not None:
            query[name] = value
    query.update(extra)
    return query


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(response: TestResponse) -> str:
    """The CSRF token in a sign-in or consent page."""
    match = CSRF.search(response.get_data(as_text=True))
    assert match is not None, response.get_data(as_text=True)
    return match.group(1)


def sign_in_and_authorize(
    client: FlaskClient,
    client_id: str,
    redirect_uri: str | None,
    username: str,
    password: str,
    scope: str | None = "subject",
    challenge: str | None = None,
    *,
    state: str | None = "st-4b1d",
    method: str | None = "S256",
    **extra: str,
) -> TestResponse:
    """GET the sign-in page, then POST the form to the same URL: the final response.

    A 302 back to the client for first-party clients, the consent page for the others.
    """
    if challenge is None:
        challenge = pkce()[1]
    query = authorize_query(
        client_id, redirect_uri, scope, challenge, state=state, method=method, **extra
    )
    page = client.get("/oauth/authorize", query_string=query)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(
        "/oauth/authorize",
        query_string=query,
        data={"username": username, "password": password, "csrf_token": csrf_from(page)},
    )


def redirect_params(response: TestResponse) -> tuple[str, dict[str, str]]:
    """The redirect's target without its query, and its query parameters."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    parts = urlsplit(location)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", params


def exchange_code(
    client: FlaskClient,
    client_id: str,
    code: str,
    redirect_uri: str | None,
    verifier: str | None,
    secret: str | None = None,
) -> TestResponse:
    """POST /oauth/token with grant_type=authorization_code (public client unless `secret`)."""
    data = {"grant_type": "authorization_code", "code": code}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if verifier is not None:
        data["code_verifier"] = verifier
    if secret is None:
        data["client_id"] = client_id
        return client.post("/oauth/token", data=data)
    return client.post("/oauth/token", data=data, headers=basic(client_id, secret))


def subject_tokens(
    client: FlaskClient,
    username: str,
    password: str,
    client_id: str = CLI,
    redirect_uri: str | None = None,
) -> dict[str, Any]:
    """Sign in through a first-party client and exchange the code: the token response."""
    redirect_uri = redirect_uri or loopback()
    verifier, challenge = pkce()
    response = sign_in_and_authorize(
        client, client_id, redirect_uri, username, password, challenge=challenge
    )
    _target, params = redirect_params(response)
    tokens = exchange_code(client, client_id, params["code"], redirect_uri, verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    return dict(tokens.json)  # type: ignore[arg-type]


def refresh(client: FlaskClient, refresh_token: str, client_id: str = CLI) -> TestResponse:
    """POST /oauth/token with grant_type=refresh_token for a public client."""
    return client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )
