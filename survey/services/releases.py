"""Releases: results published for residents ("What London told us").

An analyst or admin prepares a release (a finished calendar quarter or year, the
indicators and breakdowns, a commentary); its figures are worked out at once through the
public gate and kept as a snapshot. Another person, an admin, approves it with a date and
time to publish; approval works the figures out again and refuses if anything differs,
so what is approved is exactly what the data and today's rules give. From then on the
snapshot never changes: a correction is a new release that says what changed and why.

A release cannot be approved while it has problems: synthetic demo responses or demo
population figures in it, a period not yet over, a London figure the disclosure rules
hide, figures made under a lower threshold than today's. Every step is in the audit log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey import __version__, clock
from survey.demographics import demographic
from survey.geography import BOROUGH_NAMES, PREFER_NOT_TO_SAY
from survey.models import Release, StaffUser
from survey.publication import Gate
from survey.questionnaire import Questionnaire
from survey.services import reporting
from survey.services.audit import record_event
from survey.services.periods import PeriodError, parse_period
from survey.services.population import Figures

KINDS = {"quarter": "Calendar quarter", "year": "Calendar year"}
# Breakdowns a release may publish: the register's, each its own table.
BREAKDOWNS = reporting.BREAKDOWNS
DEFAULT_BREAKDOWNS = ("borough", "age_band", "sex", "ethnic_group")
QUARTERS_OFFERED = 8
YEARS_OFFERED = 3
MAX_COMMENTARY = 2000  # characters: a short plain-words commentary
CONFIDENCE_LEVEL = 0.95
# Why a figure is not shown, by the summary's flags; the public pages say each in words.
HIDDEN_BECAUSE = {
    "suppressed_small_count": "small",
    "suppressed_complementary": "protects",
    "suppressed_filter_complement": "outside",
    "estimate_withheld_small_rest": "rest",
}

STATUS_WORDS = {
    "problems": "Cannot be approved",
    "awaiting": "Awaiting approval",
    "scheduled": "Approved, to be published",
    "published": "Published",
}


class ReleaseError(ValueError):
    """The release cannot be prepared or approved as asked; the message says why."""


@dataclass(frozen=True)
class ReleaseChoice:
    period: str
    indicators: tuple[str, ...]
    breakdowns: tuple[str, ...]
    commentary: str = ""
    corrects: int | None = None  # the release this one corrects
    correction_note: str = ""  # what changed and why


def kind_of(period: str) -> str:
    return "year" if len(period) == 4 else "quarter"


def release_periods(today: dt.date) -> list[tuple[str, str]]:
    """The finished calendar quarters and years a release may cover, newest first."""
    choices = []
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _ in range(QUARTERS_OFFERED):
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
        key = f"{year}-Q{quarter}"
        choices.append((key, parse_period(key).label))
    for back in range(1, YEARS_OFFERED + 1):
        choices.append((str(today.year - back), str(today.year - back)))
    return choices


def status(release: Release, now: dt.datetime | None = None) -> str:
    """One of STATUS_WORDS' keys."""
    now = now or clock.now()
    if release.approved_at is None:
        return "problems" if release.problems else "awaiting"
    return "published" if clock.stored(release.publish_at) <= now else "scheduled"


# --- the figures -------------------------------------------------------------------------


def _check_choice(questionnaire: Questionnaire, choice: ReleaseChoice) -> None:
    try:
        period = parse_period(choice.period)
    except PeriodError:
        raise ReleaseError("Choose a calendar quarter or year") from None
    if period.kind not in KINDS:
        raise ReleaseError("Choose a calendar quarter or year")
    if not choice.indicators or any(questionnaire.indicator(i) is None for i in choice.indicators):
        raise ReleaseError("Choose at least one indicator")
    if not choice.breakdowns or any(b not in BREAKDOWNS for b in choice.breakdowns):
        raise ReleaseError("Choose at least one breakdown")
    if len(choice.commentary) > MAX_COMMENTARY:
        raise ReleaseError(f"The commentary must be {MAX_COMMENTARY:,} characters or fewer")
    if choice.corrects is not None and not choice.correction_note.strip():
        raise ReleaseError("Say what this correction changes, and why")


def _texts(questionnaire: Questionnaire, local) -> dict[str, str]:
    """A questionnaire text in each of its languages that has it (English always)."""
    offered = {lang.code for lang in questionnaire.languages}
    return {code: text for code, text in local.translations if code in offered or code == "en"}


