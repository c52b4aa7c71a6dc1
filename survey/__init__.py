"""The prevent-survey Flask app."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from jinja2 import BytecodeCache, ChoiceLoader, PackageLoader, PrefixLoader
from jinja2.bccache import Bucket
from werkzeug.middleware.proxy_fix import ProxyFix

from survey import logs
from survey.config import PROJECT_ROOT, config_for, environment_name, finish, read_environment

__version__ = "0.1.0"


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: the config class for SURVEY_ENV, then SURVEY_* variables, then the
    overrides, which always win (the tests' door)."""
    logs.install()
    app = Flask(__name__, instance_relative_config=True)
    env_name = environment_name(config_overrides)
    app.config.from_object(config_for(env_name))
    app.config.update(read_environment(os.environ))
    app.config.update(config_overrides or {})
    settings = dict(app.config)
    finish(settings, env_name, app.instance_path)
    app.config.update(settings)
    app.config["SURVEY_ENV"] = env_name
    if app.config["TRUSTED_PROXY_HOPS"]:
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    _register_templates(app)
    _register_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_commands(app)
    _register_headers(app)
    _register_assets(app)
    return app


class _CompiledTemplates(BytecodeCache):
    """Compiled templates kept for the life of the process, shared by every app it builds.

    A server builds one app, but the CLI and the test suite build many (one per test), and
    compiling the templates anew for each cost more than the tests themselves. Jinja keys
    each entry by the template's name and checks its source, so an edited template is
    compiled again. Sharing is sound because every app this factory builds has the same
    Jinja settings and extensions."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


def _register_templates(app: Flask) -> None:
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("survey"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def service_names() -> dict[str, Any]:
        from survey import i18n

        service, organisation = app.config["SERVICE_NAME"], app.config["ORGANISATION_NAME"]
        return {
            "service_name": i18n.ui(service),
            "organisation_name": i18n.ui(organisation),
            "software_version": __version__,
        }


def _register_extensions(app: Flask) -> None:
    from survey import database
    from survey.extensions import csrf, db, limiter, migrate

    db.init_app(app)
    limiter.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    database.configure_engines(app)
    from survey import i18n

    i18n.init_app(app)
    from survey.services.staff import configure_hashing

    configure_hashing(
        time_cost=app.config["ARGON2_TIME_COST"],
        memory_cost=app.config["ARGON2_MEMORY_COST"],
        parallelism=app.config["ARGON2_PARALLELISM"],
    )


def _register_blueprints(app: Flask) -> None:
    from survey.digits import DatabaseIdConverter

    # Every `<int:...>` in a route is an id the database can hold (survey/digits.py).
    app.url_map.converters["int"] = DatabaseIdConverter
    from survey.views import (
        access,
        admin,
        analyst,
        auth,
        coverage,
        health,
        jobs,
        links,
        pages,
        releases,
        respond,
        results,
        staff,
    )

    for blueprint in (
        pages.bp,
        respond.bp,
        health.bp,
        auth.bp,
        staff.bp,
        links.bp,
        coverage.bp,
        admin.bp,
        analyst.bp,
        releases.bp,
        results.bp,
        jobs.bp,
    ):
        app.register_blueprint(blueprint)
    access.register(app)
    if app.config["BENCH_ENDPOINT"]:
        health.register_bench_floor(app)


def _register_error_handlers(app: Flask) -> None:
    from survey.views import errors

    errors.register(app)


def _register_commands(app: Flask) -> None:
    from survey import cli

    cli.register(app)


def _register_assets(app: Flask) -> None:
    from survey import assets
    from survey.views import pages, respond, results

    assets.init_app(app)
    assets.init_compression(app, [respond.bp, pages.bp, results.bp])


def _register_headers(app: Flask) -> None:
    from survey.views import headers

    headers.register(app)
