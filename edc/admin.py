"""Celery beat's admin pages (superusers only, accounts.admin_site), hardened against values beat itself
cannot use: django-celery-beat saves a crontab Celery cannot parse (then its own pages answer 500
showing it) and task arguments of any JSON shape (then "Run selected tasks" answers 500)."""

import json

from celery import schedules
from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask

CRONTAB_FIELDS = ["minute", "hour", "day_of_week", "day_of_month", "month_of_year"]


def crontab_problem(values: dict) -> str | None:
    """Why Celery cannot use this crontab, or None."""
    try:
        schedules.crontab(**{name: values.get(name) or "*" for name in CRONTAB_FIELDS})
    except (ValueError, TypeError, IndexError, schedules.ParseException) as exc:
        return str(exc) or exc.__class__.__name__
    return None


def arguments_problem(args, kwargs, headers="{}") -> str | None:
    """Why these positional arguments, keyword arguments and headers cannot be sent, or None."""
    try:
        args, kwargs = json.loads(args or "[]"), json.loads(kwargs or "{}")
        headers = json.loads(headers or "{}")
    except ValueError as exc:
        return str(exc)
    if not isinstance(args, list):
        return _("Positional arguments must be a JSON list.")
    if not isinstance(kwargs, dict) or not isinstance(headers, dict):
        return _("Keyword arguments and headers must be JSON objects.")
    return None


class CrontabForm(forms.ModelForm):
    class Meta:
        model = CrontabSchedule
        fields = [*CRONTAB_FIELDS, "timezone"]

    def clean(self):
        data = super().clean()
        if problem := crontab_problem(data):
            message = _("Celery cannot use this schedule: %(problem)s") % {"problem": problem}
            raise forms.ValidationError(message)
        return data


class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    form = CrontabForm
    list_display = ["__str__", "readable"]
    fields = ["readable", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone"]
    readonly_fields = ["readable"]

    @admin.display(description=gettext_lazy("Schedule"))
    def readable(self, obj):
        if obj.pk is None:
            return ""
        problem = crontab_problem({name: getattr(obj, name) for name in CRONTAB_FIELDS})
        return _("Invalid: %(problem)s") % {"problem": problem} if problem else obj.human_readable


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def clean(self):
        data = super().clean()
        if problem := arguments_problem(data.get("args"), data.get("kwargs"), data.get("headers")):
            raise forms.ValidationError(problem)
        return data


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm

    @admin.action(description=gettext_lazy("Run selected tasks"))
    def run_tasks(self, request, queryset):
        for task in queryset:
            if problem := arguments_problem(task.args, task.kwargs, task.headers):
                self.message_user(request, f"{task.name}: {problem}", level=messages.ERROR)
                return None
        return super().run_tasks(request, queryset)


for model, model_admin in [(CrontabSchedule, CrontabScheduleAdmin), (PeriodicTask, PeriodicTaskAdmin)]:
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
