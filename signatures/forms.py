from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services import confirm_password

from .models import MEANINGS_OF_SCOPE


class SignForm(forms.Form):
    """Meaning and password re-entry of one signature (21 CFR 11.50, 11.200(a))."""

    meaning = forms.ChoiceField(label=_("Meaning of your signature"), widget=forms.RadioSelect)
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_(
            "Your electronic signature is the legally binding equivalent of your handwritten signature."
        ),
    )

    def confirm_outside_transaction(self, request):
        """The password re-entry, before the signing transaction (edc.views.submit): a wrong password
        is recorded as a failed login even though the signature is refused."""
        confirm_password(user=request.user, password=self.cleaned_data["password"], request=request)

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(m.value, m.label) for m in MEANINGS_OF_SCOPE[scope]]
        self.fields["meaning"].choices = choices
        self.fields["meaning"].initial = choices[0][0]

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)
