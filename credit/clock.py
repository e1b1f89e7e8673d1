"""The platform's clock: publication periods are counted in China Standard Time.

Everything that depends on "today" asks this module, so tests can set the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in China Standard Time, the calendar publication periods follow."""
    return now().astimezone(CHINA_TZ).date()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Freeze the clock at `moment` (aware) for the duration of the block."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous
