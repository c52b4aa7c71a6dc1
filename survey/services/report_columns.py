"""Aggregated responses as the columns `analysis.summarise` reads: the demographic
register's variables, grouped and with their special answers handled, and the raking
margins' population targets. No database here: `reporting` hands over the cells."""

from __future__ import annotations

from dataclasses import dataclass

from survey.demographics import (
    DEMOGRAPHICS,
    RAKING_MARGINS,
    breakdowns,
    demographic,
    margin_name,
    population_variable,
)
from survey.geography import BOROUGH_NAMES, OUTSIDE_LONDON, PREFER_NOT_TO_SAY
from survey.i18n import english_name
from survey.publication import Gate
from survey.questionnaire import Questionnaire
from survey.questionnaire.schema import DEFAULT_LANGUAGE
from survey.services.population import Figures

BREAKDOWNS = breakdowns()


class ColumnsError(ValueError):
    """The figures needed are missing; the message says what to do."""


@dataclass(frozen=True)
class LeftOut:
    """Responses a rule left out of a report: how many, and the sum of their record keys
    (so the count can be published through the gate)."""

    respondents: int = 0
    key_sum: int = 0

    def add(self, respondents: int, key_sum: int) -> LeftOut:
        return LeftOut(self.respondents + respondents, self.key_sum + key_sum)


def cells_to_columns(rows, names, questionnaire: Questionnaire, *, leave_out_link_boroughs):
    """Turn aggregated rows (answers, then count and key sum) into the columns `summarise`
    reads, handling the special answers.

    Residents outside London are left out (the survey estimates London), and so, when
    asked, are responses whose borough their link set. Grouped demographics (ethnic group)
    are reported by their options' groups. A missing or "prefer not to say" answer to a
    weighting variable becomes its own category. Returns the columns and what each rule
    left out.
    """
    groups = option_groups(questionnaire)
    in_margins = {name for margin in RAKING_MARGINS for name in margin}
    # A margin of one demographic is that demographic's own column.
    crossed = [margin for margin in RAKING_MARGINS if len(margin) > 1]
    columns: dict[str, list] = {
        name: []
        for name in [
            *(d.name for d in DEMOGRAPHICS),
            *(margin_name(m) for m in crossed),
            "indicator",
            "count",
            "keys",
        ]
    }
    outside = from_link = LeftOut()
    for row in rows:
        values = dict(zip(names, row[:-2], strict=True))
        count, keys = row[-2], int(row[-1] or 0)
        if values["borough_from_link"] and leave_out_link_boroughs:
            from_link = from_link.add(count, keys)
            continue
        if values.get("borough") == OUTSIDE_LONDON:
            outside = outside.add(count, keys)
            continue
        shown = {}
        for variable in DEMOGRAPHICS:
            value = values.get(variable.name)
            if variable.dimension is None:  # read from the response itself: always known
                value = value or DEFAULT_LANGUAGE
            elif variable.grouped:
                value = groups[variable.name].get(value, PREFER_NOT_TO_SAY)
            if value is None and variable.name in in_margins:
                value = PREFER_NOT_TO_SAY
            shown[variable.name] = value
            columns[variable.name].append(value)
        for margin in crossed:
            parts = [shown[name] for name in margin]
            unknown = any(part in (None, PREFER_NOT_TO_SAY) for part in parts)
            columns[margin_name(margin)].append(PREFER_NOT_TO_SAY if unknown else "*".join(parts))
        columns["indicator"].append(values.get("indicator"))
        columns["count"].append(count)
        columns["keys"].append(keys)
    return columns, {"outside_london": outside, "borough_from_link": from_link}


def option_groups(questionnaire: Questionnaire) -> dict[str, dict[str, str]]:
    """For each grouped demographic, its options' values mapped to their groups."""
    groups = {}
    for variable in DEMOGRAPHICS:
        if variable.grouped:
            question = questionnaire.dimension_question(variable.dimension)
            options = question.options if question is not None else ()
            groups[variable.name] = {o.value: (o.group or o.value) for o in options}
    return groups


def raking_margins(
    figures: Figures, questionnaire: Questionnaire, data: dict[str, list], gate: Gate
) -> dict[str, dict[str, float]]:
    """Population margins for the register's raking margins (borough, age band by sex and
    ethnic group).

    Respondents who preferred not to say form their own category on that margin, with a
    target equal to their share of the responses: they keep the weight the other margins
    give them, and the known categories share the rest of the population in proportion.
    The margins are published (analysts reproduce the weights from them), so the share is
    of the published counts, through the `gate`: perturbed, and a group the gate would
    hide counted as the threshold itself. A true share would give the exact count back.
    Returns the margins and, for each, the categories left out for having no responses.
    """
    needed = {margin_name(m): (m, population_variable(m)) for m in RAKING_MARGINS}
    missing = [source for _, source in needed.values() if source not in figures.values]
    if missing:
        raise ColumnsError(
            f"The population figures have no {', '.join(missing)}: an admin "
            "must upload them before weighted estimates can be made"
        )
    groups = option_groups(questionnaire)
    total = gate.count(sum(data["count"]), sum(data["keys"]))
    total_respondents = total.value or gate.threshold
    margins, empty = {}, {}
    for margin, (names, source) in needed.items():
        population: dict[str, float] = {}
        for category, value in figures.values[source].items():
            parts = category.split("*")
            key = "*".join(
                groups[name].get(part, part) if name in groups else part
                for name, part in zip(names, parts, strict=True)
            )
            population[key] = population.get(key, 0.0) + value
        total = sum(population.values())
        answered: dict[str, int] = {}
        keys: dict[str, int] = {}
        for value, count, key in zip(data[margin], data["count"], data["keys"], strict=True):
            answered[value] = answered.get(value, 0) + count
            keys[value] = keys.get(value, 0) + key
        # A category nobody in the sample belongs to cannot be weighted up from nothing:
        # its population is shared among the others, and the methods note says so.
        empty[margin] = sorted(k for k in population if not answered.get(k))
        known = {k: v for k, v in population.items() if answered.get(k)}
        known_total = sum(known.values())
        share = 0.0
        if answered.get(PREFER_NOT_TO_SAY):
            unstated = gate.count(answered[PREFER_NOT_TO_SAY], keys[PREFER_NOT_TO_SAY])
            share = min((unstated.value or gate.threshold) / total_respondents, 0.5)
        targets = {k: total * (1 - share) * v / known_total for k, v in known.items()}
        if share:
            targets[PREFER_NOT_TO_SAY] = total * share
        margins[margin] = targets
    return margins, empty


def value_labels(questionnaire: Questionnaire) -> dict[str, dict[str, str]]:
    """Words for every category a report can show."""
    labels: dict[str, dict[str, str]] = {}
    for name in BREAKDOWNS:
        variable = demographic(name)
        question = (
            questionnaire.dimension_question(variable.dimension) if variable.dimension else None
        )
        options = {o.value: o.label.get() for o in question.options} if question else {}
        if variable.grouped:
            options = dict(variable.group_labels)
        if name == "borough":
            options.update(BOROUGH_NAMES)
        if name == "language":
            options = {lang.code: english_name(lang.code) for lang in questionnaire.languages}
        options[PREFER_NOT_TO_SAY] = "Prefer not to say"
        options["All"] = "All of London"
        labels[name] = options
    return labels
