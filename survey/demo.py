"""Demo set-up for `make run`: staff accounts and population figures, clearly marked demo.

The population figures approximate London's 2021 Census shape so coverage looks sensible
on a laptop. They are labelled demo everywhere they appear and are not for publication.
"""

from __future__ import annotations

import itertools
import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.demographics import DIMENSIONS, crossed_population, population_dimensions
from survey.geography import LONDON_AUTHORITIES
from survey.models import PopulationSet, StaffUser
from survey.questionnaire import Questionnaire
from survey.services import staff as staff_service
from survey.services.population import population_categories, store_figures

DEMO_LABEL = "Demo figures approximating London's 2021 Census (not official statistics)"
DEMO_STAFF = (
    ("admin", "admin@demo.example.org"),
    ("officer", "officer@demo.example.org"),
    ("analyst", "analyst@demo.example.org"),
)

# Residents aged 16 and over, thousands, rounded (approximate; demo only).
BOROUGH_THOUSANDS = (
    7,
    165,
    315,
    195,
    270,
    265,
    185,
    310,
    290,
    260,
    230,
    215,
    155,
    215,
    210,
    210,
    245,
    230,
    190,
    120,
    135,
    265,
    240,
    175,
    285,
    245,
    160,
    255,
    170,
    260,
    220,
    280,
    175,
)
AGE_SHARES = {
    "16-24": 0.14,
    "25-34": 0.23,
    "35-44": 0.19,
    "45-54": 0.16,
    "55-64": 0.13,
    "65-plus": 0.15,
}
SEX_SHARES = {"female": 0.51, "male": 0.49}
ETHNICITY_SHARES = {
    "asian_bangladeshi": 0.037,
    "asian_chinese": 0.017,
    "asian_indian": 0.075,
    "asian_pakistani": 0.033,
    "asian_other": 0.045,
    "black_african": 0.079,
    "black_caribbean": 0.039,
    "black_other": 0.017,
    "mixed_white_asian": 0.012,
    "mixed_white_black_african": 0.008,
    "mixed_white_black_caribbean": 0.015,
    "mixed_other": 0.022,
    "white_british": 0.368,
    "white_irish": 0.018,
    "white_gypsy_traveller": 0.001,
    "white_roma": 0.004,
    "white_other": 0.154,
    "other_arab": 0.016,
    "other_any": 0.049,
}
SHARES = {"age_band": AGE_SHARES, "sex": SEX_SHARES, "ethnicity": ETHNICITY_SHARES}


def demo_population(questionnaire: Questionnaire) -> dict[str, dict[str, int]]:
    """Build demo figures for every variable the questionnaire's demographics use."""
    categories = population_categories(questionnaire)
    boroughs = {
        code: thousands * 1000
        for (code, _), thousands in zip(LONDON_AUTHORITIES, BOROUGH_THOUSANDS, strict=True)
    }
    total = sum(boroughs.values())
    values = {"borough": boroughs}
    for variable in population_dimensions():
        if variable in categories and variable in SHARES:
            shares = SHARES[variable]
            values[variable] = _spread(total, {c: shares[c] for c in categories[variable]})
    # Crossed figures: London's shares multiplied out, and within each borough its
    # people in London's proportions (the demo knows no borough's own mix).
    shares = {**SHARES, "borough": {code: people / total for code, people in boroughs.items()}}
    for crossed, parts in crossed_population().items():
        if crossed in categories:
            values[crossed] = _spread(
                total,
                {
                    "*".join(combination): math.prod(
                        shares[part][value] for part, value in zip(parts, combination, strict=True)
                    )
                    for combination in itertools.product(*(categories[p] for p in parts))
                },
            )
    return values


def _spread(total: int, shares: dict[str, float]) -> dict[str, int]:
    scale = sum(shares.values())
    return {key: round(total * share / scale) for key, share in shares.items()}


def ensure_demo_population(session: Session, questionnaire: Questionnaire) -> bool:
    """Store demo figures unless some figures exist; return whether it stored them."""
    if session.scalar(select(PopulationSet.id).limit(1)) is not None:
        return False
    store_figures(
        session, demo_population(questionnaire), label=DEMO_LABEL, uploaded_by=None, is_demo=True
    )
    return True


