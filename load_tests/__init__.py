"""Benchmarks and load tests; they talk to a running server over HTTP only."""
