from sqlalchemy import func, select

from survey.models import Answer, Draft, Response


def test_resident_completes_the_survey_and_one_response_is_stored(resident, db_session):
    resident.complete()
    response = resident.submit()
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/demo/done")
    assert db_session.scalar(select(func.count()).select_from(Response)) == 1
    assert db_session.scalar(select(func.count()).select_from(Draft)) == 0
    stored = {(a.question_id, a.value) for a in db_session.scalars(select(Answer))}
    assert ("borough", "E09000030") in stored
    assert ("prevent_purpose", "safeguarding") in stored
