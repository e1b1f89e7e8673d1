"""Disclosure rules: publication periods, credit repair dates, `is_public` against its SQL twin."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.disclosure import (
    LIST_KINDS,
    PUBLIC_KINDS,
    add_months,
    add_years,
    is_public,
    public_record_clause,
    publish_until,
    repair_allowed_from,
)
from credit.models import LEGAL_PERSON_KINDS, Record, RecordKind, Subject
from tests.factories import make_entity, make_record

DAY = timedelta(days=1)
RESTRICTED_KINDS = sorted(set(RecordKind) - PUBLIC_KINDS)

decision_dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
severities = st.sampled_from(["general", "serious", None, "unknown"])


def _penalty(severity: str | None = "general", domain: str = "food_safety") -> dict[str, Any]:
    details: dict[str, Any] = {"violation": "经营超过保质期的食品", "domain": domain}
    if severity is not None:
        details["severity"] = severity
    return details


class TestPublishUntil:
    def test_general_penalty_one_year_minus_a_day(self) -> None:
        assert publish_until("penalty", date(2026, 6, 1), _penalty("general")) == date(2027, 5, 31)

    def test_serious_penalty_three_years_minus_a_day(self) -> None:
        assert publish_until("penalty", date(2026, 6, 1), _penalty("serious")) == date(2029, 5, 31)

    def test_penalty_without_severity_is_general(self) -> None:
        assert publish_until("penalty", date(2026, 6, 1), _penalty(None)) == date(2027, 5, 31)

    def test_year_end_decision(self) -> None:
        assert publish_until("penalty", date(2026, 1, 1), _penalty()) == date(2026, 12, 31)
        assert publish_until("penalty", date(2026, 12, 31), _penalty()) == date(2027, 12, 30)

    @pytest.mark.parametrize("severity", ["general", "serious"])
    def test_earlier_requested_until_is_honoured(self, severity: str) -> None:
        end = publish_until(
            "penalty", date(2026, 6, 1), _penalty(severity), requested_until=date(2026, 9, 30)
        )
        assert end == date(2026, 9, 30)

    @pytest.mark.parametrize("severity", ["general", "serious"])
    def test_later_requested_until_is_capped_at_three_years(self, severity: str) -> None:
        end = publish_until(
            "penalty", date(2026, 6, 1), _penalty(severity), requested_until=date(2035, 1, 1)
        )
        assert end == date(2029, 5, 31)

    def test_feb_29_decisions(self) -> None:
        # add_years takes 29 February to 28 February in a common year;
        # the period ends the day before.
        assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
        assert publish_until("penalty", date(2024, 2, 29), _penalty("general")) == date(2025, 2, 27)
        assert publish_until("penalty", date(2024, 2, 29), _penalty("serious")) == date(2027, 2, 27)
        assert publish_until("penalty", date(2028, 2, 29), _penalty("serious")) == date(2031, 2, 27)
        # The day after 29 February still ends on 28 February.
        assert publish_until("penalty", date(2024, 3, 1), _penalty("general")) == date(2025, 2, 28)

    def test_licence_is_public_while_valid(self) -> None:
        details = {
            "license_name": "食品经营许可证",
            "valid_from": "2025-01-01",
            "valid_until": "2030-12-31",
        }
        assert publish_until("license", date(2025, 1, 1), details) == date(2030, 12, 31)
        assert publish_until(
            "license", date(2025, 1, 1), {"valid_until": date(2031, 1, 1)}
        ) == date(2031, 1, 1)
        assert publish_until("license", date(2025, 1, 1), {"license_name": "x"}) is None
        assert publish_until("license", date(2025, 1, 1), {"valid_until": ""}) is None

    @pytest.mark.parametrize("kind", sorted(LIST_KINDS))
    def test_list_entry_until_the_day_before_removal(self, kind: str) -> None:
        assert publish_until(kind, date(2026, 1, 1), {"removed_on": "2026-07-01"}) == date(
            2026, 6, 30
        )
        assert publish_until(kind, date(2026, 1, 1), {"removed_on": "2028-03-01"}) == date(
            2028, 2, 29
        )
        assert publish_until(kind, date(2026, 1, 1), {}) is None
        assert publish_until(kind, date(2026, 1, 1), {"removed_on": None}) is None

    @pytest.mark.parametrize("kind", RESTRICTED_KINDS)
    def test_restricted_kinds_are_never_given_a_period(self, kind: str) -> None:
        details = {"valid_until": "2099-12-31", "removed_on": "2099-12-31", "severity": "serious"}
        assert publish_until(kind, date(2026, 6, 1), details) is None

    def test_unknown_kind_is_refused(self) -> None:
        with pytest.raises(ValueError, match="nonsense"):
            publish_until("nonsense", date(2026, 6, 1), {})

    @given(decided_on=decision_dates, severity=severities)
    def test_penalty_period_starts_on_decision_and_stays_under_three_years(
        self, decided_on: date, severity: str | None
    ) -> None:
        end = publish_until("penalty", decided_on, _penalty(severity))

        assert end is not None
        assert decided_on <= end < add_years(decided_on, 3)
        years = 3 if severity == "serious" else 1
        assert end == add_years(decided_on, years) - DAY
        assert (end - decided_on).days >= 364 * years

    @given(decided_on=decision_dates, severity=severities, offset=st.integers(0, 5000))
    def test_requested_until_is_min_of_request_and_ceiling(
        self, decided_on: date, severity: str | None, offset: int
    ) -> None:
        requested = decided_on + timedelta(days=offset)

        end = publish_until("penalty", decided_on, _penalty(severity), requested_until=requested)

        assert end == min(requested, add_years(decided_on, 3) - DAY)
        assert end is not None
        assert decided_on <= end < add_years(decided_on, 3)


class TestRepairAllowedFrom:
    def test_three_months_for_ordinary_penalties(self) -> None:
        assert repair_allowed_from("penalty", date(2026, 6, 1), _penalty()) == date(2026, 9, 1)
        assert repair_allowed_from("penalty", date(2026, 11, 30), _penalty()) == date(2027, 2, 28)
        assert repair_allowed_from("penalty", date(2027, 11, 30), _penalty()) == date(2028, 2, 29)
        assert repair_allowed_from("penalty", date(2026, 6, 1), {}) == date(2026, 9, 1)

    @pytest.mark.parametrize("domain", ["special_equipment", "work_safety", "fire_safety"])
    def test_one_year_in_safety_domains(self, domain: str) -> None:
        assert repair_allowed_from("penalty", date(2026, 6, 1), _penalty(domain=domain)) == date(
            2027, 6, 1
        )
        assert repair_allowed_from("penalty", date(2024, 2, 29), _penalty(domain=domain)) == date(
            2025, 2, 28
        )

    @pytest.mark.parametrize("kind", sorted(set(RecordKind) - {RecordKind.PENALTY}))
    def test_none_for_other_kinds(self, kind: str) -> None:
        assert repair_allowed_from(kind, date(2026, 6, 1), _penalty(domain="work_safety")) is None

    @given(decided_on=decision_dates, domain=st.sampled_from(["food_safety", "fire_safety"]))
    def test_repair_comes_before_the_period_ends(self, decided_on: date, domain: str) -> None:
        details = _penalty("serious", domain=domain)
        repair = repair_allowed_from("penalty", decided_on, details)
        end = publish_until("penalty", decided_on, details)

        assert repair is not None
        assert end is not None
        assert decided_on < repair <= end


class TestAddMonths:
    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            (date(2023, 1, 31), 1, date(2023, 2, 28)),
            (date(2024, 1, 31), 1, date(2024, 2, 29)),
            (date(2024, 3, 31), 1, date(2024, 4, 30)),
            (date(2024, 3, 31), -1, date(2024, 2, 29)),
            (date(2024, 8, 31), 3, date(2024, 11, 30)),
            (date(2024, 11, 15), 3, date(2025, 2, 15)),
            (date(2024, 12, 31), 1, date(2025, 1, 31)),
            (date(2025, 1, 15), -1, date(2024, 12, 15)),
            (date(2024, 2, 29), 12, date(2025, 2, 28)),
            (date(2024, 5, 20), 0, date(2024, 5, 20)),
        ],
    )
    def test_examples(self, day: date, months: int, expected: date) -> None:
        assert add_months(day, months) == expected

    @given(day=decision_dates, months=st.integers(-120, 120))
    def test_moves_by_whole_months_clamping_the_day(self, day: date, months: int) -> None:
        moved = add_months(day, months)

        assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
        assert moved.day <= day.day
        if moved.day < day.day:  # clamped: the last day of a shorter month
            assert (moved + DAY).day == 1
        if day.day <= 28:
            assert moved.day == day.day


# (kind, status, decided_on, publish_until): the records of one legal person and one natural person.
CASES: list[tuple[str, str, date, date | None]] = [
    ("penalty", "active", date(2026, 6, 1), date(2027, 5, 31)),
    ("penalty", "withdrawn", date(2026, 6, 1), date(2027, 5, 31)),
    ("penalty", "active", date(2027, 1, 1), date(2027, 12, 31)),
    ("penalty", "active", date(2020, 1, 1), date(2020, 12, 31)),
    ("penalty", "active", date(2026, 6, 1), None),
    ("license", "active", date(2025, 1, 1), date(2099, 12, 31)),
    ("license", "active", date(2025, 1, 1), None),
    ("red_list", "active", date(2026, 1, 1), None),
    ("red_list", "withdrawn", date(2026, 1, 1), None),
    ("black_list", "active", date(2026, 3, 1), date(2026, 12, 31)),
    ("abnormal_operation", "active", date(2026, 6, 1), None),
    ("tax_violation", "active", date(2026, 6, 1), None),
    ("tax_rating", "active", date(2026, 6, 1), date(2099, 12, 31)),
    ("dishonest_debtor", "active", date(2026, 6, 1), None),
]
TODAYS = [
    date(2019, 12, 31),
    date(2025, 12, 31),
    date(2026, 5, 31),
    date(2026, 6, 1),
    date(2026, 12, 31),
    date(2027, 1, 1),
    date(2027, 5, 31),
    date(2027, 6, 1),
    date(2030, 1, 1),
    date(2100, 1, 1),
]


class TestIsPublicAgreesWithSql:
    def test_examples(self, db_session: Session) -> None:
        entity = make_entity(db_session)
        [penalty, withdrawn, future, expired, *_] = [
            make_record(db_session, entity, kind=kind, status=status, decided_on=d, publish_until=u)
            for kind, status, d, u in CASES[:4]
        ]
        today = date(2026, 7, 1)
        assert is_public(penalty, entity, today)
        assert not is_public(withdrawn, entity, today)
        assert not is_public(future, entity, today)
        assert not is_public(expired, entity, today)
        assert is_public(penalty, entity, date(2027, 5, 31))
        assert not is_public(penalty, entity, date(2027, 6, 1))
        assert not is_public(penalty, entity, date(2026, 5, 31))

    def test_table(self, db_session: Session) -> None:
        entity = make_entity(db_session)
        person = Subject(subject_id="sub_disclosure_person01", kind="natural_person", name="张三")
        db_session.add(person)
        db_session.commit()
        records: list[tuple[Record, Subject]] = []
        for subject in (entity, person):
            for kind, status, decided_on, until in CASES:
                record = make_record(
                    db_session,
                    subject,
                    kind=kind,
                    status=status,
                    decided_on=decided_on,
                    publish_until=until,
                    details={},
                )
                records.append((record, subject))
        ids = [record.id for record, _ in records]

        seen_public = 0
        for today in TODAYS:
            in_python = {
                record.id for record, subject in records if is_public(record, subject, today)
            }
            in_sql = set(
                db_session.scalars(
                    select(Record.id)
                    .join(Subject, Record.subject_pk == Subject.id)
                    .where(
                        Record.id.in_(ids),
                        Subject.kind.in_([k.value for k in LEGAL_PERSON_KINDS]),
                        public_record_clause(today),
                    )
                )
            )
            assert in_python == in_sql, today
            assert all(subject is entity for record, subject in records if record.id in in_python)
            seen_public += len(in_python)
        assert seen_public > 0  # the table is not trivially empty

    def test_natural_persons_records_are_never_public(self, db_session: Session) -> None:
        person = Subject(subject_id="sub_disclosure_person02", kind="natural_person", name="李四")
        db_session.add(person)
        db_session.commit()
        record = make_record(db_session, person, kind="penalty", decided_on=date(2026, 6, 1))

        assert not is_public(record, person, date(2026, 7, 1))
