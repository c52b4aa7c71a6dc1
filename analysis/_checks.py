"""Argument checks shared by the public functions: name the bad value and what is allowed."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable


def check_confidence_level(confidence_level: float) -> float:
    value = float(confidence_level)
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise ValueError(
            f"confidence_level must be strictly between 0 and 1, not {confidence_level!r}"
        )
    return value


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; not {value!r}")
    return value


def check_non_negative(name: str, value: float) -> float:
    number = float(value)
    if math.isnan(number) or math.isinf(number) or number < 0:
        raise ValueError(f"{name} must be a finite number, 0 or more; not {value!r}")
    return number


@functools.cache
def scipy_special():
    """scipy.special, imported at first use: a web worker that never builds a report, or
    a process streaming an export, does not carry its 16 MB."""
    from scipy import special

    return special
