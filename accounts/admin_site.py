"""The Django admin as a sponsor admin sees it: users, memberships and sites, nothing else.

Every other registered model (Celery beat's schedules, axes' lockout records, OTP devices, study set-up,
the logs…) is for superusers only, whatever permissions a user holds: the site wraps each of those
model admins when they register (Django's own, the libraries', ours). Reference ranges have their own
page (``labs/ranges/``) for data managers.
"""

from django.contrib import admin

SPONSOR_ADMIN_MODELS = frozenset({"auth.user", "accounts.membership", "trials.site"})


class SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args, **kwargs):
        return request.user.is_superuser and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class EdcAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            cls = admin_class or admin.ModelAdmin
            if model._meta.label_lower not in SPONSOR_ADMIN_MODELS:
                cls = type(cls.__name__, (SuperuserOnly, cls), {"__module__": cls.__module__})
            super().register(model, cls, **options)
