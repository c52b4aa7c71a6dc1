"""One call from responses to a publishable table: `summarise`."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from analysis._checks import check_choice, check_confidence_level, scipy_special
from analysis.coding import Coded, combine, encode
from analysis.disclosure import (
    COMPLEMENTARY,
    FILTER_COMPLEMENT,
    PUBLISHED,
    SMALL_COUNT,
    SMALL_REST,
    TOO_UNCERTAIN,
    complementary_suppression,
    nchs_reliability,
    primary_suppression,
    published_suppression,
    withheld_for_complements,
)
from analysis.intervals import (
    DESIGN_METHODS,
    SRS_METHODS,
    design_proportion_ci,
    korn_graubard_effective_n,
    proportion_ci,
    t_quantile,
)
from analysis.linearisation import DomainEstimates, Projection, estimate_domains
from analysis.multiplicity import ADJUSTMENTS, adjust_p_values
from analysis.perturbation import PerturbationTable
from analysis.weighting import RakeResult, rake

ALL = "All"
FIGURES = (
    "n",
    "numerator",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "n_eff",
    "deff_weighting",
    "deff",
)
COMPARISON = ("diff", "diff_ci_low", "diff_ci_high", "p_value", "p_adjusted")
# Every row's columns after its groups, in order; COMPARISON follows when groups are compared.
ROW_COLUMNS = (
    *FIGURES,
    "method",
    "confidence_level",
    "reliability",
    "reliability_reasons",
    "interval_note",
    "disclosure",
)


@dataclass(frozen=True)
class Proportion:
    """The share of answers in `positive`, among answers not in `exclude` (and not empty)."""

    column: str
    positive: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "positive", tuple(str(v) for v in self.positive))
        object.__setattr__(self, "exclude", tuple(str(v) for v in self.exclude))
        if not self.positive:
            raise ValueError("a proportion needs at least one positive value")
        both = set(self.positive) & set(self.exclude)
        if both:
            raise ValueError(f"values cannot be both positive and excluded: {sorted(both)}")


@dataclass(frozen=True)
class Mean:
    """The mean of a numeric column (a scale's scores), leaving out `exclude` values."""

    column: str
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryRow:
    """One group of a breakdown. Suppressed rows keep their flags and carry no figures."""

    labels: tuple[str, ...]
    disclosure: str
    reliability: str
    reliability_reasons: tuple[str, ...]
    method: str
    confidence_level: float
    n: int | None = None
    numerator: float | None = None
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    n_eff: float | None = None
    deff_weighting: float | None = None
    deff: float | None = None
    diff: float | None = None
    diff_ci_low: float | None = None
    diff_ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    interval_note: str | None = None
    # Sum of the group's record keys, for perturbing its published count; never output.
    key_sum: int | None = field(default=None, repr=False)
    # With a ptable: the group's count and positive answers as published (perturbed by
    # their cell keys), which every figure that needs a count of people is worked from.
    published_counts: tuple[int, int | None] | None = field(default=None, repr=False)

    @property
    def published(self) -> bool:
        """The row's count may be shown (its estimate too, unless the rest is small)."""
        return self.disclosure in (PUBLISHED, SMALL_REST)

    @property
    def is_overall(self) -> bool:
        return all(label == ALL for label in self.labels)


@dataclass(frozen=True)
class Summary:
    """A breakdown of one indicator: the rows and everything needed to reproduce them."""

    rows: tuple[SummaryRow, ...]
    by: tuple[str, ...]
    indicator: Proportion | Mean
    weighted: bool
    method: str
    confidence_level: float
    min_cell: int
    adjust: str
    compare: bool
    family: str
    n_total: int
    rows_without_group: int
    raking: RakeResult | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        published = sum(r.published for r in self.rows)
        return (
            f"Summary(by={self.by}, indicator={self.indicator}, weighted={self.weighted}, "
            f"method={self.method!r}, rows={len(self.rows)}, published={published})"
        )

    def row(self, *labels: str) -> SummaryRow:
        return next(r for r in self.rows if r.labels == tuple(labels))

    @property
    def columns(self) -> tuple[str, ...]:
        base = (*self.by, *ROW_COLUMNS)
        return base + COMPARISON if self.compare else base

    def to_records(self) -> list[dict]:
        """The rows as dictionaries with the documented columns, in order."""
        records = []
        for row in self.rows:
            record = dict(zip(self.by, row.labels, strict=True))
            for name in self.columns[len(self.by) :]:
                record[name] = getattr(row, name)
            # A flag's reason codes as one cell, as every output carries them.
            record["reliability_reasons"] = "; ".join(row.reliability_reasons) or None
            records.append(record)
        return records

    def metadata(self) -> dict:
        indicator = {"column": self.indicator.column, "exclude": list(self.indicator.exclude)}
        if isinstance(self.indicator, Proportion):
            indicator.update(statistic="proportion", positive=list(self.indicator.positive))
        else:
            indicator.update(statistic="mean")
        meta = {
            "by": list(self.by),
            "indicator": indicator,
            "weighted": self.weighted,
            "method": self.method,
            "confidence_level": self.confidence_level,
            "min_cell": self.min_cell,
            "comparison": "each group against the rest",
            "adjust": self.adjust,
            "family": self.family,
            "respondents": self.n_total,
            "rows_without_group": self.rows_without_group,
        }
        if self.raking is not None:
            meta["raking"] = {
                "margins": list(self.raking.categories),
                "iterations": self.raking.iterations,
                "max_margin_error": self.raking.max_margin_error,
                "weight_min": self.raking.weight_min,
                "weight_max": self.raking.weight_max,
                "kish_deff": self.raking.kish_deff,
            }
        return meta


def summarise(
    data: Mapping[str, object],
    *,
    indicator: Proportion | Mean,
    by: str | Sequence[str],
    weights: str | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    frequency: str | None = None,
    method: str | None = None,
    confidence_level: float = 0.95,
    min_cell: int = 10,
    compare: bool = True,
    adjust: str = "holm",
    bounds: tuple[float, float] | None = None,
    withhold_unreliable: bool = True,
    raking: RakeResult | None = None,
    keys: str | None = None,
    complements: Sequence[Mapping[tuple, float]] = (),
    hide_first: Collection[str] = (),
    ptable: PerturbationTable | None = None,
    leave_out: Collection[str] = (),
) -> Summary:
    """Estimate an indicator for each group of a breakdown, ready to publish.

    Parameters
    ----------
    data : mapping of str to array_like
        Columns of equal length: one record per respondent, or per cell of identical
        respondents with their number in the `frequency` column. Categorical columns may be
        labels or `analysis.coding.Coded`.
    indicator : Proportion or Mean
        What to estimate.
    by : str or sequence of one or two str
        The breakdown. Records with no value in a `by` column are left out of every group
        (they are counted in ``rows_without_group``) but stay in the sample.
    weights : str, optional
        Column of design weights. Without weights or margins the summary is unweighted.
    margins : mapping, optional
        Population margins to rake to, keyed by column name; a crossed margin is keyed
        ``"age_band*sex"`` with categories ``"25-34*female"``. The variance accounts for
        the raking.
    frequency : str, optional
        Column giving how many identical respondents each record stands for.
    method : str, optional
        Interval method: default ``"wilson"`` unweighted, ``"korn_graubard"`` weighted.
    confidence_level : float
        Default 0.95.
    min_cell : int
        Disclosure threshold k (default 10).
    compare : bool
        Compare each group with the rest (default True).
    adjust : {"holm", "benjamini_hochberg", "none"}
        Multiple-comparison adjustment across the published groups of the breakdown.
    bounds : (float, float), optional
        Weight bounds for raking, relative to the mean weight.
    raking : RakeResult, optional
        Weights already raked on these same records (from `rake` or an earlier summary's
        ``raking``), reused instead of raking again; the variance accounts for them.
    withhold_unreliable : bool
        Leave out the estimate, interval and comparison of rows too uncertain to publish
        (NCHS rule), keeping their counts and flags (default True).
    keys : str, optional
        Column of record keys (summed, for cells of identical respondents); each row then
        carries ``key_sum``, the sum over its respondents, for cell-key perturbation.
    complements : sequence of mapping, optional
        For a table of some of the responses (a month, some versions): for each wider table
        on offer, each group's respondents outside this one, keyed by the row's labels. A
        group with 1 to ``min_cell - 1`` outside is withheld.
    hide_first : collection of str
        Labels whose groups are hidden first when more must be hidden to protect another
        (a "prefer not to say" group tells readers least).
    leave_out : collection of str
        Values of the `by` columns that form no group: their records are left out of
        every group, like records with no value (a two-way table without the "prefer not
        to say" row and column), and stay in the sample and in the ``All`` row.
    ptable : PerturbationTable, optional
        With `keys`: the table the group counts are published through. Every figure that
        needs a count of people is then worked from the published counts, never the true
        ones: degrees of freedom, design effects and interval caps from the published
        group size, and unweighted shares, intervals and comparisons from the published
        counts of the group and of its positive answers (the Australian Bureau of
        Statistics' TableBuilder does the same). No figure can be inverted to a true count.
        The disclosure rules read the published counts too, so a group's appearing or not
        does not move deterministically as responses are added. With a table that draws
        its noise by the cell key (`PerturbationTable.draws_by_key`), no group is hidden
        to protect another and no filtered table is checked against its complement: a
        difference of published counts is a range, never a number, so those rules would
        only cost (`tests/survey/test_intruder.py` attacks both ways).

    Returns
    -------
    Summary
        One row per group and the overall ``All`` row (two-way: cells, both margins and
        the total), with counts, estimate, se, CI, df, effective n, both design effects,
        reliability (NCHS) and disclosure flags, and comparisons.

    Notes
    -----
    Weighted estimates are Hajek ratios with linearised variance (each respondent its own
    PSU, with replacement); after raking the linearised values are projected on the raking
    margins. Unweighted proportions use `proportion_ci`, and their comparisons a normal
    test with unpooled variances. Suppressed rows (disclosure) carry no figures at all;
    rows too uncertain to publish (NCHS) keep their counts but no estimate.

    Examples
    --------
    >>> data = {"heard": ["yes"] * 30 + ["no"] * 20 + ["yes"] * 12 + ["no"] * 28,
    ...         "sex": ["f"] * 50 + ["m"] * 40}
    >>> table = summarise(data, indicator=Proportion("heard", ["yes"]), by="sex")
    >>> [(r.labels, r.n, round(r.estimate, 3)) for r in table.rows]
    [(('f',), 50, 0.6), (('m',), 40, 0.3), (('All',), 90, 0.467)]
    """
    level = check_confidence_level(confidence_level)
    check_choice("adjust", adjust, ADJUSTMENTS)
    by = (by,) if isinstance(by, str) else tuple(by)
    if not 1 <= len(by) <= 2:
        raise ValueError(f"by must name one or two columns, not {len(by)}")
    weighted = weights is not None or margins is not None or raking is not None
    if method is None:
        method = "korn_graubard" if weighted else "wilson"
    allowed = DESIGN_METHODS if weighted else SRS_METHODS
    if isinstance(indicator, Proportion):
        check_choice("method", method, allowed)
    if ptable is not None and keys is None:
        raise ValueError("a perturbation table needs the record keys (keys=...)")
    _require_columns(
        data, [*by, indicator.column, weights, frequency, keys, *_margin_columns(margins)]
    )
    records = _records(
        data, indicator, by, weights, margins, frequency, bounds, raking, keys, set(leave_out)
    )
    context = _Context(
        indicator,
        weighted or raking is not None,
        method,
        level,
        min_cell,
        compare,
        records,
        ptable,
    )
    if len(by) == 1:
        rows, constraints, family = _one_way(context, records.groups[0], by[0])
    else:
        rows, constraints, family = _two_way(context, records.groups[0], records.groups[1], by)
    keyed = ptable is not None and ptable.draws_by_key
    rows = _disclose(
        rows,
        [] if keyed else constraints,
        min_cell,
        isinstance(indicator, Proportion),
        () if keyed else complements,
        hide_first,
        exact=not context.weighted,
        keyed=keyed,
    )
    rows = _withhold_small_rest(rows, min_cell)
    rows = _adjust(rows, adjust, compare)
    return Summary(
        rows=tuple(_publishable(r, withhold_unreliable) for r in rows),
        by=by,
        indicator=indicator,
        weighted=context.weighted,
        method=method,
        confidence_level=level,
        min_cell=min_cell,
        adjust=adjust,
        compare=compare,
        family=family,
        n_total=int(records.f.sum()),
        rows_without_group=records.without_group,
        raking=records.raking,
    )


def group_counts(
    data: Mapping[str, object],
    *,
    indicator: Proportion | Mean,
    by: str | Sequence[str],
    frequency: str | None = None,
) -> dict[tuple[str, ...], int]:
    """Respondents in each group of a breakdown, counted as `summarise` counts its rows'
    ``n``: answers to the indicator that are not excluded, with a value in every `by`
    column. Keys are the rows' labels, ``("All",)`` and margins included.

    Examples
    --------
    >>> group_counts({"heard": ["yes", "no", "not_sure", "yes"], "sex": ["f", "f", "m", "m"]},
    ...              indicator=Proportion("heard", ["yes"], ["not_sure"]), by="sex")
    {('f',): 2, ('m',): 1, ('All',): 3}
    """
    by = (by,) if isinstance(by, str) else tuple(by)
    size = _length(data[indicator.column])
    f = np.ones(size) if frequency is None else _frequency(data, frequency, size)
    answers = encode(data[indicator.column])
    excluded = set(indicator.exclude)
    counted = np.array([label not in excluded for label in answers.labels] + [False])
    inside = counted[answers.codes]
    groups = [encode(data[column]) for column in by]
    for group in groups:
        inside &= group.codes >= 0
    counts: dict[tuple[str, ...], int] = {}
    if len(groups) == 1:
        (a,) = groups
        sums = np.bincount(a.codes[inside], weights=f[inside], minlength=len(a.labels))
        counts.update({(label,): int(sums[i]) for i, label in enumerate(a.labels)})
        counts[(ALL,)] = int(sums.sum())
        return counts
    a, b = groups
    cells = np.bincount(
        a.codes[inside] * len(b.labels) + b.codes[inside],
        weights=f[inside],
        minlength=len(a.labels) * len(b.labels),
    ).reshape(len(a.labels), len(b.labels))
    for i, la in enumerate(a.labels):
        for j, lb in enumerate(b.labels):
            counts[(la, lb)] = int(cells[i, j])
        counts[(la, ALL)] = int(cells[i].sum())
    for j, lb in enumerate(b.labels):
        counts[(ALL, lb)] = int(cells[:, j].sum())
    counts[(ALL, ALL)] = int(cells.sum())
    return counts


# --- inputs ---------------------------------------------------------------------------


def _length(values) -> int:
    return len(values) if isinstance(values, Coded) else len(np.asarray(values, dtype=object))


def _margin_columns(margins) -> list[str]:
    return [column for variable in (margins or {}) for column in variable.split("*")]


def _require_columns(data: Mapping, columns) -> None:
    for column in columns:
        if column is not None and column not in data:
            raise KeyError(
                f"no column {column!r} in the data (columns: {', '.join(map(str, data))})"
            )


def _frequency(data, frequency, size) -> np.ndarray:
    if frequency is None:
        return np.ones(size)
    f = _numbers(data[frequency], frequency)
    if np.any(f < 0) or np.any(f != np.round(f)):
        raise ValueError(f"frequency column {frequency!r} must hold whole numbers, 0 or more")
    return f


def _numbers(values, column: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"column {column!r} must hold numbers") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"column {column!r} has a missing or non-finite number")
    return array


