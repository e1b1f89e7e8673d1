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


class RecordNotFound(CreditError):
    """No record of this department has the given id (another department's looks the same)."""

    def __init__(self, record_id: str) -> None:
        super().__init__(f"Your department has published no record {record_id}.")
        self.record_id = record_id


class RecordConflict(CreditError):
    """The record is not in a state that allows this (for example withdrawn already)."""


class InvalidRecord(CreditError):
    """A submitted record with bad fields; `errors` holds the messages by field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class NotYourRecord(CreditError):
    """The signed-in subject has no record with this id (another subject's looks the same)."""

    def __init__(self, record_id: str) -> None:
        super().__init__(f"You have no record {record_id}.")
        self.record_id = record_id


class CaseNotFound(CreditError):
    """No objection or repair request with this id is yours to see or decide."""

    def __init__(self, what: str, case_id: str) -> None:
        super().__init__(f"There is no {what} {case_id} for you.")
        self.case_id = case_id
