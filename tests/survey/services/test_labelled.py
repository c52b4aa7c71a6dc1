"""The microdata extract opens in SPSS, Stata and R with every label, in each of the
questionnaire's languages: each file is read back (pyreadstat for SPSS and Stata, R itself
where it is installed) and compared with the CSV and the codebook."""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess

import pyreadstat
import pytest

from survey.services.labelled import (
    SPSS_VALUE_LABEL_BYTES,
    SPSS_VARIABLE_LABEL_BYTES,
    STATA_VARIABLE_LABEL_CHARACTERS,
    fit_bytes,
    fit_characters,
    r_text,
)
from survey.services.microdata import file_names
from tests.routes import staff_clients

LANGUAGES = ("en", "pl", "bn", "ur")


@pytest.fixture
def admin(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=400)
    return clients["admin"]


def download(client, name: str, query: str = "") -> bytes:
    response = client.get(f"/staff/admin/{name}{query}")
    assert response.status_code == 200, response.status_code
    return response.data


def extract_rows(client, query: str = "") -> list[dict]:
    text = download(client, "microdata.csv", query).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def codebook(client, query: str = "") -> tuple[dict, dict]:
    """The codebook's label for each column and its {value: (code, label)} for each."""
    text = download(client, "codebook.csv", query).decode("utf-8-sig")
    labels: dict[str, str] = {}
    values: dict[str, dict[str, tuple[int, str]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["question"]:
            labels[row["column"]] = row["question"]
        elif row["code"]:
            values.setdefault(row["column"], {})[row["value"]] = (int(row["code"]), row["meaning"])
    return labels, values


def saved(tmp_path, data: bytes, suffix: str):
    path = tmp_path / f"extract{suffix}"
    path.write_bytes(data)
    return path


def code_in_file(value: str, coded: dict[str, tuple[int, str]] | None, stata: bool):
    """What a CSV cell becomes in an SPSS or Stata file."""
    if value == "":
        return None
    if coded is None:
        return value
    code = coded[value][0]
    return "s" if stata and value == "suppressed" else code


def same(written, expected) -> bool:
    """A cell read back from a file equals what the CSV says it should be."""
    if expected is None:
        return written is None or (isinstance(written, float) and math.isnan(written))
    if isinstance(written, float) and isinstance(expected, str):
        return written == float(expected)  # a number column
    return written == expected


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("name", "stata"), [("microdata.sav", False), ("microdata.dta", True)])
def test_spss_and_stata_files_hold_the_csv_with_every_label(admin, tmp_path, language, name, stata):
    query = f"?language={language}"
    rows = extract_rows(admin, query)
    labels, values = codebook(admin, query)
    path = saved(tmp_path, download(admin, name, query), name[-4:])
    reader = pyreadstat.read_dta if stata else pyreadstat.read_sav
    data, meta = reader(str(path), user_missing=True)

    assert list(data.columns) == list(rows[0])  # the same names, in the same order
    assert len(data) == len(rows) >= 380
    for column, label in zip(meta.column_names, meta.column_labels, strict=True):
        if stata:
            assert label == fit_characters(labels[column], STATA_VARIABLE_LABEL_CHARACTERS)
        else:
            assert label == fit_bytes(labels[column], SPSS_VARIABLE_LABEL_BYTES)
    for column, coded in values.items():
        written = meta.variable_value_labels[column]
        for value, (code, label) in coded.items():
            key = "s" if stata and value == "suppressed" else code
            assert written[key] == (label if stata else fit_bytes(label, SPSS_VALUE_LABEL_BYTES))
    for at, row in enumerate(rows):
        for column, value in row.items():
            expected = code_in_file(value, values.get(column), stata)
            assert same(data[column].iloc[at], expected), (column, value, data[column].iloc[at])


def test_withheld_values_are_missing_in_both_files_and_labelled(admin, tmp_path):
    rows = extract_rows(admin)
    withheld = [c for c in rows[0] if any(row[c] == "suppressed" for row in rows)]
    column = next(c for c in ("disability", "religion", "sex", "age_band") if c in withheld)
    sav_path = str(saved(tmp_path, download(admin, "microdata.sav"), ".sav"))
    dta_path = str(saved(tmp_path, download(admin, "microdata.dta"), ".dta"))
    sav, _ = pyreadstat.read_sav(sav_path)
    dta, _ = pyreadstat.read_dta(dta_path)
    _, sav_meta = pyreadstat.read_sav(sav_path, user_missing=True, metadataonly=True)
    _, dta_meta = pyreadstat.read_dta(dta_path, user_missing=True)  # metadata alone omits it
    suppressed = [at for at, row in enumerate(rows) if row[column] == "suppressed"]
    assert sav[column].iloc[suppressed].isna().all()  # -9 is declared missing in SPSS
    assert dta[column].iloc[suppressed].isna().all()  # .s is missing in Stata
    assert sav_meta.missing_ranges[column] == [{"lo": -9.0, "hi": -9.0}]
    assert dta_meta.missing_user_values[column] == ["s"]
    assert sav_meta.variable_value_labels[column][-9] == "Withheld to protect respondents"


def test_every_option_keeps_its_stable_code(admin, tmp_path):
    _data, meta = pyreadstat.read_sav(
        str(saved(tmp_path, download(admin, "microdata.sav"), ".sav")), metadataonly=True
    )
    assert meta.variable_value_labels["borough"][7] == "Camden"  # E09000007 is 7
    assert meta.variable_value_labels["ethnic_group"][1] == "Asian or Asian British"
    assert meta.variable_value_labels["heard_of_prevent"] == {1: "Yes", 2: "No", 3: "I'm not sure"}
    assert meta.variable_value_labels["confidence_helps"][98] == "Don't know"
    assert "heard_where_98" in meta.column_names  # "I can't remember" is code 98
    assert meta.variable_measure["confidence_helps"] == "ordinal"


def test_the_codebook_is_written_in_each_of_the_questionnaires_languages(admin):
    english, english_values = codebook(admin)
    for language in LANGUAGES[1:]:
        labels, values = codebook(admin, f"?language={language}")
        assert set(labels) == set(english)
        assert labels["heard_of_prevent"] != english["heard_of_prevent"]  # the question
        assert labels["synthetic"] != english["synthetic"]  # the platform's own words
        assert values["heard_of_prevent"]["yes"][0] == english_values["heard_of_prevent"]["yes"][0]
        assert values["heard_of_prevent"]["yes"][1] != "Yes"
    polish, _ = codebook(admin, "?language=pl")
    assert (
        polish["heard_of_prevent"] == "Czy przed dzisiejszym dniem słyszałeś o programie Prevent?"
    )
    assert download(admin, "codebook.csv", "?language=xx") == download(admin, "codebook.csv")


def test_the_r_script_labels_every_column_and_escapes_every_label(admin):
    rows = extract_rows(admin)
    script = download(admin, "microdata.R", "?language=bn").decode("utf-8")
    assert script.isascii()  # Bengali labels as \u escapes: R reads them alike everywhere
    for column in rows[0]:
        assert f'attr(extract${column}, "label")' in script
    assert r_text('Say "hi" \\ আ') == '"Say \\"hi\\" \\\\ \\u0986"'


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed here")
def test_r_reads_the_csv_with_labels(admin, tmp_path):
    rows = extract_rows(admin, "?language=pl")
    (tmp_path / "prevent-microdata.csv").write_bytes(download(admin, "microdata.csv"))
    (tmp_path / "prevent-microdata.R").write_bytes(download(admin, "microdata.R", "?language=pl"))
    _labels, values = codebook(admin, "?language=pl")
    check = (
        'source("prevent-microdata.R")\n'
        "cat(nrow(extract), ncol(extract), sep = '\\n')\n"
        "cat(attr(extract$heard_of_prevent, 'label'), sep = '\\n')\n"
        "cat(as.character(extract$heard_of_prevent), sep = '\\n')\n"
        "cat(sum(is.na(extract$information_seen_count)), sep = '\\n')\n"
    )
    (tmp_path / "check.R").write_text(check, encoding="utf-8")
    run = subprocess.run(
        ["Rscript", "check.R"],
        cwd=tmp_path,
        capture_output=True,
        env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()
    lines = run.stdout.decode("utf-8").splitlines()
    assert lines[0] == str(len(rows)) and lines[1] == str(len(rows[0]))
    assert lines[2] == "Czy przed dzisiejszym dniem słyszałeś o programie Prevent?"
    labels = {value: label for value, (_code, label) in values["heard_of_prevent"].items()}
    assert lines[3 : 3 + len(rows)] == [
        labels[row["heard_of_prevent"]] if row["heard_of_prevent"] else "NA" for row in rows
    ]
    assert lines[3 + len(rows)] == str(sum(row["information_seen_count"] == "" for row in rows))


def test_column_names_are_valid_in_spss_and_stata():
    long = "a" * 40
    assert file_names(["heard-where_1", long, long, "in", "IN", "borough"]) == [
        "heard_where_1",
        "a" * 32,
        "a" * 30 + "_2",
        "in_",
        "IN__2",
        "borough",
    ]


def test_labels_are_cut_at_a_character_not_inside_one():
    text = "আ" * 60  # three bytes each
    cut = fit_bytes(text, SPSS_VALUE_LABEL_BYTES)
    assert len(cut.encode()) <= SPSS_VALUE_LABEL_BYTES and cut.endswith("…")
    assert fit_bytes("short", 120) == "short"
    assert fit_characters("x" * 90, 80) == "x" * 79 + "…"


def test_each_download_is_recorded_with_its_language(admin, db_session):
    from sqlalchemy import select

    from survey.models import AuditEvent

    download(admin, "microdata.dta", "?language=ur")
    details = db_session.scalars(select(AuditEvent.detail)).all()
    assert any("prevent-microdata.dta" in d and "labels in Urdu" in d for d in details)
    response = admin.get("/staff/admin/microdata.dta?language=ur")
    assert 'filename="prevent-microdata-ur.dta"' in response.headers["Content-Disposition"]


def test_the_microdata_page_offers_every_format_in_the_chosen_language(admin):
    page = admin.get("/staff/admin/microdata?language=pl").get_data(as_text=True)
    for address in (
        '/staff/admin/microdata.csv"',
        "/staff/admin/microdata.sav?language=pl",
        "/staff/admin/microdata.dta?language=pl",
        "/staff/admin/microdata.R?language=pl",
        "/staff/admin/codebook.csv?language=pl",
    ):
        assert address in page, address
