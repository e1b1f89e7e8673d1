"""Migrations: they match the models, go down to nothing and up again, and (on PostgreSQL) build
the name-grams function and the GIN index behind Chinese substring search."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from api.migrate import alembic_config, is_current, target_metadata, upgrade

TABLES = {"subjects", "records", "record_changes", "legacy_uscc_allowlist"}
# The generated grams column and its GIN index exist on PostgreSQL only (credit/search.py);
# the models do not map them.
POSTGRES_ONLY_INDEXES = {"ix_subjects_name_grams"}
POSTGRES_ONLY_COLUMNS = {("subjects", "name_grams")}


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, target_metadata())
    if engine.dialect.name == "postgresql":
        diffs = [
            diff
            for diff in diffs
            if not (
                isinstance(diff, tuple)
                and (
                    (diff[0] == "remove_index" and diff[1].name in POSTGRES_ONLY_INDEXES)
                    or (
                        diff[0] == "remove_column"
                        and (diff[2], diff[3].name) in POSTGRES_ONLY_COLUMNS
                    )
                )
            )
        ]
    return diffs


def _downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_models_match_the_migrations(engine: Engine) -> None:
    differences = _differences(engine)
    assert differences == [], f"models and migrations differ: {differences}"


def test_session_database_is_current(engine: Engine) -> None:
    assert is_current(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _revision(engine) == head


def test_downgrade_to_base_and_upgrade_again(fresh_engine: Engine, is_postgres: bool) -> None:
    assert not is_current(fresh_engine)

    upgrade(fresh_engine)
    assert is_current(fresh_engine)
    assert TABLES <= set(inspect(fresh_engine).get_table_names())

    _downgrade(fresh_engine)
    assert _revision(fresh_engine) is None
    assert not is_current(fresh_engine)
    assert set(inspect(fresh_engine).get_table_names()) <= {"alembic_version"}
    if is_postgres:
        with fresh_engine.connect() as connection:
            function = connection.scalar(text("SELECT to_regprocedure('xy_name_grams(text)')"))
        assert function is None

    upgrade(fresh_engine)
    assert is_current(fresh_engine)
    assert TABLES <= set(inspect(fresh_engine).get_table_names())
    indexes = {index["name"] for index in inspect(fresh_engine).get_indexes("subjects")}
    assert "ix_subjects_kind_id" in indexes
    assert ("ix_subjects_name_grams" in indexes) is is_postgres


def test_upgrade_twice_is_a_no_op(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    upgrade(fresh_engine)
    assert is_current(fresh_engine)


@pytest.mark.postgres
class TestPostgresNameGrams:
    @pytest.fixture(autouse=True)
    def _only_postgres(self, is_postgres: bool) -> None:
        if not is_postgres:
            pytest.skip("PostgreSQL only (set XINYONG_TEST_DATABASE_URL)")

    def test_grams_are_unigrams_and_bigrams(self, engine: Engine) -> None:
        with engine.connect() as connection:
            grams = connection.scalar(text("SELECT xy_name_grams('周村丝绸')"))
            single = connection.scalar(text("SELECT xy_name_grams('丝')"))
            empty = connection.scalar(text("SELECT xy_name_grams('')"))
            lowered = connection.scalar(text("SELECT xy_name_grams('AB')"))

        assert sorted(grams) == sorted(["周", "村", "丝", "绸", "周村", "村丝", "丝绸"])
        assert len(grams) == len(set(grams))
        assert single == ["丝"]
        assert empty == []
        assert sorted(lowered) == ["a", "ab", "b"]

    def test_query_grams_are_bigrams_or_the_single_character(self, engine: Engine) -> None:
        with engine.connect() as connection:
            two = connection.scalar(text("SELECT xy_query_grams('丝绸')"))
            four = connection.scalar(text("SELECT xy_query_grams('周村丝绸')"))
            one = connection.scalar(text("SELECT xy_query_grams('Ａ')"))

        assert two == ["丝绸"]
        assert sorted(four) == sorted(["周村", "村丝", "丝绸"])
        assert one == ["ａ"]

    def test_generated_column_follows_the_name(self, engine: Engine) -> None:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.execute(
                text(
                    "INSERT INTO subjects (subject_id, kind, name, created_at, updated_at) "
                    "VALUES ('sub_grams_check_0001', 'enterprise', '鑫瑞', now(), now())"
                )
            )
            connection.execute(
                text("UPDATE subjects SET name = '恒泰' WHERE subject_id = 'sub_grams_check_0001'")
            )
            grams = connection.scalar(
                text("SELECT name_grams FROM subjects WHERE subject_id = 'sub_grams_check_0001'")
            )
            transaction.rollback()

        assert sorted(grams) == sorted(["恒", "泰", "恒泰"])

    def test_search_uses_the_gin_index(self, engine: Engine) -> None:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                connection.scalars(
                    text(
                        "EXPLAIN SELECT id FROM subjects WHERE name_grams @> xy_query_grams('丝绸')"
                    )
                )
            )
            transaction.rollback()

        assert "ix_subjects_name_grams" in plan, plan
