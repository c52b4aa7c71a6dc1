"""Simulated residents for load runs: each completes the whole survey again and again.

An asyncio driver with httpx, on loopback only, bounded in time. It records every
acknowledged submission (a 303 to the confirmation page), every status and every latency.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.resident import COMPLETE_ANSWERS

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMIT = re.compile(r'name="submit_token" value="([^"]+)"')


@dataclass
class Tally:
    acknowledged: int = 0
    journeys_started: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    think: float = 0.0  # mean seconds a resident waits before each request
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def count(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self, seconds: float) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return (
            f"{self.acknowledged} journeys completed in {seconds:.0f} s "
            f"({self.acknowledged / seconds:.1f} per second); {len(self.latencies)} "
            f"requests, p50 {statistics.median(ordered) * 1000:.0f} ms, p95 "
            f"{p95 * 1000:.0f} ms; statuses {dict(sorted(self.statuses.items()))}"
        )


async def _request(client, tally, method, path, **kwargs):
    if tally.think:  # a person reads the page before acting on it
        await asyncio.sleep(tally.think * random.uniform(0.5, 1.5))  # noqa: S311 - pacing
    started = time.perf_counter()
    response = await client.request(method, path, **kwargs)
    seconds = time.perf_counter() - started
    tally.count(response.status_code, seconds)
    kind = "submit" if path.endswith("/check-answers") and method == "POST" else method
    tally.by_kind.setdefault(kind, []).append(seconds)
    return response


async def journey(client: httpx.AsyncClient, tally: Tally, code: str) -> None:
    """One resident: start page, every question, check answers, submit."""
    tally.journeys_started += 1
    start = await _request(client, tally, "GET", f"/s/{code}")
    token = CSRF.search(start.text).group(1)
    response = await _request(client, tally, "POST", f"/s/{code}/start", data={"csrf_token": token})
    for _ in range(40):
        location = response.headers.get("location", "")
        if "/q/" not in location:
            break
        question = location.rsplit("/q/", 1)[1].split("?")[0]
        page = await _request(client, tally, "GET", location)
        token = CSRF.search(page.text).group(1)
        value = COMPLETE_ANSWERS.get(question)
        data: dict[str, object] = {"csrf_token": token}
        if value:
            data["answer"] = value  # a list repeats the field, as checkboxes do
        response = await _request(client, tally, "POST", location, data=data)
    check = await _request(client, tally, "GET", f"/s/{code}/check-answers")
    form = {
        "csrf_token": CSRF.search(check.text).group(1),
        "submit_token": SUBMIT.search(check.text).group(1),
    }
    sent = await _request(client, tally, "POST", f"/s/{code}/check-answers", data=form)
    if sent.status_code == 303 and sent.headers.get("location", "").endswith("/done"):
        tally.acknowledged += 1


async def resident(base: str, tally: Tally, code: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            try:
                await journey(client, tally, code)
            except (httpx.HTTPError, AttributeError) as error:
                # A dropped connection (a killed worker) or a page without a form (a 5xx,
                # counted above): this resident starts again, as a person would.
                tally.errors.append(type(error).__name__)


async def _run(base: str, residents: int, seconds: float, code: str, think: float = 0.0) -> Tally:
    tally = Tally(think=think)
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(resident(base, tally, code, deadline) for _ in range(residents)))
    return tally


def run_coroutine(coroutine):
    """Run a coroutine on a thread of its own: the caller may already have an event loop
    (Playwright's, in the same test session)."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed back to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run(base: str, residents: int, seconds: float, code: str = "demo", think: float = 0.0) -> Tally:
    """Simulate residents completing the survey for `seconds`; return what happened.

    `think` is the mean pause before each request (0: as fast as the server answers)."""
    return run_coroutine(_run(base, residents, seconds, code, think))
