"""Study set-up in the admin. Participants are not here: they change only through the workflows."""

from django.contrib import admin

from .models import DoseLevel, ProtocolVersion, Site, Study


class NoDelete:
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Study)
class StudyAdmin(NoDelete, admin.ModelAdmin):
    list_display = ["code", "nct_id", "phase", "target_enrollment"]
    readonly_fields = ["nct_id", "settings"]


@admin.register(Site)
class SiteAdmin(NoDelete, admin.ModelAdmin):
    list_display = ["code", "name", "city", "timezone", "active"]
    list_filter = ["study", "active"]


@admin.register(DoseLevel)
class DoseLevelAdmin(NoDelete, admin.ModelAdmin):
    list_display = ["code", "label", "cells_per_kg", "to_be_confirmed", "study"]


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(NoDelete, admin.ModelAdmin):
    list_display = ["study", "number", "label", "source_name", "loaded_at", "checksum"]
    readonly_fields = [f.name for f in ProtocolVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
