"""gunicorn settings for production. Start with: gunicorn -c gunicorn.conf.py survey.wsgi:app

The access log records no client address, user agent or referrer.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("WEB_THREADS", 4))
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
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