def group_labels(questionnaire: Questionnaire, by: str) -> dict[str, dict[str, str]]:
    """Each group's name in each of the questionnaire's languages."""
    from survey.i18n import name_in

    english = reporting.value_labels(questionnaire)[by]
    labels = {code: {"en": text} for code, text in english.items()}
    variable = demographic(by)
    question = questionnaire.dimension_question(variable.dimension) if variable.dimension else None
    if question is not None and not variable.grouped and by != "borough":
        for option in question.options:
            labels[option.value] = _texts(questionnaire, option.label)
    if by == "language":
        for lang in questionnaire.languages:
            labels[lang.code] = {
                other.code: name_in(lang.code, other.code) for other in questionnaire.languages
            }
    for code in BOROUGH_NAMES if by == "borough" else ():
        labels[code] = {"en": BOROUGH_NAMES[code]}
    return labels


def _row(row, count, labels) -> dict:
    code = row.labels[0]
    shown = row.estimate is not None and row.reliability != "too_uncertain"
    why = HIDDEN_BECAUSE.get(row.disclosure, "")
    if row.estimate is not None and row.reliability == "too_uncertain":
        why = "uncertain"
    elif not shown and not why:
        why = "unavailable"  # no estimate could be made (no responses): never blank
    return {
        "code": code,
        "label": labels.get(code, {"en": code}),
        "estimate": row.estimate if shown else None,
        "ci_low": row.ci_low if shown else None,
        "ci_high": row.ci_high if shown else None,
        "n": count.value,  # None: hidden
        "n_small": not count.shown and count.small,  # hidden as "fewer than" the threshold
        "hidden_because": "" if shown else why,
        "caution": shown and row.reliability == "review",
        "comparison": _comparison(row) if shown else "",
    }


def _comparison(row) -> str:
    if row.p_adjusted is None or row.diff is None:
        return ""
    if row.p_adjusted >= 1 - row.confidence_level:
        return "no_clear_difference"
    return "higher" if row.diff > 0 else "lower"


def _previous(session: Session, questionnaire_id: str, period: str, indicator: str, skip):
    """The latest public release of the same kind before this period that carries the
    indicator: the one a change is measured from. One approved for later is not quoted
    before its time (nor after it is withdrawn)."""
    found = session.scalars(
        select(Release)
        .where(
            Release.questionnaire_id == questionnaire_id,
            Release.approved_at.is_not(None),
            Release.publish_at <= clock.now(),
            Release.period < period,
            func.length(Release.period) == len(period),
        )
        .order_by(Release.period.desc(), Release.id.desc())
    )
    for release in found:
        if release.id not in skip and indicator in release.indicators:
            return release
    return None


def _change(session, questionnaire, indicator: str, period: str, previous, *, figures, gate):
    """London's change from the previous comparable release's period to this one, worked
    out as the trends page does (each period weighted on its own), or why there is none."""
    if previous is None:
        return None, "first"
    request = reporting.TrendRequest(
        indicator=indicator,
        kind=kind_of(period),
        start=previous.period,
        end=period,
        confidence_level=CONFIDENCE_LEVEL,
    )
    try:
        trend = reporting.build_trend(session, questionnaire, request, figures=figures, gate=gate)
    except reporting.ReportError:
        return None, "not_comparable"
    if (trend.start, trend.end) != (previous.period, period) or not trend.changes:
        return None, "not_comparable"
    london = trend.changes[0].change
    if london is None:
        return None, "withheld"
    return {
        "previous_release": previous.id,
        "previous_period": previous.period,
        "start_estimate": london.start_estimate,
        "end_estimate": london.end_estimate,
        "change": london.change,
        "ci_low": london.ci_lower,
        "ci_high": london.ci_upper,
        "p_value": london.p_value,
        "clear": london.p_value < 1 - CONFIDENCE_LEVEL,
    }, ""


