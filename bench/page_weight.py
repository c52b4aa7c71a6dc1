"""Benchmark: what a resident's phone downloads, and how long a page turn takes on slow 3G.

Serves the built app with gunicorn on loopback (SQLite, the demo questionnaire), then walks
the whole English journey in Debian's chromium with the DevTools protocol's network
throttling on DevTools' "Slow 3G" profile: 2 s round trip, 400 kbit/s each way. Every byte
is counted as Chromium counts it (headers included, as sent: compressed), per page.

Targets (issue 16):
- first visit to the start page: at most 40 KB transferred;
- every later page turn transfers only its HTML: no stylesheet, script or icon, not even a
  revalidation request;
- the whole journey, start to confirmation: under 100 KB;
- a page turn (answer sent, 303, next page) within 2 round trips plus the time its HTML
  takes at 400 kbit/s. The journey is walked twice in the same run, first unthrottled: a
  page turn's time there (the server's work, the browser's rendering and the driver, all
  on this one machine) is the baseline, and what throttling adds is the network's time.
  Printed as a ratio to that floor (2 round trips + transfer, from this run's own transfer
  sizes): at most 1. The raw throttled time is printed beside it.

    .venv/bin/python bench/page_weight.py [--rtt-ms 2000] [--kbps 400]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.load.conftest import Server  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 375, "height": 667}
FIRST_VISIT_KB = 40
JOURNEY_KB = 100
KB = 1000  # bytes, as DevTools shows them
JITTER = 0.05  # a page turn measured at the floor scatters a few hundredths either side


@dataclass
class Fetch:
    url: str
    kind: str
    bytes: int = 0
    from_cache: bool = False
    status: int | None = None
    hops: int = 0  # redirects followed


@dataclass
class Recorder:
    """Every request Chromium makes, from the DevTools protocol's Network events."""

    fetches: dict[str, Fetch] = field(default_factory=dict)

    def listen(self, cdp) -> None:
        cdp.on("Network.requestWillBeSent", self.sent)
        cdp.on("Network.requestServedFromCache", self.cached)
        cdp.on("Network.responseReceived", self.received)
        cdp.on("Network.loadingFinished", self.finished)

    def sent(self, event) -> None:
        fetch = self.fetches.get(event["requestId"])
        if fetch is None:
            fetch = self.fetches[event["requestId"]] = Fetch(
                event["request"]["url"], event.get("type", "Other")
            )
        if "redirectResponse" in event:  # the 303 after an answer: its bytes count too
            fetch.bytes += int(event["redirectResponse"].get("encodedDataLength", 0))
            fetch.hops += 1
            fetch.url = event["request"]["url"]

    def cached(self, event) -> None:
        if event["requestId"] in self.fetches:
            self.fetches[event["requestId"]].from_cache = True

    def received(self, event) -> None:
        fetch = self.fetches.get(event["requestId"])
        if fetch is not None:
            response = event["response"]
            fetch.status = response["status"]
            fetch.from_cache |= bool(response.get("fromDiskCache"))

    def finished(self, event) -> None:
        fetch = self.fetches.get(event["requestId"])
        if fetch is not None:
            fetch.bytes += int(event.get("encodedDataLength", 0))

    def take(self) -> list[Fetch]:
        taken, self.fetches = list(self.fetches.values()), {}
        return taken


@dataclass
class Page:
    name: str
    seconds: float
    fetches: list[Fetch]
    local_seconds: float = 0.0  # the same page turn, unthrottled

    @property
    def network(self) -> list[Fetch]:
        return [f for f in self.fetches if not f.from_cache and f.bytes > 0]

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.network)

    @property
    def html_bytes(self) -> int:
        return sum(f.bytes for f in self.network if f.kind == "Document")

    @property
    def others(self) -> list[Fetch]:
        """What came over the network besides the page itself: should be nothing."""
        return [f for f in self.network if f.kind != "Document"]


def answer(page) -> None:
    """Give the question on screen an answer (any valid one) and select Continue."""
    for selector in ("input[type=radio][name=answer]", "input[type=checkbox][name=answer]"):
        if page.locator(selector).count():
            page.locator(selector).first.check()
            break
    else:
        if page.locator("select[name=answer]").count():
            page.select_option("select[name=answer]", index=1)
        elif page.locator("input[name=answer]").count():
            page.fill("input[name=answer]", "3")


def turn(page, recorder: Recorder, name: str, selector: str) -> Page:
    """Select the button and time until the next page has loaded."""
    started = time.perf_counter()
    with page.expect_navigation(wait_until="load", timeout=120_000):
        page.click(selector)
    seconds = time.perf_counter() - started
    page.wait_for_timeout(300)  # let the last Network events arrive
    return Page(name, seconds, recorder.take())


