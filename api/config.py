"""Configuration: defaults, then the environment, then a test dictionary.

With no configuration the platform runs embedded: a SQLite file and secrets generated once and kept
in the instance folder, in-process caches and limits.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "XINYONG_"
SECRETS_FILE = "secrets.json"
# Secrets the embedded default generates: name -> number of random bytes.
GENERATED_SECRETS = {
    "SECRET_KEY": 32,  # signs cursors and session cookies
    "ID_HMAC_KEY": 32,  # keyed hash of identity numbers
    "ID_ENCRYPTION_KEY": 32,  # AES-GCM of identity numbers
    "SECRET_PEPPER": 32,  # keyed hash of client secrets, codes and tokens
    "KEYSTORE_KEY": 32,  # AES-GCM of the private signing keys at rest
}


def normalize_database_url(url: str) -> str:
    """A plain postgresql:// URL means PostgreSQL through psycopg 3 (API.md "Configuration")."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _load_or_create_secrets(instance_path: Path) -> dict[str, str]:
    path = instance_path / SECRETS_FILE
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    missing = {k: n for k, n in GENERATED_SECRETS.items() if k not in stored}
    if missing:
        for key, size in missing.items():
            stored[key] = base64.b64encode(secrets.token_bytes(size)).decode("ascii")
        instance_path.mkdir(parents=True, exist_ok=True)
        # Write the new file readable by its owner only, then move it into place.
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(stored, handle, indent=2)
        tmp.replace(path)
    return stored


def load_config(instance_path: Path, test_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings for one app: defaults, environment (XINYONG_*), then `test_config`."""
    config: dict[str, Any] = {
        "DATABASE_URL": f"sqlite:///{instance_path / 'xinyong.sqlite3'}",
        "REDIS_URL": None,
        "LOG_LEVEL": "INFO",
        "LOG_JSON": True,
        "USCC_ALLOW_LEGACY": True,
        # The OAuth issuer; unset, each request's own origin (fine for one host, set it behind
        # a load balancer so that every host signs and checks the same `iss`).
        "ISSUER": None,
        "ACCESS_TOKEN_LIFETIME": 600,
        "REFRESH_TOKEN_LIFETIME": 30 * 24 * 3600,
        # Failed sign-ins allowed per client address in SIGNIN_WINDOW before a 429.
        "SIGNIN_FAILURES_PER_ADDRESS": "20/15 minutes",
        # Proxies whose X-Forwarded-For is believed (addresses or networks), and the rate-limit
        # tiers' overrides; see api/ratelimit.py.
        "TRUSTED_PROXIES": "",
        "RATE_LIMITS": {},
    }
    env = {
        key[len(ENV_PREFIX) :]: value
        for key, value in os.environ.items()
        if key.startswith(ENV_PREFIX)
    }
    for key in ("DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "ISSUER", *GENERATED_SECRETS):
        if env.get(key):
            config[key] = env[key]
    for key in ("ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME"):
        if env.get(key):
            config[key] = int(env[key])
    if env.get("TRUSTED_PROXIES"):
        config["TRUSTED_PROXIES"] = env["TRUSTED_PROXIES"]
    if env.get("RATE_LIMITS"):
        # e.g. {"anonymous": [600, 30]}: requests a minute and a second of a tier.
        config["RATE_LIMITS"] = json.loads(env["RATE_LIMITS"])
    if "LOG_JSON" in env:
        config["LOG_JSON"] = env["LOG_JSON"].lower() not in ("0", "false", "no")
    if test_config:
        config.update(test_config)
    if any(not config.get(key) for key in GENERATED_SECRETS):
        generated = _load_or_create_secrets(instance_path)
        for key in GENERATED_SECRETS:
            config.setdefault(key, None)
            config[key] = config[key] or generated[key]
    config["DATABASE_URL"] = normalize_database_url(config["DATABASE_URL"])
    return config


def secret_bytes(config: dict[str, Any], key: str) -> bytes:
    """A secret from configuration, given as base64."""
    return base64.b64decode(config[key], validate=True)
