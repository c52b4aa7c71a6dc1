"""Calendar periods, the only periods reports and coverage offer.

A rolling window ("the last 30 days") moves every day, so two days' windows differ by a
day's responses; calendar months, quarters and years do not. A period is offered with the
wider periods that contain it, so the publication rules can check what subtracting one
from another would show.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

PERIOD = re.compile(r"^(all|\d{4}|\d{4}-(0[1-9]|1[0-2])|\d{4}-Q[1-4])$")
MONTHS_OFFERED = 12
QUARTERS_OFFERED = 4
YEARS_OFFERED = 2


class PeriodError(ValueError):
    """Not a period the platform offers."""


@dataclass(frozen=True)
class Period:
    key: str  # "all", "2026", "2026-Q4" or "2026-11"
    start: dt.date | None  # None: from the first response
    end: dt.date | None  # inclusive; None: to the last
    label: str

    @property
    def kind(self) -> str:
        if self.key == "all":
            return "all"
        return "quarter" if "Q" in self.key else "year" if len(self.key) == 4 else "month"


ALL = Period("all", None, None, "all responses")


def parse_period(key: str | None) -> Period:
    """Turn "all", "2026", "2026-Q4" or "2026-11" into dates and words."""
    if not PERIOD.match(key or ""):
        raise PeriodError("Choose a period: all responses, a year, a quarter or a month")
    if key == "all":
        return ALL
    year = int(key[:4])
    if len(key) == 4:
        return Period(key, dt.date(year, 1, 1), dt.date(year, 12, 31), str(year))
    if "Q" in key:
        quarter = int(key[-1])
        start = dt.date(year, 3 * quarter - 2, 1)
        end = _month_end(dt.date(year, 3 * quarter, 1))
        return Period(key, start, end, f"Q{quarter} {year} ({start:%B} to {end:%B})")
    start = dt.date(year, int(key[5:]), 1)
    return Period(key, start, _month_end(start), f"{start:%B %Y}")


def provisional_reason(
    start: dt.date, end: dt.date, first: dt.date | None, today: dt.date
) -> str | None:
    """Why figures for the days `start` to `end` (inclusive) are provisional (GSS [p]), with
    the days they cover: the period is not over, or responses began after it started.
    None when it is over and responses were collected from its first day."""
    still_open = end >= today
    late = first is not None and first > start
    if not (still_open or late):
        return None
    why = " and ".join(
        reason
        for reason, applies in (
            ("responses began after it started", late),
            ("the period is not over", still_open),
        )
        if applies
    )
    covered = f"{day_words(max(start, first) if late else start)} to {day_words(min(end, today))}"
    return f"provisional: covers {covered} only ({why})"


def day_words(day: dt.date) -> str:
    """A date as GOV.UK writes it: "7 December 2026"."""
    return f"{day.day} {day:%B %Y}"


def _month_end(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def period_choices(today: dt.date, first: dt.date | None = None) -> list[tuple[str, str]]:
    """All responses, then every calendar year, quarter and month back to the one holding
    the first response (`first`), and at least the recent ones (2 years, 4 quarters, 12
    months) however new the survey; newest first."""
    choices = [("all", "All responses")]
    recent_year = today.year - YEARS_OFFERED + 1
    for year in range(today.year, min(recent_year, first.year if first else today.year) - 1, -1):
        choices.append((str(year), str(year)))
    quarter = (today.year, (today.month - 1) // 3 + 1)
    oldest_quarter = (first.year, (first.month - 1) // 3 + 1) if first else quarter
    offered = 0
    while offered < QUARTERS_OFFERED or quarter >= oldest_quarter:
        key = f"{quarter[0]}-Q{quarter[1]}"
        choices.append((key, parse_period(key).label))
        quarter = (quarter[0] - 1, 4) if quarter[1] == 1 else (quarter[0], quarter[1] - 1)
        offered += 1
    month = today.replace(day=1)
    oldest_month = first.replace(day=1) if first else month
    offered = 0
    while offered < MONTHS_OFFERED or month >= oldest_month:
        choices.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
        month = (month - dt.timedelta(days=1)).replace(day=1)
        offered += 1
    return choices


def enclosing(period: Period) -> list[Period]:
    """The wider periods that contain this one (all responses, its year, its quarter):
    each could be subtracted from to leave what this one leaves out."""
    if period.kind == "all":
        return []
    wider = [ALL]
    year = period.key[:4]
    if period.kind != "year":
        wider.append(parse_period(year))
    if period.kind == "month":
        month = int(period.key[5:])
        wider.append(parse_period(f"{year}-Q{(month - 1) // 3 + 1}"))
    return wider
