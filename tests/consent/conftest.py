"""Fixtures of the consent tests: the OAuth test client of tests/auth."""

from tests.auth.conftest import client, keys_of_this_test

__all__ = ["client", "keys_of_this_test"]
