"""The consent flow end to end over HTTP: request, decision, token, report, revocation."""

from __future__ import annotations

import json
from datetime import timedelta

from joserfc import jws
from joserfc.jwk import KeySet

from credit import clock
from tests.api.consents.conftest import PARTNER_SCOPES, World, in_days

PROBLEM = "application/problem+json"


def _without_request_id(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != "request_id"}


def test_request_approve_token_report_revoke(world: World) -> None:
    bank = world.party()
    owner = world.subject()

    asked = world.request(bank, owner.subject, ["basic", "tax"])
    assert asked.status_code == 201, asked.get_data(as_text=True)
    consent = asked.json
    assert consent is not None
    assert consent["status"] == "awaiting_authorisation"
    assert consent["subject_id"] == owner.subject.subject_id
    assert consent["authorize_url"].endswith(f"/consents/{consent['consent_id']}")
    consent_id = consent["consent_id"]

    early = world.http.post(f"/v1/consents/{consent_id}/token", headers=bank.headers())
    assert early.status_code == 409
    assert early.content_type == PROBLEM

    mine = world.http.get("/v1/me/consents", headers=owner.headers())
    assert mine.status_code == 200
    listed = mine.json["items"]  # type: ignore[index]
    assert [c["consent_id"] for c in listed] == [consent_id]
    assert listed[0]["client_name"] == "周村农商银行"
    assert listed[0]["client_kind"] == "bank"

    world.decide(owner, consent_id, "approve")
    followed = world.http.get(f"/v1/consents/{consent_id}", headers=bank.headers())
    assert followed.json["status"] == "authorised"  # type: ignore[index]
    assert followed.json["authorize_url"] is None  # type: ignore[index]

    taken = world.http.post(f"/v1/consents/{consent_id}/token", headers=bank.headers())
    assert taken.status_code == 200
    assert taken.headers["Cache-Control"] == "no-store"
    token = taken.json["consent_token"]  # type: ignore[index]
    again = world.http.post(f"/v1/consents/{consent_id}/token", headers=bank.headers())
    assert again.status_code == 409

    read = world.report(bank, owner.subject.subject_id, token)
    assert read.status_code == 200, read.get_data(as_text=True)
    report = read.json
    assert report is not None
    assert report["consent_id"] == consent_id
    assert report["basis"] == "consent"
    assert report["categories"] == ["basic", "tax"]
    assert report["subject"]["uscc"] == owner.subject.uscc
    # Data minimisation: only the consented categories are in the body.
    assert {"basic", "tax"} <= set(report)
    assert not {"administrative", "lists", "judicial", "social_insurance"} & set(report)
    assert report["tax"]["level"] == "B"
    assert [r["kind"] for r in report["tax"]["records"]] == ["tax_rating"]
    assert report["basic"]["uscc"] == owner.subject.uscc

    log = world.http.get("/v1/me/access-log", headers=owner.headers()).json
    assert log is not None
    assert len(log["items"]) == 1
    entry = log["items"][0]
    assert entry["report_no"] == report["report_no"]
    assert entry["consent_id"] == consent_id
    assert entry["client_id"] == bank.client_id
    assert entry["client_name"] == "周村农商银行"
    assert entry["categories"] == ["basic", "tax"]
    assert entry["request_id"] == read.headers["X-Request-ID"]

    world.decide(owner, consent_id, "revoke")
    denied = world.report(bank, owner.subject.subject_id, token)
    assert denied.status_code == 403
    assert denied.content_type == PROBLEM
    assert denied.json["type"] == "urn:xinyong:problem:consent-required"  # type: ignore[index]
    # A refused read is not in the log.
    log = world.http.get("/v1/me/access-log", headers=owner.headers()).json
    assert len(log["items"]) == 1  # type: ignore[index]


def test_a_denied_read_says_nothing_of_the_subject(world: World) -> None:
    bank = world.party()
    owner = world.subject()
    _consent_id, token = world.consent(bank, owner, "revoked")

    existing = world.report(bank, owner.subject.subject_id, token)
    missing = world.report(bank, "sub_00000000000000000000", token)
    no_token = world.report(bank, owner.subject.subject_id)

    assert existing.status_code == missing.status_code == no_token.status_code == 403
    assert _without_request_id(existing.json) == _without_request_id(missing.json)  # type: ignore[arg-type]
    assert _without_request_id(existing.json) == _without_request_id(no_token.json)  # type: ignore[arg-type]


def test_the_subject_reads_their_own_full_report(world: World) -> None:
    owner = world.subject()
    other = world.subject()

    own = world.report(owner, owner.subject.subject_id)
    assert own.status_code == 200, own.get_data(as_text=True)
    body = own.json
    assert body is not None
    assert body["basis"] == "self"
    assert body["categories"] == [
        "basic",
        "administrative",
        "lists",
        "tax",
        "judicial",
        "social_insurance",
    ]
    assert {r["kind"] for r in body["administrative"]["records"]} == {"penalty", "license"}
    assert body["basic"]["business_scope"] is not None or "business_scope" in body["basic"]

    someone_else = world.report(owner, other.subject.subject_id)
    assert someone_else.status_code == 403
    log = world.http.get("/v1/me/access-log", headers=owner.headers()).json
    assert [e["basis"] for e in log["items"]] == ["self"]  # type: ignore[index]


