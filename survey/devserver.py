"""Local development server that never logs a client address.

Werkzeug's own request log starts each line with the client's IP address and colours it;
this server writes "-" instead and logs what gunicorn's access log does (method, path
without the query, status, size), so local logs keep the same promise as production.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug import serving
from werkzeug.serving import WSGIRequestHandler, run_simple

from survey import create_app, logs
from survey.config import server_setting


class AnonymousRequestHandler(WSGIRequestHandler):
    def address_string(self) -> str:
        return "-"

    def log_date_time_string(self) -> str:
        return "-"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        self.log("info", '"%s %s" %s %s', getattr(self, "command", "-"), path, code, size)


def main() -> None:
    logs.install()
    # Werkzeug colours its banner with ANSI codes, which the log escaping would print as
    # text; plain words read better.
    serving._log_add_style = False
    host, _, port = server_setting("BIND", "127.0.0.1:5000").rpartition(":")
    run_simple(
        host,
        int(port),
        create_app(),
        request_handler=AnonymousRequestHandler,
        threaded=True,
        use_reloader=False,
    )


if __name__ == "__main__":
    main()
