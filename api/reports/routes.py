"""Restricted reads (API.md "Restricted reads"): credit reports, one at a time or in batches.

Each read that returns data is written to the subject's access log, and committed, before the
report leaves: when the entry cannot be written the read answers 503 and returns nothing.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn
from urllib.parse import unquote

from flask import g, request
from flask.views import MethodView
from sqlalchemy.exc import SQLAlchemyError

from api.context import current_client, current_token, db_session, platform
from api.database import one_write_statement, writes_on_read
from api.errors import consent_problem, problem
from api.extensions import Blueprint
from api.reports.schemas import (
    EXAMPLE_SUBJECT_ID,
    BatchRequestSchema,
    BatchResponseSchema,
    ReportArgsSchema,
    ReportSchema,
)
from auth import service as auth_service
from consent import access_log, reads
from consent.errors import ConsentError, NotAReader
from consent.service import PARTNER_KINDS
from credit import clock, report

log = logging.getLogger(__name__)

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/v1/subjects",
    description="Restricted reads: a subject's credit report, only under the subject's "
    "consent (partners), a stated legal basis within the registered grants (government and "
    "judicial clients), or the subject's own sign-in. Every read that returns data is in the "
    "subject's access log.",
)

CONSENT_TOKEN_HEADER = {
    "in": "header",
    "name": "Consent-Token",
    "required": False,
    "description": "Partners: the consent token of an authorised consent of this subject, "
    "from `POST /v1/consents/{consent_id}/token`.",
    "schema": {"type": "string", "maxLength": 200},
}
LEGAL_BASIS_HEADER = {
    "in": "header",
    "name": "Legal-Basis",
    "required": False,
    "description": "Government and judicial clients: the legal basis of the read, 1–500 "
    "characters (UTF-8; or percent-encoded UTF-8 after the prefix `UTF-8''`, RFC 8187). "
    "Shown to the subject in their access log.",
    "schema": {"type": "string", "maxLength": 1600},
    # Header examples must be ASCII (RFC 9110 §5.5): the percent-encoded form of 民事诉讼法.
    "example": "UTF-8''%E6%B0%91%E4%BA%8B%E8%AF%89%E8%AE%BC%E6%B3%95",
}
SUBJECT_ID_PARAMETER = {
    "in": "path",
    "name": "subject_id",
    "description": "The subject's platform id.",
    "example": EXAMPLE_SUBJECT_ID,
    "schema": {"type": "string", "maxLength": 64},
}


class AccessLogUnavailable(Exception):
    """The access-log entry could not be written: the report must not be served."""


def legal_basis_header() -> str | None:
    """The `Legal-Basis` header as text: raw UTF-8, or RFC 8187 percent-encoding."""
    raw = request.headers.get("Legal-Basis")
    if raw is None:
        return None
    if raw[:7].upper() == "UTF-8''":
        return unquote(raw[7:], encoding="utf-8", errors="replace")
    try:
        # WSGI hands header bytes over as latin-1: UTF-8 text arrives mis-decoded.
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def _ask(
    subject_id: str,
    categories: list[str] | None,
    consent_token: str | None,
    legal_basis: str | None,
) -> reads.ReadRequest:
    client = current_client()
    claims = current_token()
    return reads.ReadRequest(
        reader=auth_service.reader_of(client),
        token_scopes=frozenset(str(claims.get("scope") or "").split()),
        token_subject=str(claims.get("sub")),
        granted_categories=tuple(client.categories or ()),
        subject_id=subject_id,
        categories=categories,
        consent_token=consent_token,
        legal_basis=legal_basis,
    )


def _serve(grant: reads.ReadGrant, reader: access_log.Reader) -> dict[str, Any]:
    """The report of a granted read, with its access-log entry added (not yet committed)."""
    now = clock.now()
    report_no = access_log.new_report_no()
    body: dict[str, Any] = {
        "report_no": report_no,
        "generated_at": now,
        "basis": grant.basis.value,
        "consent_id": grant.consent_id,
        "legal_basis": grant.legal_basis,
        "subject": report.subject_summary(grant.subject),
        "categories": grant.categories,
    }
    body.update(
        report.build(
            db_session=db_session(),
            subject=grant.subject,
            categories=grant.categories,
            today=clock.today(),
            read_id_number=platform().identities.decrypt,
        )
    )
    try:
        access_log.record(
            db_session=db_session(),
            subject=grant.subject,
            reader=reader,
            basis=grant.basis,
            categories=grant.categories,
            report_no=report_no,
            consent_id=grant.consent_id,
            legal_basis=grant.legal_basis,
            request_id=g.get("request_id"),
        )
    except SQLAlchemyError as error:
        _withhold(error)
    return body


def _withhold(error: SQLAlchemyError) -> NoReturn:
    db_session().rollback()
    log.error("access log write failed; report withheld", exc_info=error)
    raise AccessLogUnavailable from error


def _commit_access_log() -> None:
    try:
        db_session().commit()
    except SQLAlchemyError as error:
        _withhold(error)


def _unavailable() -> Any:
    return problem(
        503,
        "The read could not be recorded in the subject's access log, so no data was returned. "
        "Retry in a moment; if this persists, quote the request id to the operator.",
        slug="access-log-unavailable",
        headers={"Retry-After": "1"},
    )


# The headers are path-level parameters: an operation's own `parameters` would replace the
# query parameters flask-smorest documents from ReportArgsSchema.
@blp.route(
    "/<string:subject_id>/report",
    parameters=[SUBJECT_ID_PARAMETER, CONSENT_TOKEN_HEADER, LEGAL_BASIS_HEADER],
)
class SubjectReport(MethodView):
    """A subject's credit report."""

    @blp.requires()
    @blp.arguments(ReportArgsSchema, location="query")
    @blp.response(200, ReportSchema)
    @blp.errors(400, 404, 503)
    @writes_on_read
    @one_write_statement
    def get(self, args: dict[str, Any], subject_id: str) -> Any:
        """Read a subject's credit report.

        Partners (scopes `credit.<category>`) send the consent token in `Consent-Token`;
        the read is served only under an authorised, unexpired consent of this subject to this
        client covering every category asked for, and otherwise answers 403 without saying
        anything of the subject. Government and judicial clients state a `Legal-Basis` and read
        within the categories granted at registration (404 for an unknown subject). A signed-in
        subject (`subject`) reads their own full report. The body holds one key per category
        served, and `report_no`, also in the subject's access log.
        """
        grant = reads.authorise(
            db_session=db_session(),
            ask=_ask(
                subject_id,
                args.get("categories"),
                request.headers.get("Consent-Token"),
                legal_basis_header(),
            ),
            hash_token=platform().oauth.hasher.hash,
        )
        try:
            body = _serve(grant, auth_service.reader_of(current_client()))
            _commit_access_log()
        except AccessLogUnavailable:
            return _unavailable()
        return body


