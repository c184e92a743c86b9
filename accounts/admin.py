"""Sponsor admins manage users, memberships and preferences here; every change is audited.

Segregation of duties: memberships are granted and changed through the account services (nobody grants
a role or a site to themselves; investigator and data-manager rights need a reason, shown in the audit
trail), and the staff and superuser flags are never edited here (they follow the sponsor-admin role,
``services.sync_admin_access``).
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from edc.errors import DomainError

from . import services
from .models import AccessEvent, Membership, Profile

User = get_user_model()

admin.site.unregister(User)


@admin.register(User)
class EdcUserAdmin(UserAdmin):
    readonly_fields = ["is_staff", "is_superuser", "groups", "user_permissions", "last_login", "date_joined"]

    def has_change_permission(self, request, obj=None):
        # Another administrator's account (their password above all) is a superuser's to change.
        other = obj is not None and obj.pk != request.user.pk
        if other and not request.user.is_superuser and (obj.is_superuser or obj.is_staff):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # a user who left is deactivated: their name stays on what they entered and signed


class MembershipForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required to grant investigator or data-manager rights; shown in the audit trail."),
    )

    class Meta:
        model = Membership
        fields = ["user", "study", "site", "role", "active"]

    def clean(self):
        data = super().clean()
        membership = self.instance
        try:
            if membership.pk is None:
                if data.get("user") and data.get("role"):
                    services.check_grant(
                        by=self.request_user,
                        user=data["user"],
                        role=data["role"],
                        site=data.get("site"),
                        reason=data.get("reason", ""),
                    )
            elif data.get("active") != membership.active:
                if data.get("active"):
                    services.check_grant(
                        by=self.request_user,
                        user=membership.user,
                        role=membership.role,
                        reason=data.get("reason", ""),
                        new=False,
                    )
                elif self.request_user.pk == membership.user_id:
                    raise DomainError(_("Nobody can change their own roles or sites."), field="active")
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ["user", "role", "site", "study", "active", "granted_at"]
    list_filter = ["role", "site", "active"]
    search_fields = ["user__username", "user__last_name"]
    actions = None

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "study", "site", "role", "reason"]
        return ["user", "study", "site", "role", "granted_at", "active", "reason"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "study", "site", "role", "granted_at"] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("reason", "")
        if not change:
            membership = services.grant_membership(
                by=request.user, user=obj.user, study=obj.study, role=obj.role, site=obj.site, reason=reason
            )
            obj.pk = membership.pk
            obj._state.adding = False
            obj.refresh_from_db()
        elif "active" in form.changed_data:
            current = Membership.objects.get(pk=obj.pk)
            services.change_membership(by=request.user, membership=current, active=obj.active, reason=reason)

    def has_delete_permission(self, request, obj=None):
        return False  # memberships are deactivated, never deleted


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "reminder_delivery", "digest_hour"]


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "username", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
