"""Schemas of credit reports and batch reads."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.errors import ProblemSchema
from api.public.schemas import MoneySchema, PublicRecordSchema
from credit.disclosure import CATEGORIES
from credit.models import RecordKind, SubjectKind

EXAMPLE_SUBJECT_ID = "sub_3f9a0c2e7b1d4a6f8e20"


class CategoriesField(ma.fields.Field):
    """A comma-separated list of categories in a query string."""

    default_error_messages = {  # noqa: RUF012  (marshmallow's own class-level convention)
        "unknown": "Unknown categories: {unknown}. Choose from: " + ", ".join(CATEGORIES) + ".",
        "empty": "Name at least one category, or leave the parameter out for all of them.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, str):
            raise self.make_error("empty")
        names = [part.strip() for part in value.split(",") if part.strip()]
        if not names:
            raise self.make_error("empty")
        unknown = sorted({n for n in names if n not in CATEGORIES})
        if unknown:
            raise self.make_error("unknown", unknown=", ".join(n[:40] for n in unknown[:6]))
        return [c for c in CATEGORIES if c in set(names)]


class ReportArgsSchema(ma.Schema):
    """Which categories to read."""

    categories = CategoriesField(
        metadata={
            "description": "Comma-separated categories; omitted: every category the consent "
            "or grant covers. Asking for one not covered answers 403.",
            "example": "basic,tax",
        }
    )


class ReportSubjectSchema(ma.Schema):
    """Whom a report is about."""

    subject_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_SUBJECT_ID})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in SubjectKind]),
        metadata={"example": "enterprise"},
    )
    kind_label = ma.fields.String(required=True, metadata={"example": "企业"})
    name = ma.fields.String(required=True, metadata={"example": "淄博市周村区鑫瑞丝绸有限公司"})
    uscc = ma.fields.String(metadata={"example": "91370306MA3C4N2P50"})


class BasicSectionSchema(ma.Schema):
    """`basic`: full registration data of a legal person, or a natural person's identity."""

    uscc = ma.fields.String(allow_none=True, metadata={"example": "91370306MA3C4N2P50"})
    name = ma.fields.String(required=True, metadata={"example": "淄博市周村区鑫瑞丝绸有限公司"})
    id_number_masked = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Natural persons: the identity number with all but the region code "
            "and the last four characters hidden.",
            "example": "370306********123X",
        },
    )
    legal_representative = ma.fields.String(allow_none=True, metadata={"example": "王建国"})
    established_on = ma.fields.Date(allow_none=True, metadata={"example": "2012-03-15"})
    registered_capital = ma.fields.Nested(MoneySchema, allow_none=True)
    address = ma.fields.String(allow_none=True, metadata={"example": "淄博市周村区丝绸路88号"})
    registration_authority = ma.fields.String(
        allow_none=True, metadata={"example": "淄博市周村区市场监督管理局"}
    )
    status = ma.fields.String(allow_none=True, metadata={"example": "active"})
    status_label = ma.fields.String(allow_none=True, metadata={"example": "存续"})
    business_scope = ma.fields.String(allow_none=True, metadata={"example": "丝绸制品加工、销售。"})
    contact_phone = ma.fields.String(allow_none=True, metadata={"example": "0533-6412345"})


class ReportRecordSchema(PublicRecordSchema):
    """A record in a report: any kind, public today or not."""

    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in RecordKind]),
        metadata={"example": "penalty"},
    )
    public = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "Whether the record is in the public views today (false for records "
            "past their publication period and for restricted kinds).",
            "example": False,
        },
    )


EXAMPLE_RECORD = {
    "record_id": "rec_8b1e5c0f2a9d4e7b6c31",
    "kind": "penalty",
    "kind_label": "行政处罚",
    "document_no": "周市监罚〔2024〕0123号",
    "title": "经营超过保质期的食品案",
    "decided_on": "2024-06-12",
    "department": "淄博市周村区市场监督管理局",
    "publish_until": "2025-06-11",
    "public": False,
    "disputed": False,
    "details": {"fine_amount": "5000.00", "severity": "general"},
}