@blp.route("/reports:batch", methods=["POST"])
class BatchReports(MethodView):
    """Many subjects' reports at once."""

    @blp.requires()
    @blp.arguments(BatchRequestSchema)
    @blp.response(200, BatchResponseSchema)
    @blp.errors(400, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """Read up to 100 reports, each under its own consent token.

        For partners. Each item is checked like a single read; the results come back in the
        order of the items, each `{"status": 200, "report": {...}}` or `{"status": 4xx,
        "problem": {...}}`. Every report served is in its subject's access log before the
        answer is sent; if the log cannot be written the whole batch answers 503.
        """
        client = current_client()
        if client.kind not in PARTNER_KINDS:
            raise NotAReader(client.kind)
        reader = auth_service.reader_of(client)
        hasher = platform().oauth.hasher.hash
        try:
            results = self._read_each(body["items"], reader, hasher)
            _commit_access_log()
        except AccessLogUnavailable:
            return _unavailable()
        return {"results": results}

    @staticmethod
    def _read_each(
        items: list[dict[str, Any]], reader: access_log.Reader, hasher: Any
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for item in items:
            try:
                grant = reads.authorise(
                    db_session=db_session(),
                    ask=_ask(
                        item["subject_id"], item.get("categories"), item["consent_token"], None
                    ),
                    hash_token=hasher,
                )
            except ConsentError as error:
                status, document, _headers = consent_problem(error)
                results.append({"status": status, "problem": document})
                continue
            results.append({"status": 200, "report": _serve(grant, reader)})
        return results
