"""Privacy rules in one place: scrubbing free text before it is stored.

Residents are asked not to identify themselves, but some will type contact details
anyway. These patterns remove the common ones before anything reaches the database.
"""

from __future__ import annotations

import re

import numpy as np

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# UK numbers: 07700 900123, +44 7700 900123, (020) 7946 0018, 0161-496-0000 and the like.
PHONE = re.compile(r"(?<![\w])(?:\+44\s?\(?0?\)?\s?|\(?0)(?:[\s().-]{0,2}\d){9,10}(?![\w])")
# Any run of 10 or more digits with separators, which is never needed in an answer.
LONG_NUMBER = re.compile(r"(?<![\w])\d(?:[\s.-]?\d){9,}(?![\w])")
POSTCODE = re.compile(
    r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE
)
NI_NUMBER = re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE)

SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (EMAIL, "[email removed]"),
    (NI_NUMBER, "[NI number removed]"),
    (PHONE, "[phone number removed]"),
    (LONG_NUMBER, "[number removed]"),
    (POSTCODE, "[postcode removed]"),
)


def scrub_free_text(text: str) -> str:
    """Replace email addresses, phone numbers, postcodes and NI numbers with placeholders."""
    for pattern, placeholder in SCRUBBERS:
        text = pattern.sub(placeholder, text)
    return text


# --- Counts shown to staff ------------------------------------------------------------

FEWER_THAN = "fewer than {threshold}"


def display_count(count: int, threshold: int) -> str:
    """Show a count to staff: the number when at least the threshold, otherwise a range."""
    return f"{count:,}" if count >= threshold else FEWER_THAN.format(threshold=threshold)


def suppress_counts(counts: list[int], threshold: int) -> list[bool]:
    """Say which counts of one breakdown (whose total is shown) must be hidden.

    Counts below the threshold are hidden ("fewer than 10"). Where exactly one count is
    hidden and it is not 0, it could be recovered by subtracting the others from the
    total, so the next-smallest count is hidden too (complementary suppression). A lone
    hidden 0 needs no protection: learning that nobody is in a group discloses no one.
    """
    from analysis import complementary_suppression

    hidden = np.array([count < threshold for count in counts], dtype=bool)
    lone = np.flatnonzero(hidden)
    if len(lone) == 1 and counts[lone[0]] > 0 and sum(counts) > 0:
        sizes = np.array(list(counts) + [sum(counts)], dtype=float)
        extra = complementary_suppression(
            np.append(hidden, False), sizes, [list(range(len(sizes)))]
        )
        hidden |= extra[:-1]
    return [bool(h) for h in hidden]
