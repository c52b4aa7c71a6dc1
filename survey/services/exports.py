"""What an analyst sees and downloads: the table, its metadata and a methods note.

The page and every download are built from `report_rows`, so they show the same rows,
with the same disclosure control. Every string cell in a spreadsheet is neutralised so it
cannot run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

from survey import __version__
from survey.services.reporting import BREAKDOWNS, Report

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DISCLOSURE_WORDS = {
    "published": "",
    "suppressed_small_count": "Fewer than {threshold} responses, or a very small number gave "
    "one answer",
    "suppressed_complementary": "Hidden so that a smaller group cannot be worked out",
    "suppressed_filter_complement": "Hidden: the same group outside this period or these "
    "versions is too small, and subtracting would show it",
    "estimate_withheld_small_rest": "No estimate: the rest of the table is fewer than "
    "{threshold} responses, and comparing would show their answers",
}
PERTURBATION_WORDS = (
    "cell-key perturbation: each count is the true count plus a little noise that depends "
    "on who is counted (ONS's published 10-5 table: rounded to 5, counts under 10 hidden)"
)
PERTURBATION_NOTE = (
    "Numbers of responses are perturbed to protect respondents: each is the true count "
    "plus a little noise fixed by who is counted (the method ONS used for the 2021 Census; "
    "with its 10-5 table, counts are rounded to the nearest 5). The same people always give "
    "the same number, on every page and in every file, so subtracting one table from "
    "another shows nothing about anyone; totals may differ by a few from the sum of their "
    "parts. Estimates and intervals are worked out from the true responses."
)
ADJUSTMENT_WORDS = {
    "holm": "Holm's method",
    "benjamini_hochberg": "the Benjamini-Hochberg method",
    "none": "no adjustment",
}
RELIABILITY_WORDS = {
    "ok": "",
    "review": "Treat with caution",
    "too_uncertain": "Too uncertain to publish",
}


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]
    codes: tuple[str, ...]
    is_overall: bool
    n: int | None
    estimate: float | None  # percent
    ci_low: float | None
    ci_high: float | None
    n_eff: float | None
    difference: float | None  # percentage points
    difference_low: float | None
    difference_high: float | None
    p_adjusted: float | None
    comparison: str
    disclosure: str
    reliability: str
    note: str


def comparison_words(row, level: float) -> str:
    """Plain words for a group's difference from the rest of London, no league tables."""
    if row.p_adjusted is None or row.diff is None:
        return ""
    if row.p_adjusted >= 1 - level:
        return "Not statistically different from the rest of London"
    return "Higher than the rest of London" if row.diff > 0 else "Lower than the rest of London"


def _percent(value):
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else value * 100
    )


def report_rows(report: Report) -> list[Row]:
    """The rows the page shows and every download carries."""
    rows = []
    for row in report.summary.rows:
        labels = tuple(
            report.labels[b].get(code, code)
            for b, code in zip(report.request.by, row.labels, strict=True)
        )
        notes = [
            w
            for w in (
                DISCLOSURE_WORDS.get(row.disclosure, row.disclosure).format(
                    threshold=report.threshold
                ),
                RELIABILITY_WORDS.get(row.reliability, row.reliability),
            )
            if w
        ]
        count = report.counts[row.labels]
        rows.append(
            Row(
                labels=labels,
                codes=row.labels,
                is_overall=row.is_overall,
                n=count.value,
                estimate=_percent(row.estimate),
                ci_low=_percent(row.ci_low),
                ci_high=_percent(row.ci_high),
                # Unweighted, the effective number is the count itself: published so.
                n_eff=row.n_eff if report.margins else (count.value if row.n_eff else None),
                difference=_percent(row.diff),
                difference_low=_percent(row.diff_ci_low),
                difference_high=_percent(row.diff_ci_high),
                p_adjusted=row.p_adjusted,
                comparison=comparison_words(row, report.summary.confidence_level),
                disclosure=row.disclosure,
                reliability=row.reliability,
                note="; ".join(notes),
            )
        )
    return rows


