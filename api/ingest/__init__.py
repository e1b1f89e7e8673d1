"""Departments push records (API.md "Departments")."""
