"""Questionnaires as data: the schema, the loader that validates files, and the flow."""

from survey.questionnaire.loader import QuestionnaireError, load_file, parse_questionnaire
from survey.questionnaire.schema import (
    Indicator,
    LocalText,
    Option,
    Question,
    Questionnaire,
    ShowIf,
)

__all__ = [
    "Indicator",
    "LocalText",
    "Option",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "ShowIf",
    "load_file",
    "parse_questionnaire",
]
