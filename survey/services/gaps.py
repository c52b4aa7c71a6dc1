"""What to do next: the boroughs and groups furthest below their share of London's people,
how many more responses would bring each within a tolerance, and what the gap costs the
weighting.

Everything is worked out from published counts (perturbed, or hidden as "fewer than"), so
"about 25 more responses" says nothing a coverage table does not: a hidden count is taken
at the most it could be, and the advice becomes "at least".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import and_, not_
from sqlalchemy.orm import Session

from survey.demographics import ETHNIC_GROUPS
from survey.geography import BOROUGH_NAMES
from survey.publication import Count, Gate
from survey.questionnaire import Questionnaire
from survey.services.coverage import Where, in_period, of_questionnaire, outside_counts
from survey.services.periods import Period, enclosing
from survey.services.population import Figures
from survey.services.report_columns import option_groups

TOLERANCE = 0.2  # a group within 20% of its population share is reached well enough
SHOWN = 10  # gaps listed
KEPT_FOR_EACH = 3  # of them at most, whole boroughs and London-wide groups kept a place
ROUND_TO = 5  # "about 25 more": advice is rounded up to this
SEX_WORDS = {"female": "women", "male": "men"}


@dataclass(frozen=True)
class Gap:
    borough: str | None  # its code, for the borough's page; None for London as a whole
    place: str  # "Tower Hamlets" or "All of London"
    group: str  # "women aged 16 to 24", or "" for the borough as a whole
    count: Count  # its responses, as published
    response_share: float  # of responses in the period, from published counts
    population_share: float
    needed: int  # more responses to bring it within the tolerance, rounded up
    at_least: bool  # its count is hidden: worked out from the most it could be
    level: str  # the weighting cells it belongs to, in words
    deff_now: float | None  # design effect of weighting to those cells, now ...
    deff_after: float | None  # ... and with the gap closed

    @property
    def words(self) -> str:
        who = f"{self.place}, {self.group}" if self.group else self.place
        amount = f"at least {self.needed:,}" if self.at_least else f"about {self.needed:,}"
        return f"{who}: {amount} more responses would close the gap"

    @property
    def ratio(self) -> float:
        return self.response_share / self.population_share


def _rounded_up(value: float) -> int:
    return max(ROUND_TO, math.ceil(value / ROUND_TO) * ROUND_TO)


def _needed(count: float, total: float, share: float, tolerance: float) -> float:
    """More responses x so that (count + x) / (total + x) reaches (1 - tolerance) * share."""
    target = (1 - tolerance) * share
    return max(0.0, (target * total - count) / (1 - target))


def _deff(cells: dict, populations: dict) -> float | None:
    """Kish's design effect of weighting respondents to these cells' populations:
    N times the sum of P_c^2 / n_c, over P^2 (cells with responses)."""
    used = {c: n for c, n in cells.items() if n > 0 and populations.get(c)}
    if not used:
        return None
    people = sum(populations[c] for c in used)
    total = sum(used.values())
    return total * sum(populations[c] ** 2 / n for c, n in used.items()) / people**2


def _published(gate: Gate, labels, counts, complements) -> dict:
    """Each cell's published count, hidden ones as in any coverage table."""
    parts, _total = gate.table(
        [str(label) for label in labels],
        [counts.get(label, (0, 0))[0] for label in labels],
        [counts.get(label, (0, 0))[1] for label in labels],
        complements=outside_counts(labels, complements),
    )
    return dict(zip(labels, parts, strict=True))


def _cells(rows, keys) -> dict:
    """Respondents and key sums by the answers `keys` picks from each row."""
    found: dict = {}
    for row in rows:
        key = keys(row)
        if key is None:
            continue
        count, sums = found.get(key, (0, 0))
        found[key] = (count + int(row[-2]), sums + int(row[-1] or 0))
    return found


