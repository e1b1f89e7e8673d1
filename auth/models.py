"""OAuth clients, subject accounts, codes, refresh tokens, signing keys, revocations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from credit import clock
from credit.base import Base, BigIntPK, UTCDateTime
from credit.models import Subject


class ClientKind(StrEnum):
    """Who a client belongs to (API.md "The operator's command line")."""

    BANK = "bank"
    MICROCREDIT = "microcredit"
    GUARANTEE = "guarantee"
    RATING_AGENCY = "rating_agency"
    CREDIT_SERVICE_AGENCY = "credit_service_agency"
    GOVERNMENT = "government"
    JUDICIAL = "judicial"
    DEPARTMENT = "department"
    ADMIN = "admin"
    FIRST_PARTY = "first_party"  # the platform's own public clients: portal, xinyong-cli


CLIENT_KIND_LABELS: dict[ClientKind, str] = {
    ClientKind.BANK: "银行",
    ClientKind.MICROCREDIT: "小额贷款公司",
    ClientKind.GUARANTEE: "融资担保公司",
    ClientKind.RATING_AGENCY: "信用评级机构",
    ClientKind.CREDIT_SERVICE_AGENCY: "信用服务机构",
    ClientKind.GOVERNMENT: "政府部门",
    ClientKind.JUDICIAL: "司法机关",
    ClientKind.DEPARTMENT: "数据报送部门",
    ClientKind.ADMIN: "平台运营方",
    ClientKind.FIRST_PARTY: "信用平台",
}


class ClientStatus(StrEnum):
    """A client's standing in the register (DESIGN.md §5)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Client(Base):
    """A registered OAuth 2 client."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    # A keyed hash of the 256-bit secret; NULL for public clients, which have none.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    # First-party public clients may redirect to any loopback port (RFC 8252 §7.3).
    loopback_redirects: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=ClientStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The operator's override of the client kind's rate-limit tier (`xinyong clients set-limit`).
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    rate_limit_burst: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_public(self) -> bool:
        """A client without a secret (PKCE protects its codes)."""
        return self.secret_hash is None

    @property
    def is_active(self) -> bool:
        """Whether the client may obtain and use tokens."""
        return self.status == ClientStatus.ACTIVE


class SubjectAccount(Base):
    """A subject's sign-in account (the stand-in for real-name verification)."""

    __tablename__ = "subject_accounts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    subject_pk: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    subject: Mapped[Subject] = relationship(lazy="joined")

    __table_args__ = (Index("ix_subject_accounts_subject_pk", "subject_pk"),)

    def get_user_id(self) -> str:
        """Authlib: the token's `sub`, the subject's opaque platform id."""
        return self.subject.subject_id


class AuthorizationCode(Base):
    """A single-use authorization code, stored as a hash."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_pk: Mapped[int] = mapped_column(ForeignKey("subject_accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The access token issued for it, revoked if the code is presented again (RFC 6749 §4.1.2).
    access_jti: Mapped[str | None] = mapped_column(String(64))

    def get_redirect_uri(self) -> str:
        """Authlib: the redirect URI bound to the code."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """Authlib: the scope granted with the code."""
        return self.scope

    def get_auth_time(self) -> int:
        """Authlib: when the subject signed in."""
        return int(self.auth_time.timestamp())


class RefreshToken(Base):
    """A refresh token, stored as a hash; rotated on use, one family per sign-in."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[str] = mapped_column(String(64))
    account_pk: Mapped[int] = mapped_column(ForeignKey("subject_accounts.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(Text)
    access_jti: Mapped[str] = mapped_column(String(64))
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_oauth_refresh_tokens_family_id", "family_id"),)

    def check_client(self, client: Any) -> bool:
        """Authlib: whether the token belongs to `client`."""
        return bool(self.client_id == client.client_id)

    def get_scope(self) -> str:
        """Authlib: the scope the token carries."""
        return self.scope

    def get_expires_in(self) -> int:
        """Authlib: the lifetime in seconds."""
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        """Authlib: whether the token is past its lifetime."""
        return self.expires_at <= clock.now()

    def is_revoked(self) -> bool:
        """Authlib: whether the token was revoked or already used."""
        return self.revoked_at is not None or self.used_at is not None


class SigningKey(Base):
    """A key that signs access tokens and receipts; the private half encrypted at rest."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(10))
    private_key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # When a newer key took over signing; the key stays published until its tokens expire.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TokenRevocation(Base):
    """A revoked access token (by `jti`), kept until the token would have expired."""

    __tablename__ = "oauth_token_revocations"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (Index("ix_oauth_token_revocations_expires_at", "expires_at"),)
