"""Configuration classes. Secrets come only from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Config:
    """Settings shared by every environment."""

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    QUESTIONNAIRE_DIR = str(PROJECT_ROOT / "questionnaires")
    QUESTIONNAIRE_ID = "prevent-awareness"  # the questionnaire links, coverage and reports use
    DRAFT_TTL = 24 * 60 * 60  # seconds a draft may sit untouched before it expires
    SPENT_TOKEN_TTL_DAYS = 7  # days a used submission token is kept to catch repeats

    MAX_CONTENT_LENGTH = 64 * 1024  # bytes in one request body
    MAX_FORM_PARTS = 50  # fields in one form post
    WTF_CSRF_TIME_LIMIT = 24 * 60 * 60  # seconds; matches the draft lifetime
    # Flask-WTF's extra HTTPS check wants a Referer header, which browsers never send here
    # (Referrer-Policy: no-referrer), so every form would fail over HTTPS. The token in
    # every form and SameSite session cookies are the protection instead.
    WTF_CSRF_SSL_STRICT = False

    SESSION_COOKIE_NAME = "survey_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False

    ARGON2_TIME_COST = 3  # passes (argon2-cffi's recommended default)
    ARGON2_MEMORY_COST = 64 * 1024  # KiB
    ARGON2_PARALLELISM = 4  # lanes
    SUPPRESSION_THRESHOLD = 10  # respondents; smaller counts are never shown to staff
    MICRODATA_K = 5  # responses that must share each combination of demographics
    PUBLIC_BASE_URL: str | None = None  # where residents reach the service (QR codes)
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    SIGN_IN_LIMIT = "10 per minute; 50 per day"  # per client address
    LINK_START_LIMIT = "60 per hour"  # drafts started per client address per link
    LINK_SUBMIT_LIMIT = "30 per hour"  # submissions per client address per link
    SERVICE_NAME = "London Prevent awareness survey"
    ORGANISATION_NAME = "London community safety partnership"
    CONTACT_EMAIL: str | None = None  # where residents report an accessibility problem
    # Translation statuses offered to residents (from the questionnaire file's `languages`).
    # Production offers only translations a fluent speaker has reviewed; set
    # LANGUAGE_STATUSES=reviewed,unreviewed to offer drafts too. English is always offered.
    LANGUAGE_STATUSES: tuple[str, ...] = ("reviewed", "unreviewed")
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "survey" / "translations")


class DevelopmentConfig(Config):
    """Local use: SQLite in the instance folder, a secret key kept beside it."""

    DEBUG = False  # the debugger would show tracebacks to anyone who reaches the port


class TestConfig(Config):
    """The test suite: fast, isolated, CSRF on (tests fetch real tokens)."""

    TESTING = True
    RATELIMIT_ENABLED = False  # tests that need the limits switch them on
    ARGON2_TIME_COST = 1  # cheap hashing keeps the suite fast; still argon2id
    ARGON2_MEMORY_COST = 1024  # KiB
    ARGON2_PARALLELISM = 1
    SECRET_KEY = "test-secret-key-not-for-use-anywhere-else"  # noqa: S105 (tests only)


class ProductionConfig(Config):
    """Production: PostgreSQL, secrets from the environment, secure cookies."""

    SESSION_COOKIE_SECURE = True
    LANGUAGE_STATUSES: tuple[str, ...] = ("reviewed",)


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


class ConfigurationError(RuntimeError):
    """The environment does not allow the app to start safely."""


def config_for(name: str) -> type[Config]:
    """Return the config class for SURVEY_ENV, naming the allowed values if it is wrong."""
    try:
        return CONFIGS[name]
    except KeyError:
        allowed = ", ".join(sorted(CONFIGS))
        raise ConfigurationError(f"SURVEY_ENV={name!r} is not one of: {allowed}") from None


def apply_environment(settings: dict, env_name: str, instance_path: str) -> None:
    """Fill secrets and the database URL from the environment, refusing unsafe production."""
    secret = os.environ.get("SECRET_KEY")
    database_url = os.environ.get("DATABASE_URL")
    if env_name == "production":
        if not secret or len(secret) < 32:
            raise ConfigurationError(
                "Production needs SECRET_KEY in the environment (at least 32 characters)."
            )
        if not database_url:
            raise ConfigurationError("Production needs DATABASE_URL in the environment.")
        if os.environ.get("FLASK_DEBUG", "").lower() in {"1", "true", "yes"}:
            raise ConfigurationError("Production refuses to start with debug on.")
    if secret:
        settings["SECRET_KEY"] = secret
    elif not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _instance_secret_key(instance_path)
    for name in (
        "RATELIMIT_STORAGE_URI",
        "PUBLIC_BASE_URL",
        "SIGN_IN_LIMIT",
        "LINK_START_LIMIT",
        "LINK_SUBMIT_LIMIT",
        "SERVICE_NAME",
        "ORGANISATION_NAME",
        "CONTACT_EMAIL",
    ):
        if os.environ.get(name):
            settings[name] = os.environ[name]
    if os.environ.get("LANGUAGE_STATUSES") is not None:
        settings["LANGUAGE_STATUSES"] = language_statuses(os.environ["LANGUAGE_STATUSES"])
    if database_url:
        settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(database_url)
    elif not settings.get("SQLALCHEMY_DATABASE_URI"):
        settings["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            instance_path, "survey.db"
        )
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Survive PostgreSQL restarts and dropped connections: test each connection as it
        # leaves the pool, and replace connections before a server or proxy times them out.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "pool_recycle": 30 * 60,  # seconds
            **(settings.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
        }


def language_statuses(value: str) -> tuple[str, ...]:
    """Read LANGUAGE_STATUSES, e.g. "reviewed,unreviewed"; empty offers English only."""
    statuses = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [s for s in statuses if s not in ("reviewed", "unreviewed")]
    if unknown:
        raise ConfigurationError(
            f"LANGUAGE_STATUSES may hold 'reviewed' and 'unreviewed', not {', '.join(unknown)}"
        )
    return statuses


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret_key(instance_path: str) -> str:
    """Keep a generated key in the instance folder so local sessions survive restarts."""
    os.makedirs(instance_path, exist_ok=True)
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
