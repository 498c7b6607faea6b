from django.urls import path

from jobs.views import pages, stream

app_name = "jobs"

urlpatterns = [
    path("api/jobs/<uuid:job_id>/events", stream.job_events, name="events"),
    path("jobs/<uuid:job_id>/", pages.job_page, name="page"),
    path("jobs/<uuid:job_id>/download", pages.job_download, name="download"),
    path("jobs/<uuid:job_id>/cancel", pages.job_cancel, name="cancel"),
]
