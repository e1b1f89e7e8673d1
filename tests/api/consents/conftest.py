"""Builders of the consent and restricted-read tests: partners with tokens, subjects signed in,
consents in every state, made through the HTTP API wherever the API can make them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from credit import clock
from credit.models import Subject
from tests.auth.conftest import (
    access_token,
    bearer,
    client,
    keys_of_this_test,
    make_account,
    make_client,
    subject_tokens,
    unique_address,
)
from tests.factories import make_record

__all__ = ["client", "keys_of_this_test"]

ALL_CATEGORIES = ("basic", "administrative", "lists", "tax", "judicial", "social_insurance")
RECORD_KINDS = (
    "penalty",
    "license",
    "black_list",
    "tax_rating",
    "court_enforcement",
    "social_insurance_arrears",
)
PARTNER_SCOPES = ("consents.request", *(f"credit.{c}" for c in ALL_CATEGORIES))


def in_days(days: float) -> str:
    """An RFC 3339 time `days` from now."""
    return (clock.now() + timedelta(days=days)).isoformat()


@dataclass
class Party:
    """A registered client with a valid access token."""

    client_id: str
    secret: str
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {**bearer(self.token), **extra}


@dataclass
class SignedIn:
    """A subject with an account, signed in through `xinyong-cli`."""

    subject: Subject
    username: str
    password: str
    token: str

    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class World:
    """Parties and consents of one test, built through the API."""

    def __init__(self, app: Flask, db_session: Session, http: FlaskClient) -> None:
        self.app = app
        self.db_session = db_session
        self.http = http

    def party(
        self,
        kind: str = "bank",
        scopes: Sequence[str] | None = None,
        categories: Sequence[str] = (),
        name: str = "周村农商银行",
    ) -> Party:
        if scopes is None:
            scopes = {
                # Officials hold the scopes of the categories granted at registration.
                "government": tuple(f"credit.{c}" for c in categories),
                "judicial": tuple(f"credit.{c}" for c in categories),
                "department": ("records.write", "objections.resolve"),
                "admin": ("admin",),
            }.get(kind, PARTNER_SCOPES)
        client_id, secret = make_client(
            self.db_session, self.app, kind=kind, scopes=scopes, categories=categories, name=name
        )
        return Party(client_id, secret, access_token(self.http, client_id, secret))

    def subject(self, with_records: bool = True) -> SignedIn:
        username, password, subject = make_account(self.db_session, self.app)
        if with_records:
            for kind in RECORD_KINDS:
                details = {"year": 2025, "level": "B"} if kind == "tax_rating" else None
                extra = {"details": details} if details else {}
                make_record(self.db_session, subject, kind=kind, **extra)
            self.db_session.commit()
        # Each subject signs in from a browser of their own (its own session cookie).
        browser = self.app.test_client()
        browser.environ_base["REMOTE_ADDR"] = unique_address()
        tokens = subject_tokens(browser, username, password)
        return SignedIn(subject, username, password, str(tokens["access_token"]))

    def request(
        self,
        partner: Party,
        subject: Subject,
        categories: Sequence[str] = ("basic", "tax"),
        expires_in_days: float = 30,
        **extra: Any,
    ) -> TestResponse:
        body = {
            "subject": {"uscc": subject.uscc},
            "categories": list(categories),
            "purpose": "loan_application",
            "expires_at": in_days(expires_in_days),
            **extra,
        }
        return self.http.post("/v1/consents", json=body, headers=partner.headers())

    def consent(
        self,
        partner: Party,
        owner: SignedIn,
        state: str = "authorised",
        categories: Sequence[str] = ("basic", "tax"),
        expires_in_days: float = 30,
    ) -> tuple[str, str | None]:
        """A consent of `owner` to `partner` in `state`: (consent_id, consent token or None).

        States: awaiting, authorised, rejected, revoked, expired (authorised, then the clock
        moves past its expiry: the caller reads under `clock.frozen_at(...)` to see it).
        """
        response = self.request(partner, owner.subject, categories, expires_in_days)
        assert response.status_code == 201, response.get_data(as_text=True)
        consent_id = str(response.json["consent_id"])  # type: ignore[index]
        if state == "awaiting":
            return consent_id, None
        if state == "rejected":
            self.decide(owner, consent_id, "reject")
            return consent_id, None
        self.decide(owner, consent_id, "approve")
        taken = self.http.post(f"/v1/consents/{consent_id}/token", headers=partner.headers())
        assert taken.status_code == 200, taken.get_data(as_text=True)
        token = str(taken.json["consent_token"])  # type: ignore[index]
        if state == "revoked":
            self.decide(owner, consent_id, "revoke")
        return consent_id, token

    def decide(self, owner: SignedIn, consent_id: str, decision: str) -> TestResponse:
        response = self.http.post(
            f"/v1/me/consents/{consent_id}/{decision}", headers=owner.headers()
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def report(
        self,
        reader: Party | SignedIn,
        subject_id: str,
        consent_token: str | None = None,
        categories: str | None = None,
        legal_basis: str | None = None,
    ) -> TestResponse:
        headers = reader.headers()
        if consent_token is not None:
            headers["Consent-Token"] = consent_token
        if legal_basis is not None:
            headers["Legal-Basis"] = legal_basis
        query = {"categories": categories} if categories is not None else None
        return self.http.get(
            f"/v1/subjects/{subject_id}/report", headers=headers, query_string=query
        )


@pytest.fixture
def world(app: Flask, db_session: Session, client: FlaskClient) -> World:
    return World(app, db_session, client)


def later_than(days: float) -> datetime:
    """A moment `days` from now, for `clock.frozen_at`."""
    return clock.now() + timedelta(days=days)
