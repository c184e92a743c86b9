"""Reads of queries that depend on who is asking: scoped by site, drafts only for the roles that raise
queries (the site never sees a draft before a data manager releases it), counts in one query each."""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, Value
from django.shortcuts import get_object_or_404

from accounts.permissions import Action, can, site_ids

from .models import Lock, LockScope, Query, QueryStatus, SourceVerification

LIVE = [QueryStatus.DRAFT, QueryStatus.OPEN, QueryStatus.ANSWERED]


def queries_for(user):
    """Every query the user may see: their sites' released queries, and drafts where they raise queries."""
    visible = Q(participant__site_id__in=site_ids(user)) & ~Q(status=QueryStatus.DRAFT)
    drafts = site_ids(user, Action.QUERY)
    if drafts:
        visible |= Q(participant__site_id__in=drafts, status=QueryStatus.DRAFT)
    return Query.objects.filter(visible).select_related("participant__site", "content_type", "opened_by")


def query_for(user, pk) -> Query:
    """The query, or 404 when it does not exist for this user (other sites, or a draft for the site)."""
    return get_object_or_404(queries_for(user).select_related("participant__site__study"), pk=pk)


def live_queries_for(user):
    return queries_for(user).filter(status__in=LIVE)


def live_count_for_participant(user, participant) -> int:
    return live_queries_for(user).filter(participant=participant).count()


