"""The output vocabulary: every column an estimate table can carry, defined once.

`python -m analysis` and the platform's downloads use these names, units and definitions;
the CSV on the Web metadata and the codebook are written from them. Proportions and
differences are fractions from 0 to 1 everywhere (a spreadsheet formats them as
percentages), never percentages in one file and fractions in another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One output column. `decimals` says how the platform publishes a number: rounded to
    that many decimal places (0: a whole number), so that no figure carries the precision
    to be inverted to a count of people; None publishes it as it is (counts are perturbed
    by the publication gate before they get here; words are words)."""

    name: str
    title: str
    datatype: str  # a CSV on the Web (XML Schema) datatype: string, integer, double
    description: str
    fraction: bool = False  # a proportion or difference from 0 to 1 (shown as a percentage)
    decimals: int | None = None

    def publish(self, value):
        """The value as published: rounded to `decimals`, anything else as it is."""
        if self.decimals is None or not isinstance(value, float) or not math.isfinite(value):
            return value
        return round(value, self.decimals) + 0.0  # + 0.0: never a "-0.0"

    @property
    def precision_words(self) -> str:
        if self.decimals is None:
            return ""
        if self.decimals == 0:
            return "Rounded to a whole number."
        places = "place" if self.decimals == 1 else "places"
        return f"Rounded to {self.decimals} decimal {places}."


# How finely each kind of figure is published. Shares and their limits to 0.1 percentage
# point, as ONS publishes survey percentages; standard errors and p-values to 4 places;
# design effects to 2; effective numbers of responses to whole numbers.
SHARE, SPREAD, EFFECT, WHOLE = 3, 4, 2, 0


