"""Configuration: classes of defaults, and one register of what the environment may set.

Every setting the environment may change is in `SETTINGS` and is read from a variable
named `SURVEY_<NAME>`; nothing else in the environment is read. The order is fixed:
the class for `SURVEY_ENV`, then the environment, then settings passed to `create_app`,
so a test's explicit database always beats whatever the shell holds.
"""

from __future__ import annotations

import difflib
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from survey.questionnaire.answers import N_

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "SURVEY_"


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
    # Public releases: None means the staff threshold; never lower than it.
    PUBLIC_SUPPRESSION_THRESHOLD: int | None = None
    PERTURBATION_TABLE: str | None = None  # a ptable CSV; None: the platform's keyed table
    MICRODATA_K = 5  # responses that must share each combination of demographics
    PUBLIC_BASE_URL: str | None = None  # where residents reach the service (QR codes)
    TRUSTED_PROXY_HOPS = 0  # reverse proxies in front of the app that set X-Forwarded-For
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    # Failed sign-ins only. One address trying one account; one address trying any account.
    SIGN_IN_ACCOUNT_LIMIT = "10 per minute; 50 per day"
    SIGN_IN_ADDRESS_LIMIT = "30 per minute; 300 per day"
    # Per link and client address. A venue's Wi-Fi is one address, so these allow a busy
    # event: 150 residents finishing within the hour on one link.
    LINK_START_LIMIT = "300 per hour"  # surveys started
    LINK_SUBMIT_LIMIT = "150 per hour"  # surveys sent
    # Shown translated where the interface catalogues translate them (the defaults are);
    # otherwise in English, marked so.
    SERVICE_NAME = N_("London Prevent awareness survey")
    ORGANISATION_NAME = N_("London community safety partnership")
    CONTACT_EMAIL: str | None = None  # where residents write about privacy or accessibility
    # Where "Exit this page" takes a resident, after deleting their answers: a page nobody
    # nearby would think twice about (GOV.UK's default).
    EXIT_URL = "https://www.bbc.co.uk/weather"
    # Translation statuses offered to residents (from the questionnaire file's `languages`).
    # Production offers only translations a fluent speaker has reviewed; set
    # LANGUAGE_STATUSES=reviewed,unreviewed to offer drafts too. English is always offered.
    LANGUAGE_STATUSES: tuple[str, ...] = ("reviewed", "unreviewed")
    BENCH_ENDPOINT = False  # a bare endpoint the benchmarks measure against
    # Where staff work too heavy for a request runs (survey/services/jobs.py): a thread in
    # this process, or RQ on Redis ("redis://host:6379/0") with `flask jobs worker`.
    JOB_QUEUE = "thread"
    JOB_TIME_LIMIT = 30 * 60  # seconds one job may run before its worker stops it
    REQUEST_TIME_LIMIT = 30  # seconds of database work one request may do
    # Staff accounts. A staff session ends after this long idle, and after this long in all.
    STAFF_IDLE_MINUTES = 30
    STAFF_SESSION_HOURS = 12
    SET_PASSWORD_HOURS = 24  # how long a set-password link works
    # Roles that must have an authenticator app; the others may add one.
    TWO_FACTOR_ROLES: tuple[str, ...] = ("admin", "analyst")
    # Mail for set-password links; without a server, the administrator is shown the link.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SECURITY = "starttls"  # "starttls", "tls" (implicit, usually port 465) or "none"
    MAIL_FROM: str | None = None
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "survey" / "translations")


class DevelopmentConfig(Config):
    """Local use: SQLite in the instance folder, a secret key kept beside it."""

    DEBUG = False  # the debugger would show tracebacks to anyone who reaches the port


