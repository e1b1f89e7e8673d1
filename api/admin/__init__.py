"""Operator endpoints, for `admin` clients only."""
