"""Population figures: uploaded by admins, validated, versioned; used for coverage and
weighting."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from survey import clock
from survey.demographics import crossed_population, population_dimensions
from survey.digits import whole_number
from survey.geography import OUTSIDE_LONDON, PREFER_NOT_TO_SAY
from survey.models import PopulationFigure, PopulationSet, StaffUser
from survey.questionnaire import Questionnaire

VARIABLES = population_dimensions()
CROSSED = crossed_population()
NOT_POPULATION = {OUTSIDE_LONDON, PREFER_NOT_TO_SAY}
MAX_BYTES = 1_000_000
MAX_ROWS = 10_000
TOTAL_TOLERANCE = 0.01  # variables may disagree on the total by 1% (rounding in tables)


class PopulationError(ValueError):
    """The file cannot be used; `problems` lists every problem found, by row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class Figures:
    version: int
    label: str
    is_demo: bool
    values: dict[str, dict[str, int]]


def population_categories(questionnaire: Questionnaire) -> dict[str, tuple[str, ...]]:
    """Return, for each variable, the categories figures must give (from the questionnaire)."""
    categories: dict[str, tuple[str, ...]] = {}
    for variable in VARIABLES:
        question = questionnaire.dimension_question(variable)
        if question is not None:
            categories[variable] = tuple(
                o.value for o in question.options if o.value not in NOT_POPULATION
            )
    for crossed, parts in CROSSED.items():
        if all(part in categories for part in parts):
            categories[crossed] = tuple(
                "*".join(combination)
                for combination in itertools.product(*(categories[part] for part in parts))
            )
    return categories


def parse_population_csv(data: bytes, categories: dict[str, tuple[str, ...]]) -> dict:
    """Read and check a CSV of variable, category, population; raise PopulationError."""
    if len(data) > MAX_BYTES:
        raise PopulationError([f"The file is larger than {MAX_BYTES // 1000} KB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PopulationError(["The file must be a CSV saved as UTF-8"]) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise PopulationError([f"The file is not valid CSV: {error}"]) from None
    if not rows or [c.strip().lower() for c in rows[0]] != ["variable", "category", "population"]:
        raise PopulationError(["The first row must be: variable,category,population"])
    if len(rows) > MAX_ROWS:
        raise PopulationError([f"The file has more than {MAX_ROWS:,} rows"])
    problems: list[str] = []
    values: dict[str, dict[str, int]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            problems.append(f"Row {number}: expected 3 values, found {len(row)}")
            continue
        variable, category, population = (cell.strip() for cell in row)
        if variable not in categories:
            problems.append(
                f"Row {number}: unknown variable {variable!r} (expected one of "
                f"{', '.join(categories)})"
            )
            continue
        if category not in categories[variable]:
            problems.append(f"Row {number}: {category!r} is not a {variable} category")
            continue
        if whole_number(population, maximum=999_999_999) is None:
            problems.append(f"Row {number}: population {population!r} must be a whole number")
            continue
        if category in values.setdefault(variable, {}):
            problems.append(f"Row {number}: {variable} {category!r} appears twice")
            continue
        values[variable][category] = int(population)
    if "borough" not in values and not problems:
        problems.append("The figures must include the borough variable")
    for variable, given in values.items():
        missing = [c for c in categories[variable] if c not in given]
        if missing:
            problems.append(
                f"{variable}: missing {len(missing)} categories, starting with {missing[0]!r}"
            )
        if sum(given.values()) == 0:
            problems.append(f"{variable}: the populations add up to 0")
    if not problems and values:
        totals = {v: sum(g.values()) for v, g in values.items()}
        first = next(iter(totals))
        for variable, total in totals.items():
            if abs(total - totals[first]) > TOTAL_TOLERANCE * totals[first]:
                problems.append(
                    f"{variable} adds up to {total:,} but {first} adds up to "
                    f"{totals[first]:,}: the totals must agree within 1%"
                )
    if problems:
        raise PopulationError(problems)
    return values


def store_figures(
    session: Session,
    values: dict,
    *,
    label: str,
    uploaded_by: StaffUser | None,
    is_demo: bool = False,
) -> PopulationSet:
    """Save the figures as the next version; earlier versions stay for reproducibility."""
    latest = session.scalar(select(func.max(PopulationSet.version))) or 0
    figures = PopulationSet(
        version=latest + 1,
        label=label,
        uploaded_at=clock.now(),
        uploaded_by=uploaded_by.id if uploaded_by else None,
        is_demo=is_demo,
    )
    session.add(figures)
    session.flush()
    # One executemany, not an ORM object per figure: an upload within boroughs is over a
    # thousand rows.
    session.execute(
        insert(PopulationFigure.__table__),
        [
            {"set_id": figures.id, "variable": v, "category": c, "population": p}
            for v, given in values.items()
            for c, p in given.items()
        ],
    )
    return figures


def current_figures(session: Session) -> Figures | None:
    """Return the newest population figures, or None if none were uploaded."""
    latest = session.scalar(select(PopulationSet).order_by(PopulationSet.version.desc()).limit(1))
    if latest is None:
        return None
    values: dict[str, dict[str, int]] = {}
    # Plain rows, not ORM objects: figures within boroughs are over a thousand, and every
    # report reads them.
    rows = session.execute(
        select(
            PopulationFigure.variable, PopulationFigure.category, PopulationFigure.population
        ).where(PopulationFigure.set_id == latest.id)
    )
    for variable, category, population in rows:
        values.setdefault(variable, {})[category] = population
    return Figures(latest.version, latest.label, latest.is_demo, values)


def list_versions(session: Session) -> list[PopulationSet]:
    return list(session.scalars(select(PopulationSet).order_by(PopulationSet.version.desc())))


def borough_population(figures: Figures | None, borough: str, source: str) -> dict[str, int]:
    """The borough's people by one dimension ("age_band", "ethnicity"), from the figures
    uploaded within boroughs; empty when none were."""
    if figures is None:
        return {}
    found: dict[str, int] = {}
    for variable, given in figures.values.items():
        parts = variable.split("*")
        if parts[0] != "borough" or source not in parts[1:]:
            continue
        at = parts.index(source)
        for category, people in given.items():
            values = category.split("*")
            if values[0] == borough:
                found[values[at]] = found.get(values[at], 0) + people
        return found
    return {}
