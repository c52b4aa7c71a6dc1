"""The service's idea of now, in one place so tests can freeze it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def now() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def stored(moment: dt.datetime) -> dt.datetime:
    """A time read back from the database, timezone-aware: SQLite hands back naive
    datetimes, and every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def london_moment(day: dt.date, time: dt.time) -> tuple[dt.datetime | None, str | None]:
    """The moment a London date and clock time name, and None; or None and why there is
    no one moment: the hour the clocks skip in March, or the hour they repeat in October."""
    first = dt.datetime.combine(day, time, tzinfo=LONDON)
    second = first.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, None
    if first.astimezone(dt.UTC).astimezone(LONDON).time() != time:
        return None, (
            "That time does not exist in London: the clocks go forward an hour that night. "
            "Choose another time"
        )
    return None, (
        "That time happens twice in London: the clocks go back an hour that night. "
        "Choose a time before 1am or from 2am"
    )


def today() -> dt.date:
    """Return today's date in London, which is what residents and staff mean by a day."""
    return now().astimezone(LONDON).date()
