from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from accounts import views as account_views
from accounts.middleware import two_factor_exempt
from api import urls as api_urls
from casebooks import views as casebook_views
from crfs import views as crf_views
from monitoring import views as monitoring_views
from trials import views as trial_views
from visits import views as visit_views

from . import audit_views, views

handler403 = "edc.views.permission_denied"
handler404 = "edc.views.page_not_found"
handler500 = "edc.views.server_error"

urlpatterns = [
    path("", views.root, name="root"),
    path("health/", views.health, name="health"),
    path(
        "accounts/login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/logout/", two_factor_exempt(auth_views.LogoutView.as_view()), name="logout"),
    path("accounts/two-factor/", account_views.two_factor_verify, name="two_factor_verify"),
    path("accounts/two-factor/enrol/", account_views.two_factor_enrol, name="two_factor_enrol"),
    path("accounts/preferences/", account_views.preferences, name="preferences"),
    path("accounts/api-tokens/", include("api.urls_tokens")),
    path("api/v1/", include(api_urls.v1)),
    path("api/", include(api_urls.docs)),
    path("home/", trial_views.home, name="home"),
    path("home/visits/", monitoring_views.visit_worklist, name="visit_worklist"),
    path("rules/", views.calculators, name="calculators"),
    path("audit/", audit_views.audit_trail, name="audit_trail"),
    path("participants/", trial_views.participant_list, name="participant_list"),
    path("participants/screen/", trial_views.screen, name="participant_screen"),
    path("participants/<int:pk>/", trial_views.participant_detail, name="participant_detail"),
    path("participants/<int:pk>/history/", trial_views.participant_history, name="participant_history"),
    path("participants/<int:pk>/unscheduled-visit/", visit_views.add_unscheduled, name="visit_unscheduled"),
    path("participants/<int:pk>/casebook/", crf_views.casebook, name="casebook"),
    path("participants/<int:pk>/casebook/pdf/", casebook_views.casebook_pdf_participant, name="casebook_pdf"),
    path("participants/<int:pk>/<slug:action>/", trial_views.participant_action, name="participant_action"),
    path("", include("labs.urls")),  # before the generic form routes: serves forms/labs/
    path("", include("medications.urls")),  # likewise: forms/medications/ is the visit's table of entries
    path("visits/<int:visit_pk>/forms/<slug:code>/", crf_views.form_entry, name="form_entry"),
    path("visits/<int:visit_pk>/forms/<slug:code>/check/", crf_views.form_check, name="form_check"),
    path(
        "visits/<int:visit_pk>/forms/<slug:code>/<int:form_pk>/",
        crf_views.form_entry,
        name="form_entry_instance",
    ),
    path("forms/<slug:code>/<int:form_pk>/history/", crf_views.form_history, name="form_history"),
    path("visits/<int:pk>/record/", visit_views.record_visit, name="visit_record"),
    path("visits/<int:pk>/outcome/", visit_views.visit_outcome, name="visit_outcome"),
    path("visits/<int:pk>/history/", visit_views.visit_history, name="visit_history"),
    path("notifications/", include("notifications.urls")),
    path("queries/", include("monitoring.urls")),
    path("monitoring/", include("monitoring.urls_review")),  # SDV and locks
    path("signatures/", include("signatures.urls")),
    path("exports/", include("exports.urls")),
    path("casebooks/", include("casebooks.urls")),
    path("safety/", include("adverse_events.urls")),
    path("disease-activity/", include("disease_activity.urls")),
    path("efficacy/", include("efficacy.urls")),
    path("admin/", admin.site.urls),
]
