"""Statistics for the survey: pure numpy and scipy, no Flask, no database.

Public API:

- `proportion_ci` and `design_proportion_ci`: intervals for unweighted and weighted data.
- `rake`: weights raked to population margins, with diagnostics.
- `summarise`: a breakdown of an indicator by group, with design-based variances,
  comparisons with the rest, multiple-comparison adjustment, reliability and disclosure
  flags. `Proportion` and `Mean` say what to estimate.
- `adjust_p_values`, `primary_suppression`, `complementary_suppression`,
  `nchs_reliability`: the pieces `summarise` is made of; `group_counts`: a breakdown's
  group sizes as `summarise` counts them.
- `TrendDesign`: change over time. Each period raked on its own; estimates by quarter, year
  or rolling four-quarter window (`rolling_windows`), and the change between two with its
  interval, p-value and minimum detectable change, overlapping windows' covariance counted.
- `analysis.perturbation`: cell-key perturbation of published counts (ONS's method and
  its published 10-5 table; the platform's own keyed table, built by `build_ptable`).

Run ``python -m analysis --help`` for the command line.
"""

from analysis.coding import Coded, combine, encode
from analysis.disclosure import (
    complementary_suppression,
    nchs_reliability,
    primary_suppression,
)
from analysis.intervals import (
    ConfidenceInterval,
    ProportionInterval,
    design_proportion_ci,
    proportion_ci,
)
from analysis.multiplicity import adjust_p_values
from analysis.summary import Mean, Proportion, Summary, SummaryRow, group_counts, summarise
from analysis.trends import Change, PeriodEstimate, TrendDesign, Window, rolling_windows
from analysis.weighting import RakeResult, RakingError, rake

__version__ = "0.1.0"

__all__ = [
    "Change",
    "Coded",
    "ConfidenceInterval",
    "Mean",
    "PeriodEstimate",
    "Proportion",
    "ProportionInterval",
    "RakeResult",
    "RakingError",
    "Summary",
    "SummaryRow",
    "TrendDesign",
    "Window",
    "adjust_p_values",
    "combine",
    "complementary_suppression",
    "design_proportion_ci",
    "encode",
    "group_counts",
    "nchs_reliability",
    "primary_suppression",
    "proportion_ci",
    "rake",
    "rolling_windows",
    "summarise",
]
