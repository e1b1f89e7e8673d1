"""Objections and credit repair: subjects file them from their dashboard (`/v1/me/...`), the
record's department answers them (`/v1/objections/...`, `/v1/repairs/...`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import g
from flask.views import MethodView

from api.audit import audited
from api.cache import public_cache
from api.context import current_department, current_subject, db_session
from api.extensions import Blueprint
from api.objections.schemas import (
    ObjectionFilingSchema,
    ObjectionPageSchema,
    ObjectionQueryArgsSchema,
    ObjectionSchema,
    RepairDecisionSchema,
    RepairFilingSchema,
    RepairPageSchema,
    RepairQueryArgsSchema,
    RepairSchema,
    ResolutionSchema,
)
from api.paging import page_of, position_after
from credit import objections, repair
from credit import service as credit_service
from credit.models import Objection, ObjectionStatus, Record, RepairRequest, RepairStatus

blp = Blueprint(
    "objections",
    __name__,
    url_prefix="/v1",
    description="Departments answer the objections and credit-repair requests about their "
    "records (`objections.resolve`, `records.write`).",
)
me_blp = Blueprint(
    "my-objections-and-repairs",
    __name__,
    url_prefix="/v1/me",
    description="The signed-in subject objects to their records and asks for credit repair "
    "(`subject` scope); each request and its outcome is listed here.",
)


def _param(name: str, example: str, what: str) -> dict[str, Any]:
    return {
        "parameters": [
            {
                "in": "path",
                "name": name,
                "description": what,
                "example": example,
                "schema": {"type": "string", "maxLength": 40},
            }
        ]
    }


OBJECTION_ID = _param("objection_id", "obj_4c2e9a0f7b1d3e5a6c80", "The objection's id.")
REPAIR_ID = _param("repair_id", "rep_9d0e1f2a3b4c5d6e7f80", "The repair request's id.")


def _case(record: Record, case: Objection | RepairRequest) -> dict[str, Any]:
    return {
        "record_id": record.record_id,
        "record_kind": record.kind,
        "record_title": record.title,
        "department": record.department,
        "reason": case.reason,
        "note": case.note,
        "filed_at": case.filed_at,
        "status": case.status,
    }


def _objection(objection: Objection, record: Record) -> dict[str, Any]:
    return {
        **_case(record, objection),
        "objection_id": objection.objection_id,
        "resolved_at": objection.resolved_at,
        "linked_version": objection.change_version,
        "record_disputed": record.disputed,
    }


def _repair(request: RepairRequest, record: Record) -> dict[str, Any]:
    return {
        **_case(record, request),
        "repair_id": request.repair_id,
        "decided_at": request.decided_at,
        "publish_until": record.publish_until,
    }


def _records(cases: Sequence[Objection | RepairRequest]) -> dict[int, Record]:
    return objections.records_of(db_session=db_session(), record_pks={c.record_pk for c in cases})


# --- the subject's side -----------------------------------------------------------------------


@me_blp.route("/objections")
class MyObjections(MethodView):
    """Your objections."""

    @me_blp.requires("subject")
    @me_blp.arguments(ObjectionQueryArgsSchema, location="query", as_kwargs=True)
    @me_blp.response(200, ObjectionPageSchema)
    @me_blp.errors(400)
    def get(self, page_size: int, cursor: str | None = None, status: str | None = None) -> Any:
        """List your objections.

        Newest first, each with its outcome: `pending` until the department answers, then
        `upheld` (with the correction or withdrawal it led to) or `dismissed` (with a note).
        """
        subject = current_subject()
        filters = {"subject": subject.subject_id, "status": status}
        before = position_after(cursor, "my-objections", filters, lambda p: int(p[0]))
        rows = objections.list_for_subject(
            db_session=db_session(),
            subject=subject,
            status=ObjectionStatus(status) if status else None,
            before_id=before,
            limit=page_size + 1,
        )
        page, next_cursor = page_of(rows, page_size, "my-objections", filters, lambda o: [o.id])
        records = _records(page)
        return {
            "items": [_objection(o, records[o.record_pk]) for o in page],
            "next_cursor": next_cursor,
        }

    @me_blp.requires("subject")
    @me_blp.arguments(ObjectionFilingSchema)
    @me_blp.response(201, ObjectionSchema)
    @me_blp.errors(400, 404, 409, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """Object to one of your records.

        The record shows `disputed: true` in every view, public and restricted, until its
        department resolves the objection. One objection per record at a time (409 while
        one is pending); 404 if the record is not yours.
        """
        session = db_session()
        subject = current_subject()
        objection = objections.file(
            db_session=session,
            subject=subject,
            record_id=body["record_id"],
            reason=body["reason"].strip(),
        )
        record = _records([objection])[objection.record_pk]
        audited(
            "objection.file", target=objection.objection_id, subject=subject,
            details={"record_id": record.record_id},
        )  # fmt: skip
        session.commit()
        # `disputed` shows in the public records.
        public_cache().invalidate([credit_service.uscc_of(db_session=session, record=record)])
        return _objection(objection, record)


@me_blp.route("/objections/<string:objection_id>", **OBJECTION_ID)
class MyObjection(MethodView):
    """One of your objections."""

    @me_blp.requires("subject")
    @me_blp.response(200, ObjectionSchema)
    @me_blp.errors(404)
    def get(self, objection_id: str) -> Any:
        """Read one of your objections.

        Its status and, once resolved, the department's note and the change it led to.
        """
        objection = objections.get_for_subject(
            db_session=db_session(), subject=current_subject(), objection_id=objection_id
        )
        return _objection(objection, _records([objection])[objection.record_pk])


@me_blp.route("/repairs")
class MyRepairs(MethodView):
    """Your credit-repair requests."""

    @me_blp.requires("subject")
    @me_blp.arguments(RepairQueryArgsSchema, location="query", as_kwargs=True)
    @me_blp.response(200, RepairPageSchema)
    @me_blp.errors(400)
    def get(self, page_size: int, cursor: str | None = None, status: str | None = None) -> Any:
        """List your credit-repair requests.

        Newest first, each with its decision and the record's last public day.
        """
        subject = current_subject()
        filters = {"subject": subject.subject_id, "status": status}
        before = position_after(cursor, "my-repairs", filters, lambda p: int(p[0]))
        rows = repair.list_for_subject(
            db_session=db_session(),
            subject=subject,
            status=RepairStatus(status) if status else None,
            before_id=before,
            limit=page_size + 1,
        )
        page, next_cursor = page_of(rows, page_size, "my-repairs", filters, lambda r: [r.id])
        records = _records(page)
        return {
            "items": [_repair(r, records[r.record_pk]) for r in page],
            "next_cursor": next_cursor,
        }

    @me_blp.requires("subject")
    @me_blp.arguments(RepairFilingSchema)
    @me_blp.response(201, RepairSchema)
    @me_blp.errors(400, 404, 409, 503)
    def post(self, body: dict[str, Any]) -> Any:
        """Ask for credit repair of one of your penalties.

        Possible once the minimum publication period has passed (three months after the
        decision; one year for special equipment, work safety and fire safety), while the
        penalty is still published: 409 otherwise, saying from when. The department decides;
        an approval ends the publication at once.
        """
        session = db_session()
        subject = current_subject()
        request = repair.file(
            db_session=session,
            subject=subject,
            record_id=body["record_id"],
            reason=body["reason"].strip(),
        )
        record = _records([request])[request.record_pk]
        audited(
            "repair.file", target=request.repair_id, subject=subject,
            details={"record_id": record.record_id},
        )  # fmt: skip
        session.commit()
        public_cache().invalidate([credit_service.uscc_of(db_session=session, record=record)])
        return _repair(request, record)


@me_blp.route("/repairs/<string:repair_id>", **REPAIR_ID)
class MyRepair(MethodView):
    """One of your credit-repair requests."""

    @me_blp.requires("subject")
    @me_blp.response(200, RepairSchema)
    @me_blp.errors(404)
    def get(self, repair_id: str) -> Any:
        """Read one of your credit-repair requests.

        Its status and, once decided, the department's note and the record's last public day.
        """
        request = repair.get_for_subject(
            db_session=db_session(), subject=current_subject(), repair_id=repair_id
        )
        return _repair(request, _records([request])[request.record_pk])


# --- the department's side --------------------------------------------------------------------


@blp.route("/objections")
class Objections(MethodView):
    """Objections to your department's records."""

    @blp.requires("objections.resolve")
    @blp.arguments(ObjectionQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ObjectionPageSchema)
    @blp.errors(400)
    def get(self, page_size: int, cursor: str | None = None, status: str | None = None) -> Any:
        """List the objections to your department's records.

        Oldest first, so that `?status=pending` is the queue to work through.
        """
        department = current_department()
        filters = {"department": department.client_id, "status": status}
        after = position_after(cursor, "objections", filters, lambda p: int(p[0]))
        rows = objections.list_for_department(
            db_session=db_session(),
            department=department.name,
            status=ObjectionStatus(status) if status else None,
            after_id=after,
            limit=page_size + 1,
        )
        page, next_cursor = page_of(rows, page_size, "objections", filters, lambda o: [o.id])
        records = _records(page)
        return {
            "items": [_objection(o, records[o.record_pk]) for o in page],
            "next_cursor": next_cursor,
        }


