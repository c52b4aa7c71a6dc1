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


def test_every_control_escapes_authored_and_typed_text_in_every_language(app):
    """Question texts now reach the GOV.UK macros as `html` (to mark English fallbacks), so
    each control is drawn with a script in every authored text, an error and a value."""
    script = "<script>alert(1)</script>"
    source = f"""
id: hostile
version: 1
languages: [en, {{code: ur, status: unreviewed}}]
title: {{en: t}}
introduction: {{en: i}}
questions:
  - {{id: pick, type: single_choice, text: {{en: "{script}"}}, hint: {{en: "{script}"}},
     options: [{{value: a, label: {{en: "{script}", ur: "{script}"}},
                 hint: {{en: "{script}"}}}}, {{value: b, label: {{en: b}}}}]}}
  - {{id: drop, type: single_choice, control: dropdown, text: {{en: "{script}"}},
     options: [{{value: a, label: {{en: "{script}"}}}}, {{value: b, label: {{en: b}}}}]}}
  - {{id: many, type: multiple_choice, text: {{en: "{script}"}}, hint: {{en: "{script}"}},
     options: [{{value: a, label: {{en: "{script}"}}}}, {{value: b, label: {{en: b}}}}],
     none_option: {{value: c, label: {{en: "{script}"}}}}}}
  - {{id: count, type: number, min: 0, max: 9, text: {{en: "{script}"}},
     hint: {{en: "{script}"}}}}
  - {{id: short, type: short_text, required: false, text: {{en: "{script}"}},
     hint: {{en: "{script}"}}}}
  - {{id: long, type: long_text, required: false, text: {{en: "{script}"}},
     hint: {{en: "{script}"}}}}
  - {{id: note, type: information, text: {{en: "{script}"}}, hint: {{en: "{script}"}}}}
"""
    questionnaire = parse_questionnaire(source)
    forms._drawn.clear()
    for language in ("en", "ur"):
        with app.test_request_context():
            from flask import g

            g.language = language
            for question in questionnaire.questions:
                drawn = str(
                    forms.draw_control(app.jinja_env, None, question, [script], language, script)
                )
                assert "<script" not in drawn, (language, question.id)
                assert "&lt;script&gt;" in drawn, (language, question.id)
