"""Time as the service sees it: instants in UTC, calendar days in China."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def day_of(at: dt.datetime) -> dt.date:
    """The calendar day in China of an instant (ages, validity days, daily limits)."""
    return at.astimezone(CHINA).date()


def today() -> dt.date:
    return day_of(now())
