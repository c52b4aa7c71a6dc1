"""Calendar periods offered: every year, quarter and month back to the first response,
and never fewer than the recent ones."""

from __future__ import annotations

import datetime as dt

from survey.services.periods import period_choices


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
