"""What may be published: disclosure control (protects people) and reliability (protects
readers). STATISTICS.md section 5."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

PUBLISHED = "published"
SMALL_COUNT = "suppressed_small_count"
COMPLEMENTARY = "suppressed_complementary"
FILTER_COMPLEMENT = "suppressed_filter_complement"  # the same group outside the filter is small
SMALL_REST = "estimate_withheld_small_rest"  # counted, but the rest of the table is small

RELIABLE = "ok"
REVIEW = "review"
TOO_UNCERTAIN = "too_uncertain"
EMPTY = "empty_group"

# GSS shorthand for a figure that is hidden or flagged, with its reason in words: the one
# register pages, downloads and public releases read. `{threshold}` is the threshold.
CONFIDENTIAL, LOW_RELIABILITY, NOT_AVAILABLE, NOT_APPLICABLE = "[c]", "[u]", "[x]", "[z]"
PROVISIONAL = "[p]"
SHORTHAND = {
    CONFIDENTIAL: "confidential: too few responses to show safely",
    LOW_RELIABILITY: "low reliability: the interval is too wide to rely on (NCHS standard)",
    NOT_AVAILABLE: "not available",
    NOT_APPLICABLE: "not applicable",
    PROVISIONAL: "provisional: the period is not over, or responses began after it started",
}
FLAGS = {
    SMALL_COUNT: (
        CONFIDENTIAL,
        "fewer than {threshold} responses, or all or none of a small group gave one answer",
    ),
    COMPLEMENTARY: (CONFIDENTIAL, "hidden so that a smaller group cannot be worked out"),
    FILTER_COMPLEMENT: (
        CONFIDENTIAL,
        "the same group outside this period or these versions is too small, and "
        "subtracting would show it",
    ),
    SMALL_REST: (
        CONFIDENTIAL,
        "no estimate: the rest of the table is fewer than {threshold} responses, and "
        "comparing would show their answers",
    ),
    TOO_UNCERTAIN: (LOW_RELIABILITY, "the interval is too wide to rely on: treat with great care"),
    EMPTY: (NOT_AVAILABLE, "no responses in the group"),
}


def flag(*codes: str, threshold: int = 10) -> tuple[str, str]:
    """The GSS shorthand and the reason in words for the first code that has one (a
    disclosure code, then a reliability code), or ("", "")."""
    for code in codes:
        if code in FLAGS:
            shorthand, words = FLAGS[code]
            return shorthand, words.format(threshold=threshold)
    return "", ""


def primary_suppression(
    n, numerator=None, *, min_cell: int = 10, small_parts: bool = True
) -> np.ndarray:
    """Say which cells are disclosive on their own.

    A cell is suppressed when its unweighted denominator is below `min_cell`, or its
    numerator or complement lies between 1 and ``min_cell - 1`` (unless not `small_parts`:
    counts perturbed by a keyed table, where a few is never an exact few), or (while the
    group is smaller than ``3 * min_cell``) the numerator or complement is 0: "everyone in
    this small group said X" discloses too.

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
            if small_parts:
                suppressed |= (part >= 1) & (part <= min_cell - 1)
            suppressed |= (part <= 0) & (n < 3 * min_cell)
    return suppressed


def published_suppression(
    true_n, shown_n, shown_x=None, *, min_cell: int = 10, small_parts: bool = False
) -> np.ndarray:
    """Say which cells are disclosive, read from perturbed counts: `primary_suppression` on
    the published group sizes and positive answers (without the few-answers rule unless
    `small_parts`: a perturbed few is never an exact few), and every group under
    `min_cell` by its true size, whatever its noise. Whether a group shows then does not
    step deterministically as responses are added.

    Examples
    --------
    >>> published_suppression([8, 12, 40], [11, 9, 41], [5, 4, 0]).tolist()
    [True, True, False]
    """
    shown_n = np.asarray(shown_n, dtype=float)
    x = None if shown_x is None else np.minimum(np.asarray(shown_x, dtype=float), shown_n)
    small = primary_suppression(shown_n, x, min_cell=min_cell, small_parts=small_parts)
    true_n = np.asarray(true_n, dtype=float)
    return small | ((true_n >= 1) & (true_n < min_cell))


