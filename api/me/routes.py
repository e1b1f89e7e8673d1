"""`/v1/me`: the signed-in subject, their consents, receipts and access log."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from api.consents.routes import CONSENT_ID_PARAMETER, consent_view
from api.consents.schemas import (
    AccessLogPageSchema,
    GrantSchema,
    ReceiptSchema,
    SubjectConsentPageSchema,
    SubjectConsentSchema,
)
from api.context import current_subject, db_session, platform
from api.extensions import Blueprint
from api.pagination import PageArgsSchema
from api.paging import page_of, position_after
from auth import service as auth_service
from auth.models import CLIENT_KIND_LABELS, Client, ClientKind
from consent import access_log, receipts, service
from consent.errors import InvalidConsentRequest
from consent.models import AccessLogEntry, Consent
from credit.models import Subject, SubjectKind

blp = Blueprint(
    "me",
    __name__,
    url_prefix="/v1/me",
    description="The signed-in subject's own data: consents given and asked for, receipts, "
    "and the log of every restricted read (`subject` scope, from the subject sign-in flow).",
)


class MeSchema(ma.Schema):
    """The signed-in subject."""

    subject_id = ma.fields.String(required=True, metadata={"example": "sub_3f9a0c2e7b1d4a6f8e20"})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in SubjectKind]),
        metadata={"example": "enterprise"},
    )
    kind_label = ma.fields.String(required=True, metadata={"example": "企业"})
    name = ma.fields.String(required=True, metadata={"example": "淄博市周村区鑫瑞丝绸有限公司"})
    uscc = ma.fields.String(allow_none=True, metadata={"example": "91370306MA3C4N2P50"})


@blp.route("")
class Me(MethodView):
    """The signed-in subject."""

    @blp.requires("subject")
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """Read who is signed in.

        The subject of a token from the subject sign-in flow (`portal` or `xinyong-cli`): its
        platform id, kind, name, and code for a legal person. Identity numbers are never shown.
        """
        subject = current_subject()
        return {
            "subject_id": subject.subject_id,
            "kind": subject.kind,
            "kind_label": subject.kind_label,
            "name": subject.name,
            "uscc": subject.uscc,
        }


def _clients(consents: list[Consent]) -> dict[str, Client]:
    ids = {c.client_id for c in consents}
    return auth_service.clients_by_id(db_session=db_session(), client_ids=ids)


def _subject_view(consent: Consent, subject: Subject, client: Client | None) -> dict[str, Any]:
    view = consent_view(consent, subject.subject_id)
    kind = ClientKind(client.kind) if client else None
    view.update(
        client_id=consent.client_id,
        client_name=client.name if client else consent.client_id,
        client_kind=kind.value if kind else "",
        client_kind_label=CLIENT_KIND_LABELS[kind] if kind else "",
    )
    return view


def _one(consent: Consent, subject: Subject) -> dict[str, Any]:
    return _subject_view(consent, subject, _clients([consent]).get(consent.client_id))


@blp.route("/consents")
class MyConsents(MethodView):
    """The subject's consents."""

    @blp.requires("subject")
    @blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, SubjectConsentPageSchema)
    @blp.errors(400)
    def get(self, page_size: int, cursor: str | None = None) -> dict[str, Any]:
        """List your consents.

        Every consent you were asked for or gave, in any status, newest first, with the
        partner's name and kind.
        """
        subject = current_subject()
        filters = {"subject": subject.subject_id}
        before = position_after(cursor, "my-consents", filters, lambda p: int(p[0]))
        rows = service.list_for_subject(
            db_session=db_session(), subject=subject, before_id=before, limit=page_size + 1
        )
        page, next_cursor = page_of(rows, page_size, "my-consents", filters, lambda c: [c.id])
        clients = _clients(list(page))
        return {
            "items": [_subject_view(c, subject, clients.get(c.client_id)) for c in page],
            "next_cursor": next_cursor,
        }

    @blp.requires("subject")
    @blp.arguments(GrantSchema)
    @blp.response(201, SubjectConsentSchema)
    @blp.errors(400, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Grant a consent on your own initiative.

        The partner `client_id` may read the `categories` for the `purpose` until
        `expires_at` (at most 12 months); the consent is `authorised` at once, and the
        partner takes its token with `POST /v1/consents/{consent_id}/token`.
        """
        session = db_session()
        subject = current_subject()
        client = auth_service.get_client(db_session=session, client_id=body["client_id"])
        if client is None:
            raise InvalidConsentRequest({"client_id": ["No partner is registered under this id."]})
        consent = service.grant(
            db_session=session,
            subject=subject,
            partner=auth_service.partner_of(client),
            categories=body["categories"],
            purpose=body["purpose"],
            purpose_note=body.get("purpose_note"),
            expires_at=body["expires_at"],
        )
        session.commit()
        return _subject_view(consent, subject, client)


def _decide(consent_id: str, decision: str) -> dict[str, Any]:
    session = db_session()
    subject = current_subject()
    consent = service.get_for_subject(db_session=session, consent_id=consent_id, subject=subject)
    if decision == "approve":
        client = auth_service.get_client(db_session=session, client_id=consent.client_id)
        if client is None:
            raise InvalidConsentRequest({"client_id": ["The partner is no longer registered."]})
        service.approve(
            db_session=session, consent=consent, partner=auth_service.partner_of(client)
        )
    elif decision == "reject":
        service.reject(db_session=session, consent=consent)
    else:
        service.revoke(db_session=session, consent=consent)
    session.commit()
    return _one(consent, subject)


_MY_CONSENT = {"parameters": [CONSENT_ID_PARAMETER]}


@blp.route("/consents/<string:consent_id>/approve", methods=["POST"], **_MY_CONSENT)
class ApproveConsent(MethodView):
    """Approve a consent request."""

    @blp.requires("subject")
    @blp.response(200, SubjectConsentSchema)
    @blp.errors(404, 409, 503)
    def post(self, consent_id: str) -> dict[str, Any]:
        """Approve a pending consent request.

        The partner may then take the consent token and read the consented categories until
        the consent expires or you revoke it. 409 if it is not awaiting your decision, or the
        partner is suspended.
        """
        return _decide(consent_id, "approve")


@blp.route("/consents/<string:consent_id>/reject", methods=["POST"], **_MY_CONSENT)
class RejectConsent(MethodView):
    """Reject a consent request."""

    @blp.requires("subject")
    @blp.response(200, SubjectConsentSchema)
    @blp.errors(404, 409, 503)
    def post(self, consent_id: str) -> dict[str, Any]:
        """Reject a pending consent request.

        The partner learns the request was rejected and can read nothing under it. 409 if it
        is not awaiting your decision.
        """
        return _decide(consent_id, "reject")


@blp.route("/consents/<string:consent_id>/revoke", methods=["POST"], **_MY_CONSENT)
class RevokeConsent(MethodView):
    """Revoke a consent."""

    @blp.requires("subject")
    @blp.response(200, SubjectConsentSchema)
    @blp.errors(404, 409, 503)
    def post(self, consent_id: str) -> dict[str, Any]:
        """Revoke a consent.

        From the very next request, on every server, the partner can read nothing more under
        it; what it already read stays in your access log. Works for pending and authorised
        consents, and for suspended partners too. 409 if it already ended.
        """
        return _decide(consent_id, "revoke")


@blp.route("/consents/<string:consent_id>/receipt", **_MY_CONSENT)
class ConsentReceipt(MethodView):
    """A consent's signed receipt."""

    @blp.requires("subject")
    @blp.response(200, ReceiptSchema)
    @blp.errors(404)
    def get(self, consent_id: str) -> dict[str, Any]:
        """Download a signed receipt of a consent.

        A JWS (ES256, `typ: consent-receipt+jwt`) of the consent's terms, its status now, and
        the hashes of its entries in the consent ledger, signed with the key published at
        `/oauth/jwks`.
        """
        session = db_session()
        subject = current_subject()
        consent = service.get_for_subject(
            db_session=session, consent_id=consent_id, subject=subject
        )
        client = _clients([consent]).get(consent.client_id)
        claims = receipts.claims(
            db_session=session,
            consent=consent,
            subject=subject,
            client_name=client.name if client else consent.client_id,
            client_kind=client.kind if client else "",
            issuer=platform().issuer(),
        )
        payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode()
        jws = platform().oauth.keys.sign(payload, typ=receipts.RECEIPT_TYPE)
        return {"consent_id": consent.consent_id, "receipt": jws}


def _access_entry(entry: AccessLogEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "report_no": entry.report_no,
        "client_id": entry.client_id,
        "client_name": entry.client_name,
        "client_kind": entry.client_kind,
        "basis": entry.basis,
        "consent_id": entry.consent_id,
        "legal_basis": entry.legal_basis,
        "categories": list(entry.categories),
        "request_id": entry.request_id,
    }


@blp.route("/access-log")
class MyAccessLog(MethodView):
    """Who read your data."""

    @blp.requires("subject")
    @blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, AccessLogPageSchema)
    @blp.errors(400)
    def get(self, page_size: int, cursor: str | None = None) -> dict[str, Any]:
        """List every restricted read of your data.

        Each read that returned data, newest first: when, which client, under which consent
        or stated legal basis, which categories, and the request id.
        """
        subject = current_subject()
        filters = {"subject": subject.subject_id}
        before = position_after(cursor, "access-log", filters, lambda p: int(p[0]))
        rows = access_log.list_for_subject(
            db_session=db_session(), subject=subject, before_id=before, limit=page_size + 1
        )
        page, next_cursor = page_of(rows, page_size, "access-log", filters, lambda e: [e.id])
        return {"items": [_access_entry(e) for e in page], "next_cursor": next_cursor}
