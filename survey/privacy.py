"""Scrubbing free text before it is stored. (Counts shown to anyone go through
`survey.publication`.)

Residents are asked not to identify themselves, but some will type contact details
anyway. These patterns remove the common ones before anything reaches the database.
"""

from __future__ import annotations

import re

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
