"""Pages fit for a slow phone connection: static files under content-hashed names cached
for a year and sent compressed, resident pages' HTML compressed."""

from __future__ import annotations

import re

import pytest

from survey.assets import HASHED, MANIFEST, STATIC
from tests.resident import page


def linked_static(response) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', response.get_data(as_text=True))


def test_pages_link_only_to_hashed_static_files(client, demo):
    links = linked_static(client.get("/s/demo"))
    assert len(links) == 3  # icon, stylesheet, script
    assert all(HASHED.search(link) for link in links), links


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_static_files_are_cached_for_a_year_and_sent_compressed(client, demo, encoding):
    for link in linked_static(client.get("/s/demo")):
        with client.get(link, headers={"Accept-Encoding": encoding}) as response:
            check_static(response, link, encoding)


def check_static(response, link: str, encoding: str) -> None:
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "max-age=31536000, public, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Encoding"] == encoding, link
    assert "Accept-Encoding" in response.headers["Vary"]


def test_a_script_imports_the_hashed_name_of_what_it_needs(client, demo):
    script = next(link for link in linked_static(client.get("/s/demo")) if "app." in link)
    with client.get(script) as response:
        body = response.get_data(as_text=True)
    imported = re.findall(r'from "\./([^"]+)"', body)
    assert imported and all(HASHED.search(name) for name in imported)
    with client.get(f"/static/js/{imported[0]}") as response:
        assert response.status_code == 200


@pytest.mark.parametrize("path", ["/s/demo", "/privacy", "/accessibility"])
def test_resident_pages_are_sent_compressed(client, demo, path):
    response = client.get(path, headers={"Accept-Encoding": "br, gzip"})
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "no-store"
    plain = client.get(path)
    assert "Content-Encoding" not in plain.headers
    assert page(plain).select_one("h1")


def test_staff_pages_are_not_compressed(client):
    # They carry a signed-in member of staff's CSRF token: no compression beside it (BREACH).
    response = client.get("/staff/sign-in", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers


def test_the_manifest_names_every_built_file():
    import json

    manifest = json.loads((STATIC / MANIFEST).read_text())
    assert set(manifest) >= {"css/main.css", "js/app.mjs", "js/govuk-frontend.min.js"}
    for hashed in manifest.values():
        assert (STATIC / hashed).exists()
