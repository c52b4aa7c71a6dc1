"""Read a questionnaire file, check every rule, and build frozen dataclasses.

Errors name the file, where in it the problem is, and what is wrong, and every problem
in a file is reported at once so an author can fix them in one pass.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from survey.demographics import DEMOGRAPHICS, DIMENSIONS
from survey.digits import DATABASE_INT_MAX
from survey.geography import BOROUGH_CODES, OUTSIDE_LONDON, PREFER_NOT_TO_SAY
from survey.questionnaire.schema import (
    CHOICE_TYPES,
    DEFAULT_LANGUAGE,
    QUESTION_TYPES,
    TEXT_TYPES,
    TRANSLATION_STATUSES,
    Condition,
    Indicator,
    Language,
    LocalText,
    Option,
    OptionGroup,
    Question,
    Questionnaire,
    ShowIf,
)

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
VALUE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
MAX_TEXT_LENGTH = {"short_text": 500, "long_text": 5000}  # characters
DEFAULT_TEXT_LENGTH = {"short_text": 200, "long_text": 1000}  # characters
MAX_NUMBER_DIGITS = 9
# libyaml's safe loader where PyYAML was built with it (its wheels are): the same documents,
# about ten times faster than the pure-Python one, which matters for `flask demo` and tests.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TOP_KEYS = {
    "id",
    "version",
    "title",
    "languages",
    "introduction",
    "minutes",
    "exit_this_page",
    "questions",
    "indicators",
}
QUESTION_KEYS = {
    "id",
    "type",
    "text",
    "hint",
    "required",
    "options",
    "none_option",
    "dont_know_option",
    "control",
    "min",
    "max",
    "max_length",
    "show_if",
    "dimension",
    "error",
    "groups",
}
GROUP_KEYS = {"value", "label", "question"}
OPTION_KEYS = {"value", "label", "hint", "group", "code"}
MAX_CODE = 9999  # option codes are 1-9999: small integers for SPSS and Stata value labels
LANGUAGE_KEYS = {"code", "status", "note"}
INDICATOR_KEYS = {"id", "label", "question", "positive", "exclude"}


class QuestionnaireError(ValueError):
    """A questionnaire file breaks the format; `problems` lists every one found."""

    def __init__(self, filename: str, problems: list[str]) -> None:
        self.filename = filename
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{filename}: {len(problems)} problem(s)\n{lines}")


class _Checker:
    """Collects problems while building the dataclasses."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def keys(self, where: str, data: dict, allowed: set[str]) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.fail(where, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")

    def text(self, where: str, value: Any, *, required: bool = True) -> LocalText | None:
        if value is None:
            if required:
                self.fail(where, "text is missing")
            return None
        if isinstance(value, str):
            value = {DEFAULT_LANGUAGE: value}
        if not isinstance(value, dict):
            self.fail(where, "text must be a mapping of language code to text")
            return None
        pairs = []
        for lang, text in value.items():
            if lang not in self.languages:
                self.fail(where, f"language {lang!r} is not declared in 'languages'")
            elif not isinstance(text, str) or not text.strip():
                self.fail(where, f"text in {lang!r} must be non-empty text")
            else:
                pairs.append((lang, text.strip()))
        if DEFAULT_LANGUAGE not in value:
            self.fail(where, "English text ('en') is required")
            return None
        return LocalText(tuple(pairs))

    def option(self, where: str, data: Any) -> Option | None:
        if not isinstance(data, dict):
            self.fail(where, "an option must be a mapping with 'value' and 'label'")
            return None
        self.keys(where, data, OPTION_KEYS)
        value = data.get("value")
        if not isinstance(value, str) or not VALUE_PATTERN.match(value):
            self.fail(
                where,
                f"option value {value!r} must be text of letters, digits, '_' or '-' "
                "(quote yes and no, which YAML reads as true and false)",
            )
            return None
        label = self.text(f"{where} ({value}) label", data.get("label"))
        hint = self.text(f"{where} ({value}) hint", data.get("hint"), required=False)
        group = data.get("group")
        if group is not None and not (isinstance(group, str) and VALUE_PATTERN.match(group)):
            self.fail(where, f"option group {group!r} must be a short code")
            group = None
        code = data.get("code")
        if code is not None and (
            not isinstance(code, int) or isinstance(code, bool) or not 1 <= code <= MAX_CODE
        ):
            self.fail(where, f"option code {code!r} must be a whole number from 1 to {MAX_CODE}")
            code = None
        if label is None:
            return None
        return Option(value=value, label=label, hint=hint, group=group, code=code)


