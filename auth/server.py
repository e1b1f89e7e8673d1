"""All of the Authlib wiring: the authorization server, its grants and endpoints, the resource
protector and the JWT access tokens (RFC 6749, 7636, 7009, 7662, 8414, 9068).

PKCE is S256 only and required of every client (Authlib would accept `plain`, and no PKCE from
confidential clients). Codes are single-use and live 60 s; a code presented twice revokes the
token it gave. Refresh tokens rotate on use, and a used one presented again revokes its family.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidGrantError,
    InvalidScopeError,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from auth import service
from auth.credentials import SecretHasher
from auth.keys import ALGORITHM, KeyStore
from auth.models import AuthorizationCode, Client, ClientKind, RefreshToken, SubjectAccount
from auth.scopes import ALL_SCOPES
from credit import clock

CODE_LIFETIME = timedelta(seconds=60)
ISSUER_PLACEHOLDER = "{issuer}"


@dataclass
class Settings:
    """What the authorization server needs from the app."""

    session: Callable[[], Session]
    hasher: SecretHasher
    keys: KeyStore
    issuer: Callable[[], str]
    access_token_lifetime: int
    refresh_token_lifetime: int

    @property
    def audience(self) -> str:
        """The resource server identifier every access token is for (RFC 9068 `aud`)."""
        return f"{self.issuer()}/v1"


def _unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT this server has just signed."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _header(token: str) -> dict[str, Any]:
    """A JWT's header, or {} when it is not a JSON object (the token is then refused)."""
    try:
        part = token.split(".")[0]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _is_loopback_callback(uri: str) -> bool:
    """RFC 8252 §7.3: http://127.0.0.1:{any port}/callback for native apps."""
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "::1")
        and port is not None
        and parts.path == "/callback"
        and not parts.fragment
    )


