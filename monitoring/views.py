"""Query pages: the lists, one query with its thread and the transitions the user may take, and the
raise-query form reached from a field of a CRF, a participant or a visit."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Action, require, site_ids
from edc.views import submit
from trials import selectors as trial_selectors

from . import selectors, services
from .forms import MessageForm, RaiseQueryForm, ReleaseForm
from .models import QueryStatus
from .worklists import VISIT_KINDS, missing_form_titles, visits_of_kind

# Bookkeeping columns a query is never about.
NOT_QUERYABLE = {
    "id",
    "participant",
    "visit",
    "status",
    "version",
    "entered_in_error",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "definition",
    "site",
}


def query_list(request):
    from .worklists import AGE_LABELS, filter_queries

    status = request.GET.get("status", "live")
    queries = selectors.queries_for(request.user)
    if status == "live":
        queries = queries.filter(status__in=selectors.LIVE)
    elif status in QueryStatus.values:
        queries = queries.filter(status=status)
    # The worklists' links: site code, the opener's role, the form (app_label.model), age bucket.
    filters = {key: request.GET.get(key, "")[:60] for key in ("site", "raised_by", "form", "age")}
    queries = filter_queries(queries, **filters)
    return render(
        request,
        "monitoring/query_list.html",
        {
            "queries": queries.order_by("-opened_at", "-pk")[:500],
            "status": status,
            "statuses": QueryStatus.choices,
            "filters": {key: value for key, value in filters.items() if value},
            "age_label": AGE_LABELS.get(filters["age"], ""),
        },
    )


def participant_queries(request, pk):
    participant = trial_selectors.participant_for(request.user, pk)
    queries = selectors.queries_for(request.user).filter(participant=participant)
    return render(
        request,
        "monitoring/query_list.html",
        {"participant": participant, "queries": queries.order_by("-opened_at", "-pk"), "status": "all"},
    )


# Lab values are rows of a panel, not a CRF of their own: queries on them use this code.
LAB_RESULT = "lab_result"


def _record_url(query):
    from crfs.registry import FORMS

    model = query.content_type.model_class()
    if model is None:
        return None
    if model._meta.label == "trials.Participant":
        return reverse("participant_detail", args=[query.object_id])
    if model._meta.label == "visits.Visit":
        return reverse("participant_detail", args=[query.participant_id])
    if model._meta.label == "labs.LabResult":
        result = model.objects.filter(pk=query.object_id).select_related("panel").first()
        return reverse("lab_panel", args=[result.panel.visit_id, result.panel_id]) if result else None
    for code, spec in FORMS.items():
        if spec.model is model:
            record = model.objects.filter(pk=query.object_id).only("visit_id").first()
            if record is not None:
                return reverse("form_entry_instance", args=[record.visit_id, code, record.pk])
    return None


def _detail_context(request, query):
    return {
        "query": query,
        "participant": query.participant,
        "thread": query.messages.select_related("author"),
        "actions": services.allowed_actions(request.user, query),
        "record_url": _record_url(query),
    }


def query_detail(request, pk):
    query = selectors.query_for(request.user, pk)
    return render(request, "monitoring/query_detail.html", {**_detail_context(request, query), "form": None})


TRANSITIONS = {
    "release": (services.release_query, ReleaseForm, _("Query released to the site.")),
    "answer": (services.answer_query, MessageForm, _("Query answered.")),
    "close": (services.close_query, MessageForm, _("Query closed.")),
    "reopen": (services.reopen_query, MessageForm, _("Query re-opened.")),
}


def _transition(request, pk, name):
    query = selectors.query_for(request.user, pk)
    call, form_class, message = TRANSITIONS[name]
    site = query.participant.site
    require(request.user, Action.ENTER_DATA if name == "answer" else Action.QUERY, site)
    return submit(
        request,
        form_class(request.POST),
        lambda **kwargs: call(user=request.user, query=query, **kwargs),
        success_url=reverse("query_detail", args=[query.pk]),
        success_message=message,
        template="monitoring/query_detail.html",
        context={**_detail_context(request, query), "failed_action": name},
    )


@require_POST
def release(request, pk):
    return _transition(request, pk, "release")


@require_POST
def answer(request, pk):
    return _transition(request, pk, "answer")


@require_POST
def close(request, pk):
    return _transition(request, pk, "close")


@require_POST
def reopen(request, pk):
    return _transition(request, pk, "reopen")


def _record(request, code, form_pk):
    """The record a query is raised on, or 404 when the user may not see it."""
    from crfs.registry import FORMS

    if code == "participant":
        record = trial_selectors.participant_for(request.user, form_pk)
        return record, record, _("Participant")
    if code == "visit":
        record = trial_selectors.visit_for(request.user, form_pk)
        return record, record.participant, record.name
    if code == LAB_RESULT:
        from labs.models import LabResult

        record = get_object_or_404(
            LabResult.objects.filter(panel__participant__site_id__in=site_ids(request.user)).select_related(
                "panel__participant__site__study", "panel__visit"
            ),
            pk=form_pk,
        )
        return record, record.panel.participant, f"{record.label} · {record.panel.visit.display_name}"
    spec = FORMS.get(code)
    if spec is None:
        raise Http404
    record = get_object_or_404(
        spec.model.objects.filter(participant__site_id__in=site_ids(request.user)).select_related(
            "participant__site__study", "visit"
        ),
        pk=form_pk,
    )
    return record, record.participant, f"{spec.title} · {record.visit.display_name}"


def _field_choices(record):
    return [
        (f.name, f"{f.verbose_name} ({f.name})")
        for f in record._meta.concrete_fields
        if f.editable and f.name not in NOT_QUERYABLE
    ]


def raise_query(request, code, form_pk):
    record, participant, title = _record(request, code, form_pk)
    require(request.user, Action.QUERY, participant.site)
    form = RaiseQueryForm(
        request.POST or None, fields=_field_choices(record), initial={"field_name": request.GET.get("field")}
    )
    return submit(
        request,
        form,
        lambda **kwargs: services.open_query(user=request.user, record=record, **kwargs),
        success_url=reverse("participant_queries", args=[participant.pk]),
        success_message=(
            _("Query saved as a draft: a data manager releases it to the site.")
            if services.raises_drafts(request.user, participant.site)
            else _("Query raised.")
        ),
        template="monitoring/raise_query.html",
        context={"participant": participant, "record_title": title},
    )


# The home page's worklists -----------------------------------------------------------------------


def visit_worklist(request):
    """The visits behind a count of the home page's worklist: open, overdue, opening soon, forms missing."""
    kind = request.GET.get("kind", "overdue")
    if kind not in VISIT_KINDS:
        raise Http404
    site = request.GET.get("site", "")[:20]
    page = Paginator(visits_of_kind(request.user, kind, site=site), 50).get_page(request.GET.get("page"))
    for visit in page:
        visit.missing_forms = missing_form_titles(visit) if kind == "forms_missing" else []
    return render(
        request,
        "monitoring/visit_worklist.html",
        {"page": page, "kind": kind, "title": VISIT_KINDS[kind], "site": site, "kinds": VISIT_KINDS},
    )
