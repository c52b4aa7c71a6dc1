"""Load questionnaire files into the database and read them back as dataclasses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey import clock
from survey.models import QuestionnaireVersion
from survey.questionnaire import Questionnaire, QuestionnaireError, parse_questionnaire


class VersionConflict(ValueError):
    """A file reuses a loaded id and version with different content."""


@dataclass(frozen=True)
class LoadResult:
    questionnaire_id: str
    version: int
    created: bool


def questionnaire_files(directory: str | Path) -> list[Path]:
    """Return the questionnaire files in a directory, in name order."""
    return sorted(Path(directory).glob("*.yaml"))


def validate_directory(directory: str | Path) -> dict[str, QuestionnaireError | None]:
    """Check every questionnaire file; map each file name to its error, or None."""
    results: dict[str, QuestionnaireError | None] = {}
    for path in questionnaire_files(directory):
        try:
            parse_questionnaire(path.read_text(encoding="utf-8"), filename=path.name)
            results[path.name] = None
        except QuestionnaireError as error:
            results[path.name] = error
    return results


def load_questionnaire(session: Session, source: str, *, filename: str) -> LoadResult:
    """Store a questionnaire version, once; refuse changed content under a loaded version."""
    questionnaire = parse_questionnaire(source, filename=filename)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    existing = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == questionnaire.id,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if existing is not None:
        if existing.content_sha256 != digest:
            raise VersionConflict(
                f"{filename}: {questionnaire.id} version {questionnaire.version} is already "
                "loaded with different content. A loaded version never changes: give the "
                "changed questionnaire a new version number."
            )
        return LoadResult(questionnaire.id, questionnaire.version, created=False)
    _check_codes_kept(session, questionnaire, filename)
    session.add(
        QuestionnaireVersion(
            questionnaire_id=questionnaire.id,
            version=questionnaire.version,
            title=questionnaire.title.get(),
            content_sha256=digest,
            source=source,
            loaded_on=clock.today(),
        )
    )
    session.flush()
    return LoadResult(questionnaire.id, questionnaire.version, created=True)


def _check_codes_kept(session: Session, questionnaire: Questionnaire, filename: str) -> None:
    """Once a version gives its options codes, every later version keeps them: SPSS and
    Stata files from different versions must mean the same thing by the same number."""
    problems = []
    earlier = session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
        .order_by(QuestionnaireVersion.version)
    )
    for version in earlier:
        for old in questionnaire_for(version).questions:
            new = questionnaire.question(old.id)
            if not old.codes_declared or new is None or not new.all_options:
                continue
            if not new.codes_declared:
                problems.append(
                    f"question {old.id!r}: version {version.version} gave its "
                    "options codes, so this version must too"
                )
                continue
            old_codes, new_codes = old.codes(), new.codes()
            old_values = {code: value for value, code in old_codes.items()}
            for value, code in new_codes.items():
                if value in old_codes and old_codes[value] != code:
                    problems.append(
                        f"question {old.id!r}: option {value!r} had code {old_codes[value]} "
                        f"in version {version.version}, not {code}"
                    )
                elif value not in old_codes and code in old_values:
                    problems.append(
                        f"question {old.id!r}: code {code} stood for {old_values[code]!r} "
                        f"in version {version.version}; give {value!r} a new code"
                    )
    if problems:
        raise VersionConflict(
            f"{filename}: an option keeps its code in every version. "
            + "; ".join(dict.fromkeys(problems))
        )


def latest_version(session: Session, questionnaire_id: str) -> QuestionnaireVersion | None:
    """Return the newest loaded version of a questionnaire."""
    return session.scalar(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
        .order_by(QuestionnaireVersion.version.desc())
        .limit(1)
    )


def questionnaire_for(version: QuestionnaireVersion) -> Questionnaire:
    """Return the dataclasses for a stored version, parsed once per process.

    Kept by content digest, so the stored source is read from the database only the first
    time a process meets a version."""
    parsed = _parsed.get(version.content_sha256)
    if parsed is None:
        if len(_parsed) >= MAX_PARSED:
            _parsed.clear()
        parsed = parse_questionnaire(
            version.source, filename=f"stored version {version.content_sha256[:12]}"
        )
        _parsed[version.content_sha256] = parsed
    return parsed


def questionnaire_by_version_id(
    session: Session, version_id: int, known: dict[int, Questionnaire]
) -> Questionnaire | None:
    """The dataclasses for a stored version id.

    Loaded versions never change and are never deleted, so `known` (one per app, kept by
    the caller) remembers each id once read: a resident's pages after the first do not
    query the version at all."""
    parsed = known.get(version_id)
    if parsed is None:
        version = session.get(QuestionnaireVersion, version_id)
        if version is None:
            return None
        parsed = known[version_id] = questionnaire_for(version)
    return parsed


_parsed: dict[str, Questionnaire] = {}
MAX_PARSED = 32


def newest_questionnaire(session: Session, questionnaire_id: str) -> Questionnaire | None:
    """The newest loaded version of a questionnaire, as dataclasses."""
    version = latest_version(session, questionnaire_id)
    return questionnaire_for(version) if version is not None else None