def next_steps(
    session: Session,
    questionnaire: Questionnaire,
    period: Period,
    figures: Figures | None,
    gate: Gate,
    tolerance: float = TOLERANCE,
) -> list[Gap]:
    """The groups furthest below their population share, worst first: boroughs, London's
    age-by-sex groups and ethnic groups, and those groups within each borough."""
    from survey.services.reporting import aggregate_cells

    if figures is None:
        return []
    questions = {}
    for dimension in ("borough", "age_band", "sex", "ethnicity"):
        question = questionnaire.dimension_question(dimension)
        if question is None:
            return []
        questions[dimension] = question.id
    labels = {
        dimension: {
            o.value: o.label.get() for o in questionnaire.dimension_question(dimension).options
        }
        for dimension in ("age_band", "sex")
    }
    groups = option_groups(questionnaire).get("ethnic_group", {})
    base = [of_questionnaire(questionnaire)]
    rows = aggregate_cells(session, Where(*base, *in_period(period)), questions)
    wider = [
        aggregate_cells(
            session,
            Where(*base, *in_period(other), not_(and_(*in_period(period)))),
            questions,
        )
        for other in enclosing(period)
    ]
    # Only residents who said where in London they live, asked (not set by their link).
    rows = [r for r in rows if not r[0] and r[1] in BOROUGH_NAMES]
    wider = [[r for r in w if not r[0] and r[1] in BOROUGH_NAMES] for w in wider]

    def age_sex(row):
        return (
            (row[2], row[3]) if row[2] in labels["age_band"] and row[3] in labels["sex"] else None
        )

    def ethnic(row):
        group = groups.get(row[4])
        return group if group in ETHNIC_GROUPS else None

    levels = [
        ("borough", lambda r: r[1], figures.values.get("borough", {}), None),
        ("age and sex", age_sex, _split(figures.values.get("age_band*sex", {})), None),
        ("ethnic group", ethnic, _grouped(figures.values.get("ethnicity", {}), groups), None),
    ]
    within = {
        "age and sex": _by_borough(figures.values.get("borough*age_band*sex", {}), 2),
        "ethnic group": _by_borough(figures.values.get("borough*ethnicity", {}), 1, groups),
    }
    gaps: list[Gap] = []
    answered = sum(int(r[-2]) for r in rows)
    london_people = sum(figures.values.get("borough", {}).values())
    if not answered or not london_people:
        return []
    published_total = None
    for name, key, people, _ in levels:
        counts = _cells(rows, key)
        published = _published(gate, sorted(people), counts, [_cells(w, key) for w in wider])
        if published_total is None:  # the borough table's shown counts are the total
            published_total = sum(c.value for c in published.values() if c.shown)
        gaps += _level_gaps(
            name, published, people, london_people, published_total, gate, tolerance,
            lambda cell, name=name: _describe(name, cell, labels, None),
        )  # fmt: skip
        if name in within:
            for borough, borough_people in within[name].items():
                mine = [r for r in rows if r[1] == borough]
                counts = _cells(mine, key)
                published = _published(
                    gate,
                    sorted(borough_people),
                    counts,
                    [_cells([r for r in w if r[1] == borough], key) for w in wider],
                )
                gaps += _level_gaps(
                    f"{name} within {BOROUGH_NAMES.get(borough, borough)}", published,
                    borough_people, london_people,
                    published_total, gate, tolerance,
                    lambda cell, name=name, borough=borough: _describe(
                        name, cell, labels, borough
                    ),
                )  # fmt: skip
    return _shortlist(gaps)


def _shortlist(gaps: list[Gap]) -> list[Gap]:
    """The worst first, with room kept for boroughs and for London's groups: there are many
    more groups within boroughs, and their small counts swing more."""
    gaps = sorted(gaps, key=lambda g: (g.ratio, -g.needed))
    boroughs = [g for g in gaps if g.level == "borough"][:KEPT_FOR_EACH]
    london = [g for g in gaps if g.borough is None][:KEPT_FOR_EACH]
    chosen = boroughs + london
    chosen += [g for g in gaps if g not in chosen][: SHOWN - len(chosen)]
    return sorted(chosen, key=lambda g: (g.ratio, -g.needed))


def _split(crossed: dict[str, int]) -> dict:
    return {tuple(key.split("*")): people for key, people in crossed.items()}


def _grouped(detailed: dict[str, int], groups: dict[str, str]) -> dict:
    found: dict[str, int] = {}
    for value, people in detailed.items():
        group = groups.get(value, value)
        found[group] = found.get(group, 0) + people
    return found


def _by_borough(crossed: dict[str, int], parts: int, groups: dict | None = None) -> dict:
    """{borough: {cell: people}} from figures uploaded within boroughs."""
    found: dict[str, dict] = {}
    for key, people in crossed.items():
        borough, *rest = key.split("*")
        cell = tuple(rest) if parts > 1 else (groups or {}).get(rest[0], rest[0])
        inside = found.setdefault(borough, {})
        inside[cell] = inside.get(cell, 0) + people
    return found


def _describe(level: str, cell, labels, borough: str | None) -> tuple[str | None, str, str]:
    if level == "borough":
        return cell, BOROUGH_NAMES.get(cell, cell), ""
    place = BOROUGH_NAMES.get(borough, borough) if borough else "All of London"
    if level == "age and sex":
        age, sex = cell
        who = f"{SEX_WORDS.get(sex, labels['sex'].get(sex, sex)).lower()} aged "
        return borough, place, who + labels["age_band"].get(age, age).lower()
    return borough, place, f"{ETHNIC_GROUPS.get(cell, cell)} people"


def _level_gaps(
    level, published, people, london_people, total, gate, tolerance, describe
) -> list[Gap]:
    """The cells of one level below (1 - tolerance) of their population share."""
    shown = {c: (p.value if p.shown else gate.threshold - 1) for c, p in published.items()}
    deff_now = _deff(shown, people)
    found = []
    for cell, count in published.items():
        share = people.get(cell, 0) / london_people
        if not share or not total:
            continue
        value = shown[cell]
        if value / total >= (1 - tolerance) * share:
            continue
        more = _rounded_up(_needed(value, total, share, tolerance))
        after = dict(shown)
        after[cell] = value + more
        borough, place, group = describe(cell)
        found.append(
            Gap(
                borough=borough,
                place=place,
                group=group,
                count=count,
                response_share=value / total,
                population_share=share,
                needed=more,
                at_least=not count.shown,
                level=level,
                deff_now=deff_now,
                deff_after=_deff(after, people),
            )
        )
    return found
