"""Exceptions of the credit data domain."""

from __future__ import annotations


class CreditError(Exception):
    """Base of the credit domain's exceptions."""


class EntityNotFound(CreditError):
    """No legal person is registered under the given code."""

    def __init__(self, uscc: str) -> None:
        super().__init__(
            f"No legal person is registered under the unified social credit code {uscc}."
        )
        self.uscc = uscc


class SubjectNotFound(CreditError):
    """No subject has the given platform id."""

    def __init__(self, subject_id: str) -> None:
        super().__init__(f"No subject has the id {subject_id}.")
        self.subject_id = subject_id
