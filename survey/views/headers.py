"""Security and caching headers on every response, error pages included."""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def static_headers_for(production: bool):
    """The same headers on static files, which WhiteNoise serves before Flask sees them."""

    def add(headers, _path: str, _url: str) -> None:
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)

    return add


def register(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if app.config["SURVEY_ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
