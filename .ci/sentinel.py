"""A populated database the test suite must leave exactly as it found it.

    sentinel.py fill URL          migrate URL and load the demo into it (responses included)
    sentinel.py fingerprint URL   print each table's row count and a digest of its rows

.ci/run fills one, points SURVEY_DATABASE_URL and DATABASE_URL at it for the whole suite,
and compares the fingerprints before and after.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlalchemy import create_engine, inspect, text


def fill(url: str) -> None:
    env = {**os.environ, "SURVEY_DATABASE_URL": url, "FLASK_APP": "survey"}
    env.pop("TEST_DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True)  # noqa: S603
    subprocess.run([*flask, "demo", "--synthetic-responses", "200"], env=env, check=True)  # noqa: S603


def fingerprint(url: str) -> str:
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    lines = []
    with engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            rows = sorted(
                repr(tuple(r))
                for r in connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
            )
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
            lines.append(f"{table}: {len(rows)} rows {digest}")
    engine.dispose()
    return "\n".join(lines)


if __name__ == "__main__":
    command, url = sys.argv[1], sys.argv[2]
    if command == "fill":
        fill(url)
    else:
        print(fingerprint(url))
