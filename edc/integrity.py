"""Record integrity: what guards every clinical record, whichever app stores it.

The clinical-record base (``edc.models.ClinicalRecord``) gives each record its version for optimistic
locking; this module gives it the rest, so that the base apps (``trials``, ``visits``) need nothing from
the apps built on them:

- the lock trigger (:class:`RefuseWhenLocked`), declared in the ``Meta.triggers`` of every concrete
  clinical record: the table refuses an INSERT or UPDATE that an active lock covers, on every path (a
  raw ORM ``save()``, a ``QuerySet.update()``, a shell, a command). It reads the lock table of the model
  registered with :func:`register_lock_model` (``monitoring.Lock``);
- two hook points that each write path of a clinical record calls inside its audited transaction:
  :func:`before_change` (refuse it: ``monitoring`` registers its lock check, which raises ``LockedError``
  with the lock's translated message) and :func:`after_change` (its consequences: ``signatures`` breaks
  the signatures whose content changed, ``monitoring`` clears the source-data verifications).

The apps that add locks, SDV and signatures register into these from their ``AppConfig.ready()``;
``tests/monitoring/test_locks.py`` checks that no clinical record lacks the trigger.
"""

from collections.abc import Callable
from textwrap import dedent

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from edc.errors import LOCKED_SQLSTATE

TRIGGER_NAME = "refuse_when_locked"


class RefuseWhenLocked(pgtrigger.Trigger):
    """BEFORE INSERT OR UPDATE, per row: raise when a form, visit, participant or study lock covers it.

    ``parent`` names the foreign key of a child row (a table row of a form, a lab result of its panel,
    a grade of its adverse event): the row is covered by its parent's locks. It may name a generic
    foreign key (why a field of any form is empty: ``crfs.MissingValue``): the parent's table is then
    the default table of its content type (``<app_label>_<model>``) and its participant and visit are
    read from the row found there. Without a lock anywhere in
    the study the trigger costs one lookup in a partial index (bulk ``COPY`` stays fast).
    """

    name = TRIGGER_NAME
    when = pgtrigger.Before
    operation = pgtrigger.Insert | pgtrigger.Update
    declare = [
        ("_form_id", "BIGINT"),
        ("_participant", "BIGINT"),
        ("_visit", "BIGINT"),
        ("_site", "BIGINT"),
        ("_lock", "RECORD"),
    ]

    def __init__(self, *, parent: str | None = None):
        self.parent = parent
        super().__init__()

    def generic(self, model):
        """The generic foreign key named by ``parent``, or None."""
        from django.contrib.contenttypes.fields import GenericForeignKey

        if not self.parent:
            return None
        # Migrations render models without their generic keys: read it on the installed model.
        installed = apps.get_model(model._meta.app_label, model._meta.model_name)
        found = [f for f in installed._meta.private_fields if f.name == self.parent]
        return found[0] if found and isinstance(found[0], GenericForeignKey) else None

    def get_declare(self, model):
        declare = list(super().get_declare(model))
        return [*declare, ("_form_table", "TEXT")] if self.generic(model) else declare

    def covered(self, model):
        """(form model, SQL of the form's id, participant id and visit id over ``NEW``)."""
        if generic := self.generic(model):
            content_type = model._meta.get_field(generic.ct_field).column
            object_id = model._meta.get_field(generic.fk_field).column
            lookup = (
                f'SELECT ct."app_label" || \'_\' || ct."model" INTO _form_table '
                f'FROM "django_content_type" ct WHERE ct."id" = NEW."{content_type}"; '
                "EXECUTE format('SELECT (to_jsonb(f) ->> ''participant_id'')::bigint, "
                "(to_jsonb(f) ->> ''visit_id'')::bigint FROM %I f WHERE f.\"id\" = $1', _form_table) "
                f'INTO _participant, _visit USING NEW."{object_id}";'
            )
            return None, f'NEW."{object_id}"', lookup
        if self.parent:
            field = model._meta.get_field(self.parent)
            form = field.related_model
            participant, visit = _columns(form, "f")
            lookup = (
                f"SELECT {participant}, {visit} INTO _participant, _visit "
                f'FROM "{form._meta.db_table}" f WHERE f."id" = NEW."{field.column}";'
            )
            return form, f'NEW."{field.column}"', lookup
        participant, visit = _columns(model, "NEW")
        return model, 'NEW."id"', f"_participant := {participant}; _visit := {visit};"

    def get_func(self, model):
        form, form_id, lookup = self.covered(model)
        form_table = "_form_table" if form is None else f"'{form._meta.db_table}'"
        lock = lock_model()._meta.db_table
        user = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
        site = "NEW.\"site_id\"" if model._meta.label == "trials.Participant" else (
            '(SELECT p."site_id" FROM "trials_participant" p WHERE p."id" = _participant)'
        )  # fmt: skip
        return dedent(f"""
            IF NOT EXISTS (SELECT 1 FROM "{lock}" WHERE "unlocked_at" IS NULL) THEN
                RETURN NEW;
            END IF;
            _form_id := {form_id};
            {lookup}
            _site := {site};
            SELECT l."id", l."scope", l."reason", u."username",
                   to_char(l."locked_at" AT TIME ZONE s."timezone", 'YYYY-MM-DD HH24:MI') AS at
              INTO _lock
              FROM "{lock}" l
              JOIN "{user}" u ON u."id" = l."locked_by_id"
              JOIN "trials_site" s ON s."id" = _site
             WHERE l."unlocked_at" IS NULL AND (
                   (l."scope" = 'form' AND l."form_table" = {form_table}
                    AND l."object_id" = _form_id)
                OR (l."scope" = 'visit' AND l."visit_id" = _visit)
                OR (l."scope" = 'participant' AND l."participant_id" = _participant)
                OR (l."scope" = 'study' AND l."study_id" = s."study_id"))
             ORDER BY l."locked_at", l."id"
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION USING
                    ERRCODE = '{LOCKED_SQLSTATE}',
                    MESSAGE = format('Locked (%s lock by %s on %s): %s',
                                     _lock.scope, _lock.username, _lock.at, _lock.reason),
                    DETAIL = json_build_object('lock', _lock.id, 'scope', _lock.scope,
                                               'by', _lock.username, 'at', _lock.at,
                                               'reason', _lock.reason)::text;
            END IF;
            RETURN NEW;
        """).strip()


