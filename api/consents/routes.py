"""`/v1/consents`: a partner asks a subject for consent, follows it, and takes its token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api.consents.schemas import (
    EXAMPLE_CONSENT_ID,
    ConsentRequestSchema,
    ConsentTokenSchema,
    PartnerConsentSchema,
)
from api.context import current_client, db_session, platform
from api.extensions import Blueprint
from auth import service as auth_service
from consent import service
from consent.errors import InvalidConsentRequest
from consent.models import PURPOSE_LABELS, STATUS_LABELS, Consent, ConsentStatus, Purpose
from credit import clock
from credit import service as credit_service
from credit.identifiers import InvalidIdentifier
from credit.models import Subject
from credit.report import ordered

blp = Blueprint(
    "consents",
    __name__,
    url_prefix="/v1/consents",
    description="Consents: a partner (`consents.request`) asks a subject for consent to read "
    "some categories of their data for a purpose and a period; the subject approves or "
    "rejects at `authorize_url`; the partner then takes the consent token, once.",
)

CONSENT_ID_PARAMETER = {
    "in": "path",
    "name": "consent_id",
    "description": "The consent's id.",
    "example": EXAMPLE_CONSENT_ID,
    "schema": {"type": "string", "maxLength": 40},
}


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def authorize_url(consent: Consent) -> str:
    """The page where the subject signs in and decides."""
    return f"{platform().issuer()}/consents/{consent.consent_id}"


def consent_view(consent: Consent, subject_id: str) -> dict[str, Any]:
    """A consent's public face: its terms and the status in force now."""
    status = consent.status_at(clock.now())
    return {
        "consent_id": consent.consent_id,
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "subject_id": subject_id,
        "categories": ordered(consent.categories),
        "purpose": consent.purpose,
        "purpose_label": PURPOSE_LABELS[Purpose(consent.purpose)],
        "purpose_note": consent.purpose_note,
        "requested_at": consent.requested_at,
        "expires_at": consent.expires_at,
        "authorised_at": consent.authorised_at,
        "decided_at": consent.decided_at,
        "revoked_at": consent.revoked_at,
        "token_issued": consent.token_hash is not None,
    }


def _partner_view(consent: Consent, subject_id: str) -> dict[str, Any]:
    view = consent_view(consent, subject_id)
    awaiting = view["status"] == ConsentStatus.AWAITING_AUTHORISATION.value
    view["authorize_url"] = authorize_url(consent) if awaiting else None
    return view


def _subject_of(body: dict[str, Any]) -> Subject:
    session = db_session()
    field = "subject.uscc" if "uscc" in body else "subject.id_number"
    try:
        if "uscc" in body:
            code = credit_service.check_uscc(db_session=session, raw=body["uscc"])
            return credit_service.get_entity_or_raise(db_session=session, uscc=code)
        return credit_service.natural_person(
            db_session=session,
            identities=platform().identities,
            id_number=body["id_number"],
            name=body["name"],
        )
    except InvalidIdentifier as error:
        raise InvalidConsentRequest({field: [str(error)]}) from error


@blp.route("")
class Consents(MethodView):
    """Consent requests."""

    @blp.requires("consents.request")
    @blp.arguments(ConsentRequestSchema)
    @blp.response(201, PartnerConsentSchema)
    @blp.errors(400, 404, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Ask a subject for consent.

        The subject is a legal person by `uscc` (404 if none is registered), or a natural
        person by `id_number` and `name`. The answer's `authorize_url` is the page where the
        subject signs in and approves or rejects; follow the consent with `GET
        /v1/consents/{consent_id}` and take its token once it is `authorised`.
        """
        session = db_session()
        subject = _subject_of(body["subject"])
        consent = service.request(
            db_session=session,
            subject=subject,
            partner=auth_service.partner_of(current_client()),
            categories=body["categories"],
            purpose=body["purpose"],
            purpose_note=body.get("purpose_note"),
            expires_at=body["expires_at"],
        )
        session.commit()
        return _partner_view(consent, subject.subject_id)


@blp.route("/<string:consent_id>", parameters=[CONSENT_ID_PARAMETER])
class ConsentById(MethodView):
    """One consent the partner asked for."""

    @blp.requires("consents.request")
    @blp.response(200, PartnerConsentSchema)
    @blp.errors(404)
    def get(self, consent_id: str) -> dict[str, Any]:
        """Read a consent you asked for.

        Its status now (`awaiting_authorisation`, `authorised`, `rejected`, `revoked` or
        `expired`), terms and times. Another partner's consent is a 404, like a missing one.
        """
        session = db_session()
        consent = service.get_for_partner(
            db_session=session, consent_id=consent_id, client_id=current_client().client_id
        )
        subject = session.get(Subject, consent.subject_pk)
        assert subject is not None  # noqa: S101  (a foreign key)
        return _partner_view(consent, subject.subject_id)


@blp.route("/<string:consent_id>/token", methods=["POST"], parameters=[CONSENT_ID_PARAMETER])
class ConsentToken(MethodView):
    """The consent token."""

    @blp.requires("consents.request")
    @blp.response(200, ConsentTokenSchema)
    @blp.errors(404, 409, 503)
    def post(self, consent_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Take the consent token of an authorised consent, once.

        Send it with every restricted read in the `Consent-Token` header. It is shown once
        and kept only as a hash: a second call answers 409, as does a call before the subject
        has authorised the consent. It works only with this client's access tokens.
        """
        session = db_session()
        consent = service.get_for_partner(
            db_session=session, consent_id=consent_id, client_id=current_client().client_id
        )
        token = service.issue_token(
            db_session=session, consent=consent, hash_token=platform().oauth.hasher.hash
        )
        session.commit()
        # A secret: no cache may keep it.
        return {"consent_id": consent.consent_id, "consent_token": token}, NO_STORE
