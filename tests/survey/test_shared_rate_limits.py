"""With Redis as the store, rate limits are shared by every web host.

Needs Redis on 127.0.0.1:6379 (`.ci/run` starts it); skipped, saying so, without it.
"""

from __future__ import annotations

import socket
import uuid

import pytest

from tests.staff import sign_in

REDIS = ("127.0.0.1", 6379)


def redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_two_hosts_share_the_sign_in_limit_through_redis(app, make_app):
    settings = {
        "RATELIMIT_ENABLED": True,
        "SIGN_IN_ACCOUNT_LIMIT": "4 per minute",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        # A prefix of this run's own, so runs never see each other's counts.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    first, second = make_app(**settings), make_app(**settings)
    statuses = []
    for app in (first, second, first, second, first):
        statuses.append(sign_in(app.test_client(), "x@example.org", "wrong password x").status_code)
    assert statuses == [400, 400, 400, 400, 429]
