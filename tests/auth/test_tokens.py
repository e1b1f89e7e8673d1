"""Access tokens at the resource server, revocation (RFC 7009), introspection (RFC 7662), key
rotation and the server metadata (RFC 8414)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.orm import Session

from api.config import secret_bytes
from auth import keys as signing_keys
from auth import service
from auth.models import ClientStatus
from auth.scopes import ALL_SCOPES
from credit import clock
from tests.auth.conftest import (
    AUDIENCE,
    CLI,
    ISSUER,
    PROBLEM,
    access_token,
    assert_invalid_token,
    b64url,
    basic,
    bearer,
    jwt_parts,
    make_account,
    make_client,
    platform,
    refresh,
    subject_tokens,
)

ADMIN = "/v1/admin/clients"


@pytest.fixture
def admin(db_session: Session, app: Flask) -> tuple[str, str]:
    """An operator client: (client_id, secret)."""
    return make_client(db_session, app, kind="admin", scopes=["admin"], name="平台运营")


@pytest.fixture
def bank(db_session: Session, app: Flask) -> tuple[str, str]:
    """A partner client: (client_id, secret)."""
    return make_client(db_session, app)


def _claims(owner: str, **overrides: Any) -> dict[str, Any]:
    """Valid access-token claims for the client `owner`, with `overrides` (None drops a claim)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": owner,
        "client_id": owner,
        "scope": "admin",
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(app: Flask, claims: dict[str, Any], **header: Any) -> str:
    """A token signed with the platform's current private key."""
    keyset = platform(app).oauth.keys.signing_keyset()
    kid = keyset.keys[0].kid
    full = {"alg": "ES256", "typ": "at+jwt", "kid": kid, **header}
    return jwt.encode({k: v for k, v in full.items() if v is not None}, claims, keyset)


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def part(value: dict[str, Any]) -> str:
        return b64url(json.dumps(value, separators=(",", ":")).encode())

    return f"{part(header)}.{part(claims)}.{b64url(signature)}"


def _introspect(
    client: FlaskClient, client_id: str, secret: str, token: str, **extra: str
) -> dict[str, Any]:
    response = client.post(
        "/oauth/introspect", data={"token": token, **extra}, headers=basic(client_id, secret)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    return dict(response.json)


# --- refused tokens ---------------------------------------------------------------------------


def test_missing_token_is_401_with_a_bearer_challenge(client: FlaskClient) -> None:
    response = client.get(ADMIN)

    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="xinyong"'
    assert response.json is not None
    assert response.json["status"] == 401
    assert response.json["detail"]


def test_invalid_token_is_answered_as_problem_json(client: FlaskClient) -> None:
    response = client.get(ADMIN, headers=bearer("not-a-token"))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    # Every error of the platform is RFC 9457 problem+json (API.md, DESIGN.md §6).
    assert response.content_type == PROBLEM


@pytest.mark.parametrize(
    "token",
    ["abc", "a.b.c", "a.b", "...", "eyJhbGciOiJFUzI1NiJ9.e30.", "x" * 5000, "Ünïcödé.ä.ö"],
)
def test_malformed_tokens_are_refused(client: FlaskClient, token: str) -> None:
    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


def test_other_authorization_schemes_get_a_bearer_challenge(
    client: FlaskClient, admin: tuple[str, str]
) -> None:
    for authorization in ("Basic " + basic(*admin)["Authorization"][6:], "Token abc", "Bearer"):
        response = client.get(ADMIN, headers={"Authorization": authorization})

        assert response.status_code == 401
        # RFC 7235 §2.1: the scheme is case-insensitive.
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer ")
        assert response.json is not None
        assert response.json["status"] == 401


def test_a_token_we_sign_by_hand_is_accepted(
    client: FlaskClient, app: Flask, admin: tuple[str, str]
) -> None:
    # The control for the forgeries below: the same recipe with valid claims works.
    token = _signed(app, _claims(admin[0]))

    assert client.get(ADMIN, headers=bearer(token)).status_code == 200


def test_expired_token_is_refused(client: FlaskClient, app: Flask, admin: tuple[str, str]) -> None:
    now = int(time.time())
    token = _signed(app, _claims(admin[0], iat=now - 700, exp=now - 100))

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


def test_token_not_yet_valid_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str]
) -> None:
    token = _signed(app, _claims(admin[0], nbf=int(time.time()) + 300))

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


