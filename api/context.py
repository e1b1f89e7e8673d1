"""What a request handler needs of the app: its database session and cursor codec."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from api.database import Database
from api.pagination import CursorCodec
from credit.personal_data import IdentityProtector


@dataclass
class Platform:
    """The per-app services, kept in `app.extensions["xinyong"]`."""

    db: Database
    cursors: CursorCodec
    identities: IdentityProtector
    redis_url: str | None


def platform() -> Platform:
    """The current app's services."""
    return current_app.extensions["xinyong"]


def db_session() -> Session:
    """The request's database session."""
    return platform().db.session()
