from django.urls import path

from dashboard import funnel_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_page, name="page"),
    path("events", views.dashboard_events, name="events"),
    path("snapshot", views.dashboard_snapshot, name="snapshot"),
    path("funnel.csv", funnel_views.funnel_csv_view, name="funnel-csv"),
    path("journeys/", funnel_views.dropoffs_page, name="dropoffs"),
    path("journeys.csv", funnel_views.dropoffs_csv_view, name="dropoffs-csv"),
]
