"""Credit data: subjects, records, the public change feed, the legacy USCC allow-list.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from credit.search import (
    GRAMS_FUNCTIONS_SQL,
    NAME_GRAMS_COLUMN_SQL,
    NAME_GRAMS_INDEX,
    NAME_GRAMS_INDEX_SQL,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legacy_uscc_allowlist",
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("uscc", name=op.f("pk_legacy_uscc_allowlist")),
    )
    op.create_table(
        "subjects",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=True),
        sa.Column("id_number_hash", sa.String(64), nullable=True),
        sa.Column("id_number_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("legal_representative", sa.String(100), nullable=True),
        sa.Column("established_on", sa.Date(), nullable=True),
        sa.Column("registered_capital_fen", sa.BigInteger(), nullable=True),
        sa.Column("registered_capital_currency", sa.String(3), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("registration_authority", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("business_scope", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("id_number_hash", name=op.f("uq_subjects_id_number_hash")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_subjects_subject_id")),
        sa.UniqueConstraint("uscc", name=op.f("uq_subjects_uscc")),
    )
    op.create_index("ix_subjects_kind_id", "subjects", ["kind", "id"])
    op.create_table(
        "records",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("subject_pk", BigIntPK, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("document_no", sa.String(100), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("publish_until", sa.Date(), nullable=True),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_pk"],
            ["subjects.id"],
            name=op.f("fk_records_subject_pk_subjects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
        sa.UniqueConstraint(
            "department", "kind", "document_no", name="uq_records_department_kind_doc"
        ),
        sa.UniqueConstraint("record_id", name=op.f("uq_records_record_id")),
    )
    op.create_index(
        "ix_records_subject_kind_decided", "records", ["subject_pk", "kind", "decided_on"]
    )
    op.create_table(
        "record_changes",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("record_pk", BigIntPK, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"],
            ["records.id"],
            name=op.f("fk_record_changes_record_pk_records"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_changes")),
    )
    op.create_index("ix_record_changes_at_id", "record_changes", ["at", "id"])
    op.create_index("ix_record_changes_record_pk", "record_changes", ["record_pk"])

    if op.get_bind().dialect.name == "postgresql":
        # Two-character Chinese substring search: see credit/search.py.
        for function_sql in GRAMS_FUNCTIONS_SQL:
            op.execute(function_sql)
        op.execute(NAME_GRAMS_COLUMN_SQL)
        op.execute(NAME_GRAMS_INDEX_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {NAME_GRAMS_INDEX}")
        op.execute("ALTER TABLE subjects DROP COLUMN IF EXISTS name_grams")
        op.execute("DROP FUNCTION IF EXISTS xy_name_grams(text)")
        op.execute("DROP FUNCTION IF EXISTS xy_query_grams(text)")
    op.drop_table("record_changes")
    op.drop_table("records")
    op.drop_table("subjects")
    op.drop_table("legacy_uscc_allowlist")
