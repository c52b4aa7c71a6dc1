"""The environment for processes the tests start: the shell's, without its settings.

A SURVEY_* variable in the shell (a real database, a shared rate-limit store) must never
reach a server the tests start; each test server gets exactly the settings it names.
"""

from __future__ import annotations

import os

from survey.config import ENV_PREFIX


def clean_environ(**settings: str) -> dict[str, str]:
    """The shell's environment without SURVEY_* variables, plus these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.pop("TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    return {**env, **settings}
