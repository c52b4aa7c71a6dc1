"""Question controls are reused between pages, but never hold anything a resident typed."""

from __future__ import annotations

from pathlib import Path

from survey import forms
from survey.questionnaire import parse_questionnaire

SOURCE = Path(__file__).resolve().parents[2] / "questionnaires" / "prevent-awareness.yaml"
QUESTIONNAIRE = parse_questionnaire(SOURCE.read_text(), filename=SOURCE.name)


def draw(app, question_id: str, values: list[str], error: str | None = None) -> str:
    question = QUESTIONNAIRE.question(question_id)
    return str(forms.draw_control(app.jinja_env, 1, question, values, "en", error))


def test_a_reused_control_shows_the_values_and_error_of_each_page(app):
    forms._drawn.clear()
    with app.test_request_context():
        yes = draw(app, "heard_of_prevent", ["yes"])
        no = draw(app, "heard_of_prevent", ["no"])
        again = draw(app, "heard_of_prevent", ["yes"])
        error = draw(app, "heard_of_prevent", [], "Select whether you had heard of Prevent")
    assert yes == again and yes != no
    assert 'value="yes" checked' in yes and 'value="no" checked' in no
    assert "Select whether you had heard of Prevent" in error and "checked" not in error


def test_typed_answers_and_unknown_values_are_never_kept(app):
    forms._drawn.clear()
    with app.test_request_context():
        draw(app, "information_seen_count", ["42"])
        draw(app, "anything_else", ["my neighbour at 10 Downing Street"])
        draw(app, "heard_of_prevent", ["<not an option>"])
    assert forms._drawn == {}


def test_texts_in_a_reused_control_stay_escaped(app):
    forms._drawn.clear()
    with app.test_request_context():
        html = draw(app, "heard_of_prevent", [], "<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
