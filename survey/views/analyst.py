"""The analyst workspace: estimates by group, charts, weighting diagnostics, downloads."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request

from analysis.disclosure import SHORTHAND
from analysis.intervals import DESIGN_METHODS, METHOD_NAMES, SRS_METHODS
from survey import charts, clock
from survey.demographics import BY_NAME, RAKING_MARGINS, margin_name
from survey.digits import whole_number
from survey.extensions import db
from survey.publication import gate_for
from survey.services import exports
from survey.services import reporting as reporting_service
from survey.services.audit import record_after_reading
from survey.services.periods import PERIOD, period_choices
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for
from survey.services.responses import first_response_date

bp = Blueprint("analyst", __name__, url_prefix="/staff/analysis")

LEVELS = {"0.9": 0.90, "0.95": 0.95, "0.99": 0.99}


def _request_from_args(questionnaire, versions):
    """Read the analyst's choices from the query string, each from an allow-list."""
    args = request.args
    indicators = [i.id for i in questionnaire.indicators]
    indicator = args.get("indicator", indicators[0] if indicators else "")
    by = [
        b
        for b in (args.get("by", "borough"), args.get("by2", ""))
        if b in reporting_service.BREAKDOWNS
    ]
    weighted = args.get("weighted", "yes") != "no"
    allowed = DESIGN_METHODS if weighted else SRS_METHODS
    method = args.get("method") if args.get("method") in allowed else None
    ids = {v.id for v in versions}
    chosen = tuple(
        dict.fromkeys(number for v in args.getlist("version") if (number := whole_number(v)) in ids)
    )
    period = args.get("period", "all")
    if not PERIOD.match(period):
        period = "all"
    return reporting_service.ReportRequest(
        indicator=indicator if indicator in indicators else "",
        by=tuple(dict.fromkeys(by)),
        versions=chosen,
        period=period,
        weighted=weighted,
        method=method,
        confidence_level=LEVELS.get(args.get("confidence", "0.95"), 0.95),
        link_boroughs=args.get("link_boroughs") == "yes",
    )


def _report():
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    if version is None:
        return None, None, None, "No questionnaire has been loaded yet."
    questionnaire = questionnaire_for(version)
    versions = reporting_service.available_versions(
        db.session, current_app.config["QUESTIONNAIRE_ID"]
    )
    choice = _request_from_args(questionnaire, versions)
    report, error = _built(reporting_service.build_report, questionnaire, choice)
    return questionnaire, choice, report, error


def _built(build, questionnaire, choice):
    """Build a report, trend or comparison; or say why not (NoData: nothing to show yet,
    not the analyst's mistake)."""
    try:
        made = build(
            db.session,
            questionnaire,
            choice,
            figures=current_figures(db.session),
            gate=gate_for(current_app.config),
        )
    except reporting_service.NoResponses as error:
        return None, NoData(str(error))
    except reporting_service.ReportError as error:
        return None, str(error)
    return made, None


class NoData(str):
    """A message that is not an error: there is nothing to show yet."""


def _status(error) -> int:
    return 200 if error is None or isinstance(error, NoData) else 400


@bp.get("")
def report():
    """Choose an indicator and breakdown; see the table, the charts and the methods."""
    questionnaire, choice, result, error = _report()
    rows = exports.report_rows(result) if result else []
    # Charts keep the table's order; an unordered breakdown may be sorted by estimate.
    first = BY_NAME.get(choice.by[0]) if choice and choice.by else None
    sortable = first is not None and not first.ordered
    by_estimate = sortable and request.args.get("order") == "estimate"
    title = ""
    if result:
        title = f"{result.indicator.label.get()} by " + " and ".join(
            reporting_service.BREAKDOWNS[b].lower() for b in choice.by
        )
    return render_template(
        "analyst/report.html",
        questionnaire=questionnaire,
        choice=choice,
        report=result,
        rows=rows,
        error=error,
        title=title,
        versions=reporting_service.available_versions(
            db.session, current_app.config["QUESTIONNAIRE_ID"]
        ),
        periods=period_choices(clock.today(), first_response_date(db.session)),
        breakdowns=reporting_service.BREAKDOWNS,
        shorthand_key=SHORTHAND,
        levels=LEVELS,
        methods=DESIGN_METHODS if (choice is None or choice.weighted) else SRS_METHODS,
        method_names=METHOD_NAMES,
        dots=charts.dot_plots(rows, title, by_estimate=by_estimate) if result else [],
        sortable=sortable,
        by_estimate=by_estimate,
        tiles=charts.tile_map(
            rows,
            title,
            result.summary.confidence_level,
            result.modelled if request.args.get("map") == "modelled" else None,
        )
        if result and choice.by == ("borough",)
        else None,
        modelled=charts.modelled_chart(rows, result.modelled, title, by_estimate=by_estimate)
        if result and result.modelled
        else None,
        methods_note=exports.methods_note(result) if result else "",
        modelled_words=exports.modelled_words(result.modelled)
        if result and result.modelled
        else "",
        formats=exports.FORMATS,
        crosstab=exports.crosstab(rows) if result and len(choice.by) == 2 else None,
        excluded=exports.excluded_answers(result) if result else [],
        query=request.query_string.decode("ascii", "replace"),
    ), _status(error)