class RecordsSectionSchema(ma.Schema):
    """A category's records, newest decision first (withdrawn records are left out)."""

    records = ma.fields.List(
        ma.fields.Nested(ReportRecordSchema), required=True, metadata={"example": [EXAMPLE_RECORD]}
    )


class TaxSectionSchema(RecordsSectionSchema):
    """`tax`: the latest tax credit level and the tax records."""

    level = ma.fields.String(
        allow_none=True,
        metadata={"description": "The latest tax credit level: A, B, M, C or D.", "example": "B"},
    )


class ReportSchema(ma.Schema):
    """A credit report: only the categories served, one top-level key each."""

    report_no = ma.fields.String(
        required=True,
        metadata={
            "description": "The report's number, also in the subject's access log.",
            "example": "XY20261127-9F1C2B7E4D5A",
        },
    )
    generated_at = ma.fields.DateTime(
        required=True, metadata={"example": "2026-11-27T10:02:11+08:00"}
    )
    basis = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["consent", "legal_basis", "self"]),
        metadata={"example": "consent"},
    )
    consent_id = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The consent the report was served under.",
            "example": "con_5d0c8a1f2e3b4a697c81",
        },
    )
    legal_basis = ma.fields.String(
        allow_none=True,
        metadata={"description": "The legal basis a government or judicial client stated."},
    )
    subject = ma.fields.Nested(ReportSubjectSchema, required=True)
    categories = ma.fields.List(
        ma.fields.String(), required=True, metadata={"example": ["basic", "tax"]}
    )
    basic = ma.fields.Nested(BasicSectionSchema)
    administrative = ma.fields.Nested(RecordsSectionSchema)
    lists = ma.fields.Nested(RecordsSectionSchema)
    tax = ma.fields.Nested(TaxSectionSchema)
    judicial = ma.fields.Nested(RecordsSectionSchema)
    social_insurance = ma.fields.Nested(RecordsSectionSchema)


class BatchItemSchema(ma.Schema):
    """One read of a batch."""

    subject_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"example": EXAMPLE_SUBJECT_ID},
    )
    consent_token = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"example": "ct_4pV0r1m2cH3kq9Zs7bN8yWq1eX5tJ6uL0aD2fG3hK4"},
    )
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(CATEGORIES)),
        validate=ma.validate.Length(min=1, max=len(CATEGORIES)),
        metadata={"description": "Omitted: every category the consent covers.", "example": ["tax"]},
    )


class BatchRequestSchema(ma.Schema):
    """Up to 100 reads, each under its own consent token."""

    items = ma.fields.List(
        ma.fields.Nested(BatchItemSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=100),
    )


class BatchResultSchema(ma.Schema):
    """The outcome of one read: a report, or the problem that refused it."""

    status = ma.fields.Integer(required=True, metadata={"example": 200})
    report = ma.fields.Nested(ReportSchema)
    problem = ma.fields.Nested(ProblemSchema)


class BatchResponseSchema(ma.Schema):
    """One result per item, in the order of the request."""

    results = ma.fields.List(
        ma.fields.Nested(BatchResultSchema),
        required=True,
        metadata={
            "example": [
                {
                    "status": 200,
                    "report": {
                        "report_no": "XY20261127-9F1C2B7E4D5A",
                        "generated_at": "2026-11-27T02:02:11+00:00",
                        "basis": "consent",
                        "consent_id": "con_5d0c8a1f2e3b4a697c81",
                        "legal_basis": None,
                        "subject": {
                            "subject_id": EXAMPLE_SUBJECT_ID,
                            "kind": "enterprise",
                            "kind_label": "企业",
                            "name": "淄博市周村区鑫瑞丝绸有限公司",
                            "uscc": "91370306MA3C4N2P50",
                        },
                        "categories": ["administrative"],
                        "administrative": {"records": [EXAMPLE_RECORD]},
                    },
                },
                {
                    "status": 403,
                    "problem": {
                        "type": "urn:xinyong:problem:consent-required",
                        "title": "Forbidden",
                        "status": 403,
                        "detail": "No authorised consent covers this read.",
                    },
                },
            ]
        },
    )
