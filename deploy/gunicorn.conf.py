"""gunicorn configuration for the web workers (docs/deployment.md):

    gunicorn -c deploy/gunicorn.conf.py          # from the checkout (WorkingDirectory of the systemd unit)

Everything comes from the environment, validated here once in the master before any worker starts
(engine/config.py ``Settings.from_env``: a bad variable stops the start with every problem listed):
HOTLINE_WEB_BIND (127.0.0.1:8000), HOTLINE_WEB_WORKERS (2), HOTLINE_WEB_TIMEOUT (120 s), HOTLINE_LOG_FORMAT.

Metrics: every worker keeps its own counters, so prometheus_client's multiprocess mode is on
(PROMETHEUS_MULTIPROC_DIR: the systemd unit and the Containerfile set it; when unset a private temporary
directory is made here). The directory is emptied at start, and a worker that exits is marked dead so its
live gauges stop counting while its counters stay in the sums.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))            # engine/ and app.py, whatever directory gunicorn was started in

from engine.config import Settings          # noqa: E402  (imports no prometheus_client)
from engine.errors import ValidationFailed  # noqa: E402
from engine.logs import gunicorn_log_config  # noqa: E402

try:
    settings = Settings.from_env()
except ValidationFailed as exc:
    sys.exit("hotline: " + "; ".join(exc.details or []) + " (see docs/deployment.md)")

# Before anything imports prometheus_client: it picks multiprocess mode when its module is first imported,
# and the workers fork from this process.
OWN_METRICS_DIR = not settings.prometheus_multiproc_dir
if OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hotline-metrics-")

wsgi_app = "app:create_app()"
bind = [settings.web_bind]
workers = settings.web_workers
worker_class = "sync"                    # the engine is synchronous; scale with workers and machines
timeout = settings.web_timeout           # a month's report on a large city is the slowest request
graceful_timeout = 30
keepalive = 5                            # behind a reverse proxy that keeps connections open
max_requests = 5000                      # recycle workers now and then (bounded memory growth)
max_requests_jitter = 500
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None   # heartbeat files off a slow disk
accesslog = None                         # the app logs every request itself (api/request_log.py)
errorlog = "-"
loglevel = settings.log_level.lower()
logconfig_dict = gunicorn_log_config(settings.log_format, settings.log_level)
control_socket_disable = True            # no gunicornc socket in $HOME: systemd or the container manages us
# X-Forwarded-* are trusted by the app itself (HOTLINE_PROXY_HOPS, api/security.py), not by gunicorn.
forwarded_allow_ips = "127.0.0.1"
proc_name = "hotline-web"


def on_starting(server):
    """Master, once: files left by an earlier run would be summed into this run's counters."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    for stale in directory.glob("*.db"):
        stale.unlink()
    server.log.info("prometheus multiprocess directory %s", directory)


def child_exit(server, worker):
    """Master, whenever a worker exits (crash, timeout, max_requests): retire its live gauge files."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Master, at shutdown: remove the temporary metrics directory made above (not one we were given)."""
    if OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
