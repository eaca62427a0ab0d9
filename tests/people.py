"""People for tests, made without the app's own code: a valid ID number computed here
(GB 11643-1999: ISO 7064 MOD 11-2), and ages counted back from today, so no test turns into
a date bomb the year its child turns 6."""

from __future__ import annotations

import datetime as dt

from core import clock

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def id_number(born: dt.date, region: str = "320102", sequence: str = "011") -> str:
    """An 18-digit ID number; an odd last sequence digit is a man or boy."""
    body = f"{region}{born:%Y%m%d}{sequence}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# A boy of three (under 6: a guardian and an accompanying physician), today and every day.
CHILD_ID_NUMBER = id_number(years_before(clock.today(), 3) - dt.timedelta(days=30))
