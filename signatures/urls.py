from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:visit_pk>/", views.sign_visit, name="sign_visit"),
    path("participants/<int:pk>/", views.sign_casebook, name="sign_casebook"),
]
