"""One way to ask whether an edit check fired, for the check tests of every form."""

from crfs.checks import all_checks
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from monitoring.models import Query, QueryStatus

CHECKS = {check.id: check for check in all_checks()}


def check_outcome(user, code, visit, data, check_id, *, instance=None, complete=False, reason=""):
    """Save ``data`` and say what check ``check_id`` did: "hard" (refused on its field with its
    message), "soft" (saved, its automatic query open) or "quiet"; another refusal fails the test."""
    check = CHECKS[check_id]
    try:
        obj = save_form(
            user=user,
            spec=FORMS[code],
            visit=visit,
            data=data,
            instance=instance,
            complete=complete,
            reason=reason,
        )
    except DomainError as exc:
        if exc.field == check.field and str(exc.message) == str(check.message):
            return "hard", instance
        raise
    live = Query.objects.filter(check_id=check_id, object_id=obj.pk).exclude(status=QueryStatus.CLOSED)
    return ("soft" if live.exists() else "quiet"), obj


def assert_check(user, code, visit, base, check_id, firing, quiet):
    """The check fires on ``firing`` and not on ``quiet``; a soft check's query closes on correction."""
    check = CHECKS[check_id]
    fired, obj = check_outcome(user, code, visit, {**base, **firing}, check_id)
    assert fired == check.severity, f"{check_id} should fire as {check.severity}, got {fired}"
    follow = obj if check.severity == "soft" else None
    quiet = {**base, **quiet}
    if follow is not None:
        quiet = onto_stored_rows(follow, quiet)
    result, obj = check_outcome(user, code, visit, quiet, check_id, instance=follow)
    assert result == "quiet", f"{check_id} should not fire on {quiet}"
    if check.severity == "soft":
        query = Query.objects.get(check_id=check_id, object_id=obj.pk)
        assert query.status == QueryStatus.CLOSED


def onto_stored_rows(obj, data: dict) -> dict:
    """Submitted child rows as a correction of the stored ones (row by row), as the page sends them."""
    data = dict(data)
    for name in obj.child_sets:
        if name not in data:
            continue
        stored = obj.rows(name)
        rows = [{**row, "id": stored[i].pk if i < len(stored) else None} for i, row in enumerate(data[name])]
        rows += [{"id": row.pk, "remove": True} for row in stored[len(rows) :]]
        data[name] = rows
    return data
