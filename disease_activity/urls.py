from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:visit_pk>/sledai/totals/", views.sledai_totals, name="sledai_totals"),
]
