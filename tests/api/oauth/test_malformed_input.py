"""Malformed input at the OAuth endpoints answers 400, never 500 (bugs found by schemathesis)."""

from __future__ import annotations

import base64

from flask.testing import FlaskClient


def test_authorize_with_control_characters_is_a_400_page(client: FlaskClient) -> None:
    # Authlib refuses to put such characters into an error description and raised ValueError.
    response = client.get(
        "/oauth/authorize",
        query_string={"response_type": "ç \x15\x12", "client_id": "%k\U000e2580", "state": "\x1e"},
    )

    assert response.status_code == 400
    assert response.content_type.startswith("text/html")
    assert "Traceback" not in response.get_data(as_text=True)


def test_introspect_with_non_utf8_basic_credentials_is_invalid_request(client: FlaskClient) -> None:
    credentials = base64.b64encode(b"cli_\xe7\x00:secret").decode()

    response = client.post(
        "/oauth/introspect",
        data={"token": "ñ"},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code in (400, 401)
    assert response.is_json
    assert response.json["error"] in ("invalid_request", "invalid_client")


def test_token_with_non_utf8_basic_credentials_is_not_a_500(client: FlaskClient) -> None:
    credentials = base64.b64encode(b"\xff\xfe:\xfa").decode()

    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code in (400, 401)
    assert response.is_json
    assert "error" in response.json
