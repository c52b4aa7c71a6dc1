"""Modelled estimates for small areas: the Fay-Herriot area-level model.

Where a borough has few responses its direct estimate is too uncertain to act on. The
Fay-Herriot model borrows strength from the other boroughs: each area's true value is
a regression on area covariates (or a common mean) plus an area effect,

    direct_i = theta_i + e_i,  e_i ~ N(0, D_i)   (D_i: the direct estimate's variance)
    theta_i = x_i' beta + u_i, u_i ~ N(0, A)

and the empirical best linear unbiased prediction (EBLUP) is the weighted average
gamma_i * direct_i + (1 - gamma_i) * x_i' beta with gamma_i = A / (A + D_i): areas with a
precise direct estimate keep it, uncertain ones move towards the regression. A is fitted by
REML (or ML); the mean squared error is Prasad and Rao's (which is Datta and Lahiri's for
REML; for ML, Datta and Lahiri's adds the bias term of the ML variance).

Proportions near 0 or 1 are modelled on the arcsine scale (`arcsine`), where the sampling
variance is 1 / (4 n_eff), and brought back with `back_transform`. `benchmark` rescales the
modelled estimates so that, weighted by population, they add up to the direct estimate for
the whole (ratio benchmarking).

References: Fay and Herriot (1979), JASA 74:269-277; Prasad and Rao (1990), JASA
85:163-171; Datta and Lahiri (2000), Statistica Sinica 10:613-627; Rao and Molina (2015),
Small Area Estimation, chapter 6. Checked against R's `sae` (eblupFH, mseFH) on its `milk`
data.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from analysis._checks import check_choice, scipy_special

METHODS = ("reml", "ml")


@dataclass(frozen=True)
class FayHerriot:
    """A fitted Fay-Herriot model and its predictions, one entry per area."""

    method: str
    variance: float  # A, the variance of the area effects
    coefficients: np.ndarray
    coefficient_se: np.ndarray
    log_likelihood: float  # of the fitted method (REML's restricted likelihood for REML)
    direct: np.ndarray
    sampling_variance: np.ndarray
    eblup: np.ndarray
    mse: np.ndarray
    shrinkage: np.ndarray  # 1 - gamma: how far each area moved towards the regression
    synthetic: np.ndarray  # x' beta, the regression's prediction

    def intervals(self, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Normal intervals from the MSE: eblup -/+ z * sqrt(mse)."""
        z = scipy_special().ndtri(1 - (1 - confidence_level) / 2)
        half = z * np.sqrt(self.mse)
        return self.eblup - half, self.eblup + half


def fay_herriot(
    direct,
    sampling_variance,
    covariates=None,
    *,
    method: str = "reml",
) -> FayHerriot:
    """Fit the Fay-Herriot model and predict every area.

    Parameters
    ----------
    direct : array_like
        Each area's direct estimate.
    sampling_variance : array_like
        Each direct estimate's variance (taken as known).
    covariates : array_like, optional
        Area covariates, one row per area, without the intercept (it is added). None: a
        common mean only.
    method : {"reml", "ml"}
        How the variance of the area effects is fitted.

    Returns
    -------
    FayHerriot

    Examples
    --------
    >>> fit = fay_herriot([0.2, 0.4, 0.3, 0.6], [0.01, 0.02, 0.01, 0.04])
    >>> bool(np.all(np.abs(fit.eblup - fit.direct) <= np.abs(fit.synthetic - fit.direct)))
    True
    """
    check_choice("method", method, METHODS)
    y = np.asarray(direct, dtype=float)
    d = np.asarray(sampling_variance, dtype=float)
    m = y.size
    x = np.ones((m, 1))
    if covariates is not None:
        extra = np.asarray(covariates, dtype=float).reshape(m, -1)
        x = np.hstack([x, extra])
    if np.any(d <= 0) or not np.all(np.isfinite(y)) or not np.all(np.isfinite(d)):
        raise ValueError("every area needs a finite estimate and a positive sampling variance")
    if m <= x.shape[1]:
        raise ValueError(f"{m} areas cannot fit {x.shape[1]} coefficients and a variance")

    def pieces(a: float):
        v = a + d
        weights = 1.0 / v
        xtvx = x.T @ (x * weights[:, None])
        inverse = np.linalg.inv(xtvx)
        beta = inverse @ (x.T @ (weights * y))
        residual = y - x @ beta
        return v, weights, xtvx, inverse, beta, residual

    def score(a: float) -> float:
        v, weights, _xtvx, inverse, _beta, residual = pieces(a)
        py = weights * residual  # P y
        if method == "ml":
            return -0.5 * weights.sum() + 0.5 * (py @ py)
        # REML: -1/2 tr(P) + 1/2 y' P P y, with P = V^-1 - V^-1 X (X'V^-1X)^-1 X'V^-1.
        trace = weights.sum() - np.trace(inverse @ (x.T @ (x * (weights**2)[:, None])))
        return -0.5 * trace + 0.5 * (py @ py)

    upper = max(float(np.var(y, ddof=1)) * 10, float(d.max()) * 10, 1e-6)
    while score(upper) > 0:
        upper *= 10
    from scipy.optimize import brentq  # at first use: the command line never fits this

    a = 0.0 if score(0.0) <= 0 else brentq(score, 0.0, upper, xtol=1e-14, rtol=1e-14)
    v, weights, xtvx, inverse, beta, residual = pieces(a)
    gamma = a / v
    synthetic = x @ beta
    eblup = gamma * y + (1 - gamma) * synthetic
    # MSE: g1 + g2 + 2 g3 (Prasad-Rao), with the asymptotic variance of A-hat.
    g1 = gamma * d
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", x, inverse, x)
    information = 0.5 * np.sum(weights**2)
    var_a = 1.0 / information
    g3 = d**2 / v**3 * var_a
    mse = g1 + g2 + 2 * g3
    if method == "ml":
        # Datta-Lahiri: ML underestimates A by about tr((X'V^-1X)^-1 X'V^-2X) / sum(V^-2);
        # that bias times d(g1)/dA = (D / V)^2 is added back.
        bias = np.trace(inverse @ (x.T @ (x * (weights**2)[:, None]))) / (2 * information)
        mse = mse + (d / v) ** 2 * bias
    log_v = np.log(v).sum()
    quadratic = residual @ (weights * residual)
    if method == "ml":
        log_likelihood = -0.5 * (m * math.log(2 * math.pi) + log_v + quadratic)
    else:
        _sign, log_det = np.linalg.slogdet(xtvx)
        log_likelihood = -0.5 * (
            (m - x.shape[1]) * math.log(2 * math.pi) + log_v + log_det + quadratic
        )
    return FayHerriot(
        method=method,
        variance=float(a),
        coefficients=beta,
        coefficient_se=np.sqrt(np.diag(inverse)),
        log_likelihood=float(log_likelihood),
        direct=y,
        sampling_variance=d,
        eblup=eblup,
        mse=mse,
        shrinkage=1 - gamma,
        synthetic=synthetic,
    )


