"""Refresh tokens: rotated on every use, and a reused one revokes its whole family."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import service
from auth.models import ClientStatus, RefreshToken
from credit import clock
from tests.auth.conftest import (
    CLI,
    PORTAL,
    assert_invalid_token,
    bearer,
    jwt_parts,
    make_account,
    refresh,
    subject_tokens,
    unique_address,
)


def _refreshed(client: FlaskClient, refresh_token: str, client_id: str = CLI) -> dict[str, str]:
    response = refresh(client, refresh_token, client_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    return dict(response.json)


def _assert_invalid_grant(client: FlaskClient, refresh_token: str, client_id: str = CLI) -> None:
    response = refresh(client, refresh_token, client_id)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json is not None
    assert response.json["error"] == "invalid_grant"
    assert "access_token" not in response.json


def test_refresh_rotates_the_refresh_token(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, subject = make_account(db_session, app)
    first = subject_tokens(client, username, password)

    second = _refreshed(client, first["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "subject"
    claims = jwt_parts(second["access_token"])[1]
    assert claims["sub"] == subject.subject_id
    assert claims["client_id"] == CLI
    assert client.get("/v1/me", headers=bearer(second["access_token"])).status_code == 200
    # The new one rotates in turn.
    third = _refreshed(client, second["refresh_token"])
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_rotated_refresh_token_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    first = subject_tokens(client, username, password)
    _refreshed(client, first["refresh_token"])

    _assert_invalid_grant(client, first["refresh_token"])


def test_reuse_of_a_rotated_token_revokes_the_family(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    first = subject_tokens(client, username, password)
    second = _refreshed(client, first["refresh_token"])
    third = _refreshed(client, second["refresh_token"])
    assert client.get("/v1/me", headers=bearer(third["access_token"])).status_code == 200

    # Someone presents the first (rotated) refresh token again: a stolen copy.
    _assert_invalid_grant(client, first["refresh_token"])

    # The newest refresh token of the family and every access token it gave stop working.
    _assert_invalid_grant(client, third["refresh_token"])
    for tokens in (first, second, third):
        assert_invalid_token(client.get("/v1/me", headers=bearer(tokens["access_token"])))


def test_reuse_leaves_other_sign_ins_alone(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    stolen = subject_tokens(client, username, password)
    other_device = app.test_client()
    other_device.environ_base["REMOTE_ADDR"] = unique_address()
    elsewhere = subject_tokens(other_device, username, password)
    _refreshed(client, stolen["refresh_token"])

    _assert_invalid_grant(client, stolen["refresh_token"])

    assert client.get("/v1/me", headers=bearer(elsewhere["access_token"])).status_code == 200
    _refreshed(client, elsewhere["refresh_token"])


def test_refresh_of_a_suspended_client_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)
    service.set_client_status(db_session=db_session, client_id=CLI, status=ClientStatus.SUSPENDED)
    db_session.commit()

    response = refresh(client, tokens["refresh_token"])

    # RFC 6749 §5.2: 401 is a must only when the client used the Authorization header.
    assert response.status_code in (400, 401)
    assert response.json is not None
    assert response.json["error"] == "invalid_client"
    assert "access_token" not in response.json
    assert_invalid_token(client.get("/v1/me", headers=bearer(tokens["access_token"])))

    # Reactivated, the same refresh token works again (it was not used).
    service.set_client_status(db_session=db_session, client_id=CLI, status=ClientStatus.ACTIVE)
    db_session.commit()
    _refreshed(client, tokens["refresh_token"])


def test_refresh_token_of_another_client_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    _assert_invalid_grant(client, tokens["refresh_token"], PORTAL)
    # ...and that attempt did not spend it.
    _refreshed(client, tokens["refresh_token"])


def test_unknown_refresh_token_is_refused(client: FlaskClient) -> None:
    _assert_invalid_grant(client, "not-a-refresh-token-we-issued")


def test_expired_refresh_token_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    with clock.frozen_at(clock.now() + timedelta(days=31)):
        _assert_invalid_grant(client, tokens["refresh_token"])


def test_refresh_cannot_widen_the_scope(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": CLI,
            "scope": "subject admin",
        },
    )

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_scope"


def test_revoking_a_refresh_token_revokes_its_family(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    first = subject_tokens(client, username, password)
    second = _refreshed(client, first["refresh_token"])

    response = client.post(
        "/oauth/revoke",
        data={
            "token": second["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": CLI,
        },
    )

    assert response.status_code == 200
    _assert_invalid_grant(client, second["refresh_token"])
    assert_invalid_token(client.get("/v1/me", headers=bearer(second["access_token"])))


def test_refresh_tokens_are_stored_only_as_hashes(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    rows = db_session.scalars(select(RefreshToken)).all()

    assert rows
    assert all(tokens["refresh_token"] not in row.token_hash for row in rows)
