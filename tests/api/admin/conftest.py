"""Fixtures of these tests: the parties of the consent tests."""

from tests.api.consents.conftest import client, keys_of_this_test, world

__all__ = ["client", "keys_of_this_test", "world"]