@blp.route("/objections/<string:objection_id>/resolve", methods=["POST"], **OBJECTION_ID)
class ObjectionResolution(MethodView):
    """Resolve an objection."""

    @blp.requires("objections.resolve")
    @blp.arguments(ResolutionSchema)
    @blp.response(200, ObjectionSchema)
    @blp.errors(400, 404, 409, 503)
    def post(self, body: dict[str, Any], objection_id: str) -> Any:
        """Uphold or dismiss an objection to one of your records.

        Either clears the record's `disputed` flag and is shown to the subject with your note.
        After `upheld`, correct (`PUT /v1/ingest/records/{record_id}`) or withdraw the record:
        the objection links that change (or the one you made since it was filed). 409 if it
        was resolved already; 404 if the record is not your department's.
        """
        department = current_department()
        session = db_session()
        objection, record = objections.resolve(
            db_session=session,
            department=department.name,
            objection_id=objection_id,
            outcome=ObjectionStatus(body["outcome"]),
            note=body["note"].strip(),
            resolved_by=department.client_id,
        )
        audited(
            "objection.resolve", target=objection_id,
            details={"record_id": record.record_id, "outcome": objection.status},
        )  # fmt: skip
        session.commit()
        # `disputed` shows in the public records.
        public_cache().invalidate([credit_service.uscc_of(db_session=session, record=record)])
        return _objection(objection, record)


