"""Objections, credit-repair requests, and the audit trail of every write (append-only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def _case_columns(table: str, public_id: str) -> list[sa.Column[object] | sa.Constraint]:
    return [
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column(public_id, sa.String(32), nullable=False),
        sa.Column("record_pk", BigIntPK, nullable=False),
        sa.Column("subject_pk", BigIntPK, nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("filed_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.id"], name=op.f(f"fk_{table}_record_pk_records"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subject_pk"], ["subjects.id"], name=op.f(f"fk_{table}_subject_pk_subjects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(public_id, name=op.f(f"uq_{table}_{public_id}")),
    ]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "objections",
        *_case_columns("objections", "objection_id"),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("change_version", sa.Integer(), nullable=True),
        sa.Column("resolved_at", When, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_objections_record_pk_status", "objections", ["record_pk", "status"])
    op.create_index("ix_objections_subject_pk_id", "objections", ["subject_pk", "id"])
    op.create_table(
        "repair_requests",
        *_case_columns("repair_requests", "repair_id"),
        sa.Column("decided_at", When, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("publication_ended_on", sa.Date(), nullable=True),
    )
    op.create_index(
        "ix_repair_requests_record_pk_status", "repair_requests", ["record_pk", "status"]
    )
    op.create_index("ix_repair_requests_subject_pk_id", "repair_requests", ["subject_pk", "id"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("details", JSONDocument, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"])
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor", "id"])
    op.create_index("ix_audit_events_target_id", "audit_events", ["target", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # xy_append_only() comes from revision 0003.
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON "
            "audit_events FOR EACH ROW EXECUTE FUNCTION xy_append_only()"
        )
        # Revision 0006 left the record history open to TRUNCATE: close it with the trail.
        for table in ("audit_events", "record_versions"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION xy_append_only()"
            )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} "
                "ON audit_events BEGIN "
                "SELECT RAISE(ABORT, 'the audit_events table is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS record_versions_no_truncate ON record_versions")
    op.drop_table("audit_events")
    op.drop_table("repair_requests")
    op.drop_table("objections")
