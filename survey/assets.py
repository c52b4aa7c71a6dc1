"""Static files fit for a slow phone connection: content-hashed names cached for a year,
pre-compressed (brotli and gzip), served by WhiteNoise; resident pages compressed too.

`make` builds the files into `survey/static`, then runs ``python -m survey.assets`` to
give each a name carrying a hash of its content (``main.3f9a1c2b7d4e.css``), write
``manifest.json`` and compress them. Pages link to the hashed names, so a browser keeps
them for a year without asking again, and a changed file gets a new name.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

from flask import Flask, request
from whitenoise import WhiteNoise

STATIC = Path(__file__).parent / "static"
MANIFEST = "manifest.json"
HASHED = re.compile(r"\.[0-9a-f]{12}\.[a-z0-9]+$")
YEAR = 365 * 24 * 60 * 60  # seconds
COMPRESSIBLE = (".css", ".js", ".mjs", ".svg", ".json")
# app.mjs imports the GOV.UK Frontend bundle by name: hash that first and rewrite the import.
FIRST = ("js/govuk-frontend.min.js",)


def build(root: Path = STATIC) -> dict[str, str]:
    """Give every built file a content-hashed copy, write the manifest, and compress."""
    for old in root.rglob("*"):
        if old.is_file() and (HASHED.search(old.name.removesuffix(".gz").removesuffix(".br"))):
            old.unlink()
    sources = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST and p.suffix not in (".gz", ".br")
    )
    names = [p.relative_to(root).as_posix() for p in sources]
    ordered = [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]
    manifest: dict[str, str] = {}
    for name in ordered:
        data = (root / name).read_bytes()
        if name.endswith(".mjs"):
            data = _rewrite_imports(name, data, manifest)
        digest = hashlib.sha256(data).hexdigest()[:12]
        path = Path(name)
        hashed = path.with_name(f"{path.stem}.{digest}{path.suffix}").as_posix()
        (root / hashed).write_bytes(data)
        manifest[name] = hashed
        if path.suffix in COMPRESSIBLE:
            _compress(root / hashed, data)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _rewrite_imports(name: str, data: bytes, manifest: dict[str, str]) -> bytes:
    text = data.decode("utf-8")
    folder = Path(name).parent
    for original, hashed in manifest.items():
        if Path(original).parent == folder:
            text = text.replace(f'"./{Path(original).name}"', f'"./{Path(hashed).name}"')
    return text.encode("utf-8")


def _compress(path: Path, data: bytes) -> None:
    import brotli

    Path(f"{path}.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    Path(f"{path}.br").write_bytes(brotli.compress(data, quality=11))


def init_app(app: Flask) -> None:
    """Serve /static/ with WhiteNoise, link pages to the hashed names, and compress resident
    pages' HTML."""
    from survey.views.headers import static_headers_for

    manifest_path = STATIC / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    @app.url_defaults
    def hashed_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in manifest:
            values["filename"] = manifest[values["filename"]]

    app.wsgi_app = _YearLong(  # type: ignore[method-assign]
        app.wsgi_app,
        root=str(STATIC),
        prefix="static/",
        max_age=0,  # an unhashed name may change: ask each time
        immutable_file_test=lambda _path, url: bool(HASHED.search(url)),
        add_headers_function=static_headers_for(app.config["SURVEY_ENV"] == "production"),
    )


class _YearLong(WhiteNoise):
    """WhiteNoise, with hashed files cached for a year rather than its ten."""

    FOREVER = YEAR


def init_compression(app: Flask, blueprints) -> None:
    """Compress the HTML of resident pages (brotli, or gzip), where a slow connection
    matters. Staff pages are left uncompressed: they carry the CSRF token of a signed-in
    member of staff, and compression beside reflected text is what BREACH attacks."""
    from flask_compress import Compress

    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress = Compress(app)
    names = {blueprint.name for blueprint in blueprints}

    @app.after_request
    def compress_resident_pages(response):
        if request.blueprint in names:
            return compress.after_request(response)
        return response


if __name__ == "__main__":
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else STATIC)
    print(f"Hashed and compressed {len(built)} static files")
