"""Confidence intervals for proportions: simple random samples and complex designs.

See STATISTICS.md sections 1 and 2 for the definitions implemented here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from analysis._checks import (
    check_choice,
    check_confidence_level,
    check_non_negative,
    scipy_special,
)

SRS_METHODS = (
    "wilson",
    "wilsoncc",
    "clopper_pearson",
    "jeffreys",
    "agresti_coull",
    "wald",
    "logit",
)
DESIGN_METHODS = ("korn_graubard", "korn_graubard_r", "logit", "wilson", "wald")
# Each method as people name it, for pages and notes (the codes stay in files and the CLI).
METHOD_NAMES = {
    "korn_graubard": "Korn-Graubard",
    "korn_graubard_r": "Korn-Graubard as R's svyciprop (beta)",
    "logit": "logit",
    "wilson": "Wilson",
    "wilsoncc": "Wilson with continuity correction",
    "clopper_pearson": "Clopper-Pearson",
    "jeffreys": "Jeffreys",
    "agresti_coull": "Agresti-Coull",
    "wald": "Wald",
}

EMPTY_GROUP = "empty_group"
NO_DEGREES_OF_FREEDOM = "no_degrees_of_freedom"
ZERO_VARIANCE = "zero_variance"
UNDEFINED_AT_BOUNDARY = "undefined_at_boundary"
LOGIT_FELL_BACK = "logit_undefined_at_boundary_used_korn_graubard"


class ConfidenceInterval(NamedTuple):
    low: float
    high: float


@dataclass(frozen=True)
class ProportionInterval:
    """A proportion with its confidence interval.

    `reason` says why the bounds are NaN (for example ``"empty_group"``), or records a
    fallback; it is None for an ordinary interval.
    """

    estimate: float
    ci: ConfidenceInterval
    method: str
    confidence_level: float
    successes: float | None = None
    trials: float | None = None
    se: float | None = None
    df: float | None = None
    reason: str | None = None

    @property
    def width(self) -> float:
        return self.ci.high - self.ci.low


# scipy.special's quantile functions: the same algorithms as scipy.stats' distributions,
# without their per-call overhead (summaries compute thousands of intervals).


def _z(confidence_level: float) -> float:
    return float(scipy_special().ndtri(0.5 + confidence_level / 2))


def t_quantile(probability: float, df: float) -> float:
    """Student t quantile."""
    return float(scipy_special().stdtrit(df, probability))


def _beta_quantile(probability: float, a: float, b: float) -> float:
    return float(scipy_special().betaincinv(a, b, probability))


def _clip(low: float, high: float) -> ConfidenceInterval:
    return ConfidenceInterval(max(0.0, low), min(1.0, high))


def _clopper_pearson(x: float, n: float, alpha: float) -> ConfidenceInterval:
    # Counts within 1e-12 of the edge are the edge: beta quantiles overflow below that.
    low = 0.0 if x <= 1e-12 else _beta_quantile(alpha / 2, x, n - x + 1)
    high = 1.0 if n - x <= 1e-12 else _beta_quantile(1 - alpha / 2, x + 1, n - x)
    return ConfidenceInterval(low, high)


def _wilson(p: float, n: float, z: float) -> ConfidenceInterval:
    if n < 1e-9:  # an effective sample of almost nobody carries no information
        return ConfidenceInterval(0.0, 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denominator
    low = 0.0 if p <= 0 else centre - half
    high = 1.0 if p >= 1 else centre + half
    return _clip(low, high)


def _wilson_cc(x: float, n: float, z: float) -> ConfidenceInterval:
    # Newcombe (1998) method 4, the continuity-corrected score interval of R's prop.test.
    p, q = x / n, 1 - x / n
    denominator = 2 * (n + z * z)
    centre = (2 * n * p + z * z) / denominator
    if x <= 0:
        low = 0.0
    else:
        root = z * z - 2 - 1 / n + 4 * p * (n * q + 1)
        low = centre - (1 + z * math.sqrt(max(root, 0.0))) / denominator
    if x >= n:
        high = 1.0
    else:
        root = z * z + 2 - 1 / n + 4 * p * (n * q - 1)
        high = centre + (1 + z * math.sqrt(max(root, 0.0))) / denominator
    return _clip(low, high)


def _jeffreys(x: float, n: float, alpha: float) -> ConfidenceInterval:
    low = 0.0 if x <= 0 else _beta_quantile(alpha / 2, x + 0.5, n - x + 0.5)
    high = 1.0 if x >= n else _beta_quantile(1 - alpha / 2, x + 0.5, n - x + 0.5)
    return ConfidenceInterval(low, high)


def _agresti_coull(x: float, n: float, z: float) -> ConfidenceInterval:
    n_tilde = n + z * z
    p_tilde = (x + z * z / 2) / n_tilde
    half = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
    return _clip(p_tilde - half, p_tilde + half)


def _logit(p: float, se_logit: float, quantile: float) -> ConfidenceInterval:
    centre = scipy_special().logit(p)
    return ConfidenceInterval(
        float(scipy_special().expit(centre - quantile * se_logit)),
        float(scipy_special().expit(centre + quantile * se_logit)),
    )


def proportion_ci(
    successes: float,
    trials: float,
    *,
    confidence_level: float = 0.95,
    method: str = "wilson",
) -> ProportionInterval:
    """Confidence interval for a proportion from unweighted counts.

    Parameters
    ----------
    successes : float
        Number of positive answers. Need not be a whole number (effective counts from
        weighted data are accepted).
    trials : float
        Number of answers in the denominator, at least `successes`.
    confidence_level : float, optional
        Between 0 and 1; default 0.95.
    method : {"wilson", "wilsoncc", "clopper_pearson", "jeffreys", "agresti_coull", "wald",
              "logit"}
        Default "wilson".

    Returns
    -------
    ProportionInterval
        ``estimate``, ``ci.low``, ``ci.high``, ``method``, ``confidence_level``, and a
        ``reason`` where the interval is undefined: ``"empty_group"`` when `trials` is 0.

    Notes
    -----
    Wilson (the default) and Jeffreys keep close to their nominal coverage for small
    groups (Brown, Cai and DasGupta 2001). Clopper-Pearson is conservative: its coverage is
    at least nominal, at the cost of wider intervals. Wald is provided only to compare with
    legacy tables: it collapses to zero width at 0% and 100%. Logit is undefined at 0% and
    100%, where it returns NaN bounds with reason ``"undefined_at_boundary"``. Closed forms
    and beta quantiles are used throughout, so non-integer counts work.

    References
    ----------
    Brown, Cai and DasGupta (2001), Statistical Science 16(2):101-133.
    Newcombe (1998), Statistics in Medicine 17:857-872 (continuity-corrected Wilson).

    Examples
    --------
    >>> result = proportion_ci(3, 10)
    >>> round(result.ci.low, 7), round(result.ci.high, 7)
    (0.1077913, 0.6032219)
    >>> r = proportion_ci(20, 100, method="clopper_pearson")
    >>> round(r.ci.low, 6), round(r.ci.high, 6)
    (0.126656, 0.291843)
    >>> proportion_ci(0, 0).reason
    'empty_group'
    """
    check_choice("method", method, SRS_METHODS)
    level = check_confidence_level(confidence_level)
    x = check_non_negative("successes", successes)
    n = check_non_negative("trials", trials)
    if x > n:
        raise ValueError(f"successes ({successes!r}) cannot exceed trials ({trials!r})")
    if n == 0:
        nan = ConfidenceInterval(math.nan, math.nan)
        return ProportionInterval(math.nan, nan, method, level, x, n, reason=EMPTY_GROUP)
    p = x / n
    alpha = 1 - level
    z = _z(level)
    reason = None
    se = math.sqrt(p * (1 - p) / n)
    if method == "wilson":
        ci = _wilson(p, n, z)
    elif method == "wilsoncc":
        ci = _wilson_cc(x, n, z)
    elif method == "clopper_pearson":
        ci = _clopper_pearson(x, n, alpha)
    elif method == "jeffreys":
        ci = _jeffreys(x, n, alpha)
    elif method == "agresti_coull":
        ci = _agresti_coull(x, n, z)
    elif method == "wald":
        ci = _clip(p - z * se, p + z * se)
    elif 0 < p < 1:  # logit
        ci = _logit(p, 1 / math.sqrt(n * p * (1 - p)), z)
    else:
        ci, reason = ConfidenceInterval(math.nan, math.nan), UNDEFINED_AT_BOUNDARY
    return ProportionInterval(p, ci, method, level, x, n, se=se, reason=reason)


def design_proportion_ci(
    estimate: float,
    se: float,
    *,
    n: float,
    df: float,
    confidence_level: float = 0.95,
    method: str = "korn_graubard",
) -> ProportionInterval:
    """Confidence interval for a proportion estimated from weighted (design-based) data.

    Parameters
    ----------
    estimate : float
        The weighted proportion, between 0 and 1.
    se : float
        Its standard error (linearised, raking accounted for).
    n : float
        Unweighted number of respondents behind the estimate.
    df : float
        Degrees of freedom of the variance estimate (weights-only design: ``n - 1``).
    confidence_level : float, optional
        Default 0.95.
    method : {"korn_graubard", "korn_graubard_r", "logit", "wilson", "wald"}
        Default "korn_graubard".

    Returns
    -------
    ProportionInterval
        With ``reason`` ``"no_degrees_of_freedom"`` (df <= 0: NaN bounds, never a silent
        switch to the normal quantile), ``"zero_variance"`` (``korn_graubard_r`` with se 0)
        or ``"logit_undefined_at_boundary_used_korn_graubard"`` (logit at 0% or 100%).

    Notes
    -----
    ``korn_graubard`` is the NCHS variant: the effective sample size ``n_eff = p(1-p)/se^2``
    (``n`` when p is 0 or 1 or se is 0) is scaled by ``(t_{n-1}/t_df)^2`` and capped at
    ``n``, then the Clopper-Pearson interval is taken at ``x* = n* p``. It is defined at 0%
    and 100% and drives the NCHS reliability rule. ``korn_graubard_r`` is R's
    ``svyciprop(method = "beta")``: no cap, undefined when se is 0. ``logit`` is
    ``expit(logit(p) -/+ t_df se / (p(1-p)))``; ``wilson`` is the Wilson interval with
    ``n_eff`` for n and ``t_df`` for z; ``wald`` is ``p -/+ t_df se``, clipped.

    References
    ----------
    Korn and Graubard (1998), Survey Methodology 24(2):193-201.
    Parker et al. (2017), NCHS Data Presentation Standards for Proportions.

    Examples
    --------
    >>> r = design_proportion_ci(0.507348258357226, 0.0192309892530454, n=922, df=921,
    ...                          method="korn_graubard_r")
    >>> round(r.ci.low, 6), round(r.ci.high, 6)
    (0.468955, 0.545677)
    >>> r = design_proportion_ci(1.0, 0.0, n=100, df=5)
    >>> round(r.ci.low, 2), r.ci.high
    (0.94, 1.0)
    """
    check_choice("method", method, DESIGN_METHODS)
    level = check_confidence_level(confidence_level)
    p = float(estimate)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"estimate must be a proportion between 0 and 1, not {estimate!r}")
    se = check_non_negative("se", se)
    n = check_non_negative("n", n)
    df = float(df)
    nan = ConfidenceInterval(math.nan, math.nan)

    def result(ci: ConfidenceInterval, reason: str | None = None, used: str = method):
        return ProportionInterval(p, ci, used, level, se=se, df=df, trials=n, reason=reason)

    if n == 0:
        return result(nan, EMPTY_GROUP)
    if not df > 0:
        return result(nan, NO_DEGREES_OF_FREEDOM)
    alpha = 1 - level
    t_df = t_quantile(1 - alpha / 2, df)
    variance = se * se
    boundary = p in (0.0, 1.0)

    if method == "logit":
        if boundary or variance == 0:
            fallback = design_proportion_ci(p, se, n=n, df=df, confidence_level=level)
            return result(fallback.ci, LOGIT_FELL_BACK, "korn_graubard")
        return result(_logit(p, se / (p * (1 - p)), t_df))
    if method == "wald":
        return result(_clip(p - t_df * se, p + t_df * se))
    if method == "wilson":
        n_eff = n if (boundary or variance == 0) else p * (1 - p) / variance
        return result(_wilson(p, n_eff, t_df))
    if method == "korn_graubard_r":
        if variance == 0:
            return result(nan, ZERO_VARIANCE)
        n_eff = p * (1 - p) / variance
    else:
        n_eff = n if (boundary or variance == 0) else p * (1 - p) / variance
    if n > 1:
        t_ratio = t_quantile(1 - alpha / 2, n - 1) / t_df
        n_eff *= t_ratio * t_ratio
    if method == "korn_graubard":
        n_eff = min(n, n_eff)
    if n_eff > 1e12:  # beta quantiles lose precision; the interval has collapsed onto p
        return result(ConfidenceInterval(p, p))
    return result(_clopper_pearson(n_eff * p, n_eff, alpha))


def korn_graubard_effective_n(estimate: float, se: float, n: float) -> float:
    """Return the effective sample size the NCHS rule uses: p(1-p)/se^2, at most n."""
    if estimate in (0.0, 1.0) or se == 0:
        return float(n)
    return min(float(n), estimate * (1 - estimate) / (se * se))