class TestConfig(Config):
    """The test suite: fast, isolated, CSRF on (tests fetch real tokens)."""

    TESTING = True
    RATELIMIT_ENABLED = False  # tests that need the limits switch them on
    ARGON2_TIME_COST = 1  # cheap hashing keeps the suite fast; still argon2id
    ARGON2_MEMORY_COST = 8  # KiB, the least argon2 allows for one lane
    ARGON2_PARALLELISM = 1
    # Tests sign the same accounts in hundreds of times, far more often than an
    # authenticator's 30-second codes allow (each code works once). The second-factor tests
    # set the production default, admin and analyst, themselves.
    TWO_FACTOR_ROLES: tuple[str, ...] = ()
    JOB_QUEUE = "inline"  # jobs run in the request that asks; tests of the queue choose
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


# --- Parsers: each names the setting and the allowed values when a value is wrong ----------


def _text(value: str) -> str:
    return value


def _whole_number(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not value.strip().isascii() or not value.strip().isdigit():
            raise ValueError(f"a whole number of at least {minimum}")
        number = int(value.strip())
        if number < minimum:
            raise ValueError(f"a whole number of at least {minimum}")
        return number

    return parse


def _switch(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("one of 1, true, yes, on, 0, false, no, off")


def _rate_limit(value: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError('rate limits such as "10 per minute; 50 per day"') from None
    return value


def _email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"an email address ({error})") from None


def _ptable(value: str) -> str:
    from analysis.perturbation import read_ptable

    try:
        read_ptable(value)
    except (OSError, ValueError) as error:
        raise ValueError(f"a readable perturbation table ({error})") from None
    return value


def _web_address(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("a web address starting https://")
    return value


def language_statuses(value: str) -> tuple[str, ...]:
    """Read LANGUAGE_STATUSES, e.g. "reviewed,unreviewed"; empty offers English only."""
    statuses = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [s for s in statuses if s not in ("reviewed", "unreviewed")]
    if unknown:
        raise ValueError("'reviewed' and 'unreviewed', comma-separated, or nothing")
    return statuses


def staff_roles(value: str) -> tuple[str, ...]:
    """Read TWO_FACTOR_ROLES, e.g. "admin,analyst"; empty requires it of nobody."""
    from survey.services.staff import ROLES

    roles = tuple(part.strip() for part in value.split(",") if part.strip())
    if any(role not in ROLES for role in roles):
        raise ValueError(f"roles from {', '.join(ROLES)}, comma-separated, or nothing")
    return roles


def _mail_security(value: str) -> str:
    if value.strip() not in ("starttls", "tls", "none"):
        raise ValueError("one of starttls, tls, none")
    return value.strip()


def job_queue(value: str) -> str:
    """Read JOB_QUEUE: `thread`, `inline` or a Redis address."""
    value = value.strip()
    if value in ("thread", "inline") or value.startswith(("redis://", "rediss://", "unix://")):
        return value
    raise ValueError("`thread`, `inline` or a Redis address such as redis://127.0.0.1:6379/0")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Setting:
    """One setting the environment may change, read from SURVEY_<name>."""

    name: str
    meaning: str
    parse: Callable[[str], Any] = _text
    key: str | None = None  # the config key, when it differs from the name
    server: bool = False  # read by gunicorn.conf.py, not the app

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name

    @property
    def config_key(self) -> str:
        return self.key or self.name


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "`development` (default), `test` or `production`"),
    Setting(
        "SECRET_KEY",
        "signs sessions; required in production (32+ characters); development keeps one "
        "in `instance/secret_key`",
    ),
    Setting(
        "DATABASE_URL",
        "required in production, e.g. `postgresql://user:pass@host/db` (psycopg 3); "
        "default SQLite `instance/survey.db`",
        normalise_database_url,
        key="SQLALCHEMY_DATABASE_URI",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "rate-limit store: `memory://` (default; one process only) or `redis://host:6379` "
        "(required in production with more than one worker or host)",
    ),
    Setting(
        "TRUSTED_PROXY_HOPS",
        "reverse proxies in front of the app whose `X-Forwarded-For` and "
        "`X-Forwarded-Proto` are believed (default 0: none)",
        _whole_number(0),
    ),
    Setting(
        "SIGN_IN_ACCOUNT_LIMIT",
        "failed sign-ins from one address against one account (default "
        "`10 per minute; 50 per day`)",
        _rate_limit,
    ),
    Setting(
        "SIGN_IN_ADDRESS_LIMIT",
        "failed sign-ins from one address against any accounts (default "
        "`30 per minute; 300 per day`)",
        _rate_limit,
    ),
    Setting(
        "LINK_START_LIMIT",
        "surveys started per link per client address (default `300 per hour`)",
        _rate_limit,
    ),
    Setting(
        "LINK_SUBMIT_LIMIT",
        "surveys sent per link per client address (default `150 per hour`)",
        _rate_limit,
    ),
    Setting(
        "PUBLIC_BASE_URL",
        "the address residents use, for QR codes and posters (default: the request's host)",
    ),
    Setting("SERVICE_NAME", "the service's name in every page's header"),
    Setting(
        "ORGANISATION_NAME",
        "the organisation running the survey, in the footer and the privacy notice",
    ),
    Setting(
        "CONTACT_EMAIL",
        "where residents write about privacy or accessibility (privacy notice, "
        "accessibility statement)",
        _email,
    ),
    Setting(
        "EXIT_URL",
        'where "Exit this page" leaves for, after deleting the resident\'s answers '
        "(default `https://www.bbc.co.uk/weather`)",
        _web_address,
    ),
    Setting(
        "LANGUAGE_STATUSES",
        "translation statuses offered to residents: `reviewed`, `unreviewed`, both "
        "comma-separated, or empty for English only (production default `reviewed`; "
        "otherwise both)",
        language_statuses,
    ),
    Setting(
        "QUESTIONNAIRE_ID",
        "the questionnaire links, coverage and reports use (default `prevent-awareness`)",
    ),
    Setting(
        "SUPPRESSION_THRESHOLD",
        'the smallest count shown to staff; smaller counts show as "fewer than" it (default 10)',
        _whole_number(2),
    ),
    Setting(
        "PUBLIC_SUPPRESSION_THRESHOLD",
        "the smallest count on public release pages, at least the staff threshold "
        "(default: the staff threshold)",
        _whole_number(2),
    ),
    Setting(
        "PERTURBATION_TABLE",
        "the cell-key perturbation table for published counts, a CSV of `pcv,ckey,pvalue` "
        "(default: the platform's table, noise of at most 4 drawn by the cell key, "
        "`analysis/ptables/ptable_d4_v3.csv.gz`)",
        _ptable,
    ),
    Setting(
        "MICRODATA_K",
        "responses that must share each combination of demographics in the microdata "
        "extract (default 5)",
        _whole_number(2),
    ),
    Setting(
        "DRAFT_TTL",
        "seconds an unfinished survey is kept untouched before it expires, at least an "
        "hour (default 86400; residents are told it in whole hours)",
        _whole_number(3600),
    ),
    Setting(
        "SPENT_TOKEN_TTL_DAYS",
        "days a used submission token is kept to catch a repeated send (default 7)",
        _whole_number(1),
    ),
    Setting(
        "JOB_QUEUE",
        "where heavy staff work (preparing and approving releases) runs: `thread` (default: "
        "in the web process, for `make run`), `inline` (in the request; tests) or a Redis "
        "address such as `redis://127.0.0.1:6379/0` for `flask jobs worker` processes "
        "(required in production under gunicorn)",
        job_queue,
    ),
    Setting(
        "JOB_TIME_LIMIT",
        "seconds one job may run before its worker stops it and marks it failed (default 1800)",
        _whole_number(10),
    ),
    Setting(
        "REQUEST_TIME_LIMIT",
        "seconds of database work one web request may do before it is stopped with a "
        '"this is taking too long" page (default 30)',
        _whole_number(1),
    ),
    Setting(
        "STAFF_IDLE_MINUTES",
        "minutes a staff session may sit idle before it ends (default 30)",
        _whole_number(1),
    ),
    Setting(
        "STAFF_SESSION_HOURS",
        "hours a staff session lasts however active it is (default 12)",
        _whole_number(1),
    ),
    Setting(
        "SET_PASSWORD_HOURS",
        "hours a set-password link works for (default 24)",
        _whole_number(1),
    ),
    Setting(
        "TWO_FACTOR_ROLES",
        "roles that must use an authenticator app, comma-separated (default "
        "`admin,analyst`; officers may choose to); empty requires it of nobody",
        staff_roles,
    ),
    Setting(
        "MAIL_SERVER",
        "SMTP server that sends set-password links; unset, the administrator is shown "
        "the link to pass on",
    ),
    Setting("MAIL_PORT", "SMTP port (default 587)", _whole_number(1)),
    Setting("MAIL_USERNAME", "SMTP user name, if the server asks for one"),
    Setting("MAIL_PASSWORD", "SMTP password, if the server asks for one"),
    Setting(
        "MAIL_SECURITY",
        "`starttls` (default), `tls` (implicit TLS, usually port 465) or `none` (a "
        "relay on the same machine only)",
        _mail_security,
    ),
    Setting("MAIL_FROM", "the sender of set-password emails, e.g. `survey@council.gov.uk`", _email),
    Setting(
        "BENCH_ENDPOINT",
        "`1` adds the bare endpoint `bench/` measures against; never in production",
        _switch,
    ),
    Setting(
        "BIND",
        "the server's address: gunicorn's (default `127.0.0.1:8000`) and the development "
        "server's (`make run`: `127.0.0.1:5000`)",
        server=True,
    ),
    Setting(
        "WEB_WORKERS",
        "gunicorn worker processes (default 2 x CPUs + 1)",
        _whole_number(1),
        server=True,
    ),
    Setting("WEB_THREADS", "threads per worker (default 4)", _whole_number(1), server=True),
)
SETTING_BY_VARIABLE = {setting.variable: setting for setting in SETTINGS}


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the settings SURVEY_* variables give, parsed; refuse unknown or bad ones."""
    values: dict[str, Any] = {}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        setting = SETTING_BY_VARIABLE.get(variable)
        if setting is None:
            close = difflib.get_close_matches(variable, SETTING_BY_VARIABLE, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ConfigurationError(f"{variable} is not a setting.{hint}")
        if setting.server or setting.name == "ENV":
            continue
        try:
            values[setting.config_key] = setting.parse(raw)
        except ValueError as error:
            raise ConfigurationError(f"{variable}={raw!r}: expected {error}") from None
    return values


def server_setting(name: str, default: Any, environ: Mapping[str, str] = os.environ) -> Any:
    """Read one of gunicorn's settings from the environment (gunicorn.conf.py)."""
    setting = SETTING_BY_VARIABLE[ENV_PREFIX + name]
    raw = environ.get(setting.variable)
    if raw is None or raw == "":
        return default
    try:
        return setting.parse(raw)
    except ValueError as error:
        raise ConfigurationError(f"{setting.variable}={raw!r}: expected {error}") from None


def environment_name(
    overrides: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ
) -> str:
    """SURVEY_ENV from the overrides, else the environment, else development."""
    return (overrides or {}).get("SURVEY_ENV") or environ.get(ENV_PREFIX + "ENV") or "development"


def config_for(name: str) -> type[Config]:
    """Return the config class for SURVEY_ENV, naming the allowed values if it is wrong."""
    try:
        return CONFIGS[name]
    except KeyError:
        allowed = ", ".join(sorted(CONFIGS))
        raise ConfigurationError(f"SURVEY_ENV={name!r} is not one of: {allowed}") from None


# A production key must carry at least this much randomness, by a rough estimate (its
# length times the Shannon entropy of its characters): 32 random hex digits give about 118
# bits, `secrets.token_urlsafe(32)` about 200, "a" * 32 none.
MIN_SECRET_BITS = 96
MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def secret_key_problem(secret: str | None) -> str | None:
    """Why a key may not sign production sessions, or None: missing, short, public (the
    test settings' own key) or too predictable."""
    if not secret or len(secret) < 32:
        return "Production needs SURVEY_SECRET_KEY in the environment (at least 32 characters)."
    if secret == TestConfig.SECRET_KEY:
        return (
            f"SURVEY_SECRET_KEY is the test settings' key, which is public. Make one: {MAKE_A_KEY}"
        )
    counts = [secret.count(ch) for ch in set(secret)]
    bits = -sum(c * math.log2(c / len(secret)) for c in counts)
    if bits < MIN_SECRET_BITS:
        return f"SURVEY_SECRET_KEY is too predictable (repeated characters). Make one: {MAKE_A_KEY}"
    return None


def finish(settings: dict[str, Any], env_name: str, instance_path: str) -> None:
    """Fill what was left unset, and refuse to start production unsafely."""
    if env_name == "production":
        problem = secret_key_problem(settings.get("SECRET_KEY"))
        if problem:
            raise ConfigurationError(problem)
        if not settings.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigurationError("Production needs SURVEY_DATABASE_URL in the environment.")
        if settings.get("DEBUG") or os.environ.get("FLASK_DEBUG", "").lower() in {
            "1",
            "true",
            "yes",
        }:
            raise ConfigurationError("Production refuses to start with debug on.")
        if settings.get("BENCH_ENDPOINT"):
            raise ConfigurationError("Production refuses to start with SURVEY_BENCH_ENDPOINT.")
    if settings.get("MAIL_SERVER") and not settings.get("MAIL_FROM"):
        raise ConfigurationError("SURVEY_MAIL_SERVER needs SURVEY_MAIL_FROM, the sender's address.")
    public = settings.get("PUBLIC_SUPPRESSION_THRESHOLD")
    if public is not None and public < settings["SUPPRESSION_THRESHOLD"]:
        raise ConfigurationError(
            f"SURVEY_PUBLIC_SUPPRESSION_THRESHOLD ({public}) is below the staff threshold "
            f"({settings['SUPPRESSION_THRESHOLD']}): the public may never see smaller counts "
            "than staff"
        )
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _instance_secret_key(instance_path)
    if not settings.get("SQLALCHEMY_DATABASE_URI"):
        settings["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            instance_path, "survey.db"
        )
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        settings["SQLALCHEMY_DATABASE_URI"]
    )
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Survive PostgreSQL restarts and dropped connections: test each connection as it
        # leaves the pool, and replace connections before a server or proxy times them out.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "pool_recycle": 30 * 60,  # seconds
            **(settings.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
        }


def check_workers(settings: Mapping[str, Any], env_name: str, workers: int) -> None:
    """Refuse production with several worker processes each counting rate limits alone,
    or with heavy staff work running in the web workers instead of a job queue."""
    store = str(settings.get("RATELIMIT_STORAGE_URI") or "memory://")
    if env_name == "production" and workers > 1 and store.startswith("memory://"):
        raise ConfigurationError(
            f"{workers} workers with the in-memory rate-limit store would each count alone, "
            "multiplying every limit. Set SURVEY_RATELIMIT_STORAGE_URI to a shared store, "
            "e.g. redis://127.0.0.1:6379"
        )
    queue = str(settings.get("JOB_QUEUE") or "thread")
    if env_name == "production" and not queue.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            "Production runs heavy staff work on a job queue, so residents' pages never wait "
            "for it. Set SURVEY_JOB_QUEUE to a Redis address, e.g. redis://127.0.0.1:6379/0, "
            "and run `flask jobs worker`"
        )


def _instance_secret_key(instance_path: str) -> str:
    """Keep a generated key in the instance folder so local sessions survive restarts."""
    os.makedirs(instance_path, exist_ok=True)
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
