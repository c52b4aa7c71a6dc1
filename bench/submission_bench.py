"""Benchmark: how many residents gunicorn serves, as ratios to a bare endpoint.

gunicorn on loopback with the production worker settings. Measures requests per second
for a bare "hello" endpoint in the same app (the floor), a question page GET, an answer
POST and the final submit, 50 residents at once, and the p95 latency. Targets: question
page at least 40% of hello, answer POST at least 25%, submit at least 20%; p95 under
200 ms at 50 concurrent residents.

The p95 is reported two ways: with 50 clients sending back to back (the server saturated,
so by Little's law the mean latency is 50 / throughput), and with 50 residents walking the
whole journey at about a second a page, as people do.

    .venv/bin/python bench/submission_bench.py [--postgres URL] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.load.conftest import Server  # noqa: E402
from tests.load.driver import CSRF, SUBMIT, run  # noqa: E402
from tests.resident import COMPLETE_ANSWERS  # noqa: E402

CONCURRENCY = 50
THINK = 1.0  # seconds a resident spends before each request, on average (people are slower)


async def timed(client, method, path, latencies, **kwargs):
    started = time.perf_counter()
    response = await client.request(method, path, **kwargs)
    latencies.append(time.perf_counter() - started)
    if response.status_code >= 500:
        raise RuntimeError(f"{method} {path}: {response.status_code}")
    return response


async def walk_to_check_answers(client) -> dict:
    start = await client.get("/s/demo")
    response = await client.post(
        "/s/demo/start", data={"csrf_token": CSRF.search(start.text).group(1)}
    )
    while "/q/" in response.headers.get("location", ""):
        location = response.headers["location"]
        page = await client.get(location)
        data = {"csrf_token": CSRF.search(page.text).group(1)}
        answer = COMPLETE_ANSWERS.get(location.rsplit("/q/", 1)[1])
        if answer:
            data["answer"] = answer
        response = await client.post(location, data=data)
    check = await client.get("/s/demo/check-answers")
    return {
        "csrf_token": CSRF.search(check.text).group(1),
        "submit_token": SUBMIT.search(check.text).group(1),
    }


async def repeat(base: str, seconds: float, make_request) -> tuple[float, float]:
    """Each of 50 residents repeats a request for `seconds`; returns (per second, p95)."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one():
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            state = await make_request(client, None, latencies, setup=True)
            while time.monotonic() < deadline:
                await make_request(client, state, latencies)

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
    measured = latencies
    elapsed = time.monotonic() - started
    ordered = sorted(measured)
    return len(measured) / elapsed, ordered[int(len(ordered) * 0.95)]


async def hello(client, state, latencies, setup=False):
    if not setup:
        await timed(client, "GET", "/bench/hello", latencies)


async def question_page(client, state, latencies, setup=False):
    if setup:
        start = await client.get("/s/demo")
        await client.post("/s/demo/start", data={"csrf_token": CSRF.search(start.text).group(1)})
        return None
    await timed(client, "GET", "/s/demo/q/heard_of_prevent", latencies)


async def answer_post(client, state, latencies, setup=False):
    if setup:
        start = await client.get("/s/demo")
        await client.post("/s/demo/start", data={"csrf_token": CSRF.search(start.text).group(1)})
        page = await client.get("/s/demo/q/heard_of_prevent")
        return CSRF.search(page.text).group(1)
    await timed(
        client,
        "POST",
        "/s/demo/q/heard_of_prevent",
        latencies,
        data={"csrf_token": state, "answer": "yes"},
    )


async def submits(base: str, per_resident: int) -> tuple[float, float]:
    """Prepare completed drafts first (not timed), then time only the submissions."""
    clients = [
        httpx.AsyncClient(base_url=base, timeout=60) for _ in range(CONCURRENCY * per_resident)
    ]
    forms = []
    for batch in range(0, len(clients), CONCURRENCY):
        forms += await asyncio.gather(
            *(walk_to_check_answers(c) for c in clients[batch : batch + CONCURRENCY])
        )
    latencies: list[float] = []
    queue = list(zip(clients, forms, strict=True))

    async def worker():
        while queue:
            client, form = queue.pop()
            await timed(client, "POST", "/s/demo/check-answers", latencies, data=form)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - started
    for client in clients:
        await client.aclose()
    ordered = sorted(latencies)
    return len(latencies) / elapsed, ordered[int(len(ordered) * 0.95)]


def bench(
    name: str, url: str, folder: Path, seconds: float, rounds: int, paced_seconds: float
) -> None:
    """Measure every endpoint `rounds` times, each round against its own hello floor, and
    print the median ratio and p95: the machine's load drifts between endpoints."""
    server = Server(folder, url)
    server.env["SURVEY_BENCH_ENDPOINT"] = "1"
    server.prepare()
    server.start()
    measured: dict[str, list[tuple[float, float, float]]] = {}  # label -> (rate, ratio, p95)
    try:
        for _ in range(rounds):
            results = {
                "hello (floor)": asyncio.run(repeat(server.base, seconds, hello)),
                "question page GET": asyncio.run(repeat(server.base, seconds, question_page)),
                "answer POST": asyncio.run(repeat(server.base, seconds, answer_post)),
                "final submit": asyncio.run(submits(server.base, 6)),
            }
            floor = results["hello (floor)"][0]
            for label, (rate, p95) in results.items():
                measured.setdefault(label, []).append((rate, rate / floor, p95))
        paced = run(server.base, CONCURRENCY, paced_seconds, think=THINK)
    finally:
        server.stop()
    targets = {"question page GET": 0.40, "answer POST": 0.25, "final submit": 0.20}
    print(
        f"{name} ({os.cpu_count()} cores, {CONCURRENCY} concurrent residents, "
        f"median of {rounds} rounds):"
    )
    for label, runs in measured.items():
        rate, ratio, p95 = (statistics.median(r[i] for r in runs) for i in range(3))
        spread = ", ".join(f"{r[1]:.0%}" for r in runs)
        target = f" (target >= {targets[label]:.0%})" if label in targets else ""
        print(
            f"  {label:<18} {rate:7.0f} req/s  {ratio:6.0%} of hello{target}  "
            f"p95 {p95 * 1000:.0f} ms (target < 200 ms)  rounds: {spread}"
        )
    print(
        f"  at a person's pace ({CONCURRENCY} residents through the whole journey, about "
        f"{THINK:g} s before each request, {paced_seconds:g} s): "
        f"{paced.acknowledged} journeys, {paced.server_errors} server errors"
    )
    for kind, label in (("GET", "pages"), ("POST", "answers"), ("submit", "submits")):
        times = sorted(paced.by_kind.get(kind, [])) or [0.0]
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(
            f"    {label:<8} {len(times):6d} requests  p50 {p50 * 1000:4.0f} ms"
            f"  p95 {p95 * 1000:4.0f} ms (target < 200 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paced-seconds", type=float, default=60)
    parser.add_argument(
        "--postgres", help="a database URL to use as well as SQLite (its public schema is rebuilt)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench(
            "SQLite",
            f"sqlite:///{folder}/bench.db",
            Path(folder),
            args.seconds,
            args.rounds,
            args.paced_seconds,
        )
        if args.postgres:
            from sqlalchemy import create_engine, text

            engine = create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://"))
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            bench(
                "PostgreSQL",
                args.postgres,
                Path(folder),
                args.seconds,
                args.rounds,
                args.paced_seconds,
            )


if __name__ == "__main__":
    main()
