from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("api/jobs/<uuid:job_id>/events", views.job_events, name="events"),
    path("jobs/<uuid:job_id>/", views.job_page, name="page"),
    path("jobs/<uuid:job_id>/download", views.job_download, name="download"),
    path("jobs/<uuid:job_id>/cancel", views.job_cancel, name="cancel"),
]