@pytest.mark.parametrize("kid", ["an-unknown-kid", None, "same-as-current"])
def test_token_signed_by_an_unknown_key_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str], kid: str | None
) -> None:
    current = platform(app).oauth.keys.signing_keyset().keys[0].kid
    stranger = ECKey.generate_key("P-256")
    header: dict[str, Any] = {"alg": "ES256", "typ": "at+jwt"}
    if kid is not None:
        header["kid"] = current if kid == "same-as-current" else kid

    token = jwt.encode(header, _claims(admin[0]), stranger)

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str], alg: str
) -> None:
    kid = platform(app).oauth.keys.signing_keyset().keys[0].kid
    token = _unsigned({"alg": alg, "typ": "at+jwt", "kid": kid}, _claims(admin[0]))

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


def test_hs256_signed_with_the_public_key_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str]
) -> None:
    # Algorithm confusion: an HMAC "signature" keyed with the published public key.
    key = platform(app).oauth.keys.signing_keyset().keys[0]
    assert isinstance(key, ECKey)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    unsigned = _unsigned(header, _claims(admin[0])).rsplit(".", 1)[0]
    for secret in (
        key.as_pem(private=False),
        json.dumps(key.as_dict(private=False)).encode(),
    ):
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        token = f"{unsigned}.{b64url(signature)}"

        assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


def test_tampered_payload_is_refused(
    client: FlaskClient, bank: tuple[str, str], admin: tuple[str, str]
) -> None:
    token = access_token(client, *bank)
    header, payload, signature = token.split(".")
    _header, claims = jwt_parts(token)
    claims["scope"] = "admin"
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"

    assert_invalid_token(client.get(ADMIN, headers=bearer(forged)))
    # The original is merely short of scope.
    assert client.get(ADMIN, headers=bearer(token)).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "http://evil.example.com"},
        {"iss": "https://localhost"},
        {"aud": "http://localhost/v2"},
        {"aud": "http://evil.example.com/v1"},
        {"client_id": "cli_nobody"},
        {"client_id": "cli_nobody", "sub": "cli_nobody"},
    ],
)
def test_token_with_wrong_claims_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str], overrides: dict[str, str]
) -> None:
    token = _signed(app, _claims(admin[0], **overrides))

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "client_id", "iat", "exp", "jti"])
def test_token_without_an_essential_claim_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str], missing: str
) -> None:
    claims = _claims(admin[0])
    del claims[missing]
    token = _signed(app, claims)

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt+x", None])
def test_token_whose_typ_is_not_at_jwt_is_refused(
    client: FlaskClient, app: Flask, admin: tuple[str, str], typ: str | None
) -> None:
    token = _signed(app, _claims(admin[0]), typ=typ)

    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


def test_application_at_jwt_typ_is_accepted(
    client: FlaskClient, app: Flask, admin: tuple[str, str]
) -> None:
    token = _signed(app, _claims(admin[0]), typ="application/at+jwt")

    assert client.get(ADMIN, headers=bearer(token)).status_code == 200


MALFORMED_HEADERS: dict[str, Any] = {
    "typ is a number": {"alg": "ES256", "typ": 1},
    "typ is null": {"alg": "ES256", "typ": None},
    "typ is a list": {"alg": "ES256", "typ": ["at+jwt"]},
    "header is a list": [1, 2],
    "header is a number": 256,
    "header is null": None,
}


def _with_header(token: str, header: Any) -> str:
    _header, payload, signature = token.split(".")
    return f"{b64url(json.dumps(header).encode())}.{payload}.{signature}"


