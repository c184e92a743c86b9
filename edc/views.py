"""Project-level views: health, error pages, and the form-to-service helper every view uses."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.template import loader
from django.utils.translation import gettext as _

from .errors import ConflictError, DomainError, LockedError
from .idempotency import FIELD, Repeated, add_key_field, claim, finish, submitted_key


def submit(request, form, call, *, success_url, success_message, template, context):
    """Validate ``form``, run ``call(**form.service_kwargs())`` and turn refusals into messages.

    A DomainError becomes a field or form error (status 400), a ConflictError a 409 page that shows
    the current values beside the user's own input, which is kept for re-submission. Every form gets a
    one-time submission key (``edc.idempotency``): the POST claims it in the transaction of the write,
    so a repeated or concurrent POST of the same page lands where the first one did and writes nothing.
    ``success_url`` may be a function of what ``call`` returned (the record it created).
    """
    status = 200
    add_key_field(form)
    if request.method == "POST":
        if form.is_valid():
            key = submitted_key(form)
            try:
                # A check whose failure must be recorded although the write is refused (a wrong
                # signature password is a failed login that counts towards the lockout) runs before the
                # write's transaction, which a refusal rolls back.
                confirm = getattr(form, "confirm_outside_transaction", None)
                if confirm is not None:
                    confirm(request)
                with transaction.atomic():
                    if key is not None:
                        claim(key=key, user=request.user, path=request.path)
                    result = call(**form.service_kwargs())
                    url = resolve_url(success_url(result) if callable(success_url) else success_url)
                    if key is not None:
                        finish(key=key, url=url)
            except Repeated as repeated:
                messages.info(request, _("This page was already submitted; nothing was saved twice."))
                return redirect(repeated.url)
            except ConflictError as exc:
                context = {**context, **conflict_context(form, exc)}
                form.add_error(None, exc.message)
                status = 409
            except DomainError as exc:
                add_problems(form, exc.problems)
                status = 400
            except DatabaseError as exc:  # the lock trigger refused a write no service checked
                locked = LockedError.from_database(exc)
                if locked is None:
                    raise
                form.add_error(None, locked.message)
                status = 400
            else:
                messages.success(request, success_message)
                return redirect(url)
        else:
            status = 400
            # Every problem at once: the edit checks run on the fields that could be read.
            check = getattr(form, "check_problems", None)
            if check is not None:
                add_problems(form, check())
    return render(request, template, {**context, "form": form}, status=status)


def add_problems(form, problems) -> None:
    """Put each problem on its field (or its row, for a form with tables: ``form.add_problem``)."""
    for problem in problems:
        add = getattr(form, "add_problem", None)
        if add is not None:
            add(problem)
        else:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)


def conflict_context(form, exc) -> dict:
    """The conflict page: the record as it is now; the user's input stays in the form.

    With a merge (``edc.merge``, the CRFs and lab panels), the colleague's changes go into the form, the
    user's own changes stay, and each value both changed is shown side by side for the user to choose;
    saving again confirms. Without one, the form keeps the user's input against the current version.
    """
    current, merge = exc.current, getattr(exc, "merge", None)
    if merge is not None and hasattr(form, "apply_merge"):
        form.apply_merge(merge)
        return {"conflict": current, "merge": merge}
    form.data = form.data.copy()
    if current is not None:
        form.data["expected_version"] = current.version
    return {
        "conflict": current,
        "conflict_fields": [
            (form.fields[name].label, getattr(current, name))
            for name in form.fields
            if name not in ("expected_version", FIELD) and hasattr(current, name)
        ],
    }


@login_not_required
def health(request):
    """Database, Redis and Celery worker status, with the last reminder scan when there is one."""
    from django.conf import settings

    report, ok = {}, True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        report["database"], ok = f"error: {exc.__class__.__name__}", False
    from notifications import selectors as notifications

    try:
        scan = notifications.last_scan() if report["database"] == "ok" else None
        report["last_reminder_scan"] = scan.finished_at.isoformat() if scan else None
    except Exception as exc:  # noqa: BLE001
        report["last_reminder_scan"] = f"error: {exc.__class__.__name__}"
    try:
        report["last_audit_verification"] = _last_verification() if report["database"] == "ok" else None
    except Exception as exc:  # noqa: BLE001
        report["last_audit_verification"] = f"error: {exc.__class__.__name__}"
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        report["redis"] = "ok"
        report["celery_queue_length"] = notifications.celery_queue_length(client)
    except Exception as exc:  # noqa: BLE001
        report["redis"], ok = f"error: {exc.__class__.__name__}", False
        report["celery_queue_length"] = None
    if report["redis"] == "ok":
        from .celery import app

        try:
            replies = app.control.ping(timeout=1.0)
        except Exception:  # noqa: BLE001
            replies = []
        report["celery_workers"] = len(replies)
        report["celery"] = "ok" if replies else "error: no worker answered"
        ok = ok and bool(replies)
    else:
        report["celery"], report["celery_workers"] = "unknown: Redis is down", 0
    report["status"] = "ok" if ok else "degraded"
    return JsonResponse(report, status=200 if ok else 503)


def _last_verification() -> dict | None:
    """The last verification of the audit trail (auditchain): when, intact or not, counts, chain head."""
    from auditchain.models import Verification

    last = Verification.objects.order_by("-started_at").first()
    if last is None:
        return None
    return {
        "finished_at": last.finished_at.isoformat(),
        "ok": last.ok,
        "breaks": last.break_count,
        "events": last.counts.get("events"),
        "chain_head": last.chain_head,
    }


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else _("Your role does not allow this action.")
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


@login_not_required
def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def server_error(request):
    """The 500 page, rendered without the request's context: the error may be the database or Redis
    being down, which the context processors (navigation, notification badge) would need. The language
    the request activated still applies."""
    return HttpResponseServerError(loader.get_template("500.html").render())


def calculators(request):
    """Every clinical rule the system applies, with its version and source (for monitors, auditors)."""
    from .clinical import CALCULATORS

    rows = sorted(CALCULATORS.values(), key=lambda c: c.name)
    return render(request, "edc/calculators.html", {"calculators": rows})


def root(request):
    return redirect("home")
