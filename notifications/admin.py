"""The reminder log and the scans, read-only: what was decided, for whom, and whether it went out."""

from django.contrib import admin

from .models import Reminder, ReminderScan


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "object_key", "recipient", "site", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status", "site"]
    search_fields = ["object_key", "recipient__username"]
    list_select_related = ["recipient", "site"]


@admin.register(ReminderScan)
class ReminderScanAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "created", "recipients_enqueued", "enqueue_failed"]
