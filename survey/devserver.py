"""Local development server that never logs a client address.

Werkzeug's own request log starts each line with the client's IP address and colours it;
this server writes "-" instead and logs what gunicorn's access log does (method, path
without the query, status, size), so local logs keep the same promise as production.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, run_simple

from survey import create_app, logs


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
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    run_simple(
        host,
        port,
        create_app(),
        request_handler=AnonymousRequestHandler,
        threaded=True,
        use_reloader=False,
    )


if __name__ == "__main__":
    main()
