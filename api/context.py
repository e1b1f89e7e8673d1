"""What a request handler needs of the app: its database session, codecs and OAuth services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from flask import current_app, has_request_context, request
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.database import Database
from api.oauth.pages import SignInThrottle
from api.pagination import CursorCodec
from auth import service as auth_service
from auth.credentials import SecretHasher
from auth.errors import NotASubject
from auth.keys import KeyStore
from auth.models import Client
from consent.errors import NotAReader
from credit.models import Subject
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


def current_client() -> Client:
    """The registered client of the request's access token (active: the token check saw to it)."""
    from flask import g

    if "client" not in g:
        token = current_token()
        client = getattr(token, "client", None) or auth_service.get_client(
            db_session=db_session(), client_id=str(token["client_id"])
        )
        if client is None:  # deleted since the token was checked: as good as revoked
            raise NotAReader("unknown")
        g.client = client
    return g.client


def current_subject() -> Subject:
    """The signed-in subject of a `subject` token; NotASubject for any other token."""
    subject = (
        db_session()
        .scalars(select(Subject).where(Subject.subject_id == str(current_token()["sub"])))
        .one_or_none()
    )
    if subject is None or current_client().kind != "first_party":
        raise NotASubject
    return subject


def current_department() -> Client:
    """The request's client, if it is a department; a 403 problem otherwise."""
    client = current_client()
    if client.kind != "department":
        abort(
            403,
            message="Only department clients push, correct and withdraw records and answer "
            "objections and repair requests.",
            slug="not-a-department",
        )
    return client
