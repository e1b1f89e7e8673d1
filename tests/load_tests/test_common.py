"""The benchmarks' guard and statistics: they only ever target this machine."""

from __future__ import annotations

import pytest

from load_tests.common import is_loopback, percentile


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.9.9.9", "http://localhost:1", "http://[::1]:8000"],
)
def test_loopback_urls_are_accepted(url: str) -> None:
    assert is_loopback(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.evil.com:8000",  # a prefix check let this through once
        "http://127.0.0.1.example.org",
        "http://10.0.0.1",
        "http://192.168.1.10",
        "ftp://127.0.0.1",
        "127.0.0.1:8000",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    assert not is_loopback(url)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