def walk(base: str, rtt_ms: int, kbps: int) -> list[Page]:
    """Walk the journey unthrottled, then throttled, each in a fresh browser context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        local = walk_once(browser, base, None)
        pages = walk_once(browser, base, (rtt_ms, kbps))
        browser.close()
    for throttled, unthrottled in zip(pages, local, strict=True):
        throttled.local_seconds = unthrottled.seconds
    return pages


def walk_once(browser, base: str, throttle: tuple[int, int] | None) -> list[Page]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    recorder = Recorder()
    recorder.listen(cdp)
    cdp.send("Network.enable")
    if throttle is not None:
        rtt_ms, kbps = throttle
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": rtt_ms,
                "downloadThroughput": kbps * 1000 / 8,
                "uploadThroughput": kbps * 1000 / 8,
            },
        )
    pages: list[Page] = []
    started = time.perf_counter()
    page.goto(base + "/s/demo", wait_until="load", timeout=120_000)
    page.wait_for_timeout(300)
    first = Page("start page (first visit)", time.perf_counter() - started, recorder.take())
    pages.append(first)
    pages.append(turn(page, recorder, "first question", "#start-button"))
    for _ in range(40):
        if "/check-answers" in page.url:
            break
        name = page.url.rsplit("/q/", 1)[-1]
        answer(page)
        pages.append(turn(page, recorder, f"after {name}", "main button.govuk-button"))
    pages[-1].name = "check answers"
    pages.append(turn(page, recorder, "confirmation", "#submit-button"))
    context.close()
    return pages


def report(pages: list[Page], rtt_ms: int, kbps: int) -> bool:
    bytes_per_second = kbps * 1000 / 8
    print(f"\nSlow 3G: {rtt_ms / 1000:g} s round trip, {kbps} kbit/s. KB = 1,000 bytes.")
    print("local: the same page unthrottled; network: throttled minus local;")
    print("floor: 2 round trips + the page's bytes at the throttled speed.\n")
    print(
        f"{'page':32} {'requests':>8} {'KB':>5} {'other':>5} {'seconds':>7} {'local':>5} "
        f"{'network':>7} {'floor':>5} {'ratio':>5}"
    )
    worst = 0.0
    for index, shown in enumerate(pages):
        network = shown.seconds - shown.local_seconds
        floor = 2 * rtt_ms / 1000 + shown.html_bytes / bytes_per_second
        if index > 0:
            worst = max(worst, network / floor)
        print(
            f"{shown.name[:32]:32} {len(shown.network):>8} {shown.bytes / KB:>5.1f} "
            f"{len(shown.others):>5} {shown.seconds:>7.2f} {shown.local_seconds:>5.2f} "
            + (f"{network:>7.2f} {floor:>5.2f} {network / floor:>5.2f}" if index else "")
        )
    first = pages[0].bytes / KB
    journey = sum(p.bytes for p in pages) / KB
    others = [f.url for p in pages[1:] for f in p.others]
    checks = [
        (f"first visit {first:.1f} KB (target at most {FIRST_VISIT_KB})", first <= FIRST_VISIT_KB),
        (f"later page turns fetched {len(others)} other files (target 0)", not others),
        (f"whole journey {journey:.1f} KB (target under {JOURNEY_KB})", journey < JOURNEY_KB),
        (
            f"slowest page turn's network time {worst:.2f} x floor (target at most 1; "
            f"{JITTER} allowed for timing jitter, as the floor is the theoretical minimum)",
            worst <= 1 + JITTER,
        ),
    ]
    print()
    for text, met in checks:
        print(("met:     " if met else "NOT MET: ") + text)
    for url in others:
        print("  also fetched:", url)
    return all(met for _text, met in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt-ms", type=int, default=2000, help="round trip (default 2000)")
    parser.add_argument("--kbps", type=int, default=400, help="kbit/s each way (default 400)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder), f"sqlite:///{folder}/survey.db")
        print("Preparing the database and starting gunicorn...", flush=True)
        server.prepare()
        server.start()
        try:
            print(
                "Walking the journey unthrottled, then on slow 3G (about two minutes)...",
                flush=True,
            )
            pages = walk(server.base, args.rtt_ms, args.kbps)
        finally:
            server.stop()
    return 0 if report(pages, args.rtt_ms, args.kbps) else 1


if __name__ == "__main__":
    sys.exit(main())
