"""What a request handler needs of the app: its database session, codecs and OAuth services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from flask import current_app, has_request_context, request
from sqlalchemy.orm import Session

from api.database import Database
from api.oauth.pages import SignInThrottle
from api.pagination import CursorCodec
from auth.credentials import SecretHasher
from auth.keys import KeyStore
from credit.personal_data import IdentityProtector

DEFAULT_ISSUER = "http://127.0.0.1:8000"


@dataclass
class OAuthServices:
    """The authorization server and what it is made of."""

    server: AuthorizationServer
    protector: ResourceProtector
    keys: KeyStore
    hasher: SecretHasher
    throttle: SignInThrottle


@dataclass
class Platform:
    """The per-app services, kept in `app.extensions["xinyong"]`."""

    db: Database
    cursors: CursorCodec
    identities: IdentityProtector
    redis_url: str | None
    configured_issuer: str | None
    oauth: OAuthServices = None  # type: ignore[assignment]  # set right after by the factory

    def issuer(self) -> str:
        """The OAuth issuer: configured, or the origin this request came to."""
        if self.configured_issuer:
            return self.configured_issuer.rstrip("/")
        if has_request_context():
            return request.host_url.rstrip("/")
        return DEFAULT_ISSUER


def platform() -> Platform:
    """The current app's services."""
    return current_app.extensions["xinyong"]


def db_session() -> Session:
    """The request's database session."""
    return platform().db.session()


def current_token() -> Any:
    """The claims of the access token the request was authorized with."""
    from flask import g

    return g.token