def parse_questionnaire(source: str, *, filename: str = "<questionnaire>") -> Questionnaire:
    """Validate questionnaire YAML text and return the frozen questionnaire."""
    try:
        data = yaml.load(source, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        raise QuestionnaireError(filename, [f"not valid YAML: {error}"]) from None
    except ValueError:  # Python's cap on the digits of one number
        raise QuestionnaireError(filename, ["a number in it is far too long"]) from None
    if not isinstance(data, dict):
        raise QuestionnaireError(filename, ["the file must hold a mapping at the top level"])
    check = _Checker()
    questionnaire = _build(check, data)
    if check.problems or questionnaire is None:
        raise QuestionnaireError(filename, check.problems or ["the file is incomplete"])
    return questionnaire


def load_file(path: str | Path) -> Questionnaire:
    """Read and validate one questionnaire file."""
    path = Path(path)
    return parse_questionnaire(path.read_text(encoding="utf-8"), filename=path.name)


def _build(check: _Checker, data: dict) -> Questionnaire | None:
    check.keys("questionnaire", data, TOP_KEYS)
    qid = data.get("id")
    if not isinstance(qid, str) or not ID_PATTERN.match(qid):
        check.fail("id", f"{qid!r} must be lower-case letters, digits, '_' or '-'")
    version = data.get("version")
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 1 <= version <= DATABASE_INT_MAX
    ):
        check.fail(
            "version",
            f"{repr(version)[:20]} must be a whole number from 1 to {DATABASE_INT_MAX:,}",
        )
    languages = _languages(check, data.get("languages", [DEFAULT_LANGUAGE]))
    check.languages = tuple(language.code for language in languages)
    title = check.text("title", data.get("title"))
    introduction = check.text("introduction", data.get("introduction"))
    minutes = data.get("minutes", 5)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60:
        check.fail("minutes", f"{minutes!r} must be a whole number of minutes from 1 to 60")
        minutes = 5
    exit_this_page = data.get("exit_this_page", False)
    if not isinstance(exit_this_page, bool):
        check.fail("exit_this_page", f"{exit_this_page!r} must be true or false")

    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        check.fail("questions", "there must be a list of at least one question")
        raw_questions = []
    questions: list[Question] = []
    seen: dict[str, Question] = {}
    for index, raw in enumerate(raw_questions, start=1):
        question = _question(check, index, raw, seen)
        if question is not None:
            questions.append(question)
            seen[question.id] = question
    if raw_questions and not any(q.answerable for q in questions):
        check.fail("questions", "at least one question must ask for an answer")
    _check_dimensions(check, questions)
    indicators = _indicators(check, data.get("indicators", []), seen)

    if check.problems or title is None or introduction is None:
        return None
    return Questionnaire(
        id=qid,
        version=version,
        title=title,
        languages=languages,
        introduction=introduction,
        questions=tuple(questions),
        indicators=tuple(indicators),
        minutes=minutes,
        exit_this_page=exit_this_page is True,
    )


def _languages(check: _Checker, raw: Any) -> tuple[Language, ...]:
    """Read `languages`: codes, or mappings of code, status and note. English comes first."""
    english = Language(DEFAULT_LANGUAGE)
    if not isinstance(raw, list) or not raw:
        check.fail("languages", "must be a list of language codes including 'en'")
        return (english,)
    languages: list[Language] = []
    for index, item in enumerate(raw, start=1):
        where = f"languages item {index}"
        if isinstance(item, str):
            item = {"code": item}
        if not isinstance(item, dict):
            check.fail(where, "must be a language code or a mapping with 'code' and 'status'")
            continue
        check.keys(where, item, LANGUAGE_KEYS)
        code = item.get("code")
        if not isinstance(code, str) or not LANGUAGE_PATTERN.match(code):
            check.fail(where, f"code {code!r} must be a language code such as 'pl' or 'ur'")
            continue
        status = item.get("status", "source" if code == DEFAULT_LANGUAGE else None)
        if code == DEFAULT_LANGUAGE and status != "source":
            check.fail(where, "English is the source language: its status is 'source'")
            status = "source"
        elif code != DEFAULT_LANGUAGE and status not in TRANSLATION_STATUSES[1:]:
            check.fail(
                where,
                f"the {code!r} translation needs a status: 'reviewed' once a fluent speaker "
                "has checked it, 'unreviewed' until then",
            )
            continue
        note = item.get("note")
        if note is not None and not isinstance(note, str):
            check.fail(where, "note must be text")
            note = None
        if any(language.code == code for language in languages):
            check.fail(where, f"{code!r} is listed twice")
            continue
        languages.append(Language(code, status, note))
    if not any(language.code == DEFAULT_LANGUAGE for language in languages):
        check.fail("languages", "must include 'en', the language the questionnaire is written in")
        return (english, *languages)
    return tuple(sorted(languages, key=lambda language: language.code != DEFAULT_LANGUAGE))


