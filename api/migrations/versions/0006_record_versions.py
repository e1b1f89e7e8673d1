"""The history of each record (publications, corrections, withdrawals), append-only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "record_versions",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("record_pk", BigIntPK, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("publish_until", sa.Date(), nullable=True),
        sa.Column("details", JSONDocument, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"],
            ["records.id"],
            name=op.f("fk_record_versions_record_pk_records"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_versions")),
        sa.UniqueConstraint("record_pk", "version", name="uq_record_versions_record_pk_version"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # xy_append_only() comes from revision 0003.
        op.execute(
            "CREATE TRIGGER record_versions_append_only BEFORE UPDATE OR DELETE ON "
            "record_versions FOR EACH ROW EXECUTE FUNCTION xy_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER record_versions_no_{action.lower()} BEFORE {action} "
                "ON record_versions BEGIN "
                "SELECT RAISE(ABORT, 'the record_versions table is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("record_versions")
