"""Operator endpoints (`/v1/admin/...`), for clients holding the `admin` scope."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from api.context import db_session
from api.extensions import Blueprint
from api.pagination import PageArgsSchema, next_cursor_field
from api.paging import page_of, position_after
from auth import service
from auth.models import ClientKind, ClientStatus
from consent import ledger
from credit import audit

blp = Blueprint(
    "admin", __name__, url_prefix="/v1/admin", description="Operating the platform (`admin` scope)."
)


class ClientSchema(ma.Schema):
    """A registered client, as the operator sees it (never its secret)."""

    client_id = ma.fields.String(required=True, metadata={"example": "cli_0f3a9c2e7b1d4a6f8e20"})
    name = ma.fields.String(required=True, metadata={"example": "周村农商银行"})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in ClientKind]),
        metadata={"example": "bank"},
    )
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in ClientStatus]),
        metadata={"example": "active"},
    )
    scopes = ma.fields.List(
        ma.fields.String(), required=True, metadata={"example": ["credit.basic"]}
    )
    categories = ma.fields.List(ma.fields.String(), required=True, metadata={"example": []})
    redirect_uris = ma.fields.List(ma.fields.String(), required=True, metadata={"example": []})
    public = ma.fields.Boolean(required=True, metadata={"example": False})
    created_at = ma.fields.DateTime(
        required=True, metadata={"example": "2026-11-26T08:00:00+00:00"}
    )
    rate_limit_per_minute = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "The operator's override of the kind's tier; null: the tier's.",
            "example": None,
        },
    )
    rate_limit_burst = ma.fields.Integer(allow_none=True, metadata={"example": None})


class ClientListSchema(ma.Schema):
    """The client register."""

    items = ma.fields.List(
        ma.fields.Nested(ClientSchema),
        required=True,
        metadata={
            "example": [
                {
                    "client_id": "cli_0f3a9c2e7b1d4a6f8e20",
                    "name": "周村农商银行",
                    "kind": "bank",
                    "status": "active",
                    "scopes": ["consents.request", "credit.basic"],
                    "categories": [],
                    "redirect_uris": [],
                    "public": False,
                    "created_at": "2026-11-26T08:00:00+00:00",
                }
            ]
        },
    )


@blp.route("/clients")
class Clients(MethodView):
    """The client register."""

    @blp.requires("admin")
    @blp.response(200, ClientListSchema)
    def get(self) -> dict[str, Any]:
        """List the registered clients.

        Every client with its kind, standing, scopes, categories and redirect URIs; secrets are
        never shown (they are stored only as hashes).
        """
        clients = service.list_clients(db_session=db_session())
        return {"items": [service.describe_client(c) for c in clients]}


class LedgerVerificationSchema(ma.Schema):
    """The outcome of checking the consent ledger's hash chain."""

    valid = ma.fields.Boolean(required=True, metadata={"example": True})
    entries = ma.fields.Integer(
        required=True, metadata={"description": "Entries checked.", "example": 1204}
    )
    first_broken = ma.fields.Dict(
        metadata={
            "description": "Present when the chain is broken: the first entry that does not "
            "fit (`seq`) and why (`reason`).",
            "example": {"seq": 17, "reason": "entry 17 was altered: its hash does not match"},
        }
    )


@blp.route("/ledger/verify")
class LedgerVerify(MethodView):
    """The consent ledger's integrity."""

    @blp.requires("admin")
    @blp.response(200, LedgerVerificationSchema)
    def get(self) -> dict[str, Any]:
        """Verify the consent ledger.

        Recomputes the hash chain of every consent event from the first entry and answers
        `{"valid": true, "entries": N}`, or the first entry that was altered, removed or
        reordered. The same check as `xinyong ledger verify`.
        """
        result = ledger.verify(db_session=db_session())
        body: dict[str, Any] = {"valid": result.valid, "entries": result.entries}
        if not result.valid:
            body["first_broken"] = {"seq": result.broken_seq, "reason": result.reason}
        return body


class AuditQueryArgsSchema(PageArgsSchema):
    """Paging and filters of the audit trail."""

    actor = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "A client id, subject id or `cli:<user>`.", "example": None},
    )
    action = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "e.g. `records.ingest`, `repair.decide`.", "example": None},
    )
    target = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "A record, objection, repair, client or code.", "example": None},
    )


class AuditEventSchema(ma.Schema):
    """One write: who, what, on what, when, under which request."""

    at = ma.fields.DateTime(required=True, metadata={"example": "2026-11-27T02:00:00+00:00"})
    actor = ma.fields.String(required=True, metadata={"example": "cli_0f3a9c2e7b1d4a6f8e20"})
    actor_kind = ma.fields.String(
        required=True,
        metadata={
            "description": "The client's kind, `subject`, or `operator` (the command line).",
            "example": "department",
        },
    )
    action = ma.fields.String(required=True, metadata={"example": "record.withdraw"})
    target = ma.fields.String(allow_none=True, metadata={"example": "rec_8b1e5c0f2a9d4e7b6c31"})
    request_id = ma.fields.String(
        allow_none=True, metadata={"example": "0b6f9d2c4e8a4f1b9c3d5e7f9a1b3c5d"}
    )
    details = ma.fields.Dict(required=True, metadata={"example": {"version": 2}})


class AuditPageSchema(ma.Schema):
    """A page of the audit trail, newest first."""

    items = ma.fields.List(ma.fields.Nested(AuditEventSchema), required=True)
    next_cursor = next_cursor_field()


@blp.route("/audit")
class AuditTrail(MethodView):
    """The audit trail."""

    @blp.requires("admin")
    @blp.arguments(AuditQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, AuditPageSchema)
    @blp.errors(400)
    def get(
        self,
        page_size: int,
        cursor: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        """List the audit trail.

        Every write by a department (ingestion, corrections, withdrawals, answers to
        objections and repair requests), by an operator on the command line, and by a subject
        (objections, repair requests), newest first; filter by actor, action or target.
        """
        filters = {"actor": actor, "action": action, "target": target}
        before = position_after(cursor, "audit", filters, lambda p: int(p[0]))
        rows = audit.list_(
            db_session=db_session(),
            actor=actor,
            action=action,
            target=target,
            before_id=before,
            limit=page_size + 1,
        )
        page, next_cursor = page_of(rows, page_size, "audit", filters, lambda e: [e.id])
        return {
            "items": [
                {
                    "at": e.at,
                    "actor": e.actor,
                    "actor_kind": e.actor_kind,
                    "action": e.action,
                    "target": e.target,
                    "request_id": e.request_id,
                    "details": e.details,
                }
                for e in page
            ],
            "next_cursor": next_cursor,
        }