def _question(
    check: _Checker, index: int, raw: Any, earlier: dict[str, Question]
) -> Question | None:
    where = f"question {index}"
    if not isinstance(raw, dict):
        check.fail(where, "must be a mapping")
        return None
    qid = raw.get("id")
    if not isinstance(qid, str) or not ID_PATTERN.match(qid):
        check.fail(where, f"id {qid!r} must be lower-case letters, digits, '_' or '-'")
        return None
    where = f"question {qid!r}"
    if qid in earlier:
        check.fail(where, "id is used by an earlier question")
        return None
    check.keys(where, raw, QUESTION_KEYS)
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        check.fail(where, f"type {qtype!r} is not one of: {', '.join(QUESTION_TYPES)}")
        return None
    text = check.text(f"{where} text", raw.get("text"))
    hint = check.text(f"{where} hint", raw.get("hint"), required=False)
    error = check.text(f"{where} error", raw.get("error"), required=False)
    required = raw.get("required", qtype not in TEXT_TYPES and qtype != "information")
    if not isinstance(required, bool):
        check.fail(where, f"required must be true or false, not {required!r}")
        required = True
    if qtype in TEXT_TYPES and required:
        check.fail(where, "text questions must be optional (required: false)")
    if qtype == "information":
        required = False

    fields: dict[str, Any] = {}
    if qtype in CHOICE_TYPES:
        fields.update(_choice_fields(check, where, qtype, raw))
    else:
        for key in ("options", "none_option", "dont_know_option", "control"):
            if key in raw:
                check.fail(where, f"{key!r} only applies to choice questions")
    if qtype == "number":
        fields.update(_number_fields(check, where, raw))
    elif any(k in raw for k in ("min", "max")):
        check.fail(where, "'min' and 'max' only apply to number questions")
    if qtype in TEXT_TYPES:
        max_length = raw.get("max_length", DEFAULT_TEXT_LENGTH[qtype])
        cap = MAX_TEXT_LENGTH[qtype]
        if (
            not isinstance(max_length, int)
            or isinstance(max_length, bool)
            or not (1 <= max_length <= cap)
        ):
            check.fail(where, f"max_length {max_length!r} must be from 1 to {cap}")
            max_length = DEFAULT_TEXT_LENGTH[qtype]
        fields["max_length"] = max_length
    elif "max_length" in raw:
        check.fail(where, "'max_length' only applies to text questions")

    show_if = _show_if(check, where, raw.get("show_if"), earlier)
    dimension = raw.get("dimension")
    if dimension is not None:
        if dimension not in DIMENSIONS:
            check.fail(
                where, f"dimension {dimension!r} is not one of: {', '.join(sorted(DIMENSIONS))}"
            )
            dimension = None
        elif qtype != "single_choice":
            check.fail(where, "a demographic dimension must be a single choice question")
    if text is None:
        return None
    return Question(
        id=qid,
        type=qtype,
        text=text,
        hint=hint,
        required=required,
        show_if=show_if,
        dimension=dimension,
        error=error,
        **fields,
    )


def _choice_fields(check: _Checker, where: str, qtype: str, raw: dict) -> dict[str, Any]:
    raw_options = raw.get("options")
    options: list[Option] = []
    if not isinstance(raw_options, list) or len(raw_options) < 2:
        check.fail(where, "a choice question needs a list of at least 2 options")
        raw_options = []
    for number, raw_option in enumerate(raw_options, start=1):
        option = check.option(f"{where} option {number}", raw_option)
        if option is not None:
            options.append(option)
    fields: dict[str, Any] = {"options": tuple(options)}
    if "none_option" in raw:
        if qtype != "multiple_choice":
            check.fail(where, "'none_option' only applies to multiple choice questions")
        fields["exclusive_option"] = check.option(f"{where} none_option", raw["none_option"])
    if "dont_know_option" in raw:
        if qtype != "scale":
            check.fail(where, "'dont_know_option' only applies to scale questions")
        fields["dont_know_option"] = check.option(
            f"{where} dont_know_option", raw["dont_know_option"]
        )
    control = raw.get("control", "radios")
    if control not in ("radios", "dropdown") or (
        control == "dropdown" and qtype != "single_choice"
    ):
        check.fail(where, f"control {control!r} must be 'radios', or 'dropdown' for single choice")
    fields["control"] = control
    values = [o.value for o in options] + [
        o.value for o in (fields.get("exclusive_option"), fields.get("dont_know_option")) if o
    ]
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        check.fail(where, f"option values used twice: {', '.join(duplicates)}")
    _codes(check, where, fields)
    if "groups" in raw:
        fields["groups"] = _groups(check, where, qtype, control, raw["groups"], options)
    return fields


