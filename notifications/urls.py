from django.urls import path

from . import views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("read-all/", views.mark_all_read, name="notification_mark_all_read"),
    path("preferences/", views.preferences, name="notification_preferences"),
    path("<int:pk>/", views.notification_detail, name="notification_detail"),
]
