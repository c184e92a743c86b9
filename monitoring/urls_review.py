"""Source-data verification and locks, under ``/monitoring/``."""

from django.urls import path

from . import review_views as views

urlpatterns = [
    path("sdv/", views.sdv_progress, name="sdv_progress"),
    # before the per-form routes, whose ``<code>/<pk>`` would take them
    path("sdv/visits/<int:visit_pk>/critical/", views.verify_visit, name="sdv_verify_visit"),
    path("sdv/forms/<slug:code>/critical/", views.verify_form_across, name="sdv_verify_across"),
    path("sdv/<slug:code>/<int:form_pk>/form/", views.verify_form, name="sdv_verify_form"),
    path("sdv/<slug:code>/<int:form_pk>/critical/", views.verify_critical, name="sdv_verify_critical"),
    path("sdv/<slug:code>/<int:form_pk>/field/", views.verify_field, name="sdv_verify_field"),
    path("locks/", views.lock_list, name="lock_list"),
    path("locks/new/<slug:code>/<int:form_pk>/", views.lock_new, name="lock_new"),
    path("locks/<int:pk>/unlock/", views.lock_unlock, name="lock_unlock"),
]
