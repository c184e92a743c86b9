"""The in-app notification list. Thin: reads through selectors, writes through services."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import ReminderDelivery
from edc.views import submit

from . import selectors, services
from .delivery import DEFAULT_DIGEST_HOUR
from .forms import DeliveryForm


def notification_list(request):
    page = Paginator(selectors.notifications_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/notification_list.html", {"page": page})


def notification_detail(request, pk):
    reminder = selectors.notification_for(request.user, pk)
    services.open_notification(user=request.user, reminder=reminder)
    subject, body = services.render_reminder(reminder)
    return render(
        request,
        "notifications/notification_detail.html",
        {"reminder": reminder, "subject": subject, "body": body},
    )


@require_POST
def mark_all_read(request):
    services.mark_all_read(user=request.user)
    return redirect("notification_list")


def preferences(request):
    profile = getattr(request.user, "profile", None)
    initial = {
        "reminder_delivery": getattr(profile, "reminder_delivery", ReminderDelivery.DIGEST),
        "digest_hour": getattr(profile, "digest_hour", DEFAULT_DIGEST_HOUR),
    }
    form = DeliveryForm(request.POST or None, initial=initial)
    return submit(
        request,
        form,
        lambda **data: services.set_reminder_delivery(user=request.user, **data),
        success_url=reverse("notification_preferences"),
        success_message=_("Reminder preferences saved."),
        template="notifications/preferences.html",
        context={},
    )
