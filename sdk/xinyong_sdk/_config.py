"""Credentials from arguments or the environment: which grant a client uses, if any."""

from __future__ import annotations

import os
from collections.abc import Sequence

from xinyong_sdk._auth import ClientCredentials, Grant, RefreshCallback, Session
from xinyong_sdk._base import ENV_CLIENT_ID, ENV_CLIENT_SECRET, SESSION_CLIENT_ID
from xinyong_sdk.errors import ConfigurationError


def grant_from(
    *,
    client_id: str | None,
    client_secret: str | None,
    scope: str | Sequence[str] | None,
    access_token: str | None,
    refresh_token: str | None,
    on_token_refresh: RefreshCallback | None,
) -> Grant | None:
    """The client's grant: a subject session when given tokens, else client credentials from
    the arguments or the environment, else none (open data only)."""
    if access_token is not None or refresh_token is not None:
        # A subject's session never picks up the partner credentials of the environment.
        if scope is not None:
            raise ConfigurationError("scope= is for client credentials, not a subject session")
        return Session(
            client_id or SESSION_CLIENT_ID,
            client_secret,
            access_token,
            refresh_token,
            on_token_refresh,
        )
    if on_token_refresh is not None:
        raise ConfigurationError("on_token_refresh= is for a subject session (refresh_token=)")
    client_id = client_id or os.environ.get(ENV_CLIENT_ID) or None
    client_secret = client_secret or os.environ.get(ENV_CLIENT_SECRET) or None
    if client_id is None and client_secret is None:
        return None
    if client_id is None or client_secret is None:
        missing = (
            "client_id (XINYONG_CLIENT_ID)"
            if client_id is None
            else ("client_secret (XINYONG_CLIENT_SECRET)")
        )
        raise ConfigurationError(f"Incomplete client credentials: {missing} is missing.")
    if scope is not None and not isinstance(scope, str):
        scope = " ".join(scope)
    return ClientCredentials(client_id, client_secret, scope or None)