@blp.route("/repairs")
class Repairs(MethodView):
    """Credit-repair requests about your department's records."""

    @blp.requires("records.write")
    @blp.arguments(RepairQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, RepairPageSchema)
    @blp.errors(400)
    def get(self, page_size: int, cursor: str | None = None, status: str | None = None) -> Any:
        """List the credit-repair requests about your department's records.

        Oldest first, so that `?status=pending` is the queue to work through.
        """
        department = current_department()
        filters = {"department": department.client_id, "status": status}
        after = position_after(cursor, "repairs", filters, lambda p: int(p[0]))
        rows = repair.list_for_department(
            db_session=db_session(),
            department=department.name,
            status=RepairStatus(status) if status else None,
            after_id=after,
            limit=page_size + 1,
        )
        page, next_cursor = page_of(rows, page_size, "repairs", filters, lambda r: [r.id])
        records = _records(page)
        return {
            "items": [_repair(r, records[r.record_pk]) for r in page],
            "next_cursor": next_cursor,
        }


@blp.route("/repairs/<string:repair_id>/decide", methods=["POST"], **REPAIR_ID)
class RepairDecision(MethodView):
    """Decide a credit-repair request."""

    @blp.requires("records.write")
    @blp.arguments(RepairDecisionSchema)
    @blp.response(200, RepairSchema)
    @blp.errors(400, 404, 409, 503)
    def post(self, body: dict[str, Any], repair_id: str) -> Any:
        """Approve or deny a credit-repair request about one of your records.

        `approved` ends the record's publication today: it leaves every public view at once
        (the change feed shows a correction), while partners under consent still see it in
        `administrative`. 409 if it was decided already; 404 if the record is not yours.
        """
        department = current_department()
        session = db_session()
        request, record = repair.decide(
            db_session=session,
            department=department.name,
            repair_id=repair_id,
            decision=RepairStatus(body["decision"]),
            note=body["note"].strip(),
            decided_by=department.client_id,
            request_id=g.get("request_id"),
        )
        audited(
            "repair.decide", target=repair_id,
            details={"record_id": record.record_id, "decision": request.status},
        )  # fmt: skip
        session.commit()
        public_cache().invalidate([credit_service.uscc_of(db_session=session, record=record)])
        return _repair(request, record)
