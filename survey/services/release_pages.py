"""A release's snapshot as the public pages, the tidy download and the JSON show it.

Reads only the frozen snapshot (and which releases correct which), never responses.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from analysis.columns import COLUMNS, Column
from analysis.disclosure import CONFIDENTIAL, LOW_RELIABILITY, NOT_AVAILABLE
from survey import charts
from survey.models import Release
from survey.services import exports
from survey.services import releases as release_service

HIDDEN_WORDS = {
    "small": "too few responses",
    "protects": "hidden so a smaller group cannot be worked out",
    "outside": "hidden: the same group in the rest of the year is too small",
    "rest": "the rest of London is too small to compare with",
    "uncertain": "too uncertain to publish",
    "unavailable": "no estimate could be made",
}
# GSS shorthand for each reason (analysis.disclosure.SHORTHAND says what each means).
HIDDEN_FLAGS = {
    "small": CONFIDENTIAL,
    "protects": CONFIDENTIAL,
    "outside": CONFIDENTIAL,
    "rest": CONFIDENTIAL,
    "uncertain": LOW_RELIABILITY,
    "unavailable": NOT_AVAILABLE,
}
RELEASE_COLUMNS = (
    Column("indicator", "Indicator (code)", "string", "The indicator's identifier."),
    Column("indicator_label", "Indicator", "string", "What the indicator measures, in words."),
    Column(
        "breakdown",
        "Breakdown",
        "string",
        "What the groups are divided by ('london' for London as a whole).",
    ),
    Column("group", "Group (code)", "string", "The group's stored code; 'All' for London."),
    Column("group_label", "Group", "string", "The group's name, in words."),
    COLUMNS["n"],
    COLUMNS["estimate"],
    COLUMNS["ci_low"],
    COLUMNS["ci_high"],
    Column(
        "comparison",
        "Against the rest of London",
        "string",
        "higher, lower or no_clear_difference: the group against the rest of London, "
        "p-values adjusted across the breakdown's groups (Holm).",
    ),
    Column(
        "caution",
        "Treat with caution",
        "boolean",
        "The estimate is shown but its reliability needs care (few degrees of freedom, or "
        "0% or 100%).",
    ),
    Column("hidden_because", "Why not shown", "string", "Why no estimate is shown, in words."),
    Column(
        "flag",
        "Flag",
        "string",
        "GSS shorthand for a figure not shown: [c] confidential (too few responses to show "
        "safely), [u] low reliability, [x] not available; blank when shown.",
    ),
    COLUMNS["start_period"],
    COLUMNS["change"],
    COLUMNS["change_ci_low"],
    COLUMNS["change_ci_high"],
)


@dataclass(frozen=True)
class PageRow:
    """What charts.tile_map reads of a row."""

    codes: tuple[str, ...]
    labels: tuple[str, ...]
    is_overall: bool
    estimate: float | None  # percent
    comparison: str
    note: str


def tile_maps(snapshot: dict) -> dict[str, charts.TileMap]:
    """The borough map of each indicator that publishes a borough table."""
    found = {}
    for indicator in snapshot["indicators"]:
        for table in indicator["tables"]:
            if table["by"] != "borough":
                continue
            rows = [
                PageRow(
                    (row["code"],),
                    (row["label"]["en"],),
                    False,
                    None if row["estimate"] is None else row["estimate"] * 100,
                    row["comparison"].replace("_", " "),
                    HIDDEN_WORDS.get(row["hidden_because"], ""),
                )
                for row in table["rows"]
            ]
            made = charts.tile_map(
                rows, indicator["label"]["en"], snapshot["confidence_level"], None
            )
            if made is not None:
                found[indicator["id"]] = made
    return found


def page_context(session: Session, release: Release) -> dict:
    """What a release page needs beyond the snapshot: maps and corrections."""
    return {
        "release": release,
        "snapshot": release.snapshot,
        "maps": tile_maps(release.snapshot),
        "corrected_by": release_service.corrections_of(session, release),
        "corrects": release.corrects,
    }


def file_stem(release: Release) -> str:
    return f"what-london-told-us-{release.period.lower()}-release-{release.id}"


def _record(indicator: dict, breakdown: str, row: dict, change: dict | None) -> dict:
    return {
        "indicator": indicator["id"],
        "indicator_label": indicator["label"]["en"],
        "breakdown": breakdown,
        "group": row["code"],
        "group_label": row["label"]["en"],
        "n": row["n"],
        "estimate": row["estimate"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "comparison": row["comparison"] or None,
        "caution": row["caution"],
        "hidden_because": HIDDEN_WORDS.get(row["hidden_because"]),
        "flag": HIDDEN_FLAGS.get(row["hidden_because"]),
        "start_period": change["previous_period"] if change else None,
        "change": change["change"] if change else None,
        "change_ci_low": change["ci_low"] if change else None,
        "change_ci_high": change["ci_high"] if change else None,
    }


def metadata(release: Release) -> dict:
    snapshot = release.snapshot
    return {
        "release": release.id,
        "title": f"What London told us: {release.period}",
        "questionnaire": snapshot["questionnaire"]["id"],
        "versions": snapshot["questionnaire"]["versions"],
        "period": snapshot["period"],
        "period_start": snapshot["period_start"],
        "period_end": snapshot["period_end"],
        "published": release.publish_at.isoformat(timespec="minutes")
        if release.publish_at
        else None,
        "corrects_release": release.corrects_id,
        "correction_note": release.correction_note or None,
        "respondents": snapshot["respondents"],
        "weighting": "raked to population figures on borough, age band by sex and ethnic "
        "group, each period on its own",
        "population_figures": snapshot["population"],
        "confidence_level": snapshot["confidence_level"],
        "suppression_threshold": snapshot["threshold"],
        "count_perturbation": exports.PERTURBATION_WORDS,
        "change": "each indicator's London figure against the previous release of the same "
        "kind (quarter or year), both periods weighted on their own",
        "software_version": snapshot["software_version"],
        "generated_at": release.prepared_at.isoformat(timespec="seconds"),
    }


def release_table(release: Release) -> exports.Table:
    """The release as one tidy table: London and every group of every indicator."""
    records = []
    for indicator in release.snapshot["indicators"]:
        records.append(_record(indicator, "london", indicator["london"], indicator["change"]))
        for table in indicator["tables"]:
            for row in table["rows"]:
                records.append(_record(indicator, table["by"], row, None))
    return exports.Table(
        title=f"What London told us: {release.period}",
        columns=list(RELEASE_COLUMNS),
        records=records,
        metadata=metadata(release),
        methods_note=exports.PERTURBATION_NOTE,
        primary_key=["indicator", "breakdown", "group"],
    )


def release_document(release: Release) -> dict:
    """The machine-readable release: its metadata and the snapshot as published."""
    return {
        "metadata": metadata(release),
        "commentary": release.commentary,
        "indicators": release.snapshot["indicators"],
    }
