"""The register of demographic variables is what every page and report reads."""

from __future__ import annotations

from survey.demographics import DEMOGRAPHICS, DIMENSIONS, RAKING_MARGINS, breakdowns
from survey.questionnaire import load_file
from survey.services.population import CROSSED, VARIABLES
from tests.conftest import PROJECT
from tests.resident import page
from tests.staff import signed_in_client

QUESTIONNAIRE = load_file(PROJECT / "questionnaires" / "prevent-awareness.yaml")


def test_every_dimension_in_the_register_is_asked_by_the_questionnaire():
    for variable in DEMOGRAPHICS:
        if variable.dimension is not None:
            assert QUESTIONNAIRE.dimension_question(variable.dimension) is not None, variable
    tagged = {q.dimension for q in QUESTIONNAIRE.questions if q.dimension}
    assert tagged <= DIMENSIONS


def test_population_figures_and_raking_follow_the_register():
    assert VARIABLES == ("borough", "age_band", "sex", "ethnicity")
    assert CROSSED == {
        "age_band*sex": ("age_band", "sex"),  # raking
        "borough*age_band*sex": ("borough", "age_band", "sex"),  # within boroughs
        "borough*ethnicity": ("borough", "ethnicity"),
    }
    assert {name for margin in RAKING_MARGINS for name in margin} <= {
        d.name for d in DEMOGRAPHICS if d.population
    }


def test_the_analysis_page_offers_every_breakdown_in_the_register(app, demo):
    analyst = signed_in_client(app, "analyst")
    soup = page(analyst.get("/staff/analysis"))
    offered = {o["value"]: o.get_text(strip=True) for o in soup.select("#by option")}
    assert offered == breakdowns()


def test_the_coverage_page_shows_every_coverage_variable_in_the_register(app, demo):
    officer = signed_in_client(app, "officer")
    captions = [
        c.get_text(" ", strip=True) for c in page(officer.get("/staff/coverage")).select("caption")
    ]
    wanted = [d.label for d in DEMOGRAPHICS if d.coverage]
    assert [c.split(" (")[0] for c in captions] == wanted
