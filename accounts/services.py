"""Account workflows: access events, memberships and preferences."""

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from edc.audit import audited
from edc.errors import DomainError

from .models import STUDY_WIDE_ROLES, AccessEvent, Membership, Profile, Role


def record_access_event(*, kind, username, user=None, request=None):
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    AccessEvent.objects.create(kind=kind, username=username[:150], user=user, ip_address=ip or None)


def confirm_password(*, user, password: str, request) -> None:
    """Re-entry of the password before an electronic signature (21 CFR 11.200(a)(1)).

    Goes through ``authenticate`` and so through django-axes: a wrong password is a failed login,
    recorded as an access event and counted towards the account lockout. Call it outside the
    signing transaction, so that a refusal does not roll the failure record back.
    """
    if authenticate(request, username=user.get_username(), password=password or "") is None:
        if getattr(request, "axes_locked_out", False):
            raise DomainError(_("Too many failed attempts: the account is locked."), field="password")
        raise DomainError(_("The password is not correct."), field="password")


def grant_membership(*, by, user, study, role, site=None) -> Membership:
    """Give ``user`` a role at ``site`` (or the whole study for study-wide roles); audited."""
    role = Role(role)
    if role in STUDY_WIDE_ROLES and site is not None:
        raise DomainError(f"The role {role.label} covers every site; do not name a site.")
    if role not in STUDY_WIDE_ROLES and site is None:
        raise DomainError(f"The role {role.label} needs a site.")
    with audited(user=by, action="grant_membership", reason=f"{role} for {user}"):
        membership, _ = Membership.objects.get_or_create(user=user, study=study, site=site, role=role)
        if not membership.active:
            membership.active = True
            membership.save(update_fields=["active"])
    return membership


def set_language(*, user, language) -> Profile:
    with transaction.atomic():
        profile, _ = Profile.objects.get_or_create(user=user)
        profile.language = language
        profile.save(update_fields=["language"])
    return profile


def create_user(*, username, password, email="", first_name="", last_name="", is_staff=False):
    User = get_user_model()
    user = User.objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
    Profile.objects.create(user=user)
    return user
