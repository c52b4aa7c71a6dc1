"""Calendar periods offered: every year, quarter and month back to the first response,
and never fewer than the recent ones."""

from __future__ import annotations

import datetime as dt

from survey.services.periods import period_choices, provisional_reason


def keys(choices) -> list[str]:
    return [key for key, _label in choices]


def test_every_period_back_to_the_first_response_is_offered():
    offered = keys(period_choices(dt.date(2026, 12, 7), first=dt.date(2024, 9, 30)))
    assert [k for k in offered if len(k) == 4] == ["2026", "2025", "2024"]
    quarters = [k for k in offered if "Q" in k]
    assert quarters[0] == "2026-Q4" and quarters[-1] == "2024-Q3" and len(quarters) == 10
    months = [k for k in offered if len(k) == 7 and "Q" not in k]
    assert months[0] == "2026-12" and months[-1] == "2024-09" and len(months) == 28


def test_a_new_survey_is_still_offered_the_recent_periods():
    for first in (None, dt.date(2026, 12, 1)):
        offered = keys(period_choices(dt.date(2026, 12, 7), first=first))
        assert offered[:3] == ["all", "2026", "2025"]
        assert sum("Q" in k for k in offered) == 4
        assert sum(len(k) == 7 and "Q" not in k for k in offered) == 12


def test_a_period_not_over_or_begun_before_the_survey_is_provisional():
    today, first = dt.date(2026, 12, 7), dt.date(2024, 9, 7)
    q4 = provisional_reason(dt.date(2026, 10, 1), dt.date(2026, 12, 31), first, today)
    assert q4 == (
        "provisional: covers 1 October 2026 to 7 December 2026 only (the period is not over)"
    )
    year = provisional_reason(dt.date(2024, 1, 1), dt.date(2024, 12, 31), first, today)
    assert year == (
        "provisional: covers 7 September 2024 to 31 December 2024 only "
        "(responses began after it started)"
    )
    new = provisional_reason(
        dt.date(2026, 10, 1), dt.date(2026, 12, 31), dt.date(2026, 11, 2), today
    )
    assert "2 November 2026 to 7 December 2026" in new and " and the period is not over" in new
    assert provisional_reason(dt.date(2025, 1, 1), dt.date(2025, 12, 31), first, today) is None
    # The last day of a quarter is still in it: only the next day closes it.
    assert provisional_reason(
        dt.date(2026, 7, 1), dt.date(2026, 9, 30), first, dt.date(2026, 9, 30)
    )
    assert not provisional_reason(
        dt.date(2026, 7, 1), dt.date(2026, 9, 30), first, dt.date(2026, 10, 1)
    )
