"""Included before the generic CRF routes in edc/urls.py, so ``/visits/<id>/forms/labs/`` (the
casebook's "labs" cell) and ``/forms/labs/<id>/history/`` are served here."""

from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:visit_pk>/forms/labs/", views.panel_list, name="lab_panels"),
    path("visits/<int:visit_pk>/forms/labs/new/", views.panel_entry, name="lab_panel_new"),
    path("visits/<int:visit_pk>/forms/labs/preview/", views.preview, name="lab_preview"),
    path("visits/<int:visit_pk>/forms/labs/<int:form_pk>/", views.panel_entry, name="lab_panel"),
    path("forms/labs/<int:form_pk>/history/", views.panel_history, name="lab_panel_history"),
    path("labs/ranges/", views.reference_ranges, name="reference_ranges"),
    path("labs/import/", views.lab_imports, name="lab_imports"),
    path("labs/import/<int:pk>/", views.lab_import, name="lab_import"),
    path("labs/import/mapping/<int:pk>/", views.lab_import_mapping, name="lab_import_mapping"),
]
