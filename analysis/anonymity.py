"""k-anonymity for microdata: local suppression guided by importance (as sdcMicro's
`kAnon` does with its importance argument)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SLICE = 1 << 16  # rows matched against the small classes at a time


def k_anonymise(
    codes: np.ndarray, importance: Sequence[float], k: int, *, missing: int = -1
) -> tuple[np.ndarray, list[int], int]:
    """Suppress values until every combination of the columns is shared by k rows.

    `codes` holds one small integer per row and quasi-identifier (0 or more; `missing` for
    a suppressed value, which counts as a value of its own). Wherever a row's combination
    is shared by fewer than k rows, its least important column is suppressed first, then the
    next, until none is small. Suppression is cumulative: where every row is unique at
    first (many quarters in few responses), no one column merges anything on its own, but
    several together do. A column the small rows all share is left alone (suppressing it
    merges nothing) unless nothing else works. Then each column is given back, most
    important first, wherever giving it back leaves no combination small. Rows still too
    few are left out. Works in place.

    Returns which rows are kept, the values suppressed per column, and how many rows were
    left out.

    Examples
    --------
    Borough (importance 10) is kept; the less important second column gives way:

    >>> codes = np.array([[1, 1], [1, 1], [1, 2], [2, 2], [2, 2], [1, 3]], dtype=np.int16)
    >>> kept, suppressed, dropped = k_anonymise(codes, [10, 1], 2)
    >>> codes.tolist(), suppressed, dropped
    ([[1, 1], [1, 1], [1, -1], [2, 2], [2, 2], [1, -1]], [0, 2], 0)
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k!r}")
    suppressed = [0] * codes.shape[1]
    kept = np.ones(len(codes), dtype=bool)
    if not codes.shape[1] or not len(codes):
        return kept, suppressed, 0
    order = sorted(range(codes.shape[1]), key=lambda i: (importance[i], i))
    skipped, taken = [], {}
    for index in order:
        small = small_classes(codes, k)
        if not small.any():
            break
        column = codes[:, index]
        changed = small & (column != missing)
        values = column[changed]
        if not values.size:
            continue
        if (values == values[0]).all():
            skipped.append(index)  # the small rows all share it: pure loss for now
            continue
        column[changed] = missing
        taken[index] = (changed, values)
    for index in skipped:  # only if the more important columns could not do it
        small = small_classes(codes, k)
        if not small.any():
            break
        column = codes[:, index]
        changed = small & (column != missing)
        taken[index] = (changed, column[changed])
        column[changed] = missing
    # Give back, most important first, what the rest turned out to make unnecessary.
    still_small = int(small_classes(codes, k).sum())
    for index in sorted(taken, key=lambda i: (-importance[i], -i)):
        changed, values = taken[index]
        column = codes[:, index]
        column[changed] = values
        if int(small_classes(codes, k).sum()) > still_small:
            column[changed] = missing
            suppressed[index] += int(changed.sum())
    kept = ~small_classes(codes, k)
    return kept, suppressed, int((~kept).sum())


def small_classes(codes: np.ndarray, k: int) -> np.ndarray:
    """True for each row whose combination of codes is shared by fewer than k rows."""
    bases = codes.max(axis=0).astype(np.int64) + 2  # codes run from -1 to the maximum
    combinations = float(np.prod(bases.astype(float)))
    if combinations >= 2.0**62:
        _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
        return counts[inverse.ravel()] < k
    # One number per row, built in place to keep memory small (4 bytes a row when it fits).
    keys = np.zeros(len(codes), dtype=np.int32 if combinations < 2.0**31 else np.int64)
    for column, base in zip(codes.T, bases, strict=True):
        keys *= base
        keys += column
        keys += 1
    values, counts = np.unique(keys, return_counts=True)
    small = values[counts < k]
    found = np.zeros(len(codes), dtype=bool)
    if not len(small):
        return found
    # A lookup table over the small keys' range (up to 4 MB) is quicker than sorting the
    # rows again. A slice of rows at a time keeps isin's working copies small: over the
    # whole million they would take 20 MB.
    kind = "table" if small.max() - small.min() < 2**22 else "sort"
    for start in range(0, len(keys), SLICE):
        found[start : start + SLICE] = np.isin(keys[start : start + SLICE], small, kind=kind)
    return found
