"""The access log of restricted reads, append-only for the application (triggers).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("report_no", sa.String(40), nullable=False),
        sa.Column("subject_pk", BigIntPK, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("client_name", sa.String(200), nullable=False),
        sa.Column("client_kind", sa.String(32), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("consent_id", sa.String(40), nullable=True),
        sa.Column("legal_basis", sa.String(500), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_pk"],
            ["subjects.id"],
            name=op.f("fk_access_log_subject_pk_subjects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
        sa.UniqueConstraint("report_no", name=op.f("uq_access_log_report_no")),
    )
    op.create_index("ix_access_log_subject_pk_id", "access_log", ["subject_pk", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # xy_append_only() comes from revision 0003.
        op.execute(
            "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log "
            "FOR EACH ROW EXECUTE FUNCTION xy_append_only()"
        )
        op.execute(
            "CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION xy_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER access_log_no_{action.lower()} BEFORE {action} "
                "ON access_log BEGIN "
                "SELECT RAISE(ABORT, 'the access_log table is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("access_log")