def build_snapshot(
    session: Session,
    questionnaire: Questionnaire,
    choice: ReleaseChoice,
    *,
    figures: Figures | None,
    gate: Gate,
    skip: tuple[int, ...] = (),
) -> tuple[dict, list[str]]:
    """Work out everything the release's public pages show, through `gate`; and the
    problems that stop it being approved. `skip`: releases not to measure change from."""
    _check_choice(questionnaire, choice)
    period = parse_period(choice.period)
    problems = []
    if figures is None:
        raise ReleaseError("Releases are weighted: an admin must upload population figures first")
    if figures.is_demo:
        problems.append(
            "The population figures are the demo's, not official statistics: upload real "
            "figures before anything is published"
        )
    if period.end >= clock.today():
        problems.append(
            f"{period.label} has not ended yet: its figures would still change. Prepare it "
            "again once it is over"
        )
    indicators, respondents, synthetic, versions = [], None, False, set()
    for indicator_id in choice.indicators:
        indicator = questionnaire.indicator(indicator_id)
        tables, london = [], None
        for by in choice.breakdowns:
            request = reporting.ReportRequest(indicator=indicator_id, by=(by,), period=period.key)
            try:
                report = reporting.build_report(
                    session, questionnaire, request, figures=figures, gate=gate
                )
            except reporting.ReportError as error:
                raise ReleaseError(str(error)) from None
            synthetic = synthetic or report.has_synthetic
            versions.update(number for _, number in report.versions)
            respondents = respondents or report.respondents
            labels = group_labels(questionnaire, by)
            rows = [
                _row(row, report.counts[row.labels], labels)
                for row in report.summary.rows
                if row.labels[0] != PREFER_NOT_TO_SAY
            ]
            overall = next(r for r in rows if r["code"] == reporting.ALL_GROUPS)
            london = london or overall
            tables.append(
                {
                    "by": by,
                    "rows": [r for r in rows if r["code"] != reporting.ALL_GROUPS],
                    "method": report.summary.method,
                    "adjust": report.summary.adjust,
                }
            )
        if london["estimate"] is None:
            problems.append(
                f"“{indicator.label.get()}” has no London figure the rules allow to be shown"
            )
        previous = _previous(session, questionnaire.id, period.key, indicator_id, skip)
        change, no_change = _change(
            session, questionnaire, indicator_id, period.key, previous, figures=figures, gate=gate
        )
        indicators.append(
            {
                "id": indicator_id,
                "label": _texts(questionnaire, indicator.label),
                "london": london,
                "change": change,
                "no_change_because": no_change,
                "tables": tables,
            }
        )
    if synthetic:
        problems.append(
            "It includes synthetic demo responses (made up, nobody's answers): they can be "
            "previewed but never published"
        )
    snapshot = {
        "questionnaire": {
            "id": questionnaire.id,
            "title": _texts(questionnaire, questionnaire.title),
            "versions": sorted(versions),
        },
        "period": period.key,
        "kind": kind_of(period.key),
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "respondents": respondents.value if respondents else None,
        "threshold": gate.threshold,
        "confidence_level": CONFIDENCE_LEVEL,
        "population": {"version": figures.version, "label": figures.label},
        "synthetic": synthetic,
        "indicators": indicators,
        "software_version": f"prevent-survey {__version__}",
    }
    return snapshot, problems


def _same_figures(first: dict, second: dict) -> bool:
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


# --- the steps ---------------------------------------------------------------------------


def prepare(
    session: Session,
    questionnaire: Questionnaire,
    choice: ReleaseChoice,
    *,
    by: StaffUser,
    figures: Figures | None,
    gate: Gate,
    release: Release | None = None,
) -> Release:
    """Prepare a new release, or revise one not yet approved; its figures are worked out
    now. Whoever prepares or revises it cannot approve it."""
    if release is not None and release.approved_at is not None:
        raise ReleaseError("An approved release cannot be changed")
    # Each indicator and breakdown once, however often the form names it: the work grows
    # with their product.
    choice = dataclasses.replace(
        choice,
        indicators=tuple(dict.fromkeys(choice.indicators)),
        breakdowns=tuple(dict.fromkeys(choice.breakdowns)),
    )
    if choice.corrects is not None:
        corrected = session.get(Release, choice.corrects)
        if corrected is None or status(corrected) != "published":
            raise ReleaseError("Only a published release can be corrected")
        if corrected.period != choice.period:
            raise ReleaseError("A correction covers the same period as the release it corrects")
    skip = tuple(i for i in (choice.corrects, release.id if release else None) if i)
    snapshot, problems = build_snapshot(
        session, questionnaire, choice, figures=figures, gate=gate, skip=skip
    )
    new = release is None
    if new:
        release = Release(questionnaire_id=questionnaire.id)
        session.add(release)
    release.period = choice.period
    release.indicators = list(choice.indicators)
    release.breakdowns = list(choice.breakdowns)
    release.commentary = choice.commentary.strip()
    release.corrects_id = choice.corrects
    release.correction_note = choice.correction_note.strip()
    release.prepared_by = by.id
    release.contributors = sorted({*(release.contributors or []), by.id})
    release.prepared_at = clock.now()
    release.snapshot = snapshot
    release.problems = problems
    session.flush()
    record_event(
        session,
        "release_prepared" if new else "release_revised",
        actor=by,
        detail=f"release {release.id}: {choice.period}, "
        + ", ".join(choice.indicators)
        + f" by {', '.join(choice.breakdowns)}"
        + (f"; corrects release {choice.corrects}" if choice.corrects else "")
        + (f"; cannot be approved: {len(problems)} problem(s)" if problems else ""),
    )
    return release


