"""Local development server that never logs a client address.

Werkzeug's own request log starts each line with the client's IP address; this server
writes "-" instead, so local logs keep the same promise as production.
"""

from __future__ import annotations

import os

from werkzeug.serving import WSGIRequestHandler, run_simple

from survey import create_app


class AnonymousRequestHandler(WSGIRequestHandler):
    def address_string(self) -> str:
        return "-"

    def log_date_time_string(self) -> str:
        return "-"


def main() -> None:
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
