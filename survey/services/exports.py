"""What an analyst sees and downloads: the table, its metadata and a methods note.

The page and every download are built from the same report rows, so they show the same
groups with the same disclosure control. Downloads speak `python -m analysis`'s vocabulary
(analysis/columns.py): a tidy CSV with CSV on the Web metadata beside it, XLSX and JSON,
registered in FORMATS. Every string cell in a spreadsheet is neutralised so it cannot run
as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

from analysis.columns import COLUMNS, EFFECT, SHARE, Column, reason_words
from analysis.disclosure import CONFIDENTIAL, NOT_AVAILABLE, PROVISIONAL, flag
from analysis.intervals import METHOD_NAMES
from analysis.summary import COMPARISON, ROW_COLUMNS
from survey import __version__
from survey.services.reporting import (
    ADJUSTABLE,
    BREAKDOWNS,
    TREND_KINDS,
    Adjusted,
    Report,
    Trend,
    window_label,
)

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PERTURBATION_WORDS = (
    "cell-key perturbation: each count is the true count plus a little noise that depends "
    "on who is counted, at most 4 either way (variance 3); counts under 10, and counts "
    "whose noise takes them under 10, are hidden"
)
PERTURBATION_NOTE = (
    "Numbers of responses are perturbed to protect respondents: each is the true count "
    "plus a little noise, at most 4 either way, drawn by who is counted (the method ONS used "
    "for the 2021 Census and the Australian Bureau of Statistics uses in TableBuilder). The "
    "same people always give the same number, on every page and in every file, so "
    "subtracting one table from another shows nothing about anyone; totals may differ by a "
    "few from the sum of their parts. Every figure that needs a number of people (design "
    "effects, degrees of freedom, unweighted percentages and their intervals) is worked "
    "out from the published numbers, and figures are rounded, so none gives a true count "
    "back."
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
    comparison: str  # "higher", "lower", "no clear difference", or "" (not compared)
    disclosure: str
    reliability: str
    note: str
    flag: str = ""  # GSS shorthand: [c], [u], [x] or [z]; blank when nothing is flagged
    flag_reason: str = ""


@dataclass(frozen=True)
class Crosstab:
    """A two-way table: the first breakdown down the side, the second across, with the
    "All" row and column as totals."""

    row_labels: list[str]
    column_labels: list[str]
    cells: dict[tuple[str, str], Row]


def crosstab(rows: list[Row]) -> Crosstab | None:
    if not rows or len(rows[0].labels) != 2:
        return None

    def key(row: Row, position: int) -> str:
        return "All" if row.codes[position] == "All" else row.labels[position]

    down = list(dict.fromkeys(r.labels[0] for r in rows if r.codes[0] != "All"))
    across = list(dict.fromkeys(r.labels[1] for r in rows if r.codes[1] != "All"))
    return Crosstab([*down, "All"], [*across, "All"], {(key(r, 0), key(r, 1)): r for r in rows})


def comparison_words(row, level: float) -> str:
    """A short word for a group's difference from the rest of London, no league tables:
    the page's key says what it means."""
    if row.p_adjusted is None or row.diff is None:
        return ""
    if row.p_adjusted >= 1 - level:
        return "no clear difference"
    return "higher" if row.diff > 0 else "lower"


def _percent(value):
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else value * 100
    )


def report_rows(report: Report) -> list[Row]:
    """The rows the page shows and every download carries."""
    rows = []
    for row in report.summary.rows:
        labels = []
        for position, (name, code) in enumerate(zip(report.request.by, row.labels, strict=True)):
            if code != "All":
                labels.append(report.labels[name].get(code, code))
            else:  # "All of London" names London only; within a two-way table, "All"
                labels.append("All of London" if row.is_overall and position == 0 else "All")
        labels = tuple(labels)
        shorthand, why = flag(
            row.disclosure, row.interval_note or "", row.reliability, threshold=report.threshold
        )
        notes = [
            w
            for w in (
                f"{shorthand} {why[:1].upper()}{why[1:]}" if shorthand else "",
                RELIABILITY_WORDS.get(row.reliability, row.reliability) if not shorthand else "",
                reason_words((*row.reliability_reasons, row.interval_note)).capitalize()
                if row.published
                else "",
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
                flag=shorthand,
                flag_reason=why,
            )
        )
    return rows


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
        "not_stated": None if report.not_stated is None else report.not_stated.as_json(),
        "synthetic_demo_responses": report.synthetic.as_json(),
        "checked_against_wider_tables": report.complements,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "software_version": f"prevent-survey {__version__}",
    }


