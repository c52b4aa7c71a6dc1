"""Whole numbers and dates as people and addresses write them: ASCII digits only, in range.

Python is generous where the platform must not be: `"²".isdigit()` is true and `int("²")`
then fails; `int("٣")` is 3; `int()` takes any number of digits, and an id past PostgreSQL's
`integer` fails in the database. Every number read from a form, a query string or an
address goes through here, so the answer to a strange one is "not found" or a message,
never a server error.
"""

from __future__ import annotations

import datetime as dt
import re

from werkzeug.routing import IntegerConverter

# The largest value of PostgreSQL's `integer`, the type of every id column.
DATABASE_INT_MAX = 2**31 - 1
ASCII_DIGITS = re.compile(r"[0-9]+")
# What a date box keeps of what was typed, to show it back with the error: enough to see
# a five-digit year, not enough to echo a page of text.
DATE_PART_KEPT = 8


def whole_number(text: str | None, *, maximum: int = DATABASE_INT_MAX) -> int | None:
    """The number written in ASCII digits, from 0 to `maximum`; None for anything else."""
    if text is None or len(text) > len(str(maximum)) or not ASCII_DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= maximum else None


def date_from_parts(day: str, month: str, year: str) -> dt.date | None:
    """The date a GOV.UK date input's boxes give: day and month of one or two ASCII digits,
    a year of four. None when it is not a real date (a five-digit year is not read as its
    first four)."""
    if not all(re.fullmatch(r"[0-9]{1,2}", part) for part in (day, month)):
        return None
    if not re.fullmatch(r"[0-9]{4}", year) or year < "1000":
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def digits_not_above(limit: int) -> str:
    """A regular expression for the numbers 0 to `limit` in ASCII digits: any shorter
    number, or one as long whose first differing digit is smaller, or `limit` itself."""
    text = str(limit)
    shorter = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    smaller = [
        f"{text[:at]}[0-{int(digit) - 1}][0-9]{{{len(text) - at - 1}}}"
        for at, digit in enumerate(text)
        if digit != "0"
    ]
    return "(?:" + "|".join([*shorter, *smaller, text]) + ")"


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits, at most PostgreSQL's `integer`, so an
    address with "٣" or 2147483648 in it is not found rather than a database error. The
    range is in the pattern, not only checked after matching: a number too big then
    matches no route at all, so it is "not found" even where another route shares the
    address for other methods."""

    regex = digits_not_above(DATABASE_INT_MAX)
