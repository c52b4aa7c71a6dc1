"""k-anonymity for microdata: local suppression guided by importance, a suppressed value
matching any value (as sdcMicro's `localSuppression` counts frequencies)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def k_anonymise(
    codes: np.ndarray, importance: Sequence[float], k: int, *, missing: int = -1
) -> tuple[np.ndarray, list[int], int]:
    """Suppress single values until every row matches at least k rows, itself included.

    `codes` holds one small integer per row and quasi-identifier (0 or more; `missing` for a
    suppressed value). Two rows match when every column is equal or suppressed in either:
    a suppressed value could be anything, so it matches anything, and a row's frequency is
    the number of rows it matches (sdcMicro's local suppression counts the same way).

    First, while some rows match fewer than k, each of them loses its least important
    value still shown. That hides far more than needed, so then every suppressed value is
    given back, most important column first, wherever its row would still match k rows
    and no row it stops matching would fall under k. Rows are never left out: a row with
    everything suppressed matches every row. Works in place.

    Returns which rows are kept (all of them, unless there are fewer than k), the values
    suppressed per column, and how many rows were left out.

    Examples
    --------
    Borough (importance 10) is kept; one value of the second column gives way, and the
    row it leaves, (1, suppressed), matches three rows:

    >>> codes = np.array([[1, 1], [1, 1], [1, 2], [2, 2], [2, 2], [1, 3]], dtype=np.int16)
    >>> kept, suppressed, dropped = k_anonymise(codes, [10, 1], 2)
    >>> codes.tolist(), suppressed, dropped
    ([[1, 1], [1, 1], [1, 2], [2, 2], [2, 2], [1, -1]], [0, 1], 0)
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k!r}")
    rows, columns = codes.shape
    if len(codes) < k:
        return np.zeros(rows, dtype=bool), [0] * columns, rows
    if not columns or not rows:
        return np.ones(rows, dtype=bool), [0] * columns, 0
    true = codes.copy()
    order = np.array(sorted(range(columns), key=lambda i: (importance[i], i)))
    while True:
        unsafe = np.flatnonzero(frequencies(codes, missing=missing) < k)
        if not unsafe.size:
            break
        shown = codes[unsafe][:, order] != missing
        least = order[shown.argmax(axis=1)]
        codes[unsafe[shown.any(axis=1)], least[shown.any(axis=1)]] = missing
    _give_back(codes, true, importance, k, missing)
    suppressed = [
        int(((codes[:, j] == missing) & (true[:, j] != missing)).sum()) for j in range(columns)
    ]
    return np.ones(rows, dtype=bool), suppressed, 0


def _give_back(codes, true, importance, k, missing) -> None:
    """Show again every suppressed value that leaves every row matching k rows, most
    important column first. Rows can only match a row whose most important value is the
    same or suppressed, so each check looks at those rows only: the rows of each value
    are listed once, and the few rows with that value suppressed kept beside them."""
    freq = frequencies(codes, missing=missing)
    first = int(np.argmax(importance))
    by_value = {
        int(value): np.flatnonzero(true[:, first] == value) for value in np.unique(true[:, first])
    }
    everyone = np.arange(len(codes))
    for j in sorted(range(codes.shape[1]), key=lambda i: (-importance[i], -i)):
        hidden_first = np.flatnonzero(codes[:, first] == missing)
        for r in np.flatnonzero((codes[:, j] == missing) & (true[:, j] != missing)):
            key = codes[r, first]
            if key == missing:
                near = everyone
            else:
                same = by_value[int(key)]
                near = np.concatenate([same[codes[same, first] == key], hidden_first])
            block = codes[near]
            row = codes[r].copy()
            before = _matching(block, row, missing)
            row[j] = true[r, j]
            after = _matching(block, row, missing)
            losers = near[before & ~after]
            if after.sum() >= k and (freq[losers] > k).all():
                codes[r, j] = true[r, j]
                freq[losers] -= 1
                freq[r] = after.sum()
                if j == first:
                    hidden_first = hidden_first[hidden_first != r]


def _matching(codes: np.ndarray, row: np.ndarray, missing: int) -> np.ndarray:
    return np.all((codes == row) | (codes == missing) | (row == missing), axis=1)


def frequencies(codes: np.ndarray, *, missing: int = -1) -> np.ndarray:
    """How many rows each row matches, itself included, a suppressed value matching any.

    Rows are grouped by which of their columns are suppressed; two groups match on the
    columns neither suppresses, so each pair of groups is one counting pass."""
    rows, columns = codes.shape
    hidden = codes == missing
    patterns = (hidden.astype(np.int64) << np.arange(columns)).sum(axis=1)
    groups = {int(p): np.flatnonzero(patterns == p) for p in np.unique(patterns)}
    counts = np.zeros(rows, dtype=np.int64)
    for mine, at in groups.items():
        for theirs, other in groups.items():
            shared = [j for j in range(columns) if not ((mine | theirs) >> j) & 1]
            keys = _keys(np.concatenate([codes[at][:, shared], codes[other][:, shared]]))
            own, found = keys[: at.size], keys[at.size :]
            values, number = np.unique(found, return_counts=True)
            place = np.clip(np.searchsorted(values, own), 0, len(values) - 1)
            counts[at] += np.where(values[place] == own, number[place], 0)
    return counts


def _keys(values: np.ndarray) -> np.ndarray:
    """One number per row for its combination of (non-negative) codes."""
    if not values.shape[1]:
        return np.zeros(len(values), dtype=np.int64)
    bases = values.max(axis=0).astype(np.int64) + 2
    if float(np.prod(bases.astype(float))) >= 2.0**62:
        _, inverse = np.unique(values, axis=0, return_inverse=True)
        return inverse.ravel().astype(np.int64)
    keys = np.zeros(len(values), dtype=np.int64)
    for column, base in zip(values.T, bases, strict=True):
        keys = keys * base + column + 1
    return keys
