"""Behind a reverse proxy: each resident is counted at their own address, the address is
believed only from the proxies configured, and it is never stored or logged."""

from __future__ import annotations

import logging

from tests.resident import Resident
from tests.survey.test_anonymity import dump_database


def _starts(app, forwarded_for: str, times: int) -> list[int]:
    resident = Resident(app.test_client(), "demo")
    resident.client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    token = resident.csrf()
    return [
        resident.client.post("/s/demo/start", data={"csrf_token": token}).status_code
        for _ in range(times)
    ]


def test_behind_one_trusted_proxy_each_resident_has_their_own_allowance(app, make_app, demo):
    proxied = make_app(RATELIMIT_ENABLED=True, LINK_START_LIMIT="2 per hour", TRUSTED_PROXY_HOPS=1)
    assert _starts(proxied, "198.51.100.1", 3) == [303, 303, 429]
    assert _starts(proxied, "198.51.100.2", 2) == [303, 303]


def test_without_a_trusted_proxy_a_forged_forwarded_header_gets_no_fresh_allowance(
    app, make_app, demo
):
    direct = make_app(RATELIMIT_ENABLED=True, LINK_START_LIMIT="2 per hour")
    assert _starts(direct, "198.51.100.1", 2) == [303, 303]
    assert _starts(direct, "198.51.100.2", 1) == [429]


def test_a_forwarded_address_is_never_stored_or_logged(app, make_app, demo, db_session, caplog):
    proxied = make_app(RATELIMIT_ENABLED=True, LINK_START_LIMIT="1 per hour", TRUSTED_PROXY_HOPS=1)
    caplog.set_level(logging.DEBUG)
    resident = Resident(proxied.test_client(), "demo")
    resident.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.77"
    resident.complete()
    resident.submit()
    assert _starts(proxied, "192.0.2.77", 1) == [429]  # the limit was breached and logged
    assert "192.0.2.77" not in dump_database(db_session) + caplog.text
