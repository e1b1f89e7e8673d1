"""Consents.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("consent_id", sa.String(40), nullable=False),
        sa.Column("subject_pk", BigIntPK, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("purpose_note", sa.String(500), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("authorised_at", UTC_TIME, nullable=True),
        sa.Column("decided_at", UTC_TIME, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("token_issued_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_pk"],
            ["subjects.id"],
            name=op.f("fk_consents_subject_pk_subjects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("consent_id", name=op.f("uq_consents_consent_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_consents_token_hash")),
    )
    op.create_index("ix_consents_subject_pk", "consents", ["subject_pk"])
    op.create_index("ix_consents_client_id", "consents", ["client_id"])


def downgrade() -> None:
    op.drop_table("consents")
