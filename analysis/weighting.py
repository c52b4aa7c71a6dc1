"""Raking (iterative proportional fitting) to population margins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from analysis.coding import Coded, encode


class RakingError(ValueError):
    """Raking cannot be done with these margins and respondents; the message says why."""


@dataclass(frozen=True)
class RakeResult:
    """Raked weights with the diagnostics an analyst needs to judge them.

    ``codes[variable]`` holds each respondent's category code under ``categories[variable]``
    (the margin's own order), so the variance can account for the raking.
    """

    weights: np.ndarray
    iterations: int
    max_margin_error: float
    weight_min: float
    weight_max: float
    kish_deff: float
    population_total: float
    targets: dict[str, np.ndarray]
    categories: dict[str, tuple[str, ...]]
    codes: dict[str, np.ndarray] = field(repr=False)
    rescaled: dict[str, float] = field(default_factory=dict)
    # Each respondent's cell (respondents sharing every category), each cell's category in
    # every margin, and the factor that multiplied the base weights of the cell.
    cell_of: np.ndarray | None = field(default=None, repr=False)
    cell_codes: dict[str, np.ndarray] | None = field(default=None, repr=False)
    cell_factor: np.ndarray | None = field(default=None, repr=False)
    # Summaries reuse the variance projection built from these cells (see summary.py).
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def weight_ratio(self) -> float:
        return self.weight_max / self.weight_min

    def kish_deff_by(self, variable: str) -> dict[str, float]:
        """Kish's weighting design effect n*sum(w^2)/sum(w)^2 within each category."""
        codes = self.codes[variable]
        size = len(self.categories[variable])
        n = np.bincount(codes, minlength=size)
        total = np.bincount(codes, weights=self.weights, minlength=size)
        squares = np.bincount(codes, weights=self.weights**2, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            deff = n * squares / total**2
        return dict(zip(self.categories[variable], deff.tolist(), strict=True))


def rake(
    categories: Mapping[str, object],
    margins: Mapping[str, Mapping[str, float]],
    *,
    base_weights=None,
    tolerance: float = 1e-6,
    max_iterations: int = 100,
    bounds: tuple[float, float] | None = None,
    total_tolerance: float = 0.01,
) -> RakeResult:
    """Rake weights so weighted totals match population margins.

    Parameters
    ----------
    categories : mapping of str to array_like
        For each raking variable, each respondent's category (labels, or `Coded`).
        A crossed margin such as age band by sex is one variable whose labels are the
        crossed categories (see `analysis.coding.combine`).
    margins : mapping of str to mapping of str to float
        For each variable, the population of each category.
    base_weights : array_like, optional
        Design weights to start from; 1 for every respondent by default.
    tolerance : float
        Stop when every margin is within this relative error of its target.
    max_iterations : int
        Sweeps over all margins before giving up with `RakingError`.
    bounds : (float, float), optional
        Keep weights between ``low * mean`` and ``high * mean`` by trimming and
        re-raking, for example ``(0.3, 3.0)``.
    total_tolerance : float
        Margins may disagree on the population total by this relative amount (rounding in
        published tables); they are then rescaled to the first margin's total. A larger
        disagreement is refused.

    Returns
    -------
    RakeResult
        Weights and diagnostics: iterations, largest remaining margin error, weight range,
        Kish design effect overall (and by category with ``kish_deff_by``).

    Raises
    ------
    RakingError
        Naming the cell: a category with population but no respondents, respondents in a
        category without population, margins that disagree on the total, or no
        convergence.

    Notes
    -----
    Every respondent in the same cross-classified cell gets the same adjustment factor,
    so the fitting runs on cells rather than respondents: its cost grows with the number
    of cells, not the number of responses. The stopping rule is stricter than R's
    ``rake`` defaults (epsilon of 1 weighted unit, 10 iterations).

    References
    ----------
    Kalton and Flores-Cervantes (2003), Weighting methods, Journal of Official Statistics
    19(2):81-97.

    Examples
    --------
    >>> result = rake({"sex": ["f", "f", "m"]}, {"sex": {"f": 50, "m": 50}})
    >>> result.weights.tolist()
    [25.0, 25.0, 50.0]
    >>> result.iterations
    1
    """
    if not margins:
        raise RakingError("no margins to rake to")
    if tolerance <= 0 or max_iterations < 1:
        raise ValueError("tolerance must be positive and max_iterations at least 1")
    variables = list(margins)
    coded = {}
    for variable in variables:
        if variable not in categories:
            raise RakingError(f"margin {variable!r} has no column of respondents' categories")
        coded[variable] = encode(categories[variable])
    n = len(coded[variables[0]])
    if any(len(c) != n for c in coded.values()):
        raise RakingError("every raking variable needs one category per respondent")
    if n == 0:
        raise RakingError("there are no respondents to weight")
    base = np.ones(n) if base_weights is None else np.asarray(base_weights, dtype=float)
    if base.shape != (n,) or not np.all(np.isfinite(base)) or np.any(base <= 0):
        raise RakingError("base weights must be positive finite numbers, one per respondent")

    labels, targets, codes, rescaled = _targets(variables, margins, coded, total_tolerance)
    total = float(targets[variables[0]].sum())

    # Respondents sharing every category share a cell and an adjustment factor.
    if base_weights is None or bounds is None:
        cell_of, cell_codes = _cells(variables, codes, labels)
    else:  # bounds on unequal base weights trim respondents one by one
        cell_of = np.arange(n)
        cell_codes = {v: codes[v] for v in variables}
    cell_base = np.bincount(cell_of, weights=base)
    cell_weight = cell_base.copy()

    limits = None
    if bounds is not None:
        low, high = bounds
        if not 0 < low < 1 < high:
            raise RakingError(f"bounds {bounds} must satisfy 0 < low < 1 < high")
        mean_weight = total / n
        cell_size = np.bincount(cell_of, minlength=cell_base.size)
        limits = (low * mean_weight, high * mean_weight, cell_size)
    cell_weight, iterations = _fit(
        variables, cell_codes, targets, cell_weight, tolerance, max_iterations, limits
    )

    factor = cell_weight / cell_base
    weights = base * factor[cell_of]
    error = _max_error(variables, cell_codes, targets, cell_weight)
    return RakeResult(
        weights=weights,
        iterations=iterations,
        max_margin_error=error,
        weight_min=float(weights.min()),
        weight_max=float(weights.max()),
        kish_deff=float(n * np.sum(weights**2) / np.sum(weights) ** 2),
        population_total=total,
        targets=targets,
        categories=labels,
        codes=codes,
        rescaled=rescaled,
        cell_of=cell_of,
        cell_codes=cell_codes,
        cell_factor=factor,
    )


def _targets(variables, margins, coded: dict[str, Coded], total_tolerance: float):
    labels, targets, codes, rescaled = {}, {}, {}, {}
    first_total = None
    for variable in variables:
        populations = margins[variable]
        names = tuple(str(k) for k in populations)
        values = np.array([float(populations[k]) for k in populations])
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise RakingError(f"margin {variable!r}: populations must be numbers, 0 or more")
        column = coded[variable]
        unknown = [lab for lab in column.labels if lab not in set(names)]
        if unknown:
            raise RakingError(
                f"margin {variable!r}: respondents in category {unknown[0]!r} "
                "have no population figure"
            )
        code = column.recode(names)
        if np.any(code < 0):
            raise RakingError(f"margin {variable!r}: some respondents have no category")
        counts = np.bincount(code, minlength=len(names))
        for name, population, count in zip(names, values, counts, strict=True):
            if population > 0 and count == 0:
                raise RakingError(
                    f"margin {variable!r}: category {name!r} has population "
                    f"{population:g} but no respondents"
                )
            if population == 0 and count > 0:
                raise RakingError(
                    f"margin {variable!r}: category {name!r} has {count} "
                    "respondents but a population of 0"
                )
        total = float(values.sum())
        if first_total is None:
            first_total = total
        elif abs(total - first_total) > total_tolerance * first_total:
            raise RakingError(
                f"margins disagree on the population total: {variables[0]!r} sums to "
                f"{first_total:g} but {variable!r} sums to {total:g}"
            )
        elif total != first_total:
            rescaled[variable] = first_total / total
            values = values * (first_total / total)
        labels[variable], targets[variable], codes[variable] = names, values, code
    return labels, targets, codes, rescaled


def _cells(variables, codes, labels):
    """Number the cells respondents fall in, and each cell's category in every margin."""
    cell = np.zeros_like(codes[variables[0]])
    span = 1
    for variable in variables:
        cell = cell * len(labels[variable]) + codes[variable]
        span *= len(labels[variable])
    if span <= 50_000_000:  # counting beats sorting when the cells fit in memory
        present = np.bincount(cell, minlength=span) > 0
        unique = np.flatnonzero(present)
        number = np.cumsum(present) - 1
        cell_of = number[cell]
    else:
        unique, cell_of = np.unique(cell, return_inverse=True)
    cell_codes = {}
    for variable in reversed(variables):
        size = len(labels[variable])
        cell_codes[variable] = unique % size
        unique = unique // size
    return cell_of, cell_codes


def _fit(variables, cell_codes, targets, cell_weight, tolerance, budget, limits):
    """Sweep over the margins until all are within tolerance (and weights within limits)."""
    weight = cell_weight.copy()
    for sweep in range(1, budget + 1):
        for variable in variables:
            current = np.bincount(
                cell_codes[variable], weights=weight, minlength=targets[variable].size
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(current > 0, targets[variable] / current, 0.0)
            weight *= ratio[cell_codes[variable]]
        if limits is not None:
            # Trim each respondent's weight to the bounds; the next sweep re-rakes.
            low, high, size = limits
            weight = np.clip(weight / size, low, high) * size
        if _max_error(variables, cell_codes, targets, weight) <= tolerance:
            return weight, sweep
    error = _max_error(variables, cell_codes, targets, weight)
    advice = "; the bounds may be too tight for these margins" if limits is not None else ""
    raise RakingError(
        f"raking did not converge: after {budget} iterations a margin is "
        f"still {error:.2e} from its target (tolerance {tolerance:g}){advice}"
    )


def _max_error(variables, cell_codes, targets, weight) -> float:
    worst = 0.0
    for variable in variables:
        current = np.bincount(
            cell_codes[variable], weights=weight, minlength=targets[variable].size
        )
        target = targets[variable]
        positive = target > 0
        if np.any(positive):
            worst = max(worst, float(np.max(np.abs(current[positive] / target[positive] - 1))))
    return worst