def _indicator_classes(values, indicator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each record's answer code, each answer's value, and whether it is counted.

    Code -1 (an empty answer) indexes the last entry of both arrays: not counted.
    """
    coded = encode(values)
    excluded = set(indicator.exclude)
    counted = np.array([label not in excluded for label in coded.labels] + [False])
    if isinstance(indicator, Proportion):
        if not set(indicator.positive) & set(coded.labels):
            raise ValueError(
                f"none of the positive values {list(indicator.positive)} appear "
                f"in column {indicator.column!r} (values seen: "
                f"{', '.join(coded.labels[:20])})"
            )
        value = np.array([float(lab in set(indicator.positive)) for lab in coded.labels] + [0.0])
    else:
        value = np.zeros(len(coded.labels) + 1)
        for index, label in enumerate(coded.labels):
            if counted[index]:
                try:
                    value[index] = float(label)
                except ValueError:
                    raise ValueError(
                        f"column {indicator.column!r} has {label!r}, which is not a number; "
                        "list it in exclude to leave it out"
                    ) from None
    return coded.codes, value, counted


@dataclass(frozen=True)
class _Records:
    """What the estimates are computed from: respondents, or cells of identical ones."""

    f: np.ndarray
    w: np.ndarray
    y: np.ndarray
    in_denominator: np.ndarray
    groups: list[Coded]
    projection: Projection | None
    raking: RakeResult | None
    without_group: int
    k: np.ndarray | None  # record keys (summed over identical respondents); None: no keys


def _records(
    data, indicator, by, weights, margins, frequency, bounds, raking, keys, leave_out=frozenset()
) -> _Records:
    size = _length(data[indicator.column])
    f = None if frequency is None else _frequency(data, frequency, size)
    k = None if keys is None else _numbers(data[keys], keys)
    answer, value, counted = _indicator_classes(data[indicator.column], indicator)
    groups = []
    for column in by:
        coded = encode(data[column])
        if len(coded) != size:
            raise ValueError(f"column {column!r} has {len(coded)} values, expected {size}")
        if leave_out & set(coded.labels):
            kept = np.array([label not in leave_out for label in coded.labels] + [False])
            renumber = np.append(np.cumsum(kept[:-1]) - 1, -1)
            coded = Coded(
                np.where(kept[coded.codes], renumber[coded.codes], -1),
                tuple(label for label in coded.labels if label not in leave_out),
            )
        groups.append(coded)
    w = None
    if weights is not None:
        w = _numbers(data[weights], weights)
        if np.any(w < 0):
            raise ValueError(f"weight column {weights!r} has a negative weight")
    if raking is None and margins is not None:
        w = np.ones(size) if w is None else w
        raking = _rake(data, margins, np.ones(size) if f is None else f, w, bounds)
    if raking is not None and (raking.cell_of is None or raking.cell_of.size != size):
        raise ValueError("raking was done on different records from these")
    if raking is not None and weights is None:
        # Every respondent in a raking cell has the same weight: count, don't loop.
        return _collapse(f, answer, value, counted, groups, raking, k)
    missing = groups[0].codes < 0
    if len(groups) == 2:
        missing = missing | (groups[1].codes < 0)
    without_group = int(np.count_nonzero(missing) if f is None else f[missing].sum())
    f = np.ones(size) if f is None else f
    w = np.ones(size) if w is None else w
    if raking is None:
        return _Records(f, w, value[answer], counted[answer], groups, None, None, without_group, k)
    w = w * raking.cell_factor[raking.cell_of]
    codes = [raking.cell_codes[v][raking.cell_of] for v in raking.categories]
    sizes = [len(raking.categories[v]) for v in raking.categories]
    return _Records(
        f,
        w,
        value[answer],
        counted[answer],
        groups,
        Projection.build(codes, sizes, f, w),
        raking,
        without_group,
        k,
    )


def _rake(data, margins, f, w, bounds) -> RakeResult:
    if np.any(f == 0):
        raise ValueError("raking needs every record to stand for at least one respondent")
    categories = {}
    for variable in margins:
        columns = [encode(data[c]) for c in variable.split("*")]
        categories[variable] = columns[0] if len(columns) == 1 else combine(columns)
    return rake(categories, margins, base_weights=f * w, bounds=bounds)


def _collapse(f, answer, value, counted, groups, raking, k) -> _Records:
    """Count identical respondents (same raking cell, groups and answer) in one pass.

    Each code is shifted by one so that missing (-1) has a slot of its own. A breakdown
    that is itself a raking margin needs no slot: the cell says which group it is in.
    """
    from_cell = [_margin_of(raking, group) for group in groups]
    free = [group for group, margin in zip(groups, from_cell, strict=True) if margin is None]
    sizes = [raking.cell_factor.size, *(len(g.labels) + 1 for g in free), value.size]
    strides = [int(np.prod(sizes[i + 1 :])) for i in range(len(sizes))]
    total = int(np.prod(sizes))
    key = _base_key(raking, [g.codes for g in free], strides) + answer
    if total <= 20_000_000:
        counts = np.bincount(key, weights=f, minlength=total)
        present = np.flatnonzero(counts)
        key_sums = None if k is None else np.bincount(key, weights=k, minlength=total)[present]
        counts = counts[present]
    else:
        present, inverse = np.unique(key, return_inverse=True)
        counts = np.bincount(inverse, weights=f)
        key_sums = None if k is None else np.bincount(inverse, weights=k)
    parts = []
    for size in reversed(sizes[1:]):
        parts.append(present % size - 1)
        present = present // size
    cell_c, *free_codes, answer_c = [present, *reversed(parts)]
    decoded = iter(free_codes)
    group_codes = [
        next(decoded) if margin is None else raking.cell_codes[margin][cell_c]
        for margin in from_cell
    ]
    coded = [Coded(codes, group.labels) for group, codes in zip(groups, group_codes, strict=True)]
    fc = counts.astype(float)
    missing = np.zeros(fc.size, dtype=bool)
    for codes in group_codes:
        missing |= codes < 0
    w = raking.cell_factor[cell_c]
    codes = tuple(raking.cell_codes[v][cell_c] for v in raking.categories)
    projection = replace(_cell_projection(raking, cell_c, fc), codes=codes)
    return _Records(
        fc,
        w,
        value[answer_c],
        counted[answer_c],
        coded,
        projection,
        raking,
        int(fc[missing].sum()),
        key_sums,
    )


# The last base key made, for the next summary of the same breakdown on the same raking
# (another indicator): (raking, the groups' codes, strides, key). Compared by identity, and
# replaced whole, so a summary on another thread at most misses it.
_last_base: tuple | None = None


def _base_key(raking: RakeResult, codes: list[np.ndarray], strides: list[int]) -> np.ndarray:
    """Each respondent's raking cell and groups as one integer, shifted so that the answer
    (and a missing group's -1) can be added: worked out once for every indicator
    summarised by the same breakdown on the same raking (a million respondents take four
    passes over memory). Plain integer arithmetic: several times faster than
    numpy.ravel_multi_index here."""
    global _last_base
    last = _last_base
    if (
        last is not None
        and last[0] is raking
        and len(last[1]) == len(codes)
        and all(a is b for a, b in zip(last[1], codes, strict=True))
        and last[2] == strides
    ):
        return last[3]
    key = raking.cell_of * strides[0]
    for group, stride in zip(codes, strides[1:-1], strict=True):
        key += group * stride
    key += sum(strides[1:])
    _last_base = (raking, list(codes), list(strides), key)
    return key


def _margin_of(raking: RakeResult, group: Coded) -> str | None:
    """The raking margin this breakdown is, if it is one: the same categories and the same
    category for every respondent."""
    for variable, labels in raking.categories.items():
        codes = raking.codes[variable]
        if (
            tuple(group.labels) == tuple(labels)
            and group.codes.shape == codes.shape
            and (group.codes is codes or np.array_equal(group.codes, codes))
        ):
            return variable
    return None


def _cell_projection(raking: RakeResult, cell_c: np.ndarray, fc: np.ndarray) -> Projection:
    """The raking projection's matrices, from respondents per raking cell.

    They sum over the whole sample, so every breakdown of the same records shares them.
    """
    cells = raking.cell_factor.size
    respondents = np.bincount(cell_c, weights=fc, minlength=cells)
    key = respondents.tobytes()
    if key not in raking.cache:
        codes = [raking.cell_codes[v] for v in raking.categories]
        sizes = [len(raking.categories[v]) for v in raking.categories]
        raking.cache.clear()
        raking.cache[key] = Projection.build(codes, sizes, respondents, raking.cell_factor)
    return raking.cache[key]


# --- estimation -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    indicator: Proportion | Mean
    weighted: bool
    method: str
    level: float
    min_cell: int
    compare: bool
    records: _Records
    ptable: PerturbationTable | None = None


def _estimate(context: _Context, domain: np.ndarray, n_domains: int) -> DomainEstimates:
    r = context.records
    domain = np.where(r.in_denominator, domain, -1)
    return estimate_domains(
        r.f, r.w, r.y, domain, n_domains, projection=r.projection, n_total=r.f.sum()
    )


def _key_sums(
    context: _Context, domain: np.ndarray, n_domains: int, *, positive: bool = False
) -> np.ndarray:
    """Each domain's sum of record keys, over the same respondents as its count (with
    `positive`, over its positive answers: the cell of its numerator)."""
    r = context.records
    if r.k is None:
        return np.zeros(n_domains)
    inside = r.in_denominator & (domain >= 0)
    if positive:
        inside &= r.y > 0
    return np.bincount(domain[inside], weights=r.k[inside], minlength=n_domains)


def _counts(context: _Context, domain: np.ndarray, n_domains: int) -> tuple:
    """Each domain's true count and positive answers, with their key sums."""
    r = context.records
    inside = r.in_denominator & (domain >= 0)
    n = np.bincount(domain[inside], weights=r.f[inside], minlength=n_domains)
    yes = inside & (r.y > 0)
    x = np.bincount(domain[yes], weights=r.f[yes], minlength=n_domains)
    return (
        n,
        x,
        _key_sums(context, domain, n_domains),
        _key_sums(context, domain, n_domains, positive=True),
    )


def _published(context: _Context, n, x, key_sum, positive_key_sum):
    """A group's count and positive answers as the ptable publishes them (None without
    one); the positive answers never more than the group."""
    if context.ptable is None:
        return None
    table = context.ptable
    n_published = int(table.perturb(int(round(float(n))), int(round(float(key_sum)))))
    if not isinstance(context.indicator, Proportion):
        return n_published, None
    x_published = int(table.perturb(int(round(float(x))), int(round(float(positive_key_sum)))))
    return n_published, min(x_published, n_published)


def _one_way(context: _Context, group: Coded, name: str):
    estimates = _estimate(context, group.codes, len(group.labels))
    n, x, keys, positive = _counts(context, group.codes, len(group.labels))
    overall = _published(context, n.sum(), x.sum(), keys.sum(), positive.sum())
    rows = [
        _row(
            context,
            (label,),
            estimates,
            index,
            key_sum=keys[index],
            published=_published(context, n[index], x[index], keys[index], positive[index]),
            overall=overall,
        )
        for index, label in enumerate(group.labels)
    ]
    rows.append(_row(context, (ALL,), estimates, None, key_sum=keys.sum(), published=overall))
    family = f"{name}: {len(group.labels)} groups, each against the rest"
    return rows, [list(range(len(rows)))], family


def _two_way(context: _Context, a: Coded, b: Coded, names):
    ka, kb = len(a.labels), len(b.labels)
    cell = np.where((a.codes >= 0) & (b.codes >= 0), a.codes * kb + b.codes, -1)
    cells = _estimate(context, cell, ka * kb)
    rows_a = _estimate(context, np.where(b.codes >= 0, a.codes, -1), ka)
    rows_b = _estimate(context, np.where(a.codes >= 0, b.codes, -1), kb)
    n, x, keys, positive = (part.reshape(ka, kb) for part in _counts(context, cell, ka * kb))

    def published(where):
        return _published(context, n[where].sum(), x[where].sum(), keys[where].sum(),
                          positive[where].sum())  # fmt: skip

    overall = published(np.s_[:, :])
    rows = [
        _row(
            context,
            (la, lb),
            cells,
            i * kb + j,
            key_sum=keys[i, j],
            published=published(np.s_[i, j]),
            overall=overall,
        )
        for i, la in enumerate(a.labels)
        for j, lb in enumerate(b.labels)
    ]
    rows += [
        _row(
            context,
            (la, ALL),
            rows_a,
            i,
            compare=False,
            key_sum=keys[i].sum(),
            published=published(np.s_[i, :]),
        )  # fmt: skip
        for i, la in enumerate(a.labels)
    ]
    rows += [
        _row(
            context,
            (ALL, lb),
            rows_b,
            j,
            compare=False,
            key_sum=keys[:, j].sum(),
            published=published(np.s_[:, j]),
        )  # fmt: skip
        for j, lb in enumerate(b.labels)
    ]
    rows.append(_row(context, (ALL, ALL), cells, None, key_sum=keys.sum(), published=overall))
    margin_a, margin_b, total = ka * kb, ka * kb + ka, ka * kb + ka + kb
    constraints = [[i * kb + j for j in range(kb)] + [margin_a + i] for i in range(ka)]
    constraints += [[i * kb + j for i in range(ka)] + [margin_b + j] for j in range(kb)]
    constraints.append([margin_a + i for i in range(ka)] + [total])
    constraints.append([margin_b + j for j in range(kb)] + [total])
    family = f"{names[0]} by {names[1]}: {ka * kb} cells, each against the rest"
    return rows, constraints, family


def _row(
    context: _Context,
    labels,
    estimates: DomainEstimates,
    index,
    *,
    compare=True,
    key_sum=0.0,
    published=None,
    overall=None,
):
    """Build one row's figures (before disclosure control). With `published` counts (a
    ptable), every figure that needs a count of people uses them, and an unweighted
    comparison reads the rest from the `overall` published counts."""
    if index is None:
        n, x = estimates.sums.n.sum(), estimates.sums.x.sum()
        estimate, variance = estimates.overall_estimate, estimates.overall_variance
        srs, kish = estimates.overall_srs_variance, _kish(estimates.sums, None)
    else:
        n, x = estimates.sums.n[index], estimates.sums.x[index]
        estimate, variance = estimates.estimate[index], estimates.variance[index]
        srs, kish = estimates.srs_variance[index], _kish(estimates.sums, index)
    n = int(round(float(n)))
    figures: dict = {"n": n, "key_sum": int(round(float(key_sum)))}
    proportion = isinstance(context.indicator, Proportion)
    if published is not None:
        figures["published_counts"] = published
        true_n = n
        n, x = published[0], (published[1] if proportion else x)
        # The simple-random-sampling variance and Kish's effect for a group of the
        # published size: a design effect times an effective number gives no true count.
        srs = srs * (true_n - 1) / (n - 1) if n > 1 and true_n > 1 else math.nan
        kish = kish * n / true_n if true_n > 0 else math.nan
    figures["df"] = float(n - 1) if n > 0 else math.nan
    if proportion:
        figures["numerator"] = float(x)
    if n == 0:
        return SummaryRow(
            labels,
            PUBLISHED,
            TOO_UNCERTAIN,
            ("empty_group",),
            context.method,
            context.level,
            interval_note="empty_group",
            **figures,
        )
    if proportion:
        figures.update(
            _proportion_figures(
                context, float(x), n, float(estimate), float(variance), float(srs), kish
            )
        )
    else:
        figures.update(
            _mean_figures(context, n, float(estimate), float(variance), float(srs), kish)
        )
    if context.compare and compare and index is not None:
        counts = None if published is None else (published, overall)
        figures.update(_comparison(context, estimates, index, counts))
    return SummaryRow(labels, PUBLISHED, **figures)


def _kish(sums, index) -> float:
    n, w, w2 = (
        (sums.n.sum(), sums.w.sum(), sums.w2.sum())
        if index is None
        else (sums.n[index], sums.w[index], sums.w2[index])
    )
    return float(n * w2 / (w * w)) if w > 0 else math.nan


def _proportion_figures(context, x, n, estimate, variance, srs, kish) -> dict:
    level, method = context.level, context.method
    if not context.weighted:
        estimate = x / n
        interval = proportion_ci(x, n, confidence_level=level, method=method)
        se = math.sqrt(estimate * (1 - estimate) / n)
        n_eff, deff, kish = float(n), 1.0, 1.0
    else:
        se = math.sqrt(variance)
        interval = design_proportion_ci(
            estimate, se, n=n, df=n - 1, confidence_level=level, method=method
        )
        n_eff = estimate * (1 - estimate) / variance if variance > 0 else float(n)
        deff = variance / srs if srs > 0 else math.nan
    kg = design_proportion_ci(estimate, se, n=n, df=n - 1, confidence_level=level)
    reliability, reasons = nchs_reliability(
        estimate, kg.ci.low, kg.ci.high, n_eff=korn_graubard_effective_n(estimate, se, n), df=n - 1
    )
    return {
        "estimate": estimate,
        "se": se,
        "ci_low": interval.ci.low,
        "ci_high": interval.ci.high,
        "n_eff": n_eff,
        "deff_weighting": kish,
        "deff": deff,
        "reliability": reliability,
        "reliability_reasons": reasons,
        "method": interval.method,
        "confidence_level": level,
        "interval_note": interval.reason,
    }


def _mean_figures(context, n, estimate, variance, srs, kish) -> dict:
    level = context.level
    if not context.weighted:
        variance, kish, deff = srs, 1.0, 1.0
    else:
        deff = variance / srs if srs > 0 else math.nan
    se = math.sqrt(variance)
    half = t_quantile(0.5 + level / 2, n - 1) * se if n > 1 else math.nan
    rse = se / abs(estimate) if estimate else math.inf
    reliability, reasons = (
        ("ok", ())
        if n >= 30 and rse <= 0.3
        else (
            TOO_UNCERTAIN,
            ("relative_standard_error_over_30_percent" if n >= 30 else "sample_under_30",),
        )
    )
    return {
        "estimate": estimate,
        "se": se,
        "ci_low": estimate - half,
        "ci_high": estimate + half,
        "n_eff": srs * n / variance if variance > 0 else float(n),
        "deff_weighting": kish,
        "deff": deff,
        "reliability": reliability,
        "reliability_reasons": reasons,
        "method": "t",
        "confidence_level": level,
    }


def _comparison(context: _Context, estimates: DomainEstimates, index: int, counts) -> dict:
    """The group against the rest. With published `counts` ((group n, x), (overall n, x)),
    the degrees of freedom and an unweighted comparison are worked from them."""
    n, total, x, total_x = (
        (estimates.sums.n[index], estimates.sums.n.sum(), estimates.sums.x[index],
         estimates.sums.x.sum())
        if counts is None
        else (counts[0][0], counts[1][0], counts[0][1], counts[1][1])
    )  # fmt: skip
    rest_n = total - n
    if rest_n <= 0 or n <= 0:
        return {}
    if context.weighted or isinstance(context.indicator, Mean):
        diff = float(estimates.difference[index])
        variance = float(estimates.difference_variance[index])
        df = float(total - 1)
        quantile = t_quantile(0.5 + context.level / 2, df)

        def tail(statistic: float) -> float:
            return float(scipy_special().stdtr(df, -statistic))
    else:
        p = x / n
        rest_p = min(max((total_x - x) / rest_n, 0.0), 1.0)
        diff = float(p - rest_p)
        variance = float(p * (1 - p) / n + rest_p * (1 - rest_p) / rest_n)
        quantile = float(scipy_special().ndtri(0.5 + context.level / 2))

        def tail(statistic: float) -> float:
            return float(scipy_special().ndtr(-statistic))

    se = math.sqrt(variance)
    if se == 0:
        p_value = 1.0 if diff == 0 else 0.0
    else:
        p_value = 2 * tail(abs(diff) / se)
    return {
        "diff": diff,
        "diff_ci_low": diff - quantile * se,
        "diff_ci_high": diff + quantile * se,
        "p_value": p_value,
    }


# --- publication ----------------------------------------------------------------------


def _disclose(
    rows, constraints, min_cell, proportion, complements, hide_first, *, exact, keyed=False
):
    """Flag what may be shown. Unweighted (`exact`), a percentage and its interval give the
    group's exact count and numerator away, so a lone hidden cell, and numerators that add
    up small, are protected too; weighted, only small sums of respondents need to be."""
    n = np.array([r.n or 0 for r in rows], dtype=float)
    x = np.array([r.numerator or 0 for r in rows], dtype=float) if proportion else None
    if rows and rows[0].published_counts is not None:
        # Perturbed: the rules read the published counts, so whether a group shows does
        # not step deterministically as responses are added; a group under the threshold
        # never shows, whatever its noise.
        shown_n = [r.published_counts[0] for r in rows]
        small = published_suppression(n, shown_n, x, min_cell=min_cell, small_parts=not keyed)
        exact = False
    else:
        small = primary_suppression(n, x, min_cell=min_cell)
    outside = withheld_for_complements([r.labels for r in rows], complements, min_cell=min_cell)
    primary = small | outside
    first = set(hide_first)
    priority = np.array([0 if first & set(r.labels) else 1 for r in rows])
    secondary = complementary_suppression(
        primary,
        n,
        constraints,
        min_cell=min_cell,
        numerators=x if exact else None,
        priority=priority,
        lone=exact,
    )
    out = []
    for row, is_small, is_outside, linked in zip(rows, small, outside, secondary, strict=True):
        flag = (
            SMALL_COUNT
            if is_small
            else FILTER_COMPLEMENT
            if is_outside
            else COMPLEMENTARY
            if linked
            else PUBLISHED
        )
        out.append(_replace(row, disclosure=flag))
    return out


def _withhold_small_rest(rows, min_cell: int):
    """No estimate or comparison for a group whose rest of the table is 1 to k - 1: the
    overall figure and the group's would give the rest's away."""

    def size(row):  # the published count where there is one: the rule reads what shows
        return row.published_counts[0] if row.published_counts else (row.n or 0)

    total = next(size(r) for r in rows if r.is_overall)
    out = []
    for row in rows:
        rest = total - size(row)
        if row.disclosure == PUBLISHED and not row.is_overall and 1 <= rest <= min_cell - 1:
            hidden = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", *COMPARISON)
            row = _replace(row, disclosure=SMALL_REST, **{name: None for name in hidden})
        out.append(row)
    return out


def _adjust(rows, adjust: str, compare: bool):
    if not compare:
        return rows
    family = [
        i
        for i, r in enumerate(rows)
        if r.published and r.p_value is not None and r.reliability != TOO_UNCERTAIN
    ]
    adjusted = adjust_p_values([rows[i].p_value for i in family], method=adjust)
    rows = list(rows)
    for i, value in zip(family, adjusted, strict=True):
        rows[i] = _replace(rows[i], p_adjusted=float(value))
    return rows


def _publishable(row: SummaryRow, withhold_unreliable: bool) -> SummaryRow:
    """Strip figures that must not leave the engine."""
    if not row.published:
        hidden = {name: None for name in (*FIGURES, *COMPARISON)}
        return _replace(row, key_sum=None, published_counts=None, **hidden)
    if row.reliability == TOO_UNCERTAIN and withhold_unreliable:
        hidden = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", *COMPARISON)
        return _replace(row, **{name: None for name in hidden})
    return row


def _replace(row: SummaryRow, **changes) -> SummaryRow:
    return replace(row, **changes)
