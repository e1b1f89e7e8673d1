"""Exceptions of the consent domain."""

from __future__ import annotations


class ConsentError(Exception):
    """Base of the consent domain's exceptions."""


class InvalidConsentRequest(ConsentError):
    """A consent request with bad fields; `errors` holds the messages by field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class ConsentNotFound(ConsentError):
    """No such consent, or not one the caller may see (the same answer either way)."""


class ConsentConflict(ConsentError):
    """The consent is not in a state that allows this (for example a token asked twice)."""


class ConsentDenied(ConsentError):
    """A read that no valid consent covers; deliberately says nothing about the subject."""


class ScopeMissing(ConsentError):
    """The access token does not carry the scopes of the categories asked for."""

    def __init__(self, scopes: list[str]) -> None:
        super().__init__(" ".join(scopes))
        self.scopes = scopes


class LegalBasisRequired(ConsentError):
    """A government or judicial read without a usable `Legal-Basis`."""


class OutsideGrant(ConsentError):
    """A government or judicial read of categories its registration does not grant."""

    def __init__(self, categories: list[str]) -> None:
        super().__init__(", ".join(categories))
        self.categories = categories


class NotAReader(ConsentError):
    """A client whose kind never reads reports (departments, operators)."""
