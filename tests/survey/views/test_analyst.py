"""The analyst workspace: figures equal the command line's, downloads carry what the page
shows and nothing disclosive, spreadsheets are safe, downloads are audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey.demo import load_synthetic_responses
from survey.extensions import db
from survey.models import Answer, AuditEvent, Response
from survey.services.questionnaires import latest_version, questionnaire_for
from tests.counts import could_publish
from tests.resident import page
from tests.staff import create_staff, sign_in


def seed(app, count=1500, seed=7):
    with app.app_context():
        version = latest_version(db.session, "prevent-awareness")
        load_synthetic_responses(
            db.session, questionnaire_for(version), version.id, count, seed=seed
        )
        db.session.commit()


@pytest.fixture
def analyst(app, demo):
    seed(app)
    create_staff(app, "analyst@example.org", "analyst")
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    return client


def microdata(db_session) -> list[dict]:
    """Every response as one row of analysis variables, following the documented rules:
    outside London left out; a missing or "prefer not to say" weighting answer is its own
    category; ethnic groups are the five 2021 Census groups."""
    questionnaire = None
    from survey.models import QuestionnaireVersion

    version = db_session.scalar(select(QuestionnaireVersion))
    questionnaire = questionnaire_for(version)
    groups = {
        o.value: o.group or o.value for o in questionnaire.dimension_question("ethnicity").options
    }
    answers: dict[str, dict[str, str]] = {}
    for response_id, question_id, value in db_session.execute(
        select(Answer.response_id, Answer.question_id, Answer.value)
    ):
        answers.setdefault(response_id, {})[question_id] = value
    rows = []
    for response_id in db_session.scalars(select(Response.id)):
        given = answers.get(response_id, {})
        if given.get("borough") == "outside_london":
            continue
        age, sex = given.get("age_band"), given.get("sex")
        crossed = (
            f"{age}*{sex}"
            if age and sex and "prefer_not_to_say" not in (age, sex)
            else "prefer_not_to_say"
        )
        rows.append(
            {
                "borough": given.get("borough", "prefer_not_to_say"),
                "age_band_sex": crossed,
                "ethnic_group": groups.get(given.get("ethnicity"), "prefer_not_to_say"),
                "sex": sex or "",
                "heard": given.get("heard_of_prevent", ""),
            }
        )
    return rows


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("weighted", [True, False])
def test_web_figures_equal_the_command_line_on_the_same_responses(
    analyst, db_session, tmp_path, weighted
):
    query = f"indicator=aware&by=borough&weighted={'yes' if weighted else 'no'}"
    web = json.loads(analyst.get(f"/staff/analysis/download.json?{query}").data)
    data = tmp_path / "responses.csv"
    write_csv(data, microdata(db_session))
    args = [
        sys.executable,
        "-m",
        "analysis",
        "summarise",
        str(data),
        "--indicator",
        "heard",
        "--positive",
        "yes",
        "--by",
        "borough",
        "--format",
        "json",
        "--hide-first",
        "prefer_not_to_say",
    ]
    if weighted:
        margins = tmp_path / "margins.csv"
        with open(margins, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["variable", "category", "population"])
            for variable, targets in web["metadata"]["raking_margins"].items():
                for category, population in targets.items():
                    writer.writerow([variable, category, repr(population)])
        args += ["--margins", str(margins)]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    cli = {row["borough"]: row for row in json.loads(result.stdout)["rows"]}
    assert len(web["rows"]) == len(cli)
    # One vocabulary: every column the command line writes, the web download has too.
    assert set(json.loads(result.stdout)["rows"][0]) <= set(web["rows"][0])
    for row in web["rows"]:
        other = cli[row["borough"]]
        if other["n"] is not None and other["n"] < 10:
            assert row["disclosure"] != "published"  # under the threshold, whatever its noise
        if row["n"] is not None and other["n"] is not None:  # perturbed
            assert row["n"] in could_publish(other["n"])
        if other["estimate"] is None or row["estimate"] is None:
            continue  # the web reads the published counts: a group may show on one side only
        if weighted:  # the weighted share and its standard error need no count of people
            for name in ("estimate", "se"):
                assert row[name] == pytest.approx(other[name], abs=6e-4), (name, row)
        else:  # unweighted, the web's share is of the published counts
            assert row["estimate"] == pytest.approx(row["numerator"] / row["n"], abs=6e-4)
            assert row["estimate"] == pytest.approx(other["estimate"], abs=8 / other["n"])
        # Intervals and differences move with the published counts, by no more than the
        # noise (at most 4 people either way) could move them.
        noise = 0.02 if weighted else 8 / other["n"]
        for name in ("ci_low", "ci_high", "diff"):
            assert row[name] == pytest.approx(other[name], abs=noise), (name, row)


def test_the_page_shows_the_table_charts_and_plain_words(analyst):
    soup = page(analyst.get("/staff/analysis?indicator=aware&by=borough&weighted=yes"))
    assert "Has heard of Prevent by borough" in soup.select_one("h2").get_text()
    header = [th.get_text(strip=True) for th in soup.select("#estimates thead th")]
    assert header[:4] == ["Borough", "Responses", "Estimate", "Confidence interval"]
    text = soup.select_one("#estimates").get_text()
    words = {tr.select("td")[5].get_text(strip=True) for tr in soup.select("#estimates tbody tr")}
    assert "no clear difference" in words and words <= {
        "higher",
        "lower",
        "no clear difference",
        "",
    }
    assert "after adjusting for the number of groups" in soup.select_one("#comparison-key").text
    assert "rank" not in text.lower()
    svgs = soup.select("svg[role=img]")
    assert len(svgs) == 3  # the dot chart, the map, and direct against modelled estimates
    for svg in svgs:
        assert svg.select_one("title").get_text() and svg.select_one("desc").get_text()
    tiles = svgs[1].select("g > rect[width='56']")
    assert len(tiles) == 33
    assert any(t["fill"] == "url(#hatch)" for t in tiles)  # the City of London is hidden
    assert "synthetic" in soup.select_one(".govuk-warning-text").get_text()


def chart_labels(soup) -> list[str]:
    return [t.get_text(" ", strip=True) for t in soup.select("figure svg g > text")]


def test_charts_keep_the_tables_order_and_sort_by_estimate_only_when_asked(analyst):
    """Age bands keep their order, with no offer to sort them; boroughs keep the table's
    order until the analyst asks for them by estimate."""
    soup = page(analyst.get("/staff/analysis?indicator=aware&by=age_band"))
    table = [th.get_text(strip=True) for th in soup.select("#estimates tbody th")]
    shown = chart_labels(soup)
    assert shown == [label for label in table if label in shown][: len(shown)]
    assert shown[:2] == ["16 to 24", "25 to 34"]
    assert soup.select_one("#chart-order") is None
    soup = page(analyst.get("/staff/analysis?indicator=aware&by=borough"))
    assert chart_labels(soup)[:2] == ["Barking and Dagenham", "Barnet"]
    offer = soup.select_one("#chart-order a")
    assert offer.get_text() == "by estimate"
    soup = page(analyst.get("/staff/analysis" + offer["href"]))
    first = soup.select_one("figure svg g > title").get_text()
    estimates = [
        float(title.get_text().split(": ", 1)[1].split("%")[0])
        for title in soup.select("figure:first-of-type svg g > title")
    ]
    assert first and estimates == sorted(estimates)


def test_the_map_colours_boroughs_only_by_a_difference_the_survey_can_detect(analyst):
    soup = page(analyst.get("/staff/analysis?indicator=aware&by=borough&weighted=yes"))
    rows = {
        tr.th.get_text(strip=True): tr.select("td")[5].get_text(strip=True)
        for tr in soup.select("#estimates tbody tr")
    }
    # A low-reliability estimate (flagged [u]) is shown to staff but not compared.
    fills = {
        "higher": "#1d70b8",
        "lower": "#f47738",
        "no clear difference": "#f3f2f1",
        "": "#f3f2f1",
    }
    tiles = soup.select("svg.app-chart--map g")
    assert len(tiles) == 33
    for tile in tiles:
        name = tile.title.get_text().split(":")[0]
        fill = tile.rect["fill"]
        if fill == "url(#hatch)":
            continue
        assert fill == fills[rows[name]], (name, rows[name], fill)
        assert tile.select("text")[1].get_text().endswith("%")  # the estimate, as text
    legend = soup.select_one("svg.app-chart--map").find_parent("figure").get_text(" ")
    assert "at 95% confidence" in legend
    assert "Higher than the rest of London" in legend and "No clear difference" in legend
    assert " to " not in legend.split("Each area")[1]  # no overlapping band edges


def test_the_methods_note_reads_as_words(analyst):
    note = page(analyst.get("/staff/analysis?indicator=confident_helps&by=sex&weighted=yes"))
    text = note.select_one(".govuk-details__text").get_text()
    assert "Answers of 'Don't know' are left out" in text
    assert "dont_know" not in text and "95.0%" not in text
    assert "Intervals are 95% Korn-Graubard intervals." in text
    headline = note.select_one("h2 + p").get_text(" ", strip=True)
    assert "leave out answers of ‘Don't know’" in headline
    assert "“All of London” counts fewer responses" in headline


def test_suppressed_cells_say_why_in_words(analyst):
    soup = page(analyst.get("/staff/analysis?indicator=aware&by=borough&weighted=no"))
    city = next(
        tr
        for tr in soup.select("#estimates tbody tr")
        if tr.th.get_text(strip=True) == "City of London"
    )
    cells = [td.get_text(strip=True) for td in city.select("td")]
    assert cells[:3] == ["", "", ""]
    assert "Fewer than 10 responses" in cells[-1]


def test_the_weighting_page_shows_the_diagnostics(analyst, db_session):
    soup = page(analyst.get("/staff/analysis/weighting?indicator=aware&by=borough"))
    keys = [dt.get_text(strip=True) for dt in soup.select(".govuk-summary-list__key")]
    assert keys[:3] == [
        "Iterations",
        "Largest remaining margin error",
        "Weights of the middle 90% of respondents",
    ]
    deff_table = next(t for t in soup.select("table") if "Design effect" in t.caption.get_text())
    shown = {row.th.get_text(strip=True) for row in deff_table.select("tbody tr")}
    assert len(shown) >= 25 and "City of London" not in shown  # only boroughs of 10 or more
    sizes = {}
    for given in microdata(db_session):
        sizes[given["borough"]] = sizes.get(given["borough"], 0) + 1
    from survey.geography import BOROUGH_NAMES

    for code, name in BOROUGH_NAMES.items():
        assert (name in shown) == (sizes.get(code, 0) >= 10), name


def test_the_weighting_page_compares_each_margin_with_the_responses(analyst):
    query = "indicator=aware&by=borough"
    soup = page(analyst.get(f"/staff/analysis/weighting?{query}"))
    assert soup.select_one(".govuk-back-link")["href"] == f"/staff/analysis?{query}"
    captions = [t.caption.get_text(" ", strip=True) for t in soup.select("table")]
    for margin in ("Borough", "Age band and sex", "Ethnic group"):
        assert any(c.startswith(f"{margin}: share of the population") for c in captions), captions
    ages = next(t for t in soup.select("table") if t.caption.get_text().startswith("Age band"))
    rows = {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")]
        for tr in ages.select("tbody tr")
    }
    assert "25 to 34, Female" in rows
    targets = [float(cells[0].rstrip("%")) for cells in rows.values()]
    assert abs(sum(targets) - 100) < 0.5
    for target, sample, factor in rows.values():
        if "not shown" not in sample:  # a published share, and the scaling it needs
            expected = float(target.rstrip("%")) / float(sample.rstrip("%"))
            assert abs(float(factor) - expected) < 0.05 * expected


def test_every_download_format_carries_the_same_rows_and_the_metadata(analyst, db_session):
    query = "indicator=confident_helps&by=sex&by2=age_band&weighted=yes"
    document = json.loads(analyst.get(f"/staff/analysis/download.json?{query}").data)
    body = analyst.get(f"/staff/analysis/download.csv?{query}").data
    assert body.startswith(b"\xef\xbb\xbf")  # so Excel reads the labels as UTF-8
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, rows = lines[0], lines[1:]
    csvw = json.loads(analyst.get(f"/staff/analysis/download.csvw?{query}").data)
    meta = csvw["notes"][0]["body"]
    book = load_workbook(io.BytesIO(analyst.get(f"/staff/analysis/download.xlsx?{query}").data))
    sheet = list(book["Data"].iter_rows(values_only=True))
    about = [row[0] for row in book["Cover"].iter_rows(values_only=True)]
    assert len(rows) == len(document["rows"]) == len(sheet) - 1
    assert header == list(document["rows"][0]) == list(sheet[0])
    assert [c["name"] for c in csvw["tableSchema"]["columns"]] == header
    for name in (
        "questionnaire",
        "versions",
        "period",
        "indicator",
        "weighting",
        "population_figures",
        "interval_method",
        "confidence_level",
        "suppression_threshold",
        "generated_at",
        "software_version",
    ):
        assert name in document["metadata"] and name in meta
        if name not in {"generated_at", "software_version"}:  # the cover's second line
            heading = name.replace("_", " ").capitalize() + ": "
            assert any(line.startswith(heading) for line in about), name
    # Made a moment after the CSVW: the same software, its own time.
    assert re.fullmatch(
        re.escape(f"Made by {meta['software_version']} at ") + r"\d{4}-\d\d-\d\dT[\d:]+\+00:00\.",
        about[1],
    ), about[1]
    assert "preferred not to say" in document["methods_note"]
    assert "outside London" in document["methods_note"]
    assert csvw["dc:description"] == document["methods_note"] == about[3]
    estimate = header.index("estimate")
    for values in sheet[1:]:
        assert values[estimate] is None or isinstance(values[estimate], float)
    actions = [
        e.detail.split(":")[0]
        for e in db_session.scalars(select(AuditEvent).where(AuditEvent.action == "download"))
    ]
    assert sorted(actions) == ["csv", "csvw", "json", "xlsx"]


def test_suppressed_rows_carry_no_figures_in_any_download(analyst):
    query = "indicator=aware&by=borough&by2=sex&weighted=no"
    document = json.loads(analyst.get(f"/staff/analysis/download.json?{query}").data)
    figures = ("n", "estimate", "ci_low", "ci_high", "se", "n_eff", "diff", "p_adjusted")
    hidden = [r for r in document["rows"] if r["disclosure"] != "published"]
    assert hidden
    for row in hidden:
        assert all(row[name] is None for name in figures)
    for row in document["rows"]:
        if row["n"] is not None:
            assert row["n"] >= 10


def test_interval_methods_are_called_by_their_names(app, demo):
    from analysis.intervals import DESIGN_METHODS, METHOD_NAMES, SRS_METHODS
    from tests.routes import staff_clients

    assert set(METHOD_NAMES) == set(DESIGN_METHODS) | set(SRS_METHODS)
    clients, _ids = staff_clients(app)
    analyst = clients["analyst"]
    weighted = " ".join(
        page(analyst.get("/staff/analysis?method=korn_graubard_r")).get_text(" ").split()
    )
    assert "confidence intervals (Korn-Graubard as R's svyciprop (beta))" in weighted
    options = page(analyst.get("/staff/analysis?weighted=no")).select("#method option")
    assert [o.get_text(strip=True) for o in options][1:] == [METHOD_NAMES[m] for m in SRS_METHODS]
    assert "korn graubard" not in weighted and "_" not in " ".join(o.get_text() for o in options)
    note = analyst.get(
        "/staff/analysis/download.json?indicator=aware&by=sex&weighted=no&method=jeffreys"
    )
    assert "Intervals are 95% Jeffreys intervals." in json.loads(note.data)["methods_note"]


def test_the_estimates_page_offers_every_period_that_has_responses(app, demo, db_session):
    from sqlalchemy import func, select

    from survey.models import Response
    from tests.routes import staff_clients

    clients, _ids = staff_clients(app)
    first = db_session.scalar(select(func.min(Response.submitted_on)))
    assert first.year < dt.date.today().year - 1  # the demo's responses go back over two years
    options = [
        o["value"] for o in page(clients["analyst"].get("/staff/analysis")).select("#period option")
    ]
    assert str(first.year) in options
    assert f"{first.year}-Q{(first.month - 1) // 3 + 1}" == [o for o in options if "Q" in o][-1]
    assert f"{first:%Y-%m}" == [o for o in options if len(o) == 7 and "Q" not in o][-1]
