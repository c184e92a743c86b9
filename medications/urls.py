"""Included before the generic CRF routes in edc/urls.py, so ``/visits/<id>/forms/medications/`` (the
casebook's "medications" cell) is the visit's table of entries; an entry's own page stays generic."""

from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:visit_pk>/forms/medications/", views.medication_rows, name="medication_rows"),
]
