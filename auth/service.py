"""The auth domain's verbs: the client register, subject accounts, tokens' bookkeeping."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from auth.credentials import SecretHasher, hash_password, new_secret, verify_password
from auth.errors import AccountError, ClientNotFound, InvalidClientRegistration
from auth.models import (
    Client,
    ClientKind,
    ClientStatus,
    RefreshToken,
    SubjectAccount,
    TokenRevocation,
)
from auth.scopes import CATEGORIES, CATEGORY_KINDS, SCOPES_BY_KIND
from consent import service as consent_service
from consent.access_log import Reader
from consent.service import Partner
from credit import clock, identifiers
from credit import service as credit_service
from credit.models import Subject
from credit.personal_data import IdentityProtector

# First-party public clients (API.md "Subjects signing in").
PORTAL_CLIENT_ID = "portal"
CLI_CLIENT_ID = "xinyong-cli"

# Sign-in lockout: after this many failures in a row the account waits, doubling each time.
LOCKOUT_AFTER = 5
LOCKOUT_BASE = timedelta(minutes=1)
LOCKOUT_MAX = timedelta(hours=1)


@dataclass(frozen=True)
class IssuedClient:
    """A new client and its secret, which is shown this once and never stored."""

    client: Client
    client_secret: str | None


def _validate_redirect_uri(uri: str) -> str:
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise InvalidClientRegistration(
            f"redirect URI {uri!r} must be https (http only for loopback addresses)"
        )
    if parts.fragment:
        raise InvalidClientRegistration(f"redirect URI {uri!r} must not have a fragment")
    return uri


def create_client(
    *,
    db_session: Session,
    hasher: SecretHasher,
    name: str,
    kind: str,
    scopes: Sequence[str],
    categories: Sequence[str] = (),
    redirect_uris: Sequence[str] = (),
    client_id: str | None = None,
    public: bool = False,
    loopback_redirects: bool = False,
) -> IssuedClient:
    """Register a client; its secret (256-bit) is returned once and stored as a keyed hash."""
    if kind not in {k.value for k in ClientKind}:
        raise InvalidClientRegistration(f"unknown client kind {kind!r}")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidClientRegistration("a client needs a name of 1 to 200 characters")
    allowed = SCOPES_BY_KIND[kind]
    wrong = sorted(set(scopes) - allowed)
    if wrong:
        raise InvalidClientRegistration(
            f"a {kind} client may not hold {', '.join(wrong)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    if not scopes:
        raise InvalidClientRegistration("a client needs at least one scope")
    if categories and kind not in CATEGORY_KINDS:
        raise InvalidClientRegistration("only government and judicial clients have categories")
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        raise InvalidClientRegistration(f"unknown categories: {', '.join(unknown)}")
    if kind in CATEGORY_KINDS:
        beyond = sorted({s for s in scopes if s.removeprefix("credit.") not in categories})
        if beyond:
            raise InvalidClientRegistration(
                f"scopes {', '.join(beyond)} go beyond the categories granted to this client"
            )
    uris = [_validate_redirect_uri(u) for u in redirect_uris]
    if client_id is not None and db_session.scalar(
        select(exists().where(Client.client_id == client_id))
    ):
        raise InvalidClientRegistration(f"client id {client_id!r} is taken")
    secret = None if public else new_secret()
    client = Client(
        client_id=client_id or f"cli_{secrets.token_hex(10)}",
        name=name,
        kind=kind,
        secret_hash=hasher.hash(secret) if secret else None,
        scopes=sorted(set(scopes)),
        categories=sorted(set(categories)),
        redirect_uris=uris,
        loopback_redirects=loopback_redirects,
        status=ClientStatus.ACTIVE.value,
    )
    db_session.add(client)
    db_session.flush()
    return IssuedClient(client=client, client_secret=secret)


# Built once: every token request looks its client up.
_CLIENT_BY_ID = select(Client).where(Client.client_id == bindparam("client_id"))


def get_client(*, db_session: Session, client_id: str) -> Client | None:
    """The client registered under `client_id`."""
    if "\x00" in client_id:  # no such id can exist, and PostgreSQL refuses NUL in text
        return None
    return db_session.scalars(_CLIENT_BY_ID, {"client_id": client_id}).one_or_none()


def get_client_or_raise(*, db_session: Session, client_id: str) -> Client:
    """Like `get_client`, raising ClientNotFound."""
    client = get_client(db_session=db_session, client_id=client_id)
    if client is None:
        raise ClientNotFound(f"no client is registered as {client_id!r}")
    return client


def list_clients(*, db_session: Session) -> Sequence[Client]:
    """Every client, in registration order."""
    return db_session.scalars(select(Client).order_by(Client.id)).all()


def describe_client(client: Client) -> dict[str, Any]:
    """What the operator sees of a client: everything but its secret."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "kind": client.kind,
        "status": client.status,
        "scopes": client.scopes,
        "categories": client.categories,
        "redirect_uris": client.redirect_uris,
        "public": client.is_public,
        "created_at": client.created_at,
        "rate_limit_per_minute": client.rate_limit_per_minute,
        "rate_limit_burst": client.rate_limit_burst,
    }