def _codes(check: _Checker, where: str, fields: dict[str, Any]) -> None:
    """Give every option its code: the file's, or its place in the list when the file
    gives none. A file gives every option a code or none, each code once."""
    places = ("options", "exclusive_option", "dont_know_option")
    found = [
        (place, number, option)
        for place in places
        for number, option in enumerate(
            fields.get(place) if place == "options" else [fields.get(place)]
        )
        if option is not None
    ]
    declared = [o.code for _p, _n, o in found if o.code is not None]
    if declared and len(declared) < len(found):
        check.fail(where, "give every option a code, or none (they are then numbered in order)")
        return
    for code in sorted({c for c in declared if declared.count(c) > 1}):
        check.fail(where, f"option code {code} is used twice")
    fields["codes_declared"] = bool(declared)
    if declared:
        return
    numbered: dict[str, Any] = {"options": list(fields["options"])}
    for code, (place, number, option) in enumerate(found, start=1):
        if place == "options":
            numbered["options"][number] = replace(option, code=code)
        else:
            numbered[place] = replace(option, code=code)
    numbered["options"] = tuple(numbered["options"])
    fields.update(numbered)


def _groups(
    check: _Checker, where: str, qtype: str, control: str, raw: Any, options: list[Option]
) -> tuple[OptionGroup, ...]:
    """Read `groups`: the question is asked group first, then the group's options."""
    if qtype != "single_choice" or control != "radios":
        check.fail(where, "'groups' only applies to single choice questions shown as radios")
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        check.fail(where, "'groups' needs a list of at least 2 groups")
        return ()
    groups: list[OptionGroup] = []
    for number, item in enumerate(raw, start=1):
        at = f"{where} group {number}"
        if not isinstance(item, dict):
            check.fail(at, "a group is a mapping with 'value', 'label' and 'question'")
            continue
        check.keys(at, item, GROUP_KEYS)
        value = item.get("value")
        if not isinstance(value, str) or not VALUE_PATTERN.match(value):
            check.fail(at, f"group value {value!r} must be a short code")
            continue
        label = check.text(f"{at} ({value}) label", item.get("label"))
        question = check.text(f"{at} ({value}) question", item.get("question"))
        if label is not None and question is not None:
            groups.append(OptionGroup(value, label, question))
    values = [g.value for g in groups]
    for value in sorted({v for v in values if values.count(v) > 1}):
        check.fail(where, f"group {value!r} is listed twice")
    for value in sorted(set(values) & {o.value for o in options}):
        check.fail(where, f"{value!r} is both a group and an option: the first step needs both")
    used = {o.group for o in options if o.group is not None}
    for option in options:
        if option.group is not None and option.group not in values:
            check.fail(where, f"option {option.value!r} is in group {option.group!r}, not listed")
    for value in values:
        if value not in used:
            check.fail(where, f"group {value!r} has no options")
    return tuple(groups)


def _number_fields(check: _Checker, where: str, raw: dict) -> dict[str, Any]:
    low, high = raw.get("min"), raw.get("max")
    limit = 10**MAX_NUMBER_DIGITS - 1
    for name, value in (("min", low), ("max", high)):
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > limit:
            check.fail(where, f"{name} {value!r} must be a whole number within ±{limit}")
            return {}
    if low > high:
        check.fail(where, f"min {low} is greater than max {high}")
    return {"minimum": low, "maximum": high}


