"""The client credentials grant (RFC 6749 §4.4) and the JWT access tokens it issues (RFC 9068)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from auth import service
from auth.errors import InvalidClientRegistration
from auth.models import ClientStatus
from tests.auth.conftest import (
    AUDIENCE,
    CLI,
    ISSUER,
    PARTNER_SCOPES,
    access_token,
    assert_invalid_token,
    basic,
    bearer,
    client_credentials,
    jwt_parts,
    make_client,
    platform,
)


def _set_status(db_session: Session, client_id: str, status: ClientStatus) -> None:
    service.set_client_status(db_session=db_session, client_id=client_id, status=status)
    db_session.commit()


# --- success ----------------------------------------------------------------------------------


def test_client_secret_basic_issues_a_bearer_jwt(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app)

    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["access_token"].count(".") == 2
    # No subject signs in here: no refresh token (RFC 6749 §4.4.3).
    assert "refresh_token" not in body


def test_client_secret_post_issues_a_token(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app)

    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "credit.basic",
        },
    )

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["scope"] == "credit.basic"
    assert jwt_parts(response.json["access_token"])[1]["client_id"] == client_id


def test_access_token_is_an_rfc9068_jwt_signed_with_a_published_key(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app)

    token = access_token(client, client_id, secret, "credit.basic")

    header, claims = jwt_parts(token)
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    jwks = client.get("/oauth/jwks").json
    assert jwks is not None
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert all("d" not in key for key in jwks["keys"])  # public halves only
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == client_id
    assert claims["client_id"] == client_id
    assert claims["scope"] == "credit.basic"
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16
    assert claims["exp"] == claims["iat"] + 600
    # The signature verifies with the published key set.
    verified = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert verified.claims == claims


def test_every_token_has_its_own_jti(client: FlaskClient, db_session: Session, app: Flask) -> None:
    client_id, secret = make_client(db_session, app)

    first = jwt_parts(access_token(client, client_id, secret))[1]
    second = jwt_parts(access_token(client, client_id, secret))[1]

    assert first["jti"] != second["jti"]


def test_default_scope_is_every_scope_of_the_client(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    scopes = ("consents.request", "credit.basic", "credit.tax")
    client_id, secret = make_client(db_session, app, scopes=scopes)

    response = client_credentials(client, client_id, secret)

    assert response.status_code == 200
    assert response.json is not None
    assert set(response.json["scope"].split()) == set(scopes)
    assert set(jwt_parts(response.json["access_token"])[1]["scope"].split()) == set(scopes)


def test_admin_token_reads_the_admin_endpoint(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app, kind="admin", scopes=["admin"])

    response = client.get(
        "/v1/admin/clients", headers=bearer(access_token(client, client_id, secret))
    )

    assert response.status_code == 200
    assert response.json is not None
    listed = {item["client_id"]: item for item in response.json["items"]}
    assert listed[client_id]["kind"] == "admin"
    assert listed[CLI]["public"] is True
    assert all("secret" not in key for item in listed.values() for key in item)


# --- client authentication --------------------------------------------------------------------


def test_wrong_secret_is_invalid_client(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app)

    by_basic = client_credentials(
        client, client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B")
    )
    by_post = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )

    for response in (by_basic, by_post):
        assert response.status_code == 401
        assert response.json is not None
        assert response.json["error"] == "invalid_client"
        assert "access_token" not in response.json


def test_unknown_client_is_invalid_client(client: FlaskClient) -> None:
    response = client_credentials(client, "cli_00000000000000000000", "whatever-secret")

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_client"


def test_client_id_with_a_nul_character_is_invalid_client_not_a_500(client: FlaskClient) -> None:
    # PostgreSQL text cannot hold NUL: such an id must be refused, not sent to the database.
    client_id = "cli_\x00d1"
    responses = [
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
        ),
        client_credentials(client, client_id, "x"),
        client.post("/oauth/revoke", data={"token": "t"}, headers=basic(client_id, "x")),
        client.post("/oauth/introspect", data={"token": "t"}, headers=basic(client_id, "x")),
    ]

    statuses = [response.status_code for response in responses]
    assert all(status in (400, 401) for status in statuses), statuses
    for response in responses:
        assert response.json is not None
        assert response.json["error"] == "invalid_client"


def test_no_client_authentication_is_invalid_client(client: FlaskClient) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_client"


def test_suspended_client_gets_no_token_and_its_tokens_stop_at_once(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app, kind="admin", scopes=["admin"])
    token = access_token(client, client_id, secret)
    assert client.get("/v1/admin/clients", headers=bearer(token)).status_code == 200

    _set_status(db_session, client_id, ClientStatus.SUSPENDED)

    refused = client_credentials(client, client_id, secret)
    assert refused.status_code == 401
    assert refused.json is not None
    assert refused.json["error"] == "invalid_client"
    assert_invalid_token(client.get("/v1/admin/clients", headers=bearer(token)))

    _set_status(db_session, client_id, ClientStatus.ACTIVE)

    assert client.get("/v1/admin/clients", headers=bearer(token)).status_code == 200
    assert client_credentials(client, client_id, secret).status_code == 200


def test_revoked_client_is_refused_for_good(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app, kind="admin", scopes=["admin"])
    token = access_token(client, client_id, secret)

    _set_status(db_session, client_id, ClientStatus.REVOKED)

    refused = client_credentials(client, client_id, secret)
    assert refused.status_code == 401
    assert refused.json is not None
    assert refused.json["error"] == "invalid_client"
    assert_invalid_token(client.get("/v1/admin/clients", headers=bearer(token)))
    with pytest.raises(InvalidClientRegistration, match="revoked"):
        service.set_client_status(
            db_session=db_session, client_id=client_id, status=ClientStatus.ACTIVE
        )


def test_public_client_cannot_use_client_credentials(client: FlaskClient) -> None:
    without_secret = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": CLI}
    )
    with_made_up_secret = client_credentials(client, CLI, "made-up-secret")

    for response in (without_secret, with_made_up_secret):
        assert response.status_code == 401
        assert response.json is not None
        assert response.json["error"] == "invalid_client"
        assert "access_token" not in response.json


# --- scopes and grant types -------------------------------------------------------------------


def test_scope_not_allowed_for_the_client_is_invalid_scope(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app, scopes=PARTNER_SCOPES)

    for scope in ("admin", "credit.tax", "credit.basic records.write"):
        response = client_credentials(client, client_id, secret, scope)
        assert response.status_code == 400, scope
        assert response.json is not None
        assert response.json["error"] == "invalid_scope"


def test_unknown_scope_is_invalid_scope(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app)

    response = client_credentials(client, client_id, secret, "credit.everything")

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_scope"


def test_missing_grant_type_is_refused(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, secret = make_client(db_session, app)

    response = client.post("/oauth/token", data={}, headers=basic(client_id, secret))

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "grant_type",
    ["password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credential"],
)
def test_unsupported_grant_type(
    client: FlaskClient, db_session: Session, app: Flask, grant_type: str
) -> None:
    client_id, secret = make_client(db_session, app)

    response = client.post(
        "/oauth/token",
        data={"grant_type": grant_type, "username": "u", "password": "p"},
        headers=basic(client_id, secret),
    )

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "unsupported_grant_type"


# --- the register -----------------------------------------------------------------------------


def test_secret_rotation_refuses_the_old_secret_at_once(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    client_id, old = make_client(db_session, app)
    assert client_credentials(client, client_id, old).status_code == 200

    new = service.rotate_secret(
        db_session=db_session, hasher=platform(app).oauth.hasher, client_id=client_id
    )
    db_session.commit()

    assert new != old
    assert len(new) == 43
    refused = client_credentials(client, client_id, old)
    assert refused.status_code == 401
    assert refused.json is not None
    assert refused.json["error"] == "invalid_client"
    assert client_credentials(client, client_id, new).status_code == 200


def test_secrets_are_stored_as_keyed_hashes(db_session: Session, app: Flask) -> None:
    hasher = platform(app).oauth.hasher
    client_id, secret = make_client(db_session, app)

    row = service.get_client(db_session=db_session, client_id=client_id)

    assert row is not None
    assert row.secret_hash == hasher.hash(secret)
    assert secret not in (row.secret_hash or "")
    assert len(secret) == 43  # 256 bits, base64url


def test_register_refuses_scopes_beyond_the_kind(db_session: Session, app: Flask) -> None:
    with pytest.raises(InvalidClientRegistration, match="admin"):
        make_client(db_session, app, kind="bank", scopes=["admin"])
    with pytest.raises(InvalidClientRegistration, match="records.write"):
        make_client(db_session, app, kind="rating_agency", scopes=["records.write"])
    with pytest.raises(InvalidClientRegistration, match="categories"):
        make_client(db_session, app, kind="government", scopes=["credit.tax"], categories=["basic"])


def test_public_client_has_no_secret_to_rotate(db_session: Session, app: Flask) -> None:
    with pytest.raises(InvalidClientRegistration, match="public"):
        service.rotate_secret(
            db_session=db_session, hasher=platform(app).oauth.hasher, client_id=CLI
        )
