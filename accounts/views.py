from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .middleware import SESSION_LANGUAGE
from .permissions import memberships


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)


def preferences(request):
    profile = getattr(request.user, "profile", None)
    form = LanguageForm(request.POST or None, initial={"language": getattr(profile, "language", "en")})
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        services.set_language(user=request.user, language=language)
        request.session[SESSION_LANGUAGE] = language
        translation.activate(language)
        messages.success(request, _("Language saved."))
        return redirect("preferences")
    return render(
        request,
        "accounts/preferences.html",
        {
            "form": form,
            "memberships": memberships(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )
