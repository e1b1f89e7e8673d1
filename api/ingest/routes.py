"""`/v1/ingest`: departments push their records in batches, idempotently."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from api.context import current_client, db_session, platform
from api.errors import problem
from api.extensions import Blueprint
from credit import ingest
from credit.models import LegacyUscc

blp = Blueprint(
    "ingest",
    __name__,
    url_prefix="/v1/ingest",
    description="Departments (`records.write`) push licences, penalties, list entries and the "
    "other record kinds in one format; re-sending a batch changes nothing.",
)

EXAMPLE_RECORD = {
    "kind": "penalty",
    "document_no": "周市监罚〔2026〕0123号",
    "title": "经营超过保质期的食品案",
    "decided_on": "2026-06-12",
    "uscc": "91370306MA3C4N2P50",
    "details": {
        "basis": "《中华人民共和国食品安全法》第一百二十四条",
        "violation": "经营超过保质期的食品",
        "result": "罚款人民币5000元",
        "fine_amount": "5000.00",
        "severity": "general",
        "domain": "food_safety",
    },
}


class RecordBatchSchema(ma.Schema):
    """A batch of records; each row is checked on its own (see `rejected` in the answer)."""

    records = ma.fields.List(
        ma.fields.Raw(),
        required=True,
        validate=ma.validate.Length(min=1, max=ingest.MAX_BATCH),
        metadata={
            "description": "1 to 1000 records. Common fields: `kind`, `document_no`, `title`, "
            "`decided_on` (YYYY-MM-DD), the subject by `uscc` or by `id_number` and `name`, "
            "`details` (kind-specific; a penalty has `basis`, `violation`, `result`, "
            "`fine_amount` in yuan as a decimal string, `severity` general|serious, `domain`), "
            "and for a penalty an optional `publish_until`.",
            "example": [EXAMPLE_RECORD],
        },
    )


class AcceptedRowSchema(ma.Schema):
    """A row stored now or already."""

    index = ma.fields.Integer(required=True, metadata={"example": 0})
    record_id = ma.fields.String(required=True, metadata={"example": "rec_8b1e5c0f2a9d4e7b6c31"})
    outcome = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["created", "duplicate"]),
        metadata={"example": "created"},
    )


class RejectedRowSchema(ma.Schema):
    """A row not stored, with the reason for each field."""

    index = ma.fields.Integer(required=True, metadata={"example": 1})
    status = ma.fields.Integer(
        required=True,
        metadata={
            "description": "422: the row is invalid; 409: its document number is already "
            "published with other content (correct that record instead).",
            "example": 422,
        },
    )
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"example": {"details.fine_amount": ["An amount must not be negative."]}},
    )


class BatchOutcomeSchema(ma.Schema):
    """What became of each row."""

    accepted = ma.fields.Integer(
        required=True, metadata={"description": "Rows stored now.", "example": 998}
    )
    duplicates = ma.fields.Integer(
        required=True,
        metadata={"description": "Rows found stored already, unchanged.", "example": 1},
    )
    records = ma.fields.List(ma.fields.Nested(AcceptedRowSchema), required=True)
    rejected = ma.fields.List(ma.fields.Nested(RejectedRowSchema), required=True)


@blp.route("/records", methods=["POST"])
class RecordBatches(MethodView):
    """Record batches."""

    @blp.requires("records.write")
    @blp.arguments(RecordBatchSchema)
    @blp.response(200, BatchOutcomeSchema)
    @blp.errors(400, 413, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """Push a batch of records.

        Every valid row is stored, and durable when the answer is sent; every other row comes
        back under `rejected` with the messages for each field. A record is identified by your
        department, its `kind` and its `document_no`: sending it again changes nothing
        (`duplicate`), and other content under the same number is a 409 for that row, naming
        the record to correct with `PUT /v1/ingest/records/{record_id}`.
        """
        client = current_client()
        if client.kind != "department":
            return problem(403, "Only department clients push records.", slug="not-a-department")
        session = db_session()
        legacy = session.scalars(select(LegacyUscc.uscc)).all()
        result = ingest.ingest_records(
            db_session=session,
            department=client.name,
            rows=body["records"],
            identities=platform().identities,
            legacy_allowed=legacy,
        )
        session.commit()
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "records": [
                {"index": r.index, "record_id": r.record_id, "outcome": r.outcome}
                for r in result.records
            ],
            "rejected": [
                {"index": r.index, "status": r.status, "errors": r.errors} for r in result.rejected
            ],
        }
