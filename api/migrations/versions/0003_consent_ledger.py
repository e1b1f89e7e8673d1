"""The consent ledger, append-only for the application (triggers refuse UPDATE and DELETE).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consent_ledger",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("consent_id", sa.String(40), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_ledger")),
        sa.UniqueConstraint("seq", name=op.f("uq_consent_ledger_seq")),
    )
    op.create_index("ix_consent_ledger_consent_id", "consent_ledger", ["consent_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION xy_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'the % table is append-only', TG_TABLE_NAME;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER consent_ledger_append_only BEFORE UPDATE OR DELETE ON consent_ledger "
            "FOR EACH ROW EXECUTE FUNCTION xy_append_only()"
        )
        op.execute(
            "CREATE TRIGGER consent_ledger_no_truncate BEFORE TRUNCATE ON consent_ledger "
            "FOR EACH STATEMENT EXECUTE FUNCTION xy_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER consent_ledger_no_{action.lower()} BEFORE {action} "
                "ON consent_ledger BEGIN "
                "SELECT RAISE(ABORT, 'the consent_ledger table is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE consent_ledger")
        op.execute("DROP FUNCTION IF EXISTS xy_append_only()")
    else:
        op.drop_table("consent_ledger")
