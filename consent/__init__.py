"""Consents: their lifecycle, consent tokens, the hash-chained consent ledger and the access log."""