class OAuthClient(ClientMixin):
    """Authlib's view of a registered client."""

    def __init__(self, row: Client, settings: Settings) -> None:
        self.row = row
        self.settings = settings
        self.client_id = row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def _redirect_uris(self) -> list[str]:
        issuer = self.settings.issuer()
        return [u.replace(ISSUER_PLACEHOLDER, issuer) for u in self.row.redirect_uris]

    def get_default_redirect_uri(self) -> str | None:
        uris = self._redirect_uris()
        return uris[0] if uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.row.scopes)
        if not scope:
            return str(list_to_scope(sorted(allowed)))
        requested = set(scope_to_list(scope))
        if not requested <= allowed:
            extra = ", ".join(sorted(requested - allowed))
            raise InvalidScopeError(f"This client may not ask for: {extra}.")
        return str(list_to_scope(sorted(requested)))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self._redirect_uris():
            return True
        return self.row.loopback_redirects and _is_loopback_callback(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return self.settings.hasher.matches(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def _redirects(self) -> bool:
        return bool(self.row.redirect_uris) or self.row.loopback_redirects

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self._redirects()

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return not self.row.is_public
        if grant_type in ("authorization_code", "refresh_token"):
            return self._redirects()
        return False


class S256CodeChallenge(CodeChallenge):
    """PKCE required of every client, S256 only (RFC 7636, RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012  (Authlib's class attribute)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        from authlib.oauth2.rfc6749 import InvalidRequestError

        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256; plain is refused.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        from authlib.oauth2.rfc6749 import InvalidRequestError

        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge_method


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens signed with the current ES256 key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(
            issuer="",
            alg=ALGORITHM,
            refresh_token_generator=lambda *_a, **_k: generate_token(48),
            expires_generator=lambda _client, _grant: settings.access_token_lifetime,
        )

    @property
    def issuer(self) -> str:
        return self.settings.issuer()

    @issuer.setter
    def issuer(self, _value: str) -> None:
        pass  # the issuer follows the settings

    def get_jwks(self) -> Any:
        return self.settings.keys.signing_keyset()

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return self.settings.audience

    def get_auth_time(self, user: Any) -> int | None:
        return getattr(user, "auth_time", None)


class AccessTokenValidator(JWTBearerTokenValidator):
    """Verifies access tokens locally, then checks the revocation list and the client's standing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(issuer="", resource_server="", realm="xinyong")

    def validate_iss(self, claims: Any, iss: str) -> bool:
        return iss == self.settings.issuer()

    def authenticate_token(self, token_string: str) -> JWTAccessTokenClaims:
        header = _header(token_string)
        # Only our algorithm: no `none`, no HMAC with a public key (algorithm confusion).
        typ = header.get("typ")
        if (
            header.get("alg") != ALGORITHM
            or not isinstance(typ, str)
            or typ.lower() not in ("at+jwt", "application/at+jwt")
        ):
            raise InvalidTokenError(realm=self.realm)
        kid = header.get("kid")
        keys = self.settings.keys.public_keyset(kid if isinstance(kid, str) else None)
        try:
            token = jwt.decode(token_string, keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise InvalidTokenError(realm=self.realm) from exc
        options = {
            "iss": {"essential": True, "validate": self.validate_iss},
            "exp": {"essential": True},
            "aud": {"essential": True, "value": self.settings.audience},
            "sub": {"essential": True},
            "client_id": {"essential": True},
            "iat": {"essential": True},
            "jti": {"essential": True},
        }
        return JWTAccessTokenClaims(token.claims, token.header, options)

    def validate_token(self, token: Any, scopes: Any, request: Any, **kwargs: Any) -> None:
        try:
            super().validate_token(token, scopes, request, **kwargs)
        except InsufficientScopeError:
            # A revoked token, or a suspended client's, is invalid (401) before it is short of
            # a scope (403): RFC 6750 §3.1.
            self._refuse_if_revoked(token)
            raise
        self._refuse_if_revoked(token)

    def _refuse_if_revoked(self, token: Any) -> None:
        client = service.token_client(
            db_session=self.settings.session(), jti=token["jti"], client_id=token["client_id"]
        )
        if client is None:
            raise InvalidTokenError(description="The token was revoked.", realm=self.realm)
        # The handler's `current_client()` reads it from here rather than from the database.
        token.client = client


def _record_issued(settings: Settings, token: dict[str, Any], request: Any) -> None:
    """Keep what a refresh token or a reused code needs: hashes, family, the access token's jti."""
    session = settings.session()
    claims = _unverified_claims(token["access_token"])
    access_expires = datetime.fromtimestamp(claims["exp"], UTC)
    code = getattr(request, "authorization_code", None)
    if isinstance(code, AuthorizationCode):
        code.access_jti = claims["jti"]
    refresh = token.get("refresh_token")
    if not refresh:
        return
    previous = getattr(request, "refresh_token", None)
    user = request.user
    session.add(
        RefreshToken(
            token_hash=settings.hasher.hash(refresh),
            family_id=previous.family_id if previous is not None else secrets.token_hex(16),
            client_id=request.client.client_id,
            account_pk=user.id,
            scope=token.get("scope", ""),
            access_jti=claims["jti"],
            access_expires_at=access_expires,
            issued_at=clock.now(),
            expires_at=clock.now() + timedelta(seconds=settings.refresh_token_lifetime),
        )
    )
    session.flush()


def build(settings: Settings) -> tuple[FlaskAuthorizationServer, ResourceProtector]:
    """The authorization server and the resource protector of one app."""

    def query_client(client_id: str) -> OAuthClient | None:
        row = service.get_client(db_session=settings.session(), client_id=client_id)
        # Suspended and revoked clients cannot authenticate: invalid_client.
        return OAuthClient(row, settings) if row is not None and row.is_active else None

    def save_token(token: dict[str, Any], request: Any) -> None:
        _record_issued(settings, token, request)

    class ClientCredentialsGrant(grants.ClientCredentialsGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            # Used and expired codes are kept a day, to recognise a replay, then dropped.
            settings.session().execute(
                delete(AuthorizationCode).where(
                    AuthorizationCode.expires_at < clock.now() - timedelta(days=1)
                )
            )
            settings.session().add(
                AuthorizationCode(
                    code_hash=settings.hasher.hash(code),
                    client_id=request.client.client_id,
                    account_pk=request.user.id,
                    redirect_uri=request.payload.redirect_uri or "",
                    scope=request.payload.scope or "",
                    code_challenge=data["code_challenge"],
                    code_challenge_method=data["code_challenge_method"],
                    auth_time=datetime.fromtimestamp(request.user.auth_time, UTC),
                    expires_at=clock.now() + CODE_LIFETIME,
                )
            )
            settings.session().commit()

        def query_authorization_code(self, code: str, client: OAuthClient) -> Any:
            session = settings.session()
            row = session.scalars(
                select(AuthorizationCode).where(
                    AuthorizationCode.code_hash == settings.hasher.hash(code),
                    AuthorizationCode.client_id == client.client_id,
                )
            ).one_or_none()
            if row is None:
                return None
            if row.used_at is not None:
                # A code presented twice: revoke what it gave (RFC 6749 §4.1.2).
                if row.access_jti:
                    service.revoke_access_token(
                        db_session=session,
                        jti=row.access_jti,
                        expires_at=clock.now() + timedelta(seconds=settings.access_token_lifetime),
                    )
                    family = session.scalar(
                        select(RefreshToken.family_id).where(
                            RefreshToken.access_jti == row.access_jti
                        )
                    )
                    if family is not None:
                        service.revoke_refresh_family(db_session=session, family_id=family)
                    session.commit()
                return None
            if row.expires_at <= clock.now():
                return None
            return row

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            # Kept, marked used, so that a second use is recognised.
            authorization_code.used_at = clock.now()

        def authenticate_user(self, authorization_code: AuthorizationCode) -> Any:
            account = settings.session().get(SubjectAccount, authorization_code.account_pk)
            if account is not None:
                account.auth_time = authorization_code.get_auth_time()  # type: ignore[attr-defined]
            return account

    class RefreshTokenGrant(grants.RefreshTokenGrant):
        INCLUDE_NEW_REFRESH_TOKEN = True
        TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]

        def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
            session = settings.session()
            row = session.scalars(
                select(RefreshToken).where(
                    RefreshToken.token_hash == settings.hasher.hash(refresh_token)
                )
            ).one_or_none()
            if row is None or row.revoked_at is not None:
                return None
            if row.used_at is not None:
                # Reuse of a rotated token: someone else has a copy. Revoke the family.
                service.revoke_refresh_family(db_session=session, family_id=row.family_id)
                session.commit()
                return None
            if row.is_expired():
                return None
            return row

        def authenticate_user(self, refresh_token: RefreshToken) -> Any:
            account = settings.session().get(SubjectAccount, refresh_token.account_pk)
            client = service.get_client(
                db_session=settings.session(), client_id=refresh_token.client_id
            )
            if account is None or client is None or not client.is_active:
                return None
            return account

        def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
            session = settings.session()
            result = session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == refresh_token.id, RefreshToken.used_at.is_(None))
                .values(used_at=clock.now())
            )
            claimed = cast(CursorResult[Any], result).rowcount
            if claimed != 1:
                # Two requests raced with the same token: treat as reuse.
                session.rollback()
                service.revoke_refresh_family(db_session=session, family_id=refresh_token.family_id)
                session.commit()
                raise InvalidGrantError("The refresh token was already used.")

    validator = AccessTokenValidator(settings)

    @dataclass
    class TokenRef:
        """A token named at the revocation or introspection endpoint."""

        claims: JWTAccessTokenClaims | None = None
        refresh: RefreshToken | None = None

        @property
        def client_id(self) -> str:
            if self.claims is not None:
                return str(self.claims["client_id"])
            assert self.refresh is not None  # noqa: S101
            return self.refresh.client_id

        def check_client(self, client: OAuthClient) -> bool:
            return self.client_id == client.client_id or client.row.kind == ClientKind.ADMIN

        def is_expired(self) -> bool:
            if self.claims is not None:
                return bool(self.claims["exp"] <= clock.now().timestamp())
            assert self.refresh is not None  # noqa: S101
            return self.refresh.is_expired()

        def is_revoked(self) -> bool:
            session = settings.session()
            if self.claims is not None:
                return service.token_is_revoked(
                    db_session=session, jti=self.claims["jti"], client_id=self.client_id
                )
            assert self.refresh is not None  # noqa: S101
            client = service.get_client(db_session=session, client_id=self.client_id)
            return self.refresh.is_revoked() or client is None or not client.is_active

    def find_token(token_string: str) -> TokenRef | None:
        try:
            claims = validator.authenticate_token(token_string)
            claims.validate()
            return TokenRef(claims=claims)
        except (OAuth2Error, JoseError):
            pass
        row = (
            settings.session()
            .scalars(
                select(RefreshToken).where(
                    RefreshToken.token_hash == settings.hasher.hash(token_string)
                )
            )
            .one_or_none()
        )
        return TokenRef(refresh=row) if row is not None else None

    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

        def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRef | None:
            return find_token(token_string)

        def authenticate_token(self, request: Any, client: OAuthClient) -> TokenRef | None:
            self.check_params(request, client)
            token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
            # RFC 7009 §2.2: another client's or an unknown token is answered 200, unchanged.
            return token if token is not None and token.check_client(client) else None

        def revoke_token(self, token: TokenRef, request: Any) -> None:
            session = settings.session()
            if token.claims is not None:
                service.revoke_access_token(
                    db_session=session,
                    jti=token.claims["jti"],
                    expires_at=datetime.fromtimestamp(token.claims["exp"], UTC),
                )
            elif token.refresh is not None:
                service.revoke_refresh_family(db_session=session, family_id=token.refresh.family_id)
            session.commit()

    class Introspection(IntrospectionEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

        def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRef | None:
            return find_token(token_string)

        def check_permission(self, token: TokenRef, client: OAuthClient, request: Any) -> bool:
            # Only the token's own client, or the operator.
            return token.check_client(client)

        def introspect_token(self, token: TokenRef) -> dict[str, Any]:
            # Authlib has already answered {"active": false} for expired and revoked tokens.
            if token.claims is not None:
                claims = token.claims
                return {
                    "active": True,
                    "token_type": "Bearer",
                    "client_id": claims["client_id"],
                    "scope": claims.get("scope", ""),
                    "sub": claims["sub"],
                    "aud": claims["aud"],
                    "iss": claims["iss"],
                    "exp": claims["exp"],
                    "iat": claims["iat"],
                    "jti": claims["jti"],
                }
            row = token.refresh
            assert row is not None  # noqa: S101
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": row.client_id,
                "scope": row.scope,
                "exp": int(row.expires_at.timestamp()),
                "iat": int(row.issued_at.timestamp()),
            }

    server = FlaskAuthorizationServer(query_client=query_client, save_token=save_token)
    server.scopes_supported = list(ALL_SCOPES)
    server.register_token_generator("default", AccessTokenGenerator(settings))
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)

    protector = ResourceProtector()
    protector.register_token_validator(validator)
    return server, protector
