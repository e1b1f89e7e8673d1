"""Schemas of the open data endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma

from api.pagination import PageArgsSchema, next_cursor_field
from credit.disclosure import PUBLIC_KINDS
from credit.models import LEGAL_PERSON_KINDS, ChangeKind

ENTITY_KINDS = [k.value for k in LEGAL_PERSON_KINDS]
PUBLIC_RECORD_KINDS = sorted(k.value for k in PUBLIC_KINDS)

EXAMPLE_USCC = "91370306MA3C4N2P50"


class AwareDateTime(ma.fields.DateTime):
    """An RFC 3339 time that must carry its UTC offset.

    In a query string an unencoded `+08:00` arrives as ` 08:00`; that one slip is read as meant.
    """

    default_error_messages = {  # noqa: RUF012  (marshmallow's own class-level convention)
        "naive": "Give the time with its UTC offset, e.g. 2026-01-01T00:00:00+08:00 or "
        "2026-01-01T00:00:00Z (encode '+' as %2B in a URL).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str) and len(value) > 6 and value[-6] == " " and value[-3] == ":":
            value = f"{value[:-6]}+{value[-5:]}"
        result: datetime = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            raise self.make_error("naive")
        return result


class MoneySchema(ma.Schema):
    """An amount of money: a decimal string and its currency."""

    amount = ma.fields.String(
        required=True, metadata={"description": "Decimal amount.", "example": "5000000.00"}
    )
    currency = ma.fields.String(
        required=True, metadata={"description": "ISO 4217 currency code.", "example": "CNY"}
    )


class EntityQueryArgsSchema(PageArgsSchema):
    """Search arguments."""

    q = ma.fields.String(
        validate=ma.validate.Length(max=100),
        metadata={
            "description": "A part of the name (Chinese substring, e.g. two characters), or an "
            "exact unified social credit code. Empty or blank means no filter.",
            "example": "丝绸",
        },
    )
    kind = ma.fields.String(
        validate=ma.validate.OneOf(ENTITY_KINDS),
        metadata={"description": "Only legal persons of this kind.", "example": "enterprise"},
    )

    @ma.pre_load
    def _strip(self, data: Any, **_kwargs: Any) -> Any:
        if hasattr(data, "get") and isinstance(data.get("q"), str):
            data = dict(data)
            data["q"] = data["q"].strip()
            if not data["q"]:
                data.pop("q")
        return data


class EntitySummarySchema(ma.Schema):
    """A legal person as listed in search results."""

    subject_id = ma.fields.String(
        required=True,
        metadata={
            "description": "The platform's opaque id.",
            "example": "sub_3f9a0c2e7b1d4a6f8e20",
        },
    )
    uscc = ma.fields.String(
        required=True,
        metadata={
            "description": "Unified social credit code (GB 32100-2015).",
            "example": EXAMPLE_USCC,
        },
    )
    name = ma.fields.String(required=True, metadata={"example": "淄博市周村区鑫瑞丝绸有限公司"})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(ENTITY_KINDS),
        metadata={"description": "The kind of legal person.", "example": "enterprise"},
    )
    kind_label = ma.fields.String(required=True, metadata={"example": "企业"})
    legal_representative = ma.fields.String(allow_none=True, metadata={"example": "王建国"})
    established_on = ma.fields.Date(allow_none=True, metadata={"example": "2012-05-18"})
    status = ma.fields.String(
        allow_none=True,
        metadata={"description": "`active`, `revoked` or `cancelled`.", "example": "active"},
    )
    status_label = ma.fields.String(allow_none=True, metadata={"example": "存续"})
    address = ma.fields.String(
        allow_none=True, metadata={"example": "山东省淄博市周村区正阳路126号"}
    )


class EntityPageSchema(ma.Schema):
    """A page of search results."""

    items = ma.fields.List(ma.fields.Nested(EntitySummarySchema), required=True)
    next_cursor = next_cursor_field()


class EntitySchema(EntitySummarySchema):
    """A legal person's public registration data and how many public records it has."""

    registered_capital = ma.fields.Nested(MoneySchema, allow_none=True)
    registration_authority = ma.fields.String(
        allow_none=True, metadata={"example": "淄博市周村区市场监督管理局"}
    )
    public_record_counts = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(PUBLIC_RECORD_KINDS)),
        values=ma.fields.Integer(),
        required=True,
        metadata={
            "description": "Records public today, by record kind.",
            "example": {
                "abnormal_operation": 0,
                "black_list": 0,
                "license": 2,
                "penalty": 1,
                "red_list": 0,
            },
        },
    )


