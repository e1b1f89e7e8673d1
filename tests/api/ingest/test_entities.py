"""PUT /v1/ingest/entities/{uscc}: departments register and update legal persons."""

from __future__ import annotations

from typing import Any

from tests.api.consents.conftest import World
from tests.factories import new_uscc

PROBLEM = "application/problem+json"


def _registration(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "淄博市周村区测试丝绸有限公司",
        "kind": "enterprise",
        "legal_representative": "王建国",
        "established_on": "2012-05-18",
        "registered_capital": {"amount": "5000000.00", "currency": "CNY"},
        "address": "山东省淄博市周村区正阳路126号",
        "registration_authority": "淄博市周村区市场监督管理局",
        "status": "active",
        "business_scope": "丝绸制品加工、销售。",
        "contact_phone": "0533-6412345",
    }
    body.update(changes)
    return body


def test_register_then_update(world: World) -> None:
    department = world.party(kind="department", name="淄博市周村区市场监督管理局")
    uscc = new_uscc()
    path = f"/v1/ingest/entities/{uscc}"

    created = world.http.put(path, json=_registration(), headers=department.headers())
    updated = world.http.put(
        path, json=_registration(status="cancelled", business_scope=None),
        headers=department.headers(),
    )  # fmt: skip

    assert created.status_code == 201, created.get_data(as_text=True)
    assert updated.status_code == 200
    assert created.json["subject_id"] == updated.json["subject_id"]  # type: ignore[index]
    assert updated.json["status"] == "cancelled"  # type: ignore[index]
    assert updated.json["business_scope"] is None  # type: ignore[index]
    public = world.http.get(f"/v1/public/entities/{uscc}")
    assert public.status_code == 200
    entity = public.json
    assert entity is not None
    assert entity["registered_capital"] == {"amount": "5000000.00", "currency": "CNY"}
    assert "contact_phone" not in entity  # restricted: not in the public view


def test_bad_registrations_name_the_field(world: World) -> None:
    department = world.party(kind="department", name="淄博市周村区市场监督管理局")
    path = f"/v1/ingest/entities/{new_uscc()}"
    cases = [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"kind": "natural_person"}, "kind"),
        ({"established_on": "2999-01-01"}, "established_on"),
        ({"established_on": "2012-02-30"}, "established_on"),
        ({"registered_capital": {"amount": "-5"}}, "registered_capital.amount"),
        (
            {"registered_capital": {"amount": "5", "currency": "yuan"}},
            "registered_capital.currency",
        ),
        ({"status": "sleeping"}, "status"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"address": "a\x00b"}, "address"),
        ({"address": "x" * 301}, "address"),
    ]
    for change, field in cases:
        response = world.http.put(path, json=_registration(**change), headers=department.headers())
        assert response.status_code == 400, (change, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
        assert field in response.json["errors"], (change, response.json)  # type: ignore[index]
    wrong_check = world.http.put(
        "/v1/ingest/entities/91110000600037341M", json=_registration(), headers=department.headers()
    )
    assert wrong_check.status_code == 400
    assert world.http.get(path.replace("/v1/ingest/", "/v1/public/")).status_code == 404


def test_only_departments_register(world: World) -> None:
    bank = world.party()
    path = f"/v1/ingest/entities/{new_uscc()}"
    assert world.http.put(path, json=_registration()).status_code == 401
    assert world.http.put(path, json=_registration(), headers=bank.headers()).status_code == 403