def _columns(model, alias: str) -> tuple[str, str]:
    """SQL of a row's participant id and visit id (NULL when the model has no visit)."""
    label = model._meta.label
    names = {f.name for f in model._meta.concrete_fields}
    participant = f'{alias}."id"' if label == "trials.Participant" else f'{alias}."participant_id"'
    if label == "visits.Visit":
        visit = f'{alias}."id"'
    elif "visit" in names:
        visit = f'{alias}."visit_id"'
    else:
        visit = "NULL"
    return participant, visit


# The lock model and the hooks ------------------------------------------------------------------------

_lock_model: list[str] = []  # "app_label.Model" of the lock table the trigger reads
_before_change: list[Callable] = []  # function(record): raise DomainError to refuse the change
_after_change: list[Callable] = []  # function(*, record, user, reason, changes): the change's consequences


def register_lock_model(label: str) -> None:
    """Name the model (``"monitoring.Lock"``) whose active rows the lock trigger refuses writes under."""
    if _lock_model and _lock_model[0] != label:
        raise ImproperlyConfigured(f"The lock model is already {_lock_model[0]}, not {label}.")
    _lock_model[:] = [label]


def lock_model():
    if not _lock_model:
        raise ImproperlyConfigured("No installed app registered the lock model (register_lock_model).")
    return apps.get_model(_lock_model[0])


def on_before_change(hook: Callable) -> None:
    """Run ``hook(record)`` before every change of a clinical record; it raises to refuse the change."""
    if hook not in _before_change:
        _before_change.append(hook)


def on_after_change(hook: Callable) -> None:
    """Run ``hook(record=, user=, reason=, changes=)`` after every change of a clinical record."""
    if hook not in _after_change:
        _after_change.append(hook)


def before_change(record) -> None:
    """Refuse a change of ``record`` that a registered check forbids (a lock covers it: ``LockedError``).

    Call it on the row locked for the transaction, before writing.
    """
    for hook in _before_change:
        hook(record)


def after_change(*, record, user, reason: str = "", changes: dict) -> None:
    """Let the registered apps react to the change of ``record`` just written, in the same transaction.

    ``changes``: ``{field name or label: (old, new)}`` of what changed (signatures name them in the
    reason they were broken; SDV clears the verifications of those fields and of the whole form).
    """
    for hook in _after_change:
        hook(record=record, user=user, reason=reason, changes=changes)