def set_client_status(*, db_session: Session, client_id: str, status: ClientStatus) -> Client:
    """Suspend, reactivate or revoke a client; a revoked client stays revoked."""
    client = get_client_or_raise(db_session=db_session, client_id=client_id)
    if client.status == ClientStatus.REVOKED and status != ClientStatus.REVOKED:
        raise InvalidClientRegistration(f"client {client_id!r} is revoked for good")
    client.status = status.value
    client.status_changed_at = clock.now()
    if status == ClientStatus.REVOKED:
        db_session.execute(
            update(RefreshToken)
            .where(RefreshToken.client_id == client_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        consent_service.end_for_partner(db_session=db_session, client_id=client_id)
    db_session.flush()
    return client


def set_rate_limit(
    *, db_session: Session, client_id: str, per_minute: int | None, burst: int | None
) -> Client:
    """Override the client's rate limits (None, None: back to its kind's tier)."""
    if per_minute is not None and per_minute < 1 or burst is not None and burst < 1:
        raise InvalidClientRegistration("a rate limit allows at least one request")
    if per_minute is None and burst is not None:
        raise InvalidClientRegistration("a burst needs a per-minute limit beside it")
    client = get_client_or_raise(db_session=db_session, client_id=client_id)
    client.rate_limit_per_minute = per_minute
    client.rate_limit_burst = burst
    db_session.flush()
    return client


def rotate_secret(*, db_session: Session, hasher: SecretHasher, client_id: str) -> str:
    """A new secret for a confidential client; the old one stops working at once."""
    client = get_client_or_raise(db_session=db_session, client_id=client_id)
    if client.is_public:
        raise InvalidClientRegistration(f"client {client_id!r} is public and has no secret")
    secret = new_secret()
    client.secret_hash = hasher.hash(secret)
    db_session.flush()
    return secret


def create_account(
    *,
    db_session: Session,
    identities: IdentityProtector,
    password: str,
    uscc: str | None = None,
    id_number: str | None = None,
    name: str | None = None,
) -> SubjectAccount:
    """A sign-in account for a legal person (by USCC) or a natural person (by identity number)."""
    if len(password) < 10:
        raise AccountError("a password needs at least 10 characters")
    if (uscc is None) == (id_number is None):
        raise AccountError("give either a unified social credit code or an identity number")
    if uscc is not None:
        code = identifiers.validate_uscc(uscc)
        subject = db_session.scalars(select(Subject).where(Subject.uscc == code)).one_or_none()
        if subject is None:
            raise AccountError(f"no legal person is registered under {code}")
        username = code
    else:
        if not name or not name.strip():
            raise AccountError("a natural person's account needs the person's name")
        subject = credit_service.natural_person(
            db_session=db_session, identities=identities, id_number=id_number or "", name=name
        )
        # Never the identity number: usernames appear in forms, logs and support tickets.
        username = f"p{secrets.randbelow(10**10):010d}"
    if db_session.scalar(select(exists().where(SubjectAccount.subject_pk == subject.id))):
        raise AccountError("this subject already has an account")
    account = SubjectAccount(
        username=username, subject_pk=subject.id, password_hash=hash_password(password)
    )
    db_session.add(account)
    db_session.flush()
    return account


def authenticate_account(
    *, db_session: Session, username: str, password: str
) -> SubjectAccount | None:
    """The account if the password matches; counts failures and locks the account for a while."""
    username = username.strip()
    if len(username) == 18 and username.isalnum():
        username = identifiers.normalize_uscc(username)  # a legal person's code, in any case
    account = (
        None
        if "\x00" in username  # no such account, and PostgreSQL refuses NUL in text
        else db_session.scalars(
            select(SubjectAccount).where(SubjectAccount.username == username)
        ).one_or_none()
    )
    now = clock.now()
    if account is None:
        verify_password(password, _DUMMY_HASH)  # same cost as a real check: no user enumeration
        return None
    if account.locked_until is not None and account.locked_until > now:
        return None
    if verify_password(password, account.password_hash):
        account.failed_attempts = 0
        account.locked_until = None
        db_session.flush()
        return account
    account.failed_attempts += 1
    if account.failed_attempts >= LOCKOUT_AFTER:
        doublings = min(account.failed_attempts - LOCKOUT_AFTER, 10)
        account.locked_until = now + min(LOCKOUT_BASE * 2**doublings, LOCKOUT_MAX)
    db_session.flush()
    return None


def account_locked_for(account: SubjectAccount | None) -> int:
    """Seconds until a locked account may try again (0 when it is not locked)."""
    if account is None or account.locked_until is None:
        return 0
    return max(0, int((account.locked_until - clock.now()).total_seconds()))


_DUMMY_HASH = hash_password("not a real password, only to spend the same time")


def revoke_access_token(*, db_session: Session, jti: str, expires_at: datetime) -> None:
    """Put an access token on the revocation list until it would have expired."""
    # Entries of tokens that have expired anyway are of no more use: the list stays small.
    db_session.execute(delete(TokenRevocation).where(TokenRevocation.expires_at < clock.now()))
    if db_session.get(TokenRevocation, jti) is None:
        db_session.add(TokenRevocation(jti=jti, expires_at=expires_at))
        db_session.flush()


def revoke_refresh_family(*, db_session: Session, family_id: str) -> None:
    """Revoke every refresh token of a family and the access tokens issued with them."""
    now = clock.now()
    tokens = db_session.scalars(select(RefreshToken).where(RefreshToken.family_id == family_id))
    for token in tokens:
        if token.revoked_at is None:
            token.revoked_at = now
        if token.access_expires_at > now:
            revoke_access_token(
                db_session=db_session, jti=token.access_jti, expires_at=token.access_expires_at
            )
    db_session.flush()


# Built once: it runs on every authenticated request.
_TOKEN_CLIENT = select(Client, exists().where(TokenRevocation.jti == bindparam("jti"))).where(
    Client.client_id == bindparam("client_id")
)


def token_client(*, db_session: Session, jti: str, client_id: str) -> Client | None:
    """The client of a token that stands (not revoked, its client active), else None.

    One round trip, and the handler gets the client's row without asking again.
    """
    row = db_session.execute(_TOKEN_CLIENT, {"jti": jti, "client_id": client_id}).one_or_none()
    if row is None:
        return None
    client, revoked = row
    return None if revoked or not client.is_active else client


def token_is_revoked(*, db_session: Session, jti: str, client_id: str) -> bool:
    """Whether a token or its client was revoked or suspended."""
    return token_client(db_session=db_session, jti=jti, client_id=client_id) is None


def partner_of(client: Client) -> Partner:
    """What the consent domain needs to know of a client."""
    return Partner(
        client_id=client.client_id,
        kind=client.kind,
        scopes=frozenset(client.scopes),
        active=client.is_active,
    )


def reader_of(client: Client) -> Reader:
    """A client as the access log names it."""
    return Reader(client_id=client.client_id, name=client.name, kind=client.kind)


def clients_by_id(*, db_session: Session, client_ids: Collection[str]) -> dict[str, Client]:
    """The registered clients among `client_ids`, by id."""
    if not client_ids:
        return {}
    rows = db_session.scalars(select(Client).where(Client.client_id.in_(list(client_ids))))
    return {c.client_id: c for c in rows}
