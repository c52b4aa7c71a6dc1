"""Benchmark: residents' pages while staff work is heavy.

gunicorn on loopback with the production worker settings and a `flask jobs worker` on
Redis, the database holding synthetic responses. Measures the median and p95 time of a
resident's page (the survey's start page, one resident asking again and again):
- quiet: nothing else happening;
- busy: at the same time, 16 analysts each ask for a release preparation (every indicator
  by every breakdown) and 40 failed sign-ins arrive at once from 40 addresses, again and
  again for the whole run.
Prints both, and the busy median as a ratio of the quiet one. Target: busy median under
100 ms. With `--queue thread` the preparations run in the web workers instead (as
`make run` does), for comparison.

    .venv/bin/python bench/staff_load_bench.py [--postgres URL] [--responses 7000]
        [--seconds 20] [--queue redis|thread]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.load.conftest import PROJECT, Server  # noqa: E402

# Resident pages write the token's value right after its name; WTForms forms, a type first.
CSRF = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')

REDIS = "redis://127.0.0.1:6379/12"
ANALYSTS = 16
FAILED_SIGN_INS = 40
BREAKDOWNS = ("borough", "age_band", "sex", "ethnic_group", "religion", "disability", "language")
INDICATORS = ("aware", "confident_helps", "trusts_fair", "knows_help")


def flask(server: Server, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        env=server.env,
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def load_responses(server: Server, count: int) -> None:
    """Synthetic responses, as `flask demo` makes them (a preparation works them all out)."""
    code = (
        "from survey import create_app\n"
        "from survey.demo import load_synthetic_responses\n"
        "from survey.extensions import db\n"
        "from survey.services.questionnaires import latest_version, questionnaire_for\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    v = latest_version(db.session, 'prevent-awareness')\n"
        f"    load_synthetic_responses(db.session, questionnaire_for(v), v.id, {count})\n"
        "    db.session.commit()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], env=server.env, cwd=PROJECT, check=True, capture_output=True
    )


async def resident_pages(base: str, seconds: float, latencies: list[float]) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.get("/s/demo")
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"resident page: {response.status_code}")
            await asyncio.sleep(0.05)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> None:
    form = await client.get("/staff/sign-in")
    response = await client.post(
        "/staff/sign-in",
        data={"csrf_token": CSRF.search(form.text)[1], "email": email, "password": password},
    )
    if response.status_code != 303:
        raise RuntimeError(f"{email} could not sign in: {response.status_code}")


async def analyst(client: httpx.AsyncClient, period: str, deadline: float) -> int:
    """Ask for a preparation and follow its job; again until the time is up. Returns how
    many were asked for."""
    asked = 0
    while time.monotonic() < deadline:
        page = await client.get("/staff/releases/new")
        response = await client.post(
            "/staff/releases/new",
            data={
                "csrf_token": CSRF.search(page.text)[1],
                "period": period,
                "indicators": list(INDICATORS),
                "breakdowns": list(BREAKDOWNS),
            },
        )
        asked += 1
        location = response.headers.get("location", "")
        while location.startswith("/staff/jobs/") and time.monotonic() < deadline:
            status = await client.get(location)
            if "refresh" not in status.headers:
                break
            await asyncio.sleep(2)
    return asked


async def failed_sign_ins(base: str, deadline: float) -> int:
    """40 failed sign-ins at once, each from an address of its own, again and again."""
    sent = 0
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        form = await client.get("/staff/sign-in")
        token = CSRF.search(form.text)[1]
        cookies = dict(client.cookies)

        async def one(n: int) -> None:
            async with httpx.AsyncClient(base_url=base, timeout=120, cookies=cookies) as each:
                await each.post(
                    "/staff/sign-in",
                    data={
                        "csrf_token": token,
                        "email": f"nobody{n}@example.org",
                        "password": "x" * 20,
                    },
                    headers={"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"},
                )

        round_ = 0
        while time.monotonic() < deadline:
            await asyncio.gather(
                *(one(round_ * FAILED_SIGN_INS + i) for i in range(FAILED_SIGN_INS))
            )
            sent += FAILED_SIGN_INS
            round_ += 1
    return sent


async def measure(base: str, seconds: float, credentials, period: str):
    """The resident's page alone, then with the analysts (signed in beforehand, as staff
    at work are) and the failed sign-ins at the same time."""
    quiet: list[float] = []
    await resident_pages(base, seconds / 2, quiet)
    clients = [httpx.AsyncClient(base_url=base, timeout=300) for _ in credentials]
    for client, (email, password) in zip(clients, credentials, strict=True):
        await sign_in(client, email, password)
    busy: list[float] = []
    deadline = time.monotonic() + seconds
    results = await asyncio.gather(
        resident_pages(base, seconds, busy),
        *(analyst(client, period, deadline) for client in clients),
        failed_sign_ins(base, deadline),
    )
    for client in clients:
        await client.aclose()
    return quiet, busy, sum(results[1:-1]), results[-1]


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL database URL to use (emptied)")
    parser.add_argument("--responses", type=int, default=7000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--queue", choices=("redis", "thread"), default="redis")
    args = parser.parse_args()
    from redis import Redis

    Redis.from_url(REDIS).flushdb()
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite:///{folder}/bench.db"
        server = Server(Path(folder), url)
        server.env.update(
            SURVEY_JOB_QUEUE=REDIS if args.queue == "redis" else "thread",
            SURVEY_TRUSTED_PROXY_HOPS="1",
            SURVEY_RATELIMIT_STORAGE_URI=REDIS,
            SURVEY_TWO_FACTOR_ROLES="",
        )
        server.prepare()
        load_responses(server, args.responses)
        credentials = []
        for n in range(ANALYSTS):
            printed = flask(
                server,
                "users",
                "create",
                "--role",
                "analyst",
                "--generate",
                f"analyst{n}@example.org",
            )
            credentials.append(
                (f"analyst{n}@example.org", re.search(r"Password: (\S+)", printed)[1])
            )
        period = f"{time.gmtime().tm_year - 1}"  # the last whole year
        server.start()
        worker = None
        if args.queue == "redis":
            with (Path(folder) / "worker.log").open("a") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "flask", "jobs", "worker"],
                    env=server.env,
                    cwd=PROJECT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        try:
            quiet, loaded, asked, failures = asyncio.run(
                measure(server.base, args.seconds, credentials, period)
            )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=60)
            server.stop()
    quiet_median, quiet_p95 = summary(quiet)
    busy_median, busy_p95 = summary(loaded)
    print(
        f"queue: {args.queue}; {args.responses:,} responses; {asked} preparations asked for "
        f"by {ANALYSTS} analysts; {failures} failed sign-ins, {FAILED_SIGN_INS} addresses at once"
    )
    for name, (median, p95), count in (
        ("quiet", (quiet_median, quiet_p95), len(quiet)),
        ("busy", (busy_median, busy_p95), len(loaded)),
    ):
        print(f"resident page, {name}: median {median:.0f} ms, p95 {p95:.0f} ms ({count} requests)")
    print(
        f"busy median / quiet median: {busy_median / quiet_median:.1f}x "
        "(target: busy median under 100 ms)"
    )


if __name__ == "__main__":
    main()
