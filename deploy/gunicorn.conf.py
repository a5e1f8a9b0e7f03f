"""gunicorn settings for one Hearth process: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

One process = one gevent worker. Socket.IO's long-polling transport sends every request of a session
to the process that holds it; with two workers behind one port, the kernel would hand requests to
either of them and sessions would break. So scale by running more processes on more ports (the
systemd template hearth@PORT) and let nginx pin each client to one of them (ip_hash). A Redis message
queue (FORUM_REDIS_URL) connects the processes.
"""

import gc
import os

import gevent

# 127.0.0.1 only: nginx in front terminates TLS and is the only client. HEARTH_BIND is set per
# instance by hearth@.service (hearth@8001 -> 127.0.0.1:8001).
bind = [os.environ.get("HEARTH_BIND", "127.0.0.1:8000")]

# gevent: thousands of idle sockets per process cost a greenlet each, not a thread each.
worker_class = "gevent"
workers = 1
# Open connections (sockets + HTTP) one process accepts before new ones wait in the backlog.
worker_connections = int(os.environ.get("HEARTH_WORKER_CONNECTIONS", "4000"))
backlog = 2048

# Flask-SocketIO must use the gevent async mode under this worker (the app's default is threading,
# which is right for the development server and the tests). setdefault: the environment still wins.
os.environ.setdefault("FORUM_SOCKETIO_ASYNC_MODE", "gevent")

# The gevent worker's heartbeat runs in its own greenlet: missing it for `timeout` seconds means the
# event loop is blocked (a CPU-bound request, a C call that never yields) and the worker is restarted.
# Long-polling requests wait up to Socket.IO's ping interval (25 s), well inside this.
timeout = 60
# On restart or deploy: time for open requests to finish before workers are killed. Sockets are cut
# at the end either way; clients reconnect (to another process) and ask for what they missed.
graceful_timeout = 20
# Keep-alive between nginx and gunicorn; nginx reuses upstream connections (see the nginx site).
keepalive = 75

# Never recycle workers by request count: a recycled worker drops every socket it holds.
max_requests = 0


def on_starting(server) -> None:  # gunicorn calls it in the master, before it opens any socket
    """With two or more workers on one port, give each worker its own listening socket (SO_REUSEPORT).

    On one shared socket every idle worker wakes for a new connection and the first to run takes it;
    a burst of keep-alive connections (a load balancer's pool, a client opening many at once) ended up
    mostly on one worker: 52 of 64 in a measured run, which left that worker overloaded at a rate the
    pair handles easily (thread page at 800 req/s: p50 31 ms, against 3 ms when spread). With a socket
    each, the kernel spreads connections by their address hash. One worker per port (the deployment's
    shape) keeps the master's socket, so connections wait in its backlog while a worker restarts.
    """
    if server.cfg.workers > 1:
        server.cfg.set("reuse_port", True)


def pre_request(worker, req):  # gunicorn calls it with both
    """Let every other connection with a request waiting go first.

    gunicorn's keep-alive loop reads a connection's next request without yielding when its bytes have
    already arrived, so one busy keep-alive client (nginx's upstream connections are exactly that) could
    hold the worker while the others wait: measured with wrk, 16 connections on 2 workers gave p99 1.3 s
    on the board page. gevent.sleep(0) would not help (it resumes before the loop polls for I/O); any
    positive delay resumes this greenlet on the loop's next turn, after the ready connections have run.
    """
    gevent.sleep(0.000001)


def post_worker_init(worker: object) -> None:  # gunicorn calls it once the worker has loaded the app
    """Keep the garbage collector off what lives as long as the process, and run it less often.

    After the app is loaded the heap holds about 180,000 tracked objects (models, mappers, templates,
    the screening model, libraries) that are never freed, and every full collection walked all of
    them: a thousand clients reconnecting at once set off four or five full collections of 0.15-0.3 s
    each. gc.freeze() moves them to a generation that is never collected. The young generation's
    threshold goes from 700 to 10,000 allocations: each connection and event allocates a few hundred
    short-lived containers, so at 700 the collector ran after every few events. Measured on the
    reconnect of 1,000 clients (interleaved A/B, server worker CPU): collection time per round about
    1.4 s before, 1.1 s with the freeze alone, 0.6-1.0 s with both.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


# X-Forwarded-* are believed by the app only through FORUM_TRUSTED_PROXIES (ProxyFix, one hop for
# nginx); gunicorn itself trusts only the local nginx for its own wsgi.url_scheme.
forwarded_allow_ips = "127.0.0.1"

# No access log here: it would record every person's address and the pages they read. nginx keeps
# whatever access log the operator decides on; errors and the app's own structured log go to stderr
# (journald under systemd).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("HEARTH_LOG_LEVEL", "info")

# Requests larger than this are refused before the app sees them (the app's own limit is 256 KiB).
limit_request_line = 8190
limit_request_fields = 100

proc_name = f"hearth-{bind[0].rsplit(':', 1)[-1]}"
