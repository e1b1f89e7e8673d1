"""OAuth 2 endpoints (API.md "OAuth 2") and the subject's sign-in and consent pages."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Response, request, session
from flask.views import MethodView

from api.context import db_session, platform
from api.extensions import Blueprint
from api.oauth.pages import csrf_valid, page
from api.oauth.schemas import (
    GRANT_TYPES,
    IntrospectionSchema,
    JwksSchema,
    OAuthErrorSchema,
    ServerMetadataSchema,
    TokenActionSchema,
    TokenRequestSchema,
    TokenResponseSchema,
)
from auth import service
from auth.models import ClientKind, SubjectAccount
from auth.scopes import ALL_SCOPES, SCOPE_DESCRIPTIONS
from credit import clock

log = logging.getLogger(__name__)

blp = Blueprint(
    "oauth",
    __name__,
    description="OAuth 2 authorization server (RFC 6749, 7636, 7009, 7662, 8414, 9068). Errors "
    "here follow RFC 6749 §5.2 (`error`, `error_description`), as OAuth client libraries expect.",
)

FORM = "application/x-www-form-urlencoded"
BASIC_OR_POST: list[dict[str, list[str]]] = [{"clientBasic": []}, {"clientPost": []}]
CLIENT_AUTH = [*BASIC_OR_POST, {}]  # public clients send only client_id
SESSION_MAX_AGE = 12 * 3600


def _oauth_errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "invalid_request, invalid_grant, invalid_scope, unsupported_grant_type, ...",
        401: "invalid_client: unknown, suspended or revoked client, or a wrong secret.",
    }
    return {
        str(s): {
            "description": descriptions[s],
            "content": {"application/json": {"schema": OAuthErrorSchema}},
        }
        for s in statuses
    }


def _malformed() -> Response:
    """An RFC 6749 invalid_request for input Authlib cannot even describe (bad bytes)."""
    body = {
        "error": "invalid_request",
        "error_description": "The request holds characters that are not valid here "
        "(client credentials must be UTF-8, error-free printable text).",
    }
    return Response(json.dumps(body), status=400, content_type="application/json")


def _endpoint(create: Callable[[], Response]) -> Response:
    """Run one Authlib endpoint; commit on success, and answer malformed input with 400."""
    try:
        response = create()
    except (UnicodeDecodeError, ValueError):
        # Authlib refuses to put non-printable input into an error description.
        db_session().rollback()
        return _malformed()
    return _commit_if_ok(response)


def _commit_if_ok(response: Response) -> Response:
    session_ = db_session()
    if response.status_code < 400:
        session_.commit()
    else:
        session_.rollback()
    return response


@blp.route("/.well-known/oauth-authorization-server")
class ServerMetadata(MethodView):
    """RFC 8414 metadata."""

    @blp.public
    @blp.response(200, ServerMetadataSchema)
    def get(self) -> dict[str, Any]:
        """Describe the authorization server.

        Issuer, endpoints, grant types, scopes and client authentication methods (RFC 8414).
        """
        issuer = platform().issuer()
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "jwks_uri": f"{issuer}/oauth/jwks",
            "introspection_endpoint": f"{issuer}/oauth/introspect",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "scopes_supported": list(ALL_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
        }


@blp.route("/oauth/jwks")
class Jwks(MethodView):
    """The token-signing keys."""

    @blp.public
    @blp.response(200, JwksSchema)
    def get(self) -> dict[str, Any]:
        """Publish the public keys that sign access tokens.

        ES256 keys with a `kid`. After `xinyong keys rotate` the previous key stays here until
        the tokens it signed have expired.
        """
        return platform().oauth.keys.jwks()


@blp.route("/oauth/token", methods=["POST"])
@blp.doc(
    summary="Issue an access token.",
    description="Grants `client_credentials`, `authorization_code` (PKCE S256 required) and "
    "`refresh_token` (rotated on use; a reused refresh token revokes its family). Client "
    "authentication: HTTP Basic (`client_secret_basic`) or form fields (`client_secret_post`); "
    "public clients send `client_id` only. The access token is an RFC 9068 JWT signed with ES256.",
    security=CLIENT_AUTH,
    requestBody={"required": True, "content": {FORM: {"schema": TokenRequestSchema}}},
    responses={
        "200": {
            "description": "The token.",
            "content": {"application/json": {"schema": TokenResponseSchema}},
        },
        **_oauth_errors(400, 401),
    },
)
def token() -> Response:
    return _endpoint(platform().oauth.server.create_token_response)


@blp.route("/oauth/revoke", methods=["POST"])
@blp.doc(
    summary="Revoke a token.",
    description="RFC 7009. An access token is refused from the next request on, everywhere; a "
    "refresh token is revoked with its whole family and the access tokens issued with it. "
    "Unknown tokens and other clients' tokens are answered 200 and left alone.",
    security=CLIENT_AUTH,
    requestBody={"required": True, "content": {FORM: {"schema": TokenActionSchema}}},
    responses={
        "200": {
            "description": "Revoked (or nothing to revoke).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **_oauth_errors(400, 401),
    },
)
def revoke() -> Response:
    return _endpoint(lambda: platform().oauth.server.create_endpoint_response("revocation"))


@blp.route("/oauth/introspect", methods=["POST"])
@blp.doc(
    summary="Introspect a token.",
    description="RFC 7662, for the token's own client or an operator (`admin`) client. A revoked, "
    'expired or foreign token is `{"active": false}`.',
    security=BASIC_OR_POST,
    requestBody={"required": True, "content": {FORM: {"schema": TokenActionSchema}}},
    responses={
        "200": {
            "description": "The token's state.",
            "content": {"application/json": {"schema": IntrospectionSchema}},
        },
        **_oauth_errors(400, 401),
    },
)
def introspect() -> Response:
    return _endpoint(lambda: platform().oauth.server.create_endpoint_response("introspection"))


def signed_in_account() -> SubjectAccount | None:
    """The account signed in on this browser session, unless the sign-in is too old."""
    pk = session.get("account_pk")
    auth_time = session.get("auth_time")
    if not pk or not auth_time or clock.now().timestamp() - auth_time > SESSION_MAX_AGE:
        return None
    account = db_session().get(SubjectAccount, pk)
    if account is not None:
        account.auth_time = int(auth_time)  # type: ignore[attr-defined]
    return account


def sign_in_from_form(client_name: str) -> tuple[SubjectAccount | None, Response | None]:
    """Handle the sign-in form: the account, or the page to show again (throttled)."""
    oauth = platform().oauth
    username = request.form.get("username", "")[:64]
    address = request.remote_addr or "unknown"
    if not oauth.throttle.allowed(address):
        response = page(
            "signin.html",
            429,
            client_name=client_name,
            action=request.full_path,
            username=username,
            error="登录失败次数过多，请稍后再试。Too many failed sign-ins; try again later.",
        )
        response.headers["Retry-After"] = str(oauth.throttle.retry_after(address))
        return None, response
    session_ = db_session()
    account = service.authenticate_account(
        db_session=session_, username=username, password=request.form.get("password", "")
    )
    session_.commit()
    if account is None:
        oauth.throttle.failed(address)
        log.info("sign-in failed", extra={"reason": "credentials"})
        return None, None
    # A fresh session on sign-in: no fixation of an earlier cookie.
    session.clear()
    session["account_pk"] = account.id
    session["auth_time"] = int(clock.now().timestamp())
    session.permanent = True
    account.auth_time = session["auth_time"]  # type: ignore[attr-defined]
    return account, None


@blp.route("/oauth/authorize", methods=["GET", "POST"])
@blp.doc(
    summary="Sign in and authorize.",
    description="The subject-facing authorization-code flow: an HTML sign-in form (`username`, "
    "`password`, `csrf_token`) and, for clients that need the subject's approval, a consent page "
    "(`csrf_token`, `decision` = `approve` or `deny`). Then a redirect to the client's "
    "registered `redirect_uri` with `code` and `state`. First-party clients (`portal`, "
    "`xinyong-cli`) skip the consent page. PKCE with S256 is required.",
    security=[],
    parameters=[
        {
            "in": "query",
            "name": name,
            "required": required,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, required, text in (
            ("response_type", True, "`code`."),
            ("client_id", True, "The client's id."),
            ("redirect_uri", False, "One of the client's registered redirect URIs (exact match)."),
            ("scope", False, "Space-separated scopes; default: all the client's scopes."),
            (
                "state",
                False,
                "Opaque value returned with the code (CSRF protection for the client).",
            ),
            ("code_challenge", True, "PKCE: BASE64URL(SHA-256(code_verifier))."),
            ("code_challenge_method", True, "`S256` (plain is refused)."),
        )
    ],
    responses={
        "200": {
            "description": "The sign-in or consent page.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "302": {"description": "Back to the client with `code` and `state`, or with `error`."},
        "400": {
            "description": "An invalid request that cannot be sent back to the client.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "429": {
            "description": "Too many failed sign-ins from this address.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
)
def authorize() -> Response:
    try:
        return _authorize()
    except (UnicodeDecodeError, ValueError):
        db_session().rollback()
        return page(
            "oauth_error.html", 400, error="请求参数无效。The request's parameters are invalid."
        )


def _authorize() -> Response:
    server = platform().oauth.server
    try:
        grant = server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        if getattr(error, "redirect_uri", None):
            return _commit_if_ok(server.handle_error_response(None, error))
        return page("oauth_error.html", 400, error=error.get_error_description() or error.error)
    client = grant.client.row
    action = request.full_path
    account = signed_in_account()
    if request.method == "POST" and not csrf_valid():
        return page(
            "oauth_error.html", 400, error="表单已过期，请重试。The form expired; please try again."
        )
    if request.method == "POST" and "username" in request.form:
        account, retry = sign_in_from_form(client.name)
        if retry is not None:
            return retry
        if account is None:
            return page(
                "signin.html",
                200,
                client_name=client.name,
                action=action,
                username=request.form.get("username", "")[:64],
                error="用户名或密码错误。Wrong username or password.",
            )
    if account is None:
        return page("signin.html", client_name=client.name, action=action, username="", error=None)
    if client.kind == ClientKind.FIRST_PARTY:
        return _commit_if_ok(server.create_authorization_response(grant_user=account, grant=grant))
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision == "approve":
        return _commit_if_ok(server.create_authorization_response(grant_user=account, grant=grant))
    if decision == "deny":
        return _commit_if_ok(server.create_authorization_response(grant_user=None, grant=grant))
    scopes = [
        (s, SCOPE_DESCRIPTIONS.get(s, s)) for s in (grant.request.payload.scope or "").split()
    ]
    return page(
        "authorize.html",
        client_name=client.name,
        client_kind=client.kind,
        action=action,
        scopes=scopes,
    )
