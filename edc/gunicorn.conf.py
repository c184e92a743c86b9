"""gunicorn's settings for production (``gunicorn -c edc/gunicorn.conf.py edc.wsgi:application``).

Threaded workers (``gthread``): a request spends much of its time waiting for PostgreSQL, and a thread
waiting on a socket releases the GIL, so a few threads per process keep the CPUs busy with far less
memory than as many processes. The rule: one process per CPU plus one (a spare while another holds
the GIL), at least 2, at most ``MAX_DEFAULT_WORKERS``, four threads each; on a 2-CPU machine 3 × 4,
twelve requests at once, more than the CPUs can progress (PostgreSQL runs there too). ``make loadtest``
(README, *Serving load*) compared 2 × 4, 3 × 4, 5 × 2 and 2 × 8 there: on a machine shared with other
work the differences stayed within the noise, so the rule keeps the usual one.

Every value can be set from the environment (``GUNICORN_*``); each thread holds its own persistent
database connection (``CONN_MAX_AGE``), so workers × threads must stay below PostgreSQL's
``max_connections`` together with the Celery worker's connections.
"""

import os

MAX_DEFAULT_WORKERS = 8
DEFAULT_THREADS = 4


def default_workers(cpus: int | None) -> int:
    """One process per CPU plus one (a spare while another waits on the GIL), capped."""
    return max(2, min((cpus or 1) + 1, MAX_DEFAULT_WORKERS))


def _int(value: str | None, default: int) -> int:
    """An environment variable's value as a whole number, ``default`` when unset or empty."""
    value = (value or "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND") or "{}:{}".format(
    os.environ.get("EDC_HOST", "0.0.0.0"), os.environ.get("EDC_PORT", "8000")
)
worker_class = "gthread"
workers = _int(os.environ.get("GUNICORN_WORKERS"), default_workers(os.cpu_count()))
threads = _int(os.environ.get("GUNICORN_THREADS"), DEFAULT_THREADS)
# A request still running after this many seconds is killed with its worker (exports run on Celery).
timeout = _int(os.environ.get("GUNICORN_TIMEOUT"), 60)
graceful_timeout = _int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT"), 30)
# Behind a proxy that keeps connections open: keep ours open a little longer than its idle timeout.
keepalive = _int(os.environ.get("GUNICORN_KEEPALIVE"), 5)
# Recycle a process now and then (jittered, so not all at once): bounds any slow memory growth.
max_requests = _int(os.environ.get("GUNICORN_MAX_REQUESTS"), 5000)
max_requests_jitter = max_requests // 10
# Load the application once in the master: faster start, and a broken configuration fails at once.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's control socket (``gunicornc``) only where asked for: by default every instance on the
# machine would claim the same path under the home folder.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")


def when_ready(server):
    """Before the workers fork: import every view (the URLconf), compile the project's templates and
    load the translations in the master, so that each worker starts warm and shares them instead of
    paying for them on its first requests."""
    from pathlib import Path

    from django.conf import settings
    from django.template import TemplateDoesNotExist, TemplateSyntaxError
    from django.template.loader import get_template
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 - importing the views is the point
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in Path(folder).rglob("*.html"):
            try:
                get_template(str(path.relative_to(folder)))
            except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
                server.log.warning("template %s not precompiled: %s", path, exc)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Participants")
