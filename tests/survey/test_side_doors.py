"""No exact count through a side door: a motivated intruder who knows the publication
rules and the (public) perturbation table tries to work a group's true number of
respondents back from the other figures on its row, and to watch a count while planting
responses through a live link. Neither may give more than the published, perturbed count.

The tests know the true counts (read from the database); the intruder does not.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from analysis.intervals import design_proportion_ci
from analysis.perturbation import KEY_RANGE, KEYED, TEN_FIVE, load_ptable
from survey import models
from survey.extensions import db
from survey.models import Link
from survey.publication import Gate
from tests.counts import could_publish, true_counts
from tests.resident import Resident, page
from tests.routes import staff_clients

TABLES = [
    ("aware", "borough", "", "yes"),
    ("aware", "sex", "", "yes"),
    ("aware", "ethnic_group", "sex", "yes"),
    ("aware", "age_band", "sex", "yes"),
    ("confident_helps", "religion", "", "yes"),
    ("aware", "borough", "", "no"),
    ("aware", "ethnic_group", "sex", "no"),
    ("knows_help", "age_band", "sex", "no"),
]


def inversions(row: dict, weighted: bool) -> list[set[int]]:
    """For each way of working a row's count back from its other figures, every count
    consistent with them as published (rounded): the intruder learns a count when one is
    left."""
    found = []
    if row["n_eff"] is not None and row["deff"] is not None:
        # Weighted, n_eff x deff = n - 1; unweighted, n_eff is n itself and deff 1.
        low = (row["n_eff"] - 0.5) * (row["deff"] - 0.005)
        high = (row["n_eff"] + 0.5) * (row["deff"] + 0.005)
        shift = 1 if weighted else 0
        found.append(set(range(math.ceil(low) + shift, math.floor(high) + shift + 1)))
    if not weighted and row["numerator"] is not None and row["estimate"]:
        found.append(
            {
                size
                for size in range(1, 10 * row["n"])
                if round(row["numerator"] / size, 3) == row["estimate"]
            }
        )
    if weighted and row["estimate"] is not None and row["se"] and row["ci_low"] is not None:
        # The Korn-Graubard interval caps its effective size at the group's size: try each
        # size the published count allows, and keep those that give the interval shown.
        found.append(
            {
                size
                for size in range(max(row["n"] - 4, 2), row["n"] + 5)
                if _interval(row, size)
                == pytest.approx((row["ci_low"], row["ci_high"]), abs=1.1e-3)
            }
        )
    return found


def _interval(row, size: int) -> tuple[float, float]:
    ci = design_proportion_ci(row["estimate"], row["se"], n=size, df=size - 1).ci
    return round(ci.low, 3), round(ci.high, 3)


def test_no_figure_on_a_row_gives_its_true_count_back(app, demo, db_session):
    clients, _ = staff_clients(app, synthetic_responses=1500)
    analyst = clients["analyst"]
    tried = differs = 0
    for indicator, first, second, weighted in TABLES:
        query = f"indicator={indicator}&by={first}&by2={second}&weighted={weighted}"
        response = analyst.get(f"/staff/analysis/download.json?{query}")
        assert response.status_code == 200, query
        rows = json.loads(response.data)["rows"]
        codes = [first, second] if second else [first]
        not_stated = ("prefer_not_to_say",) if second else ()
        truth = true_counts(db_session, codes, indicator, leave_out=not_stated)
        for row in rows:
            if row["n"] is None:
                continue
            true = truth[tuple(row[c] for c in codes)]
            assert row["n"] in could_publish(true)
            for counts in inversions(row, weighted == "yes"):
                tried += 1
                # The figures are worked from the published count: it fits them ...
                assert row["n"] in counts, (query, row, counts)
                # ... and they never single out the true one where it differs.
                assert counts != {true} or true == row["n"], (query, row, true)
            differs += true != row["n"]
    assert tried > 100 and differs > 50, (tried, differs)


def test_trend_intervals_give_back_only_the_published_counts(app, demo):
    """The trends page's intervals used to carry each point's true count in their cap and
    degrees of freedom (every point of the trend by sex could be inverted). Now every
    interval is the one its published count gives: its cap, and its degrees of freedom
    (the group's own, one quarter: the count less one)."""
    clients, _ = staff_clients(app, synthetic_responses=1500)
    tried = 0
    for by in ("sex", "age_band", "borough"):
        document = json.loads(
            clients["analyst"]
            .get(f"/staff/analysis/trends/trend.json?indicator=aware&by={by}&periods=quarter")
            .data
        )
        rows = [r for r in document["rows"] if r["estimate"] is not None and r["se"]]
        for row in rows:
            fits = {
                size
                for size in range(max(row["n"] - 4, 2), row["n"] + 5)
                if _trend_interval(row, size, size - 1)
                == pytest.approx((row["ci_low"], row["ci_high"]), abs=1.1e-3)
            }
            tried += 1
            assert row["n"] in fits, (by, row, fits)
    assert tried > 30


def _trend_interval(row, size: int, df: float) -> tuple[float, float]:
    ci = design_proportion_ci(row["estimate"], row["se"], n=size, df=df).ci
    return round(ci.low, 3), round(ci.high, 3)


def test_the_raking_margins_in_the_metadata_give_no_count_back(app, demo, db_session):
    """Residents who did not say their sex, age or ethnic group are raked to their share of
    the responses; the margins are published so analysts can reproduce the weights. The
    share times the published number of responses must not give their count."""
    clients, _ = staff_clients(app, synthetic_responses=1500)
    document = json.loads(
        clients["analyst"].get("/staff/analysis/download.json?indicator=aware&by=sex").data
    )
    published = document["metadata"]["respondents"]
    tried = 0
    for margin, targets in document["metadata"]["raking_margins"].items():
        if "prefer_not_to_say" not in targets:
            continue
        share = targets["prefer_not_to_say"] / sum(targets.values())
        whole = {
            size: round(share * size)
            for size in range(published - 4, published + 5)
            if abs(share * size - round(share * size)) < 1e-6
        }
        tried += 1
        # Only the published number of responses fits: the share is of published counts.
        assert set(whole) <= {published}, (margin, whole)
    assert tried >= 2


# --- plant and watch ----------------------------------------------------------------------


def inferred(observations: list[str], gate: Gate) -> set[int]:
    """The counts the link could have held before planting, given what the page showed
    after each of 0, 1, 2, ... planted responses: the intruder knows the table, not the
    keys."""
    shown_as: dict[str, set[int]] = {}
    for count in range(0, 60):
        for key in range(KEY_RANGE):
            shown_as.setdefault(str(gate.count(count, key)), set()).add(count)
    possible = set(range(0, 60))
    for planted, seen in enumerate(observations):
        possible &= {count - planted for count in shown_as.get(seen, set())}
    return possible


@pytest.mark.parametrize(
    ("table", "exact"), [(KEYED, False), (TEN_FIVE, True)], ids=["keyed table", "10-5 table"]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planting_responses_through_a_link_and_watching_its_count_learns_no_exact_number(
    make_app, demo, monkeypatch, table, exact, seed
):
    """A link already used by 7 residents; the intruder sends 5 more through it, one at a
    time, reading the officer's link page after each. With the keyed table the page's
    changes never pin the 7 down; with ONS's 10-5 table (rounding, the same for every
    key) the same attack finds it exactly, as it did on the platform before."""
    keys = random.Random(seed)
    monkeypatch.setattr(models.secrets, "randbelow", keys.randrange)
    app = make_app(PERTURBATION_TABLE=str(table))
    clients, ids = staff_clients(app, synthetic_responses=300)
    officer = clients["officer"]
    with app.app_context():
        code = db.session.get(Link, ids["link_id"]).code

    def send(count: int) -> None:
        for _ in range(count):
            resident = Resident(app.test_client(), code)
            resident.complete()
            assert resident.submit().status_code == 303

    def completed() -> str:
        summary = page(officer.get(f"/staff/links/{ids['link_id']}"))
        row = next(
            r for r in summary.select(".govuk-summary-list__row") if "Completed" in r.dt.text
        )
        return row.dd.get_text(strip=True)

    send(7)  # the residents the intruder wants to count
    observations = [completed()]
    for _ in range(5):
        send(1)
        observations.append(completed())
    possible = inferred(observations, Gate(10, load_ptable(table)))
    assert 7 in possible, observations  # the inference is sound
    assert (possible == {7}) is exact, (observations, sorted(possible))