@dataclass(frozen=True)
class ChosenModel:
    """The Fay-Herriot model with the covariates a stated rule chose, and what they did."""

    fit: FayHerriot  # by REML, with the chosen covariates
    covariates: tuple[str, ...]  # their names; empty: a common mean only
    tried: tuple[tuple[tuple[str, ...], float], ...]  # every model tried and its AIC
    explained: float  # share of the between-area variance the covariates explain (0 to 1)


MAX_COVARIATES = 2  # areas are few (London has 33): more would fit noise


def choose_covariates(
    direct, sampling_variance, candidates: dict[str, object], *, most: int = MAX_COVARIATES
) -> ChosenModel:
    """Choose covariates for the Fay-Herriot model by a stated rule and fit it.

    Every model with at most `most` of the `candidates` (each an array, one value per
    area) is fitted by maximum likelihood and compared by AIC (-2 log likelihood + 2 times
    the coefficients and the variance: REML likelihoods of different covariates cannot be
    compared); the best is refitted by REML. A candidate the same in every area is left
    out, and so is a model whose covariates are collinear. `explained` is 1 - A / A0, A0
    the between-area variance of the model with a common mean only (both by REML; 0 when
    the covariates explain nothing, as Rao and Molina's R^2 for area models).

    Examples
    --------
    >>> share = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    >>> chosen = choose_covariates(0.2 + share + [0.01, -0.02, 0.0, 0.02, -0.01, 0.0],
    ...                            [0.001] * 6, {"share": share, "constant": [1] * 6})
    >>> chosen.covariates
    ('share',)
    """
    y = np.asarray(direct, dtype=float)
    usable = {
        name: np.asarray(values, dtype=float)
        for name, values in candidates.items()
        if np.ptp(np.asarray(values, dtype=float)) > 1e-12
    }
    tried = []
    for size in range(0, min(most, len(usable)) + 1):
        for names in itertools.combinations(usable, size):
            x = np.column_stack([usable[n] for n in names]) if names else None
            if x is not None:
                design = np.hstack([np.ones((y.size, 1)), x])
                if np.linalg.matrix_rank(design) < design.shape[1] or y.size <= design.shape[1]:
                    continue
            fit = fay_herriot(y, sampling_variance, x, method="ml")
            parameters = 1 + len(names) + 1  # intercept, covariates, variance
            tried.append((names, -2 * fit.log_likelihood + 2 * parameters))
    best = min(tried, key=lambda pair: pair[1])[0]
    x = np.column_stack([usable[n] for n in best]) if best else None
    fit = fay_herriot(y, sampling_variance, x, method="reml")
    null = fay_herriot(y, sampling_variance, method="reml").variance if best else fit.variance
    explained = 0.0 if null <= 0 else max(0.0, 1 - fit.variance / null)
    return ChosenModel(fit, tuple(best), tuple(tried), explained)


def arcsine(proportion, effective_n) -> tuple[np.ndarray, np.ndarray]:
    """Proportions on the arcsine square-root scale, where the sampling variance is about
    1 / (4 n_eff) whatever the proportion: (arcsin(sqrt(p)), 1 / (4 n_eff))."""
    p = np.clip(np.asarray(proportion, dtype=float), 0.0, 1.0)
    n = np.asarray(effective_n, dtype=float)
    return np.arcsin(np.sqrt(p)), 1.0 / (4.0 * n)


def back_transform(theta, variance) -> np.ndarray:
    """Back from the arcsine scale with the bias corrected: the mean of sin(t)^2 for t
    normal with mean `theta` and this variance, 1/2 - 1/2 exp(-2 var) cos(2 theta)
    (sin(theta)^2 alone would be the median, biased towards 0 and 1)."""
    t = np.asarray(theta, dtype=float)
    return 0.5 - 0.5 * np.exp(-2.0 * np.asarray(variance, dtype=float)) * np.cos(2.0 * t)


def benchmark(estimates, weights, target: float) -> tuple[np.ndarray, float]:
    """Ratio benchmarking: scale the areas' estimates so their `weights`-weighted sum
    (population shares) equals `target`, the direct estimate for all the areas together.
    Returns the benchmarked estimates and the factor."""
    values = np.asarray(estimates, dtype=float)
    shares = np.asarray(weights, dtype=float)
    shares = shares / shares.sum()
    total = float(shares @ values)
    factor = target / total if total else math.nan
    return values * factor, factor
