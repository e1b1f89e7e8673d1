"""The synthetic demo district: deterministic, unique where the database needs it, and valid."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date

import pytest

from credit import demo
from credit.identifiers import registration_type_of, validate_id_number, validate_uscc

AS_OF = date(2025, 6, 30)
N_ENTITIES = 20_000
N_PERSONS = 2_000

ENTITY_RECORD_KINDS = {
    "license",
    "penalty",
    "red_list",
    "black_list",
    "abnormal_operation",
    "tax_rating",
    "tax_violation",
    "court_enforcement",
    "dishonest_debtor",
    "social_insurance_arrears",
}
PERSON_RECORD_KINDS = {
    "court_enforcement",
    "dishonest_debtor",
    "tax_violation",
    "social_insurance_arrears",
}
AMOUNT = re.compile(r"^\d+\.\d{2}$")
SUBJECT_ID = re.compile(r"^sub_[0-9a-f]{20}$")
RECORD_ID = re.compile(r"^rec_[0-9a-f]{20}$")

EntityRows = list[tuple[demo.DemoEntity, list[demo.DemoRecord]]]
PersonRows = list[tuple[demo.DemoPerson, list[demo.DemoRecord]]]


@pytest.fixture(scope="module")
def entity_rows() -> EntityRows:
    return list(demo.entities(N_ENTITIES, as_of=AS_OF))


@pytest.fixture(scope="module")
def person_rows() -> PersonRows:
    return list(demo.persons(N_PERSONS, as_of=AS_OF))


def test_same_arguments_give_the_same_output() -> None:
    assert list(demo.entities(50, as_of=AS_OF)) == list(demo.entities(50, as_of=AS_OF))
    assert list(demo.persons(50, as_of=AS_OF)) == list(demo.persons(50, as_of=AS_OF))


def test_an_item_does_not_depend_on_where_the_iteration_starts() -> None:
    tenth = list(demo.entities(10, as_of=AS_OF))
    ent = demo.entity(5, as_of=AS_OF)
    assert ent == tenth[5][0]
    assert demo.entity_records(5, ent, as_of=AS_OF) == tenth[5][1]
    assert list(demo.entities(4, as_of=AS_OF, start=6)) == tenth[6:]
    people = list(demo.persons(10, as_of=AS_OF))
    p = demo.person(7, as_of=AS_OF)
    assert p == people[7][0]
    assert demo.person_records(7, p, as_of=AS_OF) == people[7][1]
    assert list(demo.persons(3, as_of=AS_OF, start=7)) == people[7:]


def test_the_seed_changes_the_output() -> None:
    assert demo.entity(0, as_of=AS_OF) == demo.entity(0, as_of=AS_OF, seed=demo.DEFAULT_SEED)
    assert demo.entity(0, as_of=AS_OF, seed=1) != demo.entity(0, as_of=AS_OF)
    assert demo.person(0, as_of=AS_OF, seed=1) != demo.person(0, as_of=AS_OF)


def test_identifiers_are_unique(entity_rows: EntityRows, person_rows: PersonRows) -> None:
    subject_ids = [e["subject_id"] for e, _ in entity_rows] + [
        p["subject_id"] for p, _ in person_rows
    ]
    usccs = [e["uscc"] for e, _ in entity_rows]
    id_numbers = [p["id_number"] for p, _ in person_rows]
    records = [r for _, rs in entity_rows for r in rs] + [r for _, rs in person_rows for r in rs]
    record_ids = [r["record_id"] for r in records]
    documents = [(r["department"], r["kind"], r["document_no"]) for r in records]
    assert len(set(subject_ids)) == len(subject_ids)
    assert len(set(usccs)) == len(usccs)
    assert len(set(id_numbers)) == len(id_numbers)
    assert len(set(record_ids)) == len(record_ids)
    assert len(set(documents)) == len(documents)
    assert all(SUBJECT_ID.match(s) for s in subject_ids)
    assert all(RECORD_ID.match(r) for r in record_ids)


def test_every_uscc_is_valid_and_matches_the_kind(entity_rows: EntityRows) -> None:
    for ent, _ in entity_rows:
        assert validate_uscc(ent["uscc"]) == ent["uscc"]
        assert ent["uscc"][2:8] == demo.DIVISION_CODE
        registration = registration_type_of(ent["uscc"])
        assert registration is not None
        assert registration.kind == ent["kind"]


@pytest.mark.parametrize(
    "indices",
    [
        [0, 1, 31**5 - 1, 31**5, 31**5 + 1, 2 * 31**5, 3 * 31**5 + 5],
        [10**6, 10**7, 5 * 10**7, demo.MAX_ENTITIES - 2, demo.MAX_ENTITIES - 1],
    ],
)
def test_codes_stay_valid_and_distinct_at_large_indices(indices: list[int]) -> None:
    usccs = [demo.entity(i, as_of=AS_OF)["uscc"] for i in indices]
    assert len(set(usccs)) == len(usccs)
    for code in usccs:
        validate_uscc(code)


def test_indices_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="entity index"):
        demo.entity(demo.MAX_ENTITIES, as_of=AS_OF)
    with pytest.raises(ValueError, match="entity index"):
        demo.entity(-1, as_of=AS_OF)
    with pytest.raises(ValueError, match="person index"):
        demo.person(demo.MAX_PERSONS, as_of=AS_OF)


def test_every_id_number_is_valid(person_rows: PersonRows) -> None:
    for p, _ in person_rows:
        number = validate_id_number(p["id_number"])
        assert number.startswith(demo.DIVISION_CODE)
        assert (
            date(1950, 1, 1)
            <= date.fromisoformat(f"{number[6:10]}-{number[10:12]}-{number[12:14]}")
            <= date(2005, 12, 31)
        )
    last = demo.person(demo.MAX_PERSONS - 1, as_of=AS_OF)
    validate_id_number(last["id_number"])


def test_every_kind_occurs_in_the_first_two_thousand(
    entity_rows: EntityRows, person_rows: PersonRows
) -> None:
    first = entity_rows[:2_000]
    assert {e["kind"] for e, _ in first} == {
        "enterprise",
        "individual_business",
        "social_organization",
        "public_institution",
        "government_agency",
    }
    assert {r["kind"] for _, rs in first for r in rs} == ENTITY_RECORD_KINDS
    assert {e["status"] for e, _ in first} == {"active", "revoked", "cancelled"}
    assert {r["kind"] for _, rs in person_rows for r in rs} == PERSON_RECORD_KINDS


def test_shares_are_roughly_as_intended(entity_rows: EntityRows, person_rows: PersonRows) -> None:
    kinds = Counter(e["kind"] for e, _ in entity_rows)
    assert 0.67 < kinds["enterprise"] / N_ENTITIES < 0.73
    assert 0.16 < kinds["individual_business"] / N_ENTITIES < 0.20
    statuses = Counter(e["status"] for e, _ in entity_rows)
    assert 0.90 < statuses["active"] / N_ENTITIES < 0.94
    per_entity = sum(len(rs) for _, rs in entity_rows) / N_ENTITIES
    assert 1.3 < per_entity < 1.7
    assert sum(not rs for _, rs in entity_rows) > N_ENTITIES * 0.25
    assert sum(len(rs) >= 5 for _, rs in entity_rows) > 0
    assert sum(not rs for _, rs in person_rows) > N_PERSONS * 0.75
    assert max(len(rs) for _, rs in person_rows) <= 3


def test_no_decision_is_after_as_of_or_before_establishment(
    entity_rows: EntityRows, person_rows: PersonRows
) -> None:
    for ent, records in entity_rows:
        assert date(1985, 1, 1) <= ent["established_on"] <= AS_OF
        for rec in records:
            assert ent["established_on"] <= rec["decided_on"] <= AS_OF
    for _, records in person_rows:
        for rec in records:
            assert rec["decided_on"] <= AS_OF


def test_an_early_as_of_is_respected() -> None:
    as_of = date(2016, 3, 1)
    for ent, records in demo.entities(500, as_of=as_of):
        assert ent["established_on"] <= as_of
        for rec in records:
            assert rec["decided_on"] <= as_of
            for key in ("valid_from", "listed_on", "removed_on"):
                value = rec["details"].get(key)
                assert value is None or str(value) <= as_of.isoformat()


def test_registration_data_has_the_expected_shape(entity_rows: EntityRows) -> None:
    for ent, _ in entity_rows[:5_000]:
        capital = ent["registered_capital"]
        if ent["kind"] in ("government_agency", "public_institution"):
            assert capital is None
        else:
            assert capital is not None
            assert AMOUNT.match(capital)
        if ent["kind"] == "individual_business":
            assert capital is not None
            assert 10_000 <= float(capital) <= 500_000
        if ent["kind"] == "enterprise" and capital is not None:
            assert 100_000 <= float(capital) <= 100_000_000
        assert ent["address"].startswith("山东省淄博市周村区")
        assert ent["address"].endswith("号")
        assert re.match(r"^(0533-6\d{6}|1\d{10})$", ent["contact_phone"])
        assert ent["name"]
        assert ent["legal_representative"]
        assert ent["business_scope"]
        assert ent["registration_authority"].startswith("淄博市周村区")


def test_penalty_details_have_the_expected_shape(entity_rows: EntityRows) -> None:
    penalties = [r for _, rs in entity_rows for r in rs if r["kind"] == "penalty"]
    assert penalties
    domains = {
        "market",
        "environment",
        "tax",
        "work_safety",
        "fire_safety",
        "special_equipment",
        "food_safety",
    }
    for rec in penalties:
        details = rec["details"]
        assert set(details) == {
            "basis",
            "violation",
            "result",
            "fine_amount",
            "severity",
            "domain",
            "category_label",
        }
        assert str(details["basis"]).startswith("《")
        assert details["violation"]
        assert details["result"]
        assert details["category_label"]
        assert details["severity"] in ("general", "serious")
        assert details["domain"] in domains
        fine = details["fine_amount"]
        assert fine is None or (isinstance(fine, str) and AMOUNT.match(fine))
        assert rec["title"].endswith("案")
    serious = sum(r["details"]["severity"] == "serious" for r in penalties) / len(penalties)
    assert 0.08 < serious < 0.25


def test_licences_carry_a_validity_period(entity_rows: EntityRows) -> None:
    licences = [r for _, rs in entity_rows for r in rs if r["kind"] == "license"]
    valid = 0
    for rec in licences:
        details = rec["details"]
        assert details["license_name"]
        assert details["license_no"]
        assert details["content"]
        valid_from = date.fromisoformat(str(details["valid_from"]))
        valid_until = date.fromisoformat(str(details["valid_until"]))
        assert valid_from == rec["decided_on"] < valid_until
        valid += valid_until >= AS_OF
    assert 0.7 < valid / len(licences) < 0.9


def test_list_entries_are_removed_after_they_are_listed(entity_rows: EntityRows) -> None:
    for _, records in entity_rows:
        for rec in records:
            if rec["kind"] not in ("red_list", "black_list", "abnormal_operation"):
                continue
            details = rec["details"]
            assert details["listed_on"] == rec["decided_on"].isoformat()
            removed = details["removed_on"]
            assert removed is None or str(details["listed_on"]) < str(removed) <= AS_OF.isoformat()
            if rec["kind"] == "abnormal_operation":
                assert (details["removal_reason"] is None) == (removed is None)


def test_details_are_json_serializable(entity_rows: EntityRows, person_rows: PersonRows) -> None:
    for _, records in entity_rows[:5_000] + person_rows:
        for rec in records:
            assert json.loads(json.dumps(rec["details"], ensure_ascii=False)) == rec["details"]
