from django.urls import path

from . import views

urlpatterns = [
    path("", views.casebook_jobs, name="casebook_jobs"),
    path("site/", views.casebook_pdf_site, name="casebook_pdf_site"),
    path("<int:pk>/progress/", views.casebook_progress, name="casebook_progress"),
    path("<int:pk>/download/", views.casebook_download, name="casebook_download"),
    path("crf/blank.pdf", views.crf_pdf, {"kind": "blank"}, name="crf_blank"),
    path("crf/annotated.pdf", views.crf_pdf, {"kind": "annotated"}, name="crf_annotated"),
]
