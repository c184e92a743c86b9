"""The user's own API tokens: create (the token is shown once, on the answer to the POST) and revoke."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from edc.errors import DomainError

from . import selectors, services
from .forms import TokenForm


def tokens(request):
    form = TokenForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = services.create_token(user=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        if created is None:
            status = 400
        else:
            form = TokenForm()
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "created": created, "tokens": selectors.tokens_of(request.user)},
        status=status,
    )
    # The raw token is in this answer only: never cached, never kept in the session or the database.
    response["Cache-Control"] = "no-store"
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
