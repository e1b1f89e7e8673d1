"""Several processes starting at once on an empty key table end up with one signing key."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from api.config import secret_bytes
from api.migrate import upgrade
from auth.keys import KeyStore
from auth.models import SigningKey
from tests.conftest import TEST_SECRETS


def test_processes_starting_together_share_the_first_key(
    fresh_engine: Engine, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL only: `xinyong serve` makes the embedded default's first key")
    upgrade(fresh_engine)
    factory = sessionmaker(bind=fresh_engine)
    key = secret_bytes(TEST_SECRETS, "KEYSTORE_KEY")
    stores = [KeyStore(factory, key, publish_retired_for=timedelta(minutes=11)) for _ in range(6)]
    start = threading.Barrier(len(stores))
    kids: list[str | None] = []

    def load(store: KeyStore) -> None:
        start.wait()
        kids.append(store.signing_keyset().keys[0].kid)

    threads = [threading.Thread(target=load, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(kids) == len(stores)
    assert len(set(kids)) == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(SigningKey)) == 1