def _send(download_format, table, stem: str, detail: str) -> Response:
    """A download table in one format, recorded in the audit log."""
    body = download_format.build(table, f"{stem}.csv")
    record_after_reading(db.session, "download", actor=g.current_staff, detail=detail)
    response = Response(body, content_type=download_format.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{stem}{download_format.suffix}"'
    )
    return response


@bp.get("/download.<fmt>")
def download(fmt: str):
    """Download exactly what the page shows, in any format of exports.FORMATS."""
    download_format = exports.FORMATS.get(fmt)
    if download_format is None:
        return render_template("errors/http.html", title="Page not found", code=404), 404
    _questionnaire, choice, result, error = _report()
    if result is None:
        return render_template("errors/http.html", title=error, code=400), 400
    by = "-".join(choice.by)
    stem = f"prevent-{result.indicator.id}-by-{by}-{clock.today():%Y%m%d}"
    detail = (
        f"{fmt}: {result.indicator.id} by {by}, {result.period_label}, "
        f"{'weighted' if choice.weighted else 'unweighted'}"
    )
    return _send(download_format, exports.report_table(result), stem, detail)


@bp.get("/weighting")
def weighting():
    """Show how the weights were made: iterations, margin errors, weight range, deff."""
    questionnaire, choice, result, error = _report()
    names_of = {margin_name(names): names for names in RAKING_MARGINS}

    def category_label(variable: str, category: str) -> str:
        names = names_of.get(variable, (variable,))
        parts = category.split("*")
        if len(parts) != len(names):  # "prefer not to say" on any part: one category
            names, parts = names[:1], [category]
        return ", ".join(
            result.labels.get(name, {}).get(part, part)
            for name, part in zip(names, parts, strict=True)
        )

    return render_template(
        "analyst/weighting.html",
        report=result,
        error=error,
        labels=result.labels["borough"] if result else {},
        category_label=category_label,
        query=request.query_string.decode("ascii", "replace"),
    ), _status(error)


def _trend_from_args(questionnaire) -> reporting_service.TrendRequest:
    """Read the trend choices from the query string, each from an allow-list."""
    args = request.args
    indicators = [i.id for i in questionnaire.indicators]
    indicator = args.get("indicator", indicators[0] if indicators else "")
    by = args.get("by", "")
    kind = args.get("periods", "quarter")
    return reporting_service.TrendRequest(
        indicator=indicator if indicator in indicators else "",
        by=by if by in reporting_service.BREAKDOWNS else None,
        kind=kind if kind in reporting_service.TREND_KINDS else "quarter",
        start=args.get("from") or None,
        end=args.get("to") or None,
        confidence_level=LEVELS.get(args.get("confidence", "0.95"), 0.95),
        link_boroughs=args.get("link_boroughs") == "yes",
    )


def _trend():
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    if version is None:
        return None, None, None, "No questionnaire has been loaded yet."
    questionnaire = questionnaire_for(version)
    choice = _trend_from_args(questionnaire)
    trend, error = _built(reporting_service.build_trend, questionnaire, choice)
    return questionnaire, choice, trend, error


