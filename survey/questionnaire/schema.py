"""Frozen dataclasses a questionnaire file becomes once the loader has validated it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

DEFAULT_LANGUAGE = "en"
# A translation's status. "source" is the language the questionnaire was written in;
# "reviewed" means a fluent speaker has checked it; "unreviewed" means nobody has yet.
TRANSLATION_STATUSES = ("source", "reviewed", "unreviewed")

QUESTION_TYPES = (
    "single_choice",
    "multiple_choice",
    "scale",
    "number",
    "short_text",
    "long_text",
    "information",
)
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice", "scale"})
TEXT_TYPES = frozenset({"short_text", "long_text"})


@dataclass(frozen=True)
class LocalText:
    """A text in one or more languages; English is always present."""

    translations: tuple[tuple[str, str], ...]

    def get(self, language: str = DEFAULT_LANGUAGE) -> str:
        """Return the text in language, or in English where it has no translation."""
        return self.in_language(language)[0]

    def in_language(self, language: str) -> tuple[str, str]:
        """Return (text, language actually used), falling back to English."""
        found = dict(self.translations)
        if language in found:
            return found[language], language
        return found[DEFAULT_LANGUAGE], DEFAULT_LANGUAGE

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(lang for lang, _ in self.translations)


@dataclass(frozen=True)
class Language:
    """A language the questionnaire is written in, and how far its translation can be trusted."""

    code: str
    status: str = "source"
    note: str | None = None  # who translated or reviewed it, and when


@dataclass(frozen=True)
class Option:
    value: str
    label: LocalText
    hint: LocalText | None = None
    group: str | None = None
    # The option's number in SPSS and Stata files and in column names: stable across
    # versions once declared in the file (the loader numbers undeclared options in order).
    code: int | None = None


@dataclass(frozen=True)
class OptionGroup:
    """A heading over some of a long single choice's options. A question with groups is
    asked in two steps, as GOV.UK asks for ethnic group: first the group, then `question`
    with that group's options. The stored answer is the option, as if asked in one step."""

    value: str
    label: LocalText
    question: LocalText


@dataclass(frozen=True)
class Condition:
    """True when the earlier question was answered with one of these values."""

    question: str
    values: frozenset[str]


@dataclass(frozen=True)
class ShowIf:
    mode: str  # "any" or "all"
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: LocalText
    hint: LocalText | None = None
    required: bool = True
    options: tuple[Option, ...] = ()
    exclusive_option: Option | None = None  # multiple choice: "none of these"
    dont_know_option: Option | None = None  # scale: outside the ordered points
    control: str = "radios"  # single choice: radios or dropdown
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    show_if: ShowIf | None = None
    dimension: str | None = None
    error: LocalText | None = None  # what to say when a required answer is missing
    groups: tuple[OptionGroup, ...] = ()  # single choice asked group first, then option
    codes_declared: bool = False  # the file gave every option its code

    @property
    def answerable(self) -> bool:
        return self.type != "information"

    @property
    def all_options(self) -> tuple[Option, ...]:
        """Every option a resident may choose, the special ones last."""
        extra = tuple(o for o in (self.exclusive_option, self.dont_know_option) if o)
        return self.options + extra

    @property
    def allowed_values(self) -> frozenset[str]:
        return frozenset(o.value for o in self.all_options)

    def option(self, value: str) -> Option | None:
        return next((o for o in self.all_options if o.value == value), None)

    def codes(self) -> dict[str, int]:
        """Each option's value and its code."""
        return {o.value: o.code for o in self.all_options if o.code is not None}

    def group(self, value: str | None) -> OptionGroup | None:
        return next((g for g in self.groups if g.value == value), None)

    def group_step(self) -> Question:
        """The first of two steps: each group as one choice, and the options in no group
        (such as "Prefer not to say"), which answer the question at once."""
        choices = tuple(Option(value=g.value, label=g.label) for g in self.groups)
        ungrouped = tuple(o for o in self.options if o.group is None)
        return replace(self, options=choices + ungrouped, groups=())

    def option_step(self, group: OptionGroup) -> Question:
        """The second step: the group's own question and options, each option's label
        without the group's name in front ("Asian or Asian British: Indian" is "Indian")."""
        options = tuple(
            replace(o, label=_without_prefix(o.label, group.label))
            for o in self.options
            if o.group == group.value
        )
        return replace(self, text=group.question, hint=None, error=None, options=options, groups=())


def _without_prefix(label: LocalText, prefix: LocalText) -> LocalText:
    prefixes = dict(prefix.translations)
    shortened = []
    for language, text in label.translations:
        start = f"{prefixes[language]}:" if language in prefixes else None
        if start and text.startswith(start) and text[len(start) :].strip():
            rest = text[len(start) :].strip()
            text = rest[:1].upper() + rest[1:]
        shortened.append((language, text))
    return LocalText(tuple(shortened))


@dataclass(frozen=True)
class Indicator:
    """A named outcome: the share answering positively among those not excluded."""

    id: str
    label: LocalText
    question: str
    positive: frozenset[str]
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    title: LocalText
    languages: tuple[Language, ...]
    introduction: LocalText
    questions: tuple[Question, ...]
    indicators: tuple[Indicator, ...] = ()
    minutes: int = 5
    # Show GOV.UK's "Exit this page" on every resident page: for topics a resident may not
    # want someone nearby to see them answering.
    exit_this_page: bool = False
    _by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for q in self.questions})

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(language.code for language in self.languages)

    def language(self, code: str) -> Language | None:
        return next((lang for lang in self.languages if lang.code == code), None)

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def dimension_question(self, dimension: str) -> Question | None:
        return next((q for q in self.questions if q.dimension == dimension), None)

    def indicator(self, indicator_id: str) -> Indicator | None:
        return next((i for i in self.indicators if i.id == indicator_id), None)
