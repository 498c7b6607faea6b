from django.urls import path

from jobs.views import again, api, pages, polling, stream, wizard

app_name = "jobs"

urlpatterns = [
    path("api/jobs/<uuid:job_id>/events", stream.job_events, name="events"),
    path("api/jobs/<uuid:job_id>/status", polling.job_status, name="status"),
    path("jobs/<uuid:job_id>/", pages.job_page, name="page"),
    path("jobs/<uuid:job_id>/download", pages.job_download, name="download"),
    path("jobs/<uuid:job_id>/queue", pages.job_queue, name="queue"),
    path("jobs/<uuid:job_id>/cancel", pages.job_cancel, name="cancel"),
    path("jobs/<uuid:job_id>/again", again.job_again, name="again"),
    path("jobs/<uuid:job_id>/edit", again.job_edit, name="edit"),
    path("", wizard.wizard_home, name="wizard"),
    path("wizard/validate", wizard.wizard_validate, name="wizard-validate"),
    path("wizard/generate/", wizard.wizard_generate, name="wizard-generate"),
    path("wizard/<slug:step>/", wizard.wizard_step, name="wizard-step"),
    path("api/jobs", api.api_jobs_create, name="api-jobs"),
    path("api/templates", api.api_templates, name="api-templates"),
    path("api/jobs/<uuid:job_id>/download", pages.job_download, name="api-download"),
    path("api/jobs/<uuid:job_id>/cancel", api.api_job_cancel, name="api-cancel"),
]