def disclosure_note(threshold: int, complements: int, *, keyed: bool) -> str:
    """What protects respondents, and against what, in words."""
    words = (
        "What protects respondents, and against what. Every number of responses is "
        "perturbed: a little noise, drawn by who is counted, so subtracting one table from "
        "another, or watching a count while adding responses, gives a range, never a "
        "number. Every figure that needs a number of people (design effects, degrees of "
        "freedom, unweighted shares and their intervals) is worked out from the published "
        "numbers, and figures are rounded, so none can be worked back to a true count. A "
        f"group is not shown ([c], confidential) when fewer than {threshold} responses are "
        "in it, when its perturbed number is under that, or when all or none of a group "
        f"under {3 * threshold} gave one answer, which would tell what each of them said. "
        f"Where the rest of the table is fewer than {threshold} responses, a group's "
        "estimate is not shown: comparing it with London would show their answers. People "
        "who preferred not to say are one line of a two-way table, not a row and a column "
        "of it. Estimates too uncertain to rely on (the US National Center for Health "
        "Statistics standard for proportions) are shown to staff flagged [u] and not shown "
        "on public pages."
    )
    if not keyed:
        words += (
            " The perturbation table in use gives every count of the same size the same "
            "noise, so further groups are hidden where hidden figures could otherwise be "
            f"worked out from the total, or would add up to fewer than {threshold}, and a "
            "table of one period or some versions was checked against the wider tables on "
            f"offer ({complements}): a group with fewer than {threshold} responses outside "
            "it is hidden."
        )
    return words


