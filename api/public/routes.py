"""Open data endpoints (API.md "Open data")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from flask.views import MethodView

from api.cache import cached
from api.context import db_session
from api.extensions import Blueprint
from api.paging import page_of, position_after
from api.public.schemas import (
    EXAMPLE_USCC,
    ChangeArgsSchema,
    ChangePageSchema,
    EntityPageSchema,
    EntityQueryArgsSchema,
    EntityRecordArgsSchema,
    EntitySchema,
    PublicRecordPageSchema,
)
from credit import clock, service
from credit.models import Subject
from credit.report import record_fields

T = TypeVar("T")

blp = Blueprint(
    "public",
    __name__,
    url_prefix="/v1/public",
    description="Open data: legal persons and the records the law says must be published "
    "(licences, penalties, red and black lists, abnormal operations). No credentials needed.",
)

USCC_PARAMETER = {
    "in": "path",
    "name": "uscc",
    "description": "The legal person's 18-character unified social credit code (GB 32100-2015).",
    "example": EXAMPLE_USCC,
    # Only the shape: the check character is verified by the platform (400 when wrong).
    "schema": {"type": "string", "minLength": 18, "maxLength": 18, "pattern": "^[0-9A-Za-z]{18}$"},
}


def _entity_summary(subject: Subject) -> dict[str, Any]:
    return {
        "subject_id": subject.subject_id,
        "uscc": subject.uscc,
        "name": subject.name,
        "kind": subject.kind,
        "kind_label": subject.kind_label,
        "legal_representative": subject.legal_representative,
        "established_on": subject.established_on,
        "status": subject.status,
        "status_label": subject.status_label,
        "address": subject.address,
    }


@blp.route("/entities")
class Entities(MethodView):
    """Search legal persons."""

    @cached()
    @blp.public
    @blp.etag
    @blp.arguments(EntityQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, EntityPageSchema)
    @blp.errors(400)
    def get(
        self,
        page_size: int,
        q: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Search legal persons by name or code.

        Legal persons (enterprises, public institutions, social organisations, government agencies,
        individual businesses) whose name contains `q` (a Chinese substring of any length, such as
        two characters of a trade name) or whose unified social credit code equals `q`, in
        registration order. Without `q`, every legal person (of `kind`, if given).
        """
        filters = {"q": q, "kind": kind}
        after_id = position_after(cursor, "entities", filters, lambda p: int(p[0]))
        rows = service.search_entities(
            db_session=db_session(), q=q, kind=kind, after_id=after_id, limit=page_size + 1
        )
        rows, next_cursor = page_of(rows, page_size, "entities", filters, lambda s: [s.id])
        return {"items": [_entity_summary(s) for s in rows], "next_cursor": next_cursor}


@blp.route("/entities/<string:uscc>", parameters=[USCC_PARAMETER])
class EntityByUscc(MethodView):
    """One legal person."""

    @cached(uscc_of=lambda uscc, **_: uscc)
    @blp.public
    @blp.etag
    @blp.response(200, EntitySchema)
    @blp.errors(400, 404)
    def get(self, uscc: str) -> dict[str, Any]:
        """Read a legal person's public data.

        Registration data that is public, and how many records of each public kind it has today.
        A malformed code, or one whose check character is wrong, answers 400 with the reason.
        """
        session = db_session()
        code = service.check_uscc(db_session=session, raw=uscc)
        entity, counts = service.get_entity_with_public_counts(
            db_session=session, uscc=code, today=clock.today()
        )
        capital = entity.registered_capital
        return {
            **_entity_summary(entity),
            "registered_capital": (
                {
                    "amount": f"{capital:.2f}",
                    "currency": entity.registered_capital_currency or "CNY",
                }
                if capital is not None
                else None
            ),
            "registration_authority": entity.registration_authority,
            "public_record_counts": counts,
        }


@blp.route("/entities/<string:uscc>/records", parameters=[USCC_PARAMETER])
class EntityRecords(MethodView):
    """A legal person's public records."""

    @cached(uscc_of=lambda uscc, **_: uscc)
    @blp.public
    @blp.etag
    @blp.arguments(EntityRecordArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, PublicRecordPageSchema)
    @blp.errors(400, 404)
    def get(
        self, uscc: str, page_size: int, kind: str | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """List a legal person's records that are public today.

        Licences while valid, penalties within their publication period (one year for general,
        three for serious ones), list entries until removed; newest decision first. Withdrawn
        records and records past their period are not shown.
        """
        session = db_session()
        code = service.check_uscc(db_session=session, raw=uscc)
        entity = service.get_entity_or_raise(db_session=session, uscc=code)
        filters = {"uscc": code, "kind": kind}
        after = position_after(
            cursor, "records", filters, lambda p: (date.fromisoformat(p[0]), int(p[1]))
        )
        rows = service.list_public_records(
            db_session=session,
            subject=entity,
            kind=kind,
            today=clock.today(),
            after=after,
            limit=page_size + 1,
        )
        rows, next_cursor = page_of(
            rows, page_size, "records", filters, lambda r: [r.decided_on.isoformat(), r.id]
        )
        return {"items": [record_fields(r) for r in rows], "next_cursor": next_cursor}


@blp.route("/changes")
class Changes(MethodView):
    """The change feed of public records."""

    @blp.public
    @blp.arguments(ChangeArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ChangePageSchema)
    @blp.errors(400)
    def get(
        self, page_size: int, since: datetime | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Follow public records published, corrected or withdrawn.

        Oldest first, from `since` (or from the beginning). Keep the last page's `next_cursor`
        to continue later; a page shorter than `page_size` with a null `next_cursor` means you
        are up to date.
        """
        filters = {"since": since.isoformat() if since else None}
        after = position_after(
            cursor, "changes", filters, lambda p: (datetime.fromisoformat(p[0]), int(p[1]))
        )
        rows = service.list_changes(
            db_session=db_session(), since=since, after=after, limit=page_size + 1
        )
        rows, next_cursor = page_of(
            rows, page_size, "changes", filters, lambda row: [row[0].at.isoformat(), row[0].id]
        )
        return {
            "items": [
                {
                    "record_id": record.record_id,
                    "uscc": subject.uscc,
                    "kind": record.kind,
                    "change": change.change,
                    "at": change.at,
                }
                for change, record, subject in rows
            ],
            "next_cursor": next_cursor,
        }
