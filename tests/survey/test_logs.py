"""Log lines that no request can forge or colour: control characters are escaped."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from werkzeug.serving import make_server

from survey.config import PROJECT_ROOT
from survey.devserver import AnonymousRequestHandler
from survey.logs import escape_control
from tests.environment import clean_environ

# A path that decodes to a line break, a forged record and an ANSI colour.
FORGED_PATH = "/s/x%0A127.0.0.1%20-%20admin%20signed%20in%0D%1B%5B31mRED%1B%5B0m%E2%80%AE"


def assert_unforged(text: str, *, decoded: bool = True) -> None:
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    for line in text.splitlines():
        assert not line.startswith("127.0.0.1 - admin"), line
    if decoded:  # gunicorn logs the decoded path: its control characters show as escapes
        assert "\\n127.0.0.1 - admin signed in\\r\\x1b[31mRED\\x1b[0m" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x00\x7f\x85", "\\x00\\x7f\\x85"),
        ("\u2028\u202e", "\\u2028\\u202e"),
        ("Ünïcödé ✓ اردو", "Ünïcödé ✓ اردو"),
    ],
)
def test_control_characters_are_written_as_escapes_and_other_text_is_kept(raw, escaped):
    assert escape_control(raw) == escaped


def test_an_app_log_record_with_hostile_values_stays_on_one_line(app, caplog):
    caplog.set_level(logging.INFO)
    app.logger.warning("Refused %s from %r", "/s/x\n127.0.0.1 - forged", "\x1b[31m")
    logging.getLogger("survey.anything").info(f"built by hand: {'a' + chr(10) + 'b'}")
    assert_no_raw = "\n".join(r.getMessage() for r in caplog.records)
    assert "\n127.0.0.1" not in assert_no_raw and "\x1b" not in assert_no_raw
    assert "Refused /s/x\\n127.0.0.1 - forged from '\\\\x1b[31m'" in caplog.text
    assert "built by hand: a\\nb" in caplog.text


def test_a_traceback_keeps_its_lines_but_each_is_marked_as_part_of_the_record(caplog):
    caplog.set_level(logging.ERROR)
    try:
        raise ValueError("bad\n127.0.0.1 - forged record")
    except ValueError:
        logging.getLogger("survey.test").exception("Unexpected error")
    record = caplog.records[-1]
    lines = record.exc_text.splitlines()
    assert lines[0] == "| Traceback (most recent call last):"
    assert all(line.startswith("| ") for line in lines)
    assert "| 127.0.0.1 - forged record" in lines


def test_the_development_server_log_escapes_a_forged_path(app, caplog):
    server = make_server("127.0.0.1", 0, app, request_handler=AnonymousRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{FORGED_PATH}")  # noqa: S310
    finally:
        server.shutdown()
    assert_unforged(caplog.text, decoded=False)  # the request line as sent, still encoded


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_gunicorn_access_log_escapes_a_forged_path(tmp_path):
    port = _free_port()
    env = clean_environ(
        SURVEY_ENV="development",
        SURVEY_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
        SURVEY_SECRET_KEY="log-tests-secret-key-0123456789abcdefghij",
        SURVEY_BIND=f"127.0.0.1:{port}",
        SURVEY_WEB_WORKERS="1",
    )
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "survey.wsgi:app"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                        sock.sendall(f"GET {FORGED_PATH} HTTP/1.0\r\n\r\n".encode())
                        assert sock.recv(100).startswith(b"HTTP/1.")
                    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # gunicorn names the sender
                        sock.recv(100)
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    logged = log_path.read_text()
    assert_unforged(logged)
    assert "Invalid request from a client:" in logged and "ip=" not in logged
