"""`/v1/ingest`: departments push their records in batches, idempotently."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from sqlalchemy import select

from api.audit import audited
from api.cache import public_cache
from api.context import current_department, db_session, platform
from api.extensions import Blueprint
from api.public.routes import USCC_PARAMETER
from api.public.schemas import EntitySummarySchema, MoneySchema
from credit import clock, ingest, report
from credit import service as credit_service
from credit.models import LEGAL_PERSON_KINDS, EntityStatus, LegacyUscc, Record, Subject

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
        # Any value: a row that is not a record object is rejected on its own (`_schema`).
        ma.fields.Raw(allow_none=True),
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
        client = current_department()
        session = db_session()
        result = ingest.ingest_records(
            db_session=session,
            department=client.name,
            rows=body["records"],
            identities=platform().identities,
            changed_by=client.client_id,
            request_id=g.get("request_id"),
            legacy_allowed=_legacy(),
        )
        audited(
            "records.ingest",
            target=client.name,
            details={
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": len(result.rejected),
                "created": [r.record_id for r in result.records if r.outcome == "created"],
            },
        )
        session.commit()
        public_cache().invalidate(
            row.get("uscc") for row in body["records"] if isinstance(row, dict)
        )
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


def _legacy() -> list[str]:
    """The operator's allow-list of early pilot codes without a valid check character."""
    return list(db_session().scalars(select(LegacyUscc.uscc)).all())


def _state(record: Record, changed: bool) -> dict[str, Any]:
    return {
        "record_id": record.record_id,
        "status": record.status,
        "version": record.version,
        "changed": changed,
    }


class CapitalSchema(ma.Schema):
    """Registered capital: a decimal amount and its currency."""

    amount = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[0-9]{1,13}(\.[0-9]{1,2})?(?!\n)$",
            error="An amount in yuan: up to 13 digits and at most 2 decimals, e.g. 5000000.00.",
        ),
        metadata={"example": "5000000.00"},
    )
    currency = ma.fields.String(
        load_default="CNY",
        validate=ma.validate.Regexp(r"^[A-Z]{3}(?!\n)$", error="An ISO 4217 code such as CNY."),
        metadata={"example": "CNY"},
    )


def _text(max_length: int, example: str, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=[
            ma.validate.Length(min=1, max=max_length),
            # Not blank, no control characters; `(?!\n)$` because Python's `$` also matches
            # before a final line break (the same pattern reads alike in the OpenAPI document).
            ma.validate.Regexp(
                r"^(?=\s*\S)[^\x00-\x1f\x7f-\x9f]*(?!\n)$",
                error="Write some text, without control characters or line breaks.",
            ),
        ],
        metadata={"example": example},
        **kwargs,
    )


class EntityRegistrationSchema(ma.Schema):
    """A legal person's registration data, public and restricted, as its department sends it."""

    name = _text(200, "淄博市周村区鑫瑞丝绸有限公司", required=True)
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in LEGAL_PERSON_KINDS]),
        metadata={"example": "enterprise"},
    )
    legal_representative = _text(100, "王建国", allow_none=True)
    established_on = ma.fields.Date(allow_none=True, metadata={"example": "2012-05-18"})
    registered_capital = ma.fields.Nested(CapitalSchema, allow_none=True)
    address = _text(300, "山东省淄博市周村区正阳路126号", allow_none=True)
    registration_authority = _text(200, "淄博市周村区市场监督管理局", allow_none=True)
    status = ma.fields.String(
        allow_none=True,
        validate=ma.validate.OneOf([s.value for s in EntityStatus]),
        metadata={"example": "active"},
    )
    business_scope = _text(5000, "丝绸制品加工、销售。", allow_none=True)
    contact_phone = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Regexp(
            r"^[0-9+\- ()]{3,40}(?!\n)$", error="Digits, spaces and + - ( ) only, at most 40."
        ),
        metadata={"example": "0533-6412345"},
    )

    @ma.validates("established_on")
    def _not_in_future(self, value: Any, **_kwargs: Any) -> None:
        if value is not None and value > clock.today():
            raise ma.ValidationError("In the future: a legal person is established by now.")


class RegisteredEntitySchema(EntitySummarySchema):
    """A legal person's registration data after the write, restricted fields included."""

    registered_capital = ma.fields.Nested(MoneySchema, allow_none=True)
    registration_authority = ma.fields.String(allow_none=True)
    business_scope = ma.fields.String(allow_none=True, metadata={"example": "丝绸制品加工、销售。"})
    contact_phone = ma.fields.String(allow_none=True, metadata={"example": "0533-6412345"})


def _registered(entity: Subject) -> dict[str, Any]:
    return {
        "subject_id": entity.subject_id,
        "kind": entity.kind,
        "kind_label": entity.kind_label,
        **report.registration(entity),
    }


