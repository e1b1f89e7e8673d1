"""Consents: partners ask, subjects decide (API.md "Consent")."""