@pytest.mark.parametrize("header", MALFORMED_HEADERS.values(), ids=list(MALFORMED_HEADERS))
def test_token_with_a_malformed_header_is_refused_not_a_500(
    client: FlaskClient, admin: tuple[str, str], header: Any
) -> None:
    # Anyone can send these, without any credentials: they must not crash the server.
    forged = _with_header(access_token(client, *admin), header)

    protected = client.get(ADMIN, headers=bearer(forged))
    introspected = client.post("/oauth/introspect", data={"token": forged}, headers=basic(*admin))
    revoked = client.post("/oauth/revoke", data={"token": forged}, headers=basic(*admin))

    assert (protected.status_code, introspected.status_code, revoked.status_code) == (401, 200, 200)
    assert_invalid_token(protected)
    assert introspected.json == {"active": False}


def test_insufficient_scope_is_403_problem_json(client: FlaskClient, bank: tuple[str, str]) -> None:
    response = client.get(ADMIN, headers=bearer(access_token(client, *bank)))

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["type"] == "urn:xinyong:problem:insufficient-scope"
    assert response.json["status"] == 403
    assert response.content_type == PROBLEM


def test_insufficient_scope_has_a_bearer_challenge(
    client: FlaskClient, bank: tuple[str, str]
) -> None:
    response = client.get(ADMIN, headers=bearer(access_token(client, *bank)))

    assert response.status_code == 403
    # RFC 6750 §3.1 and API.md: 403 with error="insufficient_scope" in the challenge.
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge


def test_a_revoked_token_short_of_the_scope_is_401_not_403(
    client: FlaskClient, bank: tuple[str, str]
) -> None:
    token = access_token(client, *bank)
    assert (
        client.post("/oauth/revoke", data={"token": token}, headers=basic(*bank)).status_code == 200
    )

    response = client.get(ADMIN, headers=bearer(token))

    # RFC 6750 §3.1: a revoked token is invalid before it is short of a scope.
    assert_invalid_token(response)


def test_partner_token_cannot_read_me(client: FlaskClient, bank: tuple[str, str]) -> None:
    response = client.get("/v1/me", headers=bearer(access_token(client, *bank)))

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["type"] == "urn:xinyong:problem:insufficient-scope"


# --- revocation (RFC 7009) --------------------------------------------------------------------


def test_revoked_access_token_is_refused_on_the_next_request(
    client: FlaskClient, admin: tuple[str, str]
) -> None:
    token = access_token(client, *admin)
    assert client.get(ADMIN, headers=bearer(token)).status_code == 200

    response = client.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        headers=basic(*admin),
    )

    assert response.status_code == 200
    assert response.json == {}
    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))
    # Other tokens of the same client are untouched.
    assert client.get(ADMIN, headers=bearer(access_token(client, *admin))).status_code == 200


def test_revoke_with_client_secret_post(client: FlaskClient, admin: tuple[str, str]) -> None:
    token = access_token(client, *admin)

    response = client.post(
        "/oauth/revoke", data={"token": token, "client_id": admin[0], "client_secret": admin[1]}
    )

    assert response.status_code == 200
    assert_invalid_token(client.get(ADMIN, headers=bearer(token)))


def test_public_client_revokes_its_own_token_with_its_client_id(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    response = client.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "client_id": CLI}
    )

    assert response.status_code == 200
    assert_invalid_token(client.get("/v1/me", headers=bearer(tokens["access_token"])))


def test_confidential_client_must_authenticate_to_revoke(
    client: FlaskClient, admin: tuple[str, str]
) -> None:
    token = access_token(client, *admin)

    response = client.post("/oauth/revoke", data={"token": token, "client_id": admin[0]})

    assert response.status_code in (400, 401)
    assert response.json is not None
    assert response.json["error"] == "invalid_client"
    assert client.get(ADMIN, headers=bearer(token)).status_code == 200


def test_revoking_another_clients_token_leaves_it_working(
    client: FlaskClient, admin: tuple[str, str], bank: tuple[str, str]
) -> None:
    token = access_token(client, *admin)

    response = client.post("/oauth/revoke", data={"token": token}, headers=basic(*bank))

    assert response.status_code == 200
    assert response.json == {}
    assert client.get(ADMIN, headers=bearer(token)).status_code == 200


def test_an_operator_may_revoke_any_token(
    client: FlaskClient, admin: tuple[str, str], bank: tuple[str, str]
) -> None:
    token = access_token(client, *bank)

    response = client.post("/oauth/revoke", data={"token": token}, headers=basic(*admin))

    assert response.status_code == 200
    assert _introspect(client, *bank, token) == {"active": False}


