"""The command line: documented columns, raking, and one-line errors with status 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from analysis import Proportion, summarise
from analysis.cli import main

COLUMNS = [
    "borough",
    "n",
    "numerator",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "n_eff",
    "deff_weighting",
    "deff",
    "method",
    "confidence_level",
    "reliability",
    "reliability_reasons",
    "interval_note",
    "disclosure",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "p_value",
    "p_adjusted",
]


@pytest.fixture
def survey_csv(tmp_path):
    rng = np.random.default_rng(11)
    size = 1200
    borough = rng.choice(["E09000001", "E09000030", "E09000007"], size=size, p=[0.05, 0.6, 0.35])
    sex = rng.choice(["female", "male"], size=size, p=[0.65, 0.35])
    heard = np.where(rng.random(size) < np.where(sex == "female", 0.7, 0.45), "yes", "no")
    heard[rng.random(size) < 0.05] = "dont_know"
    weight = rng.uniform(0.5, 2.0, size=size)
    path = tmp_path / "survey.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["borough", "sex", "heard", "w"])
        writer.writerows(zip(borough, sex, heard, weight.round(6), strict=True))
    margins = tmp_path / "margins.csv"
    margins.write_text(
        "variable,category,population\n"
        "borough,E09000001,10000\nborough,E09000030,300000\nborough,E09000007,200000\n"
        "sex,female,255000\nsex,male,255000\n"
    )
    return path, margins, {"borough": borough, "sex": sex, "heard": heard, "w": weight}


def run(args, capsys) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_summarise_writes_the_documented_columns_and_an_all_row(survey_csv, capsys):
    path, _, _ = survey_csv
    status, out, _ = run(
        [
            "summarise",
            path,
            "--indicator",
            "heard",
            "--positive",
            "yes",
            "--exclude",
            "dont_know",
            "--by",
            "borough",
        ],
        capsys,
    )
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == COLUMNS
    assert rows[-1]["borough"] == "All"
    assert {r["borough"] for r in rows} == {"E09000001", "E09000030", "E09000007", "All"}


def test_summarise_with_margins_rakes_and_matches_the_python_api(survey_csv, capsys):
    path, margins, data = survey_csv
    status, out, _ = run(
        [
            "summarise",
            path,
            "--indicator",
            "heard",
            "--positive",
            "yes",
            "--exclude",
            "dont_know",
            "--by",
            "sex",
            "--margins",
            margins,
            "--format",
            "json",
        ],
        capsys,
    )
    assert status == 0
    document = json.loads(out)
    assert document["metadata"]["raking"]["iterations"] >= 1
    api = summarise(
        data,
        indicator=Proportion("heard", ["yes"], ["dont_know"]),
        by="sex",
        margins={
            "borough": {"E09000001": 10000, "E09000030": 300000, "E09000007": 200000},
            "sex": {"female": 255000, "male": 255000},
        },
    )
    for row in document["rows"]:
        expected = api.row(row["sex"])
        assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-12)
        assert row["ci_low"] == pytest.approx(expected.ci_low, rel=1e-12)


def test_two_way_breakdowns_and_weights(survey_csv, capsys):
    path, _, _ = survey_csv
    status, out, _ = run(
        [
            "summarise",
            path,
            "--indicator",
            "heard",
            "--positive",
            "yes",
            "--by",
            "borough,sex",
            "--weight",
            "w",
            "--method",
            "logit",
        ],
        capsys,
    )
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:3] == ["borough", "sex", "n"]
    assert rows[-1]["borough"] == rows[-1]["sex"] == "All"
    assert {r["method"] for r in rows if r["disclosure"] == "published"} <= {
        "logit",
        "korn_graubard",
    }


def test_rake_adds_a_weight_column_that_meets_the_margins(survey_csv, tmp_path, capsys):
    path, margins, data = survey_csv
    output = tmp_path / "weighted.csv"
    status, _, err = run(["rake", path, "--margins", margins, "--output", output], capsys)
    assert status == 0 and "raked in" in err
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["borough", "sex", "heard", "w", "weight"]
    total = sum(float(r["weight"]) for r in rows if r["sex"] == "female")
    assert total == pytest.approx(255000, rel=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "postcode"], "no column 'postcode'"),
        (["--by", "borough", "--weight", "heard"], "not a number"),
        (["--by", "borough", "--method", "exact"], "method must be one of"),
        (["--by", "borough", "--confidence", "95"], "confidence_level must be"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(survey_csv, capsys, extra, message):
    path, _, _ = survey_csv
    status, _, err = run(
        ["summarise", path, "--indicator", "heard", "--positive", "yes", *extra], capsys
    )
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_negative_weights_and_empty_files_are_refused(tmp_path, capsys):
    negative = tmp_path / "negative.csv"
    negative.write_text("g,y,w\na,yes,1\nb,no,-2\n")
    status, _, err = run(
        [
            "summarise",
            negative,
            "--indicator",
            "y",
            "--positive",
            "yes",
            "--by",
            "g",
            "--weight",
            "w",
        ],
        capsys,
    )
    assert status == 2 and "negative weight" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    status, _, err = run(
        ["summarise", empty, "--indicator", "y", "--positive", "yes", "--by", "g"], capsys
    )
    assert status == 2 and "is empty" in err


def test_the_module_runs_as_a_program_without_a_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "summarise",
            str(tmp_path / "missing.csv"),
            "--indicator",
            "y",
            "--positive",
            "yes",
            "--by",
            "g",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_one_response_gives_a_table_not_a_traceback(tmp_path, capsys):
    one = tmp_path / "one.csv"
    one.write_text("\ufeffg,y\na,yes\n", encoding="utf-8")  # with Excel's byte-order mark
    status, out, err = run(
        ["summarise", one, "--indicator", "y", "--positive", "yes", "--by", "g"], capsys
    )
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["g"] for row in rows] == ["a", "All"]
    assert rows[0]["disclosure"] != "published"  # one response is never shown


def test_only_the_columns_asked_for_are_read(tmp_path, capsys):
    data = tmp_path / "wide.csv"
    rows = ["g,y,notes"] + [
        f'{"ab"[i % 2]},{"yes" if i % 3 else "no"},"free, text"' for i in range(60)
    ]
    data.write_text("\n".join(rows) + "\n")
    status, out, err = run(
        ["summarise", data, "--indicator", "y", "--positive", "yes", "--by", "g"], capsys
    )
    assert status == 0, err
    assert "notes" not in out.splitlines()[0]
    status, _, err = run(
        ["summarise", data, "--indicator", "y", "--positive", "yes", "--by", "missing"], capsys
    )
    assert status == 2 and "no column 'missing'" in err


def test_categories_are_sorted_never_in_the_files_order(survey_csv, tmp_path, capsys):
    """The same responses in another row order give the same reference categories and the
    same table: categories are kept in sorted order, not in order of first appearance."""
    from analysis.cli import read_columns
    from analysis.regression import survey_logistic

    path, _, data = survey_csv
    order = np.argsort(data["borough"], kind="stable")[::-1]  # E09000030 rows first
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["borough", "sex", "heard", "w"])
        for i in order:
            writer.writerow([data["borough"][i], data["sex"][i], data["heard"][i], data["w"][i]])
    fits, tables = [], []
    for file in (path, shuffled):
        columns = read_columns(str(file), ["borough", "sex", "heard"])
        assert columns["borough"].labels == ("E09000001", "E09000007", "E09000030")
        fits.append(
            survey_logistic(
                columns,
                indicator=Proportion("heard", ("yes",), ("dont_know",)),
                predictors=["borough", "sex"],
            )
        )
        args = ["summarise", file, "--indicator", "heard", "--positive", "yes", "--by", "borough"]
        status, out, _ = run(args, capsys)
        assert status == 0
        tables.append([row["borough"] for row in csv.DictReader(io.StringIO(out))])
    assert fits[0].references == fits[1].references == {"borough": "E09000001", "sex": "female"}
    assert tables[0] == tables[1] == ["E09000001", "E09000007", "E09000030", "All"]
