"""Signing a visit or a casebook, and breaking signatures when signed data change.

Signing (21 CFR 11.50, 11.200): the investigator of the participant's site re-enters the password
(``accounts.services.confirm_password``: a wrong one is a failed login that counts towards the
lockout), the data must be complete (``rules``), and the signature stores its manifestation and the
hash of the content it covers. Every write path of signed data calls ``break_signatures`` in its own
transaction: a signature whose content no longer hashes the same is marked broken, with what changed,
who changed it and why.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.permissions import Action, require
from accounts.services import confirm_password
from edc.audit import audited
from edc.errors import DomainError
from edc.localtime import site_time
from trials.models import Participant

from . import selectors
from .content import Snapshot
from .models import MEANINGS_OF_SCOPE, Meaning, Scope, Signature, SignatureStatus


def sign_visit(*, user, visit, password: str, request, meaning: str = Meaning.VISIT_APPROVED) -> Signature:
    """The investigator signs every form of ``visit``."""
    return _sign(
        user=user,
        participant=visit.participant,
        visit=visit,
        scope=Scope.VISIT,
        meaning=meaning,
        password=password,
        request=request,
    )


def sign_casebook(
    *, user, participant, password: str, request, meaning: str = Meaning.CASEBOOK_APPROVED
) -> Signature:
    """The investigator signs the participant's whole casebook (every visit and the adverse events)."""
    return _sign(
        user=user,
        participant=participant,
        visit=None,
        scope=Scope.CASEBOOK,
        meaning=meaning,
        password=password,
        request=request,
    )


def _refuse_if_not_signable(participant, visit, scope, snapshot=None) -> None:
    if participant.entered_in_error or (visit is not None and visit.entered_in_error):
        raise DomainError(_("This record was entered in error and cannot be signed."))
    problems = selectors.unsigned_reasons(participant, scope=scope, visit=visit, snapshot=snapshot)
    if problems:
        text = (
            _("This visit cannot be signed yet: %(problems)s.")
            if scope == Scope.VISIT
            else _("This casebook cannot be signed yet: %(problems)s.")
        )
        raise DomainError(text % {"problems": "; ".join(problems)})
    if selectors.valid_signature(participant, scope=scope, visit=visit) is not None:
        raise DomainError(
            _("This visit is already signed.")
            if scope == Scope.VISIT
            else _("This casebook is already signed.")
        )


def _sign(*, user, participant, visit, scope, meaning, password, request) -> Signature:
    require(user, Action.SIGN, participant.site)
    if meaning not in MEANINGS_OF_SCOPE[scope]:
        raise DomainError(_("Choose the meaning of your signature."), field="meaning")
    _refuse_if_not_signable(participant, visit, scope)
    # Outside the transaction: a wrong password stays recorded (and counted) although signing fails.
    confirm_password(user=user, password=password, request=request)
    meaning_text = str(Meaning(meaning).label)
    with audited(user=user, action=f"sign_{scope}", reason=meaning_text):
        # Signing and breaking both lock the participant: a save cannot slip between the hash and
        # the signature unnoticed.
        participant = Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
        snapshot = Snapshot.of(participant.pk)
        _refuse_if_not_signable(participant, visit, scope, snapshot)
        visit_id = visit.pk if visit is not None else None
        now = timezone.now()
        local = site_time(now, participant.site.timezone)
        return Signature.objects.create(
            participant=participant,
            scope=scope,
            visit_id=visit_id,
            signer=user,
            printed_name=user.get_full_name().strip() or user.get_username(),
            signed_at=now,
            site_timezone=participant.site.timezone,
            local_signed_at=f"{local:%Y-%m-%d %H:%M} {participant.site.timezone}",
            meaning=meaning,
            content_hash=snapshot.content_hash(scope, visit_id),
            records=snapshot.record_keys(scope, visit_id),
        )


def _owner(record) -> tuple[int, int | None]:
    """(participant id, visit id or None) of a signed record."""
    from visits.models import Visit

    if isinstance(record, Visit):
        return record.participant_id, record.pk
    for parent in ("adverse_event", "panel"):
        if not hasattr(record, "participant_id") and hasattr(record, parent):
            return _owner(getattr(record, parent))
    return record.participant_id, getattr(record, "visit_id", None)


def _visit_name(record, visit_id) -> str:
    from visits.models import Visit

    if isinstance(record, Visit):
        return record.name
    if visit_id is None:
        return ""
    return Visit.objects.filter(pk=visit_id).values_list("name", flat=True).first() or ""