class EntityRecordArgsSchema(PageArgsSchema):
    """Arguments of an entity's public records."""

    kind = ma.fields.String(
        validate=ma.validate.OneOf(PUBLIC_RECORD_KINDS),
        metadata={"description": "Only records of this kind.", "example": "penalty"},
    )


class PublicRecordSchema(ma.Schema):
    """A record that is public today."""

    record_id = ma.fields.String(required=True, metadata={"example": "rec_8b1e5c0f2a9d4e7b6c31"})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(PUBLIC_RECORD_KINDS),
        metadata={"example": "penalty"},
    )
    kind_label = ma.fields.String(required=True, metadata={"example": "行政处罚"})
    document_no = ma.fields.String(required=True, metadata={"example": "周市监罚〔2025〕0123号"})
    title = ma.fields.String(required=True, metadata={"example": "未按规定公示年度报告案"})
    decided_on = ma.fields.Date(required=True, metadata={"example": "2025-06-12"})
    department = ma.fields.String(required=True, metadata={"example": "淄博市周村区市场监督管理局"})
    publish_until = ma.fields.Date(
        required=True,
        allow_none=True,
        metadata={
            "description": "The last day the record is public; null while a list entry stands.",
            "example": "2026-06-11",
        },
    )
    disputed = ma.fields.Boolean(
        required=True,
        metadata={"description": "An objection to this record is pending.", "example": False},
    )
    details = ma.fields.Dict(
        required=True,
        metadata={
            "description": "Kind-specific details. penalty: `basis`, `violation`, `result`, "
            "`fine_amount` (yuan, decimal string), `severity` (`general`|`serious`), `domain`; "
            "license: `license_name`, `license_no`, `content`, `valid_from`, `valid_until`; "
            "lists: `list_name`, `reason`, `listed_on`, `removed_on`.",
            "example": {
                "basis": "《中华人民共和国食品安全法》第一百二十四条",
                "violation": "经营超过保质期的食品",
                "result": "罚款人民币5000元",
                "fine_amount": "5000.00",
                "severity": "general",
                "domain": "food_safety",
            },
        },
    )


class PublicRecordPageSchema(ma.Schema):
    """A page of public records."""

    items = ma.fields.List(ma.fields.Nested(PublicRecordSchema), required=True)
    next_cursor = next_cursor_field()


class ChangeArgsSchema(PageArgsSchema):
    """Arguments of the change feed."""

    since = AwareDateTime(
        format="iso",
        metadata={
            "description": "Only changes at or after this RFC 3339 time (with its offset).",
            "example": "2026-01-01T00:00:00+08:00",
        },
    )


class ChangeSchema(ma.Schema):
    """A public record published, corrected or withdrawn."""

    record_id = ma.fields.String(required=True, metadata={"example": "rec_8b1e5c0f2a9d4e7b6c31"})
    uscc = ma.fields.String(required=True, metadata={"example": EXAMPLE_USCC})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(PUBLIC_RECORD_KINDS),
        metadata={"example": "penalty"},
    )
    change = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([c.value for c in ChangeKind]),
        metadata={"example": "published"},
    )
    at = ma.fields.DateTime(
        required=True, format="iso", metadata={"example": "2026-03-02T09:30:00+00:00"}
    )


class ChangePageSchema(ma.Schema):
    """A page of the change feed."""

    items = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True)
    next_cursor = next_cursor_field()