def methods_note(report: Report) -> str:
    """The methods, in plain English."""
    summary = report.summary
    level = f"{summary.confidence_level * 100:g}"
    versions = ", ".join(str(number) for _, number in report.versions)
    parts = [
        f"These figures estimate the share of London residents for the indicator "
        f"'{report.indicator.label.get()}' (question '{report.indicator.question}'), from "
        f"{report.respondents} responses "
        f"to the {report.questionnaire.title.get()} (version {versions}), {report.period_label}.",
        "Answers of "
        + ", ".join(f"'{label}'" for label in excluded_answers(report))
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
        parts.append(f"Intervals are {level}% {METHOD_NAMES[summary.method]} intervals.")
    else:
        parts.append(
            f"Figures are unweighted: they describe the people who answered, not "
            f"London's population. Intervals are {level}% {METHOD_NAMES[summary.method]} "
            "intervals."
        )
    parts.append(
        "Each group is compared with the rest of London; differences are called "
        "statistically significant only after adjusting for the number of groups compared "
        f"({ADJUSTMENT_WORDS.get(summary.adjust, summary.adjust)} across {summary.family}). "
        "Overlapping intervals are not a test."
    )
    parts.append(disclosure_note(report.threshold, report.complements, keyed=report.keyed))
    parts.append(PERTURBATION_NOTE)
    if report.has_synthetic:
        parts.append(
            f"WARNING: {report.synthetic} of these responses are synthetic demo "
            "data made up for trying the platform. They are not real residents."
        )
    if report.modelled is not None:
        modelled = report.modelled
        parts.append(
            "Modelled borough estimates (Fay-Herriot): each borough's true share is taken to be "
            "what its population predicts plus a borough effect, and its direct estimate that "
            "plus sampling error of known size. The modelled estimate weighs the two: a "
            "borough with many responses keeps nearly its direct estimate, one with few moves "
            "towards the prediction, and its interval shortens. This helps most for small "
            "boroughs. It assumes the boroughs' effects vary at random around the prediction "
            "(no borough is special in a way the model is not told) and the direct estimates' "
            "variances are right. " + modelled_words(modelled) + " Fitted by REML on the "
            "arcsine square-root scale (where a share's variance does not depend on the "
            "share) to the boroughs whose direct estimate is published, brought back with "
            f"the bias corrected, and benchmarked: multiplied by "
            f"{modelled.benchmark_factor:.3f} so that, weighted by population, they give "
            "London's direct estimate. A borough's modelled estimate is shown only where its "
            "interval is shorter than the direct one's."
        )
    return "\n\n".join(parts)


def modelled_words(modelled) -> str:
    """What the borough model was told about each borough, and how it was chosen."""
    rule = (
        "The covariates are chosen from a fixed short list of each borough's population "
        "shares (at most two), as the model with the lowest AIC fitted by maximum likelihood."
    )
    if not modelled.candidates:
        return (
            "The prediction is London's typical share: the population figures give every "
            "borough the same mix, so no borough covariate could be used. " + rule
        )
    if not modelled.covariates:
        return (
            f"The prediction is London's typical share: none of {_listed(modelled.candidates)} "
            "improved the model. " + rule
        )
    return (
        f"The prediction uses {_listed(modelled.covariates)}, which explain "
        f"{modelled.explained:.0%} of the variation between boroughs. " + rule
    )


def _listed(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def excluded_answers(report: Report) -> list[str]:
    """The answers left out of the indicator's denominator, as residents read them."""
    question = report.questionnaire.question(report.indicator.question)
    labels = []
    for value in sorted(report.indicator.exclude):
        option = question.option(value) if question is not None else None
        labels.append(option.label.get() if option is not None else value)
    return labels


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


def in_words(value) -> str:
    """A metadata value as a person would write it: items joined, yes or no, none."""
    if isinstance(value, dict):
        return "; ".join(f"{_heading(key)}: {in_words(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(in_words(item) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.10g}"
    return str(value)


def _heading(key: str) -> str:
    """A metadata key as a heading: "population_figures" as "Population figures"."""
    return str(key).replace("_", " ").capitalize()


# Downloads -----------------------------------------------------------------------------
#
# One vocabulary with `python -m analysis` (analysis/columns.py): the same names, units
# (fractions from 0 to 1) and definitions. Each breakdown gives two columns: its code,
# named as the breakdown (`borough`, as the command line names a data column), and its
# label (`borough_label`).

# The command line's columns, in its order, then the page's comparison word.
FIGURE_COLUMNS = (*ROW_COLUMNS, *COMPARISON, "comparison", "flag", "flag_reason")


def download_columns(report: Report) -> list[Column]:
    """The download's columns, in order: each breakdown's code and label, then figures."""
    columns = []
    for name in report.request.by:
        title = BREAKDOWNS[name]
        columns.append(
            Column(
                name,
                f"{title} (code)",
                "string",
                f"{title}: the answer's stored code; 'All' on the row for everyone",
            )
        )
        columns.append(
            Column(f"{name}_label", title, "string", f"{title}: the group's name, in words.")
        )
    modelled = [COLUMNS[name] for name in MODELLED_COLUMNS] if report.modelled else []
    return columns + [COLUMNS[name] for name in FIGURE_COLUMNS] + modelled


MODELLED_COLUMNS = ("modelled_estimate", "modelled_ci_low", "modelled_ci_high", "shrinkage")


def download_records(report: Report) -> list[dict]:
    """The rows the page shows, in the download vocabulary; hidden figures are None."""
    records = []
    shown = {row.codes: row for row in report_rows(report)}
    for row in report.summary.rows:
        page_row = shown[row.labels]
        record: dict = {}
        for name, code, label in zip(report.request.by, row.labels, page_row.labels, strict=True):
            record[name] = code
            record[f"{name}_label"] = label
        published = row.estimate is not None
        record.update(
            n=page_row.n,
            # Unweighted, the positive answers as published (perturbed like `n`); weighted,
            # none: the share comes from weights, and a count of people would undo `n`'s noise.
            numerator=row.numerator if not report.margins and published else None,
            estimate=_finite(row.estimate),
            se=_finite(row.se),
            ci_low=_finite(row.ci_low),
            ci_high=_finite(row.ci_high),
            df=None,  # responses less one: a count of people (see NOT_A_COUNT)
            n_eff=page_row.n_eff,
            deff_weighting=_finite(row.deff_weighting),
            deff=_finite(row.deff),
            method=row.method if published else None,
            confidence_level=report.summary.confidence_level,
            reliability=row.reliability,
            # Why a published group is flagged; a hidden group's reasons would describe it.
            reliability_reasons=("; ".join(row.reliability_reasons) or None)
            if row.published
            else None,
            interval_note=row.interval_note if row.published else None,
            disclosure=row.disclosure,
            diff=_finite(row.diff),
            diff_ci_low=_finite(row.diff_ci_low),
            diff_ci_high=_finite(row.diff_ci_high),
            p_value=_finite(row.p_value),
            p_adjusted=_finite(row.p_adjusted),
            comparison=page_row.comparison or None,
            flag=page_row.flag or None,
            flag_reason=page_row.flag_reason or None,
        )
        if report.modelled is not None:
            area = report.modelled.areas.get(row.labels[0]) if published else None
            area = area if area is not None and area.narrows else None
            record.update(
                modelled_estimate=area.estimate if area else None,
                modelled_ci_low=area.low if area else None,
                modelled_ci_high=area.high if area else None,
                shrinkage=area.shrinkage if area else None,
            )
        records.append(record)
    return records


def _finite(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as CSV on the Web reads a boolean
    if isinstance(value, float):
        # float() first: NumPy's floats are floats too, and their repr is "np.float64(...)".
        return repr(float(value))
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


@dataclass(frozen=True)
class Table:
    """What every download format writes: the columns, the rows in the download
    vocabulary, and what the figures are (metadata, methods note)."""

    title: str
    columns: list[Column]
    records: list[dict]
    metadata: dict
    methods_note: str
    primary_key: list[str]

    def __post_init__(self) -> None:
        # Every figure leaves at the precision its column publishes (analysis.columns):
        # one place, whatever the format.
        object.__setattr__(
            self,
            "records",
            [
                {**record, **{c.name: c.publish(record.get(c.name)) for c in self.columns}}
                for record in self.records
            ],
        )


def report_table(report: Report) -> Table:
    """A report (one period, a breakdown) as a download table."""
    return Table(
        title=f"{report.indicator.label.get()} by "
        + " and ".join(BREAKDOWNS[b].lower() for b in report.request.by),
        columns=download_columns(report),
        records=download_records(report),
        metadata=metadata(report),
        methods_note=methods_note(report),
        primary_key=list(report.request.by),
    )


def to_csv(table: Table) -> bytes:
    """A tidy CSV: one header row, one row per group, nothing else (RFC 4180, UTF-8 with a
    byte-order mark so Excel reads Polish, Bengali and Urdu labels; pandas and R drop it).
    Its metadata is the CSV on the Web file beside it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.name for column in table.columns])
    for record in table.records:
        writer.writerow([_csv_cell(record[column.name]) for column in table.columns])
    return BOM + buffer.getvalue().encode("utf-8")


BOM = b"\xef\xbb\xbf"
NOT_A_COUNT = {
    "df": " Not published by the platform: here it is the number of responses less one, "
    "an exact count of people, which would undo the perturbation of `n`.",
    "numerator": " Published for unweighted tables only, perturbed as `n` is: a weighted "
    "table's share comes from its weights, and an exact count of positive answers would "
    "undo the perturbation of `n`.",
}


def _definition(column: Column) -> str:
    words = column.description + NOT_A_COUNT.get(column.name, "")
    return f"{words} {column.precision_words}".rstrip()


def to_csvw(table: Table, csv_name: str) -> bytes:
    """CSV on the Web metadata (W3C): the columns' titles, datatypes and definitions, and
    the table's provenance, methods and disclosure control."""
    meta = table.metadata
    columns = []
    for column in table.columns:
        description = _definition(column)
        if column.fraction:
            description += " A fraction from 0 to 1."
        columns.append(
            {
                "name": column.name,
                "titles": column.title,
                "datatype": column.datatype,
                "dc:description": description,
                "null": "",
            }
        )
    document = {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "url": csv_name,
        "dc:title": table.title,
        "dc:description": table.methods_note,
        "dc:created": meta["generated_at"],
        "dc:publisher": "prevent-survey",
        "prov:wasGeneratedBy": meta["software_version"],
        "dialect": {"encoding": "utf-8", "header": True, "lineTerminators": ["\r\n"]},
        "tableSchema": {"columns": columns, "primaryKey": table.primary_key},
        "notes": [{"type": "metadata", "body": meta}],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def to_zip(table: Table, csv_name: str) -> bytes:
    """The CSV and its metadata together."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(csv_name, to_csv(table))
        archive.writestr(f"{csv_name}-metadata.json", to_csvw(table, csv_name))
    return buffer.getvalue()


# The workbook's sheets after the cover, each one table, as ONS's spreadsheet guidance asks.
XLSX_CONTENTS = (
    ("Cover", "What the figures are, how they were made and how they are protected"),
    ("Contents", "This list of sheets"),
    ("Notes", "What each column of the Data sheet means"),
    ("Data", "The figures: one row per group, one column per measure"),
)


def to_xlsx(table: Table) -> bytes:
    """A workbook laid out as ONS lays out accessible spreadsheets: a cover sheet in plain
    words (title, methods, what the figures are), a contents sheet, a notes sheet defining
    every column, and the data sheet (header frozen, filter on, widths set, fractions shown
    as percentages to one decimal place with the full value kept). One table per sheet,
    no merged cells, no blank cells inside a table."""
    from openpyxl import Workbook  # loaded on first use: most workers never build one
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append([neutralise(table.title)])
    cover["A1"].font = Font(bold=True, size=15)
    meta = table.metadata
    made = [meta.get("software_version"), meta.get("generated_at")]
    cover.append([f"Made by {made[0]} at {made[1]}." if all(made) else "Made by prevent-survey."])
    cover.append(["Methods"])
    cover.append([neutralise(table.methods_note)])
    cover.append(["About these figures"])
    for key, value in meta.items():
        if key == "interval_method":
            value = METHOD_NAMES.get(value, value)
        if key not in {"generated_at", "software_version"}:
            cover.append([neutralise(f"{_heading(key)}: {in_words(value)}")])
    cover.append(["Sheets in this workbook"])
    cover.append(["The Contents sheet lists them; the Notes sheet defines each column."])
    for heading in ("A3", "A5", f"A{cover.max_row - 1}"):
        cover[heading].font = Font(bold=True, size=13)
    cover.column_dimensions["A"].width = 120

    contents = book.create_sheet("Contents")
    contents.append(["Sheet", "What it holds"])
    for name, description in XLSX_CONTENTS:
        contents.append([name, description])
    contents.column_dimensions["A"].width = 14
    contents.column_dimensions["B"].width = 80

    notes = book.create_sheet("Notes")
    notes.append(["Column", "Title", "Definition"])
    for column in table.columns:
        notes.append([column.name, column.title, _definition(column)])
    for letter, width in (("A", 24), ("B", 30), ("C", 100)):
        notes.column_dimensions[letter].width = width

    columns = table.columns
    sheet = book.create_sheet("Data")
    sheet.append([column.name for column in columns])
    for record in table.records:
        sheet.append([neutralise(record[column.name]) for column in columns])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        longest = max(
            (len(str(cell.value)) for cell in sheet[letter] if cell.value is not None), default=8
        )
        sheet.column_dimensions[letter].width = min(max(longest, len(column.name)) + 2, 40)
        if column.fraction:
            for cell in sheet[letter][1:]:
                cell.number_format = "0.0%"
        elif column.datatype == "double":
            for cell in sheet[letter][1:]:
                cell.number_format = "0.000"
    for header in (contents, notes, sheet):
        for cell in header[1]:
            cell.font = Font(bold=True)
    for words in (cover, contents, notes):
        for row in words.iter_rows():
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for each in book.worksheets:
        for row in each.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(table: Table) -> bytes:
    document = {
        "metadata": table.metadata,
        "methods_note": table.methods_note,
        "columns": {c.name: _definition(c) for c in table.columns},
        "rows": table.records,
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


@dataclass(frozen=True)
class Format:
    """One way to download a table: adding a format is one entry here plus its test."""

    suffix: str  # added to the file's stem
    content_type: str  # sent as it is, charset and all
    build: object  # (table, csv_name) -> bytes
    label: str


FORMATS: dict[str, Format] = {
    "csv": Format(".csv", "text/csv; charset=utf-8", lambda r, _n: to_csv(r), "CSV"),
    "csvw": Format(
        ".csv-metadata.json",
        "application/csvm+json",
        to_csvw,
        "CSV metadata (CSV on the Web)",
    ),
    "zip": Format(".zip", "application/zip", to_zip, "CSV with its metadata (zip)"),
    "xlsx": Format(
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda r, _n: to_xlsx(r),
        "Excel (XLSX)",
    ),
    "json": Format(".json", "application/json", lambda r, _n: to_json(r), "JSON"),
}


# Change over time ----------------------------------------------------------------------

TREND_COLUMNS = (
    "period", "period_label", "n", "estimate", "se", "ci_low", "ci_high", "method",
    "confidence_level", "disclosure", "versions", "flag", "flag_reason",
)  # fmt: skip


def _trend_flag(point, shown: bool, provisional: str | None = None) -> dict:
    """A trend point's GSS shorthand and reason: [c] withheld by the disclosure rules, [x]
    no estimate for another reason (no responses; a period that could not be weighted),
    [p] shown but provisional (the period is not over, or began before the survey did)."""
    if shown and provisional:
        return {"flag": PROVISIONAL, "flag_reason": provisional}
    if shown:
        return {"flag": None, "flag_reason": None}
    if point.withheld:
        return {"flag": CONFIDENTIAL, "flag_reason": point.withheld}
    return {"flag": NOT_AVAILABLE, "flag_reason": "no estimate for this period"}


CHANGE_COLUMNS = (
    "start_period", "end_period", "start_estimate", "end_estimate", "change", "change_se",
    "change_ci_low", "change_ci_high", "p_value", "p_adjusted", "minimum_detectable_change",
    "overlapping", "confidence_level", "disclosure",
)  # fmt: skip


def _group_columns(trend: Trend) -> list[Column]:
    name = trend.request.by or "group"
    title = BREAKDOWNS.get(trend.request.by, "Group")
    return [
        Column(name, f"{title} (code)", "string", f"{title}: the stored code; 'All' for London."),
        Column(f"{name}_label", title, "string", f"{title}: the group's name, in words."),
    ]


def trend_table(trend: Trend) -> Table:
    """Every period's estimate for London and each group, as the page shows them."""
    name = trend.request.by or "group"
    records = []
    for segment in trend.segments:
        versions = ", ".join(str(v) for v in segment.versions)
        for series in segment.series:
            for point in series.points:
                estimate = point.estimate
                shown = estimate is not None
                records.append(
                    {
                        name: series.group,
                        f"{name}_label": series.label,
                        "period": point.window,
                        "period_label": point.label,
                        "n": point.respondents.value,  # None when hidden, as in reports
                        "estimate": _finite(estimate.estimate) if shown else None,
                        "se": _finite(estimate.standard_error) if shown else None,
                        "ci_low": _finite(estimate.ci_lower) if shown else None,
                        "ci_high": _finite(estimate.ci_upper) if shown else None,
                        "method": "korn_graubard" if shown else None,
                        "confidence_level": trend.request.confidence_level,
                        "disclosure": "published" if shown else point.withheld,
                        "versions": versions,
                        **_trend_flag(point, shown, trend.provisional.get(point.window)),
                    }
                )
    return Table(
        title=f"{trend.indicator.label.get()}: {TREND_KINDS[trend.kind].lower()}",
        columns=_group_columns(trend) + [COLUMNS[c] for c in TREND_COLUMNS],
        records=records,
        metadata=trend_metadata(trend),
        methods_note=trend_methods_note(trend),
        primary_key=[name, "period", "versions"],
    )


def change_table(trend: Trend) -> Table:
    """The change between the two periods compared, for London and each group."""
    name = trend.request.by or "group"
    records = []
    for found in trend.changes:
        change = found.change
        records.append(
            {
                name: found.group,
                f"{name}_label": found.label,
                "start_period": found.start.window,
                "end_period": found.end.window,
                "start_estimate": _finite(change.start_estimate) if change else None,
                "end_estimate": _finite(change.end_estimate) if change else None,
                "change": _finite(change.change) if change else None,
                "change_se": _finite(change.standard_error) if change else None,
                "change_ci_low": _finite(change.ci_lower) if change else None,
                "change_ci_high": _finite(change.ci_upper) if change else None,
                "p_value": _finite(change.p_value) if change else None,
                "p_adjusted": _finite(change.p_value_adjusted)
                if change and found.group != "All"
                else None,
                "minimum_detectable_change": _finite(change.minimum_detectable_change)
                if change
                else None,
                "overlapping": change.overlapping if change else None,
                "confidence_level": trend.request.confidence_level,
                "disclosure": "published" if change else found.withheld,
            }
        )
    start, end = window_label(trend.start or ""), window_label(trend.end or "")
    return Table(
        title=f"{trend.indicator.label.get()}: change from {start} to {end}",
        columns=_group_columns(trend) + [COLUMNS[c] for c in CHANGE_COLUMNS],
        records=records,
        metadata=trend_metadata(trend),
        methods_note=trend_methods_note(trend),
        primary_key=[name],
    )


def trend_metadata(trend: Trend) -> dict:
    figures = trend.figures
    return {
        "questionnaire": trend.questionnaire.id,
        "indicator": {
            "id": trend.indicator.id,
            "label": trend.indicator.label.get(),
            "question": trend.indicator.question,
            "positive": sorted(trend.indicator.positive),
            "excluded_from_denominator": sorted(trend.indicator.exclude),
        },
        "periods": TREND_KINDS[trend.kind],
        "breakdown": BREAKDOWNS.get(trend.request.by, "London as a whole"),
        "segments": [
            {"versions": list(s.versions), "line_breaks_because": s.breaks_because}
            for s in trend.segments
        ],
        "weighting": "each period raked on its own to population figures on borough, age "
        "band by sex and ethnic group",
        "population_figures": None
        if figures is None
        else {"version": figures.version, "label": figures.label, "demo": figures.is_demo},
        "interval_method": "korn_graubard",
        "confidence_level": trend.request.confidence_level,
        "change": f"from {trend.start} to {trend.end}",
        "comparison_adjustment": f"{ADJUSTMENT_WORDS[trend.adjust]} across the groups",
        "suppression_threshold": trend.threshold,
        "count_perturbation": PERTURBATION_WORDS,
        "synthetic_demo_responses": trend.has_synthetic,
        "generated_at": trend.generated_at.isoformat(timespec="seconds"),
        "software_version": f"prevent-survey {__version__}",
    }


def trend_methods_note(trend: Trend) -> str:
    """How the trend was made, in plain English."""
    level = f"{trend.request.confidence_level * 100:g}"
    parts = [
        f"Each {'calendar year' if trend.kind == 'year' else 'quarter'} is weighted to the "
        "population on its own (raked to borough, age band by sex and ethnic group), as the "
        "Public Attitude Survey and the Crime Survey do, so a change in who answered does "
        "not show as a change in London.",
    ]
    if trend.kind == "rolling":
        parts.append(
            "A rolling year is the four quarters to the one named, each weighted on its own; "
            "rolling years that overlap share respondents, and the standard error of a "
            "change between them counts what they share."
        )
    parts.append(
        f"Intervals are {level}% Korn-Graubard intervals from linearised standard errors "
        "that allow for the weighting, each on its group's own degrees of freedom (its "
        "published number of responses less the periods they fall in). A change's p-value "
        "is the chance of a change at least this size if nothing had changed; p-values "
        "for the groups are adjusted together with "
        f"{ADJUSTMENT_WORDS[trend.adjust]}. Beside each change is the smallest change the "
        "survey would detect (80% power, 5% two-sided test): a smaller real change may go "
        "unseen, so 'no clear change' does not mean 'no change'."
    )
    for name, why in trend.provisional.items():
        parts.append(f"{window_label(name)} is {why.replace('provisional', 'provisional [p]')}.")
    if trend.provisional:
        parts.append(
            "With no change chosen, the change shown is between the latest two complete "
            "periods a year apart; provisional periods are compared only when chosen."
        )
    for segment in trend.segments:
        if segment.breaks_because:
            parts.append(segment.breaks_because + ".")
        for period, why in segment.unweighted.items():
            parts.append(f"{window_label(period)} is left out: it cannot be weighted ({why}).")
        for period, categories in segment.empty.items():
            parts.append(
                f"In {window_label(period)} nobody answered from "
                f"{', '.join(categories)}: their population is shared among the others."
            )
    parts.append(
        f"Figures for fewer than {trend.threshold} responses (true or perturbed), or where "
        "all or none of a small group gave one answer, are not shown ([c]). People who "
        "preferred not to say count in London's line, not in a line of their own. "
        + PERTURBATION_NOTE
    )
    if trend.has_synthetic:
        parts.append("These figures include made-up demo responses: they describe nobody.")
    return " ".join(parts)


def change_words(found, confidence_level: float) -> str:
    """A change in plain words: "up 6 points, from 41% to 47%; a change this size would
    happen by chance less than 1 time in 100"."""
    change = found.change
    if change is None:
        return f"Not shown: {found.withheld}."
    points = round(change.change * 100)
    start = f"{change.start_estimate:.0%}"
    end = f"{change.end_estimate:.0%}"
    if points == 0:
        movement = f"unchanged at about {end}"
    else:
        movement = f"{'up' if points > 0 else 'down'} {abs(points)} point{'s' * (abs(points) != 1)}"
        movement += f", from {start} to {end}"
    p = change.p_value
    if p < 0.001:
        chance = "less than 1 time in 1,000"
    elif p < 0.01:
        chance = "less than 1 time in 100"
    elif p < 0.05:
        chance = "less than 1 time in 20"
    else:
        chance = f"about {max(round(p * 100), 5)} times in 100: no clear change"
    return (
        f"{movement[:1].upper()}{movement[1:]}; a change this size would happen by chance {chance}."
    )


def detectable_words(found) -> str:
    change = found.change
    if change is None or not math.isfinite(change.minimum_detectable_change):
        return ""
    return (
        f"With these responses, the survey would detect a change of "
        f"{change.minimum_detectable_change * 100:.1f} points or more (80% of the time)."
    )


# The tables a trends page offers, each in every format of FORMATS.
TREND_TABLES = {
    "trend": ("The estimates by period", trend_table),
    "change": ("The change", change_table),
}


# Who is least reached ------------------------------------------------------------------


def adjusted_words(adjusted: Adjusted, group) -> str:
    """One group's adjusted share in plain words."""
    others = [ADJUSTABLE[v].lower() for v in adjusted.request.variables if v != group.variable]
    allowing = _listed(others)
    if group.share is None:
        return f"Not shown: {group.withheld}."
    points = round(group.difference * 100)
    where = (
        "the same as London as a whole"
        if points == 0
        else f"{abs(points)} point{'s' * (abs(points) != 1)} "
        f"{'below' if points < 0 else 'above'} London as a whole"
    )
    return (
        f"After allowing for {allowing}: {group.share:.0%} "
        f"({group.low:.0%} to {group.high:.0%}), {where} ({adjusted.london:.0%})."
    )


ADJUSTED_COLUMNS = (
    Column("variable", "Characteristic (code)", "string", "The breakdown the group belongs to."),
    Column("variable_label", "Characteristic", "string", "The breakdown, in words."),
    Column("group", "Group (code)", "string", "The group's stored code."),
    Column("group_label", "Group", "string", "The group, in words."),
    Column(
        "adjusted_share",
        "Adjusted share",
        "double",
        "The share the model predicts if everyone in London were in this group, everything "
        "else as it is (an average marginal prediction), from 0 to 1.",
        fraction=True,
        decimals=SHARE,
    ),
    Column(
        "ci_low",
        "Lower limit",
        "double",
        "Lower limit of the interval (delta method).",
        fraction=True,
        decimals=SHARE,
    ),
    Column(
        "ci_high", "Upper limit", "double", "Upper limit of the interval.", True, decimals=SHARE
    ),
    Column(
        "difference_from_london",
        "Difference from London",
        "double",
        "`adjusted_share` minus the weighted share for London as a whole, from -1 to 1.",
        fraction=True,
        decimals=SHARE,
    ),
    Column(
        "odds_ratio",
        "Adjusted odds ratio",
        "double",
        "Odds of a positive answer against the reference group of the same characteristic "
        "(the largest), the others held equal; blank for the reference.",
        decimals=EFFECT,
    ),
    Column(
        "odds_ratio_low",
        "Odds ratio lower limit",
        "double",
        "Lower limit, t on the design df.",
        decimals=EFFECT,
    ),
    Column("odds_ratio_high", "Odds ratio upper limit", "double", "Upper limit.", decimals=EFFECT),
    COLUMNS["n"],
    COLUMNS["confidence_level"],
    COLUMNS["disclosure"],
)


def adjusted_table(adjusted: Adjusted) -> Table:
    """The adjusted shares by group, least reached first, as the page shows them."""
    records = []
    for group in adjusted.groups:
        ratio = group.odds_ratio or (None, None, None)
        records.append(
            {
                "variable": group.variable,
                "variable_label": ADJUSTABLE[group.variable],
                "group": group.code,
                "group_label": group.label,
                "adjusted_share": _finite(group.share),
                "ci_low": _finite(group.low),
                "ci_high": _finite(group.high),
                "difference_from_london": _finite(group.difference),
                "odds_ratio": _finite(ratio[0]),
                "odds_ratio_low": _finite(ratio[1]),
                "odds_ratio_high": _finite(ratio[2]),
                "n": group.respondents.value,  # None when hidden, as in reports
                "confidence_level": adjusted.request.confidence_level,
                "disclosure": "published" if group.share is not None else group.withheld,
            }
        )
    figures = adjusted.figures
    metadata = {
        "questionnaire": adjusted.questionnaire.id,
        "indicator": {"id": adjusted.indicator.id, "label": adjusted.indicator.label.get()},
        "period": adjusted.period_label,
        "allowing_for": [ADJUSTABLE[v] for v in adjusted.request.variables],
        "model": "logistic regression on the weighted, raked design (as R's svyglm with "
        "quasibinomial family); sandwich standard errors allowing for the raking",
        "london_share": adjusted.london,
        "degrees_of_freedom": "responses in the model less the coefficients",
        "population_figures": None
        if figures is None
        else {"version": figures.version, "label": figures.label, "demo": figures.is_demo},
        "suppression_threshold": adjusted.threshold,
        "count_perturbation": PERTURBATION_WORDS,
        "synthetic_demo_responses": adjusted.has_synthetic,
        "generated_at": adjusted.generated_at.isoformat(timespec="seconds"),
        "software_version": f"prevent-survey {__version__}",
    }
    return Table(
        title=f"{adjusted.indicator.label.get()}: adjusted shares by group",
        columns=list(ADJUSTED_COLUMNS),
        records=records,
        metadata=metadata,
        methods_note=adjusted_methods_note(adjusted),
        primary_key=["variable", "group"],
    )


def adjusted_methods_note(adjusted: Adjusted) -> str:
    level = f"{adjusted.request.confidence_level * 100:g}"
    names = ", ".join(ADJUSTABLE[v].lower() for v in adjusted.request.variables)
    parts = [
        f"A logistic regression of '{adjusted.indicator.label.get()}' on {names} together, "
        "on responses weighted to the population (raked to borough, age band by sex and "
        "ethnic group), fitted as R's survey package does (svyglm). Each group's adjusted "
        "share is what the model predicts if everyone in London were in that group, with "
        "everything else about them as it is: a group's difference from London then is not "
        "explained by the other characteristics allowed for (it may be by others not "
        "allowed for).",
        f"Intervals are {level}% intervals from standard errors that allow for the weighting "
        "(the sandwich, linearised), on the design's degrees of freedom. Odds ratios compare "
        "each group with the largest group of the same characteristic.",
        f"Groups with fewer than {adjusted.threshold} responses (true or perturbed), or where "
        "all or none of a small group gave one answer, are not shown ([c]); people who "
        "preferred not to say are left out of the ranking. " + PERTURBATION_NOTE,
    ]
    if adjusted.has_synthetic:
        parts.append("These figures include made-up demo responses: they describe nobody.")
    return " ".join(parts)
