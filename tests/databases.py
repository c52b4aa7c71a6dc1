"""Databases the test run makes for itself, and drops when it is done.

`TEST_DATABASE_URL` names a PostgreSQL server and a database on it that the suite may use
to connect; the suite never writes to that database. Each run (each pytest-xdist worker)
creates databases of its own beside it, named after the worker and a random suffix, so two
workers, or two runs at once, never share one, and drops them at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator

from sqlalchemy import create_engine, make_url, text

from survey.config import normalise_database_url

# "gw0", "gw1", ... under pytest-xdist; "main" when the run is not split.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


@contextlib.contextmanager
def new_postgres_database(server_url: str, purpose: str) -> Iterator[str]:
    """Create an empty database on the server `server_url` names; yield its URL; drop it.

    Its name is `<the named database>_<purpose>_<worker>_<random>`, so it can never be a
    database that was there before."""
    server = make_url(normalise_database_url(server_url))
    stem = re.sub(r"[^a-z0-9_]", "_", f"{server.database or 'test'}_{purpose}_{WORKER}".lower())
    name = f"{stem[:50]}_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
