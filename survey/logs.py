"""Log lines that no request can forge or colour.

Request paths, form values and exception messages reach the logs. A decoded `%0A` would
start a line that looks like a record of its own, and an ANSI escape would rewrite a
terminal. Every record made in the process has control characters in its message and
arguments escaped (`\\n`, `\\x1b`, ...) as it is created, so the escaping holds whichever
handler or formatter writes it (gunicorn's, Flask's, Werkzeug's or pytest's). A
traceback keeps its line breaks, and each of its lines starts with "| " so no text inside
it can pass for a record.
"""

from __future__ import annotations

import copy
import logging
import numbers
import re
import traceback
from collections.abc import Mapping
from typing import Any

# C0 and C1 controls, DEL, line and paragraph separators, and bidirectional overrides
# (which reorder how the rest of a line reads).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CONTINUATION = "| "


def escape_control(text: str) -> str:
    """Write control characters as escapes, so the text stays on one harmless line."""
    return CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    character = match.group()
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _escape_argument(value: Any) -> Any:
    if value is None or isinstance(value, numbers.Number):
        return value  # %d and %f need numbers; numbers hold no control characters
    return escape_control(str(value))


def _continuation(text: str) -> str:
    """Escape each line of a traceback and mark it as part of the record above."""
    return "\n".join(CONTINUATION + escape_control(line) for line in text.splitlines())


# gunicorn names the client in one warning: "Invalid request from ip=203.0.113.9: ...".
CLIENT_ADDRESS = re.compile(r"\bfrom ip=\S+?:(?= )")


def escape_record(record: logging.LogRecord) -> logging.LogRecord:
    """Escape a record's message, arguments, traceback and stack in place, and drop the
    client address gunicorn puts in its invalid-request warning."""
    record.msg = escape_control(record.msg if isinstance(record.msg, str) else str(record.msg))
    if record.name == "gunicorn.error":
        record.msg = CLIENT_ADDRESS.sub("from a client:", record.msg)
    if isinstance(record.args, dict):
        args = copy.copy(record.args)  # keeps gunicorn's SafeAtoms, which fills in "-"
        for key in list(args):
            dict.__setitem__(args, key, _escape_argument(dict.__getitem__(args, key)))
        record.args = args
    elif isinstance(record.args, Mapping):
        record.args = {key: _escape_argument(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_escape_argument(a) for a in record.args)
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = _continuation("".join(traceback.format_exception(*record.exc_info)))
    if record.stack_info:
        record.stack_info = _continuation(record.stack_info)
    return record


_installed = False


def install() -> None:
    """Escape every log record this process makes from now on (once per process)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def escaping_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return escape_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(escaping_factory)
    _installed = True
