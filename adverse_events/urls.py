"""Safety pages, included under ``safety/`` (every object parameter is named ``pk``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.safety_home, name="safety_home"),
    path("summary/", views.safety_summary, name="safety_summary"),
    path("dose-levels/", views.dose_level_review, name="dose_level_review"),
    path("terms/", views.ctcae_terms_page, name="ctcae_terms"),
    path("terms/uncoded/", views.uncoded_terms, name="uncoded_terms"),
    path("terms/definitions/", views.term_definitions, name="ctcae_term_definitions"),
    path("participants/<int:pk>/", views.participant_safety, name="participant_safety"),
    path(
        "participants/<int:pk>/adverse-events/new/", views.adverse_event_create, name="adverse_event_create"
    ),
    path("lab-prompts/<int:pk>/decline/", views.lab_prompt_decline, name="lab_prompt_decline"),
    path("adverse-events/<int:pk>/", views.adverse_event_detail, name="adverse_event_detail"),
    path("adverse-events/<int:pk>/grades/", views.adverse_event_grade, name="adverse_event_grade"),
    path("adverse-events/<int:pk>/history/", views.adverse_event_history, name="adverse_event_history"),
    path("adverse-events/<int:pk>/sae/narrative/", views.sae_narrative, name="sae_narrative"),
    path("adverse-events/<int:pk>/sae/sign/", views.sae_sign, name="sae_sign"),
    path("adverse-events/<int:pk>/sae/follow-up/", views.sae_follow_up, name="sae_follow_up"),
    path("adverse-events/<int:pk>/dlt/", views.dlt_adjudicate, name="dlt_adjudicate"),
    path("adverse-events/<int:pk>/iec-hs/", views.iec_hs, name="iec_hs"),
]
