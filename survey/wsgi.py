"""WSGI entry point for gunicorn: `gunicorn -c gunicorn.conf.py survey.wsgi:app`."""

from survey import create_app

app = create_app()
