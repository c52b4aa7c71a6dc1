"""gunicorn settings for production. Start with: gunicorn -c gunicorn.conf.py survey.wsgi:app

The access log records no client address, user agent or referrer, and every log line has
its control characters escaped (survey/logs.py). Settings come from SURVEY_* variables.
"""

import multiprocessing
import os

from survey import logs
from survey.config import check_workers, environment_name, read_environment, server_setting

logs.install()

bind = server_setting("BIND", "127.0.0.1:8000")
workers = server_setting("WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = server_setting("WEB_THREADS", 4)
worker_class = "gthread"
timeout = 30  # seconds a worker may take on one request before it is restarted
graceful_timeout = 30  # seconds in-flight requests get to finish on shutdown
keepalive = 5  # seconds
max_requests = 5000  # recycle workers now and then
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# Method, path (no query string), status, bytes, duration in microseconds. No %(h)s or
# %(a)s or %(f)s: no client address, user agent or referrer.
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(D)s'
# The app believes forwarded headers only from SURVEY_TRUSTED_PROXY_HOPS proxies
# (Werkzeug's ProxyFix); gunicorn itself believes none.
forwarded_allow_ips = ""


def on_starting(server):
    """Refuse production with several workers counting rate limits alone, or without a job
    queue."""
    check_workers(read_environment(os.environ), environment_name(None), server.cfg.workers)
