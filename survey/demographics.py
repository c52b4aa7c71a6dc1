"""The demographic variables: one register that every report, page and extract reads.

Each entry says where the variable comes from (a questionnaire dimension, or the response
itself), how it is grouped for reports, which population figures and raking margin it
belongs to, whether it is shown on the coverage page, and how the microdata extract treats
it. Adding a breakdown is one entry here plus its test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The five high-level ethnic groups of the 2021 Census, which reports and weighting use.
ETHNIC_GROUPS = {
    "asian": "Asian or Asian British",
    "black": "Black, Black British, Caribbean or African",
    "mixed": "Mixed or multiple ethnic groups",
    "white": "White",
    "other": "Other ethnic group",
}
# Their codes in SPSS and Stata files: stable, and the tens digit of the detailed options'
# codes in the questionnaire (Asian or Asian British: Indian is 13). An answer in no group
# keeps its own value and code: only "Prefer not to say".
ETHNIC_GROUP_CODES = {
    "asian": 1,
    "black": 2,
    "mixed": 3,
    "white": 4,
    "other": 5,
    "prefer_not_to_say": 99,
}


@dataclass(frozen=True)
class Demographic:
    """One variable about a resident that reports break down by."""

    name: str  # the breakdown's name in reports, pages and extracts
    label: str  # how staff read it
    dimension: str | None  # the questionnaire dimension it comes from; None: the response
    grouped: bool = False  # report by the options' groups, not the options
    group_labels: dict[str, str] = field(default_factory=dict)
    # Codes of the groups, and of the answers in no group: stable, as options' codes are.
    group_codes: dict[str, int] = field(default_factory=dict)
    population: bool = False  # population figures are uploaded for its dimension
    coverage: bool = False  # shown on the coverage page
    quasi_identifier: bool = True  # could be known about a person: k-anonymity counts it
    # Microdata: higher is suppressed later (borough matters most to analysts).
    importance: int = 1
    breakdown: bool = True  # offered as an analysis breakdown
    ordered: bool = False  # its answers have an order (age bands): charts keep it

    @property
    def source(self) -> str:
        """The questionnaire dimension, or the response attribute, it is read from."""
        return self.dimension or self.name


DEMOGRAPHICS: tuple[Demographic, ...] = (
    Demographic("borough", "Borough", "borough", population=True, coverage=True, importance=10),
    Demographic(
        "age_band",
        "Age band",
        "age_band",
        population=True,
        coverage=True,
        importance=5,
        ordered=True,
    ),
    Demographic("sex", "Sex", "sex", population=True, coverage=True, importance=4),
    Demographic(
        "ethnic_group",
        "Ethnic group",
        "ethnicity",
        grouped=True,
        group_labels=ETHNIC_GROUPS,
        group_codes=ETHNIC_GROUP_CODES,
        population=True,
        coverage=True,
        importance=3,
    ),
    Demographic("religion", "Religion", "religion", importance=2),
    Demographic("disability", "Disability", "disability", importance=2),
    Demographic("language", "Language answered in", None, importance=1),
)
BY_NAME = {d.name: d for d in DEMOGRAPHICS}

# Raking margins: each a tuple of demographics crossed (age band by sex is one margin).
RAKING_MARGINS: tuple[tuple[str, ...], ...] = (("borough",), ("age_band", "sex"), ("ethnic_group",))

# Dimensions a questionnaire may tag, reported or not.
OTHER_DIMENSIONS = ("gender_identity", "sexual_orientation", "employment")
DIMENSIONS = frozenset(
    [d.dimension for d in DEMOGRAPHICS if d.dimension is not None] + list(OTHER_DIMENSIONS)
)


def demographic(name: str) -> Demographic:
    """The register's entry for a breakdown name, or a KeyError naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no demographic {name!r}; known: {', '.join(BY_NAME)}") from None


def breakdowns() -> dict[str, str]:
    """The analysis breakdowns, name to label, in register order."""
    return {d.name: d.label for d in DEMOGRAPHICS if d.breakdown}


# Population figures within each borough, optional in an upload: coverage compares a
# borough's (or a borough's link's) respondents with its own people, and "what to do
# next" ranks the borough's groups. Age band by sex together, as raking weights them.
BOROUGH_GROUPS: tuple[tuple[str, ...], ...] = (
    ("borough", "age_band", "sex"),
    ("borough", "ethnic_group"),
)


@dataclass(frozen=True)
class AreaCovariate:
    """A borough's share of people in some categories, from the population figures
    uploaded within boroughs: a candidate covariate for the modelled borough estimates."""

    name: str
    label: str  # how the methods note and the page name it
    dimension: str  # the population figures' dimension ("age_band", "sex", "ethnicity")
    answers: tuple[str, ...] = ()  # the options counted; or
    group: str | None = None  # every option of this group (ethnicity's 2021 Census groups)


# The fixed short list the modelled borough estimates choose from (at most two, by AIC).
AREA_COVARIATES: tuple[AreaCovariate, ...] = (
    AreaCovariate("young", "share aged 16 to 34", "age_band", answers=("16-24", "25-34")),
    AreaCovariate("older", "share aged 65 or over", "age_band", answers=("65-plus",)),
    AreaCovariate("female", "share female", "sex", answers=("female",)),
    AreaCovariate("white", "share White", "ethnicity", group="white"),
    AreaCovariate("asian", "share Asian or Asian British", "ethnicity", group="asian"),
    AreaCovariate("black", "share Black, Black British, Caribbean or African", "ethnicity",
                  group="black"),
)  # fmt: skip


def margin_name(names: tuple[str, ...]) -> str:
    """A raking margin's key in reports: "borough", "age_band_sex", "ethnic_group"."""
    return "_".join(names)


def population_variable(names: tuple[str, ...]) -> str:
    """A raking margin's variable in uploaded population figures: "age_band*sex"."""
    return "*".join(demographic(n).source for n in names)


def population_dimensions() -> tuple[str, ...]:
    """The dimensions population figures are uploaded for, in register order."""
    return tuple(d.source for d in DEMOGRAPHICS if d.population)


def crossed_population() -> dict[str, tuple[str, ...]]:
    """The crossed population variables: those raking needs ({"age_band*sex": (age_band,
    sex)}) and those within boroughs ("borough*age_band*sex", "borough*ethnicity")."""
    return {
        population_variable(names): tuple(demographic(n).source for n in names)
        for names in (*RAKING_MARGINS, *BOROUGH_GROUPS)
        if len(names) > 1
    }