def test_a_proactive_grant_is_authorised_at_once(world: World) -> None:
    bank = world.party()
    owner = world.subject()

    granted = world.http.post(
        "/v1/me/consents",
        json={
            "client_id": bank.client_id,
            "categories": ["judicial"],
            "purpose": "loan_monitoring",
            "expires_at": in_days(90),
        },
        headers=owner.headers(),
    )
    assert granted.status_code == 201, granted.get_data(as_text=True)
    consent_id = granted.json["consent_id"]  # type: ignore[index]
    assert granted.json["status"] == "authorised"  # type: ignore[index]

    token = world.http.post(f"/v1/consents/{consent_id}/token", headers=bank.headers())
    read = world.report(bank, owner.subject.subject_id, token.json["consent_token"])  # type: ignore[index]
    assert read.status_code == 200
    assert read.json["categories"] == ["judicial"]  # type: ignore[index]


def test_bad_grants_and_requests_name_the_field(world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    cases = [
        ({"categories": ["gossip"]}, "categories.0"),
        ({"categories": []}, "categories"),
        ({"purpose": "fun"}, "purpose"),
        ({"purpose": "other"}, "purpose_note"),
        ({"expires_at": in_days(400)}, "expires_at"),
        ({"expires_at": in_days(-1)}, "expires_at"),
        ({"expires_at": "2027-01-01T00:00:00"}, "expires_at"),
    ]
    for change, field in cases:
        body = {
            "subject": {"uscc": owner.subject.uscc},
            "categories": ["basic"],
            "purpose": "loan_application",
            "expires_at": in_days(10),
            **change,
        }
        response = world.http.post("/v1/consents", json=body, headers=bank.headers())
        assert response.status_code == 400, (change, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
        assert field in response.json["errors"], (change, response.json)  # type: ignore[index]
    unknown = world.http.post(
        "/v1/me/consents",
        json={
            "client_id": "cli_nobody",
            "categories": ["basic"],
            "purpose": "loan_application",
            "expires_at": in_days(10),
        },
        headers=owner.headers(),
    )
    assert unknown.status_code == 400
    assert "client_id" in unknown.json["errors"]  # type: ignore[index]
    listed = world.http.get("/v1/me/consents", headers=owner.headers()).json
    assert listed["items"] == []  # type: ignore[index]


def test_a_natural_person_is_asked_by_identity_number(world: World) -> None:
    bank = world.party()
    body = {
        "subject": {"id_number": "11010519491231002X", "name": "张三"},
        "categories": ["basic"],
        "purpose": "loan_application",
        "expires_at": in_days(10),
    }
    first = world.http.post("/v1/consents", json=body, headers=bank.headers())
    second = world.http.post("/v1/consents", json=body, headers=bank.headers())
    assert first.status_code == second.status_code == 201, first.get_data(as_text=True)
    assert first.json["subject_id"] == second.json["subject_id"]  # type: ignore[index]
    assert "11010519491231002X" not in first.get_data(as_text=True)
    wrong = dict(body, subject={"id_number": "110105194912310021", "name": "张三"})
    refused = world.http.post("/v1/consents", json=wrong, headers=bank.headers())
    assert refused.status_code == 400
    assert "check character" in refused.json["errors"]["subject.id_number"][0]  # type: ignore[index]
    assert "110105194912310021" not in refused.get_data(as_text=True)
    bad_code = dict(body, subject={"uscc": "91110000600037341M"})
    refused = world.http.post("/v1/consents", json=bad_code, headers=bank.headers())
    assert refused.status_code == 400
    assert "subject.uscc" in refused.json["errors"]  # type: ignore[index]
    unknown = dict(body, subject={"uscc": "91110000600037341L"})
    assert world.http.post("/v1/consents", json=unknown, headers=bank.headers()).status_code == 404


def test_receipts_verify_with_the_published_keys(world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    consent_id, _token = world.consent(bank, owner, "revoked")

    response = world.http.get(f"/v1/me/consents/{consent_id}/receipt", headers=owner.headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    receipt = response.json["receipt"]  # type: ignore[index]
    keys = KeySet.import_key_set(world.http.get("/oauth/jwks").json)  # type: ignore[arg-type]
    verified = jws.deserialize_compact(receipt, keys, algorithms=["ES256"])
    assert verified.headers()["typ"] == "consent-receipt+jwt"
    claims = json.loads(verified.payload)
    assert claims["consent_id"] == consent_id
    assert claims["status"] == "revoked"
    assert claims["client"]["name"] == "周村农商银行"
    assert [e["event"] for e in claims["ledger"]] == ["requested", "authorised", "revoked"]
    # A receipt is not an access token.
    assert (
        world.http.get("/v1/me", headers={"Authorization": f"Bearer {receipt}"}).status_code == 401
    )

    stranger = world.subject(with_records=False)
    other = world.http.get(f"/v1/me/consents/{consent_id}/receipt", headers=stranger.headers())
    assert other.status_code == 404


def test_an_expired_consent_reads_nothing(world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    consent_id, token = world.consent(bank, owner, "authorised", expires_in_days=1)

    with clock.frozen_at(clock.now() + timedelta(days=2)):
        read = world.report(bank, owner.subject.subject_id, token)
        status = world.http.get(f"/v1/consents/{consent_id}", headers=bank.headers())
    assert read.status_code == 403
    assert status.json["status"] == "expired"  # type: ignore[index]


def test_partner_scopes_are_needed_for_the_categories(world: World) -> None:
    bank = world.party(scopes=("consents.request", "credit.basic"))
    owner = world.subject(with_records=False)
    asked = world.request(bank, owner.subject, ["basic", "tax"])
    assert asked.status_code == 400
    assert "categories" in asked.json["errors"]  # type: ignore[index]
    assert PARTNER_SCOPES  # the default partner holds them all