def test_revoking_an_unknown_token_is_200(client: FlaskClient, bank: tuple[str, str]) -> None:
    response = client.post("/oauth/revoke", data={"token": "never-issued"}, headers=basic(*bank))

    assert response.status_code == 200


def test_revocation_needs_client_authentication(
    client: FlaskClient, admin: tuple[str, str]
) -> None:
    token = access_token(client, *admin)

    anonymous = client.post("/oauth/revoke", data={"token": token})
    wrong = client.post("/oauth/revoke", data={"token": token}, headers=basic(admin[0], "wrong"))

    for response in (anonymous, wrong):
        assert response.status_code in (400, 401)
        assert response.json is not None
        assert response.json["error"] == "invalid_client"
    assert client.get(ADMIN, headers=bearer(token)).status_code == 200


def test_revocation_without_a_token_is_invalid_request(
    client: FlaskClient, bank: tuple[str, str]
) -> None:
    response = client.post("/oauth/revoke", data={}, headers=basic(*bank))

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "invalid_request"


# --- introspection (RFC 7662) -----------------------------------------------------------------


def test_introspection_of_own_token(client: FlaskClient, bank: tuple[str, str]) -> None:
    token = access_token(client, *bank, "credit.basic")
    claims = jwt_parts(token)[1]

    body = _introspect(client, *bank, token)

    assert body["active"] is True
    assert body["client_id"] == bank[0]
    assert body["scope"] == "credit.basic"
    assert body["sub"] == bank[0]
    assert body["iss"] == ISSUER
    assert body["aud"] == AUDIENCE
    assert body["exp"] == claims["exp"]
    assert body["iat"] == claims["iat"]
    assert body["jti"] == claims["jti"]
    assert body["token_type"] == "Bearer"


def test_introspection_of_a_revoked_token_is_inactive(
    client: FlaskClient, bank: tuple[str, str]
) -> None:
    token = access_token(client, *bank)
    client.post("/oauth/revoke", data={"token": token}, headers=basic(*bank))

    assert _introspect(client, *bank, token) == {"active": False}


def test_introspection_of_another_clients_token_tells_nothing(
    client: FlaskClient, db_session: Session, app: Flask, bank: tuple[str, str]
) -> None:
    other = make_client(db_session, app, name="另一家银行")
    token = access_token(client, *other)

    response = client.post("/oauth/introspect", data={"token": token}, headers=basic(*bank))

    assert response.status_code == 200
    assert response.json == {"active": False}


def test_an_operator_may_introspect_any_token(
    client: FlaskClient, admin: tuple[str, str], bank: tuple[str, str]
) -> None:
    token = access_token(client, *bank)

    body = _introspect(client, *admin, token)

    assert body["active"] is True
    assert body["client_id"] == bank[0]


def test_introspection_of_expired_and_forged_tokens_is_inactive(
    client: FlaskClient, app: Flask, admin: tuple[str, str]
) -> None:
    now = int(time.time())
    expired = _signed(app, _claims(admin[0], iat=now - 700, exp=now - 100))
    foreign = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt"}, _claims(admin[0]), ECKey.generate_key("P-256")
    )

    for token in (expired, foreign, "garbage"):
        assert _introspect(client, *admin, token) == {"active": False}


def test_introspection_sees_a_suspended_client(
    client: FlaskClient, db_session: Session, admin: tuple[str, str], bank: tuple[str, str]
) -> None:
    token = access_token(client, *bank)
    service.set_client_status(
        db_session=db_session, client_id=bank[0], status=ClientStatus.SUSPENDED
    )
    db_session.commit()

    assert _introspect(client, *admin, token) == {"active": False}


def test_public_clients_cannot_introspect(client: FlaskClient, bank: tuple[str, str]) -> None:
    token = access_token(client, *bank)

    response = client.post("/oauth/introspect", data={"token": token, "client_id": CLI})

    assert response.status_code in (400, 401)
    assert response.json is not None
    assert response.json["error"] == "invalid_client"