def _show_if(check: _Checker, where: str, raw: Any, earlier: dict[str, Question]) -> ShowIf | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("any", "all"):
        check.fail(where, "show_if must be {any: [...]} or {all: [...]}")
        return None
    mode, raw_conditions = next(iter(raw.items()))
    if not isinstance(raw_conditions, list) or not raw_conditions:
        check.fail(where, f"show_if {mode} needs a list of conditions")
        return None
    conditions = []
    for raw_condition in raw_conditions:
        if not isinstance(raw_condition, dict) or set(raw_condition) != {"question", "in"}:
            check.fail(where, "each show_if condition is {question: ID, in: [values]}")
            continue
        target = earlier.get(raw_condition["question"])
        values = raw_condition["in"]
        if target is None:
            check.fail(
                where,
                f"show_if refers to {raw_condition['question']!r}, "
                "which is not an earlier question",
            )
            continue
        if target.type not in CHOICE_TYPES:
            check.fail(
                where,
                f"show_if can only depend on choice questions, not {target.id!r} ({target.type})",
            )
            continue
        if not isinstance(values, list) or not values:
            check.fail(where, "show_if 'in' must be a non-empty list of values")
            continue
        unknown = [v for v in values if v not in target.allowed_values]
        if unknown:
            check.fail(where, f"show_if values {unknown!r} are not options of {target.id!r}")
            continue
        conditions.append(Condition(question=target.id, values=frozenset(values)))
    return ShowIf(mode=mode, conditions=tuple(conditions))


def _check_dimensions(check: _Checker, questions: list[Question]) -> None:
    seen: set[str] = set()
    for question in questions:
        if question.dimension is None:
            continue
        if question.dimension in seen:
            check.fail(
                f"question {question.id!r}",
                f"dimension {question.dimension!r} is tagged on two questions",
            )
        seen.add(question.dimension)
        _check_group_codes(check, question)
        if question.dimension == "borough":
            values = {o.value for o in question.options}
            extra = values - BOROUGH_CODES - {OUTSIDE_LONDON, PREFER_NOT_TO_SAY}
            missing = BOROUGH_CODES - values
            if extra:
                check.fail(
                    f"question {question.id!r}",
                    f"borough options must be ONS codes E09000001-E09000033, "
                    f"{OUTSIDE_LONDON} or {PREFER_NOT_TO_SAY}; not {sorted(extra)}",
                )
            if missing:
                check.fail(
                    f"question {question.id!r}", f"borough options are missing {sorted(missing)}"
                )


def _check_group_codes(check: _Checker, question: Question) -> None:
    """A variable reported by groups (ethnic group) takes its codes from the register:
    an option in no group must be one the register codes, with the register's code."""
    for variable in DEMOGRAPHICS:
        if variable.dimension != question.dimension or not variable.grouped:
            continue
        alone = [v for v in variable.group_codes if v not in variable.group_labels]
        for option in question.all_options:
            if option.group is not None:
                continue
            code = variable.group_codes.get(option.value)
            if code is None:
                check.fail(
                    f"question {question.id!r}",
                    f"option {option.value!r} needs a group; only {', '.join(alone)} may "
                    "stand alone",
                )
            elif question.codes_declared and option.code != code:
                check.fail(
                    f"question {question.id!r}",
                    f"option {option.value!r} must have code {code}, as {variable.label.lower()}"
                    " codes it",
                )


def _indicators(check: _Checker, raw: Any, questions: dict[str, Question]) -> list[Indicator]:
    if not isinstance(raw, list):
        check.fail("indicators", "must be a list")
        return []
    indicators: list[Indicator] = []
    for index, item in enumerate(raw, start=1):
        where = f"indicator {index}"
        if not isinstance(item, dict):
            check.fail(where, "must be a mapping")
            continue
        iid = item.get("id")
        if not isinstance(iid, str) or not ID_PATTERN.match(iid):
            check.fail(where, f"id {iid!r} must be lower-case letters, digits, '_' or '-'")
            continue
        where = f"indicator {iid!r}"
        check.keys(where, item, INDICATOR_KEYS)
        if any(i.id == iid for i in indicators):
            check.fail(where, "id is used twice")
        label = check.text(f"{where} label", item.get("label"))
        question = questions.get(item.get("question"))
        if question is None or question.type not in CHOICE_TYPES:
            check.fail(
                where,
                f"question {item.get('question')!r} must be an existing choice or scale question",
            )
            continue
        positive = item.get("positive")
        exclude = item.get("exclude", [])
        sets = {}
        for name, values in (("positive", positive), ("exclude", exclude)):
            if not isinstance(values, list) or (name == "positive" and not values):
                check.fail(where, f"{name} must be a list of option values")
                values = []
            unknown = [v for v in values if v not in question.allowed_values]
            if unknown:
                check.fail(where, f"{name} values {unknown!r} are not options of {question.id!r}")
            sets[name] = frozenset(v for v in values if isinstance(v, str))
        if sets["positive"] & sets["exclude"]:
            check.fail(where, "a value cannot be both positive and excluded")
        if label is not None:
            indicators.append(
                Indicator(
                    id=iid,
                    label=label,
                    question=question.id,
                    positive=sets["positive"],
                    exclude=sets["exclude"],
                )
            )
    return indicators
