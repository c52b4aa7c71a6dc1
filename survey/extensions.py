"""Extension objects, created here and bound to the app in the factory."""

import logging

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from survey.models import Base

# Views commit once and then redirect or render: nothing needs reloading after a commit,
# and on SQLite a reload would re-take the write lock until the request ends.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
# Rate-limit keys hold a client address only in memory or Redis, for minutes, never in
# the database. RATELIMIT_STORAGE_URI chooses the store (Redis when there are many hosts).
limiter = Limiter(get_remote_address, headers_enabled=False)


class _HideLimitKeys(logging.Filter):
    """Flask-Limiter logs each breach with its key, which holds the client address: log
    the limit and the endpoint only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "exceeded at endpoint" in str(record.msg) and isinstance(record.args, tuple):
            record.args = tuple("-" if i == 1 else a for i, a in enumerate(record.args))
        return True


logging.getLogger("flask-limiter").addFilter(_HideLimitKeys())
