"""Adjusting p-values when many groups are tested together."""

from __future__ import annotations

import numpy as np

from analysis._checks import check_choice

ADJUSTMENTS = ("holm", "benjamini_hochberg", "none")


def adjust_p_values(p_values, *, method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values for multiple comparisons.

    Parameters
    ----------
    p_values : array_like
        The unadjusted p-values of one family (NaN entries are left out and stay NaN).
    method : {"holm", "benjamini_hochberg", "none"}
        Holm controls the family-wise error rate (for claims); Benjamini-Hochberg controls
        the false discovery rate (for flags).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, capped at 1.

    Notes
    -----
    Holm is uniformly more powerful than Bonferroni and valid under any dependence.
    Benjamini-Hochberg is valid for independent or positively dependent tests, which covers
    comparisons of each borough with the rest of London.

    References
    ----------
    Holm (1979), Scandinavian Journal of Statistics 6(2):65-70.
    Benjamini and Hochberg (1995), JRSS B 57(1):289-300.

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_p_values([0.005, 0.009, 0.019, 0.022, 0.051, 0.101, 0.361, 0.387],
    ...                 method="benjamini_hochberg").round(3).tolist()
    [0.036, 0.036, 0.044, 0.044, 0.082, 0.135, 0.387, 0.387]
    """
    check_choice("adjust", method, ADJUSTMENTS)
    values = np.asarray(p_values, dtype=float)
    result = np.full(values.shape, np.nan)
    finite = ~np.isnan(values)
    p = values[finite]
    if p.size == 0 or method == "none":
        result[finite] = p
        return result
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    m = p.size
    if method == "holm":
        order = np.argsort(p)
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    else:
        order = np.argsort(p)[::-1]
        stepped = np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    result[finite] = adjusted
    return result
