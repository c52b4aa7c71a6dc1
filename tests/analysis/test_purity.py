"""`analysis` stays pure: importing it pulls in no web or database code."""

from __future__ import annotations

import subprocess
import sys


def test_analysis_imports_neither_flask_nor_sqlalchemy():
    code = (
        "import sys, analysis, pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(analysis.__path__, 'analysis.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'sqlalchemy', 'survey', 'werkzeug', 'psycopg')]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