def test_introspection_of_refresh_tokens(
    client: FlaskClient, db_session: Session, app: Flask, admin: tuple[str, str]
) -> None:
    username, password, _subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    body = _introspect(client, *admin, tokens["refresh_token"], token_type_hint="refresh_token")

    assert body["active"] is True
    assert body["client_id"] == CLI
    assert body["scope"] == "subject"
    assert body["exp"] > time.time() + 29 * 24 * 3600
    # Once rotated, it is no longer active.
    assert refresh(client, tokens["refresh_token"]).status_code == 200
    assert _introspect(client, *admin, tokens["refresh_token"]) == {"active": False}


def test_introspection_of_a_subject_access_token(
    client: FlaskClient, db_session: Session, app: Flask, admin: tuple[str, str]
) -> None:
    username, password, subject = make_account(db_session, app)
    tokens = subject_tokens(client, username, password)

    body = _introspect(client, *admin, tokens["access_token"])

    assert body["active"] is True
    assert body["sub"] == subject.subject_id
    assert body["client_id"] == CLI


# --- signing keys -----------------------------------------------------------------------------


def test_key_rotation_keeps_old_tokens_valid(
    client: FlaskClient, db_session: Session, app: Flask, admin: tuple[str, str]
) -> None:
    before = access_token(client, *admin)
    old_kid = jwt_parts(before)[0]["kid"]

    new = signing_keys.rotate(
        db_session=db_session, keystore_key=secret_bytes(app.config, "KEYSTORE_KEY")
    )
    db_session.commit()
    platform(app).oauth.keys.invalidate()

    assert new.kid != old_kid
    assert client.get(ADMIN, headers=bearer(before)).status_code == 200
    jwks = client.get("/oauth/jwks").json
    assert jwks is not None
    assert {old_kid, new.kid} <= {key["kid"] for key in jwks["keys"]}
    after = access_token(client, *admin)
    assert jwt_parts(after)[0]["kid"] == new.kid
    assert client.get(ADMIN, headers=bearer(after)).status_code == 200
    # Both verify against the published set with a plain JOSE library.
    keyset = KeySet.import_key_set(jwks)
    for token in (before, after):
        jwt.decode(token, keyset, algorithms=["ES256"])


def test_retired_key_is_unpublished_once_its_tokens_have_expired(
    client: FlaskClient, db_session: Session, app: Flask, admin: tuple[str, str]
) -> None:
    old_kid = jwt_parts(access_token(client, *admin))[0]["kid"]
    new = signing_keys.rotate(
        db_session=db_session, keystore_key=secret_bytes(app.config, "KEYSTORE_KEY")
    )
    db_session.commit()
    keystore = platform(app).oauth.keys

    with clock.frozen_at(clock.now() + timedelta(seconds=600 + 61)):
        keystore.invalidate()
        jwks = client.get("/oauth/jwks").json

    assert jwks is not None
    kids = {key["kid"] for key in jwks["keys"]}
    assert new.kid in kids
    assert old_kid not in kids


def test_private_signing_keys_are_encrypted_at_rest(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    key = signing_keys.rotate(
        db_session=db_session, keystore_key=secret_bytes(app.config, "KEYSTORE_KEY")
    )

    assert b"PRIVATE KEY" not in key.private_key_ciphertext
    assert "d" not in key.public_jwk


# --- metadata (RFC 8414) ----------------------------------------------------------------------


def test_server_metadata(client: FlaskClient) -> None:
    response = client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    meta = response.json
    assert meta is not None
    assert meta["issuer"] == ISSUER
    assert meta["authorization_endpoint"] == f"{ISSUER}/oauth/authorize"
    assert meta["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert meta["jwks_uri"] == f"{ISSUER}/oauth/jwks"
    assert meta["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert meta["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {
        "client_credentials",
        "authorization_code",
        "refresh_token",
    }
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["scopes_supported"]) == set(ALL_SCOPES)
    assert {"client_secret_basic", "client_secret_post"} <= set(
        meta["token_endpoint_auth_methods_supported"]
    )
    # Every endpoint it names answers.
    assert client.get("/oauth/jwks").status_code == 200