COLUMNS: dict[str, Column] = {
    column.name: column
    for column in (
        Column(
            "n",
            "Responses",
            "integer",
            "Responses in the group that count towards the estimate (its denominator). "
            "Published by the platform after cell-key perturbation.",
        ),
        Column(
            "numerator",
            "Positive answers",
            "double",
            "The number of positive answers in the group (the estimate's numerator). "
            "Unweighted tables only, perturbed as `n` is; the estimate is this over `n`.",
        ),
        Column(
            "estimate",
            "Estimate",
            "double",
            "The estimated share of the group giving a positive answer, from 0 to 1 (a mean "
            "for a numeric indicator).",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "se",
            "Standard error",
            "double",
            "Standard error of the estimate, allowing for weighting and raking (linearisation).",
            fraction=True,
            decimals=SPREAD,
        ),
        Column(
            "ci_low",
            "Interval lower limit",
            "double",
            "Lower limit of the confidence interval, at `confidence_level`, by `method`.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "ci_high",
            "Interval upper limit",
            "double",
            "Upper limit of the confidence interval, at `confidence_level`, by `method`.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "df",
            "Degrees of freedom",
            "double",
            "Degrees of freedom of the interval (design-based methods).",
        ),
        Column(
            "n_eff",
            "Effective number of responses",
            "double",
            "How many unweighted responses would give the same precision (Kish); "
            "unweighted, the number of responses.",
            decimals=WHOLE,
        ),
        Column(
            "deff_weighting",
            "Design effect of weighting",
            "double",
            "Kish's design effect from unequal weights: 1 + the squared coefficient of "
            "variation of the group's weights.",
            decimals=EFFECT,
        ),
        Column(
            "deff",
            "Design effect",
            "double",
            "The estimate's variance over the variance of a simple random sample of the same size.",
            decimals=EFFECT,
        ),
        Column(
            "method",
            "Interval method",
            "string",
            "How the interval was worked out: korn_graubard, logit, wilson, clopper_pearson "
            "or wald (design-based or simple).",
        ),
        Column(
            "confidence_level",
            "Confidence level",
            "double",
            "The interval's confidence level, from 0 to 1 (0.95 is 95%).",
            fraction=True,
        ),
        Column(
            "reliability",
            "Reliability",
            "string",
            "ok, review (treat with caution) or too_uncertain (not published), by the US "
            "National Center for Health Statistics standard for proportions.",
        ),
        Column(
            "reliability_reasons",
            "Why",
            "string",
            "The reasons behind a reliability flag, separated by '; '.",
        ),
        Column(
            "interval_note",
            "Interval note",
            "string",
            "Why an interval is blank or was worked out another way, if it was.",
        ),
        Column(
            "disclosure",
            "Disclosure control",
            "string",
            "published, or why the group's figures are hidden (suppressed_small_count, "
            "suppressed_complementary, suppressed_filter_complement, "
            "estimate_withheld_small_rest).",
        ),
        Column(
            "flag",
            "Flag",
            "string",
            "GSS shorthand where a figure is hidden or flagged: [c] confidential (too few "
            "responses to show safely), [u] low reliability (the interval is too wide to "
            "rely on), [x] not available, [z] not applicable; blank otherwise. "
            "`flag_reason` says why in words.",
        ),
        Column("flag_reason", "Why flagged", "string", "The reason for `flag`, in words."),
        Column(
            "diff",
            "Difference from the rest",
            "double",
            "The group's estimate minus the rest's (everyone not in the group), from -1 to 1.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "diff_ci_low",
            "Difference lower limit",
            "double",
            "Lower limit of the difference's interval, at `confidence_level`.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "diff_ci_high",
            "Difference upper limit",
            "double",
            "Upper limit of the difference's interval, at `confidence_level`.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "p_value",
            "p-value",
            "double",
            "Two-sided p-value of the difference from the rest, before adjustment.",
            decimals=SPREAD,
        ),
        Column(
            "p_adjusted",
            "Adjusted p-value",
            "double",
            "The p-value adjusted for the number of groups compared (`adjust`, across the "
            "family the metadata names).",
            decimals=SPREAD,
        ),
        Column(
            "comparison",
            "Compared with the rest",
            "string",
            "higher, lower or no clear difference, at `confidence_level` after adjustment.",
        ),
        Column(
            "period",
            "Period (code)",
            "string",
            "The period an estimate covers: a quarter (2026-Q2), a calendar year (2026) or a "
            "rolling year of four quarters (year to 2026-Q2). Each period is weighted to the "
            "population on its own.",
        ),
        Column("period_label", "Period", "string", "The period, in words."),
        Column(
            "start_period",
            "From",
            "string",
            "The period a change is measured from (code, as in `period`).",
        ),
        Column("end_period", "To", "string", "The period a change is measured to (code)."),
        Column(
            "start_estimate",
            "Estimate then",
            "double",
            "The estimate in `start_period`, from 0 to 1.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "end_estimate",
            "Estimate now",
            "double",
            "The estimate in `end_period`, from 0 to 1.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "change",
            "Change",
            "double",
            "`end_estimate` minus `start_estimate`, from -1 to 1. Its standard error counts the "
            "respondents the two periods share (rolling years that overlap).",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "change_se",
            "Standard error of the change",
            "double",
            "Standard error of `change`, by linearising the difference of the two estimates "
            "on one design with the periods as strata.",
            fraction=True,
            decimals=SPREAD,
        ),
        Column(
            "change_ci_low",
            "Change lower limit",
            "double",
            "Lower limit of the change's interval, at `confidence_level`.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "change_ci_high",
            "Change upper limit",
            "double",
            "Upper limit of the change's interval, at `confidence_level`.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "minimum_detectable_change",
            "Smallest change detectable",
            "double",
            "The smallest change this design would detect with 80% power in a two-sided test "
            "at 5%, from its own variance: 'no clear change' is not 'no change'.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "overlapping",
            "Periods overlap",
            "boolean",
            "true when the two periods share respondents (overlapping rolling years).",
        ),
        Column(
            "versions",
            "Questionnaire versions",
            "string",
            "The questionnaire versions behind the figures, separated by ', ': versions that "
            "ask the indicator's question the same way.",
        ),
        Column(
            "modelled_estimate",
            "Modelled estimate",
            "double",
            "The Fay-Herriot (area-level model) estimate: the direct estimate moved towards "
            "what the other areas suggest, the more so the more uncertain it is; benchmarked "
            "so the areas give the direct estimate for all of them. From 0 to 1.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "modelled_ci_low",
            "Modelled lower limit",
            "double",
            "Lower limit of the modelled estimate's interval (from its mean squared error).",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "modelled_ci_high",
            "Modelled upper limit",
            "double",
            "Upper limit of the modelled estimate's interval.",
            fraction=True,
            decimals=SHARE,
        ),
        Column(
            "shrinkage",
            "Moved towards the model",
            "double",
            "How far the modelled estimate moved from the direct one towards the model's "
            "prediction, from 0 (not at all) to 1 (all the way), on the arcsine scale.",
            fraction=True,
            decimals=EFFECT,
        ),
    )
}

REASONS = {
    # reliability_reasons
    "effective_sample_under_30": "fewer than 30 effective responses",
    "interval_undefined": "no interval could be worked out",
    "interval_width_at_least_30_points": "the interval is 30 points wide or more",
    "relative_width_over_130_percent": "the interval is wider than 130% of the estimate",
    "degrees_of_freedom_under_8": "fewer than 8 degrees of freedom",
    "estimate_is_0_or_100_percent": "everyone, or no one, in the group answered positively",
    # interval_note
    "empty_group": "no responses in the group",
    "no_degrees_of_freedom": "one response, or one cluster: no degrees of freedom",
    "zero_variance": "every answer the same: the design gives no variance",
    "undefined_at_boundary": "the method is undefined at 0% or 100%",
    "logit_undefined_at_boundary_used_korn_graubard": "logit is undefined at 0% or 100%: "
    "Korn-Graubard used",
}


def reason_words(codes) -> str:
    """Plain words for reason codes, '; '-separated, unknown codes kept as they are."""
    return "; ".join(REASONS.get(code, code) for code in codes if code)
