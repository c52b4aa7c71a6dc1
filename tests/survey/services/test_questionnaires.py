"""Questionnaire versions: loaded once, never changed, recorded on every response."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from survey.models import QuestionnaireVersion, Response
from tests.resident import Resident

SOURCE = Path(__file__).resolve().parents[3] / "questionnaires" / "prevent-awareness.yaml"


def write(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "prevent-awareness.yaml").write_text(text, encoding="utf-8")
    return folder


def test_loading_the_same_version_twice_is_a_no_op(runner, tmp_path, db_session):
    folder = write(tmp_path / "q", SOURCE.read_text())
    assert (
        "loaded: prevent-awareness version 4"
        in runner.invoke(args=["questionnaires", "load", str(folder)]).output
    )
    second = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert second.exit_code == 0
    assert "already loaded" in second.output
    assert len(db_session.scalars(select(QuestionnaireVersion)).all()) == 1


def test_changed_content_under_a_loaded_version_is_refused(runner, tmp_path, db_session):
    folder = write(tmp_path / "q", SOURCE.read_text())
    runner.invoke(args=["questionnaires", "load", str(folder)])
    write(
        folder,
        SOURCE.read_text().replace(
            "Before today, had you heard of Prevent?", "Have you heard of Prevent?"
        ),
    )
    result = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert result.exit_code != 0
    assert "already loaded with different content" in result.output
    assert "new version number" in result.output
    stored = db_session.scalar(select(QuestionnaireVersion))
    assert "Before today, had you heard of Prevent?" in stored.source


def test_a_new_version_is_served_to_new_residents_and_recorded(
    runner, tmp_path, db_session, resident
):
    resident.complete()
    resident.submit()
    folder = write(
        tmp_path / "q",
        SOURCE.read_text()
        .replace("version: 4", "version: 5")
        .replace(
            "Before today, had you heard of Prevent?", "Had you heard of Prevent before today?"
        ),
    )
    assert runner.invoke(args=["questionnaires", "load", str(folder)]).exit_code == 0
    newcomer = Resident(resident.client.application.test_client(), "demo")
    newcomer.start()
    heading = newcomer.get("/s/demo/q/heard_of_prevent").get_data(as_text=True)
    assert "Had you heard of Prevent before today?" in heading
    newcomer.complete()
    newcomer.submit()
    versions = sorted(
        db_session.get(QuestionnaireVersion, r.questionnaire_version_id).version
        for r in db_session.scalars(select(Response))
    )
    assert versions == [4, 5]


def test_a_resident_mid_way_keeps_the_version_they_started(runner, tmp_path, resident):
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    folder = write(
        tmp_path / "q",
        SOURCE.read_text()
        .replace("version: 4", "version: 5")
        .replace("What do you understand Prevent does?", "What does Prevent do?"),
    )
    runner.invoke(args=["questionnaires", "load", str(folder)])
    page = resident.get("/s/demo/q/prevent_purpose").get_data(as_text=True)
    assert "What do you understand Prevent does?" in page


def _next_version(text: str) -> str:
    return text.replace("version: 4", "version: 5", 1)


def test_a_new_version_that_renumbers_an_option_is_refused(runner, tmp_path, db_session):
    """SPSS and Stata files from two versions must mean the same thing by the same code."""
    folder = write(tmp_path / "q", SOURCE.read_text())
    runner.invoke(args=["questionnaires", "load", str(folder)])
    renumbered = _next_version(SOURCE.read_text()).replace(
        "      - value: E09000007\n        code: 7", "      - value: E09000007\n        code: 77"
    )
    assert "code: 77" in renumbered
    write(folder, renumbered)
    result = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert result.exit_code != 0
    assert "option 'E09000007' had code 7 in version 4, not 77" in result.output
    assert len(db_session.scalars(select(QuestionnaireVersion)).all()) == 1


def test_a_new_option_may_not_take_a_retired_options_code(runner, tmp_path, db_session):
    folder = write(tmp_path / "q", SOURCE.read_text())
    runner.invoke(args=["questionnaires", "load", str(folder)])
    write(folder, _next_version(SOURCE.read_text()).replace("value: buddhist", "value: buddhism"))
    result = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert result.exit_code != 0
    assert "code 3 stood for 'buddhist' in version 4; give 'buddhism' a new code" in result.output


def test_a_new_version_may_add_options_with_new_codes(runner, tmp_path, db_session):
    folder = write(tmp_path / "q", SOURCE.read_text())
    runner.invoke(args=["questionnaires", "load", str(folder)])
    added = _next_version(SOURCE.read_text()).replace(
        "      - value: helpline\n        code: 8\n",
        "      - value: helpline\n        code: 8\n        label: {en: Helpline}\n"
        "      - value: charity\n        code: 9\n",
    )
    write(folder, added)
    result = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert result.exit_code == 0, result.output
