"""Sponsor admins manage users, memberships and preferences here; every change is audited."""

from django.contrib import admin

from .models import AccessEvent, Membership, Profile


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "site", "study", "active", "granted_at"]
    list_filter = ["role", "site", "active"]
    search_fields = ["user__username", "user__last_name"]


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