def live_counts_by_participant(user, participant_ids) -> dict[int, int]:
    rows = (
        live_queries_for(user)
        .filter(participant_id__in=list(participant_ids))
        .values("participant_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["participant_id"]: row["n"] for row in rows}


def live_counts_by_record(user, participant) -> dict[tuple[int, int], int]:
    """Live queries of one participant per record, keyed by (content type id, object id): one query."""
    rows = (
        live_queries_for(user)
        .filter(participant=participant)
        .values("content_type_id", "object_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["content_type_id"], row["object_id"]): row["n"] for row in rows}


def live_by_field(user, record) -> dict[str, list[Query]]:
    """Live queries of one record per field name (drafts only for those who may see them)."""
    result: dict[str, list[Query]] = {}
    if record is None:
        return result
    rows = live_queries_for(user).filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    )
    for query in rows.order_by("opened_at", "pk"):
        result.setdefault(query.field_name, []).append(query)
    return result


# Source-data verification and locks ----------------------------------------------------------------


@dataclass
class FieldReview:
    """One field of a form as the monitor sees it: critical or not, verified, or its verification cleared."""

    name: str
    label: str
    critical: bool
    verification: object = None  # the live SourceVerification
    cleared: object = None  # the latest cleared one, when none is live


@dataclass
class RecordReview:
    record: object
    code: str
    form_verification: object = None
    form_cleared: object = None
    fields: list = field(default_factory=list)
    lock: object = None
    can_verify: bool = False
    can_lock: bool = False
    tz: str = "UTC"  # the site's time zone, for the times shown

    @property
    def critical(self) -> list:
        return [f for f in self.fields if f.critical]

    @property
    def critical_done(self) -> bool:
        return bool(self.critical) and all(f.verification or self.form_verification for f in self.critical)


def record_review(user, record, *, code: str, visit=None) -> RecordReview | None:
    """The SDV and lock state of one form for its page (two queries), or of its visit when not saved."""
    from crfs.registry import FORMS

    from .locks import lock_covering
    from .verification import critical_fields, field_label, verifiable_fields

    target = record if record is not None and record.pk else visit
    if target is None:
        return None
    site = target.participant.site
    review = RecordReview(
        record=record,
        code=code,
        lock=lock_covering(target),
        can_verify=can(user, Action.VERIFY, site),
        can_lock=can(user, Action.LOCK, site),
        tz=site.timezone,
    )
    if record is None or record.pk is None:
        return review
    critical = set(critical_fields(site.study, code))
    live, cleared = {}, {}
    rows = SourceVerification.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    ).select_related("verified_by", "cleared_by")
    for verification in rows.order_by("verified_at", "pk"):
        target_map = cleared if verification.cleared_at else live
        target_map[verification.field_name] = verification
    review.form_verification = live.get("")
    review.form_cleared = None if review.form_verification else cleared.get("")
    model = FORMS[code].model if code in FORMS else type(record)
    review.fields = [
        FieldReview(
            name=f.name,
            label=field_label(model, f.name),
            critical=f.name in critical,
            verification=live.get(f.name),
            cleared=None if f.name in live else cleared.get(f.name),
        )
        for f in verifiable_fields(model)
    ]
    return review


@dataclass
class Progress:
    """Verified against total: complete forms, and critical fields (risk-based SDV)."""

    key: object
    label: str
    site: str = ""
    forms_total: int = 0
    forms_verified: int = 0
    critical_total: int = 0
    critical_verified: int = 0

    @staticmethod
    def _pct(done, total):
        return round(100 * done / total) if total else None

    @property
    def forms_pct(self):
        return self._pct(self.forms_verified, self.forms_total)

    @property
    def critical_pct(self):
        return self._pct(self.critical_verified, self.critical_total)


PROGRESS_BY = {"site": "participant__site_id", "participant": "participant_id", "form": None}


def _complete_forms(site_ids_) -> dict:
    """Per form code, its complete live forms at ``site_ids_``, annotated with the code (for a union)."""
    from crfs.models import FormStatus
    from crfs.registry import FORMS

    return {
        code: spec.model.objects.filter(
            status=FormStatus.COMPLETE,
            entered_in_error=False,
            participant__entered_in_error=False,
            participant__site_id__in=site_ids_,
        )
        .annotate(code=Value(code, output_field=CharField()))
        .order_by()
        for code, spec in FORMS.items()
    }


def _content_types() -> dict[int, str]:
    from crfs.registry import FORMS

    models = {spec.model: code for code, spec in FORMS.items()}
    return {ct.pk: models[model] for model, ct in ContentType.objects.get_for_models(*models).items()}


def sdv_progress(user, by: str = "site") -> list[Progress]:
    """SDV progress of the user's sites per site, participant or form: a constant number of queries."""
    from trials.models import Participant, Site

    from .verification import CRITICAL_FIELDS_SETTING

    if by not in PROGRESS_BY:
        raise ValueError(by)
    sites = {s.pk: s for s in Site.objects.filter(pk__in=site_ids(user)).select_related("study")}
    if not sites:
        return []
    critical = {
        pk: (site.study.settings or {}).get(CRITICAL_FIELDS_SETTING) or {} for pk, site in sites.items()
    }
    group = PROGRESS_BY[by]
    keys = {"site_key": F("participant__site_id")} | ({"key": F(group)} if group else {})

    rows: dict = {}

    def row_for(row, code) -> Progress:
        key = row["key"] if group else code
        return rows.setdefault(key, Progress(key=key, label=""))

    forms = _complete_forms(list(sites)).values()
    parts = [qs.values("code", **keys).annotate(n=Count("pk")) for qs in forms]
    for row in parts[0].union(*parts[1:], all=True):
        progress = row_for(row, row["code"])
        progress.forms_total += row["n"]
        progress.critical_total += row["n"] * len(critical[row["site_key"]].get(row["code"], []))

    codes = _content_types()
    live = SourceVerification.objects.filter(
        cleared_at=None, participant__site_id__in=list(sites), participant__entered_in_error=False
    )
    whole = live.filter(field_name="").values("content_type_id", **keys).annotate(n=Count("pk")).order_by()
    for row in whole:
        code = codes.get(row["content_type_id"])
        if code is None:
            continue
        progress = row_for(row, code)
        progress.forms_verified += row["n"]
        progress.critical_verified += row["n"] * len(critical[row["site_key"]].get(code, []))

    by_code = {code: ct for ct, code in codes.items()}
    condition = Q(pk__in=[])
    for site_pk, fields_by_code in critical.items():
        for code, fields in fields_by_code.items():
            if code in by_code:
                condition |= Q(
                    participant__site_id=site_pk, content_type_id=by_code[code], field_name__in=fields
                )
    form_verified = SourceVerification.objects.filter(
        cleared_at=None,
        field_name="",
        content_type_id=OuterRef("content_type_id"),
        object_id=OuterRef("object_id"),
    )
    single = (
        live.filter(condition)
        .exclude(Exists(form_verified))
        .values("content_type_id", **keys)
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in single:
        row_for(row, codes[row["content_type_id"]]).critical_verified += row["n"]

    if by == "site":
        for key, progress in rows.items():
            progress.label = sites[key].name
    elif by == "participant":
        for p in Participant.objects.filter(pk__in=list(rows)).select_related("site"):
            rows[p.pk].label, rows[p.pk].site = str(p), p.site.code
    else:
        from crfs.registry import FORMS

        for key, progress in rows.items():
            progress.label = str(FORMS[key].title)
    return sorted(rows.values(), key=lambda p: (p.site, p.label))


@dataclass
class FormToVerify:
    code: str
    title: str
    pk: int
    participant: object
    visit: object
    completed_at: object

    @property
    def url(self) -> str:
        from django.urls import reverse

        return reverse("form_entry_instance", args=[self.visit.pk, self.code, self.pk])


def forms_to_verify(user, *, limit: int = 200) -> list[FormToVerify]:
    """Complete forms of the user's sites without a whole-form verification, oldest first (two queries)."""
    from crfs.registry import FORMS
    from visits.models import Visit

    codes = {code: ct for ct, code in _content_types().items()}
    parts = []
    for code, qs in _complete_forms(list(site_ids(user))).items():
        verified = SourceVerification.objects.filter(
            cleared_at=None, field_name="", content_type_id=codes[code], object_id=OuterRef("pk")
        )
        parts.append(qs.exclude(Exists(verified)).values("pk", "visit_id", "completed_at", "code"))
    found = list(parts[0].union(*parts[1:], all=True).order_by("completed_at", "pk")[:limit])
    visits = Visit.objects.select_related("participant__site", "definition").in_bulk(
        [row["visit_id"] for row in found]
    )
    return [
        FormToVerify(
            code=row["code"],
            title=str(FORMS[row["code"]].title),
            pk=row["pk"],
            participant=visits[row["visit_id"]].participant,
            visit=visits[row["visit_id"]],
            completed_at=row["completed_at"],
        )
        for row in found
    ]


def locks_for(user, *, active_only: bool = False):
    """Locks over the user's sites: those of their participants, and study locks of their studies."""
    from trials.models import Site

    sites = list(site_ids(user))
    studies = Site.objects.filter(pk__in=sites).values("study_id")
    locks = Lock.objects.filter(
        Q(participant__site_id__in=sites) | Q(scope=LockScope.STUDY, study_id__in=studies)
    ).select_related(
        "locked_by", "unlocked_by", "participant__site", "visit__definition", "content_type", "study"
    )
    return locks.filter(unlocked_at=None) if active_only else locks


def lock_for(user, pk) -> Lock:
    return get_object_or_404(locks_for(user), pk=pk)


@dataclass
class ParticipantLocks:
    """The active locks over one participant: the study's, theirs, and those of their visits and forms."""

    study: object = None
    participant: object = None
    visits: dict = field(default_factory=dict)
    forms: int = 0
    can_lock: bool = False
    tz: str = "UTC"

    @property
    def banners(self) -> list:
        return [lock for lock in (self.study, self.participant) if lock is not None]


def participant_locks(user, participant) -> ParticipantLocks:
    """Active locks covering ``participant`` (one query)."""
    result = ParticipantLocks(can_lock=can(user, Action.LOCK, participant.site), tz=participant.site.timezone)
    active = Lock.objects.filter(
        Q(participant=participant) | Q(scope=LockScope.STUDY, study_id=participant.site.study_id),
        unlocked_at=None,
    ).select_related("locked_by")
    for lock in active:
        if lock.scope == LockScope.STUDY:
            result.study = lock
        elif lock.scope == LockScope.PARTICIPANT:
            result.participant = lock
        elif lock.scope == LockScope.VISIT:
            result.visits[lock.visit_id] = lock
        else:
            result.forms += 1
    return result


def review_history_objects(record) -> list:
    """The verifications and form locks of ``record``, for its history page (two queries)."""
    content_type = ContentType.objects.get_for_model(record)
    return [
        *SourceVerification.objects.filter(content_type=content_type, object_id=record.pk),
        *Lock.objects.filter(content_type=content_type, object_id=record.pk),
    ]


@dataclass
class CasebookReview:
    """The verification and lock state of a participant's forms, for the casebook grid (two queries)."""

    whole: set = field(default_factory=set)  # (content type id, object id) verified as a whole
    some: set = field(default_factory=set)  # (content type id, object id) with a field verified
    locks: ParticipantLocks = None
    form_locks: set = field(default_factory=set)

    def verified(self, keys) -> str:
        if keys and all(key in self.whole for key in keys):
            return "all"
        return "partial" if any(key in self.whole or key in self.some for key in keys) else ""

    def locked(self, visit_id, keys) -> bool:
        locks = self.locks
        if locks.study or locks.participant or visit_id in locks.visits:
            return True
        return bool(keys) and all(key in self.form_locks for key in keys)


def casebook_review(user, participant) -> CasebookReview:
    review = CasebookReview(locks=participant_locks(user, participant))
    rows = SourceVerification.objects.filter(participant=participant, cleared_at=None).values_list(
        "content_type_id", "object_id", "field_name"
    )
    for ct, pk, name in rows:
        (review.some if name else review.whole).add((ct, pk))
    if review.locks.forms:
        review.form_locks = set(
            Lock.objects.filter(participant=participant, scope=LockScope.FORM, unlocked_at=None).values_list(
                "content_type_id", "object_id"
            )
        )
    return review


def complete_forms_of_visit(user, visit) -> list:
    """The complete live forms of ``visit`` (one query per form model), for SDV of the whole visit."""
    from crfs.models import FormStatus
    from crfs.registry import FORMS

    if visit.participant.site_id not in site_ids(user):
        return []
    return [
        record
        for spec in FORMS.values()
        for record in spec.model.objects.filter(
            visit=visit, status=FormStatus.COMPLETE, entered_in_error=False
        ).select_related("participant__site__study", "visit")
    ]


def critical_fields_to_verify(user, code: str) -> list:
    """The complete forms ``code`` at the user's sites whose critical fields are not all verified, each
    with ``to_verify`` (the critical fields not verified yet), in participant and visit order."""
    from crfs.registry import FORMS

    from .verification import critical_fields, field_label

    spec = FORMS.get(code)
    if spec is None:
        return []
    forms = list(
        _complete_forms(list(site_ids(user)))[code]
        .select_related("participant__site__study", "visit__definition")
        .order_by("participant__site__code", "participant__study_id", "visit__sequence")
    )
    content_type = ContentType.objects.get_for_model(spec.model)
    done: dict[int, set] = {}
    for pk, name in SourceVerification.objects.filter(
        content_type=content_type, object_id__in=[f.pk for f in forms], cleared_at=None
    ).values_list("object_id", "field_name"):
        done.setdefault(pk, set()).add(name)
    found = []
    for form in forms:
        verified = done.get(form.pk, set())
        if "" in verified:
            continue
        form.to_verify = [
            field_label(spec.model, n)
            for n in critical_fields(form.participant.site.study, code)
            if n not in verified
        ]
        if form.to_verify:
            found.append(form)
    return found


def verifications_for(user):
    """Every source-data verification (live and cleared) at the user's sites."""
    return SourceVerification.objects.filter(participant__site_id__in=site_ids(user)).select_related(
        "participant__site", "content_type", "verified_by", "cleared_by"
    )
