from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_page, name="page"),
    path("events", views.dashboard_events, name="events"),
    path("snapshot", views.dashboard_snapshot, name="snapshot"),
]
