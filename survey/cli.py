"""Command-line tasks: `flask questionnaires ...`, `flask drafts purge`, `flask demo`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from survey import clock
from survey.demo import ensure_demo_population, load_synthetic_responses, reset_demo_staff
from survey.extensions import db
from survey.models import StaffUser
from survey.questionnaire import QuestionnaireError, load_file, parse_questionnaire, xlsform
from survey.services import drafts as draft_service
from survey.services import staff as staff_service
from survey.services.audit import record_event
from survey.services.links import create_demo_link
from survey.services.questionnaires import (
    VersionConflict,
    latest_version,
    load_questionnaire,
    questionnaire_files,
    questionnaire_for,
    validate_directory,
)

questionnaires_cli = AppGroup("questionnaires", help="Check and load questionnaire files.")
users_cli = AppGroup("users", help="Manage staff accounts.")
drafts_cli = AppGroup("drafts", help="Look after residents' unfinished answers.")
jobs_cli = AppGroup("jobs", help="Run staff work from the job queue.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst: bool) -> None:
    """Do queued staff work (preparing and approving releases) as it arrives, from the
    Redis queue in SURVEY_JOB_QUEUE. Run one or more beside the web server."""
    from rq import SimpleWorker

    from survey.services import jobs

    url = current_app.config["JOB_QUEUE"]
    if url in ("thread", "inline"):
        raise click.ClickException(
            f"SURVEY_JOB_QUEUE is {url!r}: jobs run in the web process, so there is no queue "
            "to work from. Set it to a Redis address, e.g. redis://127.0.0.1:6379/0"
        )
    queue = jobs.rq_queue(url)
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)


@questionnaires_cli.command("validate")
@click.argument("directory", required=False)
def validate_command(directory: str | None) -> None:
    """Check every questionnaire file; exit 1 naming each problem."""
    directory = directory or current_app.config["QUESTIONNAIRE_DIR"]
    results = validate_directory(directory)
    if not results:
        raise click.ClickException(f"No questionnaire files (*.yaml) in {directory}")
    failed = False
    for name, error in results.items():
        if error is None:
            click.echo(f"ok      {name}")
        else:
            failed = True
            click.echo(f"invalid {error}", err=True)
    if failed:
        raise SystemExit(1)


@questionnaires_cli.command("load")
@click.argument("directory", required=False)
def load_command(directory: str | None) -> None:
    """Load every questionnaire file into the database; loaded versions never change."""
    directory = directory or current_app.config["QUESTIONNAIRE_DIR"]
    for path in questionnaire_files(directory):
        try:
            result = load_questionnaire(
                db.session, path.read_text(encoding="utf-8"), filename=path.name
            )
        except (QuestionnaireError, VersionConflict) as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        state = "loaded" if result.created else "already loaded"
        click.echo(f"{state}: {result.questionnaire_id} version {result.version} ({path.name})")
    db.session.commit()


@questionnaires_cli.command("import-xlsform")
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write the YAML.")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
def import_xlsform_command(workbook: str, output: str | None, overwrite: bool) -> None:
    """Convert an XLSForm workbook (survey, choices, settings) into a questionnaire file.

    Anything the questionnaire format cannot express is refused, naming the sheet, row and
    column. Load the file afterwards with `flask questionnaires load`."""
    try:
        source = xlsform.import_xlsform(xlsform.read_file(workbook))
    except xlsform.XLSFormError as error:
        click.echo(f"{Path(workbook).name}: {len(error.problems)} problem(s)", err=True)
        click.echo(str(error), err=True)
        raise SystemExit(1) from None
    questionnaire = parse_questionnaire(source)
    target = Path(
        output or Path(current_app.config["QUESTIONNAIRE_DIR"]) / f"{questionnaire.id}.yaml"
    )
    if target.exists() and not overwrite:
        raise click.ClickException(f"{target} exists: choose --output, or add --overwrite")
    target.write_text(source, encoding="utf-8")
    click.echo(
        f"wrote {target}: {questionnaire.id} version {questionnaire.version}, "
        f"{len(questionnaire.questions)} questions in {', '.join(questionnaire.language_codes)}"
    )


@questionnaires_cli.command("export-xlsform")
@click.argument("questionnaire_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Where to write the workbook."
)
def export_xlsform_command(questionnaire_file: str | None, output: str | None) -> None:
    """Write a questionnaire file (by default the one this platform serves) as XLSForm."""
    path = Path(
        questionnaire_file
        or Path(current_app.config["QUESTIONNAIRE_DIR"])
        / f"{current_app.config['QUESTIONNAIRE_ID']}.yaml"
    )
    try:
        questionnaire = load_file(path)
    except QuestionnaireError as error:
        raise click.ClickException(str(error)) from None
    target = Path(output or f"{questionnaire.id}-v{questionnaire.version}.xlsx")
    target.write_bytes(xlsform.export_xlsform(questionnaire))
    click.echo(f"wrote {target}: {questionnaire.id} version {questionnaire.version}")


@drafts_cli.command("purge")
def purge_command() -> None:
    """Delete expired drafts and old one-time submission tokens."""
    drafts, tokens = draft_service.purge_expired(
        db.session, spent_token_days=current_app.config["SPENT_TOKEN_TTL_DAYS"]
    )
    db.session.commit()
    click.echo(f"Deleted {drafts} expired draft(s) and {tokens} old submission token(s).")


@users_cli.command("create")
@click.option("--role", type=click.Choice(staff_service.ROLES), required=True)
@click.option("--generate", is_flag=True, help="Generate a strong password and print it.")
@click.argument("email")
def create_user_command(role: str, generate: bool, email: str) -> None:
    """Create a staff account; prompts for the password unless --generate is given."""
    if generate:
        password = staff_service.generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = staff_service.create_user(db.session, email, role, password)
    except staff_service.AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    record_event(
        db.session,
        "account_created",
        actor_email="command line",
        detail=f"{user.email} as {user.role}",
    )
    db.session.commit()
    click.echo(f"Created {user.role} account {user.email}")
    if generate:
        click.echo(f"Password: {password}")


def _user_by_email(email: str) -> StaffUser:
    user = db.session.scalar(
        select(StaffUser).where(StaffUser.email == staff_service.normalise_email(email))
    )
    if user is None:
        raise click.ClickException(f"There is no staff account {email}")
    return user


@users_cli.command("password-link")
@click.option(
    "--base-url", required=True, help="The staff address, e.g. https://survey.example.org"
)
@click.argument("email")
def password_link_command(base_url: str, email: str) -> None:
    """Print a single-use set-password link for an account (for the server's operator,
    when no administrator can sign in). Its current password stops working."""
    user = _user_by_email(email)
    user.password_hash = ""
    staff_service.revoke_all_sessions(db.session, user)
    token = staff_service.issue_password_link(
        db.session, user, by=None, hours=current_app.config["SET_PASSWORD_HOURS"], emailed=False
    )
    record_event(
        db.session,
        "password_link_sent",
        actor_email="command line",
        detail=f"{user.email}: link printed on the command line",
    )
    db.session.commit()
    click.echo(f"{base_url.rstrip('/')}/staff/set-password?token={token}")


@users_cli.command("reset-second-factor")
@click.argument("email")
def reset_second_factor_command(email: str) -> None:
    """Remove an account's authenticator app and recovery codes (for the server's operator,
    when no other administrator can): its owner sets up a new one at their next sign-in."""
    user = _user_by_email(email)
    staff_service.reset_second_factor(db.session, user)
    record_event(db.session, "second_factor_reset", actor_email="command line", detail=user.email)
    db.session.commit()
    click.echo(f"Removed the authenticator app of {user.email}; they set up a new one at sign-in.")


@users_cli.command("code")
@click.argument("email")
def code_command(email: str) -> None:
    """Print the authenticator code an account's app would show now, for trying the demo
    without a phone. Refused in production."""
    if current_app.config["SURVEY_ENV"] == "production":
        raise click.ClickException("Not in production: use the authenticator app.")
    user = _user_by_email(email)
    if not user.totp_secret:
        raise click.ClickException(
            f"{user.email} has no authenticator app set up yet: sign in first"
        )
    click.echo(staff_service.current_code(user))


@click.command("demo")
@with_appcontext
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
@click.option(
    "--synthetic-responses",
    default=3000,
    show_default=True,
    help="Made-up responses to load the first time, marked synthetic.",
)
def demo_command(base_url: str, synthetic_responses: int) -> None:
    """Load the questionnaires, the demo link, demo staff and demo population figures."""
    directory = current_app.config["QUESTIONNAIRE_DIR"]
    loaded = []
    for path in questionnaire_files(directory):
        result = load_questionnaire(
            db.session, path.read_text(encoding="utf-8"), filename=path.name
        )
        loaded.append(result.questionnaire_id)
    link = create_demo_link(db.session, current_app.config["QUESTIONNAIRE_ID"])
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    population = ensure_demo_population(db.session, questionnaire_for(version))
    credentials = reset_demo_staff(db.session)
    db.session.commit()
    synthetic = load_synthetic_responses(
        db.session,
        questionnaire_for(version),
        version.id,
        synthetic_responses,
        progress=lambda done: click.echo(
            f"  synthetic demo responses: {done:,} of {synthetic_responses:,}"
        ),
    )
    db.session.commit()
    preview = _demo_release(questionnaire_for(version)) if synthetic else None
    click.echo(f"Questionnaires ready: {', '.join(sorted(set(loaded)))}")
    if population:
        click.echo("Loaded demo population figures (not official statistics).")
    if synthetic:
        click.echo(f"Loaded {synthetic:,} synthetic demo responses (made up; reports say so).")
    if preview is not None:
        click.echo(
            f"Prepared release {preview.id} ({preview.period}) from the synthetic responses: "
            f"a preview only, it can never be published: {base_url}/staff/releases/{preview.id}"
        )
    click.echo(f"Resident survey (demo link): {base_url}/s/{link.code}")
    click.echo(
        f"Staff sign-in: {base_url}/staff/sign-in with one of these demo accounts "
        "(new passwords each run):"
    )
    for role, email, password in credentials:
        click.echo(f"  {role:<8} {email:<24} {password}")
    required = current_app.config["TWO_FACTOR_ROLES"]
    if required:
        click.echo(
            f"Roles {', '.join(required)} set up an authenticator app at their first sign-in. "
            "Without a phone, `.venv/bin/flask --app survey users code EMAIL` prints the "
            "code the app would show (never in production)."
        )


def _demo_release(questionnaire):
    """A release prepared by the demo analyst from the synthetic responses, so staff can see
    what the public pages will look like. Its problems (synthetic responses, demo figures)
    mean it can never be approved."""
    from survey.publication import public_gate_for
    from survey.services import releases as release_service
    from survey.services.population import current_figures

    analyst = db.session.scalar(select(StaffUser).where(StaffUser.role == "analyst"))
    periods = release_service.release_periods(clock.today())
    year = next(key for key, _label in periods if len(key) == 4)
    for period in (periods[0][0], year):  # the last quarter; a year if a quarter is too few
        try:
            release = release_service.prepare(
                db.session,
                questionnaire,
                release_service.ReleaseChoice(
                    period=period,
                    indicators=tuple(i.id for i in questionnaire.indicators[:2]),
                    breakdowns=release_service.DEFAULT_BREAKDOWNS,
                    commentary="A preview made from synthetic demo responses: made up, "
                    "nobody's answers. Real releases say here what the figures show and what "
                    "is being done about them.",
                ),
                by=analyst,
                figures=current_figures(db.session),
                gate=public_gate_for(current_app.config),
            )
        except release_service.ReleaseError:
            db.session.rollback()
            continue
        db.session.commit()
        return release
    return None


def register(app: Flask) -> None:
    app.cli.add_command(questionnaires_cli)
    app.cli.add_command(drafts_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
