"""The interactive docs (/docs, served without a CDN) and the OpenAPI document's completeness."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import openapi_doc

PROBLEM = "application/problem+json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Operations that never answer a problem document of their own.
NO_ERROR_PATHS = {"/healthz", "/metrics", "/.well-known/oauth-authorization-server", "/oauth/jwks"}
# OAuth endpoints answer errors as RFC 6749 §5.2 documents (or HTML pages), not problem+json;
# so does the subject's consent page, a web page.
OAUTH_PATHS = {
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/oauth/authorize",
    "/consents/{consent_id}",
}
EXPORTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"

_ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.fixture(scope="module")
def spec(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    document: dict[str, Any] = response.json
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[Any]]]:
    """(path, method, operation, path-level parameters) for every operation."""
    found = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                found.append((path, method, item[method], item.get("parameters", [])))
    return found


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, kind, name = node["$ref"].removeprefix("#/").split("/")
        node = spec[section][kind][name]
    return node


def _refs(node: Any) -> set[str]:
    """The component schema names referenced anywhere inside `node`."""
    if isinstance(node, dict):
        found = set()
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node)) if node else set()
    return set()


class TestDocs:
    def _page(self, client: FlaskClient, url: str) -> str:
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        return response.get_data(as_text=True)

    def test_docs_page_is_html_with_and_without_slash(self, client: FlaskClient) -> None:
        with_slash = self._page(client, "/docs/")
        without_slash = self._page(client, "/docs")

        assert "swagger-ui" in with_slash
        assert with_slash == without_slash

    def test_every_asset_is_local_and_served(self, client: FlaskClient) -> None:
        page = self._page(client, "/docs/")
        references = _ATTRIBUTE.findall(page)

        assert references, "the docs page references no assets"
        remote = [r for r in references if re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", r, re.I)]
        assert remote == [], f"assets loaded from outside the platform: {remote}"
        names = {reference.rsplit("/", 1)[-1] for reference in references}
        assert {"swagger-ui-bundle.js", "swagger-ui.css"} <= names
        for reference in references:
            with client.get(reference) as asset:
                assert asset.status_code == 200, reference
                assert len(asset.data) > 0, reference

    def test_docs_page_loads_the_platforms_own_document(self, client: FlaskClient) -> None:
        page = self._page(client, "/docs/")
        assert '"url": "/openapi.json"' in page


class TestOpenApi:
    def test_version_and_operations(self, spec: dict[str, Any]) -> None:
        assert re.match(r"^3\.\d+\.\d+$", spec["openapi"])
        operations = _operations(spec)
        paths = {path for path, *_ in operations}
        assert {"/healthz", "/readyz", "/metrics", "/v1/public/entities"} <= paths

    def test_every_operation_is_described(self, spec: dict[str, Any]) -> None:
        offenders = []
        for path, method, operation, _ in _operations(spec):
            for key in ("summary", "description"):
                if not str(operation.get(key, "")).strip():
                    offenders.append(f"{method.upper()} {path}: no {key}")
            if "security" not in operation:
                offenders.append(f"{method.upper()} {path}: no security")
        assert offenders == []

    def test_every_operation_documents_its_success_with_a_schema(
        self, spec: dict[str, Any]
    ) -> None:
        offenders = []
        for path, method, operation, _ in _operations(spec):
            successes = [
                _resolve(spec, response)
                for status, response in operation["responses"].items()
                if status.startswith("2")
            ]
            if not any(
                "schema" in media
                for response in successes
                for media in response.get("content", {}).values()
            ):
                offenders.append(f"{method.upper()} {path}")
        assert offenders == [], f"no success response with a schema: {offenders}"

    def test_every_operation_documents_problem_errors(self, spec: dict[str, Any]) -> None:
        offenders = []
        for path, method, operation, _ in _operations(spec):
            if path in NO_ERROR_PATHS | OAUTH_PATHS:
                continue
            errors = [
                _resolve(spec, response)
                for status, response in operation["responses"].items()
                if status[0] in "45"
            ]
            if not any(PROBLEM in response.get("content", {}) for response in errors):
                offenders.append(f"{method.upper()} {path}")
        assert offenders == [], f"no 4xx/5xx problem+json response: {offenders}"

    def test_every_error_response_is_a_problem(self, spec: dict[str, Any]) -> None:
        offenders = []
        for path, method, operation, _ in _operations(spec):
            if path in OAUTH_PATHS:
                continue
            for status, response in operation["responses"].items():
                content = _resolve(spec, response).get("content", {})
                if (status[0] in "45" or status == "default") and set(content) != {PROBLEM}:
                    offenders.append(f"{method.upper()} {path} {status}: {sorted(content)}")
        assert offenders == []

    def test_oauth_errors_follow_rfc_6749(self, spec: dict[str, Any]) -> None:
        for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
            responses = spec["paths"][path]["post"]["responses"]
            for status in ("400", "401"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OAuthError"}, (path, status)
        assert set(spec["components"]["schemas"]["OAuthError"]["properties"]) >= {
            "error",
            "error_description",
        }

    def test_every_parameter_has_a_description_and_schema(self, spec: dict[str, Any]) -> None:
        offenders = []
        checked = 0
        for path, method, operation, path_parameters in _operations(spec):
            for parameter in [*path_parameters, *operation.get("parameters", [])]:
                parameter = _resolve(spec, parameter)
                if parameter["in"] not in ("query", "path"):
                    continue
                checked += 1
                for key in ("description", "schema"):
                    if not parameter.get(key):
                        offenders.append(f"{method.upper()} {path} {parameter['name']}: no {key}")
        assert checked > 0
        assert offenders == []

    def test_every_reachable_schema_has_examples(self, spec: dict[str, Any]) -> None:
        schemas = spec["components"]["schemas"]
        reachable = set()
        pending = set().union(
            *(_refs(operation["responses"]) for _, _, operation, _ in _operations(spec)),
            *(_refs(response) for response in spec["components"].get("responses", {}).values()),
        )
        while pending:
            name = pending.pop()
            if name in reachable:
                continue
            reachable.add(name)
            pending |= _refs(schemas[name]) - reachable

        assert {"Problem", "Entity", "EntityPage"} <= reachable
        offenders = sorted(
            name
            for name in reachable
            if schemas[name].get("properties")
            and not any("example" in prop for prop in schemas[name]["properties"].values())
        )
        assert offenders == [], f"response schemas without any property example: {offenders}"

    def test_exported_document_is_current(self, app: Flask) -> None:
        assert EXPORTED.exists(), f"{EXPORTED} is missing: run `xinyong openapi`"
        assert openapi_doc.is_current(app, EXPORTED), (
            f"{EXPORTED} is out of date with the code: run `xinyong openapi`"
        )

    def test_render_is_the_served_document(self, app: Flask, spec: dict[str, Any]) -> None:
        assert json.loads(openapi_doc.render(app)) == spec