COLUMNS = (
    "n",
    "estimate_percent",
    "ci_low_percent",
    "ci_high_percent",
    "effective_n",
    "difference_points",
    "difference_ci_low",
    "difference_ci_high",
    "p_adjusted",
    "comparison",
    "disclosure",
    "reliability",
    "note",
)


def table_header(report: Report) -> list[str]:
    by = report.request.by
    return [*(BREAKDOWNS[b] for b in by), *(f"{b}_code" for b in by), *COLUMNS]


def table_values(report: Report) -> list[list]:
    values = []
    for row in report_rows(report):
        values.append(
            [
                *row.labels,
                *row.codes,
                row.n,
                row.estimate,
                row.ci_low,
                row.ci_high,
                row.n_eff,
                row.difference,
                row.difference_low,
                row.difference_high,
                row.p_adjusted,
                row.comparison,
                row.disclosure,
                row.reliability,
                row.note,
            ]
        )
    return values


def metadata(report: Report) -> dict:
    """Everything needed to know what the figures are and reproduce them."""
    summary = report.summary
    figures = report.figures
    return {
        "questionnaire": report.questionnaire.id,
        "versions": [number for _, number in report.versions],
        "period": report.period_label,
        "indicator": {
            "id": report.indicator.id,
            "label": report.indicator.label.get(),
            "question": report.indicator.question,
            "positive": sorted(report.indicator.positive),
            "excluded_from_denominator": sorted(report.indicator.exclude),
        },
        "breakdown": [BREAKDOWNS[b] for b in report.request.by],
        "weighting": (
            "raked to population figures on borough, age band by sex and ethnic group"
            if report.margins
            else "unweighted"
        ),
        "population_figures": None
        if figures is None
        else {"version": figures.version, "label": figures.label, "demo": figures.is_demo},
        "raking_margins": report.margins,
        "interval_method": summary.method,
        "confidence_level": summary.confidence_level,
        "comparison": "each group against the rest of London; p-values adjusted "
        f"({summary.adjust}) across {summary.family}",
        "suppression_threshold": report.threshold,
        "count_perturbation": PERTURBATION_WORDS,
        "respondents": report.respondents.as_json(),
        "outside_london_left_out": report.outside_london.as_json(),
        "borough_from_link_left_out": report.borough_from_link.as_json(),
        "borough_from_link_included": report.request.link_boroughs,
        "synthetic_demo_responses": report.synthetic.as_json(),
        "checked_against_wider_tables": report.complements,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "software_version": f"prevent-survey {__version__}",
    }


