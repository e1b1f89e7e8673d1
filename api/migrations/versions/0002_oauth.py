"""OAuth: clients, subject accounts, codes, refresh tokens, signing keys, revocations.

Also registers the first-party public clients `portal` and `xinyong-cli`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    clients = op.create_table(
        "oauth_clients",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("loopback_redirects", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("status_changed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_clients_client_id")),
    )
    op.create_table(
        "subject_accounts",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("subject_pk", BigIntPK, nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_pk"],
            ["subjects.id"],
            name=op.f("fk_subject_accounts_subject_pk_subjects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_subject_accounts_username")),
    )
    op.create_index("ix_subject_accounts_subject_pk", "subject_accounts", ["subject_pk"])
    op.create_table(
        "oauth_authorization_codes",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("account_pk", BigIntPK, nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("code_challenge_method", sa.String(10), nullable=False),
        sa.Column("auth_time", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.Column("access_jti", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["subject_accounts.id"],
            name=op.f("fk_oauth_authorization_codes_account_pk_subject_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_authorization_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oauth_authorization_codes_code_hash")),
    )
    op.create_table(
        "oauth_refresh_tokens",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("family_id", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("account_pk", BigIntPK, nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("access_jti", sa.String(64), nullable=False),
        sa.Column("access_expires_at", UTC_TIME, nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["subject_accounts.id"],
            name=op.f("fk_oauth_refresh_tokens_account_pk_subject_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_oauth_refresh_tokens_token_hash")),
    )
    op.create_index("ix_oauth_refresh_tokens_family_id", "oauth_refresh_tokens", ["family_id"])
    op.create_table(
        "signing_keys",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(10), nullable=False),
        sa.Column("private_key_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("retired_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    op.create_table(
        "oauth_token_revocations",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_oauth_token_revocations")),
    )
    op.create_index(
        "ix_oauth_token_revocations_expires_at", "oauth_token_revocations", ["expires_at"]
    )
    now = datetime.now(UTC)
    first_party = {
        "kind": "first_party",
        "secret_hash": None,
        "scopes": ["subject"],
        "categories": [],
        "status": "active",
        "created_at": now,
        "status_changed_at": now,
    }
    op.bulk_insert(
        clients,
        [
            {
                **first_party,
                "client_id": "portal",
                "name": "信用门户 Xinyong portal",
                # The website's own callback, on whatever origin the platform is served from.
                "redirect_uris": ["{issuer}/portal/callback"],
                "loopback_redirects": False,
            },
            {
                **first_party,
                "client_id": "xinyong-cli",
                "name": "Xinyong command line and native apps",
                "redirect_uris": [],
                "loopback_redirects": True,
            },
        ],
    )


def downgrade() -> None:
    op.drop_table("oauth_token_revocations")
    op.drop_table("signing_keys")
    op.drop_table("oauth_refresh_tokens")
    op.drop_table("oauth_authorization_codes")
    op.drop_table("subject_accounts")
    op.drop_table("oauth_clients")
