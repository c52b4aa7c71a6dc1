"""What may be published: disclosure control (protects people) and reliability (protects
readers). STATISTICS.md section 5."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PUBLISHED = "published"
SMALL_COUNT = "suppressed_small_count"
COMPLEMENTARY = "suppressed_complementary"

RELIABLE = "ok"
REVIEW = "review"
TOO_UNCERTAIN = "too_uncertain"


def primary_suppression(n, numerator=None, *, min_cell: int = 10) -> np.ndarray:
    """Say which cells are disclosive on their own.

    A cell is suppressed when its unweighted denominator is below `min_cell`, or its
    numerator or complement lies between 1 and ``min_cell - 1``, or (while the group is
    smaller than ``3 * min_cell``) the numerator or complement is 0: "everyone in this
    small group said X" discloses too.

    Examples
    --------
    >>> primary_suppression([5, 40, 40, 20], [2, 3, 20, 0]).tolist()
    [True, True, False, True]
    """
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell!r}")
    n = np.asarray(n, dtype=float)
    suppressed = n < min_cell
    if numerator is not None:
        x = np.asarray(numerator, dtype=float)
        complement = n - x
        for part in (x, complement):
            suppressed |= (part >= 1) & (part <= min_cell - 1)
            suppressed |= (part == 0) & (n < 3 * min_cell)
    return suppressed


def complementary_suppression(
    suppressed: np.ndarray, sizes: np.ndarray, constraints: Sequence[Sequence[int]]
) -> np.ndarray:
    """Suppress more cells until no suppressed cell can be recovered by subtraction.

    Each constraint lists cells whose published values are linked by one sum (the parts of
    a breakdown and its total). Wherever a constraint has exactly one suppressed cell, the
    smallest other cell in it is suppressed too, and the check repeats.

    Returns the cells suppressed by this step only.

    Examples
    --------
    >>> complementary_suppression(np.array([True, False, False, False]),
    ...                           np.array([4, 30, 12, 46]), [[0, 1, 2, 3]]).tolist()
    [False, False, True, False]
    """
    primary = np.asarray(suppressed, dtype=bool)
    hidden = primary.copy()
    sizes = np.asarray(sizes, dtype=float)
    changed = True
    while changed:
        changed = False
        for constraint in constraints:
            members = np.asarray(constraint, dtype=int)
            if np.count_nonzero(hidden[members]) == 1:
                candidates = members[~hidden[members]]
                # The total of a constraint is listed last; prefer hiding a part.
                parts = candidates[candidates != members[-1]]
                pool = parts if parts.size else candidates
                hidden[pool[np.argmin(sizes[pool])]] = True
                changed = True
    return hidden & ~primary


def nchs_reliability(
    estimate: float, low: float, high: float, *, n_eff: float, df: float
) -> tuple[str, tuple[str, ...]]:
    """Apply the NCHS presentation standard for proportions to a Korn-Graubard interval.

    Returns ``("ok" | "review" | "too_uncertain", reasons)``.

    Examples
    --------
    >>> nchs_reliability(0.5, 0.45, 0.55, n_eff=400, df=399)
    ('ok', ())
    >>> nchs_reliability(0.1, 0.02, 0.35, n_eff=60, df=59)
    ('too_uncertain', ('interval_width_at_least_30_points',))
    """
    reasons: list[str] = []
    width = high - low
    if not (n_eff >= 30):
        reasons.append("effective_sample_under_30")
    elif math.isnan(width):
        reasons.append("interval_undefined")
    elif width <= 0.05:
        pass
    elif width >= 0.30:
        reasons.append("interval_width_at_least_30_points")
    elif estimate > 0 and width / estimate > 1.30:
        reasons.append("relative_width_over_130_percent")
    if reasons:
        return TOO_UNCERTAIN, tuple(reasons)
    review = []
    if df < 8:
        review.append("degrees_of_freedom_under_8")
    if estimate in (0.0, 1.0):
        review.append("estimate_is_0_or_100_percent")
    return (REVIEW, tuple(review)) if review else (RELIABLE, ())
