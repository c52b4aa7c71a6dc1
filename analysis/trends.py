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
from dataclasses import dataclass

import numpy as np

from analysis._checks import check_choice, scipy_special
from analysis.coding import Coded, combine, encode
from analysis.intervals import design_proportion_ci
from analysis.multiplicity import ADJUSTMENTS, adjust_p_values
from analysis.perturbation import PerturbationTable
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


def _present(codes: np.ndarray, labels: tuple[str, ...]) -> Coded:
    """Codes with only the categories they hold."""
    used = np.unique(codes[codes >= 0])
    mapping = np.full(len(labels) + 1, -1, dtype=np.intp)
    mapping[used] = np.arange(used.size)
    return Coded(mapping[codes], tuple(labels[i] for i in used))


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
    weights : str, optional
        Column of design weights (per respondent) each period's raking starts from, as R
        rakes a design made with `weights=`; 1 for every respondent by default.
    keys : str, optional
        Column of record keys (summed over identical respondents), so that `estimates`
        can work intervals from published, perturbed group sizes.
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
        weights: str | None = None,
        keys: str | None = None,
    ) -> None:
        periods = encode(data[period])
        if np.any(periods.codes < 0):
            raise ValueError(f"every record needs a period in column {period!r}")
        stratum = periods.codes
        size = len(stratum)
        f = np.ones(size) if frequency is None else np.asarray(data[frequency], dtype=float)
        d = np.ones(size) if weights is None else np.asarray(data[weights], dtype=float)
        if weights is not None and not (np.all(np.isfinite(d)) and np.all(d > 0)):
            raise ValueError(f"design weights in {weights!r} must be positive numbers")
        k = np.zeros(size) if keys is None else np.asarray(data[keys], dtype=float)
        answer, value, counted = _indicator_classes(data[indicator.column], indicator)
        # Each record's answer as 0 (no), 1 (yes) or 2 (not counted: left out or missing).
        answered = np.where(counted, value, 2).astype(np.intp)[answer]
        group = Coded(np.zeros(size, dtype=np.intp), (ALL,)) if by is None else encode(data[by])
        self.groups = group.labels
        g = len(self.groups) + 1  # the last group: records with none
        domain = np.where(group.codes < 0, g - 1, group.codes)
        self.unweighted: dict[str, str] = {}  # period -> why it could not be raked
        if margins or period_margins:
            chosen = {p: (period_margins or {}).get(p, margins) for p in periods.labels}
            cells = self._rake(data, chosen, periods.labels, stratum, f, d)
        else:  # not raked: a period is one cell, each respondent keeps its design weight
            every = len(periods.labels)
            cells = _Cells(
                stratum, np.arange(every), np.ones(every), [], [], np.bincount(stratum, f, every)
            )
        kept = [p not in self.unweighted for p in periods.labels]
        self.periods = tuple(p for p, keep in zip(periods.labels, kept, strict=True) if keep)
        renumber = np.cumsum(kept) - 1
        cell_of = cells.cell_of
        if self.unweighted:
            keep = np.asarray(kept)[stratum]
            stratum, f, d, k, answered, domain = (
                a[keep] for a in (stratum, f, d, k, answered, domain)
            )
            stratum = renumber[stratum]
            cell_of = cell_of[keep]
        cell_period = renumber[cells.period]
        h = len(self.periods)
        self._raked, self._cell_of, self._design = cells, cell_of, d
        self.n_periods, self.n_domains = h, g
        self.n_by_period = np.bincount(stratum, weights=f, minlength=h)
        self.df = float(f.sum()) - h
        # Respondents collapsed to (raking cell, group, answer): they share a weight, so
        # every sum below runs over these few; those not counted are dropped here.
        key = (cell_of * g + domain) * 3 + answered
        total = cells.weight.size * g * 3
        # With design weights respondents in a cell differ by their design weight d; the
        # raking factor is the cell's, so w = d * factor and sums of f w and f w^2 are
        # the cell's factor times sums of f d and f d^2.
        sums = [k] if weights is None else [k, f * d, f * d * d]
        if total <= 20_000_000:
            counts = np.bincount(key, weights=None if frequency is None else f, minlength=total)
            present = np.flatnonzero(counts)
            fv = counts[present].astype(float)
            found = [np.bincount(key, weights=v, minlength=total)[present] for v in sums]
        else:
            present, inverse = np.unique(key, return_inverse=True)
            fv = np.bincount(inverse, weights=f)
            found = [np.bincount(inverse, weights=v) for v in sums]
        counted_cells = present % 3 < 2
        if weights is None:  # every design weight 1: its sums are the counts
            found += [fv, fv]
        present, fv = present[counted_cells], fv[counted_cells]
        kv, dv, d2v = (v[counted_cells] for v in found)
        yv = (present % 3).astype(float)
        cell = present // 3 // g
        cv = cell_period[cell] * g + (present // 3) % g
        factor = cells.weight[cell]

        def per_cell(values, index=cv, length=h * g):
            return np.bincount(index, weights=values, minlength=length)

        fw = dv * factor
        fw2 = d2v * factor * factor
        shape = (h, g)
        self.n = per_cell(fv).reshape(shape)
        self.x = per_cell(fv * yv).reshape(shape)
        self.key_sums = per_cell(kv).reshape(shape)  # over the respondents counted in n
        self.positive_key_sums = per_cell(kv * yv).reshape(shape)  # and in x
        self.s_w = per_cell(fw).reshape(shape)
        self.s_wy = per_cell(fw * yv).reshape(shape)
        self.s_w2 = per_cell(fw2).reshape(shape)
        self.s_w2y = per_cell(fw2 * yv).reshape(shape)
        self.s_w2yy = per_cell(fw2 * yv * yv).reshape(shape)
        # Per (period, group, margin category), the margins side by side: sums of f, f y,
        # f w^2 and f w^2 y; and the raking projection, one block per period, from the
        # raking cells (every respondent in a cell has its weight and categories).
        self.blocks = None
        self.sizes = cells.sizes
        if cells.codes and h:
            used = np.asarray(kept)[cells.period]
            self.blocks = _Blocks.build(
                cell_period[used],
                [c[used] for c in cells.codes],
                cells.sizes,
                cells.count[used],
                (cells.design[used] * cells.weight[used]),
                (cells.design_squares[used] * cells.weight[used] ** 2),
                h,
            )
            parts = []
            for c, size in zip(cells.codes, cells.sizes, strict=True):
                index = (cv * size) + c[cell]  # ((period * g) + group) * size + category
                parts.append(
                    [
                        per_cell(values, index, h * g * size).reshape(h, g, size)
                        for values in (fv, fv * yv, fw2, fw2 * yv)
                    ]
                )
            self.cat_f, self.cat_fy, self.cat_w2, self.cat_w2y = (
                np.concatenate([p[i] for p in parts], axis=2) for i in range(4)
            )

    @property
    def w(self) -> np.ndarray:
        """Each record's weight (per respondent), as raked within its period."""
        return self._design * self._raked.weight[self._cell_of]

    def _rake(self, data, margins_by_period, labels, stratum, f, d):
        """Rake each period on its own. Respondents sharing a period and every margin's
        category share a weight, so each period is raked as its cells (a few thousand),
        not its respondents. A category is coded alike in every period (the union of the
        periods' categories), so the projection can cross it with the period. A period
        that cannot be raked is left out, with the reason, in `unweighted`."""
        variables = list(next(iter(margins_by_period.values())))
        categories = {}
        for variable in variables:
            if variable in data:
                categories[variable] = encode(data[variable])
                continue
            parts = [encode(data[c]) for c in variable.split("*")]
            categories[variable] = parts[0] if len(parts) == 1 else combine(parts)
        union: dict[str, dict[str, int]] = {v: {} for v in variables}
        for margins in margins_by_period.values():
            for variable in variables:
                for category in margins[variable]:
                    union[variable].setdefault(category, len(union[variable]))
        # Each respondent's cell: its period and its category on every margin (a missing
        # category has a slot of its own, which raking then refuses for that period).
        sizes = [len(categories[v].labels) + 1 for v in variables]
        joint = stratum.copy()
        for variable, size in zip(variables, sizes, strict=True):
            joint *= size
            joint += categories[variable].codes + 1
        total = len(labels) * int(np.prod(sizes))
        if total <= 20_000_000:  # counting is quicker than sorting
            counts = np.bincount(joint, weights=f, minlength=total)
            present = np.flatnonzero(counts)
            lookup = np.zeros(total, dtype=np.intp)
            lookup[present] = np.arange(present.size)
            cell_of, cell_count = lookup[joint], counts[present]
        else:
            present, cell_of = np.unique(joint, return_inverse=True)
            cell_count = np.bincount(cell_of, weights=f)
        # Each cell's design weight total (its count when every design weight is 1), the
        # base its raking starts from, and the total of squares the variance needs.
        cell_design = np.bincount(cell_of, weights=f * d, minlength=present.size)
        cell_squares = np.bincount(cell_of, weights=f * d * d, minlength=present.size)
        parts, rest = [], present
        for size in reversed(sizes):
            parts.append(rest % size - 1)
            rest = rest // size
        cell_period, cell_codes = rest, parts[::-1]
        cell_weight = np.ones(present.size)
        starts = np.searchsorted(cell_period, np.arange(len(labels) + 1))
        for h, name in enumerate(labels):
            cells = slice(starts[h], starts[h + 1])
            subset = {
                v: _present(codes[cells], categories[v].labels)
                for v, codes in zip(variables, cell_codes, strict=True)
            }
            try:
                result = rake(
                    subset,
                    margins_by_period[name],
                    base_weights=cell_design[cells],
                    tolerance=RAKING_TOLERANCE,
                )
            except RakingError as error:
                self.unweighted[name] = str(error)
                continue
            cell_weight[cells] = result.weights / cell_design[cells]  # the cell's factor
        codes = []
        for variable, code in zip(variables, cell_codes, strict=True):
            position = np.array(
                [union[variable].get(label, 0) for label in categories[variable].labels] + [0]
            )
            codes.append(position[code])  # code -1 (missing) picks the last
        return _Cells(
            cell_of, cell_period, cell_weight, codes, [len(union[v]) for v in variables],
            cell_count, cell_design, cell_squares,
        )  # fmt: skip

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

    def counts(self, window: Window, group: str = ALL) -> tuple[float, float]:
        """Respondents counted towards a (window, group) estimate, and how many of them
        answered positively: unweighted, for the disclosure rules."""
        periods, groups = self._cells(window, group)
        mask = np.outer(periods, groups)
        return float(self.n[mask].sum()), float(self.x[mask].sum())

    def key_sum(self, window: Window, group: str = ALL, *, positive: bool = False) -> int:
        """The record keys of the respondents `counts` counts (with `positive`, of those
        who answered positively), added up."""
        periods, groups = self._cells(window, group)
        sums = self.positive_key_sums if positive else self.key_sums
        return int(round(float(sums[np.outer(periods, groups)].sum())))

    def contrasts(
        self, rows: Sequence[Sequence[tuple[float, Window, str]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and linearised variances of several contrasts at once, each a sum of
        coefficient * ratio over its terms (coefficient, window, group)."""
        m = len(rows)
        alpha = np.zeros((m, self.n_periods, self.n_domains))
        beta = np.zeros((m, self.n_periods, self.n_domains))
        values = np.zeros(m)
        for at, terms in enumerate(rows):
            for coefficient, window, group in terms:
                estimate, total, mask = self._ratio(window, group)
                if not total > 0:
                    values[at] = math.nan
                    break
                values[at] += coefficient * estimate
                beta[at][mask] += coefficient / total
                alpha[at][mask] -= coefficient * estimate / total
        variances = self._variances(alpha, beta)
        variances[np.isnan(values)] = math.nan
        return values, variances

    def contrast(self, terms: Sequence[tuple[float, Window, str]]) -> tuple[float, float]:
        """The value and linearised variance of sum(coefficient * ratio) over the terms,
        each a (coefficient, window, group)."""
        values, variances = self.contrasts([terms])
        return float(values[0]), float(variances[0])

    def _variances(self, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Variance of sum(w u) with u = alpha + beta y in each (period, group) cell, for
        each of the stacked (contrast, period, group) arrays: per period
        n/(n-1) * (sum z^2 - (sum z)^2 / n), z the values after the raking projection."""
        quad = (alpha**2 * self.s_w2 + 2 * alpha * beta * self.s_w2y + beta**2 * self.s_w2yy).sum(
            -1
        )
        total = (alpha * self.s_w + beta * self.s_wy).sum(-1)
        blocks = self.blocks
        if blocks is not None:
            xtu = np.einsum("mhg,hgs->mhs", alpha, self.cat_f) + np.einsum(
                "mhg,hgs->mhs", beta, self.cat_fy
            )
            xtw2u = np.einsum("mhg,hgs->mhs", alpha, self.cat_w2) + np.einsum(
                "mhg,hgs->mhs", beta, self.cat_w2y
            )
            b = np.einsum("hij,mhj->mhi", blocks.pinv_xtx, xtu)
            spread = np.einsum("hij,mhj->mhi", blocks.xtw2x, b)
            quad = quad - 2 * (b * xtw2u).sum(-1) + (b * spread).sum(-1)
            total = total - (b * blocks.xtw).sum(-1)
        n = self.n_by_period
        with np.errstate(divide="ignore", invalid="ignore"):
            parts = np.where(n > 1, n / (n - 1) * (quad - total**2 / n), 0.0)
        return np.maximum(parts.sum(-1), 0.0)

    def group_df(
        self,
        windows: Sequence[Window],
        group: str = ALL,
        *,
        ptable: PerturbationTable | None = None,
    ) -> float:
        """Degrees of freedom for a group over the periods of `windows` (STATISTICS.md, as
        R's `degf` of the subset): respondents counted, less the periods (strata) they fall
        in. With a `ptable` the respondents are their published, perturbed count, so a
        published interval cannot be worked back to a true count."""
        periods = np.zeros(self.n_periods, dtype=bool)
        for window in windows:
            periods |= self._cells(window, group)[0]
        groups = self._cells(windows[0], group)[1]
        mask = np.outer(periods, groups)
        respondents = float(self.n[mask].sum())
        strata = int(np.count_nonzero((self.n * mask).sum(axis=1) > 0))
        if ptable is not None and respondents > 0:
            keys = int(round(float(self.key_sums[mask].sum())))
            respondents = float(max(int(ptable.perturb(int(respondents), keys)), 1))
        return respondents - strata

    def estimate(
        self,
        window: Window,
        group: str = ALL,
        *,
        confidence_level: float = 0.95,
        method: str = "korn_graubard",
    ) -> PeriodEstimate:
        """One window's (or period's) estimate for a group, with its interval."""
        return self.estimates(window, [group], confidence_level=confidence_level, method=method)[0]

    def estimates(
        self,
        window: Window,
        groups: Sequence[str],
        *,
        confidence_level: float = 0.95,
        method: str = "korn_graubard",
        ptable: PerturbationTable | None = None,
    ) -> list[PeriodEstimate]:
        """A window's estimate for each group, with intervals, worked out together. With a
        `ptable` (and the design's record keys), each interval's cap and degrees of
        freedom for the group's size use its published, perturbed count: an interval
        shown to full precision cannot be inverted to a true count."""
        values, variances = self.contrasts([[(1.0, window, group)] for group in groups])
        found = []
        for group, value, variance in zip(groups, values.tolist(), variances.tolist(), strict=True):
            n, x = self.counts(window, group)
            if n == 0 or math.isnan(value):
                found.append(
                    PeriodEstimate(window.name, group, math.nan, math.nan, math.nan, math.nan, n, x)
                )
                continue
            se = math.sqrt(variance)
            size = n
            if ptable is not None:
                size = max(int(ptable.perturb(int(n), self.key_sum(window, group))), 1)
            df = self.group_df([window], group, ptable=ptable)
            interval = design_proportion_ci(
                value, se, n=size, df=df, confidence_level=confidence_level, method=method
            )
            found.append(
                PeriodEstimate(
                    window.name,
                    group,
                    value,
                    se,
                    interval.ci.low,
                    interval.ci.high,
                    n,
                    x,
                    interval.reason,
                )  # fmt: skip
            )
        return found

    def change(
        self,
        start: Window,
        end: Window,
        group: str = ALL,
        *,
        confidence_level: float = 0.95,
        ptable: PerturbationTable | None = None,
    ) -> Change:
        """The change from `start` to `end` for a group: end minus start, with its
        interval, its p-value (t on the group's degrees of freedom over both windows) and
        the smallest change this design would detect with 80% power in a two-sided test at
        5%."""
        return self.changes(
            start, end, [group], adjust="none", confidence_level=confidence_level, ptable=ptable
        )[0]

    def changes(
        self,
        start: Window,
        end: Window,
        groups: Sequence[str],
        *,
        adjust: str = "holm",
        confidence_level: float = 0.95,
        ptable: PerturbationTable | None = None,
    ) -> list[Change]:
        """The change for each of several groups, compared at once: p-values adjusted
        across the family (Holm for claims, Benjamini-Hochberg for flags). Each group's
        t has its own degrees of freedom over the two windows' periods (`group_df`)."""
        check_choice("adjust", adjust, ADJUSTMENTS)
        differences, variances = self.contrasts(
            [[(1.0, end, group), (-1.0, start, group)] for group in groups]
        )
        se = np.sqrt(variances)
        df = np.array([self.group_df([start, end], g, ptable=ptable) for g in groups], dtype=float)
        usable = np.where(df > 0, df, np.nan)

        def t(probability: float) -> np.ndarray:
            return scipy_special().stdtrit(usable, probability)

        quantile = t(1 - (1 - confidence_level) / 2)
        detectable = (t(1 - MDC_ALPHA / 2) + t(POWER)) * se
        with np.errstate(divide="ignore", invalid="ignore"):
            p_values = np.where(
                se > 0, 2 * scipy_special().stdtr(usable, -np.abs(differences / se)), np.nan
            )
        adjusted = adjust_p_values(p_values, method=adjust)
        overlapping = bool(set(start.periods) & set(end.periods))
        found = []
        for at, group in enumerate(groups):
            first, _, _ = self._ratio(start, group)
            last, _, _ = self._ratio(end, group)
            found.append(
                Change(
                    group,
                    start.name,
                    end.name,
                    first,
                    last,
                    float(differences[at]),
                    float(se[at]),
                    float(differences[at] - quantile[at] * se[at]),
                    float(differences[at] + quantile[at] * se[at]),
                    float(df[at]),
                    float(p_values[at]),
                    float(adjusted[at]),
                    float(detectable[at]),
                    overlapping,
                )  # fmt: skip
            )
        return found


@dataclass(frozen=True)
class _Cells:
    """Respondents sharing a period and every margin's category: each respondent's cell,
    and each cell's period, weight (per respondent), category codes and respondents."""

    cell_of: np.ndarray
    period: np.ndarray
    weight: np.ndarray  # the raking factor: a respondent's weight is its design weight times it
    codes: list[np.ndarray]
    sizes: list[int]
    count: np.ndarray
    design: np.ndarray | None = None  # sums of design weights (None: all 1, so the count)
    design_squares: np.ndarray | None = None


@dataclass(frozen=True)
class _Blocks:
    """The raking margins as the variance sees them, one block per period (the margins
    are crossed with the period, so the cross-table is block-diagonal): each block's
    pseudo-inverse, its cross-table weighted by f w^2, and its weighted totals."""

    pinv_xtx: np.ndarray  # (periods, categories, categories)
    xtw2x: np.ndarray
    xtw: np.ndarray  # (periods, categories)

    @classmethod
    def build(cls, stratum, codes, sizes, f, fw, fw2, h: int) -> _Blocks:
        """From each raking cell's period, categories, respondents (f), and sums of their
        weights (fw) and squared weights (fw2)."""
        k = int(sum(sizes))
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        xtx, xtw2x, xtw = np.zeros((h, k, k)), np.zeros((h, k, k)), np.zeros((h, k))
        for a, (code_a, size_a) in enumerate(zip(codes, sizes, strict=True)):
            first = stratum * size_a + code_a
            span_a = slice(offsets[a], offsets[a + 1])
            diagonal = np.arange(offsets[a], offsets[a + 1])
            length = h * size_a
            xtx[:, diagonal, diagonal] = np.bincount(first, f, length).reshape(h, size_a)
            xtw2x[:, diagonal, diagonal] = np.bincount(first, fw2, length).reshape(h, size_a)
            xtw[:, span_a] = np.bincount(first, fw, length).reshape(h, size_a)
            for b in range(a + 1, len(codes)):
                size_b = sizes[b]
                span_b = slice(offsets[b], offsets[b + 1])
                pair = first * size_b + codes[b]
                length = h * size_a * size_b
                for table, weights in ((xtx, f), (xtw2x, fw2)):
                    block = np.bincount(pair, weights, length).reshape(h, size_a, size_b)
                    table[:, span_a, span_b] = block
                    table[:, span_b, span_a] = block.transpose(0, 2, 1)
        return cls(np.linalg.pinv(xtx, hermitian=True), xtw2x, xtw)