def reset_demo_staff(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo admin, officer and analyst, each with a fresh generated password."""
    credentials = []
    for role, email in DEMO_STAFF:
        password = staff_service.generate_password()
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            staff_service.create_user(session, email, role, password)
        else:
            staff_service.set_password(user, password)
            user.active = True
        credentials.append((role, email, password))
    return credentials


SYNTHETIC_CODE = "synthetic-demo"
SYNTHETIC_LABEL = "Synthetic demo responses (made up, not real residents)"


INSERT_BATCH = 10_000  # responses written at a time, so memory stays small
# Demo responses are spread over the last two years and a quarter (nine quarters or more),
# so the trends page has a line to draw, and lean more positive each quarter.
DEMO_DAYS = 2 * 365 + 92
RISE = 0.35


def load_synthetic_responses(
    session: Session,
    questionnaire: Questionnaire,
    version_id: int,
    count: int,
    *,
    seed: int = 2026,
    progress=None,
    days: int | None = None,
) -> int:
    """Add made-up responses through a link marked synthetic, once; return how many.

    Answers follow the questionnaire's skip logic and vary with borough and age, so the
    analyst pages have something to show. They are sent over the `days` before today
    (`DEMO_DAYS` unless given), leaning more positive the more recent. Every report that
    includes them says so.
    """
    import datetime as dt
    import random

    from sqlalchemy import insert

    from survey import clock
    from survey.models import Answer, Link, Response, random_response_id
    from survey.questionnaire.flow import is_visible

    if count <= 0 or session.scalar(select(Link.id).where(Link.code == SYNTHETIC_CODE)):
        return 0
    link = Link(
        code=SYNTHETIC_CODE,
        label=SYNTHETIC_LABEL,
        questionnaire_id=questionnaire.id,
        channel="other",
        closed=True,
        completed_count=0,
        one_per_browser=False,
        synthetic=True,
        created_on=clock.today(),
    )
    session.add(link)
    session.flush()
    rng = random.Random(seed)
    boroughs = [code for code, _ in LONDON_AUTHORITIES]
    borough_cumulative = list(itertools.accumulate(BOROUGH_THOUSANDS))
    borough_indexes = range(len(boroughs))
    makers = [
        (question, question.show_if is None, _answer_maker(question))
        for question in questionnaire.questions
        if question.answerable
    ]
    today = clock.today()
    span = days or DEMO_DAYS
    responses, answers = [], []
    for index in range(count):
        chosen: dict[str, object] = {}
        borough_index = rng.choices(borough_indexes, cum_weights=borough_cumulative)[0]
        age = rng.randrange(span)
        # Boroughs differ, so estimates differ; awareness and confidence rise over the
        # two years, faster in some boroughs, so the trends page has change to show.
        lean = (borough_index % 7) / 20 + RISE * (1 - age / span) * (1 + borough_index % 3)
        for question, always, make in makers:
            if always or is_visible(question, chosen):
                chosen[question.id] = make(rng, boroughs[borough_index], lean)
        response_id = random_response_id()
        responses.append(
            {
                "id": response_id,
                "questionnaire_version_id": version_id,
                "link_id": link.id,
                "language": "en",
                "submitted_on": today - dt.timedelta(days=age),
                "record_key": rng.randrange(256),
            }
        )
        for question_id, value in chosen.items():
            values = value if isinstance(value, list) else [value]
            answers.extend(
                {"response_id": response_id, "question_id": question_id, "value": v}
                for v in values
                if v is not None
            )
        if len(responses) == INSERT_BATCH or index + 1 == count:
            # Core inserts (executemany), not the ORM's bulk path, which costs more than
            # making up the answers.
            session.execute(insert(Response.__table__), responses)
            session.execute(insert(Answer.__table__), answers)
            responses, answers = [], []
        if progress is not None and (index + 1) % 500 == 0:
            progress(index + 1)
    link.completed_count = count
    return count


def _answer_maker(question):
    """A function `(rng, borough, lean)` giving one made-up answer to the question.

    Everything that depends only on the question is worked out here, once per load, not
    once per response; the random draws are the same, in the same order, as drawing it all
    afresh each time."""
    if question.dimension == "borough":
        return lambda rng, borough, lean: borough if rng.random() > 0.03 else "prefer_not_to_say"
    if question.type == "number":
        low, high = question.minimum, min(question.maximum, 12) + 1
        return lambda rng, borough, lean: (
            str(rng.randrange(low, high)) if rng.random() < 0.7 else None
        )
    if question.type in ("short_text", "long_text"):
        return lambda rng, borough, lean: None  # made-up free text would look like a real voice
    options = [o.value for o in question.options]
    if question.type == "multiple_choice":
        exclusive = question.exclusive_option

        def several(rng, borough, lean):
            picked = [v for v in options if rng.random() < 0.25 + lean / 2]
            if not picked and exclusive is not None:
                return [exclusive.value]
            return picked or [options[0]]

        return several
    special = question.dont_know_option
    if question.dimension in DIMENSIONS:
        stated = [v for v in options if v != "prefer_not_to_say"]
        can_decline = len(stated) < len(options)
        shares = None
        if question.dimension == "ethnicity":
            shares = list(itertools.accumulate(ETHNICITY_SHARES.get(v, 0.01) for v in stated))

        def characteristic(rng, borough, lean):
            if special is not None and rng.random() < 0.12:
                return special.value
            if rng.random() < 0.04 and can_decline:
                return "prefer_not_to_say"
            if shares is not None:
                return rng.choices(stated, cum_weights=shares)[0]
            return rng.choice(stated)

        return characteristic

    def opinion(rng, borough, lean):
        if special is not None and rng.random() < 0.12:
            return special.value
        # Earlier options ("yes", "very confident") grow likelier where `lean` is high.
        weights = [1.0 + lean * (len(options) - i) for i in range(len(options))]
        return rng.choices(options, weights=weights)[0]

    return opinion
