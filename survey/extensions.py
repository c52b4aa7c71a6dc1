"""Extension objects, created here and bound to the app in the factory."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from survey.models import Base

# Views commit once and then redirect or render: nothing needs reloading after a commit,
# and on SQLite a reload would re-take the write lock until the request ends.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
