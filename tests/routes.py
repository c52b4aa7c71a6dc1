"""Every route, as something a test can request: staff clients for each role, and a
concrete path for every endpoint in app.url_map."""

from __future__ import annotations

from tests.resident import field_value
from tests.staff import create_staff, sign_in

ROLES = ("anonymous", "officer", "analyst", "admin")


def csrf(client, path: str) -> str:
    return field_value(client.get(path), "csrf_token") or "none"


def staff_clients(app, synthetic_responses: int = 300) -> tuple[dict, dict]:
    """Signed-in clients for each role (and an anonymous one), an officer's link, a spare
    account, and synthetic responses so analyst pages have figures. Needs the demo."""
    ids = {}
    clients = {"anonymous": app.test_client()}
    for role in ROLES[1:]:
        create_staff(app, f"{role}@example.org", role)
        client = app.test_client()
        assert sign_in(client, f"{role}@example.org").status_code == 303
        clients[role] = client
    token = csrf(clients["officer"], "/staff/links/new")
    response = clients["officer"].post(
        "/staff/links/new",
        data={"csrf_token": token, "label": "Library", "channel": "event", "borough": "none"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    ids["link_id"] = int(response.headers["Location"].rsplit("/", 1)[1])
    ids["user_id"] = create_staff(app, "spare@example.org", "analyst")
    with app.app_context():
        from survey.demo import load_synthetic_responses
        from survey.extensions import db
        from survey.services.questionnaires import latest_version, questionnaire_for

        version = latest_version(db.session, "prevent-awareness")
        load_synthetic_responses(
            db.session, questionnaire_for(version), version.id, synthetic_responses
        )
        db.session.commit()
    return clients, ids


# Which release an endpoint is asked about: one not yet approved can be changed, one
# approved for later can be withdrawn; the others show a published one.
RELEASE_FOR = {"releases.edit": "draft_release_id", "releases.withdraw": "scheduled_release_id"}
# Where an endpoint's `code` is not a survey link's.
ENDPOINT_VALUES = {"coverage.borough": {"code": "E09000030"}}


def release_ids(app) -> dict:
    """A published release, one awaiting approval and one approved for tomorrow (the
    responses are treated as real: tests only)."""
    import datetime as dt

    from survey import clock
    from tests.releases import last_quarter, prepare, publish, responses_as_real

    responses_as_real(app, size=1500)
    small = {"indicators": ("aware",), "breakdowns": ("sex",)}
    return {
        "release_id": publish(app, **small),
        "draft_release_id": prepare(app, last_quarter(), **small),
        "scheduled_release_id": publish(
            app, publish_at=clock.now() + dt.timedelta(days=1), **small
        ),
    }


def failed_job_id(app) -> int:
    """A release preparation the analyst asked for that failed, so it can be seen and
    tried again."""
    from tests.releases import queued_preparation

    def failed(job, _user) -> None:
        job.status, job.error = "failed", "The worker ran out of memory"

    return queued_preparation(app, arrange=failed)


def path_for(app, endpoint: str, ids: dict) -> str:
    """A concrete path for the endpoint: the demo link, the officer's link, and so on."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {
        "code": "demo",
        "question_id": "heard_of_prevent",
        "filename": "css/main.css",
        "link_id": ids.get("link_id", 1),
        "user_id": ids.get("user_id", 1),
        "job_id": ids.get("job_id", 1),
        "fmt": "csv",
        "kind": "csv",
        "table": "trend",
        "release_id": ids.get(RELEASE_FOR.get(endpoint, "release_id"), 1),
    }
    values.update(ENDPOINT_VALUES.get(endpoint, {}))
    fixed = rule.defaults or {}
    arguments = {a: values[a] for a in rule.arguments if a not in fixed}
    return app.url_map.bind("localhost").build(endpoint, arguments)


def get_endpoints(app) -> list[str]:
    return sorted({r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods})