def methods_note(report: Report) -> str:
    """The methods, in plain English."""
    summary = report.summary
    level = round(summary.confidence_level * 100, 1)
    versions = ", ".join(str(number) for _, number in report.versions)
    parts = [
        f"These figures estimate the share of London residents for the indicator "
        f"'{report.indicator.label.get()}' (question '{report.indicator.question}'), from "
        f"{report.respondents} responses "
        f"to the {report.questionnaire.title.get()} (version {versions}), {report.period_label}.",
        "Answers of "
        + ", ".join(f"'{v}'" for v in sorted(report.indicator.exclude))
        + " are left out of the denominator."
        if report.indicator.exclude
        else "Every answer to the question counts in the denominator.",
        f"Responses from people living outside London ({report.outside_london}) are left "
        "out: the survey estimates London.",
    ]
    request = report.request
    if not request.link_boroughs and (request.weighted or "borough" in request.by):
        parts.append(
            "Responses that came through links that recorded the link's borough instead of "
            "asking where the resident lives, before every resident was asked "
            f"({report.borough_from_link}), are left out: their borough is not known."
        )
    elif request.link_boroughs:
        parts.append(
            "Responses that came through links which recorded the link's borough instead of "
            "asking where the resident lives are included, counted in the link's borough: "
            "where the link was used, not necessarily where they live."
        )
    if report.margins:
        figures = report.figures
        parts.append(
            "Responses are weighted (raked) so that they match London's population by "
            "borough, by age band and sex together, and by ethnic group, using population "
            f"figures version {figures.version} ({figures.label}). People who preferred not "
            "to say their borough, age, sex or ethnic group form their own category on that "
            "measure, with a target equal to their share of the responses, so they keep the "
            "weight the other measures give them. "
            + _empty_note(report)
            + "Standard errors allow for the weighting "
            "(linearisation with the raking taken into account), and the 'effective "
            "number' says how many unweighted responses would give the same precision."
        )
        parts.append(
            f"Intervals are {level}% Korn-Graubard intervals"
            if summary.method == "korn_graubard"
            else f"Intervals are {level}% intervals ({summary.method})."
        )
    else:
        parts.append(
            f"Figures are unweighted: they describe the people who answered, not "
            f"London's population. Intervals are {level}% {summary.method} intervals."
        )
    parts.append(
        "Each group is compared with the rest of London; differences are called "
        "statistically significant only after adjusting for the number of groups compared "
        f"({ADJUSTMENT_WORDS.get(summary.adjust, summary.adjust)} across {summary.family}). "
        "Overlapping intervals are not a test."
    )
    parts.append(
        f"To protect respondents, no group with fewer than {report.threshold} responses is "
        "shown, nor one where fewer than that gave a particular answer, and further groups "
        "are hidden where hidden figures could otherwise be worked out from the total, or "
        f"would add up to fewer than {report.threshold}. Where the rest of the table is "
        f"fewer than {report.threshold} responses, a group's estimate is not shown either. "
        "A table of one period or some versions was also checked against the wider "
        f"tables on offer ({report.complements}): a group with fewer than "
        f"{report.threshold} responses outside it is hidden. Estimates too uncertain to "
        "publish (the US National Center for Health Statistics standard for proportions) "
        "are flagged and not shown."
    )
    parts.append(PERTURBATION_NOTE)
    if report.has_synthetic:
        parts.append(
            f"WARNING: {report.synthetic} of these responses are synthetic demo "
            "data made up for trying the platform. They are not real residents."
        )
    return "\n\n".join(parts)


def _empty_note(report: Report) -> str:
    empty = {m: c for m, c in report.diagnostics.get("empty_categories", {}).items() if c}
    if not empty:
        return ""
    words = []
    for margin, categories in empty.items():
        labels = [
            report.labels.get(_LABELS_FOR.get(margin, margin), {}).get(c, c) for c in categories
        ]
        words.append(", ".join(labels))
    return (
        "No one in these responses belongs to " + "; ".join(words) + ", so their "
        "population is shared among the other categories of that measure. "
    )


_LABELS_FOR = {"age_band_sex": "age_band"}


def neutralise(value):
    """Make a string safe to open in a spreadsheet; leave numbers as numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _flat(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def to_csv(report: Report) -> bytes:
    """CSV (UTF-8, RFC 4180): metadata rows, the methods note, a blank row, then the table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for key, value in metadata(report).items():
        writer.writerow([neutralise(key), neutralise(_flat(value))])
    writer.writerow(["methods_note", neutralise(methods_note(report))])
    writer.writerow([])
    writer.writerow([neutralise(h) for h in table_header(report)])
    for values in table_values(report):
        writer.writerow(
            [
                ""
                if v is None
                else neutralise(v)
                if isinstance(v, str)
                else repr(v)
                if isinstance(v, float)
                else v
                for v in values
            ]
        )
    return buffer.getvalue().encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    """A workbook: the estimates on one sheet, the metadata and methods note on another."""
    from openpyxl import Workbook  # loaded on first use: most workers never build one
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Estimates"
    sheet.append([neutralise(h) for h in table_header(report)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in table_values(report):
        sheet.append([neutralise(v) for v in values])
    about = book.create_sheet("About")
    for key, value in metadata(report).items():
        about.append([neutralise(key), neutralise(_flat(value))])
    about.append(["methods_note", neutralise(methods_note(report))])
    for row in (*sheet.iter_rows(), *about.iter_rows()):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(report: Report) -> bytes:
    header = table_header(report)
    rows = [dict(zip(header, values, strict=True)) for values in table_values(report)]
    document = {"metadata": metadata(report), "methods_note": methods_note(report), "rows": rows}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
