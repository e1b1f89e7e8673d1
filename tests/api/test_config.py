"""Configuration: the embedded default (SQLite, generated secrets), environment overrides, URLs."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.config import GENERATED_SECRETS, normalize_database_url, secret_bytes
from api.context import Platform

XINYONG_ENV = (
    "XINYONG_DATABASE_URL",
    "XINYONG_REDIS_URL",
    "XINYONG_SECRET_KEY",
    "XINYONG_ID_HMAC_KEY",
    "XINYONG_ID_ENCRYPTION_KEY",
    "XINYONG_LOG_JSON",
    "XINYONG_LOG_LEVEL",
    "XINYONG_INSTANCE_PATH",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> pytest.MonkeyPatch:
    """No XINYONG_* settings; the loggers that create_app reconfigures are restored after."""
    for name in XINYONG_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _dispose(app: Flask) -> None:
    platform: Platform = app.extensions["xinyong"]
    assert platform.db.engine is not None
    platform.db.engine.dispose()


def _build(instance: Path, config: dict[str, Any] | None = None) -> Flask:
    app = create_app(config, instance_path=instance)
    _dispose(app)
    return app


class TestEmbeddedDefault:
    def test_sqlite_in_the_instance_folder(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        instance = tmp_path / "inst"

        app = _build(instance)

        assert app.config["DATABASE_URL"] == f"sqlite:///{instance.resolve() / 'xinyong.sqlite3'}"
        assert app.config["REDIS_URL"] is None
        assert app.instance_path == str(instance.resolve())

    def test_secrets_are_generated_once_owner_only(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        instance = tmp_path / "inst"

        first = _build(instance)

        path = instance / "secrets.json"
        assert path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        stored = json.loads(path.read_text(encoding="utf-8"))
        assert set(stored) == set(GENERATED_SECRETS)
        for key, size in GENERATED_SECRETS.items():
            assert first.config[key] == stored[key]
            assert len(secret_bytes(first.config, key)) == size
        assert len({stored[key] for key in GENERATED_SECRETS}) == len(GENERATED_SECRETS)
        assert [p.name for p in instance.iterdir() if p.name.startswith("secrets")] == [
            "secrets.json"
        ]

        second = _build(instance)

        for key in GENERATED_SECRETS:
            assert second.config[key] == first.config[key]
        assert json.loads(path.read_text(encoding="utf-8")) == stored

    def test_another_instance_gets_other_secrets(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        one = _build(tmp_path / "one")
        two = _build(tmp_path / "two")

        for key in GENERATED_SECRETS:
            assert one.config[key] != two.config[key]

    def test_configured_secrets_need_no_secrets_file(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        given_secrets = {
            "SECRET_KEY": "c2VjcmV0LWtleS1mb3ItY29uZmlnLXRlc3RzLTMyYnl0ZXM=",
            "ID_HMAC_KEY": "aG1hYy1rZXktZm9yLWNvbmZpZy10ZXN0cy0zMi1ieXRlcyE=",
            "ID_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "SECRET_PEPPER": "cGVwcGVyLWZvci1jb25maWctdGVzdHMtMzItYnl0ZXM=",
            "KEYSTORE_KEY": "a2V5c3RvcmUta2V5LWZvci1jb25maWctdGVzdHMtMzI=",
        }
        for key, value in given_secrets.items():
            clean_env.setenv(f"XINYONG_{key}", value)
        instance = tmp_path / "inst"

        app = _build(instance)

        for key, value in given_secrets.items():
            assert app.config[key] == value
        assert not (instance / "secrets.json").exists()


class TestOverrides:
    def test_environment_database_url_is_normalized(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        clean_env.setenv("XINYONG_DATABASE_URL", "postgresql://u@h/db")

        app = _build(tmp_path / "inst")

        assert app.config["DATABASE_URL"] == "postgresql+psycopg://u@h/db"

    def test_environment_redis_and_logging(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        clean_env.setenv("XINYONG_REDIS_URL", "redis://cache.internal:6379/2")
        clean_env.setenv("XINYONG_LOG_JSON", "false")

        app = _build(tmp_path / "inst")

        assert app.config["REDIS_URL"] == "redis://cache.internal:6379/2"
        assert app.config["LOG_JSON"] is False
        platform: Platform = app.extensions["xinyong"]
        assert platform.redis_url == "redis://cache.internal:6379/2"

    def test_log_json_defaults_to_true(self, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        assert _build(tmp_path / "inst").config["LOG_JSON"] is True

    def test_explicit_config_wins_over_environment(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        clean_env.setenv("XINYONG_DATABASE_URL", "postgresql://u@h/db")
        url = f"sqlite:///{tmp_path / 'given.sqlite3'}"

        app = _build(tmp_path / "inst", {"DATABASE_URL": url, "LOG_JSON": False})

        assert app.config["DATABASE_URL"] == url

    def test_empty_environment_values_are_ignored(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        clean_env.setenv("XINYONG_DATABASE_URL", "")
        instance = tmp_path / "inst"

        app = _build(instance)

        assert app.config["DATABASE_URL"] == f"sqlite:///{instance.resolve() / 'xinyong.sqlite3'}"


class TestNormalizeDatabaseUrl:
    @pytest.mark.parametrize(
        ("given_url", "expected"),
        [
            ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
            ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
            ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
            (
                "sqlite:////var/lib/xinyong/xinyong.sqlite3",
                "sqlite:////var/lib/xinyong/xinyong.sqlite3",
            ),
            ("sqlite:///relative.db", "sqlite:///relative.db"),
            ("sqlite://", "sqlite://"),
        ],
    )
    def test_examples(self, given_url: str, expected: str) -> None:
        assert normalize_database_url(given_url) == expected

    @given(st.text())
    def test_sqlite_urls_are_untouched(self, path: str) -> None:
        url = f"sqlite:///{path}"
        assert normalize_database_url(url) == url

    @given(st.text())
    def test_postgres_urls_keep_everything_after_the_scheme(self, rest: str) -> None:
        for scheme in ("postgres://", "postgresql://"):
            assert normalize_database_url(scheme + rest) == "postgresql+psycopg://" + rest

    @given(st.text())
    def test_idempotent(self, url: str) -> None:
        once = normalize_database_url(url)
        assert normalize_database_url(once) == once
