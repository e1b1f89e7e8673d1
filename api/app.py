"""The application factory."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask.sessions import SecureCookieSessionInterface

from api import cache, docs, logs, metrics, ratelimit, request_id
from api.admin.routes import blp as admin_blp
from api.config import load_config, secret_bytes
from api.consents.pages import blp as consent_pages_blp
from api.consents.routes import blp as consents_blp
from api.context import OAuthServices, Platform
from api.database import Database
from api.errors import register_error_handlers
from api.extensions import Api
from api.ingest.routes import blp as ingest_blp
from api.me.routes import blp as me_blp
from api.oauth.pages import SignInThrottle
from api.oauth.routes import blp as oauth_blp
from api.objections.routes import blp as objections_blp
from api.objections.routes import me_blp as my_cases_blp
from api.ops.routes import blp as ops_blp
from api.pagination import CursorCodec
from api.public.routes import blp as public_blp
from api.reports.routes import blp as reports_blp
from auth import server as auth_server
from auth.credentials import SecretHasher
from auth.keys import KeyStore
from credit.personal_data import IdentityProtector

API_DESCRIPTION = """\
The open credit data and partner API of a district public credit information platform
(Zhoucun District, Zibo; division code 370306).

* **Open data** — legal persons' registration data and the records the law says must be
  published (administrative licences and penalties, red and black lists, the abnormal-operations
  list), for anyone, without credentials.
* Every error is an RFC 9457 `application/problem+json` document; validation failures list the
  messages of each field under `errors`.
* Lists are cursor-paginated: `page_size` (1–100, default 20) and `cursor`; the body is
  `{"items": [...], "next_cursor": "..." | null}`.
* Every response carries `X-Request-ID` (a well-formed incoming one is echoed).
"""


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is `Secure` whenever the request came over TLS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        from flask import request

        return bool(request.is_secure) or bool(app.config.get("SESSION_COOKIE_SECURE"))


def _oauth_services(app: Flask, platform: Platform) -> OAuthServices:
    hasher = SecretHasher(secret_bytes(app.config, "SECRET_PEPPER"))
    lifetime = int(app.config["ACCESS_TOKEN_LIFETIME"])
    keys = KeyStore(
        # Reads in the middle of requests that hold the write lock (see Database).
        platform.db.reading_session,
        secret_bytes(app.config, "KEYSTORE_KEY"),
        publish_retired_for=timedelta(seconds=lifetime + 60),
    )
    settings = auth_server.Settings(
        session=platform.db.session,
        hasher=hasher,
        keys=keys,
        issuer=platform.issuer,
        access_token_lifetime=lifetime,
        refresh_token_lifetime=int(app.config["REFRESH_TOKEN_LIFETIME"]),
    )
    server, protector = auth_server.build(settings)
    server.init_app(app)
    # init_app loads Flask's default token generator from the config: ours again on top.
    server.register_token_generator("default", auth_server.AccessTokenGenerator(settings))
    return OAuthServices(
        server=server,
        protector=protector,
        keys=keys,
        hasher=hasher,
        throttle=SignInThrottle(app.config["REDIS_URL"], app.config["SIGNIN_FAILURES_PER_ADDRESS"]),
    )


def create_app(
    test_config: dict[str, Any] | None = None, *, instance_path: str | Path | None = None
) -> Flask:
    """Create the platform's WSGI app."""
    instance = instance_path or os.environ.get("XINYONG_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance).resolve()) if instance else None,
        instance_relative_config=True,
    )
    app.config.update(load_config(Path(app.instance_path), test_config))
    app.config.update(
        API_TITLE="Xinyong open credit data API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={
            "info": {
                "description": API_DESCRIPTION,
                "contact": {"name": "Xinyong platform operator"},
                "license": {"name": "Apache-2.0"},
            },
        },
        SECRET_KEY=app.config["SECRET_KEY"],
        # A full batch of 1,000 records is about 1 MB: more is refused with 413.
        MAX_CONTENT_LENGTH=app.config.get("MAX_CONTENT_LENGTH") or 4 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.configure(app.config["LOG_LEVEL"], json_lines=app.config["LOG_JSON"])

    app.config.update(
        SESSION_COOKIE_NAME="xinyong_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    app.session_interface = TlsAwareSessionInterface()

    db = Database()
    db.init_app(app)
    platform = Platform(
        db=db,
        cursors=CursorCodec(app.config["SECRET_KEY"]),
        identities=IdentityProtector(
            hmac_key=secret_bytes(app.config, "ID_HMAC_KEY"),
            encryption_key=secret_bytes(app.config, "ID_ENCRYPTION_KEY"),
        ),
        redis_url=app.config["REDIS_URL"],
        configured_issuer=app.config["ISSUER"],
    )
    app.extensions["xinyong"] = platform
    platform.oauth = _oauth_services(app, platform)

    request_id.init_app(app)
    logs.init_app(app)
    metrics.init_app(app)
    ratelimit.init_app(app)
    cache.init_app(app)
    api = Api(app)
    register_error_handlers(app)
    api.register_blueprint(public_blp)
    api.register_blueprint(oauth_blp)
    api.register_blueprint(consents_blp)
    api.register_blueprint(consent_pages_blp)
    api.register_blueprint(reports_blp)
    api.register_blueprint(me_blp)
    api.register_blueprint(ingest_blp)
    api.register_blueprint(objections_blp)
    api.register_blueprint(my_cases_blp)
    api.register_blueprint(admin_blp)
    api.register_blueprint(ops_blp)
    docs.init_app(app)

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    return app
