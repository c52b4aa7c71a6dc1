"""Every CSV the platform offers, staff and public: one character set in its Content-Type,
and pandas reads it with no options, each column its CSV on the Web metadata declares a
number coming back as numbers (not text such as "np.float64(0.35)")."""

from __future__ import annotations

import io
import json

import pandas as pd

from tests.routes import release_ids, staff_clients

# (who, CSV address, its CSVW metadata's address or None)
OFFERED = (
    ("analyst", "/staff/analysis/download.csv?indicator=aware&by=borough", "download.csvw"),
    (
        "analyst",
        "/staff/analysis/download.csv?indicator=aware&by=age_band&by2=sex&weighted=no",
        "download.csvw",
    ),
    ("analyst", "/staff/analysis/trends/trend.csv?indicator=aware", "trend.csvw"),
    ("analyst", "/staff/analysis/trends/change.csv?indicator=aware", "change.csvw"),
    ("analyst", "/staff/analysis/least-reached.csv?indicator=aware", "least-reached.csvw"),
    ("public", "/results/{release_id}/data.csv", "data.csvw"),
    ("admin", "/staff/admin/microdata.csv", None),
    ("admin", "/staff/admin/codebook.csv", None),
)
NUMBERS = {"integer", "double", "decimal", "number"}


def metadata_address(address: str, csvw: str) -> str:
    path, _, query = address.partition("?")
    folder = path.rsplit("/", 1)[0]
    return f"{folder}/{csvw}" + (f"?{query}" if query else "")


def test_every_csv_has_one_charset_and_reads_back_as_numbers(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=1500)
    ids = release_ids(app)
    clients["public"] = app.test_client()
    checked = []
    for who, address, csvw in OFFERED:
        address = address.format(**ids)
        client = clients[who]
        response = client.get(address)
        assert response.status_code == 200, (address, response.status_code)
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", address
        frame = pd.read_csv(io.BytesIO(response.data))
        assert len(frame.columns) > 1 and len(frame) > 0, address
        if csvw is None:
            continue
        metadata = json.loads(client.get(metadata_address(address, csvw)).data)
        declared = {c["name"]: c["datatype"] for c in metadata["tableSchema"]["columns"]}
        assert list(declared) == list(frame.columns), address
        numeric = [name for name, kind in declared.items() if kind in NUMBERS]
        for name in numeric:
            assert pd.api.types.is_numeric_dtype(frame[name]), (address, name, frame[name].head())
        checked.append((address, len(numeric)))
    assert all(count > 0 for _address, count in checked), checked
    assert len(checked) == sum(1 for *_rest, csvw in OFFERED if csvw)