@blp.route("/entities/<string:uscc>", methods=["PUT"], parameters=[USCC_PARAMETER])
class EntityRegistration(MethodView):
    """A legal person's registration data."""

    @blp.requires("records.write")
    @blp.arguments(EntityRegistrationSchema)
    @blp.response(200, RegisteredEntitySchema)
    @blp.alt_response(201, schema=RegisteredEntitySchema, description="Registered now.")
    @blp.errors(400, 503)
    def put(self, body: dict[str, Any], uscc: str) -> Any:
        """Register or update a legal person.

        The whole registration record: `name` and `kind`, and the other fields (omitted ones
        become empty). 201 when the code was not registered before, 200 after an update. The
        code's check character is verified (400 when wrong).
        """
        current_department()
        session = db_session()
        code = credit_service.check_uscc(db_session=session, raw=uscc)
        capital = body.get("registered_capital")
        draft = ingest.EntityDraft(
            name=body["name"].strip(),
            kind=body["kind"],
            legal_representative=body.get("legal_representative"),
            established_on=body.get("established_on"),
            registered_capital_fen=(int(Decimal(capital["amount"]).scaleb(2)) if capital else None),
            registered_capital_currency=capital["currency"] if capital else None,
            address=body.get("address"),
            registration_authority=body.get("registration_authority"),
            status=body.get("status"),
            business_scope=body.get("business_scope"),
            contact_phone=body.get("contact_phone"),
        )
        entity, created = ingest.put_entity(db_session=session, uscc=code, draft=draft)
        audited(
            "entity.register" if created else "entity.update",
            target=code,
            details={"fields": sorted(body)},
        )
        session.commit()
        public_cache().invalidate([code])
        return _registered(entity), 201 if created else 200


RECORD_ID_PARAMETER = {
    "in": "path",
    "name": "record_id",
    "description": "The record's id, as the batch answer gave it.",
    "example": "rec_8b1e5c0f2a9d4e7b6c31",
    "schema": {"type": "string", "maxLength": 40},
}


class RecordCorrectionSchema(ma.Schema):
    """The whole corrected record, in the format of a batch row (checked field by field)."""

    class Meta:
        unknown = ma.INCLUDE


class WithdrawalSchema(ma.Schema):
    """Why the record is withdrawn."""

    reason = _text(2000, "处罚决定已被依法撤销", required=True)


class RecordStateSchema(ma.Schema):
    """A record's state after a correction or withdrawal."""

    record_id = ma.fields.String(required=True, metadata={"example": "rec_8b1e5c0f2a9d4e7b6c31"})
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["active", "withdrawn"]),
        metadata={"example": "active"},
    )
    version = ma.fields.Integer(required=True, metadata={"example": 2})
    changed = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "False when the content sent was already current.",
            "example": True,
        },
    )


@blp.route("/records/<string:record_id>", methods=["PUT"], parameters=[RECORD_ID_PARAMETER])
class RecordCorrection(MethodView):
    """Correct a record."""

    @blp.requires("records.write")
    @blp.arguments(RecordCorrectionSchema, example=EXAMPLE_RECORD)
    @blp.response(200, RecordStateSchema)
    @blp.errors(400, 404, 409, 503)
    def put(self, raw: dict[str, Any], record_id: str) -> Any:
        """Correct a record your department published.

        Send the whole corrected record, in the format of a batch row. Its kind, document
        number and subject stay; the history keeps every version, and the public change feed
        shows the correction. Sending the current content again changes nothing.
        """
        client = current_department()
        session = db_session()
        record, changed = ingest.correct_record(
            db_session=session,
            department=client.name,
            record_id=record_id,
            raw=raw,
            identities=platform().identities,
            changed_by=client.client_id,
            request_id=g.get("request_id"),
            legacy_allowed=_legacy(),
        )
        if changed:
            audited("record.correct", target=record_id, details={"version": record.version})
        session.commit()
        if changed:
            public_cache().invalidate([credit_service.uscc_of(db_session=session, record=record)])
        return _state(record, changed)


@blp.route(
    "/records/<string:record_id>/withdraw", methods=["POST"], parameters=[RECORD_ID_PARAMETER]
)
class RecordWithdrawal(MethodView):
    """Withdraw a record."""

    @blp.requires("records.write")
    @blp.arguments(WithdrawalSchema)
    @blp.response(200, RecordStateSchema)
    @blp.errors(400, 404, 409, 503)
    def post(self, body: dict[str, Any], record_id: str) -> Any:
        """Withdraw a record your department published.

        It leaves every view at once; the history keeps it with the reason, and the public
        change feed shows the withdrawal. 409 if it is withdrawn already.
        """
        client = current_department()
        session = db_session()
        record = ingest.withdraw_record(
            db_session=session,
            department=client.name,
            record_id=record_id,
            reason=body["reason"].strip(),
            changed_by=client.client_id,
            request_id=g.get("request_id"),
        )
        audited("record.withdraw", target=record_id, details={"version": record.version})
        session.commit()
        public_cache().invalidate([credit_service.uscc_of(db_session=session, record=record)])
        return _state(record, True)
