from django.urls import path

from . import views

urlpatterns = [
    path("", views.export_list, name="export_list"),
    path("new/", views.export_new, name="export_new"),
    path("<int:pk>/progress/", views.export_progress, name="export_progress"),
    path("<int:pk>/download/", views.export_download, name="export_download"),
    path("<int:pk>/cancel/", views.export_cancel, name="export_cancel"),
    path("<int:pk>/retry/", views.export_retry, name="export_retry"),
]
