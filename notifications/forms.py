from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import ReminderDelivery


class DeliveryForm(forms.Form):
    reminder_delivery = forms.ChoiceField(
        label=_("Reminders"), choices=ReminderDelivery.choices, widget=forms.RadioSelect
    )
    digest_hour = forms.TypedChoiceField(
        label=_("Daily digest at (your site's time)"),
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
    )

    def service_kwargs(self):
        return {
            "delivery": self.cleaned_data["reminder_delivery"],
            "digest_hour": self.cleaned_data["digest_hour"],
        }
