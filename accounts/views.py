from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render, resolve_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services, two_factor
from .middleware import SESSION_LANGUAGE, two_factor_exempt
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
            "two_factor_device": two_factor.has_device(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    hosts = {request.get_host()}
    if url_has_allowed_host_and_scheme(url, allowed_hosts=hosts, require_https=request.is_secure()):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _locked_out(request):
    logout(request)
    return render(request, "registration/locked_out.html", status=429)


@two_factor_exempt
def two_factor_verify(request):
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if two_factor.pending_step(request.user) != "verify":
        return redirect(_next_url(request))
    if two_factor.is_locked(user=request.user, request=request):
        return _locked_out(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.verify(user=request.user, token=form.cleaned_data["token"], request=request):
            return redirect(_next_url(request))
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request)
        form.add_error("token", _("The code is not correct."))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if request.method == "POST" else 200,
    )


@two_factor_exempt
def two_factor_enrol(request):
    """Set up the authenticator app: scan the QR code (or type the secret), confirm with a first code.

    The recovery codes are shown once, in the answer to the confirmation.
    """
    if two_factor.has_device(request.user):
        return redirect(_next_url(request))
    enrolment = two_factor.start_enrolment(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm_enrolment(
            user=request.user, device=enrolment.device, token=form.cleaned_data["token"], request=request
        )
        if codes is not None:
            context = {"codes": codes, "next": _next_url(request)}
            return render(request, "accounts/two_factor_recovery_codes.html", context)
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request)
        form.add_error("token", _("The code is not correct."))
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "enrolment": enrolment,
            "required": two_factor.is_required(request.user),
            "next": _next_url(request),
        },
        status=400 if request.method == "POST" else 200,
    )
