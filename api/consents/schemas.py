"""Schemas of consents, as partners and subjects see them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.pagination import next_cursor_field
from api.public.schemas import EXAMPLE_USCC, AwareDateTime
from auth.models import ClientKind
from consent.models import ConsentStatus, Purpose
from credit.disclosure import CATEGORIES

EXAMPLE_CONSENT_ID = "con_5d0c8a1f2e3b4a697c81"
EXAMPLE_SUBJECT_ID = "sub_3f9a0c2e7b1d4a6f8e20"
EXAMPLE_CLIENT_ID = "cli_0f3a9c2e7b1d4a6f8e20"


def _categories(**kwargs: Any) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(CATEGORIES)),
        validate=ma.validate.Length(min=1, max=len(CATEGORIES)),
        metadata={
            "description": "Data categories (DESIGN.md §4): " + ", ".join(CATEGORIES) + ".",
            "example": ["basic", "tax", "judicial"],
        },
        **kwargs,
    )


class SubjectRefSchema(ma.Schema):
    """Whom a consent is asked of: a legal person by code, or a natural person."""

    uscc = ma.fields.String(
        validate=ma.validate.Length(min=1, max=40),
        metadata={
            "description": "A legal person's unified social credit code.",
            "example": EXAMPLE_USCC,
        },
    )
    id_number = ma.fields.String(
        validate=ma.validate.Length(min=1, max=40),
        metadata={
            "description": "A natural person's 18-digit resident identity number (GB 11643). "
            "Sent only in this body, never in a URL; the platform keeps only a keyed hash "
            "and a ciphertext.",
            "example": "370306199001011234",
        },
    )
    name = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "The natural person's name.", "example": "张三"},
    )

    @ma.validates_schema
    def _one_way(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("uscc" in data) == ("id_number" in data):
            raise ma.ValidationError(
                "Name the subject either by `uscc`, or by `id_number` and `name`.", "_schema"
            )
        if "id_number" in data and not (data.get("name") or "").strip():
            raise ma.ValidationError("A natural person is named by `id_number` and `name`.", "name")


class ConsentTermsSchema(ma.Schema):
    """The terms of a consent: categories, purpose, period."""

    categories = _categories(required=True)
    purpose = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([p.value for p in Purpose]),
        metadata={"example": "loan_application"},
    )
    purpose_note = ma.fields.String(
        validate=ma.validate.Length(max=500),
        metadata={
            "description": "Required when `purpose` is `other`; at most 500 characters.",
            "example": "流动资金贷款申请 Working-capital loan application",
        },
    )
    expires_at = AwareDateTime(
        required=True,
        format="iso",
        metadata={
            "description": "When the consent ends (RFC 3339 with offset; at most 12 months away).",
            "example": "2027-05-31T23:59:59+08:00",
        },
    )


class ConsentRequestSchema(ConsentTermsSchema):
    """A partner's request for a subject's consent."""

    subject = ma.fields.Nested(
        SubjectRefSchema, required=True, metadata={"example": {"uscc": EXAMPLE_USCC}}
    )


class GrantSchema(ConsentTermsSchema):
    """A consent the signed-in subject grants on their own initiative."""

    client_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "The partner given the consent.", "example": EXAMPLE_CLIENT_ID},
    )


class ConsentSchema(ma.Schema):
    """A consent, as the partner that asked sees it."""

    consent_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_CONSENT_ID})
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in ConsentStatus]),
        metadata={
            "description": "The status in force now: an authorised consent past `expires_at` "
            "is `expired`.",
            "example": "awaiting_authorisation",
        },
    )
    status_label = ma.fields.String(required=True, metadata={"example": "待授权"})
    subject_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_SUBJECT_ID})
    categories = _categories(required=True)
    purpose = ma.fields.String(required=True, metadata={"example": "loan_application"})
    purpose_label = ma.fields.String(required=True, metadata={"example": "贷款申请"})
    purpose_note = ma.fields.String(allow_none=True, metadata={"example": None})
    requested_at = ma.fields.DateTime(
        required=True, metadata={"example": "2026-11-27T09:30:00+08:00"}
    )
    expires_at = ma.fields.DateTime(
        required=True, metadata={"example": "2027-05-31T23:59:59+08:00"}
    )
    authorised_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    decided_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    revoked_at = ma.fields.DateTime(allow_none=True, metadata={"example": None})
    token_issued = ma.fields.Boolean(
        required=True,
        metadata={"description": "Whether the consent token was already issued.", "example": False},
    )


class PartnerConsentSchema(ConsentSchema):
    """A consent, as the partner that asked sees it, with the subject's approval page."""

    authorize_url = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "While awaiting authorisation: the page where the subject signs in "
            "and approves or rejects. Send the subject there.",
            "example": "https://credit.zhoucun.gov.cn/consents/con_5d0c8a1f2e3b4a697c81",
        },
    )


class ConsentTokenSchema(ma.Schema):
    """The consent token of an authorised consent: shown once, keep it secret."""

    consent_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_CONSENT_ID})
    consent_token = ma.fields.String(
        required=True,
        metadata={
            "description": "Send it in the `Consent-Token` header of each restricted read. "
            "Only its hash is kept: it cannot be shown again.",
            "example": "ct_4pV0r1m2cH3kq9Zs7bN8yWq1eX5tJ6uL0aD2fG3hK4",
        },
    )


class SubjectConsentSchema(ConsentSchema):
    """A consent, as its subject sees it: with the partner's name and kind."""

    client_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_CLIENT_ID})
    client_name = ma.fields.String(required=True, metadata={"example": "周村农商银行"})
    client_kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in ClientKind]),
        metadata={"example": "bank"},
    )
    client_kind_label = ma.fields.String(required=True, metadata={"example": "银行"})


class SubjectConsentPageSchema(ma.Schema):
    """A page of the subject's consents, newest first."""

    items = ma.fields.List(ma.fields.Nested(SubjectConsentSchema), required=True)
    next_cursor = next_cursor_field()


class ReceiptSchema(ma.Schema):
    """A signed consent receipt."""

    consent_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_CONSENT_ID})
    receipt = ma.fields.String(
        required=True,
        metadata={
            "description": "A compact JWS (ES256, `typ: consent-receipt+jwt`) over the "
            "consent's terms, status and ledger entries; verify it with the keys at "
            "`/oauth/jwks` (download it again after a key rotation).",
            "example": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImNvbnNlbnQtcmVjZWlwdCtqd3QifQ.eyJ9.c2ln",
        },
    )


class AccessLogEntrySchema(ma.Schema):
    """One restricted read of the subject's data."""

    at = ma.fields.DateTime(required=True, metadata={"example": "2026-11-27T10:02:11+08:00"})
    report_no = ma.fields.String(required=True, metadata={"example": "XY20261127-9F1C2B7E4D5A"})
    client_id = ma.fields.String(required=True, metadata={"example": EXAMPLE_CLIENT_ID})
    client_name = ma.fields.String(required=True, metadata={"example": "周村农商银行"})
    client_kind = ma.fields.String(required=True, metadata={"example": "bank"})
    basis = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["consent", "legal_basis", "self"]),
        metadata={
            "description": "`consent` (a partner under `consent_id`), `legal_basis` (a "
            "government or judicial read) or `self` (the subject's own read).",
            "example": "consent",
        },
    )
    consent_id = ma.fields.String(allow_none=True, metadata={"example": EXAMPLE_CONSENT_ID})
    legal_basis = ma.fields.String(allow_none=True, metadata={"example": None})
    categories = _categories(required=True)
    request_id = ma.fields.String(
        allow_none=True, metadata={"example": "9f1c2b7e4d5a4e0f8c3b2a1d0e9f8a7b"}
    )


class AccessLogPageSchema(ma.Schema):
    """A page of the access log, newest first."""

    items = ma.fields.List(ma.fields.Nested(AccessLogEntrySchema), required=True)
    next_cursor = next_cursor_field()
