"""Exceptions of the auth domain."""

from __future__ import annotations


class AuthError(Exception):
    """Base of the auth domain's exceptions."""


class InvalidClientRegistration(AuthError):
    """A client registration that the register refuses; the message says why."""


class ClientNotFound(AuthError):
    """No client is registered under the given id."""


class AccountError(AuthError):
    """A subject account that cannot be created; the message says why."""


class SignInThrottled(AuthError):
    """Too many failed sign-ins; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class NotASubject(AuthError):
    """A token that was not issued to a signed-in subject."""
