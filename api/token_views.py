"""The user's own API tokens: create (the token is shown once, on the answer to the POST) and revoke."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from edc.errors import DomainError
from edc.idempotency import Repeated, add_key_field, claim, finish, submitted_key

from . import selectors, services
from .forms import TokenForm


def tokens(request):
    """The list and the creation form. A created token is shown in this answer only: not through a
    redirect, which would carry it in the session (a database row). The page's one-time key makes a
    repeated POST create nothing and land on the list."""
    form = TokenForm(request.POST or None)
    add_key_field(form)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            key = submitted_key(form)
            try:
                with transaction.atomic():
                    if key is not None:
                        claim(key=key, user=request.user, path=request.path)
                    created = services.create_token(user=request.user, **form.cleaned_data)
                    if key is not None:
                        finish(key=key, url=reverse("api_tokens"))
            except Repeated as repeated:
                messages.info(request, _("This page was already submitted; nothing was saved twice."))
                return redirect(repeated.url)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        if created is None:
            status = 400
        else:
            form = TokenForm()
            add_key_field(form)
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "created": created, "tokens": selectors.tokens_of(request.user)},
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the raw token is in this answer: never cached
    return response


@require_POST
def revoke(request, pk):
    token = get_object_or_404(selectors.tokens_of(request.user), pk=pk)
    try:
        services.revoke_token(user=request.user, token=token)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("api_tokens")