def complementary_suppression(
    suppressed: np.ndarray,
    sizes: np.ndarray,
    constraints: Sequence[Sequence[int]],
    *,
    min_cell: int = 10,
    numerators: np.ndarray | None = None,
    priority: np.ndarray | None = None,
    lone: bool = True,
) -> np.ndarray:
    """Suppress more cells until nothing hidden can be worked out by subtraction.

    Each constraint lists the cells of one sum, its parts first and their total last (the
    groups of a breakdown and its "All" row; a row or column of a two-way table and its
    margin). Within a constraint whose total is shown, the hidden parts' respondents must
    add up to 0 or at least `min_cell`, as must their `numerators` and complements
    (n - numerator) when given, and with `lone` they must not be a single non-empty cell:
    otherwise "total minus the shown parts" gives a small count away. Where the shown
    counts are perturbed and the estimates weighted, the sum alone is at risk, so callers
    pass `lone=False` and no numerators: that hides far less. A hidden total needs a second
    hidden cell beside it. More cells are hidden until every constraint holds: lowest
    `priority` first (a "prefer not to say" group, say), then the smallest.

    Returns the cells suppressed by this step only.

    Examples
    --------
    >>> complementary_suppression(np.array([True, False, False, False]),
    ...                           np.array([4, 30, 12, 46]), [[0, 1, 2, 3]]).tolist()
    [False, False, True, False]
    >>> complementary_suppression(np.array([True, True, False, False]),
    ...                           np.array([1, 1, 300, 302]), [[0, 1, 2, 3]]).tolist()
    [False, False, True, False]
    """
    primary = np.asarray(suppressed, dtype=bool)
    hidden = primary.copy()
    sizes = np.asarray(sizes, dtype=float)
    x = None if numerators is None else np.asarray(numerators, dtype=float)
    order = np.zeros(len(sizes)) if priority is None else np.asarray(priority, dtype=float)
    changed = True
    while changed:
        changed = False
        for constraint in constraints:
            members = np.asarray(constraint, dtype=int)
            parts, total = members[:-1], members[-1]
            if not _exposed(hidden, parts, total, sizes, x, min_cell, lone):
                continue
            # An empty group adds nothing to a hidden sum: hiding it protects nobody.
            candidates = parts[~hidden[parts] & (sizes[parts] > 0)]
            if not candidates.size:
                candidates = np.array([total]) if not hidden[total] else candidates
            if not candidates.size:
                continue
            # Lowest priority, then smallest, then first: the least lost.
            pick = min(candidates, key=lambda i: (order[i], sizes[i], i))
            hidden[pick] = True
            changed = True
    # Hiding one cell at a time can leave an earlier choice unneeded: show again, largest
    # first, every cell whose showing keeps every constraint safe.
    for cell in sorted(np.flatnonzero(hidden & ~primary), key=lambda i: (-sizes[i], -i)):
        hidden[cell] = False
        if any(
            _exposed(hidden, np.asarray(c[:-1], dtype=int), c[-1], sizes, x, min_cell, lone)
            for c in constraints
            if cell in c
        ):
            hidden[cell] = True
    return hidden & ~primary


def _exposed(hidden, parts, total, sizes, x, min_cell, lone) -> bool:
    """Say whether the hidden cells of one constraint can be worked out from the rest."""
    hidden_parts = parts[hidden[parts]]
    if hidden[total]:
        return hidden_parts.size == 0
    if hidden_parts.size == 0:
        return False
    n = sizes[hidden_parts].sum()
    if lone and hidden_parts.size == 1 and n > 0:
        return True
    sums = [n]
    if x is not None:
        sums += [x[hidden_parts].sum(), n - x[hidden_parts].sum()]
    return any(1 <= s <= min_cell - 1 for s in sums)


def withheld_for_complements(
    labels: Sequence[tuple], complements: Sequence[Mapping[tuple, float]], *, min_cell: int = 10
) -> np.ndarray:
    """Say which groups of a filtered table must be withheld because the same group in the
    filter's complement is small.

    A table for some of the responses (a month, some questionnaire versions) can be
    subtracted from a wider table on offer (its quarter, all versions). `complements`
    gives, for each such wider table, each group's respondents outside the filter. A group
    with 1 to ``min_cell - 1`` of them outside is withheld.

    Examples
    --------
    >>> withheld_for_complements([("f",), ("m",), ("All",)],
    ...                          [{("f",): 0, ("m",): 1, ("All",): 1}]).tolist()
    [False, True, True]
    """
    withheld = np.zeros(len(labels), dtype=bool)
    for complement in complements:
        for index, key in enumerate(labels):
            outside = complement.get(tuple(key), 0)
            if 1 <= outside <= min_cell - 1:
                withheld[index] = True
    return withheld


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