def digest(release: Release) -> str:
    """What an approver checked, in a few characters: the choices, commentary and figures.
    The approval form carries it, so an approval is of exactly the release on screen."""
    content = {"choice": choice_of(release).__dict__, "snapshot": release.snapshot}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def approve(
    session: Session,
    release: Release,
    questionnaire: Questionnaire,
    *,
    by: StaffUser,
    publish_at: dt.datetime,
    figures: Figures | None,
    gate: Gate,
    seen: str | None,
) -> None:
    """Approve a release to be published at `publish_at`, after working its figures out
    again: a second person, no problems, the same figures as prepared, and the same release
    the approver checked (`seen`: its digest when they opened it).

    The caller holds the release's row locked (`locked_release`), so an edit, a withdrawal
    or a second approval waits for this one and then finds it approved."""
    if release.approved_at is not None:
        raise ReleaseError("This release is already approved")
    contributors = {release.prepared_by, *(release.contributors or [])}
    if by.id in contributors:
        raise ReleaseError(
            "You prepared or revised this release, so someone else must approve it: two "
            "people check every release"
        )
    if by.password_link_seen_by in contributors:
        # This account's password was chosen through a link shown to someone who worked
        # on the release: they could be approving their own work under a second account.
        raise ReleaseError(
            "Your password was set through a link shown to someone who prepared or revised "
            "this release, so another administrator must approve it (or ask for a new "
            "password link by email)"
        )
    if seen != digest(release):
        raise ReleaseError(
            "This release has changed since you opened it: check it again, then approve"
        )
    if release.problems:
        raise ReleaseError("This release cannot be approved: " + "; ".join(release.problems))
    if publish_at.tzinfo is None:
        raise ValueError("publish_at must be timezone-aware")
    choice = choice_of(release)
    skip = tuple(i for i in (release.corrects_id, release.id) if i)
    again, problems = build_snapshot(
        session, questionnaire, choice, figures=figures, gate=gate, skip=skip
    )
    if problems:
        release.problems = problems
        record_event(
            session,
            "release_refused",
            actor=by,
            detail=f"release {release.id}: " + "; ".join(problems),
        )
        raise ReleaseError("This release cannot be approved: " + "; ".join(problems))
    if not _same_figures(again, release.snapshot):
        record_event(
            session,
            "release_refused",
            actor=by,
            detail=f"release {release.id}: figures changed since it was prepared",
        )
        raise ReleaseError(
            "The figures have changed since this release was prepared (new rules, population "
            "figures or responses): ask for it to be prepared again, then check it"
        )
    release.approved_by = by.id
    release.approved_at = clock.now()
    release.publish_at = publish_at
    record_event(
        session,
        "release_approved",
        actor=by,
        detail=f"release {release.id}: {release.period}, to be published "
        f"{publish_at.astimezone(clock.LONDON):%Y-%m-%d %H:%M} London time",
    )


def withdraw(session: Session, release: Release, *, by: StaffUser) -> None:
    """Take back an approval before the release is published; published ones stay."""
    if status(release) != "scheduled":
        raise ReleaseError("Only an approved release not yet published can be withdrawn")
    release.approved_by = release.approved_at = release.publish_at = None
    record_event(
        session, "release_withdrawn", actor=by, detail=f"release {release.id}: {release.period}"
    )


def locked_release(session: Session, release_id: int) -> Release | None:
    """The release, its row locked until the transaction ends (PostgreSQL's FOR UPDATE;
    SQLite's writers already take the database in turn), for any step that changes it."""
    return session.get(Release, release_id, with_for_update=True, populate_existing=True)


def choice_of(release: Release) -> ReleaseChoice:
    return ReleaseChoice(
        period=release.period,
        indicators=tuple(release.indicators),
        breakdowns=tuple(release.breakdowns),
        commentary=release.commentary,
        corrects=release.corrects_id,
        correction_note=release.correction_note,
    )


# --- what the public sees ----------------------------------------------------------------


def published(session: Session) -> list[Release]:
    """Published releases, newest first."""
    return list(
        session.scalars(
            select(Release)
            .where(Release.approved_at.is_not(None), Release.publish_at <= clock.now())
            .order_by(Release.publish_at.desc(), Release.id.desc())
        )
    )


def published_release(session: Session, release_id: int) -> Release | None:
    release = session.get(Release, release_id)
    if release is None or release.approved_at is None or status(release) != "published":
        return None
    return release


def latest(session: Session) -> Release | None:
    return next(iter(published(session)), None)


def corrections_of(session: Session, release: Release) -> list[Release]:
    """Published releases that correct this one."""
    return [r for r in published(session) if r.corrects_id == release.id]


def record_published(session: Session) -> int:
    """Write the audit line for each release whose publication time has passed (once)."""
    due = list(
        session.scalars(
            select(Release).where(
                Release.approved_at.is_not(None),
                Release.publish_at <= clock.now(),
                Release.published_at.is_(None),
            )
        )
    )
    for release in due:
        release.published_at = release.publish_at
        record_event(
            session,
            "release_published",
            actor_email="(scheduled)",
            detail=f"release {release.id}: {release.period}",
        )
    return len(due)


def all_releases(session: Session) -> list[Release]:
    return list(session.scalars(select(Release).order_by(Release.id.desc())))
