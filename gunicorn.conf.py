"""gunicorn's settings for the tracker: ``gunicorn -c gunicorn.conf.py wsgi:app`` (README, "Deploying").

Each can be changed from the environment without editing this file.
"""
import os

#: Where to listen: behind a reverse proxy on the same machine, the loopback only.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads within a few processes: most of a request's time is spent waiting on the database, and a donor PDF
# renders for seconds in one thread without holding up the others. Three processes of four threads serve a
# country office on two cores; raise WEB_CONCURRENCY with the cores.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

#: A request that takes longer is killed. Long work is not done in requests (large imports and reports are jobs:
#: README, "Jobs"), so gunicorn's own default is kept: a request past it is a fault to find, not a slow page.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
#: Connections from the proxy kept open between requests.
keepalive = 5
# A worker is replaced after this many requests (spread out, so that they are not replaced all at once).
max_requests = 2000
max_requests_jitter = 200

# The access log goes to standard output without query strings: a filter carries codes and dates, and a URL
# could carry more if a form were ever sent by GET by mistake (docs/security.md). %(U)s is the path alone. The
# last field is the request id the app sent back (tracker/logs.py): the app's own lines carry it too.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms [%({x-request-id}o)s]'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# X-Forwarded-For and X-Forwarded-Proto are read by the app alone, from as many proxies as TRUSTED_PROXIES
# says (werkzeug's ProxyFix, tracker/security.py). gunicorn must not believe them on its own as well: with no
# trusted proxy, a client could otherwise claim HTTPS or another address.
forwarded_allow_ips = "127.0.0.1,::1" if int(os.environ.get("TRUSTED_PROXIES", "0")) else ""
proxy_allow_ips = ""

# No run-time control socket: its default path is one per machine user, which two instances would share, and
# nothing here uses it.
control_socket_disable = True
