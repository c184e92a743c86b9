from django.urls import path

from . import views

urlpatterns = [
    path("", views.query_list, name="query_list"),
    path("participant/<int:pk>/", views.participant_queries, name="participant_queries"),
    path("<int:pk>/", views.query_detail, name="query_detail"),
    path("<int:pk>/release/", views.release, name="query_release"),
    path("<int:pk>/answer/", views.answer, name="query_answer"),
    path("<int:pk>/close/", views.close, name="query_close"),
    path("<int:pk>/reopen/", views.reopen, name="query_reopen"),
    path("new/<slug:code>/<int:form_pk>/", views.raise_query, name="query_raise"),
]