@bp.get("/trends")
def trends():
    """Is an indicator rising, where and for whom: estimates by period, the change between
    two periods in words with its smallest detectable change, and responses by borough."""
    questionnaire, choice, trend, error = _trend()
    title = ""
    if trend:
        title = trend.indicator.label.get()
        if choice.by:
            title += f" by {reporting_service.BREAKDOWNS[choice.by].lower()}"
    return render_template(
        "analyst/trends.html",
        questionnaire=questionnaire,
        choice=choice,
        trend=trend,
        error=error,
        title=title,
        kinds=reporting_service.TREND_KINDS,
        breakdowns=reporting_service.BREAKDOWNS,
        shorthand_key=SHORTHAND,
        levels=LEVELS,
        charts=charts.trend_charts(trend, title) if trend else [],
        words=exports.change_words,
        detectable=exports.detectable_words,
        methods_note=exports.trend_methods_note(trend) if trend else "",
        formats=exports.FORMATS,
        tables=exports.TREND_TABLES,
        query=request.query_string.decode("ascii", "replace"),
    ), _status(error)


@bp.get("/trends/<any(trend, change):table>.<fmt>")
def trend_download(table: str, fmt: str):
    """Download the trend's estimates or its change, in any format of exports.FORMATS."""
    download_format = exports.FORMATS.get(fmt)
    if download_format is None:
        return render_template("errors/http.html", title="Page not found", code=404), 404
    _questionnaire, choice, trend, error = _trend()
    if trend is None:
        return render_template("errors/http.html", title=error, code=400), 400
    _label, build = exports.TREND_TABLES[table]
    stem = (
        f"prevent-{trend.indicator.id}-{table}-{trend.kind}"
        + (f"-by-{choice.by}" if choice.by else "")
        + f"-{clock.today():%Y%m%d}"
    )
    detail = f"{fmt}: {table} of {trend.indicator.id}, {trend.kind}" + (
        f" by {choice.by}" if choice.by else ""
    )
    return _send(download_format, build(trend), stem, detail)


def _adjusted():
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    if version is None:
        return None, None, None, "No questionnaire has been loaded yet."
    questionnaire = questionnaire_for(version)
    args = request.args
    indicators = [i.id for i in questionnaire.indicators]
    indicator = args.get("indicator", indicators[0] if indicators else "")
    chosen = tuple(
        dict.fromkeys(v for v in args.getlist("allow") if v in reporting_service.ADJUSTABLE)
    )
    period = args.get("period", "all")
    choice = reporting_service.AdjustedRequest(
        indicator=indicator if indicator in indicators else "",
        variables=chosen or reporting_service.DEFAULT_ADJUSTMENT,
        period=period if PERIOD.match(period) else "all",
        confidence_level=LEVELS.get(args.get("confidence", "0.95"), 0.95),
    )
    adjusted, error = _built(reporting_service.build_adjusted, questionnaire, choice)
    return questionnaire, choice, adjusted, error


@bp.get("/least-reached")
def least_reached():
    """Who is least reached: each group's share with the other characteristics held to
    London's mix, ranked, with odds ratios and a chart."""
    questionnaire, choice, adjusted, error = _adjusted()
    return render_template(
        "analyst/least_reached.html",
        questionnaire=questionnaire,
        choice=choice,
        adjusted=adjusted,
        error=error,
        adjustable=reporting_service.ADJUSTABLE,
        levels=LEVELS,
        periods=period_choices(clock.today(), first_response_date(db.session)),
        chart=charts.adjusted_chart(adjusted) if adjusted else None,
        words=exports.adjusted_words,
        methods_note=exports.adjusted_methods_note(adjusted) if adjusted else "",
        formats=exports.FORMATS,
        query=request.query_string.decode("ascii", "replace"),
    ), _status(error)


@bp.get("/least-reached.<fmt>")
def least_reached_download(fmt: str):
    """Download the adjusted shares, in any format of exports.FORMATS."""
    download_format = exports.FORMATS.get(fmt)
    if download_format is None:
        return render_template("errors/http.html", title="Page not found", code=404), 404
    _questionnaire, choice, adjusted, error = _adjusted()
    if adjusted is None:
        return render_template("errors/http.html", title=error, code=400), 400
    stem = f"prevent-{adjusted.indicator.id}-least-reached-{clock.today():%Y%m%d}"
    detail = f"{fmt}: least reached, {adjusted.indicator.id}, allowing for " + ", ".join(
        choice.variables
    )
    return _send(download_format, exports.adjusted_table(adjusted), stem, detail)
