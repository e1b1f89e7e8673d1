"""The SDK against the exported OpenAPI document (openapi/openapi.json, the source of truth):
every call's method, path, parameters, headers and body; every typed document's fields; which
operations it covers; and the sync and async clients' identical surfaces."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import unquote

import pytest
from xinyong_sdk import AsyncClient, Client, types
from xinyong_sdk import _operations as ops
from xinyong_sdk._base import Auth, Operation, Retry

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text("utf-8")
)
PATHS: dict[str, dict[str, Any]] = DOCUMENT["paths"]
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

SUBJECT = types.LegalPerson(uscc="{uscc}")
RECORD: types.RecordInput = {"kind": "penalty", "document_no": "d", "title": "t", "uscc": "u"}
# Every call of the SDK, with placeholders where the path takes parameters.
CALLS: list[Operation[Any]] = [
    ops.client_credentials("id", "secret", "credit.basic"),
    ops.refresh("xinyong-cli", None, "rt"),
    ops.search("丝绸", "enterprise", 10),
    ops.entity("{uscc}"),
    ops.records("{uscc}", "penalty", 10),
    ops.changes("2026-01-01T00:00:00+08:00", 10),
    ops.request_consent(SUBJECT, ["basic"], "other", "note", "2027-01-01T00:00:00+08:00"),
    ops.get_consent("{consent_id}"),
    ops.take_consent_token("{consent_id}"),
    ops.report("{subject_id}", "ct", None, ["basic", "tax"]),
    ops.report("{subject_id}", None, "《民事诉讼法》", None),
    ops.batch([{"subject_id": "s", "consent_token": "c", "categories": ["tax"]}]),
    ops.ingest_records([RECORD]),
    ops.register_entity("{uscc}", {"kind": "enterprise", "name": "n", "address": None}),
    ops.correct_record("{record_id}", RECORD),
    ops.withdraw_record("{record_id}", "reason"),
    ops.department_objections("pending", 10),
    ops.resolve_objection("{objection_id}", "upheld", "note"),
    ops.department_repairs("pending", 10),
    ops.decide_repair("{repair_id}", "approved", "note"),
    ops.me(),
    ops.my_consents(10),
    ops.grant_consent("cli", ["basic"], "lease", "2027-01-01T00:00:00+08:00", "note"),
    ops.decide_consent("{consent_id}", "approve"),
    ops.decide_consent("{consent_id}", "reject"),
    ops.decide_consent("{consent_id}", "revoke"),
    ops.receipt("{consent_id}"),
    ops.access_log(10),
    ops.my_objections("pending", 10),
    ops.file_objection("rec_1", "reason"),
    ops.my_objection("{objection_id}"),
    ops.my_repairs("pending", 10),
    ops.file_repair("rec_1", "reason"),
    ops.my_repair("{repair_id}"),
]
# Documented operations a partner, department or subject does not call through the SDK.
NOT_IN_THE_SDK = {
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/oauth/jwks"),
    ("get", "/oauth/authorize"),
    ("post", "/oauth/authorize"),
    ("post", "/oauth/introspect"),
    ("post", "/oauth/revoke"),
    ("get", "/consents/{consent_id}"),  # the subject's consent page (HTML)
    ("post", "/consents/{consent_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/admin/audit"),
    ("get", "/v1/admin/clients"),
    ("get", "/v1/admin/ledger/verify"),
}
# Documented in API.md and served, but missing from the exported document (reported).
UNDOCUMENTED_QUERY = {("get", "/v1/subjects/{subject_id}/report"): {"categories"}}


def _operation(op: Operation[Any]) -> tuple[str, str, dict[str, Any]]:
    path = unquote(op.path)
    method = op.method.lower()
    assert path in PATHS, f"{op.method} {path} is not in the OpenAPI document"
    assert method in PATHS[path], f"{op.method} {path}: no such method in the document"
    return method, path, PATHS[path][method]


def _parameters(path: str, method: str, where: str) -> set[str]:
    found = set()
    for parameter in [
        *PATHS[path].get("parameters", []),
        *PATHS[path][method].get("parameters", []),
    ]:
        if "$ref" in parameter:
            parameter = DOCUMENT["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == where:
            found.add(parameter["name"].lower())
    return found


def _schema(ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = SCHEMAS[ref.rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("op", CALLS, ids=lambda op: f"{op.method} {unquote(op.path)}")
def test_every_call_is_in_the_document(op: Operation[Any]) -> None:
    method, path, operation = _operation(op)
    query = {name for name, _ in op.params} - UNDOCUMENTED_QUERY.get((method, path), set())
    assert query <= _parameters(path, method, "query")
    headers = {name.lower() for name, _ in op.headers} - {"authorization"}
    assert headers <= _parameters(path, method, "header")
    public = operation.get("security") == []
    assert (op.auth is Auth.OPTIONAL) == public or op.auth is Auth.NONE
    body = operation.get("requestBody", {}).get("content", {})
    if op.json is not None:
        schema = _schema(body["application/json"]["schema"]["$ref"])
        if schema.get("additionalProperties") is not True:
            assert set(op.json) <= set(schema["properties"])
            assert set(schema.get("required", ())) <= set(op.json)
    elif op.form is not None:
        schema = _schema(body["application/x-www-form-urlencoded"]["schema"]["$ref"])
        assert {name for name, _ in op.form} <= set(schema["properties"])
    else:
        assert not body.get("application/json", {}).get("schema", {}).get("required")
    # Repeated only where harmless: reads and PUTs always, POSTs by the contract's word.
    if method in ("get", "put") and op.retry is not Retry.LOGGED_READ:
        assert op.retry is Retry.IDEMPOTENT
    if method == "post":
        assert op.retry is not Retry.IDEMPOTENT or path == "/v1/ingest/records"


def test_the_sdk_calls_every_operation_of_partners_departments_and_subjects() -> None:
    documented = {(m, p) for p, item in PATHS.items() for m in item if m != "parameters"}
    called = {(_operation(op)[0], _operation(op)[1]) for op in CALLS}
    assert documented - called == NOT_IN_THE_SDK


# The SDK's typed documents and the schemas they stand for.
TYPED = {
    types.Problem: "Problem",
    types.TokenResponse: "TokenResponse",
    types.Money: "Money",
    types.EntitySummary: "EntitySummary",
    types.Entity: "Entity",
    types.PublicRecord: "PublicRecord",
    types.Change: "Change",
    types.PartnerConsent: "PartnerConsent",
    types.ConsentToken: "ConsentToken",
    types.SubjectConsent: "SubjectConsent",
    types.Receipt: "Receipt",
    types.AccessLogEntry: "AccessLogEntry",
    types.Me: "Me",
    types.ReportSubject: "ReportSubject",
    types.ReportRecord: "ReportRecord",
    types.BasicSection: "BasicSection",
    types.RecordsSection: "RecordsSection",
    types.TaxSection: "TaxSection",
    types.Report: "Report",
    types.BatchItem: "BatchItem",
    types.AcceptedRow: "AcceptedRow",
    types.RejectedRow: "RejectedRow",
    types.IngestOutcome: "BatchOutcome",
    types.RecordState: "RecordState",
    types.Capital: "Capital",
    types.EntityRegistration: "EntityRegistration",
    types.RegisteredEntity: "RegisteredEntity",
    types.Objection: "Objection",
    types.Repair: "Repair",
}


@pytest.mark.parametrize("typed", list(TYPED), ids=lambda t: t.__name__)
def test_every_typed_document_has_the_schemas_fields(typed: Any) -> None:
    schema = SCHEMAS[TYPED[typed]]
    assert set(get_type_hints(typed)) == set(schema["properties"])
    assert set(schema.get("required", ())) <= set(typed.__required_keys__)
    # What may be absent is marked so (NotRequired), not left for a KeyError to find.
    nullable = {k for k, v in schema["properties"].items() if v.get("nullable")}
    assert typed.__required_keys__ - set(schema.get("required", ())) <= nullable


def _surface(client: type) -> dict[str, Any]:
    """Resource name -> method name -> parameter names, through nested resources."""
    instance = client("http://127.0.0.1:9")

    def walk(resource: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, value in vars(resource).items():
            if name.startswith("_"):
                continue
            found[name] = walk(value)
        for name, member in inspect.getmembers(type(resource), inspect.isfunction):
            if not name.startswith("_"):
                found[name] = list(inspect.signature(member).parameters)
        return found

    return {
        name: walk(getattr(instance, name))
        for name in ("public", "consents", "reports", "ingest", "objections", "repairs", "me")
    }


def test_sync_and_async_clients_have_the_same_surface() -> None:
    assert _surface(Client) == _surface(AsyncClient)
    sync_methods = {n for n, _ in inspect.getmembers(Client, inspect.isfunction)}
    async_methods = {n for n, _ in inspect.getmembers(AsyncClient, inspect.isfunction)}
    assert sync_methods ^ async_methods == {"close", "aclose", "__enter__", "__exit__",
                                            "__aenter__", "__aexit__"}  # fmt: skip
