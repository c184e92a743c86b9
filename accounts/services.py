"""Account workflows: access events, memberships and preferences."""

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from edc.audit import audited
from edc.errors import DomainError

from .models import STUDY_WIDE_ROLES, AccessEvent, Membership, Profile, Role

# Rights that decide on participants' safety or the data's integrity at scale: granting them needs a
# reason on record.
REASON_REQUIRED_ROLES = frozenset({Role.INVESTIGATOR, Role.DATA_MANAGER})


def record_access_event(*, kind, username, user=None, request=None):
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    AccessEvent.objects.create(kind=kind, username=username[:150], user=user, ip_address=ip or None)


def end_sessions(*, username, request=None) -> int:
    """Delete every open session of the user named ``username``; returns how many ended.

    Sessions are stored encoded, so each unexpired one is decoded: a few hundred at most in one study.
    When ``request`` runs in one of them, that session is flushed too, so that the end of the request
    saves a fresh anonymous session instead of failing on the deleted one.
    """
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return 0
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=keys).delete()
    session = getattr(request, "session", None)
    if session is not None and session.session_key in keys:
        session.flush()
    return len(keys)


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


def grant_membership(*, by, user, study, role, site=None, reason: str = "") -> Membership:
    """Give ``user`` a role at ``site`` (or the whole study for study-wide roles); audited.

    Segregation of duties: nobody grants a role to themselves, and a person granting investigator or
    data-manager rights gives the reason, which the audit trail shows. ``by=None`` is set-up code (the
    fixtures, benchmarks), which has no one to ask.
    """
    role = Role(role)
    check_grant(by=by, user=user, role=role, site=site, reason=reason)
    with audited(user=by, action="grant_membership", reason=reason.strip() or f"{role} for {user}"):
        membership, _ = Membership.objects.get_or_create(user=user, study=study, site=site, role=role)
        if not membership.active:
            membership.active = True
            membership.save(update_fields=["active"])
        if role == Role.SPONSOR_ADMIN:
            sync_admin_access(user)
    return membership


def check_grant(*, by, user, role, site=None, reason: str = "", new: bool = True) -> None:
    """Refuse a grant that the role's scope or segregation of duties forbids (the admin's form asks too).

    ``new=False`` re-activates an existing membership, whose site was checked when it was granted.
    """
    role = Role(role)
    if new and role in STUDY_WIDE_ROLES and site is not None:
        raise DomainError(
            _("The role %(role)s covers every site; do not name a site.") % {"role": role.label}, field="site"
        )
    if new and role not in STUDY_WIDE_ROLES and site is None:
        raise DomainError(_("The role %(role)s needs a site.") % {"role": role.label}, field="site")
    if by is not None and by.pk == user.pk:
        raise DomainError(_("Nobody can grant a role or a site to themselves."), field="user")
    if by is not None and Role(role) in REASON_REQUIRED_ROLES and not reason.strip():
        raise DomainError(_("Give the reason for granting this role."), field="reason")


def change_membership(*, by, membership: Membership, active: bool, reason: str = "") -> Membership:
    """Activate or deactivate a membership; re-activating one is a grant (same rules)."""
    if active and not membership.active:
        check_grant(by=by, user=membership.user, role=membership.role, reason=reason, new=False)
    elif by is not None and by.pk == membership.user_id:
        raise DomainError(_("Nobody can change their own roles or sites."), field="active")
    action = "grant_membership" if active else "revoke_membership"
    with audited(user=by, action=action, reason=reason.strip() or f"{membership.role} for {membership.user}"):
        membership.active = active
        membership.save(update_fields=["active"])
        if membership.role == Role.SPONSOR_ADMIN:
            sync_admin_access(membership.user)
    return membership


# What a sponsor admin changes in the Django admin: users, their memberships, sites. Nothing clinical,
# no schedules, no lockout records (edc.admin.EdcAdminSite hides every other model from them).
ADMIN_PERMISSIONS = {
    "auth": ["view_user", "add_user", "change_user"],
    "accounts": ["view_membership", "add_membership", "change_membership"],
    "trials": ["view_site", "change_site"],
}


def sync_admin_access(user) -> None:
    """The staff flag and admin permissions follow an active sponsor-admin membership.

    They are never edited by hand in the web (the admin's user form shows them read-only), so a sponsor
    admin cannot widen anyone's access, their own included, beyond what the role gives.
    """
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    if user.is_superuser:
        return
    is_admin = Membership.objects.filter(user=user, role=Role.SPONSOR_ADMIN, active=True).exists()
    query = Q()
    for app, codenames in ADMIN_PERMISSIONS.items():
        query |= Q(content_type__app_label=app, codename__in=codenames)
    permissions = Permission.objects.filter(query)
    if is_admin:
        user.user_permissions.add(*permissions)
    else:
        user.user_permissions.remove(*permissions)
    if user.is_staff != is_admin:
        user.is_staff = is_admin
        user.save(update_fields=["is_staff"])


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
