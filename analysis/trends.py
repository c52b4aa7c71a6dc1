"""Change over time: estimates by period and the change between two periods, with their
intervals, p-values and the smallest change the design could detect.

Each period is weighted to the population on its own (raked within the period), as the
Public Attitude Survey and the Crime Survey do, so the periods are strata of one design.
An estimate is a ratio over one or more strata: a calendar quarter or year is one; a
rolling four-quarter window is the union of its quarters, each quarter raked on its own
(and its weights divided by the number of quarters in the window, which cancels in the
ratio). A change is a contrast of two such ratios estimated on the same design, so its
variance is that of the linearised contrast: overlapping windows share respondents, and
the covariance that brings is counted, not ignored. (In R: `svydesign(strata = ~period)`,
raking to margins crossed with the period, `svyratio` with both windows' indicators, then
`svycontrast`.) The raking enters the variance as in `analysis.linearisation`: the
linearised values are replaced by their residuals after projection on the margins, here
crossed with the period.

Everything below is a function of sums per (period, group, margin category), computed
with `numpy.bincount`; a contrast is then arithmetic on small arrays, so every window and
every change of every group costs little beyond one pass over the responses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from analysis._checks import check_choice
from analysis.coding import Coded, combine, encode
from analysis.intervals import design_proportion_ci
from analysis.linearisation import Projection
from analysis.multiplicity import ADJUSTMENTS, adjust_p_values
from analysis.summary import Proportion, _indicator_classes
from analysis.weighting import RakingError, rake

ALL = "All"
POWER = 0.80  # the minimum detectable change: 80% power ...
MDC_ALPHA = 0.05  # ... in a two-sided test at 5%
QUARTERS_IN_WINDOW = 4
# Raked within a part in a hundred million: a change is a difference of two estimates, so
# the weights behind each must be settled well beyond the figures shown.
RAKING_TOLERANCE = 1e-8


def quarter_key(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def quarters_between(first: str, last: str) -> list[str]:
    """Every calendar quarter from `first` to `last` ("2025-Q3" to "2026-Q2"), in order."""
    year, quarter = int(first[:4]), int(first[-1])
    end = (int(last[:4]), int(last[-1]))
    found = []
    while (year, quarter) <= end:
        found.append(quarter_key(year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return found


def rolling_windows(quarters: Sequence[str], size: int = QUARTERS_IN_WINDOW) -> list[Window]:
    """Every run of `size` consecutive quarters, named by its last ("year to 2026-Q2")."""
    return [
        Window(f"year to {quarters[end]}", tuple(quarters[end - size + 1 : end + 1]))
        for end in range(size - 1, len(quarters))
    ]


@dataclass(frozen=True)
class Window:
    """What one estimate covers: one period, or several (a rolling window of quarters)."""

    name: str
    periods: tuple[str, ...]


@dataclass(frozen=True)
class PeriodEstimate:
    window: str
    group: str
    estimate: float
    standard_error: float
    ci_lower: float
    ci_upper: float
    n: float  # respondents counted (the denominator), unweighted
    numerator: float  # of them, those answering positively, unweighted
    interval_reason: str | None = None


@dataclass(frozen=True)
class Change:
    group: str
    start: str
    end: str
    start_estimate: float
    end_estimate: float
    change: float  # end minus start, as a proportion
    standard_error: float
    ci_lower: float
    ci_upper: float
    df: float
    p_value: float
    p_value_adjusted: float
    minimum_detectable_change: float  # at 80% power, 5% two-sided, from this design
    overlapping: bool  # the two windows share respondents


def _present(coded: Coded, rows: np.ndarray) -> Coded:
    """Some records of a column, with only the categories they hold."""
    codes = coded.codes[rows]
    used = np.unique(codes[codes >= 0])
    mapping = np.full(len(coded.labels) + 1, -1, dtype=np.intp)
    mapping[used] = np.arange(used.size)
    return Coded(mapping[codes], tuple(coded.labels[i] for i in used))


class TrendDesign:
    """Responses grouped into periods, each raked on its own, with the sums every
    estimate and contrast below is built from.

    Parameters
    ----------
    data : mapping of str to array_like
        Columns of equal length, one record per respondent (or per cell of identical
        respondents, with their number in `frequency`).
    indicator : Proportion
        What to estimate.
    period : str
        Column holding each record's period ("2026-Q1", or "2026" for years): the strata.
    margins : mapping, optional
        Population margins, as for `analysis.rake`; every period is raked to them.
    period_margins : mapping, optional
        Margins for each period by name, where they differ (a category with no responses
        in a period has its population shared among the others); `margins` for the rest.
        A period that cannot be raked is left out, and `unweighted` says why.
    by : str, optional
        A breakdown; records with no value in it count only towards "All".
    frequency : str, optional
        Column giving how many identical respondents each record stands for.
    """

    def __init__(
        self,
        data: Mapping[str, object],
        *,
        indicator: Proportion,
        period: str,
        margins: Mapping[str, Mapping[str, float]] | None = None,
        period_margins: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
        by: str | None = None,
        frequency: str | None = None,
    ) -> None:
        periods = encode(data[period])
        if np.any(periods.codes < 0):
            raise ValueError(f"every record needs a period in column {period!r}")
        stratum = periods.codes
        size = len(stratum)
        f = np.ones(size) if frequency is None else np.asarray(data[frequency], dtype=float)
        answer, value, counted = _indicator_classes(data[indicator.column], indicator)
        valid, y = counted[answer], value[answer]
        group = Coded(np.zeros(size, dtype=np.intp), (ALL,)) if by is None else encode(data[by])
        self.groups = group.labels
        g = len(self.groups) + 1  # the last group: records with none
        domain = np.where(group.codes < 0, g - 1, group.codes)
        self.unweighted: dict[str, str] = {}  # period -> why it could not be raked
        w, codes, sizes = np.ones(size), [], []
        if margins or period_margins:
            chosen = {p: (period_margins or {}).get(p, margins) for p in periods.labels}
            w, codes, sizes = self._rake(data, chosen, periods.labels, stratum, f)
        kept = [p for p in periods.labels if p not in self.unweighted]
        if self.unweighted:
            keep = np.isin(stratum, [periods.labels.index(p) for p in kept])
            renumber = np.cumsum([p in kept for p in periods.labels]) - 1
            stratum = renumber[stratum[keep]]
            f, valid, y, domain, w = f[keep], valid[keep], y[keep], domain[keep], w[keep]
            codes = [c[keep] for c in codes]
        self.periods = tuple(kept)
        h = len(self.periods)
        self.w = w
        self.n_periods, self.n_domains = h, g
        self.n_by_period = np.bincount(stratum, weights=f, minlength=h)
        self.df = float(f.sum()) - h
        cell = stratum * g + domain
        fv, wv, yv, cv = f[valid], w[valid], y[valid], cell[valid]

        def per_cell(values, index=cv, length=h * g):
            return np.bincount(index, weights=values, minlength=length)

        fw = fv * wv
        fw2 = fw * wv
        shape = (h, g)
        self.n = per_cell(fv).reshape(shape)
        self.x = per_cell(fv * yv).reshape(shape)
        self.s_w = per_cell(fw).reshape(shape)
        self.s_wy = per_cell(fw * yv).reshape(shape)
        self.s_w2 = per_cell(fw2).reshape(shape)
        self.s_w2y = per_cell(fw2 * yv).reshape(shape)
        self.s_w2yy = per_cell(fw2 * yv * yv).reshape(shape)
        # Per margin crossed with the period: (period, group, category) sums.
        self.by_category = []
        self.projection = None
        self.sizes = sizes
        if codes and h:
            crossed = [stratum * s + c for c, s in zip(codes, sizes, strict=True)]
            self.projection = Projection.build(crossed, [h * s for s in sizes], f, w)
            for c, s in zip(codes, sizes, strict=True):
                index = (cv * s) + c[valid]  # ((period * g) + group) * s + category
                self.by_category.append(
                    tuple(
                        per_cell(values, index, h * g * s).reshape(h, g, s)
                        for values in (fv, fv * yv, fw2, fw2 * yv)
                    )
                )

    def _rake(self, data, margins_by_period, labels, stratum, f):
        """Rake each period on its own. A category is coded alike in every period (the
        union of the periods' categories), so the projection can cross it with the period.
        A period that cannot be raked is left out, with the reason, in `unweighted`."""
        variables = list(next(iter(margins_by_period.values())))
        categories = {}
        for variable in variables:
            parts = [encode(data[c]) for c in variable.split("*")]
            categories[variable] = parts[0] if len(parts) == 1 else combine(parts)
        union: dict[str, dict[str, int]] = {v: {} for v in variables}
        for margins in margins_by_period.values():
            for variable in variables:
                for category in margins[variable]:
                    union[variable].setdefault(category, len(union[variable]))
        w = np.ones(len(stratum))
        codes = [np.zeros(len(stratum), dtype=np.intp) for _ in variables]
        for h, name in enumerate(labels):
            rows = np.flatnonzero(stratum == h)
            subset = {v: _present(c, rows) for v, c in categories.items()}
            try:
                result = rake(
                    subset,
                    margins_by_period[name],
                    base_weights=f[rows],
                    tolerance=RAKING_TOLERANCE,
                )
            except RakingError as error:
                self.unweighted[name] = str(error)
                continue
            w[rows] = result.weights / f[rows]
            for at, variable in enumerate(variables):
                position = np.array([union[variable][c] for c in result.categories[variable]])
                codes[at][rows] = position[result.codes[variable]]
        return w, codes, [len(union[v]) for v in variables]

    # -- estimates and contrasts -------------------------------------------------------

    def _index(self, name: str) -> int:
        try:
            return self.periods.index(name)
        except ValueError:
            raise KeyError(f"no period {name!r}; there are: {', '.join(self.periods)}") from None

    def _group(self, group: str) -> int | None:
        if group == ALL:
            return None
        try:
            return self.groups.index(group)
        except ValueError:
            raise KeyError(f"no group {group!r}") from None

    def _cells(self, window: Window, group: str) -> tuple[np.ndarray, np.ndarray]:
        """The periods and groups a (window, group) estimate sums over, as masks."""
        periods = np.zeros(self.n_periods, dtype=bool)
        periods[[self._index(p) for p in window.periods]] = True
        index = self._group(group)
        groups = np.ones(self.n_domains, dtype=bool)
        if index is not None:
            groups[:] = False
            groups[index] = True
        return periods, groups

    def _ratio(self, window: Window, group: str) -> tuple[float, float, np.ndarray]:
        periods, groups = self._cells(window, group)
        mask = np.outer(periods, groups)
        total = float(self.s_w[mask].sum())
        estimate = float(self.s_wy[mask].sum()) / total if total > 0 else math.nan
        return estimate, total, mask

    def contrast(self, terms: Sequence[tuple[float, Window, str]]) -> tuple[float, float]:
        """The value and linearised variance of sum(coefficient * ratio) over the terms,
        each a (coefficient, window, group)."""
        alpha = np.zeros((self.n_periods, self.n_domains))
        beta = np.zeros((self.n_periods, self.n_domains))
        value = 0.0
        for coefficient, window, group in terms:
            estimate, total, mask = self._ratio(window, group)
            if not total > 0:
                return math.nan, math.nan
            value += coefficient * estimate
            beta[mask] += coefficient / total
            alpha[mask] -= coefficient * estimate / total
        return value, self._variance(alpha, beta)

    def _variance(self, alpha: np.ndarray, beta: np.ndarray) -> float:
        """Variance of sum(w u) with u = alpha + beta y in each (period, group) cell:
        per period n/(n-1) * (sum z^2 - (sum z)^2 / n), z the projected values."""
        quad = (alpha**2 * self.s_w2 + 2 * alpha * beta * self.s_w2y + beta**2 * self.s_w2yy).sum(1)
        total = (alpha * self.s_w + beta * self.s_wy).sum(1)
        if self.projection is not None:
            xtu, xtw2u, owner = [], [], []
            for (fc, fy, w2, w2y), s in zip(self.by_category, self.sizes, strict=True):
                a, b = alpha[:, :, None], beta[:, :, None]
                xtu.append((a * fc + b * fy).sum(1).ravel())
                xtw2u.append((a * w2 + b * w2y).sum(1).ravel())
                owner.append(np.repeat(np.arange(self.n_periods), s))
            xtu, xtw2u, owner = map(np.concatenate, (xtu, xtw2u, owner))
            p = self.projection
            b = p.pinv_xtx @ xtu
            h = self.n_periods
            quad = (
                quad
                - 2 * np.bincount(owner, weights=b * xtw2u, minlength=h)
                + np.bincount(owner, weights=b * (p.xtw2x @ b), minlength=h)
            )
            total = total - np.bincount(owner, weights=b * p.xtw, minlength=h)
        n = self.n_by_period
        with np.errstate(divide="ignore", invalid="ignore"):
            parts = np.where(n > 1, n / (n - 1) * (quad - total**2 / n), 0.0)
        return float(max(parts.sum(), 0.0))

    def estimate(
        self,
        window: Window,
        group: str = ALL,
        *,
        confidence_level: float = 0.95,
        method: str = "korn_graubard",
    ) -> PeriodEstimate:
        """One window's (or period's) estimate for a group, with its interval."""
        value, variance = self.contrast([(1.0, window, group)])
        periods, groups = self._cells(window, group)
        mask = np.outer(periods, groups)
        n, x = float(self.n[mask].sum()), float(self.x[mask].sum())
        se = math.sqrt(variance) if not math.isnan(variance) else math.nan
        if n == 0 or math.isnan(value):
            return PeriodEstimate(window.name, group, math.nan, math.nan, math.nan, math.nan, n, x)
        interval = design_proportion_ci(
            value, se, n=n, df=self.df, confidence_level=confidence_level, method=method
        )
        return PeriodEstimate(
            window.name,
            group,
            value,
            se,
            interval.ci.low,
            interval.ci.high,
            n,
            x,
            interval.reason,
        )

    def change(
        self, start: Window, end: Window, group: str = ALL, *, confidence_level: float = 0.95
    ) -> Change:
        """The change from `start` to `end` for a group: end minus start, with its
        interval, its p-value (t on the design's degrees of freedom) and the smallest
        change this design would detect with 80% power in a two-sided test at 5%."""
        difference, variance = self.contrast([(1.0, end, group), (-1.0, start, group)])
        first, _, _ = self._ratio(start, group)
        last, _, _ = self._ratio(end, group)
        se = math.sqrt(variance) if not math.isnan(variance) else math.nan
        df = self.df
        quantile = stats.t.ppf(1 - (1 - confidence_level) / 2, df) if df > 0 else math.nan
        p_value = math.nan
        if se > 0 and df > 0:
            p_value = float(2 * stats.t.sf(abs(difference / se), df))
        detectable = math.nan
        if df > 0 and not math.isnan(se):
            detectable = float((stats.t.ppf(1 - MDC_ALPHA / 2, df) + stats.t.ppf(POWER, df)) * se)
        return Change(
            group,
            start.name,
            end.name,
            first,
            last,
            difference,
            se,
            difference - quantile * se,
            difference + quantile * se,
            df,
            p_value,
            p_value,
            detectable,
            bool(set(start.periods) & set(end.periods)),
        )

    def changes(
        self,
        start: Window,
        end: Window,
        groups: Sequence[str],
        *,
        adjust: str = "holm",
        confidence_level: float = 0.95,
    ) -> list[Change]:
        """The change for each of several groups, compared at once: p-values adjusted
        across the family (Holm for claims, Benjamini-Hochberg for flags)."""
        check_choice("adjust", adjust, ADJUSTMENTS)
        found = [self.change(start, end, g, confidence_level=confidence_level) for g in groups]
        adjusted = adjust_p_values([c.p_value for c in found], method=adjust)
        return [replace(c, p_value_adjusted=float(a)) for c, a in zip(found, adjusted, strict=True)]
