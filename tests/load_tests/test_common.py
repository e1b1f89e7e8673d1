"""The benchmarks' guard and statistics: they only ever target this machine."""

from __future__ import annotations

import time

import pytest

from load_tests import common
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


def test_the_median_of_an_odd_count_is_the_middle_value() -> None:
    # round(2.5) is 2 (halves go to even): the nearest rank must use the ceiling.
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0


def _count_calls(count: int | None, seconds: float | None) -> tuple[list[int], common.Samples]:
    seen: list[int] = []

    def call(_connection: common.Connection, i: int) -> tuple[int, bool]:
        seen.append(i)
        time.sleep(0.001)
        return (200, True) if i % 5 else (503, False)

    samples, _wall = common.drive("http://127.0.0.1:9", count, 3, call, seconds=seconds)
    return seen, samples


def test_drive_makes_exactly_count_calls() -> None:
    seen, samples = _count_calls(20, None)

    assert sorted(seen) == list(range(20))
    assert samples.statuses == {200: 16, 503: 4}
    assert samples.failures == 4
    assert len(samples.latencies) == 16


def test_drive_for_a_duration_stops_at_its_end() -> None:
    started = time.perf_counter()
    seen, samples = _count_calls(None, 0.2)

    assert 0.2 <= time.perf_counter() - started < 2
    assert seen
    assert sorted(seen) == list(range(len(seen)))
    assert samples.failures + len(samples.latencies) == len(seen)


def test_drive_needs_a_count_or_a_duration() -> None:
    with pytest.raises(ValueError, match="either"):
        common.drive("http://127.0.0.1:9", None, 1, lambda _c, _i: (200, True))
