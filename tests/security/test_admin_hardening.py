"""The Django admin never answers 500, whatever is posted to it; a sponsor admin sees only users,
memberships and sites there (issue 15: hostile values in the periodic-task pages gave 500)."""

import contextlib

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.services import create_user

HOSTILE = ["-1", "99999999999999999999999", "*/0", "1e309", "2026-13-45 25:61", "{", "x" * 5000, ""]
SPONSOR_ADMIN_PAGES = {"auth.user", "accounts.membership", "trials.site"}


@pytest.fixture
def superuser(study):
    user = create_user(username="root", password="root-password-long-enough-1")
    user.is_superuser = user.is_staff = True
    user.save()
    return user


def admin_urls(model, obj=None):
    info = model._meta.app_label, model._meta.model_name
    urls = {"changelist": reverse("admin:{}_{}_changelist".format(*info))}
    with contextlib.suppress(NoReverseMatch):
        urls["add"] = reverse("admin:{}_{}_add".format(*info))
    if obj is not None:
        urls["change"] = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    return urls


def hostile_posts(client, url, form_fields):
    """POST each hostile value in every field of the form at ``url``; yield (value, status)."""
    for value in HOSTILE:
        data = dict.fromkeys(form_fields, value)
        data.update({f"{name}_0": value for name in form_fields})  # split date/time widgets
        data.update({f"{name}_1": value for name in form_fields})
        yield value, client.post(url, {**data, "_continue": "1"}, follow=True).status_code


def fields_of(client, url):
    response = client.get(url)
    if response.status_code != 200 or response.context is None or "adminform" not in response.context:
        return response.status_code, []
    form = response.context["adminform"].form
    return response.status_code, list(form.fields)


def walk(client, models, *, statuses_ok=(200, 302, 400, 403, 404)):
    """Every admin page of ``models``: changelist with hostile filters and actions, add and change forms
    with hostile values; returns the pages that answered outside ``statuses_ok``."""
    failures = []
    for model in models:
        obj = model._default_manager.order_by("pk").first()
        urls = admin_urls(model, obj)
        changelist = urls["changelist"]
        for query in ["?q=%27%22%3C", "?o=-99.abc", "?p=-5", "?e=1", "?id__gt=abc", "?all=", "?_popup=x"]:
            status = client.get(changelist + query).status_code
            if status not in statuses_ok:
                failures.append((changelist + query, status))
        for action in ["delete_selected", "no_such_action", "enable_tasks", "run_tasks", "toggle_tasks", ""]:
            for selected in [["-1"], ["abc"], [str(getattr(obj, "pk", 1))], []]:
                data = {"action": action, "_selected_action": selected, "index": "abc", "select_across": "x"}
                status = client.post(changelist, data).status_code
                if status not in statuses_ok:
                    failures.append((f"{changelist} action={action} {selected}", status))
        for kind in ("add", "change"):
            if kind not in urls:
                continue
            status, fields = fields_of(client, urls[kind])
            if status not in statuses_ok:
                failures.append((urls[kind], status))
            for value, status in hostile_posts(client, urls[kind], fields):
                if status not in statuses_ok:
                    failures.append((f"POST {urls[kind]} {value[:30]!r}", status))
    return failures


def registered(labels=None):
    return [m for m in admin.site._registry if labels is None or m._meta.label_lower in labels]


def test_no_admin_page_answers_500_to_a_sponsor_admin(sponsor_admin):
    client = Client(raise_request_exception=False)
    client.force_login(sponsor_admin)
    assert walk(client, registered()) == []


def test_no_celery_beat_page_answers_500_to_a_superuser(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    beat = [m for m in registered() if m._meta.app_label == "django_celery_beat"]
    assert len(beat) == 5
    assert walk(client, beat) == []


def test_the_sponsor_admin_sees_users_memberships_and_sites_only(client, sponsor_admin):
    client.force_login(sponsor_admin)
    response = client.get(reverse("admin:index"))
    shown = {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    assert shown == SPONSOR_ADMIN_PAGES


@pytest.mark.parametrize(
    "page", ["django_celery_beat_periodictask", "django_celery_beat_crontabschedule", "axes_accessattempt"]
)
def test_the_sponsor_admin_cannot_open_schedules_or_lockouts_even_with_permissions(
    client, sponsor_admin, page
):
    from django.contrib.auth.models import Permission

    app = page.split("_" + page.rsplit("_", 1)[1])[0]
    sponsor_admin.user_permissions.add(*Permission.objects.filter(content_type__app_label=app))
    client.force_login(sponsor_admin)
    assert client.get(reverse(f"admin:{page}_changelist")).status_code == 403


@pytest.mark.parametrize("args, kwargs", [("1", "{}"), ("[]", "[1]"), ('{"a": 1}', '"x"')])
def test_a_periodic_task_with_arguments_of_the_wrong_shape_is_refused_and_never_run(superuser, args, kwargs):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    interval = IntervalSchedule.objects.create(every=10, period="minutes")
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_add"),
        {
            "name": "hostile",
            "task": "exports.tasks.fail_stale_exports",
            "interval": interval.pk,
            "args": args,
            "kwargs": kwargs,
            "headers": "{}",
            "enabled": "on",
            "priority": "",
            "expire_seconds": "",
        },
    )
    assert response.status_code == 200 and not PeriodicTask.objects.filter(name="hostile").exists()
    # A row of that shape written some other way: running it from the list answers a message, not 500.
    task = PeriodicTask.objects.create(
        name="hostile",
        task="exports.tasks.recover_stale_exports",
        interval=interval,
        args=args,
        kwargs=kwargs,
    )
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "run_tasks", "_selected_action": [task.pk]},
    )
    assert response.status_code == 302


def test_a_crontab_that_celery_cannot_parse_is_refused(superuser):
    from django_celery_beat.models import CrontabSchedule

    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    before = CrontabSchedule.objects.count()
    response = client.post(
        reverse("admin:django_celery_beat_crontabschedule_add"),
        {
            "minute": "-1",
            "hour": "*",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 200 and CrontabSchedule.objects.count() == before
