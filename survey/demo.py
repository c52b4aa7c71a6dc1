"""Demo set-up for `make run`: staff accounts and population figures, clearly marked demo.

The population figures approximate London's 2021 Census shape so coverage looks sensible
on a laptop. They are labelled demo everywhere they appear and are not for publication.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.geography import LONDON_AUTHORITIES
from survey.models import PopulationSet, StaffUser
from survey.questionnaire import Questionnaire
from survey.services import staff as staff_service
from survey.services.population import population_categories, store_figures

DEMO_LABEL = "Demo figures approximating London's 2021 Census (not official statistics)"
DEMO_STAFF = (
    ("admin", "admin@demo.invalid"),
    ("officer", "officer@demo.invalid"),
    ("analyst", "analyst@demo.invalid"),
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


def demo_population(questionnaire: Questionnaire) -> dict[str, dict[str, int]]:
    """Build demo figures for every variable the questionnaire's demographics use."""
    categories = population_categories(questionnaire)
    boroughs = {
        code: thousands * 1000
        for (code, _), thousands in zip(LONDON_AUTHORITIES, BOROUGH_THOUSANDS, strict=True)
    }
    total = sum(boroughs.values())
    values = {"borough": boroughs}
    for variable, shares in (
        ("age_band", AGE_SHARES),
        ("sex", SEX_SHARES),
        ("ethnicity", ETHNICITY_SHARES),
    ):
        if variable in categories:
            values[variable] = _spread(total, {c: shares[c] for c in categories[variable]})
    if "age_band*sex" in categories:
        values["age_band*sex"] = _spread(
            total,
            {
                f"{age}*{sex}": AGE_SHARES[age] * SEX_SHARES[sex]
                for age in categories["age_band"]
                for sex in categories["sex"]
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
