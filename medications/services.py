"""Saving the medications of a visit entered as the rows of one table.

Every row is an entry of the log and goes through the one CRF workflow (``crfs.services``): a new or
changed row through ``save_form`` (edit checks, reason for change on a complete entry, locks, its own
optimistic version, audit), a removed row through ``mark_form_entered_in_error`` (kept, with the
reason). The rows are saved in one transaction: one refused row refuses them all, and the problems of
every row come back together, each on its row.
"""

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from crfs.models import FormStatus
from crfs.registry import FORMS
from crfs.services import changed_fields, check_form, mark_form_entered_in_error, save_form
from edc.errors import ConflictError, DomainError, LockedError, Problem, refuse

from .models import Medication

CODE = "medications"


def entries_at(visit):
    """The live entries recorded at ``visit``, in the order they were entered (the table's rows)."""
    return Medication.objects.filter(visit=visit, entered_in_error=False).order_by("pk")


def _values(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("key", "id", "remove", "expected_version")}


def _stored(visit, rows: list[dict]) -> dict:
    ids = [row["id"] for row in rows if row.get("id")]
    return {m.pk: m for m in entries_at(visit).filter(pk__in=ids)}


def save_medication_rows(*, user, visit, rows: list[dict], complete: bool = False, reason: str = "") -> list:
    """Save the rows of ``visit``'s medications table; return the entries saved.

    ``rows``: [{"key", "id" (None for a new row), "remove", "expected_version", field: value}]. With
    ``complete``, every new or changed row, and every draft row of the table, is marked complete.
    """
    require(user, Action.ENTER_DATA, visit.participant.site)
    stored = _stored(visit, rows)
    problems, saved = [], []
    if any(row.get("remove") and row.get("id") for row in rows) and not reason.strip():
        problems.append(
            Problem(_("Say why the removed entries are removed: give a reason for change."), field="reason")
        )
    with transaction.atomic():
        for row in rows:
            key, pk = row["key"], row.get("id")
            instance = stored.get(pk) if pk else None
            if pk and instance is None:
                problems.append(
                    Problem(_("This entry is no longer recorded at this visit: reload the page."), row=key)
                )
                continue
            try:
                with transaction.atomic():
                    result = _save_row(
                        user=user, visit=visit, row=row, instance=instance, complete=complete, reason=reason
                    )
            except ConflictError:
                problems.append(
                    Problem(
                        _(
                            "Someone else changed this entry after you opened the page: reload the page to "
                            "see their change, then enter yours again."
                        ),
                        row=key,
                    )
                )
            except DomainError as exc:
                problems += [Problem(p.message, field=p.field, row=key) for p in exc.problems]
            except DatabaseError as exc:  # the lock trigger refused a write no service checked
                locked = LockedError.from_database(exc)
                if locked is None:
                    raise
                problems.append(Problem(locked.message, row=key))
            else:
                if result is not None and not row.get("remove"):
                    saved.append(result)
        refuse(problems)  # every row's problems in one answer; the rows already written roll back
    return saved


def _save_row(*, user, visit, row: dict, instance, complete: bool, reason: str):
    """Save, remove or leave one row; return the entry written, or None when nothing was to be written."""
    spec = FORMS[CODE]
    # A stored row always carries the version it was shown at; without one it is stale, never overwritten.
    expected = row.get("expected_version") or 0 if instance is not None else None
    if row.get("remove"):
        if instance is None or not reason.strip():  # a new row removed: nothing to keep
            return None
        return mark_form_entered_in_error(
            user=user, spec=spec, instance=instance, reason=reason, expected_version=expected
        )
    values = _values(row)
    unchanged = instance is not None and not changed_fields(instance, values)
    if unchanged and (not complete or instance.status == FormStatus.COMPLETE):
        return None  # no new version, nothing in the audit trail
    return save_form(
        user=user,
        spec=spec,
        visit=visit,
        instance=instance,
        data=values,
        complete=complete,
        reason=reason,
        expected_version=expected,
    )


def check_medication_rows(*, visit, rows: list[dict]) -> list[Problem]:
    """The hard edit checks that saving ``rows`` would fire, each on its row; nothing is written."""
    spec = FORMS[CODE]
    stored = _stored(visit, rows)
    problems = []
    for row in rows:
        if row.get("remove"):
            continue
        instance = stored.get(row.get("id"))
        hard, _soft = check_form(spec=spec, visit=visit, instance=instance, data=_values(row))
        problems += [Problem(check.message, field=check.field, row=row["key"]) for check in hard]
    return problems