def break_signatures(*, record, user, reason: str = "", changes=()) -> list[Signature]:
    """Mark broken every valid signature whose content ``record``'s change altered; return them.

    Call it after the change is written, in the same transaction (the caller's ``audited`` context
    attributes the break). ``changes``: labels of the fields changed, for the reason text; without
    them the record's own name is used. A signature whose content still hashes the same (a save
    that changed nothing) stays valid.
    """
    participant_id, visit_id = _owner(record)
    with transaction.atomic():
        list(Participant.objects.select_for_update().filter(pk=participant_id).values_list("pk"))
        covering = (
            Q(scope=Scope.CASEBOOK) if visit_id is None else Q(scope=Scope.CASEBOOK) | Q(visit_id=visit_id)
        )
        signatures = list(
            Signature.objects.select_for_update().filter(
                covering, participant_id=participant_id, status=SignatureStatus.VALID
            )
        )
        if not signatures:
            return []
        snapshot = Snapshot.of(participant_id)
        broken = [s for s in signatures if snapshot.content_hash(s.scope, s.visit_id) != s.content_hash]
        # Stored in English (the record of the break); the parts let each reader see it in their language.
        visit_name = _visit_name(record, visit_id)  # read only when a signature covers the record
        with translation.override("en"):
            text, parts = _reason_text(record, user, reason, changes, visit_name)
        parts["params"]["visit_zh_hans"] = _visit_name_zh(visit_id)
        now = timezone.now()
        for signature in broken:
            signature.status, signature.broken_at = SignatureStatus.BROKEN, now
            signature.broken_by, signature.broken_reason = user, text
            signature.broken_reason_parts = parts
            signature.save(
                update_fields=["status", "broken_at", "broken_by", "broken_reason", "broken_reason_parts"]
            )
    return broken


def _label(record, name) -> str:
    """A field's label, a child table's name, or ``name`` itself (already a label)."""
    from django.core.exceptions import FieldDoesNotExist

    try:
        field = record._meta.get_field(name)
    except FieldDoesNotExist:
        return str(name)
    if field.is_relation and field.auto_created:
        return str(field.related_model._meta.verbose_name_plural)
    return str(field.verbose_name)


def _visit_name_zh(visit_id) -> str:
    from visits.models import Visit

    if visit_id is None:
        return ""
    name = Visit.objects.filter(pk=visit_id).values_list("definition__name_zh_hans", flat=True).first()
    return name or ""


def _reason_text(record, user, reason, changes, visit_name) -> tuple[str, dict]:
    """E.g. "Weight (kg) changed at Week 4 by Jane Doe: transcription error", and its parts
    ({"msgid", "params", "reason"}) for ``Signature.breakage`` to show it in the reader's language."""
    changes = list(changes)
    who = (user.get_full_name().strip() or user.get_username()) if user is not None else _("the system")
    name = str(record._meta.verbose_name)
    if getattr(record, "number", None) is not None:  # adverse event 3
        name = f"{name} {record.number}"
    values = {
        "record": name,
        "record_name": str(record._meta.verbose_name),
        "visit": visit_name,
        "user": str(who),
    }
    if getattr(record, "number", None) is not None:
        values["record_number"] = record.number
    if "entered_in_error" in changes:
        msgid = (
            gettext_noop("%(record)s entered in error at %(visit)s by %(user)s")
            if visit_name
            else gettext_noop("%(record)s entered in error by %(user)s")
        )
    else:
        labels = [_label(record, name) for name in changes]
        values["what"] = ", ".join(labels) or values["record"]
        values["what_labels"] = labels
        msgid = (
            gettext_noop("%(what)s changed at %(visit)s by %(user)s")
            if visit_name
            else gettext_noop("%(what)s of %(record)s changed by %(user)s")
        )
    return reason_text({"msgid": msgid, "params": values, "reason": reason.strip()}), {
        "msgid": msgid,
        "params": values,
        "reason": reason.strip(),
    }


def reason_text(parts: dict) -> str:
    """A break's reason in the current language, from its stored parts (``_reason_text``)."""
    params = dict(parts["params"])
    if params.get("record_name"):
        number = params.get("record_number")
        params["record"] = _(params["record_name"]) + (f" {number}" if number is not None else "")
    if "what_labels" in params:
        params["what"] = ", ".join(_(label) for label in params["what_labels"]) or params["record"]
    if translation.get_language() == "zh-hans" and params.get("visit_zh_hans"):
        params["visit"] = params["visit_zh_hans"]
    text = _(parts["msgid"]) % params
    text = text[:1].upper() + text[1:]
    reason = parts.get("reason", "")
    return f"{text}: {reason}" if reason else text
