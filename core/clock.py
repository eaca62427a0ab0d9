"""Time as the service sees it: instants in UTC, calendar days in China."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The calendar day in China (ages, validity days, daily limits)."""
    return now().astimezone(CHINA).date()
