"""The one bridge between the database and `analysis`, one module per output.

Responses are aggregated in SQL (GROUP BY the analysis variables into counts of identical
respondents, with the sum of their record keys), so a report costs one query and work
proportional to the number of distinct cells, not the number of responses. The cells go
to `analysis`, and every count and figure a report shows goes through the publication
gate (`survey.publication.Gate`): its perturbation table is handed to the analysis, which
works every figure that needs a number of people from the published counts; counts are
published by `Gate.count` and `Gate.table`; and what a breakdown hides outside
`analysis.summarise` (trend points, the least-reached ranking) is `Gate.small` and
`Gate.protecting`, which read the rules from `analysis.disclosure`.

- `common`: errors, versions, selections and the aggregating query every output uses.
- `estimates`: estimates by group for one period (the analysis page, its downloads and
  releases), with the weighting page's diagnostics and modelled borough estimates.
- `trends`: change over time.
- `adjusted`: who is least reached, adjusted for the other characteristics.
"""

from survey.services.report_columns import BREAKDOWNS, value_labels
from survey.services.reporting.adjusted import (
    ADJUSTABLE,
    DEFAULT_ADJUSTMENT,
    Adjusted,
    AdjustedGroup,
    AdjustedRequest,
    build_adjusted,
)
from survey.services.reporting.common import (
    NoResponses,
    ReportError,
    Selection,
    aggregate_cells,
    available_versions,
)
from survey.services.reporting.estimates import Report, ReportRequest, build_report
from survey.services.reporting.trends import (
    ALL_GROUPS,
    TREND_KINDS,
    Trend,
    TrendRequest,
    _outside_small,
    build_trend,
    window_label,
)

__all__ = [
    "ADJUSTABLE",
    "ALL_GROUPS",
    "BREAKDOWNS",
    "DEFAULT_ADJUSTMENT",
    "Adjusted",
    "AdjustedGroup",
    "AdjustedRequest",
    "NoResponses",
    "Report",
    "ReportError",
    "ReportRequest",
    "Selection",
    "TREND_KINDS",
    "Trend",
    "TrendRequest",
    "_outside_small",
    "aggregate_cells",
    "available_versions",
    "build_adjusted",
    "build_report",
    "build_trend",
    "value_labels",
    "window_label",
]
