"""Efficacy dashboards, included under ``efficacy/`` (the participant parameter is named ``pk``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.study_dashboard, name="efficacy_study"),
    path("participants/<int:pk>/", views.participant_dashboard, name="efficacy_participant"),
]
