"""Schemas of objections and credit-repair requests."""

from __future__ import annotations

import marshmallow as ma

from api.pagination import PageArgsSchema, next_cursor_field
from credit.models import ObjectionStatus, RepairStatus


def _text(max_length: int, example: str, description: str) -> ma.fields.String:
    return ma.fields.String(
        required=True,
        validate=[
            ma.validate.Length(min=1, max=max_length),
            # Line breaks and tabs are welcome in a reason; other control characters are not,
            # and it must say something.
            ma.validate.Regexp(r"^(?=[\s\S]*\S)[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*(?!\n)$",
                               error="Write some text, without control characters."),
        ],
        metadata={"description": description, "example": example},
    )  # fmt: skip


RECORD_ID = ma.fields.String(
    required=True,
    validate=ma.validate.Regexp(
        r"^rec_[0-9a-f]{1,36}(?!\n)$", error="A record id such as rec_8b1e5c0f2a9d4e7b6c31."
    ),
    metadata={"description": "The record, as your credit report lists it.",
              "example": "rec_8b1e5c0f2a9d4e7b6c31"},
)  # fmt: skip


class ObjectionFilingSchema(ma.Schema):
    """An objection to one of your records."""

    record_id = RECORD_ID
    reason = _text(2000, "该处罚决定已被行政复议撤销，复议决定书附后。", "Why the record is wrong.")


class RepairFilingSchema(ma.Schema):
    """A request for credit repair of one of your penalties."""

    record_id = RECORD_ID
    reason = _text(
        2000,
        "已全额缴纳罚款并完成整改，申请提前停止公示。",
        "What you have done to correct the breach (fine paid, rectification completed).",
    )


class ResolutionSchema(ma.Schema):
    """The department's answer to an objection."""

    outcome = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([ObjectionStatus.UPHELD.value, ObjectionStatus.DISMISSED.value]),
        metadata={
            "description": "`upheld`: the record is wrong (then correct or withdraw it; the "
            "objection links that change); `dismissed`: it stands.",
            "example": "dismissed",
        },
    )
    note = _text(2000, "经核查，处罚决定书内容无误。", "The answer the subject reads.")


class RepairDecisionSchema(ma.Schema):
    """The department's decision on a repair request."""

    decision = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([RepairStatus.APPROVED.value, RepairStatus.DENIED.value]),
        metadata={
            "description": "`approved` ends the record's publication today.",
            "example": "approved",
        },
    )
    note = _text(
        2000, "已履行行政处罚决定并完成整改，准予信用修复。", "The answer the subject reads."
    )


class _CaseSchema(ma.Schema):
    record_id = ma.fields.String(required=True, metadata={"example": "rec_8b1e5c0f2a9d4e7b6c31"})
    record_kind = ma.fields.String(required=True, metadata={"example": "penalty"})
    record_title = ma.fields.String(required=True, metadata={"example": "经营超过保质期的食品案"})
    department = ma.fields.String(required=True, metadata={"example": "淄博市周村区市场监督管理局"})
    reason = ma.fields.String(required=True, metadata={"example": "该处罚决定已被行政复议撤销。"})
    note = ma.fields.String(allow_none=True, metadata={"example": None})
    filed_at = ma.fields.DateTime(required=True, metadata={"example": "2026-11-27T02:00:00+00:00"})


class ObjectionSchema(_CaseSchema):
    """An objection and its outcome."""

    objection_id = ma.fields.String(required=True, metadata={"example": "obj_4c2e9a0f7b1d3e5a6c80"})
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in ObjectionStatus]),
        metadata={"example": "pending"},
    )
    resolved_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    linked_version = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "For an upheld objection: the record's version after the "
            "correction or withdrawal it led to (null until the department makes it).",
            "example": None,
        },
    )
    record_disputed = ma.fields.Boolean(required=True, metadata={"example": True})


class RepairSchema(_CaseSchema):
    """A credit-repair request and its outcome."""

    repair_id = ma.fields.String(required=True, metadata={"example": "rep_9d0e1f2a3b4c5d6e7f80"})
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in RepairStatus]),
        metadata={"example": "pending"},
    )
    decided_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    publish_until = ma.fields.Date(
        allow_none=True,
        metadata={
            "description": "The record's last public day now (yesterday after an approval).",
            "example": "2027-06-11",
        },
    )


class ObjectionPageSchema(ma.Schema):
    """A page of objections."""

    items = ma.fields.List(ma.fields.Nested(ObjectionSchema), required=True)
    next_cursor = next_cursor_field()


class RepairPageSchema(ma.Schema):
    """A page of repair requests."""

    items = ma.fields.List(ma.fields.Nested(RepairSchema), required=True)
    next_cursor = next_cursor_field()


class ObjectionQueryArgsSchema(PageArgsSchema):
    """Paging, and an optional status filter."""

    status = ma.fields.String(
        validate=ma.validate.OneOf([s.value for s in ObjectionStatus]),
        metadata={"description": "Only objections in this status.", "example": "pending"},
    )


class RepairQueryArgsSchema(PageArgsSchema):
    """Paging, and an optional status filter."""

    status = ma.fields.String(
        validate=ma.validate.OneOf([s.value for s in RepairStatus]),
        metadata={"description": "Only repair requests in this status.", "example": "pending"},
    )
